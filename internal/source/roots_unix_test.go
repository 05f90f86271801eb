//go:build unix

package source

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO inside a root is refused without opening it: opening one for
// reading would block until a writer comes.
func TestRootsOpenFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.csv"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	roots, err := NewRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := roots.Open("pipe.csv")
	if err == nil {
		f.Close()
		t.Fatal("Open(pipe.csv) succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Open(pipe.csv) = %v, want it to say not a regular file", err)
	}
}
