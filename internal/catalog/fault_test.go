package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// TestCommitFailures fails each filesystem operation of a commit in turn
// (an I/O error, not a crash): the commit reports it, the previous version
// stays current in memory and on disk, and the catalog keeps working.
func TestCommitFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first bool // the commit creates the database
	}{{"existing database", false}, {"new database", true}} {
		t.Run(tc.name, func(t *testing.T) {
			base := vfs.NewMem()
			c := openAt(t, base, memDir, Options{})
			var prev *image.Manifest
			if !tc.first {
				prev = commit(t, c, "Sales", spec("v1", 2))
			}
			c.Close()
			next := spec("v2", 3)

			attempt := func(mem *vfs.MemFS, inj vfs.Injector) (*Catalog, error) {
				ffs := vfs.NewFaulty(mem, nil)
				c := openAt(t, ffs, memDir, Options{})
				ffs.SetInjector(inj)
				txn, err := c.Begin(context.Background(), "Sales")
				if err != nil {
					t.Fatal(err)
				}
				defer txn.Abort()
				m, err := next.tryWrite(txn)
				if err != nil {
					return c, err
				}
				_, err = txn.Commit(context.Background(), m)
				ffs.SetInjector(nil)
				return c, err
			}
			counter := vfs.FailAt(-1)
			c, err := attempt(base.Clone(), counter)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			n := counter.Count()
			for i := range n {
				mem := base.Clone()
				trig := vfs.FailAt(i)
				c, err := attempt(mem, trig)
				op, _ := trig.Fired()
				if !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("failing op %d (%v): commit returned %v", i, op, err)
				}
				check := func(c *Catalog) {
					t.Helper()
					if prev == nil {
						if m, err := c.Current("Sales"); err == nil {
							t.Fatalf("failing op %d (%v): database created at version %d", i, op, m.Version)
						}
						return
					}
					checkImage(t, c, prev)
				}
				check(c)
				c.Close()
				c = openAt(t, mem, memDir, Options{})
				check(c)
				if _, _, err := c.GC(context.Background()); err != nil {
					t.Fatal(err)
				}
				checkClean(t, c, mem, memDir)
				m := commit(t, c, "Sales", next)
				c.Close()
				mem.Crash()
				c = openAt(t, mem, memDir, Options{})
				checkImage(t, c, m)
				c.Close()
			}
		})
	}
}

// TestConcurrency runs writers, readers and GC at once, on the real
// filesystem and on MemFS; run it with -race.
func TestConcurrency(t *testing.T) {
	t.Run("os", func(t *testing.T) { testConcurrency(t, vfs.Default, t.TempDir(), nil) })
	t.Run("mem", func(t *testing.T) {
		mem := vfs.NewMem()
		testConcurrency(t, mem, memDir, mem.Crash)
	})
}

func testConcurrency(t *testing.T, fsys vfs.FS, dir string, crash func()) {
	ctx := context.Background()
	const keep = 2
	c := openAt(t, fsys, dir, Options{KeepVersions: keep})
	defer c.Close()
	const writers, readers = 4, 4
	commits := int64(15)
	if testing.Short() {
		commits = 5
	}
	stop := make(chan struct{})
	var wg, rg sync.WaitGroup
	errc := make(chan error, 100)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("db%d", w)
			for i := range int(commits) {
				txn, err := c.Begin(ctx, name)
				if err != nil {
					errc <- err
					return
				}
				// Objects shared by every writer exercise concurrent
				// writes of one object and deduplication.
				s := spec(fmt.Sprintf("shared%d", i%3), 2)
				s.data = append(s.data, spec(fmt.Sprintf("%s-%d", name, i), 3).data...)
				m, err := s.tryWrite(txn)
				if err == nil {
					_, err = txn.Commit(ctx, m)
				}
				txn.Abort()
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, e := range c.Databases() {
					for _, o := range e.Manifest.Objects {
						_, err := c.ReadObject(ctx, o.Hash)
						if err == nil {
							continue
						}
						// An object may go only once its version is no
						// longer retained.
						cur, cerr := c.Current(e.Name)
						if !errors.Is(err, ErrNotFound) || cerr != nil || cur.Version < e.Manifest.Version+keep {
							errc <- fmt.Errorf("read %s of %s v%d: %w", o.Hash, e.Name, e.Manifest.Version, err)
							return
						}
					}
				}
			}
		}()
	}
	rg.Add(1)
	go func() {
		defer rg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := c.GC(ctx); err != nil {
				errc <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if _, _, err := c.GC(ctx); err != nil {
		t.Fatal(err)
	}
	checkClean(t, c, fsys, dir)
	want := map[string]*image.Manifest{}
	for _, e := range c.Databases() {
		if e.Manifest.Version != commits {
			t.Errorf("%s at version %d, want %d", e.Name, e.Manifest.Version, commits)
		}
		want[e.Name] = e.Manifest
	}
	if len(want) != writers {
		t.Errorf("%d databases, want %d", len(want), writers)
	}
	c.Close()
	if crash != nil {
		crash()
	}
	c2 := openAt(t, fsys, dir, Options{KeepVersions: keep})
	defer c2.Close()
	for _, m := range want {
		checkImage(t, c2, m)
	}
}
