package catalog

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/vfs"
)

// gcRun accumulates what one GC removed.
type gcRun struct {
	removed int
	bytes   int64
	err     error // the first removal error; GC carries on past it
}

func (r *gcRun) note(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// GC removes what no retained version needs, and what crashes left behind:
//
//   - the directories of deleted databases and of databases whose first
//     commit never completed;
//   - manifests older than the retained versions, and manifests above the
//     current version (commits that failed or were interrupted);
//   - temporary files no live operation is writing;
//   - objects that no retained version of any database lists and no live
//     transaction has written or checked.
//
// It returns the number of files and directories removed and the bytes of
// the files among them. GC runs alongside readers, transactions and
// commits; it never removes anything they use. An error stops nothing: GC
// removes what it can and reports the first failure.
func (c *Catalog) GC(ctx context.Context) (removed int, bytes int64, err error) {
	c.mu.Lock()
	err = c.beginOp()
	c.mu.Unlock()
	if err != nil {
		return 0, 0, fmt.Errorf("gc: %w", err)
	}
	defer c.ops.Done()
	start := time.Now()
	var run gcRun
	if err := c.gcDatabases(ctx, &run); err != nil {
		run.note(err)
	}
	if ctx.Err() == nil {
		if err := c.gcObjects(ctx, &run); err != nil {
			run.note(err)
		}
	}
	if run.removed > 0 {
		c.log.Info("catalog: garbage collected", "removed", run.removed, "bytes", run.bytes, "elapsed", time.Since(start))
	}
	if run.err == nil {
		run.err = ctx.Err()
	}
	if run.err != nil {
		return run.removed, run.bytes, fmt.Errorf("gc: %w", run.err)
	}
	return run.removed, run.bytes, nil
}

func (c *Catalog) gcDatabases(ctx context.Context, run *gcRun) error {
	root := c.path("databases")
	ents, err := c.fs.ReadDir(root)
	if err != nil {
		return err
	}
	changed := false
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		if strings.HasPrefix(name, deletedPrefix) {
			changed = c.gcRemoveTree(filepath.Join(root, name), run) || changed
			continue
		}
		if !e.IsDir() || !isDatabaseDir(name) {
			continue
		}
		c.mu.Lock()
		db := c.dbByDir(name)
		keep := c.liveDirs[name] || c.keepDirs[name]
		c.mu.Unlock()
		switch {
		case db != nil:
			c.gcManifests(ctx, db, run)
		case !keep:
			// A database whose first commit never completed: the
			// directory is registered as live before it is created, so
			// one that is neither live nor loaded is abandoned.
			changed = c.gcRemoveTree(filepath.Join(root, name), run) || changed
		}
	}
	if changed {
		run.note(c.fs.SyncDir(root))
	}
	return nil
}

// dbByDir returns the loaded database stored in dir. The caller holds c.mu.
func (c *Catalog) dbByDir(dir string) *database {
	for _, db := range c.dbs {
		if db.dir == dir {
			return db
		}
	}
	return nil
}

// gcManifests removes a database's temporary files and the manifests no
// longer retained. Manifests below the current version are never written
// again, so they go at once; manifests above it are left by failed
// commits, and since a replica may commit that very version again, they
// go only while GC holds the database as its writer, and not at all if
// someone else does.
func (c *Catalog) gcManifests(ctx context.Context, db *database, run *gcRun) {
	dbDir := c.dbPath(db.dir)
	mdir := c.dbPath(db.dir, "manifests")
	if c.gcTemps(dbDir, run) {
		run.note(c.fs.SyncDir(dbDir))
	}
	ents, err := c.fs.ReadDir(mdir)
	if err != nil {
		if !vfs.IsNotExist(err) { // deleted meanwhile: nothing to do
			run.note(err)
		}
		return
	}
	changed := c.gcTempEntries(mdir, ents, run)
	var orphans []fs.DirEntry
	for _, e := range ents {
		v, ok := parseManifestName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		c.mu.Lock()
		cur := db.current.Version
		retained := db.retains(v)
		c.mu.Unlock()
		switch {
		case v < cur && !retained:
			changed = c.gcRemoveFile(filepath.Join(mdir, e.Name()), e, run) || changed
		case v > cur:
			orphans = append(orphans, e)
		}
	}
	if len(orphans) > 0 && ctx.Err() == nil {
		c.mu.Lock()
		key := nameKey(db.current.Database)
		_, busy := c.writers[key]
		held := !busy && c.dbs[key] == db && !c.closed
		if held {
			c.writers[key] = &writer{done: make(chan struct{}), gc: true}
		}
		c.mu.Unlock()
		if held {
			for _, e := range orphans {
				changed = c.gcRemoveFile(filepath.Join(mdir, e.Name()), e, run) || changed
			}
			if changed {
				run.note(c.fs.SyncDir(mdir))
				changed = false
			}
			c.lockedRelease(key)
		}
	}
	if changed {
		run.note(c.fs.SyncDir(mdir))
	}
}

// retains reports whether version v is retained. The caller holds c.mu.
func (db *database) retains(v int64) bool {
	for _, m := range db.retained {
		if m.Version == v {
			return true
		}
	}
	return false
}

// gcObjects removes unused objects and dead temporary files from the
// object directories.
func (c *Catalog) gcObjects(ctx context.Context, run *gcRun) error {
	root := c.path("objects")
	ents, err := c.fs.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() || !isObjectDirName(e.Name()) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		files, err := c.fs.ReadDir(dir)
		if err != nil {
			run.note(err)
			continue
		}
		changed := c.gcTempEntries(dir, files, run)
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			h, ok := parseObjectName(e.Name(), f.Name())
			if !ok {
				continue
			}
			c.mu.Lock()
			if c.refs[h] > 0 || c.pins[h] > 0 || c.deleting[h] {
				c.mu.Unlock()
				continue
			}
			// Writers of this object wait until the removal is over, so
			// that it cannot remove a copy they have just written.
			c.deleting[h] = true
			delete(c.objects, h)
			c.mu.Unlock()
			changed = c.gcRemoveFile(filepath.Join(dir, f.Name()), f, run) || changed
			c.mu.Lock()
			delete(c.deleting, h)
			c.cond.Broadcast()
			c.mu.Unlock()
		}
		if changed {
			run.note(c.fs.SyncDir(dir))
		}
	}
	return nil
}

// gcTemps removes the dead temporary files of dir.
func (c *Catalog) gcTemps(dir string, run *gcRun) bool {
	ents, err := c.fs.ReadDir(dir)
	if err != nil {
		if !vfs.IsNotExist(err) {
			run.note(err)
		}
		return false
	}
	return c.gcTempEntries(dir, ents, run)
}

// gcTempEntries removes the temporary files among ents that no live
// operation is writing. A live temporary file is registered before it is
// created, so one that is listed but not registered is dead.
func (c *Catalog) gcTempEntries(dir string, ents []fs.DirEntry, run *gcRun) bool {
	changed := false
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tmpPrefix) || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		c.mu.Lock()
		live := c.temps[p]
		c.mu.Unlock()
		if !live {
			changed = c.gcRemoveFile(p, e, run) || changed
		}
	}
	return changed
}

// gcRemoveFile removes one file, counting it; it reports whether anything
// was removed.
func (c *Catalog) gcRemoveFile(p string, e fs.DirEntry, run *gcRun) bool {
	var size int64
	if info, err := e.Info(); err == nil {
		size = info.Size()
	}
	if err := c.fs.Remove(p); err != nil {
		if !vfs.IsNotExist(err) {
			run.note(err)
		}
		return false
	}
	run.removed++
	run.bytes += size
	return true
}

// gcRemoveTree removes a directory and what it holds, counting every file
// and directory.
func (c *Catalog) gcRemoveTree(p string, run *gcRun) bool {
	n, size := c.treeSize(p)
	if err := c.fs.RemoveAll(p); err != nil {
		run.note(err)
		return false
	}
	run.removed += n
	run.bytes += size
	return true
}

func (c *Catalog) treeSize(p string) (n int, size int64) {
	n = 1
	ents, err := c.fs.ReadDir(p)
	if err != nil {
		return n, 0
	}
	for _, e := range ents {
		if e.IsDir() {
			dn, ds := c.treeSize(filepath.Join(p, e.Name()))
			n, size = n+dn, size+ds
			continue
		}
		n++
		if info, err := e.Info(); err == nil {
			size += info.Size()
		}
	}
	return n, size
}
