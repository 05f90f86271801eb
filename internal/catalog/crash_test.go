package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// crashScenario is an operation to crash at every point of.
type crashScenario struct {
	name  string
	opts  Options
	setup func(t *testing.T, c *Catalog)
	// run performs the operation on a catalog opened on the faulty
	// filesystem; it returns nil only if the operation reported success.
	run func(ctx context.Context, c *Catalog) error
}

// state is the current manifest of every database, by name.
type state map[string]*image.Manifest

func stateOf(c *Catalog) state {
	s := state{}
	for _, e := range c.Databases() {
		s[e.Name] = e.Manifest
	}
	return s
}

// sameContent compares states without commit times, which differ between
// two runs of one scenario; for messages only, as cmp is slow.
var sameContent = cmpopts.IgnoreFields(image.Manifest{}, "CommitTime")

// equalState compares states, commit times included or not.
func equalState(a, b state, withTimes bool) bool {
	key := func(m *image.Manifest) string {
		k := fmt.Sprintf("%s|%d|%s|%s|%s|%s|%s", m.Database, m.Version, m.State,
			m.LastProcessed, m.Model, m.Data, m.ContentHash())
		if withTimes {
			k += "|" + m.CommitTime.String()
		}
		return k
	}
	return maps.EqualFunc(a, b, func(x, y *image.Manifest) bool { return key(x) == key(y) })
}

func commitSpec(ctx context.Context, c *Catalog, name string, s imageSpec, replicaVersion int64) error {
	txn, err := c.Begin(ctx, name)
	if err != nil {
		return err
	}
	defer txn.Abort()
	m, err := s.tryWrite(txn)
	if err != nil {
		return err
	}
	if replicaVersion > 0 {
		m.Version = replicaVersion
		_, err = txn.CommitReplica(ctx, m)
	} else {
		_, err = txn.Commit(ctx, m)
	}
	return err
}

func crashScenarios() []crashScenario {
	withOther := func(t *testing.T, c *Catalog) { commit(t, c, "Other", spec("other", 2)) }
	withSales := func(t *testing.T, c *Catalog) {
		withOther(t, c)
		commit(t, c, "Sales", spec("v1", 5))
	}
	refresh := spec("v2", 12)
	refresh.data = append(refresh.data, spec("v1", 5).data[:3]...) // shared with v1
	return []crashScenario{
		{
			name:  "deploy a new database",
			setup: withOther,
			run: func(ctx context.Context, c *Catalog) error {
				return commitSpec(ctx, c, "Sales", spec("model", 0), 0)
			},
		},
		{
			name:  "deploy over an existing database",
			setup: withSales,
			run: func(ctx context.Context, c *Catalog) error {
				return commitSpec(ctx, c, "Sales", spec("model", 0), 0)
			},
		},
		{
			name:  "refresh",
			setup: withSales,
			run: func(ctx context.Context, c *Catalog) error {
				return commitSpec(ctx, c, "Sales", refresh, 0)
			},
		},
		{
			name:  "refresh keeping two versions",
			opts:  Options{KeepVersions: 2},
			setup: func(t *testing.T, c *Catalog) { withSales(t, c); commit(t, c, "Sales", spec("v1b", 2)) },
			run: func(ctx context.Context, c *Catalog) error {
				return commitSpec(ctx, c, "Sales", refresh, 0)
			},
		},
		{
			name:  "restore (verified objects, synced ahead)",
			setup: withSales,
			run: func(ctx context.Context, c *Catalog) error {
				return restoreSpec(ctx, c, "Sales", refresh)
			},
		},
		{
			name:  "replica commit",
			setup: withSales,
			run: func(ctx context.Context, c *Catalog) error {
				return commitSpec(ctx, c, "Sales", refresh, 7)
			},
		},
		{
			name:  "rename",
			setup: withSales,
			run:   func(ctx context.Context, c *Catalog) error { return c.Rename(ctx, "Sales", "Revenue") },
		},
		{
			name:  "delete",
			setup: withSales,
			run:   func(ctx context.Context, c *Catalog) error { return c.Delete(ctx, "Sales") },
		},
		{
			name: "delete then gc",
			setup: func(t *testing.T, c *Catalog) {
				withSales(t, c)
				commit(t, c, "Sales", spec("v1", 6)) // shares most objects with v1
			},
			run: func(ctx context.Context, c *Catalog) error {
				if err := c.Delete(ctx, "Sales"); err != nil {
					return err
				}
				_, _, err := c.GC(ctx)
				return err
			},
		},
		{
			name: "gc",
			setup: func(t *testing.T, c *Catalog) {
				ctx := context.Background()
				withSales(t, c)
				commit(t, c, "Sales", spec("v2", 4))
				commit(t, c, "Gone", spec("gone", 3))
				if err := c.Delete(ctx, "Gone"); err != nil {
					t.Fatal(err)
				}
				txn, _ := c.Begin(ctx, "Sales")
				spec("aborted", 3).write(t, txn)
				txn.Abort()
				// A first commit interrupted after its manifest directory
				// was made.
				c.fs.MkdirAll(c.path("databases", "abandoned-0123456789abcdef", "manifests"), 0o755)
				c.fs.SyncDir(c.path("databases"))
			},
			run: func(ctx context.Context, c *Catalog) error {
				_, _, err := c.GC(ctx)
				return err
			},
		},
	}
}

// TestCrash crashes every scenario at each of its filesystem operations
// (Open included) and checks what a restart finds: Open succeeds, each
// database is at its version from before the operation or after it (after
// it if the operation returned), every object of every retained version
// verifies, GC leaves nothing behind, and the catalog works.
//
// Each crash is checked twice: power lost at once, and the process killed
// with the machine up, a new process started (and served what it found)
// before the power was lost.
func TestCrash(t *testing.T) {
	for _, sc := range crashScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			base := vfs.NewMem()
			c := openAt(t, base, memDir, sc.opts)
			sc.setup(t, c)
			committed := stateOf(c)
			c.Close()
			// Every replay starts from what the setup made durable, and
			// that must be everything it committed.
			base.Crash()
			c = openAt(t, base.Clone(), memDir, sc.opts)
			before := stateOf(c)
			c.Close()
			if !equalState(committed, before, true) {
				t.Fatalf("the setup's commits did not survive a crash (-committed +after):\n%s", cmp.Diff(committed, before))
			}

			// One run without a crash counts the operations.
			mem := base.Clone()
			counter := vfs.CrashAt(-1, vfs.MutatingOps...)
			if err := openAndRun(ctx, vfs.NewFaulty(mem, counter), sc); err != nil {
				t.Fatal(err)
			}
			c = openAt(t, mem, memDir, sc.opts)
			after := stateOf(c)
			c.Close()
			n := counter.Count()
			if n < 5 {
				t.Fatalf("only %d operations counted", n)
			}

			sawAfter := false
			for i := int64(0); i <= n; i++ {
				for _, kill := range []bool{false, true} {
					mem := base.Clone()
					trig := vfs.CrashAt(i, vfs.MutatingOps...)
					err := openAndRun(ctx, vfs.NewFaulty(mem, trig), sc)
					op, fired := trig.Fired()
					where := fmt.Sprintf("crash at op %d of %d (%v), kill %v", i, n, op, kill)
					if !fired {
						op = vfs.Op{}
						where = "no crash"
					}
					if err != nil && !errors.Is(err, vfs.ErrCrashed) {
						t.Fatalf("%s: the operation failed with %v", where, err)
					}
					if !fired && err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					var seen state
					logged := &warnings{}
					logger := slog.New(logged)
					if kill {
						mem.Kill()
						c, err := Open(ctx, Options{FS: mem, Dir: memDir, KeepVersions: sc.opts.KeepVersions, Logger: logger})
						if err != nil {
							t.Fatalf("%s: Open after kill: %v", where, err)
						}
						seen = stateOf(c)
						c.Close()
					}
					mem.Crash()
					c, err2 := Open(ctx, Options{FS: mem, Dir: memDir, KeepVersions: sc.opts.KeepVersions, Logger: logger})
					if err2 != nil {
						t.Fatalf("%s: Open after crash: %v\n%s", where, err2, mem)
					}
					got := stateOf(c)
					if kill {
						// What the second process served survived the power loss.
						if !equalState(seen, got, true) {
							t.Fatalf("%s: served before the power loss, lost after (-served +after):\n%s", where, cmp.Diff(seen, got))
						}
					}
					isAfter := equalState(after, got, false)
					switch {
					case err == nil && !isAfter:
						t.Fatalf("%s: the operation returned, but (-want +got):\n%s", where, cmp.Diff(after, got, sameContent))
					case !isAfter && !equalState(before, got, true):
						t.Fatalf("%s: state is neither before nor after; (-before +got):\n%s\n(-after +got):\n%s\n%s",
							where, cmp.Diff(before, got), cmp.Diff(after, got, sameContent), mem)
					case !kill && sawAfter && !isAfter:
						t.Fatalf("%s: back to the state before after a later crash point showed the state after", where)
					}
					sawAfter = sawAfter || (isAfter && !kill)
					checkRecovered(t, where, c, mem, sc.opts)
					// Recovery from a crash is routine: nothing to warn about.
					if w := logged.get(); len(w) > 0 {
						t.Fatalf("%s: recovery logged warnings: %q", where, w)
					}
				}
			}
			if !equalState(before, after, false) && !sawAfter {
				t.Error("no crash point showed the state after the operation")
			}
		})
	}
}

func openAndRun(ctx context.Context, fsys vfs.FS, sc crashScenario) error {
	opts := sc.opts
	opts.FS, opts.Dir = fsys, memDir
	c, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	return sc.run(ctx, c)
}

// checkRecovered checks a catalog opened after a crash: every retained
// object verifies, GC succeeds and leaves nothing behind, the catalog
// commits, and the commit survives another crash.
func checkRecovered(t *testing.T, where string, c *Catalog, mem *vfs.MemFS, opts Options) {
	t.Helper()
	ctx := context.Background()
	checkHistory := func() {
		t.Helper()
		for _, e := range c.Databases() {
			h, err := c.History(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range h {
				for _, o := range m.Objects {
					if _, err := c.ReadObject(ctx, o.Hash); err != nil {
						t.Fatalf("%s: version %d of %s: %v", where, m.Version, e.Name, err)
					}
				}
			}
		}
	}
	checkHistory()
	s := stateOf(c)
	if _, _, err := c.GC(ctx); err != nil {
		t.Fatalf("%s: GC: %v", where, err)
	}
	checkClean(t, c, mem, memDir)
	if got := stateOf(c); !equalState(s, got, true) {
		t.Fatalf("%s: GC changed the databases:\n%s", where, cmp.Diff(s, got))
	}
	checkHistory()
	probe := commit(t, c, "Probe", spec("probe", 1))
	c.Close()
	mem.Crash()
	opts.FS, opts.Dir = mem, memDir
	c2, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("%s: reopen after the probe: %v", where, err)
	}
	defer c2.Close()
	checkImage(t, c2, probe)
	if got := files(t, mem, filepath.Join(memDir, "databases")); len(got) == 0 {
		t.Fatalf("%s: no databases left", where)
	}
}
