package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

const memDir = "/data"

// openAt opens a catalog on fsys in dir, failing the test on error.
func openAt(t testing.TB, fsys vfs.FS, dir string, opts Options) *Catalog {
	t.Helper()
	opts.FS, opts.Dir = fsys, dir
	c, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

// openMem opens a catalog on a new MemFS.
func openMem(t testing.TB, opts Options) (*Catalog, *vfs.MemFS) {
	t.Helper()
	m := vfs.NewMem()
	c := openAt(t, m, memDir, opts)
	t.Cleanup(func() { c.Close() })
	return c, m
}

// imageSpec describes a test image: its model text and data objects.
type imageSpec struct {
	model string
	data  []string
}

// write stores the spec's objects through txn and returns the manifest
// listing them.
func (s imageSpec) write(t testing.TB, txn *Txn) *image.Manifest {
	t.Helper()
	m, err := s.tryWrite(txn)
	if err != nil {
		t.Fatalf("write image: %v", err)
	}
	return m
}

func (s imageSpec) tryWrite(txn *Txn) (*image.Manifest, error) {
	ctx := context.Background()
	model, err := txn.WriteObject(ctx, image.KindModel, []byte(s.model))
	if err != nil {
		return nil, err
	}
	m := &image.Manifest{State: image.StateReady, Model: model.Hash, Objects: []image.ObjectRef{model}}
	if len(s.data) == 0 {
		m.State = image.StateNoData
	}
	for _, d := range s.data {
		ref, err := txn.WriteObject(ctx, image.KindSegment, []byte(d))
		if err != nil {
			return nil, err
		}
		m.Objects = append(m.Objects, ref)
	}
	if len(s.data) > 0 {
		m.Data = m.Objects[1].Hash
	}
	return m, nil
}

// commit writes spec as the next version of name and returns the committed
// manifest.
func commit(t testing.TB, c *Catalog, name string, spec imageSpec) *image.Manifest {
	t.Helper()
	ctx := context.Background()
	txn, err := c.Begin(ctx, name)
	if err != nil {
		t.Fatalf("Begin %q: %v", name, err)
	}
	defer txn.Abort()
	m := spec.write(t, txn)
	if _, err := txn.Commit(ctx, m); err != nil {
		t.Fatalf("Commit %q: %v", name, err)
	}
	return m
}

// spec returns an image with n data objects, distinct for each tag.
func spec(tag string, n int) imageSpec {
	s := imageSpec{model: `{"name":"` + tag + `"}`}
	for i := range n {
		s.data = append(s.data, fmt.Sprintf("%s segment %d %s", tag, i, strings.Repeat("x", i*37)))
	}
	return s
}

// checkImage verifies that c serves m as the current version of its
// database and holds every object m lists, with the right bytes.
func checkImage(t testing.TB, c *Catalog, want *image.Manifest) {
	t.Helper()
	got, err := c.Current(want.Database)
	if err != nil {
		t.Fatalf("Current %q: %v", want.Database, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Current %q (-want +got):\n%s", want.Database, diff)
	}
	checkObjects(t, c, got)
}

func checkObjects(t testing.TB, c *Catalog, m *image.Manifest) {
	t.Helper()
	for _, o := range m.Objects {
		b, err := c.ReadObject(context.Background(), o.Hash)
		if err != nil {
			t.Fatalf("version %d of %q: %v", m.Version, m.Database, err)
		}
		if int64(len(b)) != o.Size {
			t.Fatalf("object %s: %d bytes, manifest says %d", o.Hash, len(b), o.Size)
		}
	}
}

// files lists every file and directory under dir, relative to it.
func files(t testing.TB, fsys vfs.FS, dir string) []string {
	t.Helper()
	var out []string
	var walk func(rel string)
	walk = func(rel string) {
		ents, err := fsys.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return
			}
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(rel, e.Name())
			if e.IsDir() {
				out = append(out, p+"/")
				walk(p)
				continue
			}
			out = append(out, p)
		}
	}
	walk("")
	return out
}

// checkClean verifies that dir holds nothing GC should have removed: no
// temporary or deleted files, no object that no retained version lists,
// no manifest that is not retained.
func checkClean(t testing.TB, c *Catalog, fsys vfs.FS, dir string) {
	t.Helper()
	used := map[string]bool{}
	retained := map[string]bool{}
	for _, e := range c.Databases() {
		h, err := c.History(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h {
			for _, o := range m.Objects {
				used[o.Hash.String()] = true
			}
		}
	}
	dbDirs := map[string]bool{}
	c.mu.Lock()
	for _, db := range c.dbs {
		dbDirs[filepath.Join("databases", db.dir)+"/"] = true
		for _, m := range db.retained {
			retained[filepath.Join("databases", db.dir, "manifests", manifestName(m.Version))] = true
		}
	}
	for d := range c.keepDirs {
		dbDirs[filepath.Join("databases", d)+"/"] = true
	}
	c.mu.Unlock()
	for _, f := range files(t, fsys, dir) {
		base := filepath.Base(f)
		switch {
		case strings.HasPrefix(base, tmpPrefix), strings.HasPrefix(base, deletedPrefix):
			t.Errorf("left behind: %s", f)
		case strings.HasPrefix(f, "objects/") && isObject(f) && !used[base]:
			t.Errorf("unused object left: %s", f)
		case strings.HasPrefix(f, "databases/") && strings.Count(f, "/") == 2 && strings.HasSuffix(f, "/") && !dbDirs[f]:
			t.Errorf("abandoned database directory left: %s", f)
		case isManifest(f) && !retained[f]:
			t.Errorf("manifest not retained left: %s", f)
		}
	}
}

func isObject(f string) bool {
	_, ok := parseObjectName(filepath.Base(filepath.Dir(f)), filepath.Base(f))
	return ok
}

func isManifest(f string) bool {
	_, ok := parseManifestName(filepath.Base(f))
	return ok && filepath.Base(filepath.Dir(f)) == "manifests"
}

// warnings is a slog.Handler that keeps the messages of warnings and
// errors, for tests that check that recovery after a crash is silent.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }

func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return nil
	}
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	w.mu.Lock()
	w.msgs = append(w.msgs, msg)
	w.mu.Unlock()
	return nil
}

func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}
