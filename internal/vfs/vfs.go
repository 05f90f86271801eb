package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// FS is what Meridian needs from a filesystem. Paths use the host's
// separator (filepath.Join); MemFS accepts either separator.
//
// Errors are *fs.PathError or *os.LinkError values whose cause satisfies
// errors.Is with fs.ErrNotExist, fs.ErrExist and the like, whatever the
// implementation. Implementations are safe for concurrent use.
type FS interface {
	// Create creates the named file for writing, truncating it if it
	// exists. The file's bytes are durable only after File.Sync, and its
	// name only after SyncDir of its directory.
	Create(name string) (File, error)
	// Open opens the named file for reading.
	Open(name string) (File, error)
	// OpenFile opens a file with os.OpenFile's flags (O_RDONLY, O_WRONLY,
	// O_RDWR, O_CREATE, O_EXCL, O_TRUNC, O_APPEND) and, for a new file,
	// permissions. It is how a file written earlier is reopened to be
	// synced: some systems sync only through a handle open for writing.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Rename atomically renames oldname to newname, replacing newname if it
	// is a file. Both must be in the same filesystem. The change is durable
	// after SyncDir of both directories.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes name and everything under it; a missing name is
	// not an error.
	RemoveAll(name string) error
	// MkdirAll creates a directory and any missing parents. Each new
	// directory is durable after SyncDir of its parent.
	MkdirAll(name string, perm os.FileMode) error
	// ReadDir lists a directory, sorted by name.
	ReadDir(name string) ([]os.DirEntry, error)
	// Stat describes the named file or directory.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory's entries durable: files created in it,
	// renamed into or out of it, or removed from it.
	SyncDir(name string) error
	// Lock takes an exclusive lock on the named file, creating it if
	// needed, and returns ErrLocked at once if another holder (another
	// process, or another Lock call in this one) has it. Closing the
	// returned Closer releases the lock; a process that dies releases its
	// locks.
	Lock(name string) (io.Closer, error)
}

// File is an open file. A File is used by one goroutine at a time.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Stat describes the file.
	Stat() (os.FileInfo, error)
	// Sync makes the bytes written so far durable.
	Sync() error
}

// Errors.
var (
	// ErrLocked is returned by Lock when the file is locked already.
	ErrLocked = errors.New("vfs: file is locked by another holder")
	// ErrInjected is the error a Faulty filesystem returns for an
	// operation its injector chose to fail.
	ErrInjected = errors.New("vfs: injected fault")
	// ErrCrashed is returned for every operation after a simulated crash:
	// by Faulty once a CrashAt injector has fired, and by MemFS for files
	// opened before MemFS.Crash.
	ErrCrashed = errors.New("vfs: simulated crash")
)

// Default is the FS of the operating system.
var Default FS = osFS{}

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

func (osFS) Open(name string) (File, error) { return os.Open(name) }

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	return os.OpenFile(name, flag, perm)
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) RemoveAll(name string) error { return os.RemoveAll(name) }

func (osFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }

func (osFS) ReadDir(name string) ([]os.DirEntry, error) { return os.ReadDir(name) }

func (osFS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

func (osFS) SyncDir(name string) error { return syncDir(name) }

func (osFS) Lock(name string) (io.Closer, error) { return lockFile(name) }

// ReadFile reads a whole file from fsys.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	buf := make([]byte, 0, size+1) // +1 so that a full buffer reads EOF without growing
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// IsNotExist reports whether err says that a file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
