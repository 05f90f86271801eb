//go:build unix

package blob

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// identity returns what tells one version of a file from another: a write
// always makes a new inode, and an edit in place changes size or mtime.
func identity(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// lockWait bounds how long lockFile waits for a lock another writer
// holds. Writers hold it for the few milliseconds of a check and a
// rename; one held for longer belongs to a process stopped inside (frozen,
// or stuck on a dead disk), and waiting on would hang the caller with it:
// a server taking over the lease of a frozen primary, for one.
var lockWait = 10 * time.Second

// lockFile takes an exclusive flock on f. Locks on separate opens of one
// file exclude each other, within a process as across processes. It waits
// for the lock as long as ctx allows, and at most lockWait.
func lockFile(ctx context.Context, f *os.File) (unlock func(), err error) {
	fd := int(f.Fd())
	deadline := time.Now().Add(lockWait)
	delay := time.Millisecond
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return func() { _ = syscall.Flock(fd, syscall.LOCK_UN) }, nil
		case err == syscall.EINTR:
			continue
		case err != syscall.EWOULDBLOCK:
			return nil, err
		case time.Now().After(deadline):
			return nil, fmt.Errorf("another process has held the lock for over %v (stopped while writing?)", lockWait)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}
