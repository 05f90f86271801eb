package backup

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
)

// genObject fills n bytes for object i of a synthetic image with what
// column store objects hold, in blocks of 4 KiB: bit-packed ids of high
// cardinality (random bits, which zstd cannot shrink), runs of one id
// (a repeated 8-byte word: sorted or constant columns) and dictionary
// text (words from a small vocabulary). It is fast enough to generate
// gigabytes on the fly.
func genObject(seed uint64, i, n int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	b := make([]byte, n+4096)
	for off := 0; off < n; off += 4096 {
		blk := b[off : off+4096]
		switch k := r.IntN(10); {
		case k < 4:
			for p := 0; p < len(blk); p += 8 {
				binary.LittleEndian.PutUint64(blk[p:], r.Uint64())
			}
		case k < 7:
			w := r.Uint64()
			for p := 0; p < len(blk); p += 8 {
				binary.LittleEndian.PutUint64(blk[p:], w)
			}
		default:
			p := 0
			for p < len(blk) {
				p += copy(blk[p:], vocabulary[r.IntN(len(vocabulary))])
			}
		}
	}
	return b[:n]
}

var vocabulary = []string{"Contoso ", "Fabrikam ", "Adventure Works ", "Northwind ", "Litware ",
	"bicycle ", "helmet ", "road-150 ", "mountain-200 ", "touring-1000 ", "Seattle ", "Paris ",
	"London ", "Berlin ", "2026-11-25 ", "red ", "black ", "silver ", "blue ", "yellow "}

// synthSource is an image whose objects are generated when read, so
// that tests can stream images larger than they want to hold.
type synthSource struct {
	seed  uint64
	sizes []int
	index map[image.Hash]int
	m     *image.Manifest

	mu   sync.Mutex
	peak uint64
}

func newSynth(t testing.TB, seed uint64, n, size int) *synthSource {
	s := &synthSource{seed: seed, index: map[image.Hash]int{}}
	model := []byte(`{"name":"Big"}`)
	s.sizes = append(s.sizes, -1)
	s.index[image.Sum(model)] = 0
	m := &image.Manifest{Database: "Big", Version: 1, State: image.StateReady, Model: image.Sum(model),
		Objects: []image.ObjectRef{{Hash: image.Sum(model), Size: int64(len(model)), Kind: image.KindModel}}}
	for i := 1; i <= n; i++ {
		s.sizes = append(s.sizes, size)
		h := image.Sum(genObject(seed, i, size))
		s.index[h] = i
		m.Objects = append(m.Objects, image.ObjectRef{Hash: h, Size: int64(size), Kind: image.KindSegment})
	}
	s.m = m
	return s
}

func (s *synthSource) ReadObject(_ context.Context, h image.Hash) ([]byte, error) {
	i, ok := s.index[h]
	if !ok {
		return nil, fmt.Errorf("%w: %s", image.ErrNotFound, h)
	}
	s.sample()
	if i == 0 {
		return []byte(`{"name":"Big"}`), nil
	}
	return genObject(s.seed, i, s.sizes[i]), nil
}

// sample records the peak of the heap in use.
func (s *synthSource) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mu.Lock()
	s.peak = max(s.peak, ms.HeapInuse)
	s.mu.Unlock()
}

// checkingSink verifies objects against the synthetic image and keeps
// nothing.
type checkingSink struct{ s *synthSource }

func (c checkingSink) WriteObject(_ context.Context, kind string, data []byte) (image.ObjectRef, error) {
	c.s.sample()
	h := image.Sum(data)
	if _, ok := c.s.index[h]; !ok {
		return image.ObjectRef{}, fmt.Errorf("unexpected object %s", h)
	}
	return image.ObjectRef{Hash: h, Size: int64(len(data)), Kind: kind}, nil
}

func TestMemoryBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("streams 384 MiB (skipped with -short and -race)")
	}
	const n, size = 384, 1 << 20
	imageBytes := uint64(n * size)
	s := newSynth(t, 31, n, size)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	path := filepath.Join(t.TempDir(), "big.mbak")
	for _, tc := range []struct {
		name string
		opts WriteOptions
	}{
		{"plain", WriteOptions{}},
		{"compressed and encrypted", WriteOptions{Compress: true, Password: "pw", KDF: cheapKDF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s.peak = 0
			start := time.Now()
			st, err := Write(context.Background(), f, Source{Manifest: s.m, Objects: s}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			writePeak := s.peak
			if _, err := f.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			s.peak = 0
			info, err := Read(context.Background(), f, ReadOptions{Password: tc.opts.Password}, checkingSink{s})
			if err != nil {
				t.Fatal(err)
			}
			readPeak := s.peak
			t.Logf("image %d MiB, archive %d MiB, peak heap in use: write %d MiB, read %d MiB (%d MiB before), %v",
				imageBytes>>20, st.ArchiveBytes>>20, writePeak>>20, readPeak>>20, base.HeapInuse>>20, time.Since(start).Round(time.Millisecond))
			if info.Stats.Objects != n+1 {
				t.Errorf("%d objects read", info.Stats.Objects)
			}
			// Well below the image: a few objects and records in flight,
			// plus what the collector has not reclaimed yet.
			limit := base.HeapInuse + imageBytes/4
			if writePeak > limit || readPeak > limit {
				t.Errorf("peak heap in use %d (write) / %d (read) bytes, limit %d for an image of %d", writePeak, readPeak, limit, imageBytes)
			}
		})
	}
}
