package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// Backup and restore throughput of a large retail image (about 1 GB at
// the default MERIDIAN_BENCH_IMAGE_ROWS of 85,000,000), to a folder and
// to Azure Blob Storage (Azurite), against copying the same bytes to
// the same store: raw-put is one Put of a stream of the image's objects
// read from the catalog (what a backup reads, without the archive),
// raw-get one Get of that object read to the end, raw-get-to-disk the
// same into a synced local file (what a restore has to do at the least:
// a restore's fair comparison). MB/s counts the image's bytes for all of
// them, so the figures compare directly. MERIDIAN_BENCH_RESTORE_PROFILE
// names a file for a CPU profile of the last restore. Each backup is
// also paired with a raw put just before it (paired-raw-MB/s,
// backup/raw-%), and each restore with a raw copy of its archive to disk
// (paired-raw-MB/s, restore/raw-%): the steadier comparisons on a busy
// machine, or with an emulator that slows down as it fills.
//
//	go test ./internal/server -run '^$' -bench BackupRestore -benchtime 3x -timeout 1h

var (
	bigImageOnce sync.Once
	bigImage     *Manager
	bigImageErr  error
)

// bigRetail returns a manager holding the large retail image, built once
// per process.
func bigRetail(b *testing.B) *Manager {
	bigImageOnce.Do(func() {
		ctx := context.Background()
		dir, err := benchTempDir("meridian-bench-backup-")
		if err != nil {
			bigImageErr = err
			return
		}
		m, err := OpenManager(ctx, ManagerOptions{DataDir: dir, GCDelay: -1})
		if err == nil {
			err = m.Load(ctx)
		}
		if err == nil {
			err = commitRetail(ctx, m, envInt(b, "MERIDIAN_BENCH_IMAGE_ROWS", 85_000_000))
		}
		bigImage, bigImageErr = m, err
	})
	if bigImageErr != nil {
		b.Fatal(bigImageErr)
	}
	return bigImage
}

// imageStream streams the objects of an image one after the other.
func imageStream(ctx context.Context, snap *Snapshot) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		for _, o := range snap.Version.Manifest.Objects {
			data, err := snap.Objects.ReadObject(ctx, o.Hash)
			if err == nil {
				_, err = pw.Write(data)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	return pr
}

func BenchmarkBackupRestore(b *testing.B) {
	ctx := context.Background()
	src := bigRetail(b)
	v, err := src.Current("Retail")
	if err != nil {
		b.Fatal(err)
	}
	size := v.Manifest.Size()
	memBytes := v.Data().Bytes()
	// Each store is opened afresh for the raw copies and for each
	// variant, and closed after it: an in-memory Azurite frees deleted
	// blobs only every ten minutes, and the runs of one benchmark would
	// otherwise fill its memory (12.6 GB here) and slow it down long
	// before.
	stores := []struct {
		name string
		open func(b *testing.B) (*blob.Store, func())
	}{
		{"file", func(b *testing.B) (*blob.Store, func()) {
			st, err := blob.Open(ctx, "file://"+b.TempDir(), blob.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st, func() { st.Close() }
		}},
		{"azblob", func(b *testing.B) (*blob.Store, func()) {
			az := testenv.Azurite(b)
			st, err := blob.Open(ctx, "azblob://bench", blob.Options{Create: true, AzureConnectionString: az.ConnectionString})
			if err != nil {
				b.Fatal(err)
			}
			return st, func() { st.Close(); az.Stop() }
		}},
	}
	for _, sk := range stores {
		b.Run(sk.name, func(b *testing.B) {
			st, closeStore := sk.open(b)
			// MB/s of wall time; on a machine shared with other work the
			// CPU seconds per operation are the steadier figure.
			var cpu float64
			report := func(b *testing.B) {
				b.ReportMetric(float64(size)*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
				b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
				cpu = 0
			}
			b.Run("raw-put", func(b *testing.B) {
				for b.Loop() {
					c0 := cpuSeconds()
					if err := rawPut(ctx, src, st); err != nil {
						b.Fatal(err)
					}
					cpu += cpuSeconds() - c0
				}
				report(b)
			})
			b.Run("raw-get", func(b *testing.B) {
				for b.Loop() {
					c0 := cpuSeconds()
					rc, _, err := st.Get(ctx, "raw")
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, rc)
					rc.Close()
					if err != nil || n != size {
						b.Fatalf("read %d of %d bytes: %v", n, size, err)
					}
					cpu += cpuSeconds() - c0
				}
				report(b)
			})
			// What a restore has to do at the least: the bytes from the
			// store into a local file, synced.
			b.Run("raw-get-to-disk", func(b *testing.B) {
				dir := b.TempDir()
				for b.Loop() {
					c0 := cpuSeconds()
					if n, err := copyToDisk(ctx, st, "raw", dir); err != nil || n != size {
						b.Fatalf("copied %d of %d bytes: %v", n, size, err)
					}
					cpu += cpuSeconds() - c0
				}
				report(b)
			})
			closeStore()
			for _, compress := range []bool{true, false} {
				file := fmt.Sprintf("retail-compress-%v.mbak", compress)
				var archive int64
				st, closeStore := sk.open(b)
				s := New(src, Options{Name: "bench", Backup: BackupOptions{Store: st}})
				b.Run(fmt.Sprintf("backup/compress=%v", compress), func(b *testing.B) {
					// Each backup is paired with a raw put just before it,
					// as each restore is with a raw copy (below): Azurite
					// slows down as its memory fills, so puts minutes apart
					// do not compare.
					var rawSecs, backupSecs float64
					for b.Loop() {
						b.StopTimer()
						r0 := time.Now()
						if err := rawPut(ctx, src, st); err != nil {
							b.Fatal(err)
						}
						rawSecs += time.Since(r0).Seconds()
						if err := st.Delete(ctx, "raw"); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						c0, t0 := cpuSeconds(), time.Now()
						res, err := s.Backup(ctx, &model.Backup{Database: "Retail", File: file, AllowOverwrite: true, ApplyCompression: compress})
						if err != nil {
							b.Fatal(err)
						}
						backupSecs += time.Since(t0).Seconds()
						archive = res.ArchiveBytes
						cpu += cpuSeconds() - c0
					}
					report(b)
					b.ReportMetric(float64(size)*float64(b.N)/1e6/rawSecs, "paired-raw-MB/s")
					b.ReportMetric(100*rawSecs/backupSecs, "backup/raw-%")
					b.ReportMetric(float64(archive)/1e6, "archive-MB")
					b.ReportMetric(float64(size)/1e6, "image-MB")
					b.ReportMetric(float64(memBytes)/1e6, "memory-MB")
				})
				b.Run(fmt.Sprintf("restore/compress=%v", compress), func(b *testing.B) {
					// On a machine shared with other work, throughput
					// measured minutes apart is not comparable; so each
					// restore is paired with a raw copy of the archive
					// (the same bytes, store and direction, to the same
					// disk, synced) just before it, and the ratio of the
					// two is reported as well.
					var rawSecs, restoreSecs float64
					rawDir := b.TempDir()
					for b.Loop() {
						// A fresh data directory each time, so that every
						// object is written (a catalog that holds an object
						// skips it). Its files are emptied after the run and
						// removed only when the sub-benchmark ends (see
						// emptyFiles).
						b.StopTimer()
						dir := b.TempDir()
						m, err := OpenManager(ctx, ManagerOptions{DataDir: dir, GCDelay: -1, Logger: benchLogger()})
						if err == nil {
							err = m.Load(ctx)
						}
						if err != nil {
							b.Fatal(err)
						}
						t := New(m, Options{Backup: BackupOptions{Store: st}})
						r0 := time.Now()
						if n, err := copyToDisk(ctx, st, file, rawDir); err != nil || n != archive {
							b.Fatalf("copied %d of %d bytes: %v", n, archive, err)
						}
						rawSecs += time.Since(r0).Seconds()
						runtime.GC()
						b.StartTimer()
						stopProfile := restoreProfile(b)
						c0, t0 := cpuSeconds(), time.Now()
						if _, err := t.Restore(ctx, &model.Restore{Database: "Retail", File: file}); err != nil {
							b.Fatal(err)
						}
						restoreSecs += time.Since(t0).Seconds()
						cpu += cpuSeconds() - c0
						stopProfile()
						b.StopTimer()
						t.Shutdown(ctx)
						m.Close()
						if err := emptyFiles(dir); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					report(b)
					b.ReportMetric(float64(size)*float64(b.N)/1e6/rawSecs, "paired-raw-MB/s")
					b.ReportMetric(100*rawSecs/restoreSecs, "restore/raw-%")
				})
				s.Shutdown(ctx)
				closeStore()
			}
		})
	}
}

// rawPut puts the objects of src's Retail image, as one stream read from
// its catalog, to st as "raw": what a backup does at the least.
func rawPut(ctx context.Context, src *Manager, st *blob.Store) error {
	snap, err := src.ReadImage(ctx, "Retail")
	if err != nil {
		return err
	}
	defer snap.Release()
	rc := imageStream(ctx, snap)
	defer rc.Close()
	return st.Put(ctx, "raw", rc, blob.PutOptions{})
}

// copyToDisk copies an object of the store to a synced file in dir, as
// the least a restore has to do.
func copyToDisk(ctx context.Context, st *blob.Store, name, dir string) (int64, error) {
	rc, _, err := st.Get(ctx, name)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	f, err := os.Create(filepath.Join(dir, "raw"))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, rc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// emptyFiles truncates every file under dir to nothing, for a benchmark
// that writes many files per run. Their memory (page cache) and disk
// space are freed at once, as a removal would free them, so that the
// next run does not find its memory colder than the run before (on the
// development machine's virtual machine, page cache grown past about
// 12 GB is written to ten times slower than memory just freed). The
// inodes are kept until the benchmark's directory is removed: ext4
// without a journal (as on that machine) passes over every inode freed
// in the last minute when it allocates one, looking each up, so
// removing a run's 723 files just before the next run made that run's
// file creation quadratic (about 0.4 CPU-s more per restore), a cost
// of the benchmark and not of restores.
func emptyFiles(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		return os.Truncate(path, 0)
	})
}

// restoreProfile starts a CPU profile of one restore when
// MERIDIAN_BENCH_RESTORE_PROFILE names a file (without -cpuprofile, which
// would also profile building the image); the returned function stops it.
// Each restore overwrites the file, so it holds the last one.
func restoreProfile(b *testing.B) func() {
	path := os.Getenv("MERIDIAN_BENCH_RESTORE_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// benchLogger shows the phases of restores when MERIDIAN_BENCH_LOG is set.
func benchLogger() *slog.Logger {
	if os.Getenv("MERIDIAN_BENCH_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// cpuSeconds is the CPU time the process has used, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
