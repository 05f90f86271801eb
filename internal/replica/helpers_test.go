package replica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/catalog"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// backend opens fresh, empty blob stores of one kind.
type backend struct {
	name string
	open func(t testing.TB) *blob.Store
}

func uniqueName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "repl-" + hex.EncodeToString(b)
}

func mustOpen(t testing.TB, u string, opts blob.Options) *blob.Store {
	t.Helper()
	s, err := blob.Open(context.Background(), u, opts)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fileBackend() backend {
	return backend{name: "file", open: func(t testing.TB) *blob.Store {
		return mustOpen(t, "file://"+t.TempDir(), blob.Options{})
	}}
}

func memBackend() backend {
	return backend{name: "mem", open: func(t testing.TB) *blob.Store {
		return mustOpen(t, "mem://"+uniqueName(), blob.Options{})
	}}
}

func s3Backend(t *testing.T) backend {
	srv := testenv.S3(t)
	return backend{name: "s3", open: func(t testing.TB) *blob.Store {
		bucket := uniqueName()
		srv.CreateBucket(t, bucket)
		return mustOpen(t, srv.BucketURL(bucket), blob.Options{})
	}}
}

func azureBackend(t *testing.T) backend {
	srv := testenv.Azurite(t)
	opts := blob.Options{AzureConnectionString: srv.ConnectionString, Create: true}
	return backend{name: "azblob", open: func(t testing.TB) *blob.Store {
		return mustOpen(t, "azblob://"+uniqueName(), opts)
	}}
}

// eachBackend runs fn against every backend: file and mem always, the
// in-process S3 server, and Azurite unless -short (it is skipped loudly
// when not installed).
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("file", func(t *testing.T) { fn(t, fileBackend()) })
	t.Run("mem", func(t *testing.T) { fn(t, memBackend()) })
	t.Run("s3", func(t *testing.T) { fn(t, s3Backend(t)) })
	t.Run("azblob", func(t *testing.T) {
		if testing.Short() {
			t.Skip("Azurite tests skipped in -short mode")
		}
		fn(t, azureBackend(t))
	})
}

func newStore(t testing.TB, b *blob.Store, opts Options) *Store {
	t.Helper()
	s, err := New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeClock is a Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// primary is the publishing side of a test: images built by hand in an
// object store.
type primary struct {
	objects *image.MemStore
	clock   Clock
}

func newPrimary() *primary { return &primary{objects: image.NewMemStore(), clock: systemClock{}} }

// image builds version v of db from the model text and the given
// segments' contents.
func (p *primary) image(t testing.TB, db string, v int64, model string, segments ...string) *image.Manifest {
	t.Helper()
	ctx := context.Background()
	mref, err := p.objects.WriteObject(ctx, image.KindModel, []byte(model))
	if err != nil {
		t.Fatal(err)
	}
	m := &image.Manifest{Format: image.FormatVersion, Database: db, Version: v,
		CommitTime: p.clock.Now().UTC().Truncate(time.Millisecond), State: image.StateReady,
		Model: mref.Hash, Objects: []image.ObjectRef{mref}}
	for _, s := range segments {
		ref, err := p.objects.WriteObject(ctx, image.KindSegment, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		m.Objects = append(m.Objects, ref)
	}
	if len(segments) > 0 {
		m.Data = m.Objects[1].Hash
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := image.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// segs returns n segment contents unique to tag.
func segs(tag string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("segment %d of %s %s", i, tag, strings.Repeat("x", 100*i))
	}
	return out
}

// catLocal is a follower's local side over a real catalog, committing the
// way the server does: objects it lacks read from the reader and written
// into a transaction, then CommitReplica.
type catLocal struct {
	c       *catalog.Catalog
	commits atomic.Int64
	reads   atomic.Int64

	// failAfter, when > 0, makes Commit's ReadObject calls fail (through
	// cancel, if set) after that many reads.
	mu        sync.Mutex
	failAfter int64
	cancel    context.CancelFunc
	onCommit  func(m *image.Manifest)
}

func newCatLocal(t testing.TB, dir string) *catLocal {
	t.Helper()
	c, err := catalog.Open(context.Background(), catalog.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &catLocal{c: c}
}

func (l *catLocal) Current(db string) *image.Manifest {
	m, err := l.c.Current(db)
	if err != nil {
		return nil
	}
	return m
}

func (l *catLocal) HasObject(h image.Hash) bool { return l.c.HasObject(h) }

func (l *catLocal) Commit(ctx context.Context, m *image.Manifest, objects image.ObjectReader) error {
	txn, err := l.c.Begin(ctx, m.Database)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			txn.Abort()
		}
	}()
	for _, o := range m.Objects {
		if txn.HasObject(o.Hash) {
			continue
		}
		l.mu.Lock()
		n := l.reads.Add(1)
		if l.failAfter > 0 && n > l.failAfter {
			if l.cancel != nil {
				l.cancel()
			} else {
				l.mu.Unlock()
				return errors.New("test: commit fails")
			}
		}
		l.mu.Unlock()
		data, err := objects.ReadObject(ctx, o.Hash)
		if err != nil {
			return err
		}
		if err := image.Verify(o.Hash, data); err != nil {
			return err
		}
		if _, err := txn.WriteObject(ctx, o.Kind, data); err != nil {
			return err
		}
	}
	cp := *m
	committed = true
	if _, err := txn.CommitReplica(ctx, &cp); err != nil {
		return err
	}
	l.commits.Add(1)
	l.mu.Lock()
	fn := l.onCommit
	l.mu.Unlock()
	if fn != nil {
		fn(&cp)
	}
	return nil
}

func (l *catLocal) Delete(ctx context.Context, db string) error { return l.c.Delete(ctx, db) }

// checkLocal verifies that the local database holds exactly the image m:
// the same manifest bytes (database, version, times, objects) and every
// object with the primary's bytes.
func checkLocal(t *testing.T, l *catLocal, want *image.Manifest, p *primary) {
	t.Helper()
	got := l.Current(want.Database)
	if got == nil {
		t.Fatalf("local has no database %q", want.Database)
	}
	gb, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(gb) != string(wb) {
		t.Fatalf("local manifest differs:\n got %s\nwant %s", gb, wb)
	}
	ctx := context.Background()
	for _, o := range want.Objects {
		g, err := l.c.ReadObject(ctx, o.Hash)
		if err != nil {
			t.Fatalf("local object %s: %v", o.Hash, err)
		}
		w, err := p.objects.ReadObject(ctx, o.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if string(g) != string(w) {
			t.Fatalf("local object %s differs from the primary's", o.Hash)
		}
	}
}
