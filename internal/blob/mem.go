package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// The mem backend keeps objects in process memory, in buckets named by the
// URL's host, so that every Store opened on mem://name in one process sees
// the same objects. Buckets live as long as the process: tests should use
// names of their own.

var memBuckets = struct {
	sync.Mutex
	m map[string]*memBucket
}{m: make(map[string]*memBucket)}

type memBucket struct {
	mu   sync.RWMutex
	objs map[string]*memObject
}

// memObject is immutable once stored; a write replaces the pointer.
type memObject struct {
	data  []byte
	attrs Attributes
}

func openMem(name string) *memBucket {
	memBuckets.Lock()
	defer memBuckets.Unlock()
	b := memBuckets.m[name]
	if b == nil {
		b = &memBucket{objs: make(map[string]*memObject)}
		memBuckets.m[name] = b
	}
	return b
}

// contentETag is the ETag of the file and mem backends: a hash of the
// bytes, quoted like an HTTP entity tag.
func contentETag(sum []byte) string { return `"` + hex.EncodeToString(sum) + `"` }

func (b *memBucket) put(ctx context.Context, key string, r io.Reader, o PutOptions) error {
	// The whole object ends up in memory anyway; read it before taking
	// the lock so that a slow reader does not block other writers.
	var buf bytes.Buffer
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(&buf, h), ctxReader{ctx, r}); err != nil {
		return err
	}
	obj := &memObject{data: buf.Bytes(), attrs: Attributes{
		Size:        int64(buf.Len()),
		ModTime:     time.Now().UTC(),
		ETag:        contentETag(h.Sum(nil)),
		ContentType: o.contentType(),
		Metadata:    maps.Clone(o.Metadata),
	}}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.objs[key]
	switch {
	case o.IfNotExists && cur != nil:
		return ErrExists
	case o.IfMatch != "" && cur == nil:
		return fmt.Errorf("%w: object does not exist", ErrPrecondition)
	case o.IfMatch != "" && cur.attrs.ETag != o.IfMatch:
		return fmt.Errorf("%w: ETag is %s, not %s", ErrPrecondition, cur.attrs.ETag, o.IfMatch)
	}
	b.objs[key] = obj
	return nil
}

func (b *memBucket) lookup(key string) (*memObject, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	obj := b.objs[key]
	if obj == nil {
		return nil, ErrNotFound
	}
	return obj, nil
}

func (a Attributes) clone() Attributes {
	a.Metadata = maps.Clone(a.Metadata)
	return a
}

func (b *memBucket) get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Attributes, error) {
	obj, err := b.lookup(key)
	if err != nil {
		return nil, Attributes{}, err
	}
	data := obj.data[min(off, int64(len(obj.data))):]
	if n >= 0 && n < int64(len(data)) {
		data = data[:n]
	}
	return io.NopCloser(ctxReader{ctx, bytes.NewReader(data)}), obj.attrs.clone(), nil
}

func (b *memBucket) stat(_ context.Context, key string) (Attributes, error) {
	obj, err := b.lookup(key)
	if err != nil {
		return Attributes{}, err
	}
	return obj.attrs.clone(), nil
}

func (b *memBucket) list(ctx context.Context, prefix string, fn func(string, int64, time.Time) bool) error {
	type entry struct {
		key string
		obj *memObject
	}
	b.mu.RLock()
	var found []entry
	for k, obj := range b.objs {
		if strings.HasPrefix(k, prefix) {
			found = append(found, entry{k, obj})
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(found, func(x, y entry) int { return strings.Compare(x.key, y.key) })
	for _, e := range found {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(e.key, e.obj.attrs.Size, e.obj.attrs.ModTime) {
			return nil
		}
	}
	return nil
}

func (b *memBucket) delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objs[key] == nil {
		return ErrNotFound
	}
	delete(b.objs, key)
	return nil
}

func (b *memBucket) close() error { return nil }
