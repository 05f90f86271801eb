package vfs

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directChunk is the most one direct write hands the kernel: large
// enough that the disk sees long requests, small enough that a write
// does not hold a thread for long.
const directChunk = 4 << 20

// WriteDirect writes data's whole blocks with O_DIRECT and the tail
// (less than DirectAlign bytes) through the cache.
func (osFS) WriteDirect(name string, data []byte) (bool, error) {
	if len(data) < MinDirect || uintptr(unsafe.Pointer(unsafe.SliceData(data)))%DirectAlign != 0 {
		return false, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_DIRECT, 0o644)
	if errors.Is(err, unix.EINVAL) {
		return false, nil // the filesystem has no direct I/O (tmpfs before Linux 6.6, some FUSE)
	}
	if err != nil {
		return false, err
	}
	if err := writeDirect(f, data); err != nil {
		f.Close()
		return true, err
	}
	return true, f.Close()
}

// writeDirect writes data's whole blocks with O_DIRECT, in pieces of
// directChunk, then the rest through the cache: the tail, which O_DIRECT
// does not take, or everything left if the filesystem refuses a direct
// write (a block size above DirectAlign, or a check made only at the
// first write).
func writeDirect(f *os.File, data []byte) error {
	whole := len(data) &^ (DirectAlign - 1)
	off := 0
	for off < whole {
		n, err := f.Write(data[off:min(off+directChunk, whole)])
		off += n
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return err
		}
	}
	if off == len(data) {
		return nil
	}
	if err := dropDirect(f); err != nil {
		return err
	}
	_, err := f.Write(data[off:])
	return err
}

// dropDirect turns O_DIRECT off for the rest of f's writes.
func dropDirect(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		var fl int
		if fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0); ferr == nil {
			_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl&^unix.O_DIRECT)
		}
	}); err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "fcntl", Path: f.Name(), Err: ferr}
	}
	return nil
}
