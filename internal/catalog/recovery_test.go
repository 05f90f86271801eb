package catalog

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// fixture is a data directory on a MemFS holding two versions of "Sales"
// (both manifests still on disk) and one version of "Other".
type fixture struct {
	mem            *vfs.MemFS
	dbDir          string // Sales's directory, relative to the data directory
	v1, v2, other  *image.Manifest
	v1Only, v2Only image.ObjectRef // an object only that version lists
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c, mem := openMem(t, Options{})
	f := &fixture{mem: mem}
	f.v1 = commit(t, c, "Sales", spec("v1", 2))
	f.v2 = commit(t, c, "Sales", spec("v2", 2))
	f.other = commit(t, c, "Other", spec("o", 1))
	f.dbDir = filepath.Join("databases", c.dbs[nameKey("Sales")].dir)
	for _, o := range f.v2.Objects {
		if !f.v1.Has(o.Hash) && o.Kind == image.KindSegment {
			f.v2Only = o
		}
	}
	for _, o := range f.v1.Objects {
		if !f.v2.Has(o.Hash) && o.Kind == image.KindSegment {
			f.v1Only = o
		}
	}
	c.Close()
	return f
}

func (f *fixture) path(p ...string) string {
	return filepath.Join(append([]string{memDir}, p...)...)
}

func (f *fixture) write(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := f.mem.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := f.mem.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
}

func (f *fixture) read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := vfs.ReadFile(f.mem, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) objectPath(o image.ObjectRef) string {
	return f.path("objects", objectDirName(o.Hash), o.Hash.String())
}

func (f *fixture) manifestPath(v int64) string {
	return f.path(f.dbDir, "manifests", manifestName(v))
}

func TestOpenRecovery(t *testing.T) {
	tests := []struct {
		name    string
		verify  bool
		damaged bool // the current version has a damaged object
		damage  func(t *testing.T, f *fixture)
		want    func(f *fixture) *image.Manifest // nil: Sales is absent
	}{
		{"intact", false, false, func(*testing.T, *fixture) {}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT missing", false, false, func(t *testing.T, f *fixture) {
			f.mem.Remove(f.path(f.dbDir, "CURRENT"))
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT empty", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.path(f.dbDir, "CURRENT"), nil)
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT garbage", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.path(f.dbDir, "CURRENT"), []byte("\x00\x01garbage"))
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT truncated", false, false, func(t *testing.T, f *fixture) {
			b := f.read(t, f.path(f.dbDir, "CURRENT"))
			f.write(t, f.path(f.dbDir, "CURRENT"), b[:len(b)/2])
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT huge", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.path(f.dbDir, "CURRENT"), make([]byte, maxPointerSize+1))
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT names a missing manifest", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.path(f.dbDir, "CURRENT"), encodePointer(5, []byte("x")))
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"CURRENT names version 1", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.path(f.dbDir, "CURRENT"), encodePointer(1, f.read(t, f.manifestPath(1))))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"manifest does not match CURRENT", false, false, func(t *testing.T, f *fixture) {
			m := *f.v2
			m.State = image.StateNoData
			b, _ := m.Marshal()
			f.write(t, f.manifestPath(2), b)
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"manifest garbage", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.manifestPath(2), []byte("{not json"))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"manifest holds another version", false, false, func(t *testing.T, f *fixture) {
			f.mem.Remove(f.path(f.dbDir, "CURRENT"))
			f.write(t, f.manifestPath(2), f.read(t, f.manifestPath(1)))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"object missing", false, false, func(t *testing.T, f *fixture) {
			f.mem.Remove(f.objectPath(f.v2Only))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"object truncated", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.objectPath(f.v2Only), []byte("short"))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"object damaged, not verified", false, true, func(t *testing.T, f *fixture) {
			f.write(t, f.objectPath(f.v2Only), make([]byte, f.v2Only.Size))
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"object damaged, verified", true, false, func(t *testing.T, f *fixture) {
			f.write(t, f.objectPath(f.v2Only), make([]byte, f.v2Only.Size))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"uncommitted manifest above CURRENT", false, false, func(t *testing.T, f *fixture) {
			m := *f.v2
			m.Version = 3
			b, _ := m.Marshal()
			f.write(t, f.manifestPath(3), b)
		}, func(f *fixture) *image.Manifest { return f.v2 }},
		{"no CURRENT, newest manifest incomplete", false, false, func(t *testing.T, f *fixture) {
			f.mem.Remove(f.path(f.dbDir, "CURRENT"))
			f.mem.Remove(f.objectPath(f.v2Only))
		}, func(f *fixture) *image.Manifest { return f.v1 }},
		{"no loadable version", false, false, func(t *testing.T, f *fixture) {
			f.mem.Remove(f.objectPath(f.v2Only))
			f.mem.Remove(f.objectPath(f.v1Only))
		}, func(f *fixture) *image.Manifest { return nil }},
		{"manifests directory is a file", false, false, func(t *testing.T, f *fixture) {
			f.mem.RemoveAll(f.path(f.dbDir, "manifests"))
			f.write(t, f.path(f.dbDir, "manifests"), []byte("x"))
		}, func(f *fixture) *image.Manifest { return nil }},
		{"stray files", false, false, func(t *testing.T, f *fixture) {
			f.write(t, f.path("databases", "stray.txt"), []byte("x"))
			f.write(t, f.path("objects", "zz", "x"), []byte("x"))
			f.write(t, f.path("objects", "ab", "AB"+f.v2.Model.String()[2:]), []byte("x"))
			f.write(t, f.path(f.dbDir, "manifests", "7.json"), []byte("x"))
			f.mem.MkdirAll(f.path(f.dbDir, "manifests", manifestName(8)), 0o755)
		}, func(f *fixture) *image.Manifest { return f.v2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.damage(t, f)
			c := openAt(t, f.mem, memDir, Options{Verify: tt.verify})
			defer c.Close()
			checkImage(t, c, f.other)
			want := tt.want(f)
			if want == nil {
				if m, err := c.Current("Sales"); err == nil {
					t.Fatalf("Sales loaded at version %d; want it absent", m.Version)
				}
			} else if tt.damaged {
				// Without Verify only sizes are checked at Open; the hash
				// check of ReadObject catches the damage.
				got, err := c.Current("Sales")
				if err != nil || got.Version != want.Version {
					t.Fatalf("Current = %v, %v; want version %d", got, err, want.Version)
				}
				if _, err := c.ReadObject(context.Background(), f.v2Only.Hash); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("ReadObject of the damaged object: %v, want ErrCorrupt", err)
				}
				return
			} else {
				checkImage(t, c, want)
			}
			if _, _, err := c.GC(context.Background()); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				// A damaged database is left for a person to look at.
				if _, err := f.mem.Stat(f.path(f.dbDir, "manifests")); err != nil {
					t.Errorf("GC removed a damaged database: %v", err)
				}
				return
			}
			checkImage(t, c, want)
			checkClean(t, c, f.mem, memDir)
			// The next version is above every version seen.
			if m := commit(t, c, "Sales", spec("next", 1)); m.Version <= 2 {
				t.Errorf("next version %d", m.Version)
			}
		})
	}
}

func TestOpenDuplicateNames(t *testing.T) {
	f := newFixture(t)
	// Copy Sales's directory by hand, one version behind.
	copyDir := filepath.Join("databases", "copy-0000000000000000")
	f.write(t, f.path(copyDir, "manifests", manifestName(1)), f.read(t, f.manifestPath(1)))
	f.write(t, f.path(copyDir, "CURRENT"), encodePointer(1, f.read(t, f.manifestPath(1))))
	c := openAt(t, f.mem, memDir, Options{})
	defer c.Close()
	checkImage(t, c, f.v2)
	if _, _, err := c.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The ignored copy and what it uses stay.
	if _, err := f.mem.Stat(f.path(copyDir, "CURRENT")); err != nil {
		t.Errorf("GC removed the ignored copy: %v", err)
	}
	checkObjects(t, c, f.v1)
}
