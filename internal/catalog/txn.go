package catalog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

type txnState int

const (
	txnActive txnState = iota
	txnCommitting
	txnDone
)

var errTxnDone = fmt.Errorf("transaction has ended: %w", ErrClosed)

// Txn is the one writer of one database: it stores the objects of a new
// image and commits its manifest as the next version. Its methods are safe
// for concurrent use (several encoders may write objects at once); Commit
// and Abort end it, and Commit waits for the WriteObject calls in flight.
//
// Objects written by a transaction, and objects it checked with HasObject,
// are kept from GC until it ends; once it commits, the new version keeps
// those it lists.
type Txn struct {
	c      *Catalog
	key    string
	name   string
	base   *image.Manifest
	db     *database      // nil until the first commit of a new database
	writes sync.WaitGroup // WriteObject calls in flight
	syncs  sync.WaitGroup // background syncs in flight (SyncAhead)
	// syncSlots bounds the background syncs that run at once.
	syncSlots chan struct{}

	// Guarded by c.mu.
	state      txnState
	pins       map[image.Hash]bool
	pending    map[image.Hash]placement // written to temporary files
	newSubdirs map[byte]bool            // object directories it created
	syncAhead  bool                     // sync objects as they are written
}

// Begin starts a transaction on the named database, which need not exist
// yet (its first commit creates it). There is one writer per database: if
// another transaction, Delete or Rename holds it, Begin fails at once with
// ErrBusy, or waits with Options.WaitForWriter. Names are compared
// case-insensitively; an existing database keeps its spelling.
func (c *Catalog) Begin(ctx context.Context, name string) (*Txn, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	key := nameKey(name)
	if err := c.acquire(ctx, key, name); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.release(key)
		return nil, fmt.Errorf("begin: %w", ErrClosed)
	}
	t := &Txn{c: c, key: key, name: name,
		pins: map[image.Hash]bool{}, pending: map[image.Hash]placement{}, newSubdirs: map[byte]bool{}}
	if db, ok := c.dbs[key]; ok {
		t.db, t.base, t.name = db, db.current, db.current.Database
	}
	return t, nil
}

// Name returns the database's name.
func (t *Txn) Name() string { return t.name }

// Base returns the version current when the transaction began, or nil for
// a new database. It is shared and must not be modified.
func (t *Txn) Base() *image.Manifest { return t.base }

// usable reports why the transaction cannot be used, if it cannot. The
// caller holds c.mu.
func (t *Txn) usable() error {
	switch {
	case t.c.closed:
		return ErrClosed
	case t.state != txnActive:
		return errTxnDone
	}
	return nil
}

// SyncAhead makes the transaction sync every object it writes from now
// on in the background, as soon as the object is written, rather than
// all of them in Commit. The commit protocol is unchanged (Commit still
// has every object durable before the manifest names it, and syncs
// again whatever a background sync did not); what changes is when the
// disk does the work: while the writer goes on producing objects (a
// restore reading and decoding an archive) rather than after it.
func (t *Txn) SyncAhead() {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.syncAhead {
		t.syncAhead = true
		t.syncSlots = make(chan struct{}, syncParallelism)
	}
}

// syncLater syncs the temporary file of p in the background and marks
// it synced. A failure is not reported here: the object stays unsynced
// and Commit syncs it again, failing then if the disk still fails.
func (t *Txn) syncLater(p placement) {
	c := t.c
	t.syncs.Add(1)
	c.ops.Add(1)
	go func() {
		defer c.ops.Done()
		defer t.syncs.Done()
		t.syncSlots <- struct{}{}
		defer func() { <-t.syncSlots }()
		c.mu.Lock()
		q, ok := t.pending[p.hash]
		live := ok && q.tmp == p.tmp && t.state != txnDone
		c.mu.Unlock()
		if !live {
			return // aborted meanwhile: the file is being removed
		}
		if c.syncFile(p.tmp) != nil {
			return
		}
		c.mu.Lock()
		if q, ok := t.pending[p.hash]; ok && q.tmp == p.tmp {
			q.synced = true
			t.pending[p.hash] = q
		}
		c.mu.Unlock()
	}()
}

// pin keeps h from GC until the transaction ends. The caller holds c.mu.
func (t *Txn) pin(h image.Hash) {
	if !t.pins[h] {
		t.pins[h] = true
		t.c.pins[h]++
	}
}

// WriteObject stores an object and returns its reference; it implements
// image.ObjectWriter. An object the catalog holds already, or that the
// transaction wrote before, is not written again. The bytes go to a
// temporary file; Commit makes them durable, all objects at once. Until
// then only Txn.ReadObject reads them back.
func (t *Txn) WriteObject(ctx context.Context, kind string, data []byte) (image.ObjectRef, error) {
	ref := image.ObjectRef{Hash: image.Sum(data), Size: int64(len(data)), Kind: kind}
	return t.write(ctx, ref, data)
}

// WriteVerified is WriteObject for an object whose bytes the caller has
// verified already (image.VerifyObject): they are not hashed again. It
// implements image.VerifiedWriter. A restore verifies every object as it
// streams in; hashing it a second time here would cost as much again.
func (t *Txn) WriteVerified(ctx context.Context, v image.Verified) (image.ObjectRef, error) {
	ref := v.Ref()
	if v.IsZero() {
		return ref, fmt.Errorf("write object: %w: not a verified object", ErrInvalid)
	}
	return t.write(ctx, ref, v.Data())
}

// write stores data, whose hash and size ref gives.
func (t *Txn) write(ctx context.Context, ref image.ObjectRef, data []byte) (image.ObjectRef, error) {
	h := ref.Hash
	if err := ctx.Err(); err != nil {
		return ref, fmt.Errorf("write object %s: %w", h, err)
	}
	c := t.c
	c.mu.Lock()
	for c.deleting[h] {
		c.cond.Wait() // GC is removing this very object: let it finish first
	}
	if err := t.usable(); err != nil {
		c.mu.Unlock()
		return ref, fmt.Errorf("write object %s: %w", h, err)
	}
	t.pin(h)
	if size, ok := c.objects[h]; ok && size == ref.Size {
		c.mu.Unlock()
		return ref, nil
	}
	if p, ok := t.pending[h]; ok && p.size == ref.Size {
		c.mu.Unlock()
		return ref, nil
	}
	dir := c.path("objects", objectDirName(h))
	p := placement{hash: h, size: ref.Size, tmp: c.newTempLocked(dir)}
	t.pending[h] = p
	// A directory this transaction made already is not made again (one
	// MkdirAll per object adds up for a restore into an empty catalog).
	mkdir := !c.objDirs[h[0]] && !t.newSubdirs[h[0]]
	ahead := t.syncAhead
	t.writes.Add(1)
	c.ops.Add(1)
	c.mu.Unlock()
	defer c.ops.Done()
	defer t.writes.Done()

	err := c.writeTemp(dir, mkdir, p.tmp, data)
	c.mu.Lock()
	if err != nil {
		delete(t.pending, h)
		delete(c.temps, p.tmp)
	} else if mkdir && t.state != txnDone {
		t.newSubdirs[h[0]] = true
	}
	c.mu.Unlock()
	if err != nil {
		c.removeFiles([]string{p.tmp})
		return ref, fmt.Errorf("write object %s: %w", h, err)
	}
	if ahead {
		// Started before this write counts as done, so that Commit,
		// which waits for the writes and then for the syncs, sees it.
		t.syncLater(p)
	}
	return ref, nil
}

// HasObject reports whether the catalog holds the object and, if it does,
// keeps it until the transaction ends, so that the manifest may list it
// without writing it again (replicas and restores fetch only what is
// missing).
func (t *Txn) HasObject(h image.Hash) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.deleting[h] {
		c.cond.Wait()
	}
	if t.usable() != nil {
		return false
	}
	if _, ok := c.objects[h]; !ok {
		return false
	}
	t.pin(h)
	return true
}

// ReadObject reads an object the transaction wrote, or one the catalog
// holds, checking its hash; it implements image.ObjectReader. (Objects a
// transaction writes are in temporary files until it commits, so
// Catalog.ReadObject does not find them.)
func (t *Txn) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	c := t.c
	c.mu.Lock()
	p, pending := t.pending[h]
	c.mu.Unlock()
	if !pending {
		return c.ReadObject(ctx, h)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Commit waits for writes in flight, but a read may overlap the write
	// of the same object; the hash check catches a partial file.
	data, err := c.readFile(p.tmp, p.size)
	if vfs.IsNotExist(err) {
		// Committed or aborted meanwhile: the catalog has it, or nobody.
		return c.ReadObject(ctx, h)
	}
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", h, err)
	}
	if err := image.Verify(h, data); err != nil {
		return nil, fmt.Errorf("read object %s: %w: %w", h, ErrCorrupt, err)
	}
	return data, nil
}

// Commit makes m the next version of the database: it fills in m's
// Format, Database, Version (the current version plus one) and CommitTime,
// checks that every object m lists was written by the transaction or is
// held by the catalog, and runs the commit protocol. When Commit returns
// nil the version is durable and current, and *m is the manifest exactly
// as stored (objects sorted by hash). Whether it succeeds or fails, the
// transaction ends; a failed commit leaves the previous version current
// in this process, and version numbers are never reused.
func (t *Txn) Commit(ctx context.Context, m *image.Manifest) (int64, error) {
	return t.commit(ctx, m, false)
}

// CommitReplica commits m with the version and commit time it carries,
// for a replica that must hold the same versions as its primary. The
// version must be above the current one. Otherwise it is Commit.
func (t *Txn) CommitReplica(ctx context.Context, m *image.Manifest) (int64, error) {
	return t.commit(ctx, m, true)
}

func (t *Txn) commit(ctx context.Context, m *image.Manifest, replica bool) (int64, error) {
	c := t.c
	c.mu.Lock()
	if err := t.usable(); err != nil {
		c.mu.Unlock()
		return 0, fmt.Errorf("commit %q: %w", t.name, err)
	}
	t.state = txnCommitting
	c.ops.Add(1)
	c.mu.Unlock()
	defer c.ops.Done()
	t.writes.Wait()
	t.syncs.Wait()

	mm, place, newSubdirs, newDir, err := t.prepare(m, replica)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		t.end()
		return 0, fmt.Errorf("commit %q: %w", t.name, err)
	}
	dir := newDir
	if t.db != nil {
		dir = t.db.dir
	}
	err = c.placeObjects(ctx, place, newSubdirs)
	if err == nil {
		err = c.writeVersion(ctx, dir, newDir != "", mm)
		if err != nil {
			c.mu.Lock()
			if t.db != nil {
				t.db.maxSeen = max(t.db.maxSeen, mm.Version)
			}
			c.mu.Unlock()
			c.undoVersion(dir, newDir != "", mm.Version)
		}
	}
	if err != nil {
		c.mu.Lock()
		delete(c.liveDirs, newDir)
		c.mu.Unlock()
		t.end()
		return 0, fmt.Errorf("commit %q version %d: %w", t.name, mm.Version, err)
	}
	c.mu.Lock()
	if t.db == nil {
		t.db = &database{dir: newDir}
		c.dbs[t.key] = t.db
		delete(c.liveDirs, newDir)
	}
	// Counting the new version's references and dropping the pins happen
	// together, so that GC never sees the objects unprotected.
	c.retain(t.db, mm)
	leftovers := t.finish()
	c.mu.Unlock()
	c.removeFiles(leftovers)
	*m = *mm
	m.Objects = slices.Clone(mm.Objects) // the catalog's copy stays its own
	return mm.Version, nil
}

// prepare builds the manifest to commit and checks that every object it
// lists is held (then pins it) or was written by the transaction (then
// returns it to be placed). For a new database it also chooses and
// registers the directory. It holds c.mu only around the checks, not
// while encoding the manifest, so that readers are not kept waiting.
func (t *Txn) prepare(m *image.Manifest, replica bool) (mm *image.Manifest, place []placement, newSubdirs []byte, newDir string, err error) {
	c := t.c
	if m == nil {
		return nil, nil, nil, "", fmt.Errorf("%w: nil manifest", ErrInvalid)
	}
	// The version cannot change meanwhile: the transaction holds the
	// database.
	var cur, next int64 = 0, 1
	c.mu.Lock()
	if t.db != nil {
		cur = t.db.current.Version
		next = max(cur, t.db.maxSeen) + 1
	}
	c.mu.Unlock()
	cp := *m
	cp.Database = t.name
	cp.Format = image.FormatVersion
	if replica {
		if m.Version <= cur {
			return nil, nil, nil, "", fmt.Errorf("%w: replica version %d is not above the current version %d", ErrInvalid, m.Version, cur)
		}
		next = m.Version
		if cp.CommitTime.IsZero() {
			cp.CommitTime = time.Now().UTC()
		}
	} else {
		cp.CommitTime = time.Now().UTC()
	}
	cp.Version = next
	mm, err = normalize(&cp)
	if err != nil {
		return nil, nil, nil, "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []image.Hash
	for _, o := range mm.Objects {
		if size, ok := c.objects[o.Hash]; ok && size == o.Size && !c.deleting[o.Hash] {
			t.pin(o.Hash)
			continue
		}
		if p, ok := t.pending[o.Hash]; ok && p.size == o.Size {
			place = append(place, p)
			continue
		}
		missing = append(missing, o.Hash)
	}
	if len(missing) > 0 {
		return nil, nil, nil, "", fmt.Errorf("%w: the manifest lists %d objects the catalog does not hold (or holds with another size), %s first",
			ErrInvalid, len(missing), missing[0])
	}
	for b := range t.newSubdirs {
		newSubdirs = append(newSubdirs, b)
	}
	if t.db == nil {
		newDir = newDirName(t.name)
		c.liveDirs[newDir] = true
	}
	return mm, place, newSubdirs, newDir, nil
}

// normalize returns the manifest exactly as it will be read back from
// disk (objects sorted and deduplicated), checking it on the way.
func normalize(m *image.Manifest) (*image.Manifest, error) {
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return image.Unmarshal(b)
}

// finish ends the transaction: releases its objects and the database, and
// returns the temporary files left to remove (objects written but not
// committed). The caller holds c.mu.
func (t *Txn) finish() []string {
	if t.state == txnDone {
		return nil
	}
	t.state = txnDone
	for h := range t.pins {
		if n := t.c.pins[h] - 1; n > 0 {
			t.c.pins[h] = n
		} else {
			delete(t.c.pins, h)
		}
	}
	clear(t.pins)
	var leftovers []string
	for _, p := range t.pending {
		if t.c.temps[p.tmp] {
			delete(t.c.temps, p.tmp)
			leftovers = append(leftovers, p.tmp)
		}
	}
	clear(t.pending)
	t.c.release(t.key)
	return leftovers
}

// end is finish for callers not holding c.mu, removing the leftovers.
func (t *Txn) end() {
	t.c.mu.Lock()
	leftovers := t.finish()
	t.c.mu.Unlock()
	t.c.removeFiles(leftovers)
}

// Abort ends the transaction without committing and removes the objects
// it wrote. Abort after Commit does nothing, so `defer txn.Abort()` is the
// usual pattern.
func (t *Txn) Abort() {
	c := t.c
	c.mu.Lock()
	if t.state != txnActive {
		c.mu.Unlock()
		return
	}
	leftovers := t.finish()
	c.mu.Unlock()
	c.removeFiles(leftovers)
}

// writeVersion runs the commit protocol for mm in the database directory
// dir, creating the directory first when create is set:
//
//  1. (new database) create databases/<dir>/manifests, sync databases/<dir>
//     and databases/;
//  2. write manifests/<version>.json through a synced temporary file,
//     rename, sync manifests/;
//  3. write CURRENT the same way, sync the database directory.
//
// The objects are in place and durable already (placeObjects). Cancelling
// ctx stops it before step 3, never during.
func (c *Catalog) writeVersion(ctx context.Context, dir string, create bool, mm *image.Manifest) error {
	b, err := mm.Marshal()
	if err != nil {
		return err
	}
	if create {
		if err := c.fs.MkdirAll(c.dbPath(dir, "manifests"), 0o755); err != nil {
			return err
		}
		if err := c.fs.SyncDir(c.dbPath(dir)); err != nil {
			return err
		}
		if err := c.fs.SyncDir(c.path("databases")); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.writeAtomic(c.dbPath(dir, "manifests"), manifestName(mm.Version), b); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.writeAtomic(c.dbPath(dir), "CURRENT", encodePointer(mm.Version, b)); err != nil {
		return fmt.Errorf("write CURRENT: %w", err)
	}
	return nil
}

// undoVersion tries to take back a failed commit so that the disk agrees
// with memory (the previous version current): it removes the version's
// manifest, so that even a CURRENT renamed into place before the failure
// falls back to the previous version at the next start; for a new
// database, it removes the directory. Failures are only logged: GC and
// the fallback rules of Open cover what is left.
func (c *Catalog) undoVersion(dir string, created bool, v int64) {
	var err error
	if created {
		if err = c.fs.RemoveAll(c.dbPath(dir)); err == nil {
			err = c.fs.SyncDir(c.path("databases"))
		}
	} else {
		mdir := c.dbPath(dir, "manifests")
		err = c.fs.Remove(c.dbPath(dir, "manifests", manifestName(v)))
		if err == nil {
			err = c.fs.SyncDir(mdir)
		} else if vfs.IsNotExist(err) {
			err = nil
		}
	}
	if err != nil {
		c.log.Warn("catalog: cannot clean up after a failed commit; the next start or GC will", "dir", dir, "version", v, "err", err)
	}
}
