package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The file backend stores each object as a plain file under the store's
// directory, so that backups can be copied out with ordinary tools. All
// access goes through an os.Root, so no name (nor a symbolic link placed in
// the tree) can reach outside the directory.
//
// Layout under the directory:
//
//	<name>                    the object's bytes
//	.meridian-tmp/<random>    writes in progress; renamed into place
//	.meridian-meta/<dev>-<ino> JSON sidecar of the file with that inode:
//	                          ETag, content type and metadata, with the
//	                          inode's size and mtime
//
// A write streams into a temporary file while hashing it (SHA-256, the
// ETag), syncs it, writes the sidecar for the new inode, then takes an
// exclusive flock on the object's parent directory, checks the write's
// condition, renames the file into place and syncs the directory. The lock
// is on the directory itself, so writers through different Stores and
// processes exclude each other, whatever directory their Store was opened
// on. Unconditional writes take the lock too, so that a conditional write
// is never overtaken between its check and its rename.
//
// Sidecars are keyed by inode, so an object and its sidecar change
// together at the rename, with no window in which a reader could pair new
// bytes with old metadata. A sidecar whose size or mtime does not match its
// file (a file replaced or edited by hand, or a crash between the two
// steps) is ignored: the ETag is then computed from the bytes and the
// sidecar rewritten, without metadata.

const (
	fileTmpDir  = ".meridian-tmp"
	fileMetaDir = ".meridian-meta"
	// Temporary files older than this are left over from crashed writers.
	staleTmpAge = 24 * time.Hour
)

type fileStore struct {
	root *os.Root
}

type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

// fileMeta is the sidecar format.
type fileMeta struct {
	Version     int               `json:"v"`
	Dev         uint64            `json:"dev"`
	Ino         uint64            `json:"ino"`
	Size        int64             `json:"size"`
	MTime       int64             `json:"mtime"`
	ETag        string            `json:"etag"`
	ContentType string            `json:"contentType,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func (m fileMeta) id() fileID { return fileID{m.Dev, m.Ino, m.Size, m.MTime} }

func metaName(id fileID) string { return fmt.Sprintf("%s/%x-%x", fileMetaDir, id.dev, id.ino) }

func openFile(dir string) (*fileStore, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fileErr(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fileErr(err)
	}
	// The bookkeeping directories are made when first needed, so that a
	// read-only directory (a mounted backup, say) can still be read.
	s := &fileStore{root: root}
	s.removeStaleTemps()
	return s, nil
}

func (s *fileStore) removeStaleTemps() {
	entries, err := fs.ReadDir(s.root.FS(), fileTmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTmpAge {
			_ = s.root.Remove(fileTmpDir + "/" + e.Name())
		}
	}
}

// fileErr maps file system errors to the package's.
func fileErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// createTemp makes a new file in the temporary directory.
func (s *fileStore) createTemp() (*os.File, string, error) {
	for range 10 {
		name := fileTmpDir + "/" + rand.Text()
		f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrNotExist) {
			if err := s.root.Mkdir(fileTmpDir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, "", err
			}
			continue
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("create temporary file: names exhausted")
}

// renameMeta moves a finished sidecar into place.
func (s *fileStore) renameMeta(tmp, name string) error {
	err := s.root.Rename(tmp, name)
	if errors.Is(err, fs.ErrNotExist) {
		if err := s.root.Mkdir(fileMetaDir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		err = s.root.Rename(tmp, name)
	}
	return err
}

// writeMeta stores a sidecar, atomically.
func (s *fileStore) writeMeta(m fileMeta) error {
	m.Version = 1
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, tmp, err := s.createTemp()
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.renameMeta(tmp, metaName(m.id()))
	}
	if err != nil {
		_ = s.root.Remove(tmp)
	}
	return err
}

// readMeta returns the sidecar of the file id, if there is a current one.
func (s *fileStore) readMeta(id fileID) (fileMeta, bool) {
	data, err := s.root.ReadFile(metaName(id))
	if err != nil {
		return fileMeta{}, false
	}
	var m fileMeta
	if json.Unmarshal(data, &m) != nil || m.Version != 1 || m.id() != id || m.ETag == "" {
		return fileMeta{}, false
	}
	return m, true
}

// attrsOf returns the attributes of the open file f, from its sidecar or,
// when that is missing or stale, by hashing its content.
func (s *fileStore) attrsOf(f *os.File, fi os.FileInfo) (Attributes, error) {
	a := Attributes{Size: fi.Size(), ModTime: fi.ModTime().UTC(), ContentType: "application/octet-stream"}
	id, ok := identity(fi)
	if ok {
		if m, ok := s.readMeta(id); ok {
			a.ETag, a.Metadata = m.ETag, maps.Clone(m.Metadata)
			if m.ContentType != "" {
				a.ContentType = m.ContentType
			}
			return a, nil
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return Attributes{}, fileErr(err)
	}
	a.ETag = contentETag(h.Sum(nil))
	if ok {
		// Best effort: the sidecar only saves hashing the file again.
		_ = s.writeMeta(fileMeta{Dev: id.dev, Ino: id.ino, Size: id.size, MTime: id.mtime, ETag: a.ETag})
	}
	return a, nil
}

// lockDir opens dir and holds an exclusive lock on it until unlock.
func (s *fileStore) lockDir(ctx context.Context, dir string) (d *os.File, unlock func(), err error) {
	d, err = s.root.Open(dir)
	if err != nil {
		return nil, nil, fileErr(err)
	}
	release, err := lockFile(ctx, d)
	if err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return d, func() { release(); d.Close() }, nil
}

func (s *fileStore) put(ctx context.Context, key string, r io.Reader, o PutOptions) (err error) {
	f, tmp, err := s.createTemp()
	if err != nil {
		return fileErr(err)
	}
	var newMeta string
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			_ = s.root.Remove(tmp)
			if newMeta != "" {
				_ = s.root.Remove(newMeta)
			}
		}
	}()
	h := sha256.New()
	// Pieces of 128 KiB: Linux spends about three times the CPU on
	// writes of a megabyte or more (see catalog's writeChunked).
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx, r}, make([]byte, 128<<10)); err != nil {
		return err
	}
	// Sync before the rename, so that after a crash the name holds either
	// the old bytes or all the new ones.
	if err := f.Sync(); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	etag := contentETag(h.Sum(nil))
	if id, ok := identity(fi); ok {
		m := fileMeta{Dev: id.dev, Ino: id.ino, Size: id.size, MTime: id.mtime, ETag: etag,
			ContentType: o.contentType(), Metadata: o.Metadata}
		if err := s.writeMeta(m); err != nil {
			return fmt.Errorf("write metadata: %w", err)
		}
		newMeta = metaName(id)
	}

	parent := path.Dir(key)
	if err := s.root.MkdirAll(parent, 0o777); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("a segment of the name is an object: %w", err)
		}
		return fileErr(err)
	}
	d, unlock, err := s.lockDir(ctx, parent)
	if err != nil {
		return err
	}
	defer unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	cur, err := s.root.Lstat(key)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileErr(err)
	}
	if exists && cur.IsDir() {
		return errors.New("the name is a directory holding other objects")
	}
	switch {
	case o.IfNotExists && exists:
		return ErrExists
	case o.IfMatch != "" && !exists:
		return fmt.Errorf("%w: object does not exist", ErrPrecondition)
	case o.IfMatch != "":
		a, err := s.statKey(key)
		if err != nil {
			return err
		}
		if a.ETag != o.IfMatch {
			return fmt.Errorf("%w: ETag is %s, not %s", ErrPrecondition, a.ETag, o.IfMatch)
		}
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fileErr(err)
	}
	newMeta = ""
	_ = d.Sync()
	if exists && cur.Mode().IsRegular() {
		if old, ok := identity(cur); ok && old.ino != 0 {
			if id, _ := identity(fi); id.ino != old.ino || id.dev != old.dev {
				_ = s.root.Remove(metaName(old))
			}
		}
	}
	return nil
}

// open opens the object's file, refusing directories.
func (s *fileStore) open(key string) (*os.File, os.FileInfo, error) {
	f, err := s.root.Open(key)
	if err != nil {
		return nil, nil, fileErr(err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotFound
	}
	if err != nil {
		f.Close()
		return nil, nil, fileErr(err)
	}
	return f, fi, nil
}

func (s *fileStore) statKey(key string) (Attributes, error) {
	f, fi, err := s.open(key)
	if err != nil {
		return Attributes{}, err
	}
	defer f.Close()
	return s.attrsOf(f, fi)
}

type fileReader struct {
	io.Reader
	f *os.File
}

func (r fileReader) Close() error { return r.f.Close() }

func (s *fileStore) get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Attributes, error) {
	f, fi, err := s.open(key)
	if err != nil {
		return nil, Attributes{}, err
	}
	a, err := s.attrsOf(f, fi)
	if err != nil {
		f.Close()
		return nil, Attributes{}, err
	}
	// The open file keeps this version's bytes readable even if the name
	// is replaced meanwhile: writes never modify a file in place.
	var rd io.Reader = io.NewSectionReader(f, off, max(fi.Size()-off, 0))
	if n >= 0 {
		rd = io.LimitReader(rd, n)
	}
	return fileReader{ctxReader{ctx, rd}, f}, a, nil
}

func (s *fileStore) stat(_ context.Context, key string) (Attributes, error) {
	return s.statKey(key)
}

func (s *fileStore) list(ctx context.Context, prefix string, fn func(string, int64, time.Time) bool) error {
	type entry struct {
		key  string
		size int64
		mod  time.Time
	}
	start, _ := splitPrefix(prefix)
	if start == "" {
		start = "."
	}
	var found []entry
	err := fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil // the prefix names nothing, or a file vanished
			}
			return fileErr(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == start {
				return nil
			}
			if strings.HasPrefix(d.Name(), reservedPrefix) ||
				!strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed since the directory was read
		}
		found = append(found, entry{p, info.Size(), info.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(x, y entry) int { return strings.Compare(x.key, y.key) })
	for _, e := range found {
		if !fn(e.key, e.size, e.mod) {
			return nil
		}
	}
	return nil
}

func (s *fileStore) delete(ctx context.Context, key string) error {
	_, unlock, err := s.lockDir(ctx, path.Dir(key))
	if err != nil {
		return err
	}
	defer unlock()
	fi, err := s.root.Lstat(key)
	if err != nil {
		return fileErr(err)
	}
	if fi.IsDir() {
		return ErrNotFound
	}
	if err := s.root.Remove(key); err != nil {
		return fileErr(err)
	}
	if id, ok := identity(fi); ok && fi.Mode().IsRegular() {
		_ = s.root.Remove(metaName(id))
	}
	return nil
}

func (s *fileStore) close() error { return s.root.Close() }
