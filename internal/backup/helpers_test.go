package backup

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
)

// cheapKDF keeps tests fast; real archives use DefaultKDF.
var cheapKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// objectBytes makes deterministic object content of n bytes that
// compresses somewhat, like bit-packed column segments: runs of small
// numbers with some noise.
func objectBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	i := 0
	for i < n {
		switch r.IntN(4) {
		case 0: // noise
			k := min(n-i, 1+r.IntN(64))
			for j := range k {
				b[i+j] = byte(r.Uint32())
			}
			i += k
		default: // a run of small values
			k := min(n-i, 1+r.IntN(256))
			v := byte(r.IntN(16))
			for j := range k {
				b[i+j] = v + byte(j%3)
			}
			i += k
		}
	}
	return b
}

// testImage is an image held in memory.
type testImage struct {
	m     *image.Manifest
	store *image.MemStore
	data  map[image.Hash][]byte
}

// newImage builds an image with a model object and objects of the given
// sizes.
func newImage(t testing.TB, seed uint64, sizes []int) *testImage {
	t.Helper()
	ctx := context.Background()
	ti := &testImage{store: image.NewMemStore(), data: map[image.Hash][]byte{}}
	put := func(kind string, b []byte) image.ObjectRef {
		ref, err := ti.store.WriteObject(ctx, kind, b)
		if err != nil {
			t.Fatal(err)
		}
		ti.data[ref.Hash] = b
		return ref
	}
	model := put(image.KindModel, []byte(fmt.Sprintf(`{"name":"Sales","seed":%d}`, seed)))
	m := &image.Manifest{Database: "Sales", Version: 7, CommitTime: time.Date(2026, 11, 25, 22, 40, 0, 0, time.UTC),
		State: image.StateReady, Model: model.Hash, Objects: []image.ObjectRef{model}}
	kinds := []string{image.KindSegment, image.KindDict, image.KindIndex}
	for i, n := range sizes {
		ref := put(kinds[i%len(kinds)], objectBytes(seed*1000003+uint64(i), n))
		m.Objects = append(m.Objects, ref)
	}
	ti.m = m
	return ti
}

func (ti *testImage) source() Source { return Source{Manifest: ti.m, Objects: ti.store} }

// archive writes the image and returns the archive's bytes.
func (ti *testImage) archive(t testing.TB, opts WriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, ti.source(), opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if st.ArchiveBytes != int64(buf.Len()) {
		t.Fatalf("Stats.ArchiveBytes = %d, wrote %d", st.ArchiveBytes, buf.Len())
	}
	return buf.Bytes()
}

// recordingSink stores what Read hands it.
type recordingSink struct {
	mu      sync.Mutex
	objects map[image.Hash][]byte
	kinds   map[image.Hash]string
	calls   int
}

func newSink() *recordingSink {
	return &recordingSink{objects: map[image.Hash][]byte{}, kinds: map[image.Hash]string{}}
}

func (s *recordingSink) WriteObject(_ context.Context, kind string, data []byte) (image.ObjectRef, error) {
	h := image.Sum(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.objects[h] = bytes.Clone(data)
	s.kinds[h] = kind
	return image.ObjectRef{Hash: h, Size: int64(len(data)), Kind: kind}, nil
}

// sizes returns n object sizes: mostly small, some empty, some large.
func sizes(seed uint64, n int) []int {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int, n)
	for i := range out {
		switch {
		case i%50 == 0:
			out[i] = 0
		case i%7 == 0:
			out[i] = r.IntN(300 << 10)
		default:
			out[i] = r.IntN(8 << 10)
		}
	}
	return out
}
