package vfs

import (
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeNoSync writes a file without syncing it.
func writeNoSync(t *testing.T, fsys FS, name, content string) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot returns every file under dir with its content, and every
// directory with a trailing slash.
func snapshot(t *testing.T, fsys FS, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(d string)
	walk = func(d string) {
		ents, err := fsys.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := d + "/" + e.Name()
			if e.IsDir() {
				out[p+"/"] = ""
				walk(p)
				continue
			}
			out[p] = readFile(t, fsys, p)
		}
	}
	walk(dir)
	return out
}

func TestMemCrash(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *MemFS)
		want  map[string]string
	}{
		{
			name: "nothing synced",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d", 0o755))
				writeFile(t, m, "/d/x", "data")
			},
			want: map[string]string{},
		},
		{
			name: "directory synced, file not",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d", 0o755))
				must(t, m.SyncDir("/"))
				writeNoSync(t, m, "/d/x", "data")
				must(t, m.SyncDir("/d"))
			},
			want: map[string]string{"/d/": "", "/d/x": ""},
		},
		{
			name: "file synced, directory not",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d", 0o755))
				must(t, m.SyncDir("/"))
				writeFile(t, m, "/d/x", "data")
			},
			want: map[string]string{"/d/": ""},
		},
		{
			name: "file and directory synced",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d", 0o755))
				must(t, m.SyncDir("/"))
				writeFile(t, m, "/d/x", "data")
				must(t, m.SyncDir("/d"))
				writeNoSync(t, m, "/d/x", "later") // truncate and rewrite, unsynced
			},
			want: map[string]string{"/d/": "", "/d/x": "data"},
		},
		{
			name: "new directory not synced in its parent",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d/e", 0o755))
				must(t, m.SyncDir("/"))
				writeFile(t, m, "/d/e/x", "data")
				must(t, m.SyncDir("/d/e"))
			},
			want: map[string]string{"/d/": ""},
		},
		{
			name: "rename not synced",
			setup: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "/cur", "v1")
				must(t, m.SyncDir("/"))
				writeFile(t, m, "/tmp", "v2")
				must(t, m.Rename("/tmp", "/cur"))
			},
			want: map[string]string{"/cur": "v1"},
		},
		{
			name: "rename synced",
			setup: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "/cur", "v1")
				must(t, m.SyncDir("/"))
				writeFile(t, m, "/tmp", "v2")
				must(t, m.Rename("/tmp", "/cur"))
				must(t, m.SyncDir("/"))
			},
			want: map[string]string{"/cur": "v2"},
		},
		{
			name: "rename across directories, only the target synced",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/a", 0o755))
				must(t, m.MkdirAll("/b", 0o755))
				must(t, m.SyncDir("/"))
				writeFile(t, m, "/a/x", "data")
				must(t, m.SyncDir("/a"))
				must(t, m.Rename("/a/x", "/b/x"))
				must(t, m.SyncDir("/b"))
			},
			// The strict model may keep both names, as an inode with two
			// links: the catalog only renames within one directory.
			want: map[string]string{"/a/": "", "/b/": "", "/a/x": "data", "/b/x": "data"},
		},
		{
			name: "remove not synced",
			setup: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "/x", "data")
				must(t, m.SyncDir("/"))
				must(t, m.Remove("/x"))
			},
			want: map[string]string{"/x": "data"},
		},
		{
			name: "remove synced",
			setup: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "/x", "data")
				must(t, m.SyncDir("/"))
				must(t, m.Remove("/x"))
				must(t, m.SyncDir("/"))
			},
			want: map[string]string{},
		},
		{
			name: "RemoveAll not synced",
			setup: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d/e", 0o755))
				writeFile(t, m, "/d/e/x", "data")
				must(t, m.SyncDir("/d/e"))
				must(t, m.SyncDir("/d"))
				must(t, m.SyncDir("/"))
				must(t, m.RemoveAll("/d"))
			},
			want: map[string]string{"/d/": "", "/d/e/": "", "/d/e/x": "data"},
		},
		{
			name: "append after sync",
			setup: func(t *testing.T, m *MemFS) {
				f, err := m.Create("/x")
				must(t, err)
				io.WriteString(f, "abc")
				must(t, f.Sync())
				io.WriteString(f, "def")
				f.Close()
				must(t, m.SyncDir("/"))
			},
			want: map[string]string{"/x": "abc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMem()
			tt.setup(t, m)
			m.Crash()
			if diff := cmp.Diff(tt.want, snapshot(t, m, "")); diff != "" {
				t.Errorf("after crash (-want +got):\n%s\nfs:\n%s", diff, m)
			}
			// A second crash changes nothing: what survived is durable.
			m.Crash()
			if diff := cmp.Diff(tt.want, snapshot(t, m, "")); diff != "" {
				t.Errorf("after second crash (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemCrashInvalidatesHandlesAndLocks(t *testing.T) {
	m := NewMem()
	writeFile(t, m, "/x", "data")
	must(t, m.SyncDir("/"))
	f, err := m.Create("/y")
	must(t, err)
	r, err := m.Open("/x")
	must(t, err)
	l, err := m.Lock("/LOCK")
	must(t, err)
	m.Crash()
	if _, err := f.Write([]byte("z")); !errors.Is(err, ErrCrashed) {
		t.Errorf("Write after crash: %v, want ErrCrashed", err)
	}
	if err := f.Sync(); !errors.Is(err, ErrCrashed) {
		t.Errorf("Sync after crash: %v, want ErrCrashed", err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, ErrCrashed) {
		t.Errorf("Read after crash: %v, want ErrCrashed", err)
	}
	l2, err := m.Lock("/LOCK")
	if err != nil {
		t.Fatalf("Lock after crash: %v", err)
	}
	// Closing the dead holder's lock must not release the new one.
	l.Close()
	if _, err := m.Lock("/LOCK"); !errors.Is(err, ErrLocked) {
		t.Errorf("Lock while the new holder has it: %v, want ErrLocked", err)
	}
	l2.Close()
	if err := r.Close(); err != nil {
		t.Errorf("Close of a stale handle: %v", err)
	}
	if err := r.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

func TestMemKill(t *testing.T) {
	m := NewMem()
	writeNoSync(t, m, "/x", "pending")
	f, err := m.Open("/x")
	must(t, err)
	l, err := m.Lock("/LOCK")
	must(t, err)
	m.Kill()
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, ErrCrashed) {
		t.Errorf("Read after kill: %v, want ErrCrashed", err)
	}
	if got := readFile(t, m, "/x"); got != "pending" {
		t.Errorf("after kill x = %q, want the unsynced bytes kept", got)
	}
	if _, err := m.Lock("/LOCK"); err != nil {
		t.Errorf("Lock after kill: %v", err)
	}
	l.Close()
	m.Crash()
	if _, err := m.Stat("/x"); !IsNotExist(err) {
		t.Errorf("after crash: %v, want the unsynced file gone", err)
	}
}

func TestMemClone(t *testing.T) {
	m := NewMem()
	writeFile(t, m, "/x", "durable")
	must(t, m.SyncDir("/"))
	writeNoSync(t, m, "/y", "pending")
	c := m.Clone()
	writeFile(t, m, "/x", "changed")
	must(t, m.Remove("/y"))
	if diff := cmp.Diff(map[string]string{"/x": "durable", "/y": "pending"}, snapshot(t, c, "")); diff != "" {
		t.Errorf("clone (-want +got):\n%s", diff)
	}
	c.Crash()
	if diff := cmp.Diff(map[string]string{"/x": "durable"}, snapshot(t, c, "")); diff != "" {
		t.Errorf("clone after crash (-want +got):\n%s", diff)
	}
}

func TestMemString(t *testing.T) {
	m := NewMem()
	must(t, m.MkdirAll("/d", 0o755))
	writeNoSync(t, m, "/d/x", "abc")
	want := "d/ (entry not synced)\n  x 3 (entry not synced) (data not synced: 0 durable bytes)\n"
	if got := m.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
