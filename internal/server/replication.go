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

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/replica"
	"github.com/meridian-olap/meridian/internal/value"
)

// The roles a server plays, as GET /status, GET /databases and /metrics
// report them. A fenced server was a primary and lost its publishing
// lease: it refuses writes and publishes nothing until it is promoted or
// demoted, or takes the lease again when no other server took it.
const (
	RoleStandalone = "standalone"
	RolePrimary    = "primary"
	RoleFollower   = "follower"
	RoleFenced     = "fenced"
)

// ReplicationOptions configure a server's part in replication through a
// blob store (package replica). At most one of Publish and Follow is set;
// with neither the server is standalone until promoted or demoted at run
// time (POST /admin/promote, /admin/demote).
type ReplicationOptions struct {
	// Publish is the URL of the store a primary publishes every commit to.
	Publish string
	// Follow is the URL of the store a follower follows.
	Follow string
	// Takeover lets a primary take the publishing lease at start even
	// while another server holds it (that server is fenced).
	Takeover bool
	// FollowInterval is the time between polls of the store (default 2 s).
	FollowInterval time.Duration
	// LeaseTTL is the publishing lease's TTL (default 15 s): a primary
	// that cannot renew it for that long stops publishing and refuses
	// writes.
	LeaseTTL time.Duration
	// Parallelism is how many objects are uploaded or fetched at once
	// (default 4).
	Parallelism int
	// Blob opens the stores (credentials); zero means the environment's
	// AZURE_STORAGE_* and AWS settings.
	Blob blob.Options
	// Store configures the replication layout (prefix, clock); the
	// logger is the server's when not set.
	Store replica.Options
}

// replicaPublishers is how many databases a primary publishes at once;
// each upload is itself parallel.
const replicaPublishers = 2

// replWriter marks the context of writes replication makes itself (a
// follower applying the store's images, a new primary catching up): they
// pass the gate that refuses every other write on a follower.
type replWriter struct{}

func asReplication(ctx context.Context) context.Context {
	return context.WithValue(ctx, replWriter{}, true)
}

// Replicator is a server's part in replication: standalone, primary
// (publishing every commit under a lease), follower (applying the store's
// images), or fenced. It also gates the Manager's writes: a follower
// refuses every write but its own, a fenced primary every write, and a
// primary that is catching up with the store refuses writes until it is
// done. Role changes (start, promote, demote, stop) are serialized.
type Replicator struct {
	m    *Manager
	opts ReplicationOptions
	name string
	log  *slog.Logger
	met  *replMetrics

	op sync.Mutex // serializes role changes

	mu         sync.Mutex
	role       string
	url        string // the store's URL as given
	bstore     *blob.Store
	store      *replica.Store
	lease      *replica.Lease
	pub        *replica.Publisher
	fol        *replica.Follower
	queue      *pubQueue
	catching   bool          // a primary not yet caught up with the store
	caughtUp   chan struct{} // closed when the catch-up ends
	catchErr   error         // the last catch-up failure
	fenced     error         // why a primary was fenced
	holder     string        // the lease holder, as a follower or fenced server last read it
	lastSync   time.Time     // a follower's last pass without error
	syncErr    error         // a follower's last pass's error
	pollFailed bool          // a follower's last pass could not list the store
	syncCount  int64
	stopped    bool     // Stop was called: no role is taken again
	run        *roleRun // the goroutines of the current role

	// testHold, set by tests only, holds the publisher until the channel
	// closes, so that events pile up and coalesce.
	testHold atomic.Pointer[chan struct{}]
}

// roleRun owns the goroutines of one role; stop cancels and waits.
type roleRun struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRoleRun() *roleRun {
	ctx, cancel := context.WithCancel(context.Background())
	return &roleRun{ctx: ctx, cancel: cancel}
}

func (r *roleRun) stop() {
	if r != nil {
		r.cancel()
		r.wg.Wait()
	}
}

func newReplicator(m *Manager, opts ReplicationOptions, name string, log *slog.Logger, met *replMetrics) *Replicator {
	if opts.FollowInterval <= 0 {
		opts.FollowInterval = 2 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 4
	}
	if opts.Store.Logger == nil {
		opts.Store.Logger = log
	}
	r := &Replicator{m: m, opts: opts, name: name, log: log, met: met, role: RoleStandalone}
	m.repl.Store(r)
	return r
}

// allowWrite is the Manager's write gate (see acquire).
func (r *Replicator) allowWrite(ctx context.Context) error {
	if ctx.Value(replWriter{}) != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.role == RoleFollower:
		return fmt.Errorf("%w: this server (%q) follows the primary %s through %s; send writes (TMSL, refreshes) to the primary",
			ErrReadOnly, r.name, r.primaryLocked(), r.url)
	case r.role == RoleFenced:
		return fmt.Errorf("%w: this server (%q) refuses writes: %v", ErrFenced, r.name, r.fenced)
	case r.role == RolePrimary && r.catching:
		msg := "it is catching up with what the store holds before it takes writes; try again shortly"
		if r.catchErr != nil {
			msg += fmt.Sprintf(" (last attempt: %v)", r.catchErr)
		}
		return fmt.Errorf("%w: this server (%q) was made primary of %s; %s", ErrCatchingUp, r.name, r.url, msg)
	}
	return nil
}

func (r *Replicator) primaryLocked() string {
	if r.holder == "" {
		return "(no server holds the publishing lease yet)"
	}
	return fmt.Sprintf("%q", r.holder)
}

// committed hears every commit and delete of the Manager (see swap). It
// only notes the event: publishing runs in the background and never holds
// a writer or a query.
func (r *Replicator) committed(name string, v *Version) {
	r.mu.Lock()
	q := r.queue
	// While a new primary catches up, every commit is the catch-up's own
	// (writes are refused): it brings the store's images in, which need
	// no publishing (and a deletion followed by a commit would publish a
	// tombstone followers would act on). Every database is noted once the
	// catch-up ends.
	publish := r.role == RolePrimary && !r.catching
	r.mu.Unlock()
	if publish && q != nil {
		q.note(name, v == nil)
	}
}

// open opens the blob store and the replication layout in it.
func (r *Replicator) open(ctx context.Context, url string) (*blob.Store, *replica.Store, error) {
	b, err := blob.Open(ctx, url, withCreate(r.opts.Blob))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: open replication store %s: %w", ErrReplication, url, err)
	}
	st, err := replica.New(b, r.opts.Store)
	if err != nil {
		b.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrReplication, err)
	}
	return b, st, nil
}

func withCreate(o blob.Options) blob.Options {
	o.Create = true
	return o
}

// Start begins the role the options give: it opens the store and, for a
// primary, takes the publishing lease (failing with a message naming the
// holder when another server holds it, unless Takeover). Catching up,
// publishing and following start once the Manager has loaded.
func (r *Replicator) Start(ctx context.Context) error {
	o := r.opts
	switch {
	case o.Publish != "" && o.Follow != "":
		return fmt.Errorf("%w: publish and follow are exclusive: a server is a primary or a follower", ErrBadRequest)
	case o.Publish != "":
		_, err := r.Promote(ctx, PromoteOptions{Store: o.Publish, Takeover: o.Takeover, NoWait: true})
		return err
	case o.Follow != "":
		return r.Demote(ctx, o.Follow)
	}
	return nil
}

// PromoteOptions configure Promote.
type PromoteOptions struct {
	// Store is the store to publish to; empty means the one followed.
	Store string
	// Takeover takes the lease whoever holds it; without it a lease
	// another server holds is refused (ErrLeaseHeld).
	Takeover bool
	// NoWait returns once the lease is held, without waiting for the
	// catch-up (serve at start, before the databases are loaded).
	NoWait bool

	// retake is set when a fenced primary takes its lease again by
	// itself: the promotion happens only if nothing changed the role
	// since it lost that lease.
	retake *replica.Lease
}

// Promote makes this server the primary: it stops following, takes the
// publishing lease (Takeover, or Acquire), claims every pointer of the
// store for its epoch (Publisher.Fence: from then on the old primary
// cannot publish), catches up with what the store holds (Follower.Sync),
// publishes every database the store lacks or has older, and then takes
// writes and publishes every commit. Promoting a primary does nothing.
// It returns once caught up (unless NoWait), or when ctx ends: the
// catch-up goes on in the background until it succeeds, and writes are
// refused with ErrCatchingUp meanwhile.
func (r *Replicator) Promote(ctx context.Context, opts PromoteOptions) (ReplicationStatus, error) {
	// The wait for the catch-up happens outside the lock on role
	// changes, so that a demotion or the shutdown is not held by it.
	done, err := r.promote(ctx, opts)
	if err != nil || opts.NoWait {
		return r.Status(), err
	}
	return r.promoted(ctx, done)
}

// promote changes the role to primary and returns what closes when the
// catch-up ends.
func (r *Replicator) promote(ctx context.Context, opts PromoteOptions) (chan struct{}, error) {
	r.op.Lock()
	defer r.op.Unlock()
	r.mu.Lock()
	role, url, done, stopped, lost := r.role, r.url, r.caughtUp, r.stopped, r.lease
	r.mu.Unlock()
	switch {
	case stopped:
		return nil, fmt.Errorf("%w: the server is shutting down", ErrClosed)
	case opts.retake != nil && (role != RoleFenced || lost != opts.retake):
		return nil, nil // promoted, demoted or stopped since
	}
	if opts.Store == "" {
		opts.Store = url
	}
	if opts.Store == "" {
		return nil, fmt.Errorf("%w: promote: this server has no replication store; give one (publish URL)", ErrBadRequest)
	}
	if role == RolePrimary && opts.Store == url {
		return done, nil
	}

	// Open the new store before giving anything up, so that a bad URL
	// leaves the server as it was.
	b, st := r.current()
	reuse := url == opts.Store && b != nil
	if !reuse {
		var err error
		if b, st, err = r.open(ctx, opts.Store); err != nil {
			return nil, err
		}
	}
	var lease *replica.Lease
	var err error
	if opts.Takeover {
		lease, err = st.Takeover(ctx, r.name, r.opts.LeaseTTL)
	} else {
		lease, err = st.Acquire(ctx, r.name, r.opts.LeaseTTL)
	}
	if err != nil {
		if !reuse {
			b.Close()
		}
		var held *replica.HeldError
		if errors.As(err, &held) {
			return nil, fmt.Errorf("%w: %q holds the publishing lease of %s (epoch %d, last renewed %s, TTL %v); take it over (takeover) to make this server the primary, which fences %q",
				ErrLeaseHeld, held.Holder, st, held.Epoch, held.Renewed.UTC().Format(time.RFC3339), held.TTL, held.Holder)
		}
		return nil, fmt.Errorf("%w: take the publishing lease of %s: %w", ErrReplication, st, err)
	}
	pub, err := replica.NewPublisher(st, lease, replica.PublisherOptions{Parallelism: r.opts.Parallelism})
	if err != nil {
		lease.Release(context.WithoutCancel(ctx))
		if !reuse {
			b.Close()
		}
		return nil, fmt.Errorf("%w: %w", ErrReplication, err)
	}

	// From here on the server is the primary, refusing writes until it
	// has caught up.
	old := r.swapRole(func() {
		r.role, r.url, r.store, r.lease, r.pub, r.fol = RolePrimary, opts.Store, st, lease, pub, nil
		r.queue = newPubQueue()
		r.catching, r.catchErr, r.fenced, r.holder = true, nil, nil, r.name
		r.caughtUp = make(chan struct{})
		done = r.caughtUp
	}, b)
	old()
	run := r.startRun()
	// Publishing has a context of its own, which fencing cancels while
	// the role (and its attempts to take the lease again) goes on.
	pctx, pcancel := context.WithCancel(run.ctx)
	publishing := &roleRun{ctx: pctx, cancel: pcancel}
	run.wg.Go(func() { r.keepLease(run, publishing, lease) })
	run.wg.Go(func() { r.becomePrimary(publishing, st, pub) })
	r.log.Info("replication: primary", "store", st.String(), "holder", r.name, "epoch", lease.Epoch(), "takeover", opts.Takeover)
	return done, nil
}

// promoted waits for the catch-up of a promotion and reports how it
// ended: the role may have changed meanwhile (the lease lost, a demotion
// or the shutdown).
func (r *Replicator) promoted(ctx context.Context, done chan struct{}) (ReplicationStatus, error) {
	if err := waitCaughtUp(ctx, done); err != nil {
		return r.Status(), err
	}
	st := r.Status()
	switch {
	case st.Role == RoleFenced:
		return st, fmt.Errorf("%w: the promotion failed: %s", ErrFenced, st.Fenced)
	case st.Role != RolePrimary:
		return st, fmt.Errorf("%w: the server became %s during the promotion", ErrBusy, st.Role)
	}
	return st, nil
}

// caughtUpLocked releases those waiting for the catch-up: it is over,
// or the role changed. r.mu is held.
func (r *Replicator) caughtUpLocked() {
	if r.caughtUp != nil {
		select {
		case <-r.caughtUp:
		default:
			close(r.caughtUp)
		}
	}
}

func waitCaughtUp(ctx context.Context, done chan struct{}) error {
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the catch-up with the store goes on in the background: %w", ErrCatchingUp, ctx.Err())
	}
}

// current returns the open store.
func (r *Replicator) current() (*blob.Store, *replica.Store) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bstore, r.store
}

// swapRole changes the role's state under the lock and returns what
// ends the old role: it stops its goroutines, releases its lease (so that
// another server can take it at once; a lost lease is left alone), then
// closes its blob store when b replaces it.
func (r *Replicator) swapRole(set func(), b *blob.Store) (stopOld func()) {
	r.mu.Lock()
	old, oldB, oldLease := r.run, r.bstore, r.lease
	r.run = nil
	set()
	r.bstore = b
	newLease := r.lease
	r.mu.Unlock()
	return func() {
		old.stop()
		if oldLease != nil && oldLease != newLease {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := oldLease.Release(ctx); err != nil {
				r.log.Warn("replication: releasing the lease failed; it runs out by itself", "err", err)
			}
			cancel()
		}
		if oldB != nil && oldB != b {
			oldB.Close()
		}
	}
}

func (r *Replicator) startRun() *roleRun {
	run := newRoleRun()
	r.mu.Lock()
	r.run = run
	r.mu.Unlock()
	return run
}

// keepLease renews the lease until the role ends, and fences the server
// when the lease is lost (Keep returns then, however it was lost: a
// failed renewal, or the publisher finding a pointer of a newer epoch).
// A lease that ran out while no other server took it (the store did not
// answer for longer than the TTL) is taken again once the store answers.
func (r *Replicator) keepLease(run, publishing *roleRun, lease *replica.Lease) {
	if err := lease.Keep(run.ctx); err != nil && run.ctx.Err() == nil {
		if r.onFenced(run, publishing, lease) {
			r.retake(run, lease)
		}
	}
}

// onFenced makes a primary whose lease was lost refuse writes and stop
// publishing. It reports whether the lease may be taken again: no other
// server holds it.
func (r *Replicator) onFenced(run, publishing *roleRun, lease *replica.Lease) (retake bool) {
	if run.ctx.Err() != nil {
		return false // the role ended (demote, stop) and released the lease
	}
	why := lease.Err()
	holder := ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.mu.Lock()
	st := r.store
	r.mu.Unlock()
	if rec, err := st.LeaseHolder(ctx); err == nil && rec.Holder != r.name && !rec.Released {
		holder = rec.Holder
	}
	r.mu.Lock()
	if r.lease != lease || r.role != RolePrimary {
		r.mu.Unlock()
		return false
	}
	r.role, r.catching = RoleFenced, false
	msg := why.Error()
	if holder != "" {
		msg = fmt.Sprintf("%s; the primary is now %q", msg, holder)
		r.holder = holder
	}
	if holder == "" {
		msg += "; no other server has taken the lease: this server takes it again once the store answers"
	}
	r.fenced = errors.New(msg)
	r.mu.Unlock()
	publishing.cancel() // the publishing goroutines end on their own
	r.met.fenced()
	r.log.Error("replication: fenced: this server lost the publishing lease; it publishes nothing and refuses writes until it is promoted or demoted",
		"store", st.String(), "err", msg)
	return holder == ""
}

// retake takes the lease again after it ran out with no other holder:
// every third of the TTL it reads the lease, and as long as the lease
// still names this server (or was released) it promotes the server again
// (Acquire, never a takeover: a server that took the lease meanwhile
// keeps it, and this one stays fenced). The promotion runs apart from the
// role's goroutines, since it ends them.
func (r *Replicator) retake(run *roleRun, lease *replica.Lease) {
	r.mu.Lock()
	st, url := r.store, r.url
	r.mu.Unlock()
	wait := max(lease.TTL()/3, 10*time.Millisecond)
	for {
		select {
		case <-run.ctx.Done():
			return
		case <-time.After(wait):
		}
		rec, err := st.LeaseHolder(run.ctx)
		if err != nil && !errors.Is(err, replica.ErrNotFound) {
			continue // the store still does not answer
		}
		if err == nil && rec.Holder != r.name && !rec.Released {
			r.mu.Lock()
			if r.lease == lease && r.role == RoleFenced {
				r.holder = rec.Holder
				r.fenced = fmt.Errorf("%w; the primary is now %q", lease.Err(), rec.Holder)
			}
			r.mu.Unlock()
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if _, err := r.Promote(ctx, PromoteOptions{Store: url, NoWait: true, retake: lease}); err != nil {
				r.log.Warn("replication: taking the lease again failed", "err", err)
			}
		}()
		return
	}
}

// becomePrimary catches up with the store (retrying until it succeeds or
// the role ends), then publishes every local database the store lacks
// or has older, lets writes in, and publishes commits as they come.
func (r *Replicator) becomePrimary(run *roleRun, st *replica.Store, pub *replica.Publisher) {
	select {
	case <-r.m.loaded:
	case <-run.ctx.Done():
		return
	}
	for attempt := 0; ; attempt++ {
		err := r.catchUp(run.ctx, st, pub)
		if err == nil {
			break
		}
		if run.ctx.Err() != nil {
			return
		}
		if errors.Is(err, replica.ErrFenced) {
			return // onFenced takes it from here
		}
		r.mu.Lock()
		r.catchErr = err
		r.mu.Unlock()
		r.log.Warn("replication: catching up with the store failed; retrying", "store", st.String(), "attempt", attempt+1, "err", err)
		select {
		case <-run.ctx.Done():
			return
		case <-time.After(retryDelay(attempt)):
		}
	}
	r.mu.Lock()
	q := r.queue
	if r.role == RolePrimary && r.pub == pub {
		r.catching, r.catchErr = false, nil
		r.caughtUpLocked()
	}
	r.mu.Unlock()
	for _, v := range r.m.Databases() {
		q.note(v.Name, false)
	}
	r.log.Info("replication: caught up with the store; publishing commits", "store", st.String())
	r.dispatch(run, pub, q)
}

// errKeepLocal is what the catch-up's local side answers for a database
// the primary keeps as it is (and publishes) instead of taking the
// store's.
var errKeepLocal = errors.New("server: the local database is newer than the store's")

// catchUp brings the local databases to what the store holds, after
// claiming every pointer for this primary's epoch. The store wins, as it
// does for followers, except where the local database is newer: a version
// above the store's (commits this server made and never published) or a
// database created again after the store's tombstone. Those are kept and
// published afterwards.
func (r *Replicator) catchUp(ctx context.Context, st *replica.Store, pub *replica.Publisher) error {
	if err := pub.Fence(ctx); err != nil {
		return err
	}
	ptrs, err := st.Pointers(ctx)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, pr := range ptrs {
		p := pr.Pointer
		if pr.Err != nil || p == nil {
			continue
		}
		cur, err := r.m.Current(p.Database)
		if err != nil {
			continue
		}
		man := cur.Manifest
		switch {
		case p.Deleted && man.CommitTime.After(p.CommitTime):
			keep[pr.Key] = true
		case !p.Deleted && man.Version > p.Version:
			keep[pr.Key] = true
		}
	}
	f, err := replica.NewFollower(st, &catchUpLocal{followLocal{r.m}, keep}, replica.FollowerOptions{Parallelism: r.opts.Parallelism})
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range unjoin(f.Sync(ctx)) {
		if !errors.Is(e, errKeepLocal) {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// unjoin splits an errors.Join.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// followLocal is a follower's local side: the Manager, written through
// the replication gate.
type followLocal struct{ m *Manager }

func (l followLocal) Current(db string) *image.Manifest {
	v, err := l.m.Current(db)
	if err != nil {
		return nil
	}
	return v.Manifest
}

func (l followLocal) HasObject(h image.Hash) bool { return l.m.cat.HasObject(h) }

func (l followLocal) Commit(ctx context.Context, man *image.Manifest, objects image.ObjectReader) error {
	_, err := l.m.CommitImage(asReplication(ctx), man.Database, man, objects, CommitImageOptions{KeepVersion: true, Overwrite: true})
	return err
}

func (l followLocal) Delete(ctx context.Context, db string) error {
	return l.m.DeleteDatabase(asReplication(ctx), db)
}

// catchUpLocal is the local side of a new primary's catch-up: it leaves
// the databases in keep alone.
type catchUpLocal struct {
	followLocal
	keep map[string]bool
}

func (l *catchUpLocal) kept(db string) bool {
	k, err := replica.Key(db)
	return err == nil && l.keep[k]
}

func (l *catchUpLocal) Commit(ctx context.Context, man *image.Manifest, objects image.ObjectReader) error {
	if l.kept(man.Database) {
		return errKeepLocal
	}
	return l.followLocal.Commit(ctx, man, objects)
}

func (l *catchUpLocal) Delete(ctx context.Context, db string) error {
	if l.kept(db) {
		return errKeepLocal
	}
	return l.followLocal.Delete(ctx, db)
}

// DeleteDatabase deletes a database: what a follower does when the
// primary deleted it. It is a write like any other (the database is held;
// a follower refuses it unless replication makes it).
func (m *Manager) DeleteDatabase(ctx context.Context, name string) error {
	wctx, release, err := m.acquire(ctx, name)
	if err != nil {
		return err
	}
	defer release()
	cur, err := m.Current(name)
	if err != nil {
		return err
	}
	if err := m.cat.Delete(wctx, cur.Name); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete %q: %w", cur.Name, err)
	}
	m.swap(cur.Name, nil)
	m.log.Info("deleted", "database", cur.Name)
	return nil
}

// Demote makes this server a follower of the store at url (empty: the
// store it publishes to or follows). A primary first publishes what it
// has not published yet (as long as ctx allows) and releases its lease,
// so that another server can be promoted without a takeover; a fenced
// server publishes nothing. A follower's databases then follow the store,
// which wins over anything local (writes a fenced primary took and never
// published are replaced).
func (r *Replicator) Demote(ctx context.Context, url string) error {
	r.op.Lock()
	defer r.op.Unlock()
	r.mu.Lock()
	role, cur, q, stopped := r.role, r.url, r.queue, r.stopped
	r.mu.Unlock()
	if stopped {
		return fmt.Errorf("%w: the server is shutting down", ErrClosed)
	}
	if url == "" {
		url = cur
	}
	if url == "" {
		return fmt.Errorf("%w: demote: this server has no replication store; give one (follow URL)", ErrBadRequest)
	}
	if role == RoleFollower && url == cur {
		return nil
	}
	b, st := r.current()
	reuse := url == cur && b != nil
	if !reuse {
		var err error
		if b, st, err = r.open(ctx, url); err != nil {
			return err
		}
	}
	if role == RolePrimary {
		// Refuse writes from now on, publish what is pending (a primary
		// still catching up has published nothing of its own), then let
		// the lease go.
		r.mu.Lock()
		catching := r.catching
		r.role, r.catching = RoleFenced, false
		r.fenced = errors.New("the server is being demoted to a follower")
		r.mu.Unlock()
		if !catching {
			if err := q.flush(ctx); err != nil {
				r.log.Warn("replication: demoted before every commit was published", "err", err)
			}
		}
	}
	f, err := replica.NewFollower(st, followLocal{r.m}, replica.FollowerOptions{Interval: r.opts.FollowInterval, Parallelism: r.opts.Parallelism})
	if err != nil {
		if !reuse {
			b.Close()
		}
		return fmt.Errorf("%w: %w", ErrReplication, err)
	}
	holder := r.leaseHolder(ctx, st)
	old := r.swapRole(func() {
		r.role, r.url, r.store, r.lease, r.pub, r.fol, r.queue = RoleFollower, url, st, nil, nil, f, nil
		r.catching, r.catchErr, r.fenced, r.syncErr, r.lastSync, r.pollFailed = false, nil, nil, nil, time.Time{}, false
		r.holder = holder
		r.caughtUpLocked()
		r.caughtUp = nil
	}, b)
	old()
	run := r.startRun()
	run.wg.Go(func() { r.follow(run, st, f) })
	r.log.Info("replication: following", "store", st.String(), "interval", r.opts.FollowInterval)
	return nil
}

// follow polls the store until the role ends.
func (r *Replicator) follow(run *roleRun, st *replica.Store, f *replica.Follower) {
	select {
	case <-r.m.loaded:
	case <-run.ctx.Done():
		return
	}
	applied := map[string]time.Time{}
	for {
		err := f.Sync(run.ctx)
		if run.ctx.Err() != nil {
			return
		}
		holder := r.leaseHolder(run.ctx, st)
		now := time.Now()
		fs := f.Status()
		r.mu.Lock()
		if r.fol != f {
			r.mu.Unlock()
			return
		}
		r.syncErr = err
		r.syncCount++
		// The store answered the listing: what it holds is known, even if
		// some database could not be applied (that one reports its own
		// lag).
		r.pollFailed = fs.PollError != ""
		if !r.pollFailed {
			r.lastSync = now
		}
		r.holder = holder
		r.mu.Unlock()
		r.met.followed(err, fs, applied)
		if err != nil {
			r.log.Warn("replication: follow", "store", st.String(), "err", err)
		}
		select {
		case <-run.ctx.Done():
			return
		case <-time.After(r.opts.FollowInterval):
		}
	}
}

// leaseHolder names the primary for a follower: the holder of an
// unreleased lease other than this server ("" when there is none or the
// store does not answer).
func (r *Replicator) leaseHolder(ctx context.Context, st *replica.Store) string {
	rec, err := st.LeaseHolder(ctx)
	if err != nil || rec.Released || rec.Holder == r.name {
		return ""
	}
	return rec.Holder
}

// Stop ends the server's role at shutdown: a primary publishes what is
// pending (as long as ctx allows) and releases its lease; a follower stops
// polling. The server is standalone afterwards.
func (r *Replicator) Stop(ctx context.Context) error {
	r.op.Lock()
	defer r.op.Unlock()
	r.mu.Lock()
	role, q := r.role, r.queue
	r.mu.Unlock()
	var err error
	if role == RolePrimary {
		r.mu.Lock()
		catching := r.catching
		r.role, r.catching = RoleFenced, false
		r.fenced = errors.New("the server is shutting down")
		r.mu.Unlock()
		if !catching {
			if ferr := q.flush(ctx); ferr != nil {
				err = fmt.Errorf("replication: shut down before every commit was published: %w", ferr)
			}
		}
	}
	old := r.swapRole(func() {
		r.role, r.store, r.lease, r.pub, r.fol, r.queue = RoleStandalone, nil, nil, nil, nil, nil
		r.catching, r.stopped = false, true
		r.caughtUpLocked()
		r.caughtUp = nil
	}, nil)
	old()
	return err
}

// ReplicationStatus is GET /status: the server's role and replication
// state.
type ReplicationStatus struct {
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
	Role   string `json:"role"`
	// Store is the replication store (published to or followed).
	Store string `json:"store,omitempty"`
	// Primary is the server holding the publishing lease as this server
	// last saw it (itself on a primary).
	Primary string `json:"primary,omitempty"`
	// Ready is false while the databases load.
	Ready bool `json:"ready"`
	// CatchingUp is true while a new primary brings its databases to the
	// store's before it takes writes.
	CatchingUp bool   `json:"catchingUp,omitempty"`
	Fenced     string `json:"fenced,omitempty"`
	Error      string `json:"error,omitempty"`
	// Lease is a primary's publishing lease.
	Lease *LeaseStatus `json:"lease,omitempty"`
	// Publish lists a primary's databases as published.
	Publish []PublishStatus `json:"publish,omitempty"`
	// Follow is a follower's view of the store.
	Follow *FollowStatus `json:"follow,omitempty"`
}

// LeaseStatus is the lease a primary holds.
type LeaseStatus struct {
	Holder     string    `json:"holder"`
	Epoch      int64     `json:"epoch"`
	TTLSeconds float64   `json:"ttlSeconds"`
	Deadline   time.Time `json:"deadline"`
}

// PublishStatus is one database as its primary published it.
type PublishStatus struct {
	Database string `json:"database"`
	// Pending is true while a commit or delete is not published yet;
	// PendingSeconds is how long the oldest has waited.
	Pending        bool    `json:"pending"`
	PendingSeconds float64 `json:"pendingSeconds,omitempty"`
	// Version is the last version published (0 for a deletion).
	Version       int64     `json:"version"`
	Deleted       bool      `json:"deleted,omitempty"`
	LastPublished time.Time `json:"lastPublished,omitzero"`
	// UploadedObjects and UploadedBytes are of the last publish.
	UploadedObjects int    `json:"uploadedObjects"`
	UploadedBytes   int64  `json:"uploadedBytes"`
	Attempts        int    `json:"attempts,omitempty"`
	Error           string `json:"error,omitempty"`
}

// FollowStatus is a follower's view of the store.
type FollowStatus struct {
	IntervalSeconds float64                  `json:"intervalSeconds"`
	LastSync        time.Time                `json:"lastSync,omitzero"`
	Error           string                   `json:"error,omitempty"`
	Databases       []replica.DatabaseStatus `json:"databases"`
}

// Status reports the role and replication state.
func (r *Replicator) Status() ReplicationStatus {
	r.mu.Lock()
	st := ReplicationStatus{Name: r.name, Role: r.role, Store: r.url, Primary: r.holder,
		Ready: r.m.Ready(), CatchingUp: r.role == RolePrimary && r.catching}
	if r.store != nil {
		st.Store = r.store.String()
	}
	if r.fenced != nil {
		st.Fenced = r.fenced.Error()
	}
	if r.catchErr != nil {
		st.Error = r.catchErr.Error()
	}
	if r.syncErr != nil {
		st.Error = r.syncErr.Error()
	}
	lease, q, f, last := r.lease, r.queue, r.fol, r.lastSync
	r.mu.Unlock()
	if lease != nil && st.Role == RolePrimary {
		st.Lease = &LeaseStatus{Holder: lease.Holder(), Epoch: lease.Epoch(), TTLSeconds: lease.TTL().Seconds(), Deadline: lease.Deadline().UTC()}
	}
	if q != nil {
		st.Publish = q.status()
	}
	if f != nil {
		fs := f.Status()
		st.Follow = &FollowStatus{IntervalSeconds: r.opts.FollowInterval.Seconds(), LastSync: last, Error: fs.PollError,
			Databases: fs.Databases}
		if st.Follow.Databases == nil {
			st.Follow.Databases = []replica.DatabaseStatus{}
		}
	}
	return st
}

// Role returns the server's role.
func (r *Replicator) Role() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.role
}

// lagOf returns a follower's lag for one database: the seconds and
// versions it is behind the store. ok is false on other roles, and for a
// database the follower has not seen in the store. When the store could
// not be read at the last pass, the lag is at least the time since the
// last pass that could.
func (r *Replicator) lagOf(db string) (seconds float64, versions int64, ok bool) {
	r.mu.Lock()
	f, last, pollFailed, interval := r.fol, r.lastSync, r.pollFailed, r.opts.FollowInterval
	r.mu.Unlock()
	if f == nil {
		return 0, 0, false
	}
	d, found := f.Lag(db)
	if !found {
		return 0, 0, false
	}
	seconds, versions = d.LagSeconds, d.VersionsBehind
	if pollFailed && !last.IsZero() {
		// The store did not answer: what it holds now is unknown, so the
		// follower is behind by at least the time it has not been able
		// to look (less the one interval it would have waited anyway).
		seconds = max(seconds, time.Since(last).Seconds()-interval.Seconds())
	}
	return seconds, versions, true
}

// pubQueue holds what a primary has to publish: for each database (by
// folded name) the latest event, coalesced, since only the newest
// version matters to followers. Commits of one database are published in
// order, one at a time; a deletion waits until every commit noted before
// it is published, so that a rename (the new name's commit, then the old
// name's deletion) never leaves followers with neither.
type pubQueue struct {
	mu      sync.Mutex
	seq     uint64
	items   map[string]*pubItem
	running int
	wake    chan struct{}
	idle    chan struct{} // closed and replaced when nothing is pending
}

type pubItem struct {
	name    string // the name as last committed or deleted
	deleted bool
	seq     uint64 // the last event
	done    uint64 // the last event published
	tomb    uint64 // a deletion not published before a new commit: publish its tombstone first
	pending uint64 // the first event not published
	since   time.Time
	running bool

	attempts int
	retryAt  time.Time
	err      error

	version   int64
	published time.Time
	uploaded  int
	bytes     int64
}

func newPubQueue() *pubQueue {
	return &pubQueue{items: map[string]*pubItem{}, wake: make(chan struct{}, 1), idle: make(chan struct{})}
}

func (q *pubQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// note records a commit (deleted false) or deletion of a database.
func (q *pubQueue) note(name string, deleted bool) {
	key := value.FoldText(name)
	q.mu.Lock()
	q.seq++
	it := q.items[key]
	if it == nil {
		it = &pubItem{}
		q.items[key] = it
	}
	if !deleted && it.deleted && it.done < it.seq {
		// Deleted and created again before the deletion was published:
		// the store may hold the old versions, which the new database's
		// (starting again from 1) cannot replace without the tombstone.
		it.tomb = q.seq
	}
	if it.done == it.seq {
		it.pending, it.since = q.seq, time.Now()
	}
	it.name, it.deleted, it.seq = name, deleted, q.seq
	it.attempts, it.retryAt = 0, time.Time{}
	q.mu.Unlock()
	q.signal()
}

// pendingLocked reports whether anything is left to publish.
func (q *pubQueue) pendingLocked() bool {
	if q.running > 0 {
		return true
	}
	for _, it := range q.items {
		if it.done < it.seq {
			return true
		}
	}
	return false
}

// blockedLocked reports whether the deletion it must wait for commits
// noted before it.
func (q *pubQueue) blockedLocked(d *pubItem) bool {
	for _, it := range q.items {
		// A commit that keeps failing does not hold deletions back for
		// ever.
		if it != d && !it.deleted && it.done < it.seq && it.pending < d.seq && it.attempts < 3 {
			return true
		}
	}
	return false
}

// flush waits until nothing is pending, or ctx ends.
func (q *pubQueue) flush(ctx context.Context) error {
	if q == nil {
		return nil
	}
	for {
		q.mu.Lock()
		if !q.pendingLocked() {
			q.mu.Unlock()
			return nil
		}
		idle := q.idle
		q.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			q.mu.Lock()
			var names []string
			for _, it := range q.items {
				if it.done < it.seq {
					names = append(names, it.name)
				}
			}
			q.mu.Unlock()
			slices.Sort(names)
			return fmt.Errorf("%d database(s) not published: %q: %w", len(names), names, ctx.Err())
		}
	}
}

type pubJob struct {
	key     string
	name    string
	deleted bool
	tomb    bool
	seq     uint64
	start   time.Time
}

// dispatch publishes what the queue holds until the role ends.
func (r *Replicator) dispatch(run *roleRun, pub *replica.Publisher, q *pubQueue) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if hold := r.testHold.Load(); hold != nil {
			select {
			case <-*hold:
			case <-run.ctx.Done():
				return
			}
		}
		now := time.Now()
		var next time.Time
		q.mu.Lock()
		keys := make([]string, 0, len(q.items))
		for k := range q.items {
			keys = append(keys, k)
		}
		// Oldest pending first.
		slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(q.items[a].pending, q.items[b].pending) })
		for _, k := range keys {
			it := q.items[k]
			if q.running >= replicaPublishers {
				break
			}
			if it.running || it.done >= it.seq {
				continue
			}
			if it.retryAt.After(now) {
				if next.IsZero() || it.retryAt.Before(next) {
					next = it.retryAt
				}
				continue
			}
			if it.deleted && q.blockedLocked(it) {
				continue
			}
			it.running = true
			q.running++
			job := pubJob{key: k, name: it.name, deleted: it.deleted, tomb: it.tomb > it.done, seq: it.seq, start: now}
			wg.Go(func() {
				st, err := r.publishOne(run.ctx, pub, job)
				r.finish(run, q, job, st, err)
			})
		}
		if !q.pendingLocked() {
			close(q.idle)
			q.idle = make(chan struct{})
		}
		q.mu.Unlock()
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = time.After(time.Until(next))
		}
		select {
		case <-run.ctx.Done():
			return
		case <-q.wake:
		case <-timer:
		}
	}
}

// publishOne publishes one database's latest state.
func (r *Replicator) publishOne(ctx context.Context, pub *replica.Publisher, job pubJob) (replica.Stats, error) {
	if job.tomb || job.deleted {
		if err := pub.Delete(ctx, job.name); err != nil {
			return replica.Stats{}, err
		}
		if job.deleted {
			return replica.Stats{}, nil
		}
	}
	snap, err := r.m.ReadImage(ctx, job.name)
	if errors.Is(err, ErrNotFound) {
		return replica.Stats{}, nil // deleted since: its deletion is noted after this commit
	}
	if err != nil {
		return replica.Stats{}, err
	}
	defer snap.Release()
	return pub.Publish(ctx, snap.Version.Manifest, snap.Objects)
}

// finish records the outcome of a publish.
func (r *Replicator) finish(run *roleRun, q *pubQueue, job pubJob, st replica.Stats, err error) {
	now := time.Now()
	q.mu.Lock()
	it := q.items[job.key]
	it.running = false
	q.running--
	switch {
	case err == nil:
		it.done = job.seq
		it.attempts, it.err, it.retryAt = 0, nil, time.Time{}
		it.published = now
		it.uploaded, it.bytes = st.Uploaded, st.Bytes
		it.version = 0
		if !job.deleted {
			if v, cerr := r.m.Current(job.name); cerr == nil {
				it.version = v.Manifest.Version
			}
		}
		if it.done < it.seq {
			it.pending, it.since = job.seq+1, job.start
		}
	case run.ctx.Err() != nil:
		// The role ended; the next primary publishes what is left.
	default:
		it.attempts++
		it.err = err
		it.retryAt = now.Add(publishRetryDelay(it.attempts))
	}
	q.mu.Unlock()
	q.signal()
	r.met.published(job.deleted, st, err, run.ctx.Err() != nil)
	switch {
	case err == nil && !st.Unchanged:
		r.log.Info("replication: published", "database", job.name, "deleted", job.deleted,
			"uploaded", st.Uploaded, "bytes", st.Bytes, "skipped", st.Skipped, "elapsed", now.Sub(job.start))
	case err != nil && errors.Is(err, replica.ErrFenced):
		// keepLease's watcher fences the server; the lease is lost
		// already (the publisher marks it so).
	case err != nil && run.ctx.Err() == nil:
		r.log.Warn("replication: publish failed; retrying", "database", job.name, "attempt", it.attempts, "err", err)
	}
}

// publishRetryDelay backs off between attempts: 1 s, 2 s, 4 s, ... up to
// one minute.
func publishRetryDelay(attempt int) time.Duration {
	return min(time.Second<<min(attempt-1, 6), time.Minute)
}

func (q *pubQueue) status() []PublishStatus {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]PublishStatus, 0, len(q.items))
	for _, it := range q.items {
		ps := PublishStatus{Database: it.name, Pending: it.done < it.seq, Version: it.version, Deleted: it.deleted && it.done == it.seq,
			LastPublished: it.published, UploadedObjects: it.uploaded, UploadedBytes: it.bytes, Attempts: it.attempts}
		if ps.Pending {
			ps.PendingSeconds = max(now.Sub(it.since).Seconds(), 0)
		}
		if it.err != nil {
			ps.Error = it.err.Error()
		}
		out = append(out, ps)
	}
	slices.SortFunc(out, func(a, b PublishStatus) int {
		return cmp.Or(value.CompareText(a.Database, b.Database), cmp.Compare(a.Database, b.Database))
	})
	return out
}
