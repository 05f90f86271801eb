package catalog

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
)

func FuzzDecodePointer(f *testing.F) {
	f.Add(encodePointer(7, []byte("manifest")))
	f.Add([]byte(`{"format":1,"version":1,"manifest":""}`))
	f.Add([]byte(`{"format":1,"version":-3,"manifest":"00"}`))
	f.Add([]byte(`{"format":1,"version":1,"manifest":"` + image.Sum(nil).String() + `","extra":1}`))
	f.Add([]byte(`{"format":1,"version":1,"manifest":"` + image.Sum(nil).String() + `"}{}`))
	f.Add([]byte("null"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePointer(b)
		if err != nil {
			return
		}
		if p.Version < 1 || p.Manifest.IsZero() || p.Format != pointerFormat {
			t.Fatalf("accepted an invalid pointer %+v", p)
		}
	})
}

// FuzzOpenDatabase opens a data directory where the CURRENT file and the
// newest manifest hold arbitrary bytes: Open must not fail or panic, and
// must load either an intact version or nothing.
func FuzzOpenDatabase(f *testing.F) {
	seed := newFuzzFixture(f)
	v2 := seed.read(f, seed.manifestPath(2))
	f.Add(encodePointer(2, v2), v2)
	f.Add(encodePointer(2, v2), v2[:len(v2)/2])
	f.Add([]byte("garbage"), v2)
	f.Add([]byte{}, []byte{})
	f.Add(encodePointer(2, []byte("{}")), []byte("{}"))
	f.Add(encodePointer(2, []byte(`{"format":1,"database":"Sales","version":2,"model":"00"}`)),
		[]byte(`{"format":1,"database":"Sales","version":2,"model":"00"}`))
	f.Fuzz(func(t *testing.T, current, manifest []byte) {
		fx := newFuzzFixture(t)
		fx.write(t, fx.path(fx.dbDir, "CURRENT"), current)
		fx.write(t, fx.manifestPath(2), manifest)
		c := openAt(t, fx.mem, memDir, Options{})
		defer c.Close()
		// Version 1 is intact, so there is always a version to load: 1,
		// or 2 if the bytes happen to make an intact manifest (which may
		// name the database differently).
		dbs := c.Databases()
		if len(dbs) != 1 {
			t.Fatalf("%d databases loaded, want 1", len(dbs))
		}
		m := dbs[0].Manifest
		if m.Version != 1 && m.Version != 2 {
			t.Fatalf("loaded version %d", m.Version)
		}
		if m.Version == 1 && !equalState(state{"Sales": fx.v1}, state{m.Database: m}, true) {
			t.Fatalf("version 1 loaded as %+v", m)
		}
		checkObjects(t, c, m)
		if _, _, err := c.GC(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkObjects(t, c, m)
	})
}

// newFuzzFixture is newFixture for any testing.TB: a data directory with
// versions 1 and 2 of "Sales".
func newFuzzFixture(tb testing.TB) *fixture {
	c, mem := openMem(tb, Options{})
	f := &fixture{mem: mem}
	f.v1 = commit(tb, c, "Sales", spec("v1", 2))
	f.v2 = commit(tb, c, "Sales", spec("v2", 2))
	f.dbDir = filepath.Join("databases", c.dbs[nameKey("Sales")].dir)
	c.Close()
	return f
}

// FuzzFileNames checks the parsers of the names found in a data directory:
// whatever they accept, the writer would have produced.
func FuzzFileNames(f *testing.F) {
	f.Add(manifestName(7), "ab")
	f.Add("99999999999999999999.json", "00")
	f.Add("-0000000000000000001.json", "zz")
	f.Add(image.Sum(nil).String(), image.Sum(nil).String()[:2])
	f.Fuzz(func(t *testing.T, name, dir string) {
		if v, ok := parseManifestName(name); ok && manifestName(v) != name {
			t.Fatalf("manifest name %q parsed as version %d, written as %q", name, v, manifestName(v))
		}
		if h, ok := parseObjectName(dir, name); ok && (h.String() != name || objectDirName(h) != dir) {
			t.Fatalf("object name %q in %q parsed as %s", name, dir, h)
		}
		if isObjectDirName(dir) {
			if _, err := strconv.ParseUint(dir, 16, 8); err != nil {
				t.Fatalf("object directory %q: %v", dir, err)
			}
		}
	})
}
