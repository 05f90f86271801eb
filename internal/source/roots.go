package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutsideRoots is returned (wrapped) for a path that is not inside any
// of the source roots, however it gets out: an absolute path elsewhere,
// ".." segments, or a symbolic link that points away.
var ErrOutsideRoots = errors.New("source: path is outside the source roots")

// ErrBadPath is returned (wrapped) for a path Meridian refuses to interpret
// at all: empty, containing a NUL byte, or in a Windows-only form (drive
// letters, UNC shares) that means nothing on this server.
var ErrBadPath = errors.New("source: bad path")

// Roots confines file sources to a set of directories (the server's
// --source-root flags). Every path a model names goes through Resolve or
// Open; nothing outside the roots can be read, whichever way the path is
// written and whatever symbolic links lie along it.
//
// A Roots is immutable and safe for concurrent use.
type Roots struct {
	dirs []string // absolute, cleaned, as given
	real []string // the same directories with symbolic links resolved
}

// NewRoots returns the roots for the given directories. Each must exist and
// be a directory. Relative directories are taken from the working
// directory. A relative path given to Resolve or Open is read from the
// first root.
func NewRoots(dirs ...string) (*Roots, error) {
	if len(dirs) == 0 {
		return nil, errors.New("source: no source roots given")
	}
	r := &Roots{}
	for _, d := range dirs {
		if d == "" || strings.IndexByte(d, 0) >= 0 {
			return nil, fmt.Errorf("source root %q: %w", d, ErrBadPath)
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("source root %q: %w", d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("source root %q: %w", d, err)
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("source root %q: %w", d, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("source root %q: not a directory", d)
		}
		r.dirs = append(r.dirs, abs)
		r.real = append(r.real, real)
	}
	return r, nil
}

// Dirs returns the root directories, absolute, in the order given.
func (r *Roots) Dirs() []string { return append([]string(nil), r.dirs...) }

// Resolve returns the real path (symbolic links resolved) of a file inside
// the roots. A relative path is taken from the first root; an absolute one
// must lie inside one of them. Backslashes are read as separators, so that
// models written on Windows with relative paths like `data\Sales.csv` work;
// drive letters and UNC paths are refused. The file must exist: its links
// can only be checked once they are there.
func (r *Roots) Resolve(path string) (string, error) {
	real, _, err := r.resolve(path)
	return real, err
}

// resolve also returns the index of the root the path resolved into.
func (r *Roots) resolve(path string) (string, int, error) {
	p, err := r.candidate(path)
	if err != nil {
		return "", -1, err
	}
	// Check the path as written first: a path that climbs out lexically is
	// refused with the same error whether or not the target exists.
	if r.within(p) < 0 {
		return "", -1, r.outside(path)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", -1, fmt.Errorf("source file %q: %w", path, fs.ErrNotExist)
		}
		return "", -1, fmt.Errorf("source file %q: %w", path, err)
	}
	i := r.withinReal(real)
	if i < 0 {
		return "", -1, r.outside(path)
	}
	return real, i, nil
}

// candidate turns a path as a model writes it into an absolute, cleaned
// path, refusing the forms that cannot be meant for this server.
func (r *Roots) candidate(path string) (string, error) {
	switch {
	case path == "":
		return "", fmt.Errorf("source file path is empty: %w", ErrBadPath)
	case strings.IndexByte(path, 0) >= 0:
		return "", fmt.Errorf("source file %q: contains a NUL byte: %w", path, ErrBadPath)
	case isDrivePath(path):
		return "", fmt.Errorf("source file %q: Windows drive paths are not supported; use a path relative to the source root %s: %w",
			path, r.dirs[0], ErrBadPath)
	case strings.HasPrefix(path, `\\`) || strings.HasPrefix(path, `//`):
		return "", fmt.Errorf("source file %q: network share paths are not supported; use a path relative to the source root %s: %w",
			path, r.dirs[0], ErrBadPath)
	}
	p := path
	if filepath.Separator == '/' {
		p = strings.ReplaceAll(p, `\`, "/")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.dirs[0], p)
	}
	return filepath.Clean(p), nil
}

func (r *Roots) outside(path string) error {
	return fmt.Errorf("source file %q is outside the source roots (%s): %w",
		path, strings.Join(r.dirs, ", "), ErrOutsideRoots)
}

// isDrivePath reports whether p starts with a Windows drive letter: "C:",
// "C:\x", "c:/x".
func isDrivePath(p string) bool {
	if len(p) < 2 || p[1] != ':' {
		return false
	}
	c := p[0] | 0x20
	return 'a' <= c && c <= 'z'
}

// within returns the index of the root (as given) that contains p, or of
// the root whose real path contains it, or -1.
func (r *Roots) within(p string) int {
	for i := range r.dirs {
		if inside(r.dirs[i], p) || inside(r.real[i], p) {
			return i
		}
	}
	return -1
}

// withinReal returns the index of the root whose real path contains the
// real path p, or -1.
func (r *Roots) withinReal(p string) int {
	for i, d := range r.real {
		if inside(d, p) {
			return i
		}
	}
	return -1
}

// inside reports whether the cleaned absolute path p is dir or below it.
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// Open opens a regular file inside the roots for reading. The path is
// checked as Resolve does, then opened through an os.Root on the root that
// holds it, so a link swapped in between the check and the open still
// cannot lead outside.
func (r *Roots) Open(path string) (*os.File, error) {
	real, i, err := r.resolve(path)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(r.real[i], real)
	if err != nil {
		return nil, fmt.Errorf("source file %q: %w", path, err)
	}
	root, err := os.OpenRoot(r.real[i])
	if err != nil {
		return nil, fmt.Errorf("open source root %s: %w", r.dirs[i], err)
	}
	defer root.Close()
	// Refuse what is not a regular file before opening it: opening a FIFO
	// would block, and a directory or device is never a data file.
	fi, err := root.Stat(rel)
	if err != nil {
		return nil, fmt.Errorf("source file %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("source file %q: not a regular file", path)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("open source file %q: %w", path, err)
	}
	return f, nil
}
