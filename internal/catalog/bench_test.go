package catalog

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/image"
)

const (
	benchObject = 4 << 20
	benchImage  = 1 << 30
)

// benchImageTo writes an image of total bytes in objects of size bytes
// through c, as version tag of "Bench"; the objects differ for each tag.
func benchImageTo(tb testing.TB, c *Catalog, tag uint64, total, size int) {
	benchImageParallel(tb, c, tag, total, size, 1)
}

// benchImageParallel is benchImageTo with the objects written by several
// goroutines, as the column store's encoders do.
func benchImageParallel(tb testing.TB, c *Catalog, tag uint64, total, size, workers int) {
	ctx := context.Background()
	txn, err := c.Begin(ctx, "Bench")
	if err != nil {
		tb.Fatal(err)
	}
	defer txn.Abort()
	model, err := txn.WriteObject(ctx, image.KindModel, fmt.Appendf(nil, `{"bench":%d}`, tag))
	if err != nil {
		tb.Fatal(err)
	}
	m := &image.Manifest{State: image.StateReady, Model: model.Hash, Objects: []image.ObjectRef{model}}
	refs := make([]image.ObjectRef, total/size)
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error {
			buf := make([]byte, size)
			rand.NewChaCha8([32]byte{1}).Read(buf)
			for j := w; j < len(refs); j += workers {
				binary.LittleEndian.PutUint64(buf[0:], tag)
				binary.LittleEndian.PutUint64(buf[8:], uint64(j))
				ref, err := txn.WriteObject(ctx, image.KindSegment, buf)
				if err != nil {
					return err
				}
				refs[j] = ref
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	m.Objects = append(m.Objects, refs...)
	m.Data = m.Objects[1].Hash
	if _, err := txn.Commit(ctx, m); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCommit commits an image to a real directory: hashing and
// writing every object, syncing them, then the manifest and the pointer.
// MB/s is the commit throughput. The main case is a 1 GiB image of 4 MiB
// objects, written by one goroutine and by four (as parallel encoders
// do); a 64 MiB image of 64 KiB objects shows the cost per object.
func BenchmarkCommit(b *testing.B) {
	cases := []struct{ total, size, writers int }{
		{benchImage, benchObject, 1},
		{benchImage, benchObject, 4},
		{64 << 20, 64 << 10, 1},
	}
	for _, bc := range cases {
		name := fmt.Sprintf("image=%dMiB/object=%dKiB/writers=%d", bc.total>>20, bc.size>>10, bc.writers)
		b.Run(name, func(b *testing.B) {
			c, err := Open(context.Background(), Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(bc.total))
			b.ResetTimer()
			for i := range b.N {
				benchImageParallel(b, c, uint64(i), bc.total, bc.size, bc.writers)
				b.StopTimer()
				// Remove the previous version's objects so the disk does
				// not fill.
				if _, _, err := c.GC(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkOpen measures start-up: Open (and Close) of a catalog holding a
// 1 GiB image, of 4 MiB objects and of 64 KiB objects, checking sizes
// only and hashing everything (Options.Verify).
func BenchmarkOpen(b *testing.B) {
	for _, size := range []int{benchObject, 64 << 10} {
		dir := b.TempDir()
		c, err := Open(context.Background(), Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		benchImageTo(b, c, 0, benchImage, size)
		c.Close()
		for _, verify := range []bool{false, true} {
			b.Run(fmt.Sprintf("objects=%d/verify=%v", benchImage/size, verify), func(b *testing.B) {
				if verify {
					b.SetBytes(benchImage)
				}
				for range b.N {
					c, err := Open(context.Background(), Options{Dir: dir, Verify: verify})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := c.Current("Bench"); err != nil {
						b.Fatal(err)
					}
					c.Close()
				}
			})
		}
	}
}
