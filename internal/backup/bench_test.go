package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
)

// The benchmarks move a 1 GiB synthetic image (256 objects of 4 MiB,
// about half compressible) held in memory. Run them with
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/backup/
//
// b.SetBytes is the image size, so MB/s compare directly with the raw
// copies of the same bytes.

const benchObjects, benchObjectSize = 256, 4 << 20

var (
	benchOnce sync.Once
	benchImg  *memImage
)

// memImage serves objects from memory without copying, so that reading
// the source costs the same in every benchmark.
type memImage struct {
	m    *image.Manifest
	data map[image.Hash][]byte
}

func (mi *memImage) ReadObject(_ context.Context, h image.Hash) ([]byte, error) {
	if b, ok := mi.data[h]; ok {
		return b, nil
	}
	return nil, image.ErrNotFound
}

func (mi *memImage) size() int64 { return mi.m.Size() }

func benchImage(b *testing.B) *memImage {
	benchOnce.Do(func() {
		mi := &memImage{data: map[image.Hash][]byte{}}
		model := []byte(`{"name":"Bench"}`)
		mh := image.Sum(model)
		mi.data[mh] = model
		m := &image.Manifest{Database: "Bench", Version: 1, State: image.StateReady, Model: mh,
			Objects: []image.ObjectRef{{Hash: mh, Size: int64(len(model)), Kind: image.KindModel}}}
		for i := 1; i <= benchObjects; i++ {
			d := genObject(77, i, benchObjectSize)
			h := image.Sum(d)
			mi.data[h] = d
			m.Objects = append(m.Objects, image.ObjectRef{Hash: h, Size: int64(len(d)), Kind: image.KindSegment})
		}
		mi.m = canonical(b, m)
		benchImg = mi
	})
	return benchImg
}

var benchModes = []struct {
	name string
	opts WriteOptions
}{
	{"plain", WriteOptions{}},
	{"zstd", WriteOptions{Compress: true}},
	{"aes", WriteOptions{Password: "pw"}},
	{"zstd+aes", WriteOptions{Compress: true, Password: "pw"}},
}

// rawCopy writes the image's objects to w one after the other: the
// floor any archive writer is measured against.
func rawCopy(mi *memImage, w io.Writer) error {
	for _, o := range mi.m.Objects {
		d, err := mi.ReadObject(context.Background(), o.Hash)
		if err != nil {
			return err
		}
		if _, err := w.Write(d); err != nil {
			return err
		}
	}
	return nil
}

// cpuTimer measures the process's CPU time (user and system) across a
// benchmark: on a shared, loaded machine wall-clock MB/s mostly measure
// the neighbours, while CPU seconds per GiB measure the code.
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuTimer { return cpuTimer{cpuNow()} }

// report adds the CPU-time throughput: image MB per CPU second.
func (c cpuTimer) report(b *testing.B, bytes int64) {
	cpu := cpuNow() - c.start
	if cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

func benchFile(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "bench.mbak"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func BenchmarkWrite(b *testing.B) {
	mi := benchImage(b)
	for _, dest := range []string{"discard", "file"} {
		b.Run(fmt.Sprintf("raw-copy/%s", dest), func(b *testing.B) {
			var f *os.File
			if dest == "file" {
				f = benchFile(b)
			}
			b.SetBytes(mi.size())
			cpu := startCPU()
			for b.Loop() {
				var w io.Writer = io.Discard
				if f != nil {
					f.Truncate(0)
					f.Seek(0, 0)
					w = f
				}
				if err := rawCopy(mi, w); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b, mi.size())
		})
		for _, mode := range benchModes {
			b.Run(fmt.Sprintf("%s/%s", mode.name, dest), func(b *testing.B) {
				var f *os.File
				if dest == "file" {
					f = benchFile(b)
				}
				b.SetBytes(mi.size())
				var st Stats
				cpu := startCPU()
				for b.Loop() {
					var w io.Writer = io.Discard
					if f != nil {
						f.Truncate(0)
						f.Seek(0, 0)
						w = f
					}
					var err error
					st, err = Write(context.Background(), w, Source{Manifest: mi.m, Objects: mi, Verified: true}, mode.opts)
					if err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b, mi.size())
				b.ReportMetric(float64(st.ArchiveBytes)/float64(mi.size()), "archive/image")
			})
		}
	}
}

func BenchmarkRead(b *testing.B) {
	mi := benchImage(b)
	for _, mode := range benchModes {
		f := benchFile(b)
		if _, err := Write(context.Background(), f, Source{Manifest: mi.m, Objects: mi, Verified: true}, mode.opts); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("raw-copy/%s", mode.name), func(b *testing.B) {
			b.SetBytes(mi.size())
			cpu := startCPU()
			for b.Loop() {
				f.Seek(0, 0)
				if _, err := io.Copy(io.Discard, f); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b, mi.size())
		})
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(mi.size())
			cpu := startCPU()
			defer cpu.report(b, mi.size())
			for b.Loop() {
				f.Seek(0, 0)
				if _, err := Verify(context.Background(), f, ReadOptions{Password: "pw"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteOneLargeObject compresses a 256 MiB object: the pieces
// of one object are compressed in parallel as those of many are.
func BenchmarkWriteOneLargeObject(b *testing.B) {
	data := genObject(78, 1, 256<<20)
	model := []byte(`{}`)
	mi := &memImage{data: map[image.Hash][]byte{image.Sum(data): data, image.Sum(model): model}}
	mi.m = &image.Manifest{Database: "One", Model: image.Sum(model), Objects: []image.ObjectRef{
		{Hash: image.Sum(model), Size: 2, Kind: image.KindModel}, {Hash: image.Sum(data), Size: int64(len(data)), Kind: image.KindDict}}}
	b.SetBytes(mi.size())
	cpu := startCPU()
	for b.Loop() {
		if _, err := Write(context.Background(), io.Discard, Source{Manifest: mi.m, Objects: mi, Verified: true}, WriteOptions{Compress: true}); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, mi.size())
}
