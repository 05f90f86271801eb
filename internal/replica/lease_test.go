package replica

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
)

func mustAcquire(t *testing.T, s *Store, holder string, ttl time.Duration) *Lease {
	t.Helper()
	l, err := s.Acquire(context.Background(), holder, ttl)
	if err != nil {
		t.Fatalf("acquire for %s: %v", holder, err)
	}
	return l
}

func isLost(l *Lease) bool {
	select {
	case <-l.Lost():
		return true
	default:
		return false
	}
}

func TestLeaseFakeClock(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	const ttl = 15 * time.Second
	skew := 2 * time.Second
	s := newStore(t, memBackend().open(t), Options{Clock: clock, LocalExpiry: true, MaxClockSkew: skew})

	west := mustAcquire(t, s, "west", ttl)
	if west.Epoch() != 1 || west.Holder() != "west" || west.Valid() != nil {
		t.Fatalf("first lease: epoch %d, holder %s, valid %v", west.Epoch(), west.Holder(), west.Valid())
	}

	// Held: another holder is refused with the holder's name, also after
	// most of the TTL, and again after a renewal.
	for _, step := range []time.Duration{0, ttl - time.Second} {
		clock.Advance(step)
		_, err := s.Acquire(ctx, "north", ttl)
		var held *HeldError
		if !errors.As(err, &held) || !errors.Is(err, ErrHeld) || held.Holder != "west" || held.Epoch != 1 ||
			!strings.Contains(err.Error(), `"west"`) {
			t.Fatalf("acquire of a held lease after %v: %v", step, err)
		}
	}
	if err := west.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ttl - time.Second)
	if _, err := s.Acquire(ctx, "north", ttl); !errors.Is(err, ErrHeld) {
		t.Fatalf("acquire after a renewal: %v", err)
	}
	if err := west.Check(ctx); err != nil {
		t.Fatalf("check of a held lease: %v", err)
	}

	// Expired (TTL plus the allowed skew without renewal): taken, with a
	// new epoch. The old holder's own deadline passed first.
	clock.Advance(skew + 2*time.Second)
	if err := west.Valid(); !errors.Is(err, ErrFenced) || !isLost(west) {
		t.Fatalf("past its deadline the old lease is %v", err)
	}
	north := mustAcquire(t, s, "north", ttl)
	if north.Epoch() != 2 {
		t.Fatalf("epoch after expiry %d, want 2", north.Epoch())
	}
	if err := west.Renew(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("renew of a lost lease: %v", err)
	}

	// Takeover while held: the previous holder is fenced at its next
	// renewal or check, although its own deadline has not passed.
	east, err := s.Takeover(ctx, "east", ttl)
	if err != nil || east.Epoch() != 3 {
		t.Fatalf("takeover: %v, epoch %d", err, east.Epoch())
	}
	if isLost(north) {
		t.Fatal("lost before it could know")
	}
	err = north.Renew(ctx)
	if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), `"east"`) || !isLost(north) {
		t.Fatalf("renew after a takeover: %v", err)
	}
	if err := north.Check(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("check after a takeover: %v", err)
	}

	// Release: the next holder need not wait.
	if err := east.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !isLost(east) || east.Valid() == nil {
		t.Fatal("a released lease is still valid")
	}
	if err := east.Release(ctx); err != nil {
		t.Fatalf("second release: %v", err)
	}
	south := mustAcquire(t, s, "south", ttl)
	if south.Epoch() != 4 {
		t.Fatalf("epoch after release %d, want 4", south.Epoch())
	}

	// The same holder (a restarted server) acquires again at once; the
	// lease of its previous incarnation is fenced.
	south2 := mustAcquire(t, s, "south", ttl)
	if south2.Epoch() != 5 {
		t.Fatalf("epoch of a restarted holder %d, want 5", south2.Epoch())
	}
	if err := south.Check(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("check of the previous incarnation: %v", err)
	}
	rec, err := s.LeaseHolder(ctx)
	if err != nil || rec.Holder != "south" || rec.Epoch != 5 || rec.TTL() != ttl {
		t.Fatalf("lease holder %+v, %v", rec, err)
	}
}

func TestLeaseArguments(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memBackend().open(t), Options{})
	tests := []struct {
		name   string
		holder string
		ttl    time.Duration
	}{
		{"empty holder", "", time.Minute},
		{"control character", "we\x00st", time.Minute},
		{"invalid UTF-8", "\xff", time.Minute},
		{"long holder", strings.Repeat("w", MaxNameLen+1), time.Minute},
		{"zero TTL", "west", 0},
		{"negative TTL", "west", -time.Second},
		{"huge TTL", "west", MaxTTL + time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Acquire(ctx, tc.holder, tc.ttl); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := s.LeaseHolder(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lease holder of a fresh store: %v", err)
	}
}

func TestLeaseDamagedOrDeleted(t *testing.T) {
	ctx := context.Background()
	b := memBackend().open(t)
	s := newStore(t, b, Options{})
	r := &rig{b: b, s: s, prim: newPrimary()}
	lease := mustAcquire(t, s, "west", time.Hour)
	for range 4 { // epochs 2..5
		lease = mustAcquire(t, s, "west", time.Hour)
	}
	pub, err := NewPublisher(s, lease, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, r.prim.image(t, "Sales", 1, "m", segs("s", 1)...), r.prim.objects); err != nil {
		t.Fatal(err)
	}

	if err := b.WriteAll(ctx, leaseName, []byte("{not json"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, "north", time.Hour); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("acquire over a damaged lease: %v", err)
	}
	// A takeover replaces it, above every epoch the pointers carry.
	l, err := s.Takeover(ctx, "north", time.Hour)
	if err != nil || l.Epoch() != 6 {
		t.Fatalf("takeover of a damaged lease: %v, epoch %d", err, l.Epoch())
	}
	if err := lease.Check(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("check after the takeover: %v", err)
	}

	// Deleted by hand: a new lease starts above the pointers' epochs too.
	if err := b.Delete(ctx, leaseName); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("check of a deleted lease: %v", err)
	}
	l2 := mustAcquire(t, s, "south", time.Hour)
	if l2.Epoch() != 6 {
		// The pointer carries epoch 5 (north never published), so 6.
		t.Fatalf("epoch after the lease was deleted: %d, want 6", l2.Epoch())
	}
}

func TestLeaseStoreClock(t *testing.T) {
	// Expiry judged by the store's own clock (modification times), on
	// every backend.
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := newStore(t, b.open(t), Options{})
		long := mustAcquire(t, s, "west", time.Minute)
		if _, err := s.Acquire(ctx, "north", time.Minute); !errors.Is(err, ErrHeld) {
			t.Fatalf("acquire of a lease held for a minute: %v", err)
		}
		if err := long.Release(ctx); err != nil {
			t.Fatal(err)
		}
		short := mustAcquire(t, s, "west", 100*time.Millisecond)
		// Wait for the store's clock to pass TTL plus the resolution
		// margin; the deadline only bounds a broken test.
		deadline := time.Now().Add(time.Minute)
		var north *Lease
		for {
			l, err := s.Acquire(ctx, "north", time.Minute)
			if err == nil {
				north = l
				break
			}
			if !errors.Is(err, ErrHeld) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the expired lease was never taken: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if north.Epoch() != short.Epoch()+1 {
			t.Fatalf("epochs %d then %d", short.Epoch(), north.Epoch())
		}
		if err := short.Renew(ctx); !errors.Is(err, ErrFenced) {
			t.Fatalf("renew of the expired lease: %v", err)
		}
	})
}

func TestLeaseKeep(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memBackend().open(t), Options{})
	// A TTL long enough that a loaded machine still renews in time.
	west := mustAcquire(t, s, "west", 3*time.Second)
	kept := make(chan error, 1)
	go func() { kept <- west.Keep(ctx) }()
	// Kept alive well past its TTL by renewals: wait for a few of them.
	deadline := time.Now().Add(time.Minute)
	for {
		rec, err := s.LeaseHolder(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Renewals >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d renewals in a minute", rec.Renewals)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.Takeover(ctx, "north", time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-kept:
		if !errors.Is(err, ErrFenced) {
			t.Fatalf("Keep returned %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Keep did not notice the takeover within a minute")
	}
	<-west.Lost()

	// Keep returns nil when its context ends.
	north2 := mustAcquire(t, s, "north", time.Minute)
	cctx, cancel := context.WithCancel(ctx)
	go func() { kept <- north2.Keep(cctx) }()
	cancel()
	if err := <-kept; err != nil {
		t.Fatalf("Keep after cancel: %v", err)
	}
}

func TestFencing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		r := newRig(t, b.open(t), Options{})
		v1 := r.prim.image(t, "Sales", 1, "model", segs("v1", 2)...)
		r.publish(t, v1)
		other := r.prim.image(t, "Other", 4, "model o", segs("o", 1)...)
		r.publish(t, other)

		// The old primary is caught between its lease check and its
		// pointer write: meanwhile a new primary takes over and fences.
		var north *Lease
		var npub *Publisher
		r.pub.beforePointer = func() {
			r.pub.beforePointer = nil
			var err error
			if north, err = r.s.Takeover(ctx, "north", time.Hour); err != nil {
				t.Error(err)
				return
			}
			if npub, err = NewPublisher(r.s, north, PublisherOptions{}); err != nil {
				t.Error(err)
				return
			}
			if err := npub.Fence(ctx); err != nil {
				t.Errorf("fence: %v", err)
			}
		}
		v2 := r.prim.image(t, "Sales", 2, "model", segs("v2", 2)...)
		if _, err := r.pub.Publish(ctx, v2, r.prim.objects); !errors.Is(err, ErrFenced) {
			t.Fatalf("publish by the fenced primary: %v", err)
		}
		if !isLost(r.lease) {
			t.Fatal("the fenced primary's lease is not lost")
		}
		for _, db := range []string{"Sales", "Other"} {
			p, err := r.s.Latest(ctx, db)
			if err != nil || p.Epoch != north.Epoch() || p.Publisher != "north" {
				t.Fatalf("pointer of %s after the fence: %+v, %v", db, p, err)
			}
		}
		if p, _ := r.s.Latest(ctx, "Sales"); p.Version != 1 {
			t.Fatalf("the fenced primary advanced the pointer to %d", p.Version)
		}
		// Everything else it tries is refused too.
		if err := r.pub.Delete(ctx, "Other"); !errors.Is(err, ErrFenced) {
			t.Fatalf("delete by the fenced primary: %v", err)
		}
		if _, err := r.pub.Publish(ctx, v2, r.prim.objects); !errors.Is(err, ErrFenced) {
			t.Fatalf("second publish by the fenced primary: %v", err)
		}

		// The new primary publishes; followers get its images.
		v2n := r.prim.image(t, "Sales", 2, "model", segs("v2 north", 2)...)
		if _, err := npub.Publish(ctx, v2n, r.prim.objects); err != nil {
			t.Fatal(err)
		}
		r.sync(t)
		checkLocal(t, r.local, v2n, r.prim)
		checkLocal(t, r.local, other, r.prim)
	})
}

func TestFencedByPointerEpoch(t *testing.T) {
	// Even if the old primary's lease check passes (it read the lease just
	// before the takeover), a pointer with a newer epoch stops it.
	ctx := context.Background()
	r := newRig(t, memBackend().open(t), Options{})
	r.publish(t, r.prim.image(t, "Sales", 1, "model", segs("v1", 2)...))
	old, _, err := r.s.readSmall(ctx, leaseName, maxLeaseSize)
	if err != nil {
		t.Fatal(err)
	}
	north, err := r.s.Takeover(ctx, "north", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	npub, err := NewPublisher(r.s, north, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := npub.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	// Put the old lease back, as the old primary last saw it.
	if err := r.b.WriteAll(ctx, leaseName, old, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.lease.Check(ctx); err != nil {
		t.Fatalf("the restored lease does not check: %v", err)
	}
	_, err = r.pub.Publish(ctx, r.prim.image(t, "Sales", 2, "model", segs("v2", 1)...), r.prim.objects)
	if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), "epoch 2") {
		t.Fatalf("publish under an older epoch: %v", err)
	}
	if p, _ := r.s.Latest(ctx, "Sales"); p.Version != 1 || p.Epoch != 2 {
		t.Fatalf("pointer %+v", p)
	}
	// And the new lease's holder is fenced in turn by a newer pointer:
	// Fence refuses to go backwards.
	if err := npub.Fence(ctx); err != nil {
		t.Fatalf("fence again: %v", err)
	}
	third, err := r.s.Takeover(ctx, "third", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tpub, _ := NewPublisher(r.s, third, PublisherOptions{})
	if err := tpub.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	if err := npub.Fence(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("fence under an older epoch: %v", err)
	}
}
