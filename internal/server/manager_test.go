package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/image"
)

func queryModel(t *testing.T, m *engine.Model, q string) string {
	t.Helper()
	res, err := m.Query(context.Background(), q, engine.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(encodeResult(res, true))
}

func TestSnapshotIsolation(t *testing.T) {
	ts := readyTiny(t)
	pinned, err := ts.m.Current("Tiny")
	if err != nil {
		t.Fatal(err)
	}
	old := queryModel(t, pinned.Model, totalQuery)
	writeTinyData(t, ts.src, 5)
	ts.mustTMSL(refreshCmd("Tiny"))
	cur, _ := ts.m.Current("Tiny")
	if cur == pinned || cur.Manifest.Version != pinned.Manifest.Version+1 {
		t.Fatalf("no new version: %d", cur.Manifest.Version)
	}
	if got := queryModel(t, pinned.Model, totalQuery); got != old {
		t.Errorf("the pinned version's answer changed after a commit:\n%s\n%s", old, got)
	}
	if got := queryModel(t, cur.Model, totalQuery); got == old {
		t.Errorf("the new version answers as the old one")
	}
}

func TestImageCopy(t *testing.T) {
	ts := readyTiny(t, func(c *serverConfig) { c.mopts.GCDelay = 5 * time.Millisecond })
	ctx := context.Background()
	snap, err := ts.m.ReadImage(ctx, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	man := snap.Version.Manifest

	// Newer versions and collection while the snapshot is held: its
	// objects stay.
	for k := 2; k <= 3; k++ {
		writeTinyData(t, ts.src, k)
		ts.mustTMSL(refreshCmd("Tiny"))
	}
	time.Sleep(100 * time.Millisecond)
	for _, o := range man.Objects {
		if _, err := snap.Objects.ReadObject(ctx, o.Hash); err != nil {
			t.Fatalf("object of the pinned version: %v", err)
		}
	}
	v, err := ts.m.CommitImage(ctx, "Copy", man, snap.Objects, CommitImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Manifest.Version != 1 || v.Manifest.ContentHash() != man.ContentHash() {
		t.Errorf("copy: version %d hash %s, want 1 and %s", v.Manifest.Version, v.Manifest.ContentHash(), man.ContentHash())
	}
	if got, want := queryModel(t, v.Model, totalQuery), queryModel(t, snap.Version.Model, totalQuery); got != want {
		t.Errorf("the copy answers differently:\n%s\n%s", got, want)
	}
	snap.Release()
	snap.Release()

	t.Run("existing database", func(t *testing.T) {
		_, err := ts.m.CommitImage(ctx, "Copy", man, ts.m.Catalog(), CommitImageOptions{})
		if !errors.Is(err, ErrExists) {
			t.Errorf("err %v, want ErrExists", err)
		}
	})
	t.Run("replica versions", func(t *testing.T) {
		m := *man
		m.Version = 10
		v, err := ts.m.CommitImage(ctx, "Copy", &m, ts.m.Catalog(), CommitImageOptions{KeepVersion: true, Overwrite: true})
		if err != nil || v.Manifest.Version != 10 {
			t.Fatalf("replica commit: %v", err)
		}
		m.Version = 9
		if _, err := ts.m.CommitImage(ctx, "Copy", &m, ts.m.Catalog(), CommitImageOptions{KeepVersion: true, Overwrite: true}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("older version: %v", err)
		}
	})

	// Bad images change nothing. They go to a server whose catalog holds
	// none of their objects, so that every object is read from src.
	ts2 := newTestServer(t)
	src := image.NewMemStore()
	for _, o := range man.Objects {
		b, err := ts.m.Catalog().ReadObject(ctx, o.Hash)
		if err != nil {
			t.Fatal(err)
		}
		src.WriteObject(ctx, o.Kind, b)
	}
	garbage := []byte("not a data root")
	gref, _ := src.WriteObject(ctx, image.KindData, garbage)
	tamper := func(f func(m *image.Manifest)) *image.Manifest {
		m := *man
		m.Objects = append([]image.ObjectRef(nil), man.Objects...)
		f(&m)
		return &m
	}
	missing := image.Sum([]byte("missing"))
	bad := []struct {
		name string
		man  *image.Manifest
		src  image.ObjectReader
	}{
		{"corrupt object", man, corruptReader{src, man.Data}},
		{"missing object", tamper(func(m *image.Manifest) {
			m.Objects = append(m.Objects, image.ObjectRef{Hash: missing, Size: 7})
		}), src},
		{"wrong size", tamper(func(m *image.Manifest) {
			for i := range m.Objects {
				if m.Objects[i].Hash == m.Data {
					m.Objects[i].Size++
				}
			}
		}), src},
		{"undecodable data", tamper(func(m *image.Manifest) {
			m.Data = gref.Hash
			m.Objects = append(m.Objects, gref)
		}), src},
		{"no model", tamper(func(m *image.Manifest) { m.Model = image.Hash{} }), src},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts2.m.CommitImage(ctx, "Bad", c.man, c.src, CommitImageOptions{})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("err %v, want ErrCorrupt", err)
			}
			if _, err := ts2.m.Current("Bad"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a bad image was committed")
			}
		})
	}
	// And the good image from the same source commits.
	if _, err := ts2.m.CommitImage(ctx, "Good", man, src, CommitImageOptions{}); err != nil {
		t.Errorf("good image: %v", err)
	}
}

// corruptReader flips a byte of one object.
type corruptReader struct {
	r image.ObjectReader
	h image.Hash
}

func (c corruptReader) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	b, err := c.r.ReadObject(ctx, h)
	if err == nil && h == c.h && len(b) > 0 {
		b[len(b)/2] ^= 0xff
	}
	return b, err
}

func TestLoadDamagedDatabase(t *testing.T) {
	ts := readyTiny(t)
	cur, _ := ts.m.Current("Tiny")
	ts.stop()
	// Flip a byte of a segment: the size still matches, the hash not.
	var seg image.ObjectRef
	for _, o := range cur.Manifest.Objects {
		if o.Kind == image.KindSegment {
			seg = o
		}
	}
	p := filepath.Join(ts.dir, "objects", seg.Hash.String()[:2], seg.Hash.String())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ts.start(serverConfig{mopts: ManagerOptions{DataDir: ts.dir, Roots: ts.m.opts.Roots, GCDelay: -1}})

	_, body, _ := ts.do("GET", "/databases", nil)
	if !strings.Contains(string(body), `"error":`) {
		t.Errorf("databases: %s", body)
	}
	status, body := ts.query("Tiny", totalQuery)
	if code, _ := errorOf(t, body); status != 503 || code != "DatabaseUnavailable" {
		t.Errorf("query on a damaged database: %d %s", status, body)
	}
	if status, _, _ := ts.do("GET", "/databases/Tiny", nil); status != 200 {
		t.Errorf("script of a damaged database: %d", status)
	}
	// Deploying and refreshing again repairs it.
	ts.mustTMSL(deployCmd(tinyModel("Tiny")))
	ts.mustTMSL(refreshCmd("Tiny"))
	ts.mustQuery("Tiny", totalQuery)
}

func TestGCWaitsForSnapshot(t *testing.T) {
	ts := readyTiny(t, func(c *serverConfig) { c.mopts.GCDelay = time.Millisecond })
	ctx := context.Background()
	snap, err := ts.m.ReadImage(ctx, "Tiny")
	if err != nil {
		t.Fatal(err)
	}
	old := snap.Version.Manifest
	writeTinyData(t, ts.src, 7)
	ts.mustTMSL(refreshCmd("Tiny"))
	cur, _ := ts.m.Current("Tiny")
	var gone []image.Hash // objects only the pinned version lists
	for _, o := range old.Objects {
		if !cur.Manifest.Has(o.Hash) {
			gone = append(gone, o.Hash)
		}
	}
	if len(gone) == 0 {
		t.Fatal("the refresh changed no object")
	}
	time.Sleep(50 * time.Millisecond)
	for _, h := range gone {
		if !ts.m.Catalog().HasObject(h) {
			t.Fatalf("object %s of a pinned version was collected", h)
		}
	}
	snap.Release()
	deadline := time.Now().Add(10 * time.Second)
	for ts.m.Catalog().HasObject(gone[0]) {
		if time.Now().After(deadline) {
			t.Fatal("unreferenced objects were not collected after the snapshot was released")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
