package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/catalog"
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/value"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// ManagerOptions configure a Manager. The zero value of every field but
// DataDir means the default.
type ManagerOptions struct {
	// DataDir is the catalog's data directory.
	DataDir string
	// FS is the filesystem of the data directory; the OS one if nil.
	FS vfs.FS
	// Roots confine file sources; nil refuses every file source.
	Roots *source.Roots
	// Logger receives load, commit and collection reports.
	Logger *slog.Logger
	// KeepVersions is how many versions of each database the catalog
	// keeps on disk (default 1: only the current one survives GC).
	KeepVersions int
	// GCDelay is how long after a commit garbage collection runs, so that
	// a burst of commits is collected once (default 2s; negative turns
	// background collection off).
	GCDelay time.Duration
	// LoadParallelism bounds the databases decoded at once at start
	// (default 2; each decode is itself parallel).
	LoadParallelism int
	// OnCommit, when set, is called after every commit or delete with the
	// database name and its new version (nil when deleted). Replication
	// hooks in here.
	OnCommit func(name string, v *Version)
}

// Manager keeps the databases of one data directory in memory and is
// their only writer. Every database has one current Version, reached
// through an atomic pointer: a query pins the Version it starts with, so
// a commit during the query never changes its answer, and readers never
// wait for writers. There is one writer per database at a time (a deploy,
// refresh, delete, restore or follow); a second one fails at once with
// ErrBusy.
//
// The commit path of every write is the same: build the new image in
// memory, write its objects into a catalog transaction (objects are
// content-addressed, so unchanged segments are not written again), commit
// the manifest, then swap the pointer. A failure before the commit
// changes nothing.
type Manager struct {
	opts ManagerOptions
	log  *slog.Logger
	cat  *catalog.Catalog

	// ctx is cancelled by Close: every write runs under it, so shutting
	// down cancels refreshes, which then commit nothing.
	ctx    context.Context
	cancel context.CancelFunc
	ops    sync.WaitGroup // writes and background goroutines, awaited by Close

	ready  atomic.Bool
	loaded chan struct{} // closed when Load ends

	mu       sync.Mutex
	closed   bool
	stopping bool                // StopWrites was called
	dbs      map[string]*dbState // by folded name
	writers  map[string]bool     // folded names held by a writer

	gc gcState

	// repl, when set, gates writes (a follower takes only its own) and
	// hears every commit to publish it (replication.go).
	repl atomic.Pointer[Replicator]

	// testHookRefresh, set by tests only, runs at the start of every
	// refresh's processing: tests hold a refresh there to race it.
	testHookRefresh func(ctx context.Context)
}

// dbState is one database in memory.
type dbState struct {
	cur atomic.Pointer[Version]
}

// Version is one committed version of a database as the server holds it:
// its manifest, its model, and the engine model queries run on. A Version
// is immutable; a commit replaces it with a new one. Everything reachable
// from it is shared and must not be modified.
type Version struct {
	// Name is the database's name.
	Name string
	// Manifest is the committed manifest (version, state, objects).
	Manifest *image.Manifest
	// TMSL is the database definition exactly as stored: the model
	// object, scripted back by GET /databases/{db}.
	TMSL []byte
	// Def is TMSL parsed.
	Def *model.Database
	// Model is the engine model queries run on; nil when Err is set.
	Model *engine.Model
	// Err says why the version cannot be queried: its image could not be
	// loaded, or its model uses something the engine does not support.
	Err error
	// Warnings are what the checks at deploy found but did not refuse:
	// unsupported functions, empty measure expressions.
	Warnings []string

	// engDef is the definition the engine model and processing use:
	// Def without the objects the engine cannot take (measures with no
	// expression).
	engDef *model.Database
}

// Data returns the version's column data, or nil when it has none.
func (v *Version) Data() *colstore.Database {
	if v.Model == nil || v.Manifest.Data.IsZero() {
		return nil
	}
	return v.Model.Data
}

// OpenManager opens the catalog in opts.DataDir. The databases are not
// in memory yet: call Load (the server answers /readyz with 503 until it
// returns).
func OpenManager(ctx context.Context, opts ManagerOptions) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.GCDelay == 0 {
		opts.GCDelay = 2 * time.Second
	}
	if opts.LoadParallelism <= 0 {
		opts.LoadParallelism = 2
	}
	cat, err := catalog.Open(ctx, catalog.Options{
		Dir: opts.DataDir, FS: opts.FS, Logger: opts.Logger, KeepVersions: opts.KeepVersions,
	})
	if err != nil {
		return nil, err
	}
	m := &Manager{
		opts:    opts,
		log:     opts.Logger,
		cat:     cat,
		loaded:  make(chan struct{}),
		dbs:     map[string]*dbState{},
		writers: map[string]bool{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.gc.init(m)
	return m, nil
}

// Load decodes the current image of every database into memory and
// marks the manager ready. A database whose image cannot be loaded is
// kept with Version.Err set (it answers queries with ErrUnavailable and
// can be replaced by a deploy or restore); it does not fail Load. Load
// fails only when ctx ends or the manager closes.
func (m *Manager) Load(ctx context.Context) error {
	defer close(m.loaded)
	start := time.Now()
	entries := m.cat.Databases()
	versions := make([]*Version, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.LoadParallelism)
	for i, e := range entries {
		g.Go(func() error {
			t0 := time.Now()
			v, err := m.loadVersion(gctx, e.Name, e.Manifest)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				m.log.Error("cannot load database; it answers queries with an error until it is deployed, refreshed or restored again",
					"database", e.Name, "version", e.Manifest.Version, "err", err)
				if v == nil {
					v = &Version{Name: e.Name, Manifest: e.Manifest}
				}
				v.Err = fmt.Errorf("%w: %q version %d cannot be loaded: %w", ErrUnavailable, e.Name, e.Manifest.Version, err)
			} else {
				m.log.Info("database loaded", "database", e.Name, "version", v.Manifest.Version,
					"state", v.Manifest.State, "bytes", v.Manifest.Size(), "elapsed", time.Since(t0))
			}
			versions[i] = v
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("load databases: %w", err)
	}
	m.mu.Lock()
	for _, v := range versions {
		key := value.FoldText(v.Name)
		if _, ok := m.dbs[key]; ok {
			continue // committed meanwhile: the newer version stays
		}
		st := &dbState{}
		st.cur.Store(v)
		m.dbs[key] = st
	}
	m.mu.Unlock()
	m.ready.Store(true)
	m.log.Info("databases loaded", "databases", len(entries), "elapsed", time.Since(start))
	m.gc.schedule()
	return nil
}

// loadVersion reads and decodes a committed image from the catalog. When
// the data cannot be decoded, the version is returned with the error,
// holding the model still (it scripts out, and a deploy or refresh can
// replace the data).
func (m *Manager) loadVersion(ctx context.Context, name string, man *image.Manifest) (*Version, error) {
	tmsl, err := m.cat.ReadObject(ctx, man.Model)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	def, err := model.Parse(tmsl)
	if err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	var data *colstore.Database
	if !man.Data.IsZero() {
		data, err = colstore.Decode(ctx, man.Data, m.cat, colstore.DecodeOptions{})
		if err != nil {
			c := compile(def, nil, false)
			return &Version{Name: name, Manifest: man, TMSL: tmsl, Def: def, engDef: c.engDef},
				fmt.Errorf("decode data: %w", err)
		}
	}
	c := compile(def, data, false)
	return &Version{Name: name, Manifest: man, TMSL: tmsl, Def: def, Model: c.eng, Err: c.engErr,
		Warnings: c.warnings, engDef: c.engDef}, nil
}

// Ready reports whether Load has finished.
func (m *Manager) Ready() bool { return m.ready.Load() }

// Catalog returns the catalog, for packages that move images (backup,
// replication) and need its object reader. Writes must go through the
// manager.
func (m *Manager) Catalog() *catalog.Catalog { return m.cat }

// StopWrites cancels the writes in flight (refreshes end and commit
// nothing) and refuses new ones with ErrClosed, while queries go on: the
// first step of a graceful shutdown. Close does it too.
func (m *Manager) StopWrites() {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	m.cancel()
}

// Close cancels the writes in flight (refreshes end and commit nothing),
// waits for them and for background collection, and closes the catalog.
// Queries already running on pinned versions are unaffected.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.gc.stop()
	m.ops.Wait()
	return m.cat.Close()
}

// Current returns the current version of the named database (names are
// compared case-insensitively): the version a query pins.
func (m *Manager) Current(name string) (*Version, error) {
	if !m.ready.Load() {
		return nil, ErrNotReady
	}
	m.mu.Lock()
	st, ok := m.dbs[value.FoldText(name)]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return st.cur.Load(), nil
}

// Databases returns the current version of every database, sorted by
// name.
func (m *Manager) Databases() []*Version {
	m.mu.Lock()
	out := make([]*Version, 0, len(m.dbs))
	for _, st := range m.dbs {
		out = append(out, st.cur.Load())
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *Version) int {
		return cmp.Or(value.CompareText(a.Name, b.Name), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// acquire makes the caller the one writer of the named databases,
// failing with ErrBusy if any of them has a writer already. It also
// registers the write with Close and returns a context that Close
// cancels. release must be called exactly once.
func (m *Manager) acquire(ctx context.Context, names ...string) (wctx context.Context, release func(), err error) {
	if !m.ready.Load() {
		return nil, nil, ErrNotReady
	}
	if r := m.repl.Load(); r != nil {
		if err := r.allowWrite(ctx); err != nil {
			return nil, nil, err
		}
	}
	keys := make([]string, 0, len(names))
	for _, n := range names {
		k := value.FoldText(n)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	m.mu.Lock()
	if m.closed || m.stopping {
		m.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: no new writes are accepted", ErrClosed)
	}
	for i, k := range keys {
		if m.writers[k] {
			m.mu.Unlock()
			return nil, nil, fmt.Errorf("%w: %q is being written by another operation (refresh, deploy, restore or delete); try again when it ends", ErrBusy, names[min(i, len(names)-1)])
		}
	}
	for _, k := range keys {
		m.writers[k] = true
	}
	m.ops.Add(1)
	m.mu.Unlock()
	wctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(m.ctx, func() { cancel(ErrClosed) })
	release = func() {
		stop()
		cancel(nil)
		m.mu.Lock()
		for _, k := range keys {
			delete(m.writers, k)
		}
		m.mu.Unlock()
		m.ops.Done()
	}
	return wctx, release, nil
}

// swap makes v the current version of its database (or, with v nil,
// removes the database name) and reports the commit.
func (m *Manager) swap(name string, v *Version) {
	key := value.FoldText(name)
	m.mu.Lock()
	if v == nil {
		delete(m.dbs, key)
	} else if st, ok := m.dbs[key]; ok {
		st.cur.Store(v)
	} else {
		st := &dbState{}
		st.cur.Store(v)
		m.dbs[key] = st
	}
	m.mu.Unlock()
	if m.opts.OnCommit != nil {
		m.opts.OnCommit(name, v)
	}
	if r := m.repl.Load(); r != nil {
		r.committed(name, v)
	}
	m.gc.schedule()
}

// cancelCause returns why ctx ended, as the error a write reports:
// ErrClosed at shutdown, ErrCancelled otherwise.
func cancelCause(ctx context.Context) error {
	cause := context.Cause(ctx)
	switch {
	case cause == nil:
		return nil
	case errors.Is(cause, ErrClosed):
		return fmt.Errorf("%w: the operation was cancelled and committed nothing", ErrClosed)
	case errors.Is(cause, context.DeadlineExceeded):
		return fmt.Errorf("%w: the operation ran out of time and committed nothing", context.DeadlineExceeded)
	case errors.Is(cause, ErrCancelled):
		return cause
	}
	return fmt.Errorf("%w: %w; nothing was committed", ErrCancelled, cause)
}
