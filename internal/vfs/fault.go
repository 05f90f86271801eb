package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// OpKind is a kind of filesystem operation, as seen by an Injector.
type OpKind uint8

// Operation kinds. File operations (Read, Write, Sync, Close, FileStat)
// carry the name the file was opened with.
const (
	OpCreate OpKind = iota
	OpOpen
	OpRead
	OpWrite
	OpSync
	OpClose
	OpFileStat
	OpRename
	OpRemove
	OpRemoveAll
	OpMkdirAll
	OpReadDir
	OpStat
	OpSyncDir
	OpLock
	numOpKinds
)

var opNames = [numOpKinds]string{"create", "open", "read", "write", "sync", "close", "fstat",
	"rename", "remove", "removeall", "mkdirall", "readdir", "stat", "syncdir", "lock"}

func (k OpKind) String() string {
	if k < numOpKinds {
		return opNames[k]
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// MutatingOps are the kinds that change what is or will be on disk. A
// crash just before a read is the same as a crash just before the next
// mutating operation, so crash tests that iterate over every index save
// time by counting only these.
var MutatingOps = []OpKind{OpCreate, OpWrite, OpSync, OpRename, OpRemove, OpRemoveAll,
	OpMkdirAll, OpSyncDir, OpLock}

// Op is one filesystem operation about to be performed. Path is the
// operation's (first) path: the old name for Rename.
type Op struct {
	Kind OpKind
	Path string
}

func (o Op) String() string { return o.Kind.String() + " " + o.Path }

// Injector decides the fate of each operation of a Faulty filesystem.
// Inject is called before the operation; a non-nil error is returned to
// the caller instead of performing it. Inject must be safe for concurrent
// use.
type Injector interface {
	Inject(op Op) error
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(Op) error

// Inject calls f.
func (f InjectorFunc) Inject(op Op) error { return f(op) }

// Trigger is an Injector that counts the operations of chosen kinds and
// fires at the one with a given index (counting from 0).
type Trigger struct {
	index int64
	kinds [numOpKinds]bool
	crash bool

	mu    sync.Mutex
	count int64
	fired bool
	at    Op
}

// FailAt returns a Trigger that fails the operation with index i among
// those of the given kinds (all kinds if none are given) with ErrInjected.
// Every other operation is performed. A negative i never fires: the
// Trigger then only counts.
func FailAt(i int64, kinds ...OpKind) *Trigger { return newTrigger(i, false, kinds) }

// CrashAt returns a Trigger that simulates the death of the process just
// before the operation with index i among those of the given kinds (all
// kinds if none are given): that operation and every later one, of any
// kind, fail with ErrCrashed and are not performed. A negative i never
// fires: the Trigger then only counts.
func CrashAt(i int64, kinds ...OpKind) *Trigger { return newTrigger(i, true, kinds) }

func newTrigger(i int64, crash bool, kinds []OpKind) *Trigger {
	t := &Trigger{index: i, crash: crash}
	for k := range t.kinds {
		t.kinds[k] = len(kinds) == 0
	}
	for _, k := range kinds {
		if k < numOpKinds {
			t.kinds[k] = true
		}
	}
	return t
}

// Inject implements Injector.
func (t *Trigger) Inject(op Op) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fired && t.crash {
		return &fs.PathError{Op: op.Kind.String(), Path: op.Path, Err: ErrCrashed}
	}
	if op.Kind >= numOpKinds || !t.kinds[op.Kind] {
		return nil
	}
	i := t.count
	t.count++
	if i != t.index {
		return nil
	}
	t.fired, t.at = true, op
	if t.crash {
		return &fs.PathError{Op: op.Kind.String(), Path: op.Path, Err: ErrCrashed}
	}
	return &fs.PathError{Op: op.Kind.String(), Path: op.Path, Err: ErrInjected}
}

// Count returns how many operations of the chosen kinds were seen,
// including the one that fired, but none after a crash.
func (t *Trigger) Count() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// Fired reports whether the Trigger has fired, and at which operation.
func (t *Trigger) Fired() (Op, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.at, t.fired
}

// Faulty wraps an FS and asks an Injector about every operation, on the
// filesystem and on the files it opens.
type Faulty struct {
	fs  FS
	mu  sync.Mutex
	inj Injector
}

// NewFaulty wraps fsys; inj may be nil (no faults) and replaced later.
func NewFaulty(fsys FS, inj Injector) *Faulty { return &Faulty{fs: fsys, inj: inj} }

// SetInjector replaces the injector; nil stops injecting.
func (f *Faulty) SetInjector(inj Injector) {
	f.mu.Lock()
	f.inj = inj
	f.mu.Unlock()
}

func (f *Faulty) inject(kind OpKind, path string) error {
	f.mu.Lock()
	inj := f.inj
	f.mu.Unlock()
	if inj == nil {
		return nil
	}
	return inj.Inject(Op{Kind: kind, Path: path})
}

// Create implements FS.
func (f *Faulty) Create(name string) (File, error) {
	if err := f.inject(OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultyFile{f: f, file: file, name: name}, nil
}

// Open implements FS.
func (f *Faulty) Open(name string) (File, error) {
	if err := f.inject(OpOpen, name); err != nil {
		return nil, err
	}
	file, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultyFile{f: f, file: file, name: name}, nil
}

// OpenFile implements FS. It is an OpCreate when flag has O_CREATE, an
// OpOpen otherwise.
func (f *Faulty) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	kind := OpOpen
	if flag&os.O_CREATE != 0 {
		kind = OpCreate
	}
	if err := f.inject(kind, name); err != nil {
		return nil, err
	}
	file, err := f.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{f: f, file: file, name: name}, nil
}

// Rename implements FS.
func (f *Faulty) Rename(oldname, newname string) error {
	if err := f.inject(OpRename, oldname); err != nil {
		return err
	}
	return f.fs.Rename(oldname, newname)
}

// Remove implements FS.
func (f *Faulty) Remove(name string) error {
	if err := f.inject(OpRemove, name); err != nil {
		return err
	}
	return f.fs.Remove(name)
}

// RemoveAll implements FS.
func (f *Faulty) RemoveAll(name string) error {
	if err := f.inject(OpRemoveAll, name); err != nil {
		return err
	}
	return f.fs.RemoveAll(name)
}

// MkdirAll implements FS.
func (f *Faulty) MkdirAll(name string, perm os.FileMode) error {
	if err := f.inject(OpMkdirAll, name); err != nil {
		return err
	}
	return f.fs.MkdirAll(name, perm)
}

// ReadDir implements FS.
func (f *Faulty) ReadDir(name string) ([]os.DirEntry, error) {
	if err := f.inject(OpReadDir, name); err != nil {
		return nil, err
	}
	return f.fs.ReadDir(name)
}

// Stat implements FS.
func (f *Faulty) Stat(name string) (os.FileInfo, error) {
	if err := f.inject(OpStat, name); err != nil {
		return nil, err
	}
	return f.fs.Stat(name)
}

// SyncDir implements FS.
func (f *Faulty) SyncDir(name string) error {
	if err := f.inject(OpSyncDir, name); err != nil {
		return err
	}
	return f.fs.SyncDir(name)
}

// Lock implements FS.
func (f *Faulty) Lock(name string) (io.Closer, error) {
	if err := f.inject(OpLock, name); err != nil {
		return nil, err
	}
	return f.fs.Lock(name)
}

type faultyFile struct {
	f    *Faulty
	file File
	name string
}

func (ff *faultyFile) Read(p []byte) (int, error) {
	if err := ff.f.inject(OpRead, ff.name); err != nil {
		return 0, err
	}
	return ff.file.Read(p)
}

func (ff *faultyFile) ReadAt(p []byte, off int64) (int, error) {
	if err := ff.f.inject(OpRead, ff.name); err != nil {
		return 0, err
	}
	return ff.file.ReadAt(p, off)
}

func (ff *faultyFile) Write(p []byte) (int, error) {
	if err := ff.f.inject(OpWrite, ff.name); err != nil {
		return 0, err
	}
	return ff.file.Write(p)
}

func (ff *faultyFile) Stat() (os.FileInfo, error) {
	if err := ff.f.inject(OpFileStat, ff.name); err != nil {
		return nil, err
	}
	return ff.file.Stat()
}

func (ff *faultyFile) Sync() error {
	if err := ff.f.inject(OpSync, ff.name); err != nil {
		return err
	}
	return ff.file.Sync()
}

// Close always closes the underlying file, so that injected faults leak
// no descriptors, and then reports the injected error if there is one.
func (ff *faultyFile) Close() error {
	injected := ff.f.inject(OpClose, ff.name)
	err := ff.file.Close()
	if injected != nil {
		return injected
	}
	return err
}
