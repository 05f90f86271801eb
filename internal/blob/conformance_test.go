package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// backend describes how the conformance suite reaches one kind of store.
type backend struct {
	name string
	// setup prepares the backend for one test and returns a function that
	// opens a store of that test's own namespace at a prefix ("" for its
	// top). Stores opened by one setup share objects.
	setup func(t *testing.T) func(t *testing.T, prefix string) *blob.Store
	// inProcess backends hold the data in this process (the mem store, the
	// in-process S3 server), so the memory bound of a Put cannot be seen.
	inProcess bool
	// denied, when set, opens a store whose credentials the service
	// refuses.
	denied func(t *testing.T) *blob.Store
	// mergesMetadata: the server keeps an object's old metadata keys
	// when it is overwritten (gofakes3 does; S3 itself replaces them).
	mergesMetadata bool
}

var uniq atomic.Int64

// uniqueName returns a name unused in this process, valid as a container,
// bucket or mem store name.
func uniqueName() string { return fmt.Sprintf("t%06d", uniq.Add(1)) }

func mustOpen(t *testing.T, rawURL string, opts blob.Options) *blob.Store {
	t.Helper()
	s, err := blob.Open(context.Background(), rawURL, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", rawURL, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func withPrefix(base, prefix string) string {
	if prefix == "" {
		return base
	}
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + prefix
	return u.String()
}

func fileBackend() backend {
	return backend{name: "file", setup: func(t *testing.T) func(*testing.T, string) *blob.Store {
		dir := t.TempDir()
		return func(t *testing.T, prefix string) *blob.Store {
			return mustOpen(t, withPrefix("file://"+dir, prefix), blob.Options{})
		}
	}}
}

func memBackend() backend {
	return backend{name: "mem", inProcess: true, setup: func(t *testing.T) func(*testing.T, string) *blob.Store {
		base := "mem://" + uniqueName()
		return func(t *testing.T, prefix string) *blob.Store {
			return mustOpen(t, withPrefix(base, prefix), blob.Options{})
		}
	}}
}

func azureBackend(t *testing.T) backend {
	if testing.Short() {
		t.Skip("Azurite tests skipped in -short mode")
	}
	srv := testenv.Azurite(t)
	opts := blob.Options{AzureConnectionString: srv.ConnectionString, Create: true}
	return backend{
		name: "azblob",
		setup: func(t *testing.T) func(*testing.T, string) *blob.Store {
			base := "azblob://" + uniqueName()
			return func(t *testing.T, prefix string) *blob.Store {
				return mustOpen(t, withPrefix(base, prefix), opts)
			}
		},
		denied: func(t *testing.T) *blob.Store {
			name := uniqueName()
			mustOpen(t, "azblob://"+name, opts) // creates the container
			wrong := blob.Options{AzureAccount: srv.Account, AzureEndpoint: srv.Endpoint,
				AzureKey: "d3Jvbmcga2V5IGZvciB0aGUgZGV2ZWxvcG1lbnQgYWNjb3VudA=="}
			return mustOpen(t, "azblob://"+name, wrong)
		},
	}
}

func s3Backend(t *testing.T) backend {
	srv := testenv.S3(t)
	return backend{name: "s3", inProcess: true, mergesMetadata: true, setup: func(t *testing.T) func(*testing.T, string) *blob.Store {
		bucket := uniqueName()
		srv.CreateBucket(t, bucket)
		base := srv.BucketURL(bucket)
		return func(t *testing.T, prefix string) *blob.Store {
			return mustOpen(t, withPrefix(base, prefix), blob.Options{})
		}
	}}
}

func TestConformance(t *testing.T) {
	t.Run("file", func(t *testing.T) { runConformance(t, fileBackend()) })
	t.Run("mem", func(t *testing.T) { runConformance(t, memBackend()) })
	t.Run("s3", func(t *testing.T) { runConformance(t, s3Backend(t)) })
	t.Run("azblob", func(t *testing.T) { runConformance(t, azureBackend(t)) })
}

func runConformance(t *testing.T, b backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, b backend, open func(*testing.T, string) *blob.Store)
	}{
		{"PutGetStatListDelete", testBasics},
		{"GetRange", testGetRange},
		{"EmptyObject", testEmpty},
		{"Overwrite", testOverwrite},
		{"Names", testNames},
		{"InvalidNames", testInvalidNames},
		{"PrefixConfinement", testPrefixConfinement},
		{"IfNotExists", testIfNotExists},
		{"IfMatch", testIfMatch},
		{"ConcurrentConditional", testConcurrentConditional},
		{"NotFound", testNotFound},
		{"Stream64MB", testStream},
		{"ContextCancel", testCancel},
		{"ReaderError", testReaderError},
		{"ReadAllWriteAll", testReadAllWriteAll},
		{"Closed", testClosed},
		{"Permission", testPermission},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b, b.setup(t)) })
	}
}

func put(t *testing.T, s *blob.Store, name, data string, opts blob.PutOptions) {
	t.Helper()
	if err := s.WriteAll(context.Background(), name, []byte(data), opts); err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

func get(t *testing.T, s *blob.Store, name string) (string, blob.Attributes) {
	t.Helper()
	data, a, err := s.ReadAll(context.Background(), name)
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return string(data), a
}

func list(t *testing.T, s *blob.Store, prefix string) []string {
	t.Helper()
	names := []string{}
	for e, err := range s.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		names = append(names, e.Name)
	}
	return names
}

func testBasics(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	ctx := context.Background()
	s := open(t, "")
	meta := map[string]string{"hash": "abc123", "kind": "manifest"}
	put(t, s, "db/sales/manifest.json", `{"v":1}`, blob.PutOptions{ContentType: "application/json", Metadata: meta})
	put(t, s, "db/sales/obj/01", "one", blob.PutOptions{})
	put(t, s, "db/sales/obj/02", "two!", blob.PutOptions{})
	put(t, s, "db/salesx", "other", blob.PutOptions{})
	put(t, s, "top", "t", blob.PutOptions{})

	data, a := get(t, s, "db/sales/manifest.json")
	if data != `{"v":1}` || a.Size != 7 || a.ETag == "" || a.ModTime.IsZero() {
		t.Errorf("get manifest = %q %+v", data, a)
	}
	if a.ContentType != "application/json" {
		t.Errorf("content type %q, want application/json", a.ContentType)
	}
	st, err := s.Stat(ctx, "db/sales/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 7 || st.ETag != a.ETag || st.ContentType != "application/json" {
		t.Errorf("stat = %+v, get said %+v", st, a)
	}
	if diff := cmp.Diff(meta, st.Metadata); diff != "" {
		t.Errorf("metadata (-put +stat):\n%s", diff)
	}
	if _, a := get(t, s, "db/sales/obj/01"); a.ContentType != "application/octet-stream" {
		t.Errorf("default content type %q", a.ContentType)
	}

	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"db/sales/manifest.json", "db/sales/obj/01", "db/sales/obj/02", "db/salesx", "top"}},
		{"db/sales/", []string{"db/sales/manifest.json", "db/sales/obj/01", "db/sales/obj/02"}},
		{"db/sales", []string{"db/sales/manifest.json", "db/sales/obj/01", "db/sales/obj/02", "db/salesx"}},
		{"db/sales/obj/0", []string{"db/sales/obj/01", "db/sales/obj/02"}},
		{"nothing/", []string{}},
		{"to", []string{"top"}},
	} {
		if diff := cmp.Diff(tc.want, list(t, s, tc.prefix)); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tc.prefix, diff)
		}
	}
	var sizes []int64
	for e, err := range s.List(ctx, "db/sales/obj/") {
		if err != nil {
			t.Fatal(err)
		}
		if e.ModTime.IsZero() {
			t.Errorf("%s: no mod time in listing", e.Name)
		}
		sizes = append(sizes, e.Size)
	}
	if diff := cmp.Diff([]int64{3, 4}, sizes); diff != "" {
		t.Errorf("listed sizes (-want +got):\n%s", diff)
	}
	// Stopping a listing early works.
	for range s.List(ctx, "") {
		break
	}

	if err := s.Delete(ctx, "db/sales/obj/01"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "db/sales/obj/01"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("get after delete: %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]string{"db/sales/obj/02"}, list(t, s, "db/sales/obj/")); diff != "" {
		t.Errorf("list after delete (-want +got):\n%s", diff)
	}
	if ok, err := s.Exists(ctx, "db/sales/obj/02"); !ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}
	if ok, err := s.Exists(ctx, "db/sales/obj/01"); ok || err != nil {
		t.Errorf("Exists(deleted) = %v, %v", ok, err)
	}
}

func testGetRange(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "r", "0123456789", blob.PutOptions{})
	for _, tc := range []struct {
		off, n int64
		want   string
	}{
		{0, -1, "0123456789"},
		{0, 10, "0123456789"},
		{3, 4, "3456"},
		{7, -1, "789"},
		{7, 100, "789"},
		{9, 1, "9"},
		{0, 0, ""},
	} {
		t.Run(fmt.Sprintf("%d+%d", tc.off, tc.n), func(t *testing.T) {
			rc, a, err := s.GetRange(context.Background(), "r", tc.off, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if a.ETag == "" {
				t.Error("no ETag with a range")
			}
		})
	}
	if _, _, err := s.GetRange(context.Background(), "r", -1, 2); err == nil {
		t.Error("negative offset accepted")
	}
}

func testEmpty(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "empty", "", blob.PutOptions{})
	data, a := get(t, s, "empty")
	if data != "" || a.Size != 0 {
		t.Errorf("empty object read back as %q, size %d", data, a.Size)
	}
}

func testOverwrite(t *testing.T, b backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "x", "first", blob.PutOptions{Metadata: map[string]string{"n": "1"}})
	_, a1 := get(t, s, "x")
	put(t, s, "x", "second", blob.PutOptions{})
	data, a2 := get(t, s, "x")
	if data != "second" {
		t.Errorf("after overwrite: %q", data)
	}
	if a1.ETag == a2.ETag {
		t.Errorf("ETag %s did not change with the content", a1.ETag)
	}
	st, err := s.Stat(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Metadata) != 0 && !b.mergesMetadata {
		t.Errorf("metadata of the old version survived: %v", st.Metadata)
	}
}

func testNames(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	names := []string{
		"with space/and more spaces.txt",
		"ünïcödé/日本語/данные.abf",
		"emoji 😀/x",
		"punct/a#b%c?d&e=f+g;h@i~j[k]l{m}n'o\"p",
		"dots/..x/.hidden/x..y",
		"percent/%41%2F",
		"escape/__0x41__",
		"long/" + strings.Repeat("n", blob.MaxSegmentLen),
	}
	for _, n := range names {
		if err := blob.ValidName(n); err != nil {
			t.Fatalf("test name %q not valid: %v", n, err)
		}
		put(t, s, n, "content of "+n, blob.PutOptions{})
	}
	for _, n := range names {
		if data, _ := get(t, s, n); data != "content of "+n {
			t.Errorf("%q read back as %q", n, data)
		}
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if diff := cmp.Diff(want, list(t, s, "")); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}

var invalidNames = []string{
	"", "/abs", "trailing/", "a//b", ".", "..", "../up", "a/../b", "a/./b", "a/..",
	"back\\slash", "nul\x00", "tab\tname", "newline\nname", "del\x7f", "c1\u0085",
	"bad utf8 \xff", "dot./x", "x.", ".meridian-meta/x", "a/.meridian-tmp",
	strings.Repeat("a", blob.MaxSegmentLen+1),
	strings.Repeat("a/", blob.MaxNameLen/2) + "a",
}

func testInvalidNames(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	ctx := context.Background()
	s := open(t, "")
	for _, n := range invalidNames {
		t.Run(fmt.Sprintf("%.20q", n), func(t *testing.T) {
			errs := map[string]error{
				"put":    s.WriteAll(ctx, n, []byte("x"), blob.PutOptions{}),
				"stat":   func() error { _, err := s.Stat(ctx, n); return err }(),
				"get":    func() error { _, _, err := s.Get(ctx, n); return err }(),
				"delete": s.Delete(ctx, n),
			}
			for op, err := range errs {
				if !errors.Is(err, blob.ErrInvalidName) {
					t.Errorf("%s: %v, want ErrInvalidName", op, err)
				}
			}
		})
	}
	for _, p := range []string{"/x", "../", "a/../", "a\\b", "a//", "x\x00"} {
		for _, err := range s.List(ctx, p) {
			if !errors.Is(err, blob.ErrInvalidName) {
				t.Errorf("list %q: %v, want ErrInvalidName", p, err)
			}
		}
	}
	if diff := cmp.Diff([]string{}, list(t, s, "")); diff != "" {
		t.Errorf("refused names left objects (-want +got):\n%s", diff)
	}
}

func testPrefixConfinement(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	ctx := context.Background()
	outer := open(t, "")
	put(t, outer, "p/inside", "in", blob.PutOptions{})
	put(t, outer, "pq/sibling", "sib", blob.PutOptions{})
	put(t, outer, "q/secret", "secret", blob.PutOptions{})
	put(t, outer, "top", "top", blob.PutOptions{})

	inner := open(t, "p")
	if diff := cmp.Diff([]string{"inside"}, list(t, inner, "")); diff != "" {
		t.Errorf("inner listing (-want +got):\n%s", diff)
	}
	if data, _ := get(t, inner, "inside"); data != "in" {
		t.Errorf("inner read %q", data)
	}
	for _, n := range []string{"../q/secret", "../top", "..", "/q/secret", "q/secret", "top", "sibling", "../pq/sibling"} {
		if _, _, err := inner.Get(ctx, n); err == nil {
			t.Errorf("inner store read %q outside its prefix", n)
		}
		if err := inner.Delete(ctx, n); err == nil {
			t.Errorf("inner store deleted %q", n)
		}
	}
	put(t, inner, "new/obj", "from inner", blob.PutOptions{})
	if data, _ := get(t, outer, "p/new/obj"); data != "from inner" {
		t.Errorf("outer sees %q", data)
	}
	want := []string{"p/inside", "p/new/obj", "pq/sibling", "q/secret", "top"}
	if diff := cmp.Diff(want, list(t, outer, "")); diff != "" {
		t.Errorf("outer listing (-want +got):\n%s", diff)
	}

	deeper := open(t, "p/new")
	if diff := cmp.Diff([]string{"obj"}, list(t, deeper, "")); diff != "" {
		t.Errorf("nested prefix listing (-want +got):\n%s", diff)
	}
}

func testIfNotExists(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "lock", "mine", blob.PutOptions{IfNotExists: true})
	err := s.WriteAll(context.Background(), "lock", []byte("theirs"), blob.PutOptions{IfNotExists: true})
	if !errors.Is(err, blob.ErrExists) || !errors.Is(err, blob.ErrPrecondition) {
		t.Errorf("second IfNotExists put: %v, want ErrExists and ErrPrecondition", err)
	}
	if data, _ := get(t, s, "lock"); data != "mine" {
		t.Errorf("refused write changed the object to %q", data)
	}
	err = s.WriteAll(context.Background(), "x", nil, blob.PutOptions{IfNotExists: true, IfMatch: `"e"`})
	if !errors.Is(err, blob.ErrInvalidOption) {
		t.Errorf("IfNotExists with IfMatch: %v, want ErrInvalidOption", err)
	}
}

func testIfMatch(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "ptr", "v1", blob.PutOptions{})
	_, a1 := get(t, s, "ptr")
	st, err := s.Stat(context.Background(), "ptr")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag != a1.ETag {
		t.Fatalf("Stat ETag %s, Get ETag %s", st.ETag, a1.ETag)
	}
	put(t, s, "ptr", "v2", blob.PutOptions{IfMatch: a1.ETag})
	data, a2 := get(t, s, "ptr")
	if data != "v2" {
		t.Fatalf("after IfMatch put: %q", data)
	}
	err = s.WriteAll(context.Background(), "ptr", []byte("stale"), blob.PutOptions{IfMatch: a1.ETag})
	if !errors.Is(err, blob.ErrPrecondition) || errors.Is(err, blob.ErrExists) {
		t.Errorf("put with a stale ETag: %v, want ErrPrecondition", err)
	}
	if data, _ := get(t, s, "ptr"); data != "v2" {
		t.Errorf("stale write changed the object to %q", data)
	}
	put(t, s, "ptr", "v3", blob.PutOptions{IfMatch: a2.ETag})
	err = s.WriteAll(context.Background(), "missing", []byte("x"), blob.PutOptions{IfMatch: a2.ETag})
	if !errors.Is(err, blob.ErrPrecondition) {
		t.Errorf("IfMatch on a missing object: %v, want ErrPrecondition", err)
	}
	if ok, _ := s.Exists(context.Background(), "missing"); ok {
		t.Error("IfMatch on a missing object created it")
	}
}

func testConcurrentConditional(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	const writers = 8
	s := open(t, "")
	// Each writer has its own Store, as separate servers would.
	stores := make([]*blob.Store, writers)
	for i := range stores {
		stores[i] = open(t, "")
	}
	// Contents differ from writer to writer and round to round: where the
	// ETag is a content hash (file, mem, S3), rewriting identical bytes
	// keeps it, and a second writer of the same bytes would also match.
	race := func(round int, opts blob.PutOptions) (winners []int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				err := stores[i].WriteAll(context.Background(), "leader", []byte(fmt.Sprintf("round %d writer %d", round, i)), opts)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, i)
					mu.Unlock()
				case !errors.Is(err, blob.ErrPrecondition):
					t.Errorf("writer %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		return winners
	}
	winners := race(1, blob.PutOptions{IfNotExists: true})
	if len(winners) != 1 {
		t.Fatalf("IfNotExists: winners %v, want exactly one", winners)
	}
	data, a := get(t, s, "leader")
	if want := fmt.Sprintf("round 1 writer %d", winners[0]); data != want {
		t.Errorf("object holds %q, winner wrote %q", data, want)
	}
	winners = race(2, blob.PutOptions{IfMatch: a.ETag})
	if len(winners) != 1 {
		t.Fatalf("IfMatch: winners %v, want exactly one", winners)
	}
	if data, _ := get(t, s, "leader"); data != fmt.Sprintf("round 2 writer %d", winners[0]) {
		t.Errorf("object holds %q, IfMatch winner was %d", data, winners[0])
	}
}

func testNotFound(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	ctx := context.Background()
	s := open(t, "")
	put(t, s, "dir/obj", "x", blob.PutOptions{})
	for _, n := range []string{"missing", "dir", "dir/missing", "dir/obj/below"} {
		_, _, err := s.Get(ctx, n)
		if !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("get %s: %v", n, err)
		} else if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %s", err, n)
		}
		if _, _, err := s.GetRange(ctx, n, 1, 1); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("get range %s: %v", n, err)
		}
		if _, err := s.Stat(ctx, n); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("stat %s: %v", n, err)
		}
		if err := s.Delete(ctx, n); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("delete %s: %v", n, err)
		}
	}
}

// genReader produces size bytes of deterministic pseudo-random data without
// holding them, and records the peak heap while it is read.
type genReader struct {
	left, size int64
	state      uint64
	sinceCheck int64
	peak       uint64
	peakRSS    uint64
}

func newGen(size int64, seed uint64) *genReader {
	return &genReader{left: size, size: size, state: seed | 1}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), g.left))
	for i := 0; i < n; i++ {
		if i%8 == 0 {
			g.state ^= g.state << 13
			g.state ^= g.state >> 7
			g.state ^= g.state << 17
		}
		p[i] = byte(g.state >> (8 * (i % 8)))
	}
	g.left -= int64(n)
	g.sinceCheck += int64(n)
	if g.sinceCheck >= 1<<20 {
		g.sinceCheck = 0
		g.peak = max(g.peak, heapBytes())
		g.peakRSS = max(g.peakRSS, rssBytes())
	}
	return n, nil
}

// rssBytes returns the resident memory of the process, which also counts
// buffers outside the Go heap (the Azure SDK maps its upload buffers), or 0
// where /proc is missing.
func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident uint64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return 0
	}
	return resident * uint64(os.Getpagesize())
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func testStream(t *testing.T, b backend, open func(*testing.T, string) *blob.Store) {
	if testing.Short() {
		t.Skip("64 MB stream skipped in -short mode")
	}
	const size = 64 << 20
	ctx := context.Background()
	s := open(t, "")
	// A low GC target keeps garbage from hiding what is really held.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	debug.FreeOSMemory()
	base, baseRSS := heapBytes(), rssBytes()
	g := newGen(size, 42)
	if err := s.Put(ctx, "big", g, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	held := int64(g.peak) - int64(base)
	heldRSS := int64(g.peakRSS) - int64(baseRSS)
	t.Logf("put %d MB: heap grew by at most %.1f MB, resident memory by %.1f MB while reading",
		size>>20, float64(held)/(1<<20), float64(heldRSS)/(1<<20))
	if !b.inProcess && held > size/2 {
		t.Errorf("heap grew by %d bytes while streaming %d: the upload is buffered", held, size)
	}
	if !b.inProcess && baseRSS > 0 && heldRSS > size/2 {
		t.Errorf("resident memory grew by %d bytes while streaming %d: the upload is buffered", heldRSS, size)
	}

	want := sha256.New()
	io.Copy(want, newGen(size, 42))
	rc, a, err := s.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil {
		t.Fatal(err)
	}
	if n != size || a.Size != size {
		t.Errorf("read %d bytes, size %d, want %d", n, a.Size, size)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Error("content read back differs from what was written")
	}
}

// cancelReader cancels its context after some bytes, then keeps serving.
type cancelReader struct {
	r      io.Reader
	after  int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.after <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.after -= int64(n)
	return n, err
}

func testCancel(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelReader{r: newGen(32<<20, 7), after: 1 << 20, cancel: cancel}
	err := s.Put(ctx, "partial", r, blob.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled put: %v, want context.Canceled", err)
	}
	if ok, err := s.Exists(context.Background(), "partial"); ok || err != nil {
		t.Errorf("cancelled put left an object: %v, %v", ok, err)
	}

	// A read in progress stops when its context ends.
	if err := s.Put(context.Background(), "big", newGen(8<<20, 9), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	rc, _, err := s.Get(rctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	rcancel()
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %d more bytes, error %v; want context.Canceled", n, err)
	}

	put(t, s, "whole", "data", blob.PutOptions{})
	if _, _, err := s.Get(ctx, "whole"); !errors.Is(err, context.Canceled) {
		t.Errorf("get with a cancelled context: %v", err)
	}
	if _, err := s.Stat(ctx, "whole"); !errors.Is(err, context.Canceled) {
		t.Errorf("stat with a cancelled context: %v", err)
	}
	for _, err := range s.List(ctx, "") {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("list with a cancelled context: %v", err)
		}
	}
}

// failReader fails after some bytes.
type failReader struct {
	r     io.Reader
	after int64
}

var errReader = errors.New("source went away")

func (f *failReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errReader
	}
	n, err := f.r.Read(p[:min(int64(len(p)), f.after)])
	f.after -= int64(n)
	return n, err
}

func testReaderError(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "kept", "old", blob.PutOptions{})
	for _, size := range []int64{100, 20 << 20} {
		for _, name := range []string{"kept", "new"} {
			err := s.Put(context.Background(), name, &failReader{r: newGen(32<<20, 3), after: size}, blob.PutOptions{})
			if !errors.Is(err, errReader) {
				t.Errorf("put %s failing after %d bytes: %v, want the reader's error", name, size, err)
			}
		}
	}
	if data, _ := get(t, s, "kept"); data != "old" {
		t.Errorf("failed put replaced the object with %d bytes", len(data))
	}
	if ok, err := s.Exists(context.Background(), "new"); ok || err != nil {
		t.Errorf("failed put left an object: %v, %v", ok, err)
	}
}

func testReadAllWriteAll(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	ctx := context.Background()
	s := open(t, "")
	if err := s.WriteAll(ctx, "aliases/sales", []byte("http://west:8484"), blob.PutOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	data, a, err := s.ReadAll(ctx, "aliases/sales")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "http://west:8484" || a.ContentType != "text/plain" || a.Size != int64(len(data)) {
		t.Errorf("ReadAll = %q, %+v", data, a)
	}
	err = s.WriteAll(ctx, "m", nil, blob.PutOptions{Metadata: map[string]string{"Bad-Key": "v"}})
	if !errors.Is(err, blob.ErrInvalidOption) {
		t.Errorf("bad metadata key: %v", err)
	}
	err = s.WriteAll(ctx, "m", nil, blob.PutOptions{Metadata: map[string]string{"k": strings.Repeat("v", 3000)}})
	if !errors.Is(err, blob.ErrInvalidOption) {
		t.Errorf("oversized metadata: %v", err)
	}
}

func testClosed(t *testing.T, _ backend, open func(*testing.T, string) *blob.Store) {
	s := open(t, "")
	put(t, s, "x", "y", blob.PutOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), "x"); !errors.Is(err, blob.ErrClosed) {
		t.Errorf("get after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func testPermission(t *testing.T, b backend, _ func(*testing.T, string) *blob.Store) {
	if b.denied == nil {
		t.Skipf("the %s backend has no credentials to refuse", b.name)
	}
	ctx := context.Background()
	s := b.denied(t)
	err := s.WriteAll(ctx, "x", []byte("y"), blob.PutOptions{})
	if !errors.Is(err, blob.ErrPermission) {
		t.Errorf("put with wrong credentials: %v, want ErrPermission", err)
	}
	if _, _, err := s.Get(ctx, "x"); !errors.Is(err, blob.ErrPermission) {
		t.Errorf("get with wrong credentials: %v, want ErrPermission", err)
	}
	if _, err := s.Stat(ctx, "x"); !errors.Is(err, blob.ErrPermission) {
		t.Errorf("stat with wrong credentials: %v, want ErrPermission", err)
	}
	for _, err := range s.List(ctx, "") {
		if !errors.Is(err, blob.ErrPermission) {
			t.Errorf("list with wrong credentials: %v, want ErrPermission", err)
		}
	}
}
