package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/meridian-olap/meridian/internal/catalog"
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
)

// Snapshot is a committed image pinned for reading: backup writes it to
// an archive, replication publishes it. Its objects stay on disk until
// Release, even if newer versions are committed meanwhile (garbage
// collection waits), so a long read always sees one consistent version.
type Snapshot struct {
	// Version is the pinned version; its Manifest lists the objects.
	Version *Version
	// Objects reads the image's objects, each checked against its hash.
	Objects image.ObjectReader

	once    sync.Once
	release func()
}

// Release unpins the image. It is safe to call more than once.
func (s *Snapshot) Release() { s.once.Do(s.release) }

// ReadImage pins the current version of a database for reading. The
// caller must Release the snapshot.
func (m *Manager) ReadImage(ctx context.Context, name string) (*Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Hold collection first: from then on nothing the version being
	// pinned lists can be removed.
	m.gc.hold()
	v, err := m.Current(name)
	if err != nil {
		m.gc.unhold()
		return nil, err
	}
	return &Snapshot{Version: v, Objects: m.cat, release: m.gc.unhold}, nil
}

// CommitImageOptions configure CommitImage.
type CommitImageOptions struct {
	// KeepVersion commits the image with the version and commit time its
	// manifest carries, as a replica must; the version must be above the
	// database's current one. Otherwise the image becomes the next
	// version.
	KeepVersion bool
	// Overwrite allows replacing an existing database (restore's
	// allowOverwrite, a follower). Without it an existing database is
	// refused with ErrExists.
	Overwrite bool
}

// CommitImage commits an image that arrives from outside (a restore, a
// replica following its primary) as the new version of the named
// database. Objects the catalog holds already are not read from src.
// Everything is verified before the commit: every object against its
// hash and listed size, the model by parsing it, the data by decoding it
// in full (colstore checks every object's structure). Only then is the
// image committed and swapped in; a failure changes nothing.
//
// The manifest's model is committed as it is, name included: a caller
// restoring under another name rewrites the model object first.
func (m *Manager) CommitImage(ctx context.Context, name string, man *image.Manifest, src image.ObjectReader, opts CommitImageOptions) (*Version, error) {
	if man == nil {
		return nil, fmt.Errorf("%w: no manifest", ErrCorrupt)
	}
	if err := man.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
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
	case err == nil && opts.KeepVersion && man.Version <= cur.Manifest.Version:
		return nil, fmt.Errorf("%w: image version %d is not above the current version %d of %q", ErrBadRequest, man.Version, cur.Manifest.Version, cur.Name)
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
	cp := &copier{ct: ct, cat: m.cat, src: src, listed: map[image.Hash]image.ObjectRef{}, copied: map[image.Hash]bool{}}
	for _, o := range man.Objects {
		cp.listed[o.Hash] = o
	}
	tmsl, err := cp.ReadObject(wctx, man.Model)
	if err != nil {
		return nil, verifyError(wctx, "model", err)
	}
	def, err := model.Parse(tmsl)
	if err != nil {
		return nil, fmt.Errorf("%w: model object: %w", ErrCorrupt, err)
	}
	var data *colstore.Database
	if !man.Data.IsZero() {
		if data, err = colstore.Decode(wctx, man.Data, cp, colstore.DecodeOptions{}); err != nil {
			return nil, verifyError(wctx, "data", err)
		}
	}
	// Objects the data root does not name are copied too: the image is
	// exactly what the manifest lists.
	for _, o := range man.Objects {
		if !cp.isCopied(o.Hash) {
			if _, err := cp.ReadObject(wctx, o.Hash); err != nil {
				return nil, verifyError(wctx, "objects", err)
			}
		}
	}
	comp := compile(def, data, false)
	nm := &image.Manifest{Version: man.Version, CommitTime: man.CommitTime, State: man.State,
		LastProcessed: man.LastProcessed, Model: man.Model, Data: man.Data, Objects: man.Objects}
	if nm.State == "" {
		nm.State = image.StateNoData
	}
	if opts.KeepVersion {
		_, err = ct.CommitReplica(wctx, nm)
	} else {
		_, err = ct.Commit(wctx, nm)
	}
	committed = true // Commit ends the transaction either way
	if err != nil {
		if c := cancelCause(wctx); c != nil {
			return nil, c
		}
		return nil, fmt.Errorf("commit image of %q: %w", name, err)
	}
	v := &Version{Name: nm.Database, Manifest: nm, TMSL: tmsl, Def: def, Model: comp.eng, Err: comp.engErr,
		Warnings: comp.warnings, engDef: comp.engDef}
	m.swap(v.Name, v)
	m.log.Info("image committed", "database", v.Name, "version", nm.Version, "objects", len(nm.Objects), "bytes", nm.Size())
	return v, nil
}

// verifyError reports a failure to read or check an image's objects.
func verifyError(ctx context.Context, what string, err error) error {
	if c := cancelCause(ctx); c != nil {
		return c
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
}

// copier is the object reader CommitImage decodes through: each object is
// read once (from the catalog when it holds it, else from the source),
// checked against the manifest's hash and size, and written into the
// transaction.
type copier struct {
	ct     *catalog.Txn
	cat    *catalog.Catalog
	src    image.ObjectReader
	listed map[image.Hash]image.ObjectRef

	mu     sync.Mutex
	copied map[image.Hash]bool
}

func (c *copier) isCopied(h image.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copied[h]
}

func (c *copier) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	ref, ok := c.listed[h]
	if !ok {
		return nil, fmt.Errorf("object %s is used but not listed in the manifest", h)
	}
	var data []byte
	var err error
	if c.ct.HasObject(h) {
		data, err = c.cat.ReadObject(ctx, h)
	} else {
		data, err = c.src.ReadObject(ctx, h)
		if err == nil {
			err = image.Verify(h, data)
		}
		if err == nil {
			_, err = c.ct.WriteObject(ctx, ref.Kind, data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if int64(len(data)) != ref.Size {
		return nil, fmt.Errorf("object %s has %d bytes, the manifest says %d", h, len(data), ref.Size)
	}
	c.mu.Lock()
	c.copied[h] = true
	c.mu.Unlock()
	return data, nil
}
