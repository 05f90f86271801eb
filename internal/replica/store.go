package replica

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
)

// Errors. Errors returned by this package wrap one of these where one
// applies (test with errors.Is), besides the blob store's own errors.
var (
	// ErrStale: the store holds a newer version of the database than the
	// one being published, or the same version with other content.
	ErrStale = errors.New("replica: the store has a newer version")
	// ErrFenced: this publisher's lease was lost (expired, released, or
	// taken over by another holder with a higher epoch); it must stop
	// publishing and refuse writes.
	ErrFenced = errors.New("replica: fenced: the lease is lost")
	// ErrHeld: another holder has an unexpired lease. The error is a
	// *HeldError naming the holder.
	ErrHeld = errors.New("replica: the lease is held by another server")
	// ErrNotFound: the store has no pointer for the database, or no lease.
	ErrNotFound = errors.New("replica: not found")
	// ErrDamaged: an object or manifest in the store does not match its
	// hash or its listed size. It is refused; the next poll tries again.
	ErrDamaged = errors.New("replica: damaged data in the store")
	// ErrCorrupt: a pointer or lease object cannot be decoded.
	ErrCorrupt = errors.New("replica: corrupt pointer or lease")
	// ErrInvalid: a bad argument (name, TTL, manifest, options).
	ErrInvalid = errors.New("replica: invalid argument")
	// ErrClosed: the follower was closed.
	ErrClosed = errors.New("replica: closed")
)

// Clock tells the time. The system clock is used when none is given;
// tests pass a fake one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a Store. The zero value is usable.
type Options struct {
	// Prefix puts the replication layout under a folder of the blob
	// store ("replica", say), so that one store can also hold backups.
	// Empty means the store's root.
	Prefix string
	// Clock is the local clock: lease deadlines, publish times and lag.
	// Nil means the system clock.
	Clock Clock
	// LocalExpiry judges whether a lease has expired from the renewal
	// time its holder wrote into it (the holder's clock) against Clock,
	// instead of from the store's own modification times. It is for
	// tests with a fake Clock and for stores whose modification times
	// cannot be trusted; the servers' clocks must then agree within
	// MaxClockSkew.
	LocalExpiry bool
	// MaxClockSkew is the disagreement between servers' clocks that
	// LocalExpiry tolerates (default 2 s).
	MaxClockSkew time.Duration
	// Logger receives warnings (damaged pointers, retries); nothing is
	// logged if nil.
	Logger *slog.Logger
}

// Store is the replication layout over a blob store: content-addressed
// objects, manifests, one LATEST pointer per database and the lease. It
// is safe for concurrent use and does not own the blob store.
type Store struct {
	b      *blob.Store
	prefix string
	clock  Clock
	local  bool
	skew   time.Duration
	log    *slog.Logger
}

// New returns the replication store kept in b.
func New(b *blob.Store, opts Options) (*Store, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: no blob store", ErrInvalid)
	}
	s := &Store{b: b, clock: opts.Clock, local: opts.LocalExpiry, skew: opts.MaxClockSkew, log: opts.Logger}
	if p := strings.Trim(opts.Prefix, "/"); p != "" {
		if err := blob.ValidName(p); err != nil {
			return nil, fmt.Errorf("%w: prefix %q: %w", ErrInvalid, opts.Prefix, err)
		}
		s.prefix = p + "/"
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.skew <= 0 {
		s.skew = 2 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// String names the store for messages.
func (s *Store) String() string {
	if s.prefix == "" {
		return s.b.String()
	}
	return s.b.String() + " (" + strings.TrimSuffix(s.prefix, "/") + ")"
}

func (s *Store) name(n string) string { return s.prefix + n }

// readSmall reads an object of at most limit bytes with its attributes.
func (s *Store) readSmall(ctx context.Context, name string, limit int64) ([]byte, blob.Attributes, error) {
	rc, attrs, err := s.b.Get(ctx, s.name(name))
	if err != nil {
		return nil, blob.Attributes{}, err
	}
	defer rc.Close()
	if attrs.Size > limit {
		return nil, attrs, fmt.Errorf("%w: %s has %d bytes (the limit is %d)", ErrCorrupt, name, attrs.Size, limit)
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, attrs, err
	}
	if n > limit {
		return nil, attrs, fmt.Errorf("%w: %s has more than %d bytes", ErrCorrupt, name, limit)
	}
	return buf.Bytes(), attrs, nil
}

// readPointer reads a database's LATEST. It returns nil and an empty ETag
// when there is none; a pointer that cannot be decoded is returned as an
// error wrapping ErrCorrupt together with its ETag, so that a publisher
// can replace it.
func (s *Store) readPointer(ctx context.Context, key string) (*Pointer, string, error) {
	data, attrs, err := s.readSmall(ctx, pointerName(key), maxPointerSize)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, attrs.ETag, fmt.Errorf("read pointer of %s: %w", key, err)
	}
	if attrs.ETag == "" {
		// Without an ETag no conditional write can replace the pointer;
		// every backend reports one, so this is a broken store.
		return nil, "", fmt.Errorf("read pointer of %s: the store %s reports no ETag", key, s)
	}
	p, err := DecodePointer(data)
	if err != nil {
		return nil, attrs.ETag, fmt.Errorf("read pointer of %s: %w", key, err)
	}
	if k, _ := Key(p.Database); k != key {
		return nil, attrs.ETag, fmt.Errorf("read pointer of %s: %w: it names database %q, whose key is %s", key, ErrCorrupt, p.Database, k)
	}
	return p, attrs.ETag, nil
}

// writePointer writes a database's LATEST on condition: that it is still
// the version with etag, or, with etag empty, that there is none.
func (s *Store) writePointer(ctx context.Context, key string, p *Pointer, etag string) error {
	data, err := p.marshal()
	if err != nil {
		return fmt.Errorf("write pointer of %q: %w", p.Database, err)
	}
	opts := blob.PutOptions{ContentType: "application/json", IfMatch: etag, IfNotExists: etag == ""}
	if err := s.b.WriteAll(ctx, s.name(pointerName(key)), data, opts); err != nil {
		return fmt.Errorf("write pointer of %q: %w", p.Database, err)
	}
	return nil
}

// casAttempts bounds the compare-and-swap loops on one pointer. Each lost
// race means another writer advanced it; a publisher that keeps losing
// gives up rather than spin.
const casAttempts = 10

// Latest returns the store's pointer for a database: its published
// version, or a tombstone. Errors: ErrNotFound when the database was never
// published, ErrCorrupt for a pointer that cannot be read.
func (s *Store) Latest(ctx context.Context, db string) (*Pointer, error) {
	key, err := Key(db)
	if err != nil {
		return nil, err
	}
	p, _, err := s.readPointer(ctx, key)
	if err == nil && p == nil {
		err = fmt.Errorf("%w: database %q in %s", ErrNotFound, db, s)
	}
	return p, err
}

// PointerResult is one database's pointer as Pointers finds it: the
// pointer, or why it cannot be read.
type PointerResult struct {
	Key     string
	Pointer *Pointer
	ETag    string
	Err     error
}

// Pointers reads every database's pointer, in key order. A pointer that
// cannot be read is reported in its result, not as the error, so that one
// damaged database does not hide the others; the error is for a store
// that cannot be listed.
func (s *Store) Pointers(ctx context.Context) ([]PointerResult, error) {
	// A listing is not a snapshot: a rename writes the new name's pointer,
	// then the old name's tombstone, and a listing taken before the first
	// whose reads come after the second sees neither name live. So when a
	// tombstone was read, the names are listed again, and the whole read
	// is done again if new ones appeared meanwhile.
	var out []PointerResult
	for range 5 {
		var tombstone bool
		var err error
		out, tombstone, err = s.readPointers(ctx)
		if err != nil || !tombstone {
			return out, err
		}
		keys, err := s.pointerKeys(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range out {
			delete(keys, r.Key)
		}
		if len(keys) == 0 {
			return out, nil
		}
	}
	return out, nil
}

// pointerKeys lists the database keys that have a pointer.
func (s *Store) pointerKeys(ctx context.Context) (map[string]bool, error) {
	keys := map[string]bool{}
	for e, err := range s.b.List(ctx, s.name(databasesDir)) {
		if err != nil {
			return nil, fmt.Errorf("list databases in %s: %w", s, err)
		}
		if key, ok := parsePointerName(strings.TrimPrefix(e.Name, s.prefix)); ok {
			keys[key] = true
		}
	}
	return keys, nil
}

// readPointers lists the pointers and reads each; tombstone says whether
// one of them was a tombstone.
func (s *Store) readPointers(ctx context.Context) (out []PointerResult, tombstone bool, err error) {
	keys, err := s.pointerKeys(ctx)
	if err != nil {
		return nil, false, err
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		p, etag, err := s.readPointer(ctx, key)
		if err == nil && p == nil {
			continue // deleted from the store between the listing and the read
		}
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("list databases in %s: %w", s, ctx.Err())
		}
		if p != nil && p.Deleted {
			tombstone = true
		}
		out = append(out, PointerResult{Key: key, Pointer: p, ETag: etag, Err: err})
	}
	return out, tombstone, nil
}

// maxManifestSize bounds a manifest read from the store: one object
// reference takes about 120 bytes, so this allows hundreds of thousands.
const maxManifestSize = 64 << 20

// Manifest reads and verifies the manifest a live pointer names: its
// bytes must hash to the pointer's manifest hash, and its database,
// version and content hash must be the pointer's. Errors: ErrDamaged.
func (s *Store) Manifest(ctx context.Context, p *Pointer) (*image.Manifest, error) {
	if p == nil || p.Deleted {
		return nil, fmt.Errorf("%w: a tombstone names no manifest", ErrInvalid)
	}
	key, err := Key(p.Database)
	if err != nil {
		return nil, err
	}
	name := manifestName(key, p.Version, p.Manifest)
	data, _, err := s.readSmall(ctx, name, maxManifestSize)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) || errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		return nil, fmt.Errorf("read manifest %s: %w", name, err)
	}
	if image.Hash(sha256.Sum256(data)) != p.Manifest {
		return nil, fmt.Errorf("read manifest %s: %w: its bytes do not match the pointer's hash", name, ErrDamaged)
	}
	m, err := image.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w: %w", name, ErrDamaged, err)
	}
	switch {
	case m.Database != p.Database:
		return nil, fmt.Errorf("read manifest %s: %w: it is of database %q, the pointer says %q", name, ErrDamaged, m.Database, p.Database)
	case m.Version != p.Version:
		return nil, fmt.Errorf("read manifest %s: %w: it is of version %d, the pointer says %d", name, ErrDamaged, m.Version, p.Version)
	case m.ContentHash() != p.Content:
		return nil, fmt.Errorf("read manifest %s: %w: its content hash is not the pointer's", name, ErrDamaged)
	}
	return m, nil
}

// fetchObject reads one object and verifies its size and hash. A missing,
// short, long or altered object is ErrDamaged (and, when missing, also
// image.ErrNotFound).
func (s *Store) fetchObject(ctx context.Context, ref image.ObjectRef, maxSize int64) ([]byte, error) {
	name := objectName(ref.Hash)
	if ref.Size > maxSize {
		return nil, fmt.Errorf("fetch object %s: %w: %d bytes, more than the %d allowed", ref.Hash, ErrInvalid, ref.Size, maxSize)
	}
	rc, attrs, err := s.b.Get(ctx, s.name(name))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("fetch object %s: %w: %w: %w", ref.Hash, ErrDamaged, image.ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch object %s: %w", ref.Hash, err)
	}
	defer rc.Close()
	if attrs.Size != ref.Size {
		return nil, fmt.Errorf("fetch object %s: %w: the store has %d bytes, the manifest says %d", ref.Hash, ErrDamaged, attrs.Size, ref.Size)
	}
	data := make([]byte, ref.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		if ctx.Err() == nil && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
			err = fmt.Errorf("%w: the object ends early: %w", ErrDamaged, err)
		}
		return nil, fmt.Errorf("fetch object %s: %w", ref.Hash, err)
	}
	var one [1]byte
	if n, _ := io.ReadFull(rc, one[:]); n > 0 {
		return nil, fmt.Errorf("fetch object %s: %w: the object is longer than %d bytes", ref.Hash, ErrDamaged, ref.Size)
	}
	if err := image.Verify(ref.Hash, data); err != nil {
		return nil, fmt.Errorf("fetch object %s: %w: %w", ref.Hash, ErrDamaged, err)
	}
	return data, nil
}
