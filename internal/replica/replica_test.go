package replica

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
)

// rig is one primary publishing into a store and one follower.
type rig struct {
	b     *blob.Store
	s     *Store
	lease *Lease
	pub   *Publisher
	prim  *primary
	local *catLocal
	fol   *Follower
}

func newRig(t testing.TB, b *blob.Store, opts Options) *rig {
	t.Helper()
	ctx := context.Background()
	s := newStore(t, b, opts)
	lease, err := s.Acquire(ctx, "west", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(s, lease, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	local := newCatLocal(t, t.TempDir())
	fol, err := NewFollower(s, local, FollowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{b: b, s: s, lease: lease, pub: pub, prim: newPrimary(), local: local, fol: fol}
}

func (r *rig) publish(t *testing.T, m *image.Manifest) Stats {
	t.Helper()
	st, err := r.pub.Publish(context.Background(), m, r.prim.objects)
	if err != nil {
		t.Fatalf("publish %s v%d: %v", m.Database, m.Version, err)
	}
	return st
}

func (r *rig) sync(t *testing.T) {
	t.Helper()
	if err := r.fol.Sync(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func TestPublishFollow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		r := newRig(t, b.open(t), Options{})
		sales := r.prim.image(t, "Sales", 1, `{"name":"Sales"}`, segs("sales-1", 5)...)
		// A name no file system or blob store would take as it is.
		odd := r.prim.image(t, "../Q1/ü Report.", 3, `{"name":"odd"}`, segs("odd", 2)...)
		st := r.publish(t, sales)
		if st.Uploaded != 6 || st.Skipped != 0 || st.Bytes != sales.Size() {
			t.Errorf("first publish: %+v, want 6 uploaded, %d bytes", st, sales.Size())
		}
		r.publish(t, odd)
		r.sync(t)
		checkLocal(t, r.local, sales, r.prim)
		checkLocal(t, r.local, odd, r.prim)

		// The store's manifest is byte for byte the primary's.
		p, err := r.s.Latest(ctx, "sales")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := Key("Sales")
		stored, _, err := r.s.readSmall(ctx, manifestName(key, 1, p.Manifest), maxManifestSize)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := sales.Marshal()
		if string(stored) != string(want) {
			t.Errorf("stored manifest differs:\n%s\nwant\n%s", stored, want)
		}
		if p.Publisher != "west" || p.Epoch != r.lease.Epoch() || p.Content != sales.ContentHash() {
			t.Errorf("pointer %+v", p)
		}

		// Second refresh: one segment changes; only it (and nothing
		// else) is uploaded and fetched.
		s2 := segs("sales-1", 5)
		s2[3] = "refreshed partition"
		v2 := r.prim.image(t, "Sales", 2, `{"name":"Sales"}`, s2...)
		st = r.publish(t, v2)
		if st.Uploaded != 1 || st.Skipped != 5 || st.Bytes != int64(len(s2[3])) {
			t.Errorf("refresh publish: %+v, want 1 uploaded (%d bytes), 5 skipped", st, len(s2[3]))
		}
		r.sync(t)
		checkLocal(t, r.local, v2, r.prim)
		ds, ok := r.fol.Lag("SALES")
		if !ok || !ds.InSync || ds.Fetched != 1 || ds.LocalVersion != 2 || ds.VersionsBehind != 0 || ds.LagSeconds != 0 {
			t.Errorf("status after the refresh: %+v", ds)
		}

		// A follower with an empty local side fetches everything once.
		local2 := newCatLocal(t, t.TempDir())
		f2, err := NewFollower(r.s, local2, FollowerOptions{Parallelism: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		checkLocal(t, local2, v2, r.prim)
		checkLocal(t, local2, odd, r.prim)
		// A second pass has nothing to do.
		commits := local2.commits.Load()
		if err := f2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if local2.commits.Load() != commits {
			t.Errorf("a pass with nothing new committed again")
		}
	})
}

func TestPublishVersionRules(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, memBackend().open(t), Options{})
	v5 := r.prim.image(t, "Sales", 5, "model", segs("a", 2)...)
	r.publish(t, v5)

	st, err := r.pub.Publish(ctx, v5, r.prim.objects)
	if err != nil || !st.Unchanged || st.Uploaded != 0 {
		t.Errorf("publishing the same version again: %+v, %v; want unchanged", st, err)
	}
	tests := []struct {
		name string
		m    *image.Manifest
		want error
	}{
		{"older version", r.prim.image(t, "Sales", 4, "model", segs("b", 1)...), ErrStale},
		{"same version, other content", r.prim.image(t, "Sales", 5, "model", segs("c", 1)...), ErrStale},
		{"no model", &image.Manifest{Database: "Sales", Version: 6}, ErrInvalid},
		{"no database name", &image.Manifest{Version: 6, Model: v5.Model, Objects: v5.Objects}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.pub.Publish(ctx, tc.m, r.prim.objects)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			p, err := r.s.Latest(ctx, "Sales")
			if err != nil || p.Version != 5 || p.Content != v5.ContentHash() {
				t.Fatalf("pointer changed: %+v, %v", p, err)
			}
		})
	}
	t.Run("object the reader lacks", func(t *testing.T) {
		m := r.prim.image(t, "Sales", 6, "model", segs("d", 1)...)
		_, err := r.pub.Publish(ctx, m, image.NewMemStore())
		if !errors.Is(err, image.ErrNotFound) {
			t.Fatalf("got %v, want image.ErrNotFound", err)
		}
	})
	t.Run("damaged local object is not shipped", func(t *testing.T) {
		m := r.prim.image(t, "Sales", 6, "model", segs("e", 1)...)
		_, err := r.pub.Publish(ctx, m, lyingReader{r.prim.objects})
		if !errors.Is(err, image.ErrHashMismatch) {
			t.Fatalf("got %v, want image.ErrHashMismatch", err)
		}
		for _, o := range m.Objects {
			if o.Kind == image.KindSegment {
				if _, err := r.b.Stat(ctx, objectName(o.Hash)); !errors.Is(err, blob.ErrNotFound) {
					t.Errorf("damaged object %s was uploaded: %v", o.Hash, err)
				}
			}
		}
	})
}

// lyingReader flips a byte of every segment it reads.
type lyingReader struct{ r image.ObjectReader }

func (l lyingReader) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	b, err := l.r.ReadObject(ctx, h)
	if err == nil && strings.HasPrefix(string(b), "segment") {
		b[0] ^= 1
	}
	return b, err
}

func TestDamagedStoreRefused(t *testing.T) {
	type damage func(t *testing.T, r *rig, m *image.Manifest)
	seg := func(m *image.Manifest) image.ObjectRef {
		for _, o := range m.Objects {
			if o.Kind == image.KindSegment {
				return o
			}
		}
		panic("no segment")
	}
	put := func(t *testing.T, r *rig, name string, data []byte) {
		t.Helper()
		if err := r.b.WriteAll(context.Background(), name, data, blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		damage   damage
		want     error
		repaired int
	}{
		{"flipped byte", func(t *testing.T, r *rig, m *image.Manifest) {
			o := seg(m)
			b, _ := r.prim.objects.ReadObject(context.Background(), o.Hash)
			b[len(b)/2] ^= 0x40
			put(t, r, objectName(o.Hash), b)
		}, ErrDamaged, 1},
		{"truncated", func(t *testing.T, r *rig, m *image.Manifest) {
			o := seg(m)
			b, _ := r.prim.objects.ReadObject(context.Background(), o.Hash)
			put(t, r, objectName(o.Hash), b[:len(b)-1])
		}, ErrDamaged, 1},
		{"longer", func(t *testing.T, r *rig, m *image.Manifest) {
			o := seg(m)
			b, _ := r.prim.objects.ReadObject(context.Background(), o.Hash)
			put(t, r, objectName(o.Hash), append(b, '!'))
		}, ErrDamaged, 1},
		{"missing", func(t *testing.T, r *rig, m *image.Manifest) {
			if err := r.b.Delete(context.Background(), objectName(seg(m).Hash)); err != nil {
				t.Fatal(err)
			}
		}, ErrDamaged, 1},
		{"manifest altered", func(t *testing.T, r *rig, m *image.Manifest) {
			p, _ := r.s.Latest(context.Background(), m.Database)
			key, _ := Key(m.Database)
			b, _ := m.Marshal()
			put(t, r, manifestName(key, m.Version, p.Manifest), append(b, ' '))
		}, ErrDamaged, 0},
		{"manifest missing", func(t *testing.T, r *rig, m *image.Manifest) {
			p, _ := r.s.Latest(context.Background(), m.Database)
			key, _ := Key(m.Database)
			if err := r.b.Delete(context.Background(), manifestName(key, m.Version, p.Manifest)); err != nil {
				t.Fatal(err)
			}
		}, ErrDamaged, 0},
		{"pointer garbage", func(t *testing.T, r *rig, m *image.Manifest) {
			key, _ := Key(m.Database)
			put(t, r, pointerName(key), []byte(`{"format":1,"database":`))
		}, ErrCorrupt, 0},
		{"pointer of another database", func(t *testing.T, r *rig, m *image.Manifest) {
			p, _ := r.s.Latest(context.Background(), m.Database)
			p.Database = "Other"
			b, _ := p.marshal()
			key, _ := Key(m.Database)
			put(t, r, pointerName(key), b)
		}, ErrCorrupt, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, memBackend().open(t), Options{})
			m := r.prim.image(t, "Sales", 1, "model", segs("x", 3)...)
			r.publish(t, m)
			tc.damage(t, r, m)
			err := r.fol.Sync(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("sync: %v, want %v", err, tc.want)
			}
			if r.local.Current("Sales") != nil {
				t.Fatal("a damaged image was committed")
			}
			ds, ok := r.fol.Lag("Sales")
			if !ok || ds.Error == "" || ds.InSync {
				t.Errorf("status does not report the failure: %+v", ds)
			}
			// The next poll tries again, and fails again.
			if err := r.fol.Sync(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("second sync: %v, want %v", err, tc.want)
			}
			// Repaired by the publisher, the next poll commits.
			st, err := r.pub.Repair(ctx, m, r.prim.objects)
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			if st.Uploaded != tc.repaired {
				t.Errorf("repair uploaded %d objects, want %d", st.Uploaded, tc.repaired)
			}
			r.sync(t)
			checkLocal(t, r.local, m, r.prim)
			if ds, _ := r.fol.Lag("Sales"); ds.Error != "" || !ds.InSync {
				t.Errorf("status after the repair: %+v", ds)
			}
		})
	}
}

func TestFollowerInterrupted(t *testing.T) {
	// Cancelled after k objects were handed to the commit, for every k,
	// with and without objects staged ahead: the local side keeps its
	// previous image, and a new follower on the same local side then
	// catches up with every object verified.
	for _, staged := range []int64{1, 1 << 30} {
		for k := int64(1); k <= 6; k++ {
			t.Run(fmt.Sprintf("staged=%d/k=%d", staged, k), func(t *testing.T) {
				ctx := context.Background()
				r := newRig(t, fileBackend().open(t), Options{})
				v1 := r.prim.image(t, "Sales", 1, "model", segs("v1", 4)...)
				r.publish(t, v1)
				r.sync(t)
				v2 := r.prim.image(t, "Sales", 2, "model 2", segs("v2", 6)...)
				r.publish(t, v2)

				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				r.local.mu.Lock()
				r.local.failAfter, r.local.cancel = k, cancel
				r.local.reads.Store(0)
				r.local.mu.Unlock()
				f, err := NewFollower(r.s, r.local, FollowerOptions{MaxStaged: staged})
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Sync(cctx); err == nil {
					t.Fatal("an interrupted sync reported success")
				}
				checkLocal(t, r.local, v1, r.prim)

				r.local.mu.Lock()
				r.local.failAfter, r.local.cancel = 0, nil
				r.local.mu.Unlock()
				f2, err := NewFollower(r.s, r.local, FollowerOptions{MaxStaged: staged})
				if err != nil {
					t.Fatal(err)
				}
				if err := f2.Sync(ctx); err != nil {
					t.Fatal(err)
				}
				checkLocal(t, r.local, v2, r.prim)
			})
		}
	}
}

func TestFollowerCancelledAnywhere(t *testing.T) {
	// The context ends at an arbitrary moment of a pass (timers of
	// growing length): whatever was done, the local side holds v1 or v2,
	// whole, and the next pass reaches v2.
	ctx := context.Background()
	r := newRig(t, fileBackend().open(t), Options{})
	v1 := r.prim.image(t, "Sales", 1, "model", segs("v1", 4)...)
	r.publish(t, v1)
	r.sync(t)
	v2 := r.prim.image(t, "Sales", 2, "model 2", segs("v2", 8)...)
	r.publish(t, v2)
	for i := range 40 {
		l := newCatLocal(t, t.TempDir())
		f, err := NewFollower(r.s, l, FollowerOptions{Parallelism: 2})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Duration(i)*50*time.Microsecond)
		_ = f.Sync(cctx)
		cancel()
		if m := l.Current("Sales"); m != nil {
			checkLocal(t, l, v2, r.prim)
		}
		if err := f.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		checkLocal(t, l, v2, r.prim)
	}
}

func TestDeletesAndRenames(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		r := newRig(t, b.open(t), Options{})
		a := r.prim.image(t, "A", 3, "model a", segs("a", 2)...)
		keep := r.prim.image(t, "Keep", 1, "model k", segs("k", 1)...)
		r.publish(t, a)
		r.publish(t, keep)
		r.sync(t)

		// Delete propagates; deleting again, or deleting what the store
		// never had, is a no-op.
		if err := r.pub.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		for _, db := range []string{"A", "Never"} {
			if err := r.pub.Delete(ctx, db); err != nil {
				t.Fatalf("delete %s: %v", db, err)
			}
		}
		p, err := r.s.Latest(ctx, "A")
		if err != nil || !p.Deleted || p.Version != 3 || p.Database != "A" {
			t.Fatalf("tombstone %+v, %v", p, err)
		}
		r.sync(t)
		if r.local.Current("A") != nil {
			t.Fatal("delete did not propagate")
		}
		checkLocal(t, r.local, keep, r.prim)
		if ds, _ := r.fol.Lag("A"); !ds.Deleted || !ds.InSync {
			t.Errorf("status of a deleted database: %+v", ds)
		}

		// Created again, its versions start over.
		a1 := r.prim.image(t, "A", 1, "model a again", segs("a-again", 1)...)
		r.publish(t, a1)
		r.sync(t)
		checkLocal(t, r.local, a1, r.prim)

		// Rename: the new name appears, the old one goes.
		b2 := r.prim.image(t, "B", 2, "model a again", segs("a-again", 1)...)
		if _, err := r.pub.Rename(ctx, "A", b2, r.prim.objects); err != nil {
			t.Fatal(err)
		}
		r.sync(t)
		checkLocal(t, r.local, b2, r.prim)
		if r.local.Current("A") != nil {
			t.Fatal("the old name survived the rename")
		}
		// A rename that changes only case is one database.
		b3 := r.prim.image(t, "b", 3, "model a again", segs("a-again", 1)...)
		if _, err := r.pub.Rename(ctx, "B", b3, r.prim.objects); err != nil {
			t.Fatal(err)
		}
		if p, err := r.s.Latest(ctx, "B"); err != nil || p.Deleted || p.Database != "b" {
			t.Fatalf("case-only rename left %+v, %v", p, err)
		}
		r.sync(t)
		checkLocal(t, r.local, b3, r.prim)
	})
}

func TestFollowerMissedTombstone(t *testing.T) {
	// A follower that was away while a database was deleted and created
	// again sees a lower version than its own: the store wins.
	ctx := context.Background()
	r := newRig(t, memBackend().open(t), Options{})
	old := r.prim.image(t, "Sales", 7, "old", segs("old", 2)...)
	r.publish(t, old)
	r.sync(t)
	if err := r.pub.Delete(ctx, "Sales"); err != nil {
		t.Fatal(err)
	}
	// First a lower version than the follower's, then (deleted and
	// created again while the follower was away once more) the same
	// version with other content.
	for i, v := range []int64{1, 1} {
		fresh := r.prim.image(t, "Sales", v, fmt.Sprintf("new %d", i), segs(fmt.Sprint("new", i), 2)...)
		r.publish(t, fresh)
		r.sync(t)
		checkLocal(t, r.local, fresh, r.prim)
		if err := r.pub.Delete(ctx, "Sales"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLagStatus(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	r := newRig(t, memBackend().open(t), Options{Clock: clock})
	r.prim.clock = clock
	v1 := r.prim.image(t, "Sales", 1, "model", segs("v1", 2)...)
	r.publish(t, v1)
	r.sync(t)
	clock.Advance(time.Minute)
	v2 := r.prim.image(t, "Sales", 4, "model", segs("v2", 2)...)
	r.publish(t, v2)
	clock.Advance(5 * time.Second)
	failing := &failingLocal{catLocal: r.local}
	f, err := NewFollower(r.s, failing, FollowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(ctx); err == nil {
		t.Fatal("sync with a failing commit succeeded")
	}
	clock.Advance(2 * time.Second)
	got, ok := f.Lag("Sales")
	want := DatabaseStatus{Database: "Sales", StoreVersion: 4, StoreCommitTime: v2.CommitTime,
		LocalVersion: 1, LocalCommitTime: v1.CommitTime, VersionsBehind: 3, LagSeconds: 7,
		LastChecked: clock.Now().Add(-2 * time.Second), Error: got.Error}
	if !ok || got.Error == "" {
		t.Fatalf("no failure recorded: %+v", got)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if err := r.fol.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = r.fol.Lag("Sales")
	if !got.InSync || got.LagSeconds != 0 || got.VersionsBehind != 0 || got.Error != "" {
		t.Errorf("in sync: %+v", got)
	}
	all := r.fol.Status()
	if len(all.Databases) != 1 || all.LastPoll.IsZero() || all.PollError != "" {
		t.Errorf("follower status %+v", all)
	}
}

// failingLocal fails every commit.
type failingLocal struct{ *catLocal }

func (failingLocal) Commit(context.Context, *image.Manifest, image.ObjectReader) error {
	return errors.New("test: the disk is full")
}

func TestRunAndClose(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, memBackend().open(t), Options{})
	f, err := NewFollower(r.s, r.local, FollowerOptions{Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	committed := make(chan int64, 10)
	r.local.mu.Lock()
	r.local.onCommit = func(m *image.Manifest) { committed <- m.Version }
	r.local.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for v := int64(1); v <= 3; v++ {
		r.publish(t, r.prim.image(t, "Sales", v, "model", segs(fmt.Sprint(v), 2)...))
		select {
		case got := <-committed:
			if got != v {
				t.Fatalf("committed version %d, want %d", got, v)
			}
		case <-time.After(time.Minute):
			t.Fatalf("version %d was not followed within a minute", v)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if err := f.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestPublishRace(t *testing.T) {
	// Publishers sharing one lease (one server, several goroutines) race
	// to publish different images as the same version: exactly one wins,
	// the others get ErrStale, and the pointer names the winner's image.
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		r := newRig(t, b.open(t), Options{})
		r.publish(t, r.prim.image(t, "Sales", 1, "model", segs("base", 1)...))
		const n = 6
		imgs := make([]*image.Manifest, n)
		for i := range imgs {
			imgs[i] = r.prim.image(t, "Sales", 2, "model", segs(fmt.Sprint("racer", i), 2)...)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			pub, err := NewPublisher(r.s, r.lease, PublisherOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { _, errs[i] = pub.Publish(ctx, imgs[i], r.prim.objects) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("publishers %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrStale):
				t.Fatalf("publisher %d: %v, want ErrStale", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no publisher won")
		}
		p, err := r.s.Latest(ctx, "Sales")
		if err != nil || p.Content != imgs[winner].ContentHash() {
			t.Fatalf("pointer %+v, %v; want the winner's image", p, err)
		}
		r.sync(t)
		checkLocal(t, r.local, imgs[winner], r.prim)
	})
}
