package source

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rootsFixture builds:
//
//	base/
//	  root/            first root
//	    data/a.csv
//	    b.csv
//	    inlink  -> data/a.csv          (inside: allowed)
//	    outlink -> ../secret.txt        (escapes: refused)
//	    outdir  -> ..                   (escapes as a directory)
//	    abslink -> base/secret.txt      (absolute link out)
//	    tolink  -> base/other           (into the second root: allowed)
//	  other/           second root
//	    c.csv
//	  secret.txt
func rootsFixture(t *testing.T) (base string, roots *Roots) {
	t.Helper()
	base = t.TempDir()
	mk := func(p, body string) {
		t.Helper()
		full := filepath.Join(base, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("root/data/a.csv", "a")
	mk("root/b.csv", "b")
	mk("other/c.csv", "c")
	mk("secret.txt", "secret")
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(base, name)); err != nil {
			t.Skipf("symbolic links unavailable: %v", err)
		}
	}
	link("data/a.csv", "root/inlink")
	link("../secret.txt", "root/outlink")
	link("..", "root/outdir")
	link(filepath.Join(base, "secret.txt"), "root/abslink")
	link(filepath.Join(base, "other"), "root/tolink") // into the second root: allowed
	var err error
	roots, err = NewRoots(filepath.Join(base, "root"), filepath.Join(base, "other"))
	if err != nil {
		t.Fatal(err)
	}
	return base, roots
}

func TestRootsOpen(t *testing.T) {
	base, roots := rootsFixture(t)
	tests := []struct {
		name string
		path string
		want string // file contents, or "" when an error is expected
		err  error  // errors.Is target
		msg  string // substring of the message
	}{
		{name: "relative", path: "b.csv", want: "b"},
		{name: "relative subdir", path: "data/a.csv", want: "a"},
		{name: "dot segments inside", path: "./data/../b.csv", want: "b"},
		{name: "backslashes", path: `data\a.csv`, want: "a"},
		{name: "absolute in first root", path: filepath.Join(base, "root", "b.csv"), want: "b"},
		{name: "absolute in second root", path: filepath.Join(base, "other", "c.csv"), want: "c"},
		{name: "link inside", path: "inlink", want: "a"},
		{name: "link into another root", path: "tolink/c.csv", want: "c"},
		{name: "climbs out", path: "../secret.txt", err: ErrOutsideRoots, msg: `"../secret.txt" is outside the source roots`},
		{name: "climbs out deep", path: "data/../../secret.txt", err: ErrOutsideRoots},
		{name: "climbs out with backslashes", path: `..\secret.txt`, err: ErrOutsideRoots},
		{name: "absolute elsewhere", path: filepath.Join(base, "secret.txt"), err: ErrOutsideRoots, msg: filepath.Join(base, "root")},
		{name: "etc passwd", path: "/etc/passwd", err: ErrOutsideRoots},
		{name: "link out", path: "outlink", err: ErrOutsideRoots},
		{name: "absolute link out", path: "abslink", err: ErrOutsideRoots},
		{name: "link to parent dir", path: "outdir/secret.txt", err: ErrOutsideRoots},
		// A link that leaves and a path that comes back in ends inside: allowed.
		{name: "link to parent then back", path: "outdir/root/b.csv", want: "b"},
		{name: "drive path", path: `C:\data\Sales.csv`, err: ErrBadPath, msg: "Windows drive paths"},
		{name: "drive path slashes", path: `d:/data/Sales.csv`, err: ErrBadPath},
		{name: "unc path", path: `\\server\share\Sales.csv`, err: ErrBadPath, msg: "network share"},
		{name: "nul byte", path: "b.csv\x00.txt", err: ErrBadPath, msg: "NUL"},
		{name: "empty", path: "", err: ErrBadPath},
		{name: "missing", path: "nope.csv", err: fs.ErrNotExist},
		{name: "directory", path: "data", msg: "not a regular file"},
		{name: "root itself", path: ".", msg: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := roots.Open(tt.path)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("Open(%q): %v", tt.path, err)
				}
				defer f.Close()
				b, err := io.ReadAll(f)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.want {
					t.Errorf("Open(%q) read %q, want %q", tt.path, b, tt.want)
				}
				if _, err := roots.Resolve(tt.path); err != nil {
					t.Errorf("Resolve(%q): %v", tt.path, err)
				}
				return
			}
			if err == nil {
				f.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.path)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("Open(%q) = %v, want %v", tt.path, err, tt.err)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Open(%q) = %q, want it to mention %q", tt.path, err, tt.msg)
			}
		})
	}
}

func TestRootsResolve(t *testing.T) {
	base, roots := rootsFixture(t)
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := roots.Resolve("inlink")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(realBase, "root", "data", "a.csv"); got != want {
		t.Errorf("Resolve(inlink) = %q, want %q", got, want)
	}
	if _, err := roots.Resolve("outlink"); !errors.Is(err, ErrOutsideRoots) {
		t.Errorf("Resolve(outlink) = %v, want ErrOutsideRoots", err)
	}
}

// A root reached through a symbolic link works both by its link name and by
// its real path.
func TestRootsLinkedRoot(t *testing.T) {
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "real", "x.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "real"), filepath.Join(base, "link")); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
	roots, err := NewRoots(filepath.Join(base, "link"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"x.csv", filepath.Join(base, "link", "x.csv"), filepath.Join(base, "real", "x.csv")} {
		f, err := roots.Open(p)
		if err != nil {
			t.Errorf("Open(%q): %v", p, err)
			continue
		}
		f.Close()
	}
}

func TestNewRootsErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dirs []string
	}{
		{"none", nil},
		{"missing", []string{filepath.Join(dir, "missing")}},
		{"file", []string{file}},
		{"empty", []string{""}},
		{"nul", []string{dir + "\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRoots(tt.dirs...); err == nil {
				t.Errorf("NewRoots(%q) succeeded, want an error", tt.dirs)
			}
		})
	}
}
