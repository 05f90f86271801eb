//go:build !unix && !windows

package vfs

import (
	"errors"
	"io"
	"os"
)

func syncDir(name string) error {
	_, err := os.Stat(name)
	return err
}

func lockFile(name string) (io.Closer, error) {
	return nil, &os.PathError{Op: "lock", Path: name, Err: errors.ErrUnsupported}
}
