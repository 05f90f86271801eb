package replica

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
)

// LeaseFormat is the format of the lease object this package writes.
const LeaseFormat = 1

// Limits on lease TTLs. Store modification times have a resolution of one
// second on Azure and S3, so a TTL much under a few seconds makes little
// sense outside tests.
const (
	MinTTL = 10 * time.Millisecond
	MaxTTL = 24 * time.Hour
)

// modTimeResolution is added to the TTL before a lease is judged expired
// from the store's modification times, which Azure and S3 keep to the
// second.
const modTimeResolution = time.Second

const maxLeaseSize = 16 << 10

// LeaseRecord is the content of the lease object.
type LeaseRecord struct {
	Format int    `json:"format"`
	Holder string `json:"holder"`
	// Epoch grows by one with every acquisition: the fencing token that
	// LATEST pointers carry.
	Epoch int64 `json:"epoch"`
	// TTLMillis is the holder's TTL: the lease is expired once it has not
	// been renewed for that long.
	TTLMillis int64 `json:"ttlMillis"`
	// Acquired and Renewed are the holder's clock when it sent the
	// acquiring and the last renewing write.
	Acquired time.Time `json:"acquired"`
	Renewed  time.Time `json:"renewed"`
	Renewals int64     `json:"renewals"`
	// Token is random per acquisition, so that every write of the lease
	// object is unique and a holder can tell its own writes from others'.
	Token    string `json:"token"`
	Released bool   `json:"released,omitempty"`
}

// TTL returns the record's TTL.
func (r *LeaseRecord) TTL() time.Duration { return time.Duration(r.TTLMillis) * time.Millisecond }

func (r *LeaseRecord) marshal() ([]byte, error) {
	c := *r
	c.Format = LeaseFormat
	c.Acquired = c.Acquired.UTC()
	c.Renewed = c.Renewed.UTC()
	return json.Marshal(&c)
}

// DecodeLease parses and checks a lease object. Every way it can be wrong
// is an error wrapping ErrCorrupt; it never panics.
func DecodeLease(b []byte) (*LeaseRecord, error) {
	if len(b) > maxLeaseSize {
		return nil, fmt.Errorf("%w: lease of %d bytes (the limit is %d)", ErrCorrupt, len(b), maxLeaseSize)
	}
	var r LeaseRecord
	if err := strictJSON(b, &r); err != nil {
		return nil, fmt.Errorf("%w: lease: %v", ErrCorrupt, err)
	}
	if r.Format != LeaseFormat {
		return nil, fmt.Errorf("%w: lease format %d (this build reads %d)", ErrCorrupt, r.Format, LeaseFormat)
	}
	if err := checkName("holder", r.Holder); err != nil {
		return nil, fmt.Errorf("%w: lease: %v", ErrCorrupt, err)
	}
	switch {
	case r.Epoch < 1:
		return nil, fmt.Errorf("%w: lease of %q: epoch %d (epochs start at 1)", ErrCorrupt, r.Holder, r.Epoch)
	case r.TTLMillis < MinTTL.Milliseconds() || r.TTLMillis > MaxTTL.Milliseconds():
		return nil, fmt.Errorf("%w: lease of %q: TTL of %d ms (allowed: %v to %v)", ErrCorrupt, r.Holder, r.TTLMillis, MinTTL, MaxTTL)
	case r.Token == "":
		return nil, fmt.Errorf("%w: lease of %q: no token", ErrCorrupt, r.Holder)
	case r.Renewals < 0:
		return nil, fmt.Errorf("%w: lease of %q: %d renewals", ErrCorrupt, r.Holder, r.Renewals)
	}
	return &r, nil
}

// HeldError is the error of Acquire while another holder's lease is
// unexpired. It wraps ErrHeld.
type HeldError struct {
	Holder string
	Epoch  int64
	// Renewed is the holder's last renewal by its own clock; TTL its TTL.
	Renewed time.Time
	TTL     time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("replica: the lease is held by %q (epoch %d, last renewed %s, TTL %v)",
		e.Holder, e.Epoch, e.Renewed.UTC().Format(time.RFC3339), e.TTL)
}

// Is makes a *HeldError match ErrHeld.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// LeaseHolder reads the lease object. Errors: ErrNotFound when no lease
// was ever taken, ErrCorrupt.
func (s *Store) LeaseHolder(ctx context.Context) (*LeaseRecord, error) {
	rec, _, err := s.readLease(ctx)
	return rec, err
}

func (s *Store) readLease(ctx context.Context) (*LeaseRecord, blob.Attributes, error) {
	data, attrs, err := s.readSmall(ctx, leaseName, maxLeaseSize)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, blob.Attributes{}, fmt.Errorf("read lease: %w: no lease in %s", ErrNotFound, s)
	}
	if err != nil {
		return nil, attrs, fmt.Errorf("read lease: %w", err)
	}
	rec, err := DecodeLease(data)
	if err != nil {
		return nil, attrs, fmt.Errorf("read lease in %s: %w", s, err)
	}
	return rec, attrs, nil
}

// writeLease writes rec on condition and returns the ETag of what it
// wrote. Put does not report the ETag, so the object is read back; if
// what comes back is not rec, another writer came in between and the
// write counts as lost (ErrPrecondition).
func (s *Store) writeLease(ctx context.Context, rec *LeaseRecord, opts blob.PutOptions) (string, error) {
	data, err := rec.marshal()
	if err != nil {
		return "", err
	}
	opts.ContentType = "application/json"
	if err := s.b.WriteAll(ctx, s.name(leaseName), data, opts); err != nil {
		return "", err
	}
	back, attrs, err := s.readSmall(ctx, leaseName, maxLeaseSize)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			err = fmt.Errorf("%w: the lease object disappeared", blob.ErrPrecondition)
		}
		return "", err
	}
	if !bytes.Equal(back, data) {
		return "", fmt.Errorf("%w: the lease was written by another holder meanwhile", blob.ErrPrecondition)
	}
	if attrs.ETag == "" {
		// An empty IfMatch would make the next renewal unconditional.
		return "", fmt.Errorf("the store %s reports no ETag for the lease", s)
	}
	return attrs.ETag, nil
}

// storeNow returns the store's clock: the modification time of an object
// just written. Comparing it with the lease object's modification time
// judges expiry with one clock, the store's, whatever the servers' clocks
// say.
func (s *Store) storeNow(ctx context.Context, holder string) (time.Time, error) {
	key, err := Key(holder)
	if err != nil {
		return time.Time{}, err
	}
	name := s.name(clockDir + key)
	if err := s.b.WriteAll(ctx, name, []byte(randomHex(8)), blob.PutOptions{}); err != nil {
		return time.Time{}, fmt.Errorf("read the store's clock: %w", err)
	}
	attrs, err := s.b.Stat(ctx, name)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the store's clock: %w", err)
	}
	return attrs.ModTime, nil
}

// expired judges whether the lease rec, read with attrs, has expired. By
// default both times come from the store: the lease object's modification
// time (no earlier than its holder sent the write, as the holder's
// deadline assumes) and that of an object written now. With LocalExpiry,
// the holder's renewal time is compared with the local clock, allowing
// MaxClockSkew.
func (s *Store) expired(ctx context.Context, rec *LeaseRecord, attrs blob.Attributes, holder string) (bool, error) {
	if s.local {
		return s.clock.Now().Sub(rec.Renewed) > rec.TTL()+s.skew, nil
	}
	now, err := s.storeNow(ctx, holder)
	if err != nil {
		return false, err
	}
	return now.Sub(attrs.ModTime) > rec.TTL()+modTimeResolution, nil
}

// Acquire takes the lease for holder (a server's name, unique in its
// group) for ttl. It succeeds when no lease was ever taken, when the lease
// was released or has expired, or when holder itself held it (a restarted
// server); each success bumps the epoch. While another holder's lease is
// unexpired it fails with a *HeldError (ErrHeld) naming that holder.
//
// The holder must renew the lease within ttl (Keep does it) and, when it
// is lost, stop publishing and refuse writes (Lost).
func (s *Store) Acquire(ctx context.Context, holder string, ttl time.Duration) (*Lease, error) {
	return s.acquire(ctx, holder, ttl, false)
}

// Takeover takes the lease whoever holds it, bumping the epoch: the
// promotion of `meridian failover`. The previous holder finds out at its
// next renewal or check and is fenced: no pointer it writes afterwards
// can replace one written under the new epoch (see Publisher.Fence).
func (s *Store) Takeover(ctx context.Context, holder string, ttl time.Duration) (*Lease, error) {
	return s.acquire(ctx, holder, ttl, true)
}

// acquireAttempts bounds the compare-and-swap loop against other
// acquirers; each lost race means someone else got the lease, so the
// next attempt usually ends in ErrHeld.
const acquireAttempts = 5

func (s *Store) acquire(ctx context.Context, holder string, ttl time.Duration, takeover bool) (*Lease, error) {
	if err := checkName("holder", holder); err != nil {
		return nil, fmt.Errorf("acquire lease: %w", err)
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return nil, fmt.Errorf("acquire lease: %w: TTL %v (allowed: %v to %v)", ErrInvalid, ttl, MinTTL, MaxTTL)
	}
	for range acquireAttempts {
		data, attrs, err := s.readSmall(ctx, leaseName, maxLeaseSize)
		var put blob.PutOptions
		var epoch int64
		switch {
		case errors.Is(err, blob.ErrNotFound):
			put.IfNotExists = true
		case err != nil && !errors.Is(err, ErrCorrupt):
			return nil, fmt.Errorf("acquire lease: %w", err)
		default:
			var cur *LeaseRecord
			if err == nil {
				cur, err = DecodeLease(data)
			}
			if err != nil {
				if !takeover {
					return nil, fmt.Errorf("acquire lease in %s: %w (a takeover replaces it)", s, err)
				}
				s.log.Warn("replica: replacing a damaged lease object", "store", s.String(), "err", err)
				cur = &LeaseRecord{}
			}
			if !takeover && !cur.Released && cur.Holder != holder {
				exp, err := s.expired(ctx, cur, attrs, holder)
				if err != nil {
					return nil, fmt.Errorf("acquire lease: %w", err)
				}
				if !exp {
					return nil, &HeldError{Holder: cur.Holder, Epoch: cur.Epoch, Renewed: cur.Renewed, TTL: cur.TTL()}
				}
			}
			epoch = cur.Epoch
			put.IfMatch = attrs.ETag
		}
		// The new epoch is above the lease's and above every epoch the
		// pointers carry, so that a lease object deleted, damaged or put
		// back by hand cannot hand out an epoch twice.
		top, err := s.maxPointerEpoch(ctx)
		if err != nil {
			return nil, fmt.Errorf("acquire lease: %w", err)
		}
		epoch = max(epoch, top) + 1
		start := s.clock.Now()
		rec := &LeaseRecord{Holder: holder, Epoch: epoch, TTLMillis: ttl.Milliseconds(),
			Acquired: start, Renewed: start, Token: randomHex(16)}
		etag, err := s.writeLease(ctx, rec, put)
		if errors.Is(err, blob.ErrPrecondition) {
			continue // someone else wrote the lease meanwhile: look again
		}
		if err != nil {
			return nil, fmt.Errorf("acquire lease: %w", err)
		}
		return &Lease{s: s, rec: *rec, etag: etag, deadline: start.Add(ttl), ttl: ttl, lost: make(chan struct{})}, nil
	}
	return nil, fmt.Errorf("acquire lease in %s: %w: the lease object kept changing", s, ErrHeld)
}

// maxPointerEpoch returns the highest epoch of any readable pointer.
func (s *Store) maxPointerEpoch(ctx context.Context) (int64, error) {
	ptrs, err := s.Pointers(ctx)
	if err != nil {
		return 0, err
	}
	var top int64
	for _, p := range ptrs {
		if p.Pointer != nil {
			top = max(top, p.Pointer.Epoch)
		}
	}
	return top, nil
}

// Lease is a held lease. Its methods are safe for concurrent use.
//
// A lease is valid from the moment its holder sent the write that
// acquired or last renewed it, for its TTL by the holder's clock. Another
// server judges it expired only once the store's clock (or, with
// LocalExpiry, its own) shows more than the TTL since that write, plus a
// margin, so the holder stops first as long as clocks run at the same
// rate. Once lost (taken over, expired without renewal, released) a lease
// stays lost: acquire a new one, with a new epoch.
type Lease struct {
	s   *Store
	ttl time.Duration

	op sync.Mutex // serializes Renew, Check and Release

	mu       sync.Mutex
	rec      LeaseRecord
	etag     string
	deadline time.Time
	lost     chan struct{}
	lostErr  error
}

// Holder returns the holder's name.
func (l *Lease) Holder() string {
	// Under the lock: a renewal rewrites rec (with the same holder).
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec.Holder
}

// Epoch returns the lease's epoch, which the pointers it writes carry.
func (l *Lease) Epoch() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec.Epoch
}

// TTL returns the lease's TTL.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Lost returns a channel closed when the lease is lost: the holder must
// stop publishing and refuse writes.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err returns why the lease was lost (wrapping ErrFenced), or nil while it
// is held.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// Deadline returns when the lease runs out unless renewed, by the local
// clock.
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

// Valid checks the lease without asking the store: nil while it is held
// and its deadline has not passed, else an error wrapping ErrFenced (and
// the lease is lost from then on).
func (l *Lease) Valid() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr != nil {
		return l.lostErr
	}
	if now := l.s.clock.Now(); !now.Before(l.deadline) {
		l.loseLocked(fmt.Errorf("%w: the lease of %q (epoch %d) ran out at %s without renewal",
			ErrFenced, l.rec.Holder, l.rec.Epoch, l.deadline.UTC().Format(time.RFC3339Nano)))
		return l.lostErr
	}
	return nil
}

func (l *Lease) loseLocked(err error) {
	if l.lostErr == nil {
		l.lostErr = err
		close(l.lost)
	}
}

func (l *Lease) lose(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loseLocked(err)
	return l.lostErr
}

// Renew extends the lease by its TTL from now. It fails with ErrFenced
// (and the lease is lost) when another holder took the lease over or the
// deadline passed first; other errors (the store unreachable) leave the
// lease held until its deadline, so the caller may retry.
func (l *Lease) Renew(ctx context.Context) error {
	l.op.Lock()
	defer l.op.Unlock()
	if err := l.Valid(); err != nil {
		return err
	}
	l.mu.Lock()
	rec, etag := l.rec, l.etag
	l.mu.Unlock()
	start := l.s.clock.Now()
	rec.Renewed = start
	rec.Renewals++
	newTag, err := l.s.writeLease(ctx, &rec, blob.PutOptions{IfMatch: etag})
	if errors.Is(err, blob.ErrPrecondition) {
		return l.lose(l.takenOver(ctx))
	}
	if err != nil {
		return fmt.Errorf("renew lease of %q: %w", rec.Holder, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr != nil {
		return l.lostErr
	}
	l.rec, l.etag, l.deadline = rec, newTag, start.Add(l.ttl)
	return nil
}

// takenOver builds the error for a lease someone else wrote, naming the
// new holder if the lease object says who.
func (l *Lease) takenOver(ctx context.Context) error {
	if cur, _, err := l.s.readLease(ctx); err == nil {
		if cur.Released && cur.Token == l.rec.Token {
			return fmt.Errorf("%w: the lease of %q (epoch %d) was released", ErrFenced, l.rec.Holder, l.rec.Epoch)
		}
		return fmt.Errorf("%w: the lease of %q (epoch %d) was taken over by %q (epoch %d)",
			ErrFenced, l.rec.Holder, l.rec.Epoch, cur.Holder, cur.Epoch)
	}
	return fmt.Errorf("%w: the lease of %q (epoch %d) was written by another holder", ErrFenced, l.rec.Holder, l.rec.Epoch)
}

// Check confirms with the store that the lease is still this holder's:
// nil if so, an error wrapping ErrFenced (and the lease is lost) if the
// lease object was taken over or the deadline passed. A publisher calls
// it before every pointer it writes.
func (l *Lease) Check(ctx context.Context) error {
	l.op.Lock()
	defer l.op.Unlock()
	if err := l.Valid(); err != nil {
		return err
	}
	data, attrs, err := l.s.readSmall(ctx, leaseName, maxLeaseSize)
	if errors.Is(err, blob.ErrNotFound) {
		return l.lose(fmt.Errorf("%w: the lease object of %q (epoch %d) was deleted", ErrFenced, l.rec.Holder, l.rec.Epoch))
	}
	if err != nil {
		return fmt.Errorf("check lease of %q: %w", l.rec.Holder, err)
	}
	l.mu.Lock()
	mine, etag := l.rec, l.etag
	l.mu.Unlock()
	if attrs.ETag == etag {
		return l.Valid()
	}
	// The ETag differs: the object was written since. It is still ours
	// only if it is exactly what we last wrote (some stores may report a
	// different ETag form for the same version).
	if ours, err := mine.marshal(); err == nil && bytes.Equal(ours, data) {
		return l.Valid()
	}
	return l.lose(l.takenOver(ctx))
}

// Release gives the lease up, so that another server can acquire it at
// once, and marks it lost. Releasing a lease already lost does nothing.
func (l *Lease) Release(ctx context.Context) error {
	l.op.Lock()
	defer l.op.Unlock()
	l.mu.Lock()
	if l.lostErr != nil {
		l.mu.Unlock()
		return nil
	}
	rec, etag := l.rec, l.etag
	l.mu.Unlock()
	rec.Released = true
	_, err := l.s.writeLease(ctx, &rec, blob.PutOptions{IfMatch: etag})
	switch {
	case errors.Is(err, blob.ErrPrecondition):
		l.lose(l.takenOver(ctx))
		return nil
	case err != nil:
		return fmt.Errorf("release lease of %q: %w", rec.Holder, err)
	}
	l.lose(fmt.Errorf("%w: the lease of %q (epoch %d) was released", ErrFenced, rec.Holder, rec.Epoch))
	return nil
}

// Keep renews the lease every third of its TTL until ctx ends (it then
// returns nil, leaving the lease to run out or be released) or the lease
// is lost (it returns the reason, wrapping ErrFenced). A failed renewal is
// retried sooner; if none succeeds before the deadline, the lease is lost.
func (l *Lease) Keep(ctx context.Context) error {
	every := max(l.ttl/3, time.Millisecond)
	retry := max(l.ttl/10, time.Millisecond)
	wait := every
	for {
		// Wake at the deadline at the latest, so that Lost closes on
		// time even when the store does not answer.
		untilDeadline := l.Deadline().Sub(l.s.clock.Now())
		t := time.NewTimer(max(min(wait, untilDeadline), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-l.lost:
			t.Stop()
			return l.Err()
		case <-t.C:
		}
		err := l.Renew(ctx)
		switch {
		case err == nil:
			wait = every
		case errors.Is(err, ErrFenced):
			return err
		case ctx.Err() != nil:
			return nil
		default:
			l.s.log.Warn("replica: lease renewal failed; retrying", "holder", l.rec.Holder, "epoch", l.rec.Epoch, "err", err)
			wait = retry
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b)
}
