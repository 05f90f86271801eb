package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/value"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// Options configure a Catalog. The zero value of each field but Dir means
// the default.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// FS is the filesystem; vfs.Default if nil.
	FS vfs.FS
	// Logger receives recovery and garbage collection reports; nothing is
	// logged if nil.
	Logger *slog.Logger
	// KeepVersions is how many versions of each database GC keeps, the
	// current one included (default 1). Older retained versions are
	// listed by History.
	KeepVersions int
	// Verify makes Open hash every object of every retained version
	// instead of only checking that it exists with the right size. A
	// version with a damaged object is then treated as incomplete.
	Verify bool
	// WaitForWriter makes Begin, Delete and Rename wait for the database's
	// current writer to finish (or the context to end) instead of failing
	// at once with ErrBusy.
	WaitForWriter bool
}

// Catalog is the set of databases in one data directory. All methods are
// safe for concurrent use. Readers (Databases, Current, History,
// ReadObject, HasObject) never wait for a writer's I/O: writers hold the
// catalog's lock only to update memory.
type Catalog struct {
	fs       vfs.FS
	dir      string
	log      *slog.Logger
	keep     int
	verify   bool
	wait     bool
	lock     io.Closer
	instance string // names this process's temporary files

	ops sync.WaitGroup // mutating operations in flight, awaited by Close

	mu       sync.Mutex
	cond     *sync.Cond // signalled when an object leaves deleting
	closed   bool
	dbs      map[string]*database // by name key
	keepDirs map[string]bool      // database directories GC must leave alone
	liveDirs map[string]bool      // directories of databases being created
	writers  map[string]*writer   // by name key
	objects  map[image.Hash]int64 // objects on disk, by size
	refs     map[image.Hash]int   // retained manifests naming each object
	pins     map[image.Hash]int   // live transactions using each object
	deleting map[image.Hash]bool  // objects GC is removing
	temps    map[string]bool      // temporary files being written
	objDirs  [256]bool            // objects/xx known to exist durably
	seq      uint64
}

// database is one database's state in memory.
type database struct {
	dir      string            // directory name under databases/
	current  *image.Manifest   // never nil
	retained []*image.Manifest // by version, ascending; the last is current
	maxSeen  int64             // highest version ever seen on disk or attempted
}

// Entry is one database as Databases lists it.
type Entry struct {
	Name     string
	Manifest *image.Manifest
}

// Open opens or creates the catalog in opts.Dir, takes the directory's
// lock and loads every database (see the package documentation for what
// is loaded after a crash). Only I/O errors that prevent reading the
// directory fail Open; damaged databases are logged and left on disk.
func Open(ctx context.Context, opts Options) (*Catalog, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open catalog: %w: no data directory", ErrInvalid)
	}
	c := &Catalog{
		fs:       opts.FS,
		dir:      opts.Dir,
		log:      opts.Logger,
		keep:     max(opts.KeepVersions, 1),
		verify:   opts.Verify,
		wait:     opts.WaitForWriter,
		instance: randomHex(4),
		dbs:      map[string]*database{},
		keepDirs: map[string]bool{},
		liveDirs: map[string]bool{},
		writers:  map[string]*writer{},
		objects:  map[image.Hash]int64{},
		refs:     map[image.Hash]int{},
		pins:     map[image.Hash]int{},
		deleting: map[image.Hash]bool{},
		temps:    map[string]bool{},
	}
	c.cond = sync.NewCond(&c.mu)
	if c.fs == nil {
		c.fs = vfs.Default
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if err := c.open(ctx); err != nil {
		if c.lock != nil {
			c.lock.Close()
		}
		return nil, fmt.Errorf("open catalog %s: %w", c.dir, err)
	}
	return c, nil
}

func (c *Catalog) open(ctx context.Context) error {
	start := time.Now()
	if err := c.fs.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	lock, err := c.fs.Lock(c.path("LOCK"))
	if errors.Is(err, vfs.ErrLocked) {
		return ErrLocked
	}
	if err != nil {
		return err
	}
	c.lock = lock
	for _, d := range []string{"objects", "databases"} {
		if err := c.fs.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := c.scanObjects(ctx); err != nil {
		return err
	}
	if err := c.loadDatabases(ctx); err != nil {
		return err
	}
	if err := c.syncLoaded(ctx); err != nil {
		return err
	}
	var size int64
	for _, n := range c.objects {
		size += n
	}
	c.log.Info("catalog opened", "dir", c.dir, "databases", len(c.dbs),
		"objects", len(c.objects), "bytes", size, "elapsed", time.Since(start))
	return nil
}

// path joins elements under the data directory.
func (c *Catalog) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

func (c *Catalog) dbPath(dir string, elem ...string) string {
	return filepath.Join(append([]string{c.dir, "databases", dir}, elem...)...)
}

func (c *Catalog) objectPath(h image.Hash) string {
	return c.path("objects", objectDirName(h), h.String())
}

// begin registers a mutating operation; Close waits for it to end.
// The caller holds c.mu.
func (c *Catalog) beginOp() error {
	if c.closed {
		return ErrClosed
	}
	c.ops.Add(1)
	return nil
}

// Close waits for the commits, deletes, renames and collections in flight
// and releases the data directory. Transactions still open fail with
// ErrClosed from then on.
func (c *Catalog) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.ops.Wait()
	if err := c.lock.Close(); err != nil {
		return fmt.Errorf("close catalog %s: %w", c.dir, err)
	}
	return nil
}

// Dir returns the data directory.
func (c *Catalog) Dir() string { return c.dir }

// Databases lists the databases with their current manifests, sorted by
// name; none once the catalog is closed. The manifests are shared and must
// not be modified.
func (c *Catalog) Databases() []Entry {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	out := make([]Entry, 0, len(c.dbs))
	for _, db := range c.dbs {
		out = append(out, Entry{Name: db.current.Database, Manifest: db.current})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(value.CompareText(a.Name, b.Name), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Current returns the current manifest of the named database (names are
// compared case-insensitively), or ErrNotFound. The manifest is shared and
// must not be modified.
func (c *Catalog) Current(name string) (*image.Manifest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	db, ok := c.dbs[nameKey(name)]
	if !ok {
		return nil, fmt.Errorf("database %q: %w", name, ErrNotFound)
	}
	return db.current, nil
}

// History returns the retained manifests of the named database, oldest
// first; the last one is the current one. At most Options.KeepVersions
// are retained. The manifests are shared and must not be modified.
func (c *Catalog) History(name string) ([]*image.Manifest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	db, ok := c.dbs[nameKey(name)]
	if !ok {
		return nil, fmt.Errorf("database %q: %w", name, ErrNotFound)
	}
	return slices.Clone(db.retained), nil
}

// retain adds m to db's retained versions, counts its object references
// and drops the versions beyond the limit. The caller holds c.mu.
func (c *Catalog) retain(db *database, m *image.Manifest) {
	db.retained = append(db.retained, m)
	db.current = m
	db.maxSeen = max(db.maxSeen, m.Version)
	c.addRefs(m, 1)
	for len(db.retained) > c.keep {
		c.addRefs(db.retained[0], -1)
		db.retained = slices.Delete(db.retained, 0, 1)
	}
}

// addRefs counts (or, with d = -1, uncounts) m's objects as referenced.
// The caller holds c.mu.
func (c *Catalog) addRefs(m *image.Manifest, d int) {
	for _, o := range m.Objects {
		if n := c.refs[o.Hash] + d; n > 0 {
			c.refs[o.Hash] = n
		} else {
			delete(c.refs, o.Hash)
		}
	}
}

// writer holds a database for one writer: a transaction, Delete, Rename,
// or GC while it removes manifests a failed commit left behind.
type writer struct {
	done chan struct{} // closed when the writer ends
	gc   bool
}

// acquire makes the caller the writer of the database with the given name
// key, failing with ErrBusy if there is one already (or waiting for it,
// with Options.WaitForWriter). GC holds a database only for a few file
// removals, so it is always waited for.
func (c *Catalog) acquire(ctx context.Context, key, name string) error {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		w, busy := c.writers[key]
		if !busy {
			c.writers[key] = &writer{done: make(chan struct{})}
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		if !c.wait && !w.gc {
			return fmt.Errorf("database %q: %w", name, ErrBusy)
		}
		select {
		case <-w.done:
		case <-ctx.Done():
			return fmt.Errorf("database %q: wait for the current writer: %w", name, context.Cause(ctx))
		}
	}
}

// release ends the writer of key. The caller holds c.mu.
func (c *Catalog) release(key string) {
	if w, ok := c.writers[key]; ok {
		close(w.done)
		delete(c.writers, key)
	}
}

// lockedRelease is release for callers that do not hold c.mu.
func (c *Catalog) lockedRelease(key string) {
	c.mu.Lock()
	c.release(key)
	c.mu.Unlock()
}
