package replica

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
)

// PublisherOptions configure a Publisher. The zero value means the
// defaults.
type PublisherOptions struct {
	// Parallelism is how many objects are uploaded at once (default 4).
	Parallelism int
}

// Publisher writes a primary's committed images to the store. It needs a
// held lease: every pointer it writes carries the lease's epoch, and it
// refuses to write once the lease is lost. It is safe for concurrent use,
// but Publish, Delete and Rename calls for one database must come in the
// order the primary committed them.
type Publisher struct {
	s     *Store
	lease *Lease
	par   int

	mu     sync.Mutex
	listed bool
	known  map[image.Hash]int64 // objects the store holds, with their sizes

	// beforePointer, when set (by tests), runs between the lease check
	// and the pointer write: the window a fenced primary may be caught in.
	beforePointer func()
}

// NewPublisher returns a publisher writing under lease.
func NewPublisher(s *Store, lease *Lease, opts PublisherOptions) (*Publisher, error) {
	if s == nil || lease == nil {
		return nil, fmt.Errorf("%w: a publisher needs a store and a held lease", ErrInvalid)
	}
	if lease.s != s && lease.s.String() != s.String() {
		return nil, fmt.Errorf("%w: the lease is of store %s, not %s", ErrInvalid, lease.s, s)
	}
	par := opts.Parallelism
	if par <= 0 {
		par = 4
	}
	return &Publisher{s: s, lease: lease, par: par, known: map[image.Hash]int64{}}, nil
}

// Stats count the work of one Publish.
type Stats struct {
	// Uploaded objects and their bytes; Skipped objects the store held.
	Uploaded int
	Skipped  int
	Bytes    int64
	// Unchanged is true when the store already had this version with this
	// content, so nothing was written.
	Unchanged bool
}

// Publish makes the image m (with its objects read from objects) the
// store's latest version of its database: objects the store lacks are
// uploaded (in parallel, each checked against its hash before and its
// size after), then the manifest, then, last and on condition, the
// database's LATEST pointer.
//
// Publishing the version the store has, with the same content, does
// nothing. Errors: ErrStale (the store has a newer version, or this
// version with other content), ErrFenced (the lease is lost, or a
// pointer carries a newer epoch), ErrInvalid (m does not check), and the
// errors of objects and of the store. After an error the store's pointer
// is unchanged.
func (p *Publisher) Publish(ctx context.Context, m *image.Manifest, objects image.ObjectReader) (Stats, error) {
	key, fail, err := p.begin("publish", m)
	if err != nil {
		return Stats{}, err
	}
	body, err := m.Marshal()
	if err != nil {
		return fail(err)
	}
	mhash := image.Hash(sha256.Sum256(body))
	content := m.ContentHash()

	cur, etag, err := p.s.readPointer(ctx, key)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return fail(err)
	}
	if err != nil {
		p.s.log.Warn("replica: replacing a damaged pointer", "database", m.Database, "err", err)
	}
	if done, err := p.decide(cur, m, content); done || err != nil {
		if err != nil {
			return fail(err)
		}
		return Stats{Skipped: len(m.Objects), Unchanged: true}, nil
	}

	st, err := p.upload(ctx, m, objects)
	if err != nil {
		return fail(err)
	}
	if err := p.putManifest(ctx, key, m.Version, mhash, body); err != nil {
		return fail(err)
	}
	next := &Pointer{Database: m.Database, Version: m.Version, Manifest: mhash, Content: content,
		CommitTime: m.CommitTime, Publisher: p.lease.Holder(), Epoch: p.lease.Epoch()}
	for range casAttempts {
		if err := p.lease.Check(ctx); err != nil {
			return fail(err)
		}
		if p.beforePointer != nil {
			p.beforePointer()
		}
		next.Published = p.s.clock.Now()
		err := p.s.writePointer(ctx, key, next, etag)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, blob.ErrPrecondition) {
			return fail(err)
		}
		// Someone wrote the pointer since we read it: look again.
		cur, etag, err = p.s.readPointer(ctx, key)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return fail(err)
		}
		if done, err := p.decide(cur, m, content); done || err != nil {
			if err != nil {
				return fail(err)
			}
			st.Unchanged = true
			return st, nil
		}
	}
	return fail(fmt.Errorf("%w: the pointer kept changing", blob.ErrPrecondition))
}

// decide compares the store's pointer with the image to publish: done
// when the store has it already, an error when publishing it would move
// the pointer back or past a newer epoch.
func (p *Publisher) decide(cur *Pointer, m *image.Manifest, content image.Hash) (done bool, err error) {
	if cur == nil {
		return false, nil
	}
	if cur.Epoch > p.lease.Epoch() {
		return false, p.lease.lose(fmt.Errorf("%w: the store's pointer of %q was written by %q with epoch %d, above this lease's %d",
			ErrFenced, cur.Database, cur.Publisher, cur.Epoch, p.lease.Epoch()))
	}
	switch {
	case cur.Deleted:
		// A database created again after a delete: its versions start
		// over, so any version replaces the tombstone.
		return false, nil
	case m.Version < cur.Version:
		return false, fmt.Errorf("%w: the store has version %d", ErrStale, cur.Version)
	case m.Version == cur.Version && content == cur.Content:
		return true, nil
	case m.Version == cur.Version:
		return false, fmt.Errorf("%w: the store has version %d with other content (published by %q)", ErrStale, cur.Version, cur.Publisher)
	}
	return false, nil
}

// loadKnown lists the store's objects once; afterwards the set is kept
// up to date with what this publisher uploads. Objects are never deleted
// from a replication store while publishers run, so the set can only be
// missing objects (which are then uploaded again, harmlessly), never hold
// ones that are gone.
func (p *Publisher) loadKnown(ctx context.Context, force bool) error {
	p.mu.Lock()
	if p.listed && !force {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	known := map[image.Hash]int64{}
	for e, err := range p.s.b.List(ctx, p.s.name(objectsDir)) {
		if err != nil {
			return fmt.Errorf("list objects in %s: %w", p.s, err)
		}
		if h, ok := parseObjectName(strings.TrimPrefix(e.Name, p.s.prefix)); ok {
			known[h] = e.Size
		}
	}
	p.mu.Lock()
	p.known, p.listed = known, true
	p.mu.Unlock()
	return nil
}

func (p *Publisher) has(ref image.ObjectRef) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	size, ok := p.known[ref.Hash]
	return ok && size == ref.Size
}

// upload stores the objects of m that the store lacks. An object listed
// with another size than the manifest's is damaged and written again.
func (p *Publisher) upload(ctx context.Context, m *image.Manifest, objects image.ObjectReader) (Stats, error) {
	if err := p.loadKnown(ctx, false); err != nil {
		return Stats{}, err
	}
	var st Stats
	var todo []image.ObjectRef
	seen := map[image.Hash]bool{}
	for _, o := range m.Objects {
		if seen[o.Hash] {
			continue
		}
		seen[o.Hash] = true
		if p.has(o) {
			st.Skipped++
		} else {
			todo = append(todo, o)
		}
	}
	if len(todo) > 0 && objects == nil {
		return Stats{}, fmt.Errorf("%w: %d objects to upload and no object reader", ErrInvalid, len(todo))
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.par)
	for _, o := range todo {
		g.Go(func() error {
			n, err := p.uploadOne(gctx, o, objects)
			if err != nil {
				return err
			}
			mu.Lock()
			st.Uploaded++
			st.Bytes += n
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Stats{}, err
	}
	return st, nil
}

func (p *Publisher) uploadOne(ctx context.Context, o image.ObjectRef, objects image.ObjectReader) (int64, error) {
	data, err := objects.ReadObject(ctx, o.Hash)
	if err != nil {
		return 0, fmt.Errorf("read object %s: %w", o.Hash, err)
	}
	// Never ship damage: the local copy is checked before it goes out.
	if err := image.Verify(o.Hash, data); err != nil {
		return 0, fmt.Errorf("read object %s: %w", o.Hash, err)
	}
	if int64(len(data)) != o.Size {
		return 0, fmt.Errorf("read object %s: %w: %d bytes, the manifest says %d", o.Hash, ErrInvalid, len(data), o.Size)
	}
	name := p.s.name(objectName(o.Hash))
	// Objects are named by their content, so an unconditional write is
	// safe: whoever else writes the name writes the same bytes.
	if err := p.s.b.WriteAll(ctx, name, data, blob.PutOptions{}); err != nil {
		return 0, fmt.Errorf("upload object %s: %w", o.Hash, err)
	}
	attrs, err := p.s.b.Stat(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("upload object %s: %w", o.Hash, err)
	}
	if attrs.Size != o.Size {
		return 0, fmt.Errorf("upload object %s: %w: the store has %d bytes after the upload, want %d", o.Hash, ErrDamaged, attrs.Size, o.Size)
	}
	p.mu.Lock()
	p.known[o.Hash] = o.Size
	p.mu.Unlock()
	return o.Size, nil
}

// putManifest writes the manifest unless the store has it already. Its
// name includes its hash, so an existing object of that name with other
// bytes is damage, and is replaced.
func (p *Publisher) putManifest(ctx context.Context, key string, version int64, h image.Hash, body []byte) error {
	name := manifestName(key, version, h)
	err := p.s.b.WriteAll(ctx, p.s.name(name), body, blob.PutOptions{IfNotExists: true, ContentType: "application/json"})
	if errors.Is(err, blob.ErrExists) {
		have, _, rerr := p.s.readSmall(ctx, name, maxManifestSize)
		if rerr == nil && image.Hash(sha256.Sum256(have)) == h {
			return nil
		}
		err = p.s.b.WriteAll(ctx, p.s.name(name), body, blob.PutOptions{ContentType: "application/json"})
	}
	if err != nil {
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	return nil
}

// Delete publishes the deletion of a database: its pointer becomes a
// tombstone, and followers delete their copy. Deleting a database the
// store never had, or has deleted, does nothing. Errors: ErrFenced.
func (p *Publisher) Delete(ctx context.Context, db string) error {
	key, err := Key(db)
	if err != nil {
		return fmt.Errorf("publish delete: %w", err)
	}
	fail := func(err error) error { return fmt.Errorf("publish delete of %q: %w", db, err) }
	for range casAttempts {
		if err := p.lease.Valid(); err != nil {
			return fail(err)
		}
		cur, etag, err := p.s.readPointer(ctx, key)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return fail(err)
		}
		if etag == "" || cur != nil && cur.Deleted {
			return nil
		}
		tomb := &Pointer{Database: db, Deleted: true, Publisher: p.lease.Holder(), Epoch: p.lease.Epoch()}
		if cur != nil {
			if cur.Epoch > p.lease.Epoch() {
				return fail(p.lease.lose(fmt.Errorf("%w: the store's pointer of %q was written by %q with epoch %d, above this lease's %d",
					ErrFenced, cur.Database, cur.Publisher, cur.Epoch, p.lease.Epoch())))
			}
			tomb.Database, tomb.Version = cur.Database, cur.Version
		}
		if err := p.lease.Check(ctx); err != nil {
			return fail(err)
		}
		now := p.s.clock.Now()
		tomb.CommitTime, tomb.Published = now, now
		err = p.s.writePointer(ctx, key, tomb, etag)
		if err == nil {
			return nil
		}
		if !errors.Is(err, blob.ErrPrecondition) {
			return fail(err)
		}
	}
	return fail(fmt.Errorf("%w: the pointer kept changing", blob.ErrPrecondition))
}

// Rename publishes a rename: the image m under its new name, then a
// tombstone for the old name, so that followers are never left with
// neither. A rename that changes only the case of the name is a plain
// publish (both names have one key).
func (p *Publisher) Rename(ctx context.Context, oldName string, m *image.Manifest, objects image.ObjectReader) (Stats, error) {
	oldKey, err := Key(oldName)
	if err != nil {
		return Stats{}, fmt.Errorf("publish rename: %w", err)
	}
	st, err := p.Publish(ctx, m, objects)
	if err != nil {
		return st, err
	}
	if newKey, _ := Key(m.Database); newKey == oldKey {
		return st, nil
	}
	if err := p.Delete(ctx, oldName); err != nil {
		return st, fmt.Errorf("publish rename of %q to %q: %w", oldName, m.Database, err)
	}
	return st, nil
}

// Fence claims every pointer in the store for this publisher's epoch. A
// newly promoted primary calls it once after acquiring the lease and
// before it takes writes: from then on a fenced primary cannot advance
// any database (its conditional write finds a pointer it did not see,
// and then a newer epoch). It also lists the store's objects afresh.
// The new primary should then catch up (Follower.Sync) with what the old
// one published, before it commits anything of its own.
func (p *Publisher) Fence(ctx context.Context) error {
	if err := p.loadKnown(ctx, true); err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	ptrs, err := p.s.Pointers(ctx)
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	var errs []error
	for _, r := range ptrs {
		if err := p.claim(ctx, r); err != nil {
			if errors.Is(err, ErrFenced) {
				return fmt.Errorf("fence: %w", err)
			}
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	return nil
}

func (p *Publisher) claim(ctx context.Context, r PointerResult) error {
	cur, etag := r.Pointer, r.ETag
	if r.Err != nil {
		// A damaged pointer has nothing to claim; the next publish of
		// that database replaces it.
		return nil
	}
	for range casAttempts {
		if cur == nil || cur.Epoch == p.lease.Epoch() {
			return nil
		}
		if cur.Epoch > p.lease.Epoch() {
			return p.lease.lose(fmt.Errorf("%w: the store's pointer of %q was written by %q with epoch %d, above this lease's %d",
				ErrFenced, cur.Database, cur.Publisher, cur.Epoch, p.lease.Epoch()))
		}
		if err := p.lease.Check(ctx); err != nil {
			return err
		}
		next := *cur
		next.Epoch, next.Publisher, next.Published = p.lease.Epoch(), p.lease.Holder(), p.s.clock.Now()
		err := p.s.writePointer(ctx, r.Key, &next, etag)
		if err == nil {
			return nil
		}
		if !errors.Is(err, blob.ErrPrecondition) {
			return fmt.Errorf("claim %q: %w", cur.Database, err)
		}
		var rerr error
		cur, etag, rerr = p.s.readPointer(ctx, r.Key)
		if rerr != nil {
			return fmt.Errorf("claim %s: %w", r.Key, rerr)
		}
	}
	return fmt.Errorf("claim %s: %w: the pointer kept changing", r.Key, blob.ErrPrecondition)
}

// begin checks what Publish and Repair (op) are given and that the lease
// is held; it returns the database's store key and a function that
// wraps an error with the operation, database and version.
func (p *Publisher) begin(op string, m *image.Manifest) (string, func(error) (Stats, error), error) {
	if m == nil {
		return "", nil, fmt.Errorf("%s: %w: no manifest", op, ErrInvalid)
	}
	if err := m.Check(); err != nil {
		return "", nil, fmt.Errorf("%s %q: %w: %w", op, m.Database, ErrInvalid, err)
	}
	key, err := Key(m.Database)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", op, err)
	}
	fail := func(err error) (Stats, error) {
		return Stats{}, fmt.Errorf("%s %q version %d: %w", op, m.Database, m.Version, err)
	}
	if err := p.lease.Valid(); err != nil {
		_, err = fail(err)
		return "", nil, err
	}
	return key, fail, nil
}

// Repair makes sure the store holds the image m intact: it reads every
// object of m back from the store (checking its size and hash), uploads
// again the ones missing or damaged, rewrites a damaged manifest, and
// then publishes m as Publish does (replacing a damaged pointer). It is
// the answer to a follower reporting ErrDamaged; it downloads the whole
// image, so it is not for every commit.
func (p *Publisher) Repair(ctx context.Context, m *image.Manifest, objects image.ObjectReader) (Stats, error) {
	key, fail, err := p.begin("repair", m)
	if err != nil {
		return Stats{}, err
	}
	var mu sync.Mutex
	var st Stats
	seen := map[image.Hash]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.par)
	for _, o := range m.Objects {
		if seen[o.Hash] {
			continue
		}
		seen[o.Hash] = true
		g.Go(func() error {
			_, err := p.s.fetchObject(gctx, o, o.Size)
			if err == nil {
				mu.Lock()
				st.Skipped++
				mu.Unlock()
				return nil
			}
			if !errors.Is(err, ErrDamaged) {
				return err
			}
			n, err := p.uploadOne(gctx, o, objects)
			if err != nil {
				return err
			}
			mu.Lock()
			st.Uploaded++
			st.Bytes += n
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	body, err := m.Marshal()
	if err != nil {
		return fail(err)
	}
	if err := p.putManifest(ctx, key, m.Version, image.Hash(sha256.Sum256(body)), body); err != nil {
		return fail(err)
	}
	pst, err := p.Publish(ctx, m, objects)
	if err != nil {
		return st, err
	}
	st.Uploaded += pst.Uploaded
	st.Bytes += pst.Bytes
	st.Unchanged = pst.Unchanged && st.Uploaded == 0
	return st, nil
}
