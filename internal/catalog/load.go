package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// scanObjects lists objects/ into c.objects. Temporary files and names
// that are not objects are left for GC. The directories are listed in
// parallel: most of the time goes to one stat per object.
func (c *Catalog) scanObjects(ctx context.Context) error {
	ents, err := c.fs.ReadDir(c.path("objects"))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(scanParallelism)
	for _, e := range ents {
		if !e.IsDir() || !isObjectDirName(e.Name()) {
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			sub, err := c.fs.ReadDir(c.path("objects", e.Name()))
			if err != nil {
				return err
			}
			found := make(map[image.Hash]int64, len(sub))
			for _, f := range sub {
				h, ok := parseObjectName(e.Name(), f.Name())
				if !ok {
					continue
				}
				info, err := f.Info()
				if vfs.IsNotExist(err) {
					continue
				}
				if err != nil {
					return err
				}
				if info.Mode().IsRegular() {
					found[h] = info.Size()
				}
			}
			b, _ := strconv.ParseUint(e.Name(), 16, 8)
			mu.Lock()
			maps.Copy(c.objects, found)
			c.objDirs[b] = true
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// scanParallelism is how many directories Open lists, syncs or verifies
// at once.
const scanParallelism = 8

// loadDatabases loads every database directory. A database that cannot be
// loaded is logged and its directory kept, never an error: one damaged
// database must not keep the others from being served.
func (c *Catalog) loadDatabases(ctx context.Context) error {
	ents, err := c.fs.ReadDir(c.path("databases"))
	if err != nil {
		return err
	}
	verified := map[image.Hash]bool{}
	for _, e := range ents {
		if !e.IsDir() || !isDatabaseDir(e.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		db := c.loadDatabase(e.Name(), verified)
		if db == nil {
			continue
		}
		// Two directories never claim one name unless files were copied
		// by hand; serve the higher version (on a tie, the first directory
		// in name order, as ReadDir sorts them) and leave the other alone.
		key := nameKey(db.current.Database)
		other, ok := c.dbs[key]
		if !ok {
			c.dbs[key] = db
			continue
		}
		winner, loser := other, db
		if db.current.Version > other.current.Version {
			winner, loser = db, other
		}
		c.log.Error("catalog: two database directories hold the same name; serving one and leaving the other on disk",
			"database", db.current.Database, "serving", winner.dir, "version", winner.current.Version,
			"ignored", loser.dir, "ignoredVersion", loser.current.Version)
		c.dbs[key] = winner
		c.keepDirs[loser.dir] = true
		for _, m := range loser.retained {
			c.addRefs(m, 1) // its objects stay until a person decides
		}
	}
	for _, db := range c.dbs {
		for _, m := range db.retained {
			c.addRefs(m, 1)
		}
	}
	return nil
}

// loadDatabase loads one database directory, or returns nil when it holds
// no loadable version.
//
// The current version is the one CURRENT names, if its manifest is intact
// and every object it lists is present. When CURRENT is missing or
// unreadable, it is the newest such version; when CURRENT names a version
// that cannot be loaded, the newest one below it. Versions above a
// readable CURRENT were never committed and are ignored.
func (c *Catalog) loadDatabase(dir string, verified map[image.Hash]bool) *database {
	log := c.log.With("dir", filepath.Join("databases", dir))
	var versions []int64
	ents, err := c.fs.ReadDir(c.dbPath(dir, "manifests"))
	if err != nil && !vfs.IsNotExist(err) {
		log.Error("catalog: cannot list the manifests of a database; leaving it on disk", "err", err)
		c.keepDirs[dir] = true
		return nil
	}
	for _, e := range ents {
		if v, ok := parseManifestName(e.Name()); ok && !e.IsDir() {
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	slices.Reverse(versions) // newest first
	db := &database{dir: dir}
	if len(versions) > 0 {
		db.maxSeen = versions[0]
	}

	candidates := versions
	b, perr := c.readFile(c.dbPath(dir, "CURRENT"), maxPointerSize)
	var ptr pointer
	if perr == nil {
		ptr, perr = decodePointer(b)
	}
	switch {
	case perr == nil:
		db.maxSeen = max(db.maxSeen, ptr.Version)
		m, err := c.loadManifest(dir, ptr.Version, &ptr.Manifest, verified)
		if err == nil {
			db.current = m
			break
		}
		log.Warn("catalog: CURRENT names a version that cannot be loaded; falling back to the newest intact version below it",
			"version", ptr.Version, "err", err)
		candidates = nil
		for _, v := range versions {
			if v < ptr.Version {
				candidates = append(candidates, v)
			}
		}
	case vfs.IsNotExist(perr):
		// The first commit of the database was interrupted before its
		// pointer was durable: expected after a crash, so not a warning.
		log.Debug("catalog: database has no CURRENT; using the newest intact version", "versions", len(versions))
	default:
		log.Warn("catalog: CURRENT cannot be read; using the newest intact version", "err", perr)
	}
	if db.current == nil {
		for _, v := range candidates {
			m, err := c.loadManifest(dir, v, nil, verified)
			if err == nil {
				db.current = m
				break
			}
			log.Debug("catalog: skipping version", "version", v, "err", err)
		}
	}
	if db.current == nil {
		if len(versions) == 0 && vfs.IsNotExist(perr) {
			// An interrupted first commit that wrote no manifest: GC
			// removes the directory.
			return nil
		}
		log.Error("catalog: database directory holds no loadable version; leaving it on disk", "versions", versions)
		c.keepDirs[dir] = true
		for _, v := range versions {
			if b, err := c.readFile(c.dbPath(dir, "manifests", manifestName(v)), maxManifestSize); err == nil {
				if m, err := image.Unmarshal(b); err == nil {
					c.addRefs(m, 1) // keep whatever objects it still has
				}
			}
		}
		return nil
	}
	db.retained = []*image.Manifest{db.current}
	for _, v := range versions {
		if len(db.retained) >= c.keep {
			break
		}
		if v >= db.current.Version {
			continue
		}
		if m, err := c.loadManifest(dir, v, nil, verified); err == nil {
			db.retained = append(db.retained, m)
		}
	}
	slices.Reverse(db.retained) // oldest first
	return db
}

// loadManifest reads and checks the manifest of version v: intact, for
// version v, matching want (the pointer's hash) when given, and every
// object present with its size (and its hash, with Options.Verify).
func (c *Catalog) loadManifest(dir string, v int64, want *image.Hash, verified map[image.Hash]bool) (*image.Manifest, error) {
	b, err := c.readFile(c.dbPath(dir, "manifests", manifestName(v)), maxManifestSize)
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(b, v, want)
	if err != nil {
		return nil, err
	}
	var check []image.ObjectRef
	for _, o := range m.Objects {
		size, ok := c.objects[o.Hash]
		switch {
		case !ok:
			return nil, fmt.Errorf("version %d: object %s: %w", v, o.Hash, ErrNotFound)
		case size != o.Size:
			return nil, fmt.Errorf("%w: version %d: object %s has %d bytes, the manifest says %d", ErrCorrupt, v, o.Hash, size, o.Size)
		}
		if c.verify && !verified[o.Hash] {
			check = append(check, o)
		}
	}
	if len(check) == 0 {
		return m, nil
	}
	// Hash on every core; any damaged object fails the version.
	var mu sync.Mutex
	var bad []image.Hash
	g := new(errgroup.Group)
	g.SetLimit(max(runtime.GOMAXPROCS(0), 2))
	for _, o := range check {
		g.Go(func() error {
			data, err := c.readFile(c.objectPath(o.Hash), o.Size)
			if err == nil {
				err = image.Verify(o.Hash, data)
			}
			if err != nil {
				mu.Lock()
				bad = append(bad, o.Hash)
				mu.Unlock()
				return fmt.Errorf("%w: version %d: object %s: %w", ErrCorrupt, v, o.Hash, err)
			}
			return nil
		})
	}
	err = g.Wait()
	for _, h := range bad {
		// Forget the object, so that a later write replaces it.
		delete(c.objects, h)
	}
	if err != nil {
		return nil, err
	}
	for _, o := range check {
		verified[o.Hash] = true
	}
	return m, nil
}

// readFile reads a whole file of at most limit bytes.
func (c *Catalog) readFile(name string, limit int64) ([]byte, error) {
	f, err := c.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%w: %s has %d bytes (at most %d expected)", ErrCorrupt, name, fi.Size(), limit)
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s shrank while being read", ErrCorrupt, name)
		}
		return nil, err
	}
	return b, nil
}

// syncLoaded makes durable every directory entry Open relied on. After the
// previous process was killed (not the machine), files it renamed into
// place are visible but their names may not be durable yet; serving such a
// version and then losing it to a power failure would let a version that
// clients (or replicas) saw disappear. Syncing a directory with nothing
// pending is cheap, and the syncs run in parallel.
func (c *Catalog) syncLoaded(ctx context.Context) error {
	var dirs []string
	for b, ok := range c.objDirs {
		if ok {
			dirs = append(dirs, c.path("objects", fmt.Sprintf("%02x", b)))
		}
	}
	for _, db := range c.dbs {
		dirs = append(dirs, c.dbPath(db.dir, "manifests"), c.dbPath(db.dir))
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(scanParallelism)
	for _, d := range dirs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return c.fs.SyncDir(d)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Then the directories holding those, innermost first.
	for _, d := range []string{c.path("objects"), c.path("databases"), c.dir} {
		if err := c.fs.SyncDir(d); err != nil {
			return err
		}
	}
	if parent := filepath.Dir(c.dir); parent != c.dir {
		if err := c.fs.SyncDir(parent); err != nil {
			c.log.Warn("catalog: cannot sync the parent of the data directory", "dir", parent, "err", err)
		}
	}
	return nil
}
