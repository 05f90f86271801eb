package image

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// localSet is a LocalObjects that is also an ObjectReader.
type localSet struct {
	*MemStore
	has map[Hash]bool
}

func (l localSet) HasObject(h Hash) bool { return l.has[h] }

// remote counts the fetches of each object.
type remote struct {
	store *MemStore
	mu    sync.Mutex
	calls map[Hash]int
	fail  Hash
}

func (r *remote) fetch(ctx context.Context, ref ObjectRef) ([]byte, error) {
	r.mu.Lock()
	r.calls[ref.Hash]++
	r.mu.Unlock()
	if ref.Hash == r.fail {
		return nil, fmt.Errorf("fetch %s: connection reset", ref.Hash)
	}
	return r.store.ReadObject(ctx, ref.Hash)
}

func TestPrefetcher(t *testing.T) {
	ctx := context.Background()
	src := NewMemStore()
	var refs []ObjectRef
	for i := range 5 {
		ref, err := src.WriteObject(ctx, KindSegment, []byte(fmt.Sprintf("object %d, %0*d", i, 100*i, 0)))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	m := &Manifest{Database: "Sales", Version: 1, Objects: refs}
	// The local side holds object 0.
	local := localSet{NewMemStore(), map[Hash]bool{refs[0].Hash: true}}
	if _, err := local.WriteObject(ctx, KindSegment, mustRead(t, src, refs[0].Hash)); err != nil {
		t.Fatal(err)
	}

	t.Run("budget", func(t *testing.T) {
		r := &remote{store: src, calls: map[Hash]int{}}
		p := NewPrefetcher(m, local, r.fetch)
		// Objects 1 and 2 fit the budget; 3 and 4 do not and are fetched
		// when read. Object 0 is held locally.
		budget := refs[1].Size + refs[2].Size
		if err := p.Prefetch(ctx, 2, budget); err != nil {
			t.Fatal(err)
		}
		if r.calls[refs[0].Hash] != 0 || r.calls[refs[1].Hash] != 1 || r.calls[refs[2].Hash] != 1 || r.calls[refs[3].Hash] != 0 {
			t.Fatalf("fetches after Prefetch: %v", r.calls)
		}
		for i, ref := range refs {
			data, err := p.ReadObject(ctx, ref.Hash)
			if err != nil {
				t.Fatalf("object %d: %v", i, err)
			}
			if Sum(data) != ref.Hash {
				t.Fatalf("object %d: wrong bytes", i)
			}
		}
		// Held objects are read locally; staged ones are not fetched again.
		want := map[Hash]int{refs[1].Hash: 1, refs[2].Hash: 1, refs[3].Hash: 1, refs[4].Hash: 1}
		for h, n := range want {
			if r.calls[h] != n {
				t.Errorf("object %s fetched %d times, want %d", h, r.calls[h], n)
			}
		}
		if n, b := p.Fetched(); n != 4 || b != refs[1].Size+refs[2].Size+refs[3].Size+refs[4].Size {
			t.Errorf("Fetched() = %d, %d", n, b)
		}
		// A staged object is handed over once; the next read fetches it.
		if _, err := p.ReadObject(ctx, refs[1].Hash); err != nil || r.calls[refs[1].Hash] != 2 {
			t.Errorf("second read of a staged object: %v, %d fetches", err, r.calls[refs[1].Hash])
		}
	})

	t.Run("not listed", func(t *testing.T) {
		p := NewPrefetcher(m, nil, (&remote{store: src, calls: map[Hash]int{}}).fetch)
		if _, err := p.ReadObject(ctx, Sum([]byte("stranger"))); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})

	t.Run("staged extra", func(t *testing.T) {
		r := &remote{store: src, calls: map[Hash]int{}}
		p := NewPrefetcher(m, nil, r.fetch)
		extra := []byte("a rewritten model")
		ref := ObjectRef{Hash: Sum(extra), Size: int64(len(extra)), Kind: KindModel}
		p.Stage(ref, extra)
		got, err := p.ReadObject(ctx, ref.Hash)
		if err != nil || string(got) != string(extra) {
			t.Fatalf("got %q, %v", got, err)
		}
	})

	t.Run("fetch error", func(t *testing.T) {
		r := &remote{store: src, calls: map[Hash]int{}, fail: refs[3].Hash}
		p := NewPrefetcher(m, nil, r.fetch)
		if err := p.Prefetch(ctx, 4, 1<<20); err == nil {
			t.Fatal("Prefetch succeeded though a fetch failed")
		}
	})
}

func mustRead(t *testing.T, s *MemStore, h Hash) []byte {
	t.Helper()
	b, err := s.ReadObject(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
