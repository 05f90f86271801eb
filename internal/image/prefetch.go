package image

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// FetchFunc reads one object from wherever an image is copied from (a
// blob store, another server). It must return only bytes it has verified
// against the reference (size and hash).
type FetchFunc func(ctx context.Context, ref ObjectRef) ([]byte, error)

// LocalObjects is what a copy already holds: objects it has are not
// fetched ahead, and when it is also an ObjectReader they are read from
// it rather than fetched.
type LocalObjects interface {
	HasObject(h Hash) bool
}

// Prefetcher is the ObjectReader a commit reads a copied image through.
// Objects fetched ahead, in parallel, are handed over from memory (once:
// the caller owns the bytes); any other object the manifest lists is read
// from the local side when it has it, and fetched otherwise.
type Prefetcher struct {
	fetch FetchFunc
	local LocalObjects // nil: nothing is held locally
	order []ObjectRef
	refs  map[Hash]ObjectRef

	mu      sync.Mutex
	staged  map[Hash][]byte
	fetched int
	bytes   int64
}

// NewPrefetcher reads the objects of m through fetch; local may be nil.
func NewPrefetcher(m *Manifest, local LocalObjects, fetch FetchFunc) *Prefetcher {
	p := &Prefetcher{fetch: fetch, local: local, order: m.Objects, refs: make(map[Hash]ObjectRef, len(m.Objects)), staged: map[Hash][]byte{}}
	for _, o := range m.Objects {
		p.refs[o.Hash] = o
	}
	return p
}

// Prefetch fetches the manifest's objects the local side lacks, in the
// manifest's order, at most parallelism at a time and as many as budget
// bytes allows; the others are fetched when the commit reads them.
func (p *Prefetcher) Prefetch(ctx context.Context, parallelism int, budget int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallelism, 1))
	for _, o := range p.order {
		if o.Size > budget || p.isStaged(o.Hash) || (p.local != nil && p.local.HasObject(o.Hash)) {
			continue
		}
		budget -= o.Size
		g.Go(func() error {
			data, err := p.get(gctx, o)
			if err != nil {
				return err
			}
			p.Stage(o, data)
			return nil
		})
	}
	return g.Wait()
}

// Stage hands data, verified already, to the next read of ref's object,
// which need not be in the manifest (a rewritten model).
func (p *Prefetcher) Stage(ref ObjectRef, data []byte) {
	p.mu.Lock()
	p.refs[ref.Hash] = ref
	p.staged[ref.Hash] = data
	p.mu.Unlock()
}

func (p *Prefetcher) isStaged(h Hash) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.staged[h]
	return ok
}

// ReadObject returns a staged object, reads one the local side has, or
// fetches one the manifest lists.
func (p *Prefetcher) ReadObject(ctx context.Context, h Hash) ([]byte, error) {
	p.mu.Lock()
	data, ok := p.staged[h]
	delete(p.staged, h)
	p.mu.Unlock()
	if ok {
		return data, nil
	}
	ref, ok := p.refs[h]
	if !ok {
		return nil, fmt.Errorf("read object %s: %w: not listed in the manifest", h, ErrNotFound)
	}
	if r, ok := p.local.(ObjectReader); ok && p.local.HasObject(h) {
		return r.ReadObject(ctx, h)
	}
	return p.get(ctx, ref)
}

func (p *Prefetcher) get(ctx context.Context, ref ObjectRef) ([]byte, error) {
	data, err := p.fetch(ctx, ref)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.fetched++
	p.bytes += int64(len(data))
	p.mu.Unlock()
	return data, nil
}

// Fetched returns how many objects, and bytes, were fetched so far.
func (p *Prefetcher) Fetched() (objects int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetched, p.bytes
}
