package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// ReadObject returns the object's bytes after checking them against h. It
// implements image.ObjectReader: a missing object gives an error wrapping
// both ErrNotFound and image.ErrNotFound, damaged bytes one wrapping
// ErrCorrupt and image.ErrHashMismatch. ReadObject does not wait for
// writers.
func (c *Catalog) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	closed := c.closed
	size, known := c.objects[h]
	c.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("read object %s: %w", h, ErrClosed)
	}
	if !known {
		size = maxObjectRead
	}
	data, err := c.readFile(c.objectPath(h), size)
	if vfs.IsNotExist(err) {
		return nil, fmt.Errorf("read object %s: %w: %w", h, ErrNotFound, image.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", h, err)
	}
	if err := image.Verify(h, data); err != nil {
		return nil, fmt.Errorf("read object %s: %w: %w", h, ErrCorrupt, err)
	}
	return data, nil
}

// maxObjectRead bounds the read of an object the catalog did not know
// about (one written since by a transaction of another process is not
// possible, but a file put there by hand is).
const maxObjectRead = 16 << 30

// HasObject reports whether the catalog holds the object. An object no
// retained version uses may be removed by the next GC; a transaction that
// wants to list an object without writing it uses Txn.HasObject, which
// keeps it.
func (c *Catalog) HasObject(h image.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.objects[h]
	return ok && !c.closed
}

// writeObject stores data under h: a temporary file, synced, renamed into
// place, and the directory synced, so that the object's name is durable
// (and the object complete) before it is counted as present.
func (c *Catalog) writeObject(ctx context.Context, h image.Hash, data []byte) error {
	sub := objectDirName(h)
	dir := c.path("objects", sub)
	c.mu.Lock()
	dirReady := c.objDirs[h[0]]
	c.mu.Unlock()
	if !dirReady {
		if err := c.fs.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := c.fs.SyncDir(c.path("objects")); err != nil {
			return err
		}
		c.mu.Lock()
		c.objDirs[h[0]] = true
		c.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.writeAtomic(dir, h.String(), data); err != nil {
		return err
	}
	c.mu.Lock()
	c.objects[h] = int64(len(data))
	c.mu.Unlock()
	return nil
}

// writeAtomic replaces dir/name with data durably: write a temporary file
// in the same directory, sync it, rename it over the name, sync the
// directory. A crash leaves either the old file or the new one, plus at
// worst a temporary file for GC.
func (c *Catalog) writeAtomic(dir, name string, data []byte) error {
	tmp := c.newTemp(dir)
	defer c.dropTemp(tmp)
	if err := c.writeSynced(tmp, data); err != nil {
		c.fs.Remove(tmp)
		return err
	}
	if err := c.fs.Rename(tmp, filepath.Join(dir, name)); err != nil {
		c.fs.Remove(tmp)
		return err
	}
	return c.fs.SyncDir(dir)
}

func (c *Catalog) writeSynced(name string, data []byte) error {
	f, err := c.fs.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newTemp returns the path of a new temporary file in dir and registers it
// as live, before the file exists, so that GC never removes it.
func (c *Catalog) newTemp(dir string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	p := filepath.Join(dir, tmpPrefix+c.instance+"-"+strconv.FormatUint(c.seq, 10))
	c.temps[p] = true
	return p
}

func (c *Catalog) dropTemp(p string) {
	c.mu.Lock()
	delete(c.temps, p)
	c.mu.Unlock()
}
