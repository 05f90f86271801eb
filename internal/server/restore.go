package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// RestoreImageOptions configure RestoreImage.
type RestoreImageOptions struct {
	// Overwrite allows replacing an existing database (TMSL restore's
	// allowOverwrite). Without it an existing database is refused with
	// ErrExists before anything is read.
	Overwrite bool
	// Security is TMSL restore's security option, as Analysis Services
	// defines it (RestoreSecurity):
	//
	//	copyAll (or "")  the roles of the image, members included
	//	skipMembership   the roles of the image; the members of each are
	//	                 those of the same role in the database being
	//	                 overwritten, none when there is no such role or
	//	                 database
	//	ignoreSecurity   the roles of the database being overwritten, as
	//	                 they are; none for a new database
	Security string
}

// RestoredImage describes a committed RestoreImage.
type RestoredImage struct {
	// Version is the new current version.
	Version *Version
	// Source is the manifest as the image carried it (its database name
	// and version are those of the backed-up database).
	Source *image.Manifest
	// Replaced is the version the restore replaced; nil for a new
	// database.
	Replaced *Version
	// Notes say what the security option changed.
	Notes []string
}

// A RestoreSink takes the image that RestoreImage's read function
// delivers: its objects, and, first, its manifest.
type RestoreSink interface {
	image.ObjectWriter
	// Begin announces the image's manifest before its objects arrive, so
	// that the data is decoded while they are read rather than after.
	// Calling it is optional; the manifest read returns is the one
	// committed either way.
	Begin(*image.Manifest)
}

// RestoreImage restores an image that arrives as a stream of objects
// (a backup archive) as the next version of the named database. It
// holds the database as its one writer, begins a catalog transaction
// and calls read with the transaction as the sink: read writes every
// object of the image into it and returns the image's manifest, and
// must return nil only once everything it read has been verified
// (backup.Read does). Only then is the image checked as CommitImage
// checks one (the model parsed, the data decoded in full, every object
// listed present with its listed size), the model renamed and its
// security applied, and the result committed and swapped in. If read
// or any check fails, the transaction is aborted: nothing is committed,
// the objects written are removed, and queries on the current version
// never notice. When read announces the manifest (RestoreSink.Begin),
// the data is decoded from the objects as they arrive; what is decoded
// counts only once read has verified everything.
func (m *Manager) RestoreImage(ctx context.Context, name string, read func(ctx context.Context, sink RestoreSink) (*image.Manifest, error), opts RestoreImageOptions) (*RestoredImage, error) {
	switch opts.Security {
	case "", model.SecurityCopyAll, model.SecuritySkipMembership, model.SecurityIgnoreSecurity:
	default:
		return nil, fmt.Errorf("%w: security %q: want copyAll, skipMembership or ignoreSecurity", ErrBadRequest, opts.Security)
	}
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("%w: restore: the database has no name", ErrBadRequest)
	}
	wctx, release, err := m.acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	defer release()
	cur, err := m.Current(name)
	switch {
	case err == nil && !opts.Overwrite:
		return nil, fmt.Errorf("%w: %q (allow overwriting to replace it)", ErrExists, cur.Name)
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, err
	}
	ct, err := m.cat.Begin(wctx, name)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			ct.Abort()
		}
	}()
	if b := ct.Base(); (b == nil) != (cur == nil) || (b != nil && b.Version != cur.Manifest.Version) {
		// Only the manager writes the catalog, under its writer lock.
		return nil, fmt.Errorf("restore %q: the catalog's current version is not the one in memory", name)
	}
	t0 := time.Now()
	defer extraProc()()
	// Objects are synced as they arrive, so that the disk works while
	// the archive is read and the image decoded, not after.
	ct.SyncAhead()
	cache := newRestoreCache(wctx, ct, restoreCacheBytes)
	// The early decode, when read announces the manifest. It must end
	// before the deferred Abort removes the objects it reads.
	dctx, stopDecode := context.WithCancel(wctx)
	var (
		early     *image.Manifest
		decoded   = make(chan struct{})
		earlyData *colstore.Database
		earlyErr  error
	)
	defer func() {
		stopDecode()
		if early != nil {
			<-decoded
		}
	}()
	cache.begin = func(src *image.Manifest) {
		if early != nil || src.Check() != nil || src.Data.IsZero() {
			return
		}
		early = src
		go func() {
			defer close(decoded)
			earlyData, earlyErr = colstore.Decode(dctx, src.Data, cache, colstore.DecodeOptions{Readers: len(src.Objects)})
		}()
	}
	src, err := read(wctx, cache)
	cache.finish()
	if err != nil {
		if c := cancelCause(wctx); c != nil {
			return nil, c
		}
		return nil, err
	}
	if src == nil {
		return nil, fmt.Errorf("%w: no manifest", ErrCorrupt)
	}
	if err := src.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	// The reader verified every object against its hash and wrote it;
	// Commit checks that each object listed is held with its size.
	tmsl, err := ct.ReadObject(wctx, src.Model)
	if err != nil {
		return nil, verifyError(wctx, "model", err)
	}
	def, err := model.Parse(tmsl)
	if err != nil {
		return nil, fmt.Errorf("%w: model object: %w", ErrCorrupt, err)
	}
	notes, err := restoreSecurity(def, cur, opts.Security)
	if err != nil {
		return nil, err
	}
	def.Name = ct.Name() // the name restored to, in the spelling the catalog keeps
	// The model object is rewritten (name, roles); what is committed
	// must be exactly what a restart parses.
	newTMSL, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("restore %q: encode model: %w", name, err)
	}
	if def, err = model.Parse(newTMSL); err != nil {
		return nil, fmt.Errorf("restore %q: encode model: %w", name, err)
	}
	modelRef, err := ct.WriteObject(wctx, image.KindModel, newTMSL)
	if err != nil {
		return nil, fmt.Errorf("restore %q: write model: %w", name, err)
	}
	tRead := time.Since(t0)
	var data *colstore.Database
	if early != nil && early != src {
		// read returned another manifest than it announced: what was
		// decoded from the first does not count.
		stopDecode()
		<-decoded
		early = nil
	}
	switch {
	case early != nil:
		<-decoded
		data, err = earlyData, earlyErr
	case !src.Data.IsZero():
		cache.list(src)
		data, err = colstore.Decode(wctx, src.Data, cache, colstore.DecodeOptions{})
	}
	if err != nil {
		return nil, verifyError(wctx, "data", err)
	}
	// What is left of decoding once the archive is read.
	tDecode := time.Since(t0) - tRead
	cache.drop()
	comp := compile(def, data, false)
	nm := &image.Manifest{State: src.State, LastProcessed: src.LastProcessed, Model: modelRef.Hash, Data: src.Data,
		Objects: []image.ObjectRef{modelRef}}
	for _, o := range src.Objects {
		if o.Hash != src.Model {
			nm.Objects = append(nm.Objects, o)
		}
	}
	if nm.State == "" {
		nm.State = image.StateNoData
	}
	if err := wctx.Err(); err != nil {
		return nil, cancelCause(wctx)
	}
	tCompile := time.Since(t0) - tRead - tDecode
	_, err = ct.Commit(wctx, nm)
	committed = true // Commit ends the transaction either way
	if err != nil {
		if c := cancelCause(wctx); c != nil {
			return nil, c
		}
		return nil, fmt.Errorf("commit restore of %q: %w", name, err)
	}
	v := &Version{Name: nm.Database, Manifest: nm, TMSL: newTMSL, Def: def, Model: comp.eng, Err: comp.engErr,
		Warnings: comp.warnings, engDef: comp.engDef}
	m.swap(v.Name, v)
	m.log.Info("restored", "database", v.Name, "version", nm.Version, "from_database", src.Database,
		"from_version", src.Version, "objects", len(nm.Objects), "bytes", nm.Size(),
		"read", tRead, "decode", tDecode, "compile", tCompile, "commit", time.Since(t0)-tRead-tDecode-tCompile)
	return &RestoredImage{Version: v, Source: src, Replaced: cur, Notes: notes}, nil
}

// extraProcs counts the operations that hold one more P than the
// process had (see extraProc).
var extraProcs struct {
	sync.Mutex
	n    int
	base int
}

// extraProc raises GOMAXPROCS by one until the returned function is
// called, for a restore: its goroutines spend much of their time in
// system calls that create, write and sync files, and while a goroutine
// is in one, its P is not free for the hashing and decoding at once. On
// the 2-core development machine one more P took a 0.9 GB restore from
// 69–79% of the raw copy's throughput to 82–85% (from 53–62% to 70–82%
// before large objects were written past the page cache, which makes
// those calls wait on the disk). Nested and concurrent restores share
// the one extra P.
func extraProc() (release func()) {
	extraProcs.Lock()
	defer extraProcs.Unlock()
	if extraProcs.n == 0 {
		extraProcs.base = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(extraProcs.base + 1)
	}
	extraProcs.n++
	return func() {
		extraProcs.Lock()
		defer extraProcs.Unlock()
		if extraProcs.n--; extraProcs.n == 0 {
			runtime.GOMAXPROCS(extraProcs.base)
		}
	}
}

// restoreSecurity applies restore's security option to the model being
// restored, given the version it replaces (nil for a new database).
func restoreSecurity(def *model.Database, cur *Version, security string) ([]string, error) {
	var target []*model.Role
	if cur != nil && cur.Def != nil {
		target = cur.Def.Model.Roles
	}
	findTarget := func(name string) *model.Role {
		for _, r := range target {
			if r != nil && value.EqualText(r.Name, name) {
				return r
			}
		}
		return nil
	}
	switch security {
	case model.SecuritySkipMembership:
		kept, dropped := 0, 0
		for _, r := range def.Model.Roles {
			if r == nil {
				continue
			}
			dropped += len(r.Members)
			r.Members = nil
			if t := findTarget(r.Name); t != nil && len(t.Members) > 0 {
				ms, err := cloneMembers(t.Members)
				if err != nil {
					return nil, err
				}
				r.Members = ms
				kept += len(ms)
			}
		}
		note := fmt.Sprintf("security skipMembership: %s from the backup left out", countNoun(dropped, "role member"))
		if cur != nil {
			note += fmt.Sprintf(", %s of the replaced database kept", countNoun(kept, "role member"))
		}
		return []string{note}, nil
	case model.SecurityIgnoreSecurity:
		n := len(def.Model.Roles)
		def.Model.Roles = nil
		if len(target) > 0 {
			// The replaced database's roles, copied so that the two
			// versions share nothing mutable.
			b, err := json.Marshal(target)
			if err != nil {
				return nil, fmt.Errorf("copy roles: %w", err)
			}
			if err := json.Unmarshal(b, &def.Model.Roles); err != nil {
				return nil, fmt.Errorf("copy roles: %w", err)
			}
			// Roles written for another model may name tables this one
			// lacks; say so rather than commit a model that does not
			// validate.
			var bad []string
			for _, p := range def.Validate() {
				if strings.HasPrefix(p.Path, "model.roles") {
					bad = append(bad, p.Path+": "+p.Message)
				}
			}
			if len(bad) > 0 {
				return nil, fmt.Errorf("%w: security ignoreSecurity keeps the roles of the database being replaced, but they do not fit the restored model: %s",
					ErrBadRequest, strings.Join(bad, "; "))
			}
		}
		note := fmt.Sprintf("security ignoreSecurity: %s from the backup left out", countNoun(n, "role"))
		if cur != nil {
			note += fmt.Sprintf(", %s of the replaced database kept", countNoun(len(target), "role"))
		}
		return []string{note}, nil
	}
	return nil, nil
}

func cloneMembers(ms []*model.RoleMember) ([]*model.RoleMember, error) {
	b, err := json.Marshal(ms)
	if err != nil {
		return nil, fmt.Errorf("copy role members: %w", err)
	}
	var out []*model.RoleMember
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy role members: %w", err)
	}
	return out, nil
}

// countNoun writes a count and a noun, with an s when the count is not one.
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// restoreCacheBytes bounds the object bytes a restore keeps in memory
// between reading and decoding them.
const restoreCacheBytes = 1 << 30

// restoreCache is the sink of a restore and the reader its image is
// decoded from. It writes every object into the transaction and keeps
// a copy in memory, up to a limit, until the decoder takes it: the
// decoder then neither reads back nor hashes again bytes that were just
// verified, and each copy is freed as it is decoded, so memory peaks at
// about the size of the image (which the database takes in memory
// anyway). Objects beyond the limit are read back from the transaction.
// The decoder may run while objects arrive: a read of an object not yet
// written waits for it, or for finish.
type restoreCache struct {
	w     image.ObjectWriter
	vw    image.VerifiedWriter // the same store, for objects verified already
	vctx  context.Context      // the context of vw's writes
	r     image.ObjectReader
	limit int64
	begin func(*image.Manifest)

	mu      sync.Mutex
	listed  map[image.Hash]bool // the manifest's objects, once known
	objs    map[image.Hash][]byte
	bytes   int64
	written map[image.Hash]bool          // stored in the transaction
	waits   map[image.Hash]chan struct{} // closed when the object is written
	done    bool                         // no more objects will come
}

func newRestoreCache(ctx context.Context, ct interface {
	image.ObjectWriter
	image.VerifiedWriter
	image.ObjectReader
}, limit int64) *restoreCache {
	return &restoreCache{w: ctxWriter{ctx: ctx, w: ct}, vw: ct, vctx: ctx, r: ct, limit: limit,
		objs: map[image.Hash][]byte{}, written: map[image.Hash]bool{}, waits: map[image.Hash]chan struct{}{}}
}

// Begin starts the early decode (see RestoreSink).
func (c *restoreCache) Begin(m *image.Manifest) {
	if m == nil {
		return
	}
	c.list(m)
	if c.begin != nil {
		c.begin(m)
	}
}

// list sets the objects the decoder may read: those the manifest lists.
// An image whose data uses an object its manifest leaves out is refused,
// even when the catalog holds that object for another version: the
// restored version would lose it to the first collection.
func (c *restoreCache) list(m *image.Manifest) {
	listed := make(map[image.Hash]bool, len(m.Objects))
	for _, o := range m.Objects {
		listed[o.Hash] = true
	}
	c.mu.Lock()
	c.listed = listed
	c.mu.Unlock()
}

func (c *restoreCache) WriteObject(ctx context.Context, kind string, data []byte) (image.ObjectRef, error) {
	ref, err := c.w.WriteObject(ctx, kind, data)
	if err != nil {
		return ref, err
	}
	c.keep(ref, data, false)
	return ref, nil
}

// WriteVerified stores an object the reader verified (backup.Read
// does), which is then hashed only once.
func (c *restoreCache) WriteVerified(_ context.Context, v image.Verified) (image.ObjectRef, error) {
	ref, err := c.vw.WriteVerified(c.vctx, v)
	if err != nil {
		return ref, err
	}
	c.keep(ref, v.Data(), false)
	return ref, nil
}

// WriteOwned is WriteVerified for bytes handed over, which the cache
// keeps without a copy.
func (c *restoreCache) WriteOwned(_ context.Context, v image.Verified) (image.ObjectRef, error) {
	ref, err := c.vw.WriteVerified(c.vctx, v)
	if err != nil {
		return ref, err
	}
	c.keep(ref, v.Data(), true)
	return ref, nil
}

// keep keeps an object written, within the limit: the bytes themselves
// when they are owned (handed over), otherwise a copy. It wakes a reader
// waiting for the object.
func (c *restoreCache) keep(ref image.ObjectRef, data []byte, owned bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.written[ref.Hash] && c.bytes+ref.Size <= c.limit {
		if !owned {
			// A writer must not keep the caller's slice.
			data = bytes.Clone(data)
		}
		c.objs[ref.Hash] = data
		c.bytes += ref.Size
	}
	c.written[ref.Hash] = true
	if ch, ok := c.waits[ref.Hash]; ok {
		close(ch)
		delete(c.waits, ref.Hash)
	}
}

// finish says that no more objects will come: readers still waiting go
// to the transaction, which holds what was written.
func (c *restoreCache) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	for h, ch := range c.waits {
		close(ch)
		delete(c.waits, h)
	}
}

// ReadObject hands over the copy it holds (an object read twice comes
// from the transaction the second time), waiting for an object not yet
// written.
func (c *restoreCache) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	for {
		c.mu.Lock()
		if c.listed != nil && !c.listed[h] {
			c.mu.Unlock()
			return nil, fmt.Errorf("object %s is used by the data but not listed in the manifest", h)
		}
		if data, ok := c.objs[h]; ok {
			delete(c.objs, h)
			c.bytes -= int64(len(data))
			c.mu.Unlock()
			return data, nil
		}
		if c.written[h] || c.done {
			c.mu.Unlock()
			return c.r.ReadObject(ctx, h)
		}
		ch, ok := c.waits[h]
		if !ok {
			ch = make(chan struct{})
			c.waits[h] = ch
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// drop frees what the decoder did not take.
func (c *restoreCache) drop() {
	c.mu.Lock()
	c.objs, c.bytes = nil, 0
	c.mu.Unlock()
}
