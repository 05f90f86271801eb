//go:build !unix

package blob

import (
	"context"
	"os"
	"sync"
)

// Without inode numbers there are no sidecars: ETags are computed from
// the content each time and metadata is not kept.
func identity(os.FileInfo) (fileID, bool) { return fileID{}, false }

// Without flock, conditional writes exclude each other within the process
// only.
var fileLock sync.Mutex

func lockFile(context.Context, *os.File) (func(), error) {
	fileLock.Lock()
	return fileLock.Unlock, nil
}
