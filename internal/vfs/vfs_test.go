package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// implementations returns each FS with a root directory to work under, so
// that the same behaviour is checked on the real filesystem and on MemFS.
func implementations(t *testing.T) map[string]struct {
	fs   FS
	root string
} {
	return map[string]struct {
		fs   FS
		root string
	}{
		"os":  {Default, t.TempDir()},
		"mem": {NewMem(), "/root"},
	}
}

func writeFile(t *testing.T, fsys FS, name, content string) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, content); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, fsys FS, name string) string {
	t.Helper()
	b, err := ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func list(t *testing.T, fsys FS, dir string) []string {
	t.Helper()
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names
}

// TestSemantics runs the same operations on every implementation.
func TestSemantics(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			fsys, root := impl.fs, impl.root
			p := func(s string) string { return filepath.Join(root, s) }
			if err := fsys.MkdirAll(p("a/b"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := fsys.MkdirAll(p("a/b"), 0o755); err != nil {
				t.Fatalf("MkdirAll of an existing directory: %v", err)
			}
			writeFile(t, fsys, p("a/b/x"), "hello")
			writeFile(t, fsys, p("a/y"), "world!")
			if got := readFile(t, fsys, p("a/b/x")); got != "hello" {
				t.Errorf("read x = %q", got)
			}
			if diff := cmp.Diff([]string{"b/", "y"}, list(t, fsys, p("a"))); diff != "" {
				t.Errorf("ReadDir a (-want +got):\n%s", diff)
			}
			fi, err := fsys.Stat(p("a/y"))
			if err != nil || fi.Size() != 6 || fi.IsDir() || fi.Name() != "y" {
				t.Errorf("Stat y = %v, %v", fi, err)
			}
			if fi, err := fsys.Stat(p("a/b")); err != nil || !fi.IsDir() {
				t.Errorf("Stat b = %v, %v", fi, err)
			}

			// Rename replaces an existing file.
			if err := fsys.Rename(p("a/y"), p("a/b/x")); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, fsys, p("a/b/x")); got != "world!" {
				t.Errorf("after rename x = %q", got)
			}
			if _, err := fsys.Stat(p("a/y")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat of renamed-away y: %v, want ErrNotExist", err)
			}

			// Create truncates.
			writeFile(t, fsys, p("a/b/x"), "z")
			if got := readFile(t, fsys, p("a/b/x")); got != "z" {
				t.Errorf("after truncate x = %q", got)
			}

			// ReadAt.
			f, err := fsys.Open(p("a/b/x"))
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if n, err := f.ReadAt(buf, 0); n != 1 || err != io.EOF {
				t.Errorf("ReadAt past end = %d, %v; want 1, EOF", n, err)
			}
			if _, err := f.Write([]byte("no")); err == nil {
				t.Error("Write to a file opened for reading succeeded")
			}
			f.Close()

			// OpenFile.
			if _, err := fsys.OpenFile(p("a/b/x"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
				t.Errorf("OpenFile O_EXCL of an existing file: %v", err)
			}
			if _, err := fsys.OpenFile(p("a/b/none"), os.O_RDWR, 0); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("OpenFile of a missing file without O_CREATE: %v", err)
			}
			w, err := fsys.OpenFile(p("a/b/x"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("yz")); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Read(make([]byte, 1)); err == nil {
				t.Error("Read from a file opened write-only succeeded")
			}
			if err := w.Sync(); err != nil {
				t.Errorf("Sync of a reopened file: %v", err)
			}
			w.Close()
			if got := readFile(t, fsys, p("a/b/x")); got != "zyz" {
				t.Errorf("after append x = %q", got)
			}
			w, err = fsys.OpenFile(p("a/b/new"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			if err := fsys.Remove(p("a/b/new")); err != nil {
				t.Fatal(err)
			}

			// Errors.
			if _, err := fsys.Open(p("missing")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open missing: %v", err)
			}
			if err := fsys.Remove(p("a/b")); err == nil {
				t.Error("Remove of a non-empty directory succeeded")
			}
			if err := fsys.Remove(p("missing")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Remove missing: %v", err)
			}
			if err := fsys.Rename(p("missing"), p("other")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Rename missing: %v", err)
			}
			if _, err := fsys.Create(p("nodir/x")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Create in a missing directory: %v", err)
			}
			if err := fsys.MkdirAll(p("a/b/x/c"), 0o755); err == nil {
				t.Error("MkdirAll through a file succeeded")
			}

			// Directory rename, Remove, RemoveAll.
			if err := fsys.Rename(p("a/b"), p("a/c")); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, fsys, p("a/c/x")); got != "zyz" {
				t.Errorf("after directory rename x = %q", got)
			}
			if err := fsys.Remove(p("a/c/x")); err != nil {
				t.Fatal(err)
			}
			if err := fsys.Remove(p("a/c")); err != nil {
				t.Fatal(err)
			}
			if err := fsys.MkdirAll(p("a/d/e"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, fsys, p("a/d/e/f"), "x")
			if err := fsys.RemoveAll(p("a")); err != nil {
				t.Fatal(err)
			}
			if err := fsys.RemoveAll(p("a")); err != nil {
				t.Errorf("RemoveAll of a missing name: %v", err)
			}
			if _, err := fsys.Stat(p("a")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat after RemoveAll: %v", err)
			}
			if err := fsys.SyncDir(root); err != nil {
				t.Errorf("SyncDir: %v", err)
			}
		})
	}
}

func TestLock(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			fsys := impl.fs
			if err := fsys.MkdirAll(impl.root, 0o755); err != nil {
				t.Fatal(err)
			}
			lockName := filepath.Join(impl.root, "LOCK")
			l, err := fsys.Lock(lockName)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.Lock(lockName); !errors.Is(err, ErrLocked) {
				t.Fatalf("second Lock: %v, want ErrLocked", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2, err := fsys.Lock(lockName)
			if err != nil {
				t.Fatalf("Lock after release: %v", err)
			}
			l2.Close()
		})
	}
}
