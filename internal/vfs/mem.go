package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory FS with strict crash semantics: it remembers, for
// every file, the bytes of its last Sync and, for every directory, the
// entries of its last SyncDir, and Crash rolls everything back to that.
//
// Paths are slash- or host-separated; relative paths are taken from the
// root. MemFS is safe for concurrent use.
type MemFS struct {
	mu    sync.Mutex
	root  *memNode
	locks map[string]bool
	// gen counts crashes. Files and locks remember the generation they were
	// opened in, so that handles held by the "dead process" stop working.
	gen int
}

// memNode is a file or a directory. Like an inode, one node may be reached
// through several names after a crash rolls a rename back in one
// directory but not in another.
type memNode struct {
	dir     bool
	modTime time.Time
	// Files.
	data, synced []byte
	// Directories.
	children, syncedChildren map[string]*memNode
}

func newDirNode() *memNode {
	return &memNode{dir: true, modTime: time.Now(),
		children: map[string]*memNode{}, syncedChildren: map[string]*memNode{}}
}

// NewMem returns an empty in-memory filesystem holding only its root
// directory, which always exists.
func NewMem() *MemFS {
	return &MemFS{root: newDirNode(), locks: map[string]bool{}}
}

// Crash simulates a power failure: every file goes back to the bytes of
// its last Sync and every directory to the entries of its last SyncDir;
// nodes no longer reachable are gone. Files opened before the crash fail
// with ErrCrashed from then on, and every lock is released.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.locks = map[string]bool{}
	seen := map[*memNode]bool{}
	var reset func(n *memNode)
	reset = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		if !n.dir {
			n.data = slices.Clone(n.synced)
			return
		}
		n.children = maps.Clone(n.syncedChildren)
		for _, c := range n.children {
			reset(c)
		}
	}
	reset(m.root)
}

// Kill simulates the death of the process while the machine keeps
// running: files opened before fail with ErrCrashed and every lock is
// released, but nothing written is lost, synced or not, since the
// operating system still holds it. A test that calls Kill and then Crash
// checks that a restarted process makes durable what it relies on.
func (m *MemFS) Kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.locks = map[string]bool{}
}

// Clone returns an independent copy of the filesystem, durable state and
// pending changes alike, without locks or open files. Crash tests use it to
// start every replay from the same prepared state.
func (m *MemFS) Clone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	copies := map[*memNode]*memNode{}
	var clone func(n *memNode) *memNode
	clone = func(n *memNode) *memNode {
		if c, ok := copies[n]; ok {
			return c
		}
		c := &memNode{dir: n.dir, modTime: n.modTime}
		copies[n] = c
		if !n.dir {
			c.data = slices.Clone(n.data)
			c.synced = slices.Clone(n.synced)
			return c
		}
		c.children = make(map[string]*memNode, len(n.children))
		c.syncedChildren = make(map[string]*memNode, len(n.syncedChildren))
		for k, v := range n.children {
			c.children[k] = clone(v)
		}
		for k, v := range n.syncedChildren {
			c.syncedChildren[k] = clone(v)
		}
		return c
	}
	return &MemFS{root: clone(m.root), locks: map[string]bool{}}
}

// String lists the tree with file sizes, marking what is not durable; it
// is meant for test failure messages.
func (m *MemFS) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	var walk func(n *memNode, p string, depth int)
	walk = func(n *memNode, p string, depth int) {
		names := slices.Sorted(maps.Keys(n.children))
		for _, name := range names {
			c := n.children[name]
			mark := ""
			if n.syncedChildren[name] != c {
				mark = " (entry not synced)"
			}
			if c.dir {
				fmt.Fprintf(&b, "%s%s/%s\n", strings.Repeat("  ", depth), name, mark)
				walk(c, p+"/"+name, depth+1)
				continue
			}
			if !slices.Equal(c.data, c.synced) {
				mark += fmt.Sprintf(" (data not synced: %d durable bytes)", len(c.synced))
			}
			fmt.Fprintf(&b, "%s%s %d%s\n", strings.Repeat("  ", depth), name, len(c.data), mark)
		}
	}
	walk(m.root, "", 0)
	return b.String()
}

// split cleans name into its components; the root has none.
func split(name string) []string {
	p := path.Clean("/" + filepath.ToSlash(name))
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func cleanPath(name string) string { return "/" + strings.Join(split(name), "/") }

// lookupDir returns the directory holding the last component of parts.
// The caller holds m.mu.
func (m *MemFS) lookupDir(op, name string, parts []string) (*memNode, error) {
	d := m.root
	for _, p := range parts[:len(parts)-1] {
		c, ok := d.children[p]
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if !c.dir {
			return nil, &fs.PathError{Op: op, Path: name, Err: errNotDir}
		}
		d = c
	}
	return d, nil
}

// lookup returns the node at name. The caller holds m.mu.
func (m *MemFS) lookup(op, name string) (*memNode, error) {
	parts := split(name)
	if len(parts) == 0 {
		return m.root, nil
	}
	d, err := m.lookupDir(op, name, parts)
	if err != nil {
		return nil, err
	}
	n, ok := d.children[parts[len(parts)-1]]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

var (
	errNotDir   = errors.New("not a directory")
	errIsDir    = errors.New("is a directory")
	errNotEmpty = errors.New("directory not empty")
)

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	return m.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	return m.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile implements FS.
func (m *MemFS) OpenFile(name string, flag int, _ os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	write := acc == os.O_WRONLY || acc == os.O_RDWR
	parts := split(name)
	if len(parts) == 0 {
		if write {
			return nil, &fs.PathError{Op: "open", Path: name, Err: errIsDir}
		}
		return &memFile{fs: m, n: m.root, name: name, gen: m.gen, read: true}, nil
	}
	d, err := m.lookupDir("open", name, parts)
	if err != nil {
		return nil, err
	}
	base := parts[len(parts)-1]
	n, ok := d.children[base]
	switch {
	case ok && flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case ok && n.dir && write:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errIsDir}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		n = &memNode{modTime: time.Now()}
		d.children[base] = n
		d.modTime = time.Now()
	case write && flag&os.O_TRUNC != 0:
		// Truncate in place, as O_TRUNC does: the durable bytes stay until
		// the next Sync.
		n.data = nil
		n.modTime = time.Now()
	}
	return &memFile{fs: m, n: n, name: name, gen: m.gen, read: acc != os.O_WRONLY, write: write,
		append: flag&os.O_APPEND != 0}, nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	op, np := split(oldname), split(newname)
	if len(op) == 0 || len(np) == 0 {
		return linkErr(fs.ErrInvalid)
	}
	od, err := m.lookupDir("rename", oldname, op)
	if err != nil {
		return linkErr(fs.ErrNotExist)
	}
	nd, err := m.lookupDir("rename", newname, np)
	if err != nil {
		return linkErr(fs.ErrNotExist)
	}
	ob, nb := op[len(op)-1], np[len(np)-1]
	n, ok := od.children[ob]
	if !ok {
		return linkErr(fs.ErrNotExist)
	}
	if cleanPath(oldname) == cleanPath(newname) {
		return nil
	}
	if n.dir && strings.HasPrefix(cleanPath(newname)+"/", cleanPath(oldname)+"/") {
		return linkErr(fs.ErrInvalid) // a directory cannot move inside itself
	}
	if t, ok := nd.children[nb]; ok {
		switch {
		case t.dir && !n.dir:
			return linkErr(errIsDir)
		case !t.dir && n.dir:
			return linkErr(errNotDir)
		case t.dir && len(t.children) > 0:
			return linkErr(errNotEmpty)
		}
	}
	delete(od.children, ob)
	nd.children[nb] = n
	od.modTime, nd.modTime = time.Now(), time.Now()
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts := split(name)
	if len(parts) == 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrInvalid}
	}
	d, err := m.lookupDir("remove", name, parts)
	if err != nil {
		return err
	}
	base := parts[len(parts)-1]
	n, ok := d.children[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.dir && len(n.children) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: errNotEmpty}
	}
	delete(d.children, base)
	d.modTime = time.Now()
	return nil
}

// RemoveAll implements FS.
func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts := split(name)
	if len(parts) == 0 {
		return &fs.PathError{Op: "removeall", Path: name, Err: fs.ErrInvalid}
	}
	d, err := m.lookupDir("removeall", name, parts)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if _, ok := d.children[parts[len(parts)-1]]; ok {
		delete(d.children, parts[len(parts)-1])
		d.modTime = time.Now()
	}
	return nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(name string, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.root
	for _, p := range split(name) {
		c, ok := d.children[p]
		if !ok {
			c = newDirNode()
			d.children[p] = c
			d.modTime = time.Now()
		} else if !c.dir {
			return &fs.PathError{Op: "mkdir", Path: name, Err: errNotDir}
		}
		d = c
	}
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(name string) ([]os.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	out := make([]os.DirEntry, 0, len(n.children))
	for childName, c := range n.children {
		out = append(out, fs.FileInfoToDirEntry(c.info(childName)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	parts := split(name)
	base := "/"
	if len(parts) > 0 {
		base = parts[len(parts)-1]
	}
	return n.info(base), nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("syncdir", name)
	if err != nil {
		return err
	}
	if !n.dir {
		return &fs.PathError{Op: "syncdir", Path: name, Err: errNotDir}
	}
	n.syncedChildren = maps.Clone(n.children)
	return nil
}

// Lock implements FS. Like flock, it creates the file if needed (an entry
// that is durable only after SyncDir of its directory).
func (m *MemFS) Lock(name string) (io.Closer, error) {
	f, err := m.Create(name)
	if err != nil {
		return nil, err
	}
	f.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	key := cleanPath(name)
	if m.locks[key] {
		return nil, &fs.PathError{Op: "lock", Path: name, Err: ErrLocked}
	}
	m.locks[key] = true
	return &memLock{fs: m, key: key, gen: m.gen}, nil
}

type memLock struct {
	fs   *MemFS
	key  string
	gen  int
	once sync.Once
}

func (l *memLock) Close() error {
	l.once.Do(func() {
		l.fs.mu.Lock()
		defer l.fs.mu.Unlock()
		// A lock from before a crash was released by the crash; it must
		// not release the lock a new holder took since.
		if l.gen == l.fs.gen {
			delete(l.fs.locks, l.key)
		}
	})
	return nil
}

func (n *memNode) info(name string) os.FileInfo {
	return &memInfo{name: name, size: int64(len(n.data)), dir: n.dir, modTime: n.modTime}
}

type memInfo struct {
	name    string
	size    int64
	dir     bool
	modTime time.Time
}

func (i *memInfo) Name() string       { return i.name }
func (i *memInfo) Size() int64        { return i.size }
func (i *memInfo) ModTime() time.Time { return i.modTime }
func (i *memInfo) IsDir() bool        { return i.dir }
func (i *memInfo) Sys() any           { return nil }
func (i *memInfo) Mode() os.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

// memFile is an open file: like a file descriptor, it refers to the node,
// not the name, so it keeps working after a rename.
type memFile struct {
	fs     *MemFS
	n      *memNode
	name   string
	gen    int
	pos    int64
	read   bool
	write  bool
	append bool
	closed bool
}

// check returns the error for an operation on a closed or stale handle.
// The caller holds f.fs.mu.
func (f *memFile) check(op string) error {
	switch {
	case f.closed:
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	case f.gen != f.fs.gen:
		return &fs.PathError{Op: op, Path: f.name, Err: ErrCrashed}
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if f.n.dir {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errIsDir}
	}
	if !f.read {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrPermission}
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if f.n.dir {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errIsDir}
	}
	if !f.read {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrPermission}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if !f.write {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	if f.append {
		f.pos = int64(len(f.n.data))
	}
	end := f.pos + int64(len(p))
	if end > int64(len(f.n.data)) {
		// data never shares its array with synced (Sync, Crash and Clone
		// all copy), so growing and writing in place are both safe.
		grown := make([]byte, end, max(end, 2*int64(cap(f.n.data))))
		copy(grown, f.n.data)
		f.n.data = grown
	}
	copy(f.n.data[f.pos:], p)
	f.pos = end
	f.n.modTime = time.Now()
	return len(p), nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return nil, err
	}
	return f.n.info(path.Base(filepath.ToSlash(f.name))), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	if f.n.dir {
		f.n.syncedChildren = maps.Clone(f.n.children)
		return nil
	}
	f.n.synced = slices.Clone(f.n.data)
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}
