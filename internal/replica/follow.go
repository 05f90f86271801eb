package replica

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
)

// Local is the follower's side: the server's databases. The follower
// calls it from one goroutine at a time.
type Local interface {
	// Current returns the manifest of the database's current version, or
	// nil when there is no such database. Names compare as the local side
	// compares them (case-insensitively for the server).
	Current(db string) *image.Manifest
	// HasObject reports whether the local side holds an object, so that
	// it is not fetched.
	HasObject(h image.Hash) bool
	// Commit commits the image m with the version and commit time it
	// carries (as catalog.Txn.CommitReplica does), reading the objects it
	// lacks from objects, which checks each against its hash and size.
	// The version is above the local one (the follower deletes the local
	// database first when it is not). A failed Commit must leave the
	// previous version in place.
	Commit(ctx context.Context, m *image.Manifest, objects image.ObjectReader) error
	// Delete deletes the database.
	Delete(ctx context.Context, db string) error
}

// FollowerOptions configure a Follower. The zero value means the
// defaults.
type FollowerOptions struct {
	// Interval between polls of the store (default 2 s).
	Interval time.Duration
	// Parallelism is how many objects are fetched at once (default 4).
	Parallelism int
	// MaxStaged bounds the bytes of fetched objects held in memory before
	// the commit (default 512 MiB). Objects beyond it are fetched, one at
	// a time, when the commit reads them.
	MaxStaged int64
	// MaxObjectSize refuses larger objects (default 1 GiB), whatever a
	// manifest in the store claims.
	MaxObjectSize int64
}

// Follower keeps the local databases at the versions the store's
// pointers name. Run polls; Sync does one pass. It is safe for concurrent
// use.
type Follower struct {
	s     *Store
	local Local
	opts  FollowerOptions

	sync sync.Mutex // one pass at a time

	mu       sync.Mutex
	status   map[string]*DatabaseStatus // by key
	lastPoll time.Time
	pollErr  error
	running  bool
	closed   bool
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewFollower returns a follower applying the store's images to local.
func NewFollower(s *Store, local Local, opts FollowerOptions) (*Follower, error) {
	if s == nil || local == nil {
		return nil, fmt.Errorf("%w: a follower needs a store and a local side", ErrInvalid)
	}
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 4
	}
	if opts.MaxStaged <= 0 {
		opts.MaxStaged = 512 << 20
	}
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = 1 << 30
	}
	return &Follower{s: s, local: local, opts: opts, status: map[string]*DatabaseStatus{}}, nil
}

// DatabaseStatus is one database as the follower last saw it.
type DatabaseStatus struct {
	Database string `json:"database"`
	// StoreVersion and StoreCommitTime are of the store's pointer;
	// Deleted is set for a tombstone.
	StoreVersion    int64     `json:"storeVersion"`
	StoreCommitTime time.Time `json:"storeCommitTime"`
	Deleted         bool      `json:"deleted,omitempty"`
	// LocalVersion and LocalCommitTime are of the local database (zero
	// when there is none).
	LocalVersion    int64     `json:"localVersion"`
	LocalCommitTime time.Time `json:"localCommitTime,omitzero"`
	// InSync: the local database has the store's version and content (or
	// both have none).
	InSync bool `json:"inSync"`
	// VersionsBehind is the store's version minus the local one (at least
	// 1 when not in sync); LagSeconds the time since the store's version
	// was committed on the primary, while it is not applied (0 in sync).
	VersionsBehind int64   `json:"versionsBehind"`
	LagSeconds     float64 `json:"lagSeconds"`
	// LastChecked is the last poll that read the pointer; LastApplied the
	// last commit or delete applied.
	LastChecked time.Time `json:"lastChecked"`
	LastApplied time.Time `json:"lastApplied,omitzero"`
	// Fetched and FetchedBytes count the objects the last apply fetched.
	Fetched      int   `json:"fetched"`
	FetchedBytes int64 `json:"fetchedBytes"`
	// Error is why the last attempt failed ("" if it did not); it is
	// retried at the next poll.
	Error string `json:"error,omitempty"`
}

// FollowerStatus is the follower's state: its last poll and every
// database it has seen in the store.
type FollowerStatus struct {
	LastPoll  time.Time        `json:"lastPoll"`
	PollError string           `json:"pollError,omitempty"`
	Databases []DatabaseStatus `json:"databases"`
}

// Status returns the state of every database seen in the store, sorted by
// name, with lag computed now.
func (f *Follower) Status() FollowerStatus {
	now := f.s.clock.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	st := FollowerStatus{LastPoll: f.lastPoll}
	if f.pollErr != nil {
		st.PollError = f.pollErr.Error()
	}
	for _, d := range f.status {
		st.Databases = append(st.Databases, d.at(now))
	}
	slices.SortFunc(st.Databases, func(a, b DatabaseStatus) int { return cmp.Compare(a.Database, b.Database) })
	return st
}

// Lag returns the status of one database (by its exact name or any name
// with the same key), with lag computed now.
func (f *Follower) Lag(db string) (DatabaseStatus, bool) {
	key, err := Key(db)
	if err != nil {
		return DatabaseStatus{}, false
	}
	now := f.s.clock.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.status[key]
	if !ok {
		return DatabaseStatus{}, false
	}
	return d.at(now), true
}

func (d *DatabaseStatus) at(now time.Time) DatabaseStatus {
	c := *d
	if !c.InSync && !c.Deleted && !c.StoreCommitTime.IsZero() {
		c.LagSeconds = max(now.Sub(c.StoreCommitTime).Seconds(), 0)
	}
	return c
}

// Run polls the store every Interval until ctx ends or Close is called,
// and then returns nil. Failures are recorded in Status and retried at the
// next poll. Only one Run may be active at a time.
func (f *Follower) Run(ctx context.Context) error {
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		return ErrClosed
	case f.running:
		f.mu.Unlock()
		return fmt.Errorf("%w: the follower is running already", ErrInvalid)
	}
	ctx, cancel := context.WithCancel(ctx)
	f.running, f.cancel, f.done = true, cancel, make(chan struct{})
	done := f.done
	f.mu.Unlock()
	defer func() {
		cancel()
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
		close(done)
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.s.log.Warn("replica: follow", "store", f.s.String(), "err", err)
		}
		t.Reset(f.opts.Interval)
	}
}

// Close stops Run and waits for it to return. The follower cannot be run
// again.
func (f *Follower) Close() error {
	f.mu.Lock()
	f.closed = true
	cancel, done, running := f.cancel, f.done, f.running
	f.mu.Unlock()
	if running {
		cancel()
		<-done
	}
	return nil
}

// Sync does one pass: it reads every pointer in the store and brings each
// local database to it, creations and updates first, then deletes (so a
// rename never leaves followers with neither name). It returns the
// failures joined; each is also recorded in the database's status.
func (f *Follower) Sync(ctx context.Context) error {
	f.sync.Lock()
	defer f.sync.Unlock()
	ptrs, err := f.s.Pointers(ctx)
	now := f.s.clock.Now()
	f.mu.Lock()
	f.lastPoll, f.pollErr = now, err
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("follow %s: %w", f.s, err)
	}
	slices.SortStableFunc(ptrs, func(a, b PointerResult) int {
		return cmp.Compare(deleted(a), deleted(b))
	})
	var errs []error
	for _, r := range ptrs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("follow %s: %w", f.s, err)
		}
		if r.Err != nil {
			f.record(r.Key, func(d *DatabaseStatus) { d.Error = r.Err.Error(); d.LastChecked = now })
			errs = append(errs, r.Err)
			continue
		}
		if err := f.apply(ctx, r.Key, r.Pointer); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func deleted(r PointerResult) int {
	if r.Pointer != nil && r.Pointer.Deleted {
		return 1
	}
	return 0
}

func (f *Follower) record(key string, fn func(*DatabaseStatus)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.status[key]
	if d == nil {
		d = &DatabaseStatus{}
		f.status[key] = d
	}
	fn(d)
}

// apply brings one local database to the pointer p.
func (f *Follower) apply(ctx context.Context, key string, p *Pointer) (err error) {
	now := f.s.clock.Now()
	cur := f.local.Current(p.Database)
	setLocal := func(d *DatabaseStatus, m *image.Manifest) {
		d.LocalVersion, d.LocalCommitTime = 0, time.Time{}
		if m != nil {
			d.LocalVersion, d.LocalCommitTime = m.Version, m.CommitTime
		}
	}
	f.record(key, func(d *DatabaseStatus) {
		d.Database, d.StoreVersion, d.StoreCommitTime, d.Deleted = p.Database, p.Version, p.CommitTime, p.Deleted
		d.LastChecked = now
		setLocal(d, cur)
		d.InSync = p.Deleted && cur == nil || !p.Deleted && same(cur, p)
		d.VersionsBehind = 0
		if !d.InSync && !p.Deleted {
			d.VersionsBehind = max(p.Version-d.LocalVersion, 1)
		}
		if d.InSync {
			d.Error = ""
		}
	})
	defer func() {
		if err != nil {
			f.record(key, func(d *DatabaseStatus) { d.Error = err.Error() })
		}
	}()
	switch {
	case p.Deleted && cur == nil:
		return nil
	case p.Deleted:
		if err := f.local.Delete(ctx, cur.Database); err != nil {
			return fmt.Errorf("follow delete of %q: %w", cur.Database, err)
		}
		f.record(key, func(d *DatabaseStatus) {
			setLocal(d, nil)
			d.InSync, d.LastApplied, d.Error = true, f.s.clock.Now(), ""
		})
		return nil
	case same(cur, p):
		return nil
	}

	m, err := f.s.Manifest(ctx, p)
	if err != nil {
		return fmt.Errorf("follow %q version %d: %w", p.Database, p.Version, err)
	}
	src := image.NewPrefetcher(m, f.local, func(ctx context.Context, o image.ObjectRef) ([]byte, error) {
		return f.s.fetchObject(ctx, o, f.opts.MaxObjectSize)
	})
	if err := src.Prefetch(ctx, f.opts.Parallelism, f.opts.MaxStaged); err != nil {
		return fmt.Errorf("follow %q version %d: %w", p.Database, p.Version, err)
	}
	if cur != nil && (cur.Version >= p.Version || cur.Database != p.Database) {
		// The store went back or sideways: the database was deleted and
		// created again on the primary, or this server was a primary whose
		// last commits were never published, or the name's case changed.
		// The store wins; the local side takes versions only upwards and
		// keeps a database's spelling, so the old copy goes first.
		f.s.log.Warn("replica: replacing a local database the store does not have",
			"database", cur.Database, "localVersion", cur.Version, "storeVersion", p.Version)
		if err := f.local.Delete(ctx, cur.Database); err != nil {
			return fmt.Errorf("follow %q version %d: replace local version %d: %w", p.Database, p.Version, cur.Version, err)
		}
	}
	if err := f.local.Commit(ctx, m, src); err != nil {
		return fmt.Errorf("follow %q version %d: commit: %w", p.Database, p.Version, err)
	}
	fetched, bytes := src.Fetched()
	f.record(key, func(d *DatabaseStatus) {
		d.LocalVersion, d.LocalCommitTime = m.Version, m.CommitTime
		d.InSync, d.VersionsBehind, d.Error = true, 0, ""
		d.LastApplied, d.Fetched, d.FetchedBytes = f.s.clock.Now(), fetched, bytes
	})
	return nil
}

// same reports whether the local database is the pointer's image: same
// name (spelling included), version and content.
func same(cur *image.Manifest, p *Pointer) bool {
	return cur != nil && cur.Database == p.Database && cur.Version == p.Version && cur.ContentHash() == p.Content
}
