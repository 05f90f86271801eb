//go:build unix

package blob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFileLockHeld holds the lock of an object's directory as a process
// stopped in the middle of a write would: a write to that directory then
// ends when its context does, or after lockWait with an error that says
// so, never hangs; once the lock is free, writes go on.
func TestFileLockHeld(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, "file://"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Put(ctx, "db/lease", strings.NewReader("one"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = st.Put(cctx, "db/lease", strings.NewReader("two"), PutOptions{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("write under a held lock with a deadline: %v, want the deadline", err)
	}

	saved := lockWait
	lockWait = 200 * time.Millisecond
	defer func() { lockWait = saved }()
	err = st.Put(ctx, "db/lease", strings.NewReader("two"), PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "held the lock") {
		t.Errorf("write under a lock held past lockWait: %v, want an error that says so", err)
	}

	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "db/lease", strings.NewReader("three"), PutOptions{}); err != nil {
		t.Fatalf("write once the lock is free: %v", err)
	}
	rc, _, err := st.Get(ctx, "db/lease")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b := make([]byte, 16)
	n, _ := rc.Read(b)
	if string(b[:n]) != "three" {
		t.Errorf("the object holds %q, want %q", b[:n], "three")
	}
}
