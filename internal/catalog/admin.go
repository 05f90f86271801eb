package catalog

import (
	"context"
	"fmt"
	"time"
)

// Delete removes the named database. It is durable when Delete returns:
// the database directory is renamed to a deleted name in one atomic step
// (and databases/ synced) before it is removed. Objects no other database
// uses are reclaimed by the next GC. A database with a live transaction is
// busy (ErrBusy, or a wait with Options.WaitForWriter).
func (c *Catalog) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	key := nameKey(name)
	if err := c.acquire(ctx, key, name); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	defer c.lockedRelease(key)
	c.mu.Lock()
	db, ok := c.dbs[key]
	err := c.beginOp()
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("delete %q: %w", name, err)
	}
	defer c.ops.Done()
	if !ok {
		return fmt.Errorf("delete %q: %w", name, ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", name, err)
	}
	gone := c.path("databases", deletedPrefix+db.dir)
	if err := c.fs.Rename(c.dbPath(db.dir), gone); err != nil {
		return fmt.Errorf("delete %q: %w", name, err)
	}
	// From here the database is gone as far as anyone looking at the disk
	// can tell, so it is gone from memory too, even if the sync fails.
	c.mu.Lock()
	delete(c.dbs, key)
	for _, m := range db.retained {
		c.addRefs(m, -1)
	}
	c.mu.Unlock()
	if err := c.fs.SyncDir(c.path("databases")); err != nil {
		return fmt.Errorf("delete %q: %w", name, err)
	}
	if err := c.fs.RemoveAll(gone); err != nil {
		c.log.Warn("catalog: cannot remove a deleted database's directory; GC will", "dir", gone, "err", err)
	}
	return nil
}

// Rename gives a database a new name by committing a new version that
// differs only in its name: atomic and durable like any commit. The new
// name must be free (ErrExists) unless it differs from the old only in
// case. Both names are held as writers while it runs.
func (c *Catalog) Rename(ctx context.Context, oldName, newName string) error {
	for _, n := range []string{oldName, newName} {
		if err := checkName(n); err != nil {
			return fmt.Errorf("rename: %w", err)
		}
	}
	ko, kn := nameKey(oldName), nameKey(newName)
	if err := c.acquire(ctx, ko, oldName); err != nil {
		return fmt.Errorf("rename %q: %w", oldName, err)
	}
	defer c.lockedRelease(ko)
	if kn != ko {
		if err := c.acquire(ctx, kn, newName); err != nil {
			return fmt.Errorf("rename %q to %q: %w", oldName, newName, err)
		}
		defer c.lockedRelease(kn)
	}
	c.mu.Lock()
	db, ok := c.dbs[ko]
	_, taken := c.dbs[kn]
	err := c.beginOp()
	c.mu.Unlock()
	switch {
	case err != nil:
		return fmt.Errorf("rename %q: %w", oldName, err)
	case !ok:
		c.ops.Done()
		return fmt.Errorf("rename %q: %w", oldName, ErrNotFound)
	case taken && kn != ko:
		c.ops.Done()
		return fmt.Errorf("rename %q to %q: %w", oldName, newName, ErrExists)
	}
	defer c.ops.Done()
	if db.current.Database == newName {
		return nil
	}
	cp := *db.current
	cp.Database = newName
	cp.Version = max(db.current.Version, db.maxSeen) + 1
	cp.CommitTime = time.Now().UTC()
	mm, err := normalize(&cp)
	if err != nil {
		return fmt.Errorf("rename %q to %q: %w", oldName, newName, err)
	}
	// No object needs pinning: the current version keeps them all, and it
	// stays current while this holds the database.
	if err := c.writeVersion(ctx, db.dir, false, mm); err != nil {
		c.mu.Lock()
		db.maxSeen = max(db.maxSeen, mm.Version)
		c.mu.Unlock()
		c.undoVersion(db.dir, false, mm.Version)
		return fmt.Errorf("rename %q to %q: %w", oldName, newName, err)
	}
	c.mu.Lock()
	delete(c.dbs, ko)
	c.dbs[kn] = db
	c.retain(db, mm)
	c.mu.Unlock()
	return nil
}
