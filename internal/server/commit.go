package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meridian-olap/meridian/internal/catalog"
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// dataSource says where the data of a staged database comes from.
type dataSource uint8

const (
	dataNone dataSource = iota // unprocessed: no data objects
	dataBase                   // the base version's data objects, unchanged
	dataNew                    // new data, encoded at commit
)

// change is what a write does to one database, staged in memory until
// the commit: the full content of the next version.
type change struct {
	name    string   // the name the database has (or will have)
	base    *Version // current when the write began; nil for a new database
	exists  bool     // the database exists as staged
	deleted bool     // staged: delete it (and it existed before)
	dirty   bool     // the content changed: commit a new version
	rename  string   // staged: rename to this name after the commit

	def           *model.Database
	tmsl          []byte
	comp          compiled
	data          *colstore.Database
	src           dataSource
	state         string
	lastProcessed time.Time
}

// txn stages the changes of one write (a command or a sequence of them)
// to one or more databases, then commits them together.
type txn struct {
	m        *Manager
	changes  []*change
	messages []string
}

func (m *Manager) newTxn() *txn { return &txn{m: m} }

// get returns the staged state of the named database, starting from its
// current version.
func (t *txn) get(name string) *change {
	for _, c := range t.changes {
		if value.EqualText(c.name, name) || (c.rename != "" && value.EqualText(c.rename, name)) {
			return c
		}
	}
	c := &change{name: name}
	if v, err := t.m.Current(name); err == nil {
		c.base = v
		c.name = v.Name
		c.exists = true
		c.def, c.tmsl, c.state = v.Def, v.TMSL, v.Manifest.State
		c.comp = compiled{engDef: v.engDef, eng: v.Model, engErr: v.Err, warnings: v.Warnings}
		c.lastProcessed = v.Manifest.LastProcessed
		if d := v.Data(); d != nil {
			c.data, c.src = d, dataBase
		}
	}
	t.changes = append(t.changes, c)
	return c
}

// usable reports why a staged database cannot be written by an operation
// that needs it to exist.
func (c *change) usable() error {
	if !c.exists {
		return fmt.Errorf("%w: %q", ErrNotFound, c.name)
	}
	if c.def == nil {
		return c.comp.engErr
	}
	return nil
}

// setModel stages a new definition. The data is kept when the new model
// has the same data shape as the staged one (only measures, formats,
// roles and the like changed); otherwise the database becomes
// unprocessed.
func (c *change) setModel(def *model.Database) error {
	tmsl, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	// Parse the stored bytes again, so that what is served is exactly
	// what a restart will load.
	def, err = model.Parse(tmsl)
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	keep := c.exists && c.data != nil && c.def != nil && dataShape(c.def) == dataShape(def)
	var comp compiled
	if keep {
		comp = compile(def, c.data, true)
	} else {
		comp = compile(def, nil, true)
	}
	if err := comp.err(); err != nil {
		return err
	}
	c.def, c.tmsl, c.comp = def, tmsl, comp
	if !keep {
		c.data, c.src, c.state, c.lastProcessed = nil, dataNone, image.StateNoData, time.Time{}
	}
	c.exists, c.deleted, c.dirty = true, false, true
	return nil
}

// setData stages newly processed data with its engine model.
func (c *change) setData(data *colstore.Database, eng *engine.Model, at time.Time) {
	c.data, c.src = data, dataNew
	c.comp.eng, c.comp.engErr = eng, nil
	c.state, c.lastProcessed = image.StateReady, at
	c.dirty = true
}

// prepared is a change whose objects are written into an open catalog
// transaction, ready to commit.
type prepared struct {
	c   *change
	ct  *catalog.Txn
	man *image.Manifest
}

// commit writes and commits every staged change. All objects of all
// databases are written first and nothing is committed if any write
// fails; then the manifests are committed one database after the other
// (each commit is a few small synced writes), deletes and renames last.
// Only an I/O failure in that last step can leave a sequence that spans
// several databases partly committed; each database is always either at
// its old or its new version.
func (t *txn) commit(ctx context.Context) error {
	var preps []*prepared
	abort := func() {
		for _, p := range preps {
			p.ct.Abort()
		}
	}
	for _, c := range t.changes {
		if c.deleted || !c.dirty || !c.exists {
			continue
		}
		p, err := t.prepare(ctx, c)
		if err != nil {
			abort()
			return err
		}
		preps = append(preps, p)
	}
	if err := ctx.Err(); err != nil {
		abort()
		return cancelCause(ctx)
	}
	for i, p := range preps {
		if _, err := p.ct.Commit(ctx, p.man); err != nil {
			for _, q := range preps[i+1:] {
				q.ct.Abort()
			}
			if i > 0 {
				return fmt.Errorf("commit %q (%d of %d databases were committed before): %w", p.c.name, i, len(preps), err)
			}
			return fmt.Errorf("commit %q: %w", p.c.name, err)
		}
		c := p.c
		v := &Version{Name: p.man.Database, Manifest: p.man, TMSL: c.tmsl, Def: c.def, Model: c.comp.eng,
			Err: c.comp.engErr, Warnings: c.comp.warnings, engDef: c.comp.engDef}
		t.m.swap(v.Name, v)
		t.m.log.Info("committed", "database", v.Name, "version", v.Manifest.Version, "state", v.Manifest.State,
			"objects", len(v.Manifest.Objects), "bytes", v.Manifest.Size())
		t.messages = append(t.messages, fmt.Sprintf("database %q committed as version %d (%s)", v.Name, v.Manifest.Version, v.Manifest.State))
	}
	for _, c := range t.changes {
		switch {
		case c.deleted && c.base != nil:
			if err := t.m.cat.Delete(ctx, c.base.Name); err != nil && !errors.Is(err, catalog.ErrNotFound) {
				return fmt.Errorf("delete %q: %w", c.base.Name, err)
			}
			t.m.swap(c.base.Name, nil)
			t.m.log.Info("deleted", "database", c.base.Name)
			t.messages = append(t.messages, fmt.Sprintf("database %q deleted", c.base.Name))
		case c.rename != "" && c.exists:
			if err := t.m.rename(ctx, c.name, c.rename); err != nil {
				return err
			}
			t.messages = append(t.messages, fmt.Sprintf("database %q renamed to %q", c.name, c.rename))
		}
	}
	return nil
}

// prepare begins the catalog transaction of a change and writes its
// objects: the model, and the data (encoded, or the base version's
// objects listed again).
func (t *txn) prepare(ctx context.Context, c *change) (*prepared, error) {
	ct, err := t.m.cat.Begin(ctx, c.name)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			ct.Abort()
		}
	}()
	if b := ct.Base(); (b == nil) != (c.base == nil) || (b != nil && b.Version != c.base.Manifest.Version) {
		// Only the manager writes the catalog, under its writer lock.
		return nil, fmt.Errorf("commit %q: the catalog's current version is not the one in memory", c.name)
	}
	modelRef, err := ct.WriteObject(ctx, image.KindModel, c.tmsl)
	if err != nil {
		return nil, fmt.Errorf("write model of %q: %w", c.name, err)
	}
	man := &image.Manifest{State: c.state, LastProcessed: c.lastProcessed, Model: modelRef.Hash,
		Objects: []image.ObjectRef{modelRef}}
	switch c.src {
	case dataNew:
		root, refs, err := colstore.Encode(ctx, c.data, ctxWriter{ctx: ctx, w: ct})
		if err != nil {
			return nil, fmt.Errorf("write data of %q: %w", c.name, err)
		}
		man.Data = root.Hash
		man.Objects = append(man.Objects, refs...)
	case dataBase:
		bm := c.base.Manifest
		man.Data = bm.Data
		for _, o := range bm.Objects {
			if o.Hash == bm.Model {
				continue
			}
			if !ct.HasObject(o.Hash) {
				return nil, fmt.Errorf("keep data of %q: object %s of version %d is missing", c.name, o.Hash, bm.Version)
			}
			man.Objects = append(man.Objects, o)
		}
	}
	if man.State == "" {
		man.State = image.StateNoData
	}
	ok = true
	return &prepared{c: c, ct: ct, man: man}, nil
}

// rename renames a database in the catalog and in memory. The caller
// holds both names.
func (m *Manager) rename(ctx context.Context, from, to string) error {
	if err := m.cat.Rename(ctx, from, to); err != nil {
		return fmt.Errorf("rename %q to %q: %w", from, to, err)
	}
	cur, err := m.Current(from)
	if err != nil {
		return err
	}
	man, err := m.cat.Current(to)
	if err != nil {
		return fmt.Errorf("rename %q to %q: %w", from, to, err)
	}
	nv := *cur
	nv.Name, nv.Manifest = man.Database, man
	if value.FoldText(from) == value.FoldText(nv.Name) {
		m.swap(nv.Name, &nv) // only the case changed: one database
		return nil
	}
	// The new name first, so that replication publishes it before the
	// old name's tombstone and followers never have neither.
	m.swap(nv.Name, &nv)
	m.swap(from, nil)
	return nil
}

// ctxWriter writes objects under its own context, whatever context the
// caller passes. colstore.Encode writes its root object with the context
// of its errgroup, which is cancelled once the group's work is done; the
// catalog (rightly) refuses writes under a cancelled context. The write's
// own context still cancels everything.
type ctxWriter struct {
	ctx context.Context
	w   image.ObjectWriter
}

func (c ctxWriter) WriteObject(_ context.Context, kind string, data []byte) (image.ObjectRef, error) {
	return c.w.WriteObject(c.ctx, kind, data)
}
