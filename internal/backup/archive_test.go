package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/image"
)

func canonical(t testing.TB, m *image.Manifest) *image.Manifest {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c, err := image.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	sz := append(sizes(1, 300), 16<<20, 0, 1, 16<<20+3)
	ti := newImage(t, 1, sz)
	want := canonical(t, ti.m)
	created := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	md := Metadata{Server: "west", Created: created, MeridianVersion: "1.2.3", Labels: map[string]string{"schedule": "nightly"}}
	for _, tc := range []struct {
		name     string
		compress bool
		password string
	}{
		{"plain", false, ""},
		{"compressed", true, ""},
		{"encrypted", false, "correct horse battery staple"},
		{"compressed and encrypted", true, "pässwörd ✓"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress []Progress
			arc := ti.archive(t, WriteOptions{Compress: tc.compress, Password: tc.password, KDF: cheapKDF, Metadata: md,
				Progress: func(p Progress) { progress = append(progress, p) }})
			if len(progress) != len(want.Objects) || progress[len(progress)-1].Bytes != want.Size() {
				t.Errorf("write progress: %d calls, last %+v; want %d objects of %d bytes", len(progress), progress[len(progress)-1], len(want.Objects), want.Size())
			}
			sink := newSink()
			var reads int
			info, err := Read(context.Background(), bytes.NewReader(arc), ReadOptions{Password: tc.password,
				Progress: func(Progress) { reads++ }}, sink)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !info.Verified || info.Encrypted != (tc.password != "") || info.Compressed != tc.compress {
				t.Errorf("info: verified %v, encrypted %v, compressed %v", info.Verified, info.Encrypted, info.Compressed)
			}
			if diff := cmp.Diff(want, info.Manifest); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
			wantMD := md
			wantMD.Database = "Sales"
			if diff := cmp.Diff(wantMD, info.Metadata); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
			if reads != len(want.Objects) {
				t.Errorf("read progress calls = %d, want %d", reads, len(want.Objects))
			}
			if len(sink.objects) != len(want.Objects) || sink.calls != len(want.Objects) {
				t.Fatalf("sink got %d objects in %d calls, want %d", len(sink.objects), sink.calls, len(want.Objects))
			}
			for _, o := range want.Objects {
				if !bytes.Equal(sink.objects[o.Hash], ti.data[o.Hash]) || sink.kinds[o.Hash] != o.Kind {
					t.Errorf("object %s (%s) differs", o.Hash, o.Kind)
				}
			}
			st := info.Stats
			if st.Objects != len(want.Objects) || st.ObjectBytes != want.Size() || st.ArchiveBytes != int64(len(arc)) {
				t.Errorf("stats %+v, archive %d bytes", st, len(arc))
			}
			if tc.compress && st.StoredBytes >= st.ObjectBytes {
				t.Errorf("compressed archive stores %d bytes of %d", st.StoredBytes, st.ObjectBytes)
			}
			if !tc.compress && st.StoredBytes != st.ObjectBytes {
				t.Errorf("uncompressed archive stores %d bytes of %d", st.StoredBytes, st.ObjectBytes)
			}

			in, err := Inspect(context.Background(), bytes.NewReader(arc), ReadOptions{Password: tc.password})
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if in.Verified || in.Manifest == nil || in.Metadata.Server != "west" {
				t.Errorf("Inspect: verified %v, manifest %v, metadata %+v", in.Verified, in.Manifest != nil, in.Metadata)
			}
		})
	}
}

func TestEmptyImage(t *testing.T) {
	ti := newImage(t, 2, nil) // the model object only
	for _, pw := range []string{"", "pw"} {
		arc := ti.archive(t, WriteOptions{Compress: true, Password: pw, KDF: cheapKDF})
		sink := newSink()
		if _, err := Read(context.Background(), bytes.NewReader(arc), ReadOptions{Password: pw}, sink); err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if len(sink.objects) != 1 {
			t.Errorf("password %q: %d objects", pw, len(sink.objects))
		}
	}
}

func TestSmallRecords(t *testing.T) {
	// Many records, objects spanning several of them.
	ti := newImage(t, 3, sizes(3, 40))
	for _, pw := range []string{"", "pw"} {
		arc := ti.archive(t, WriteOptions{Compress: true, Password: pw, KDF: cheapKDF, RecordSize: MinRecordSize, Concurrency: 3})
		if _, err := Verify(context.Background(), bytes.NewReader(arc), ReadOptions{Password: pw, Concurrency: 5}); err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
	}
}

func TestPasswords(t *testing.T) {
	ti := newImage(t, 4, sizes(4, 10))
	arc := ti.archive(t, WriteOptions{Password: "right", KDF: cheapKDF})
	ctx := context.Background()
	for _, tc := range []struct {
		name, password string
		want           error
		msg            string
	}{
		{"missing", "", ErrPasswordRequired, "the backup is encrypted: a password is required"},
		{"wrong", "wrong", ErrWrongPassword, "the password is wrong"},
		{"case matters", "Right", ErrWrongPassword, "the password is wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newSink()
			info, err := Read(ctx, bytes.NewReader(arc), ReadOptions{Password: tc.password}, sink)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Read: %v, want %v", err, tc.want)
			}
			if sink.calls != 0 {
				t.Errorf("sink got %d objects", sink.calls)
			}
			if info == nil || !info.Encrypted || info.Manifest != nil || info.KDF != cheapKDF {
				t.Errorf("info %+v", info)
			}
			if _, err := Inspect(ctx, bytes.NewReader(arc), ReadOptions{Password: tc.password}); !errors.Is(err, tc.want) {
				t.Errorf("Inspect: %v", err)
			}
		})
	}
	t.Run("ignored without encryption", func(t *testing.T) {
		plain := ti.archive(t, WriteOptions{})
		if _, err := Verify(ctx, bytes.NewReader(plain), ReadOptions{Password: "anything"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two archives differ", func(t *testing.T) {
		// A fresh salt per archive: the same image and password give
		// different bytes (and keys).
		other := ti.archive(t, WriteOptions{Password: "right", KDF: cheapKDF})
		if bytes.Equal(arc[:headerCryptLen], other[:headerCryptLen]) {
			t.Error("two encrypted archives share a header")
		}
	})
}

func TestNotABackup(t *testing.T) {
	abf := append([]byte{0xff, 0xfe}, utf16le("STREAM_STORAGE_SIGNATURE_)!@#$%^&*(")...)
	abf = append(abf, make([]byte, 4096)...)
	xpress := append(utf16le("This backup was created using XPress9 compression."), 0, 0, 1, 2, 3)
	random := objectBytes(99, 5000)
	random[0] = 0x42
	ti := newImage(t, 5, nil)
	arc := ti.archive(t, WriteOptions{})
	future := bytes.Clone(arc)
	future[8] = 2
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"abf", abf, ErrABF, "a Microsoft Analysis Services backup (.abf) cannot be restored by Meridian"},
		{"abf start only", abf[:20], ErrABF, ".abf"},
		{"xpress9 abf", xpress, ErrABF, ".abf"},
		{"random", random, ErrNotBackup, "not a Meridian backup"},
		{"text", []byte("hello, world\nthis is not a backup\n"), ErrNotBackup, "not a Meridian backup"},
		{"short text", []byte("hi"), ErrNotBackup, "not a Meridian backup"},
		{"empty", nil, ErrTruncated, "truncated after 0 bytes"},
		{"future version", future, ErrVersion, "unsupported backup format version 2 (this build reads version 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newSink()
			_, err := Read(context.Background(), bytes.NewReader(tc.data), ReadOptions{}, sink)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Read: %v, want %v (%q)", err, tc.want, tc.msg)
			}
			if sink.calls != 0 {
				t.Errorf("sink got %d objects", sink.calls)
			}
		})
	}
}

func TestTrailingData(t *testing.T) {
	ti := newImage(t, 6, sizes(6, 5))
	for _, pw := range []string{"", "pw"} {
		arc := ti.archive(t, WriteOptions{Password: pw, KDF: cheapKDF})
		for _, extra := range [][]byte{{0}, []byte("garbage"), make([]byte, 3<<20)} {
			_, err := Verify(context.Background(), bytes.NewReader(append(bytes.Clone(arc), extra...)), ReadOptions{Password: pw})
			if !errors.Is(err, ErrTrailingData) {
				t.Errorf("password %q, %d extra bytes: %v", pw, len(extra), err)
			}
		}
		// Two archives back to back are trailing data too.
		_, err := Verify(context.Background(), bytes.NewReader(append(bytes.Clone(arc), arc...)), ReadOptions{Password: pw})
		if !errors.Is(err, ErrTrailingData) {
			t.Errorf("password %q, archive twice: %v", pw, err)
		}
	}
}

// failingSource fails to read one object.
type failingSource struct {
	image.ObjectReader
	bad image.Hash
}

func (f failingSource) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	if h == f.bad {
		return nil, errors.New("disk on fire")
	}
	return f.ObjectReader.ReadObject(ctx, h)
}

// lyingSource returns other bytes than the hash names for one object.
type lyingSource struct {
	image.ObjectReader
	bad image.Hash
}

func (l lyingSource) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	b, err := l.ObjectReader.ReadObject(ctx, h)
	if h == l.bad && len(b) > 0 {
		b[0] ^= 1
	}
	return b, err
}

func TestWriteErrors(t *testing.T) {
	ti := newImage(t, 7, sizes(7, 30))
	bad := ti.m.Objects[10].Hash
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		src  Source
		opts WriteOptions
		ctx  context.Context
		want string
	}{
		{"no manifest", Source{Objects: ti.store}, WriteOptions{}, ctx, "needs a manifest"},
		{"bad manifest", Source{Manifest: &image.Manifest{Database: "x"}, Objects: ti.store}, WriteOptions{}, ctx, "no model object"},
		{"read fails", Source{Manifest: ti.m, Objects: failingSource{ti.store, bad}}, WriteOptions{Compress: true}, ctx, "disk on fire"},
		{"wrong bytes", Source{Manifest: ti.m, Objects: lyingSource{ti.store, bad}}, WriteOptions{}, ctx, "does not match its hash"},
		{"record size", ti.source(), WriteOptions{RecordSize: 10}, ctx, "record size"},
		{"kdf memory", ti.source(), WriteOptions{Password: "x", KDF: KDFParams{Time: 1, MemoryKiB: 4 << 20, Threads: 1}}, ctx, "memory"},
		{"kdf work", ti.source(), WriteOptions{Password: "x", KDF: KDFParams{Time: 64, MemoryKiB: 1 << 20, Threads: 1}}, ctx, "time 64"},
		{"label", ti.source(), WriteOptions{Metadata: Metadata{Labels: map[string]string{"Bad Key": "v"}}}, ctx, "label"},
		{"cancelled", ti.source(), WriteOptions{}, cancelled, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Write(tc.ctx, &buf, tc.src, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v, want %q", err, tc.want)
			}
			if buf.Len() > 0 {
				if _, err := Verify(ctx, bytes.NewReader(buf.Bytes()), ReadOptions{}); err == nil {
					t.Error("the partial output verifies")
				}
			}
		})
	}
	t.Run("writer fails", func(t *testing.T) {
		_, err := Write(ctx, &failingWriter{after: 5000}, ti.source(), WriteOptions{RecordSize: 1024})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Write: %v", err)
		}
	})
	t.Run("verified source is trusted", func(t *testing.T) {
		// With Verified the writer does not hash again; the damage is
		// then found on restore.
		var buf bytes.Buffer
		if _, err := Write(ctx, &buf, Source{Manifest: ti.m, Objects: lyingSource{ti.store, bad}, Verified: true}, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := Verify(ctx, bytes.NewReader(buf.Bytes()), ReadOptions{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad.String()) {
			t.Fatalf("Verify: %v", err)
		}
	})
}

type failingWriter struct{ n, after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.after {
		return 0, errors.New("disk full")
	}
	f.n += len(p)
	return len(p), nil
}

// failingSink refuses one object.
type failingSink struct {
	*recordingSink
	bad image.Hash
}

func (f failingSink) WriteObject(ctx context.Context, kind string, data []byte) (image.ObjectRef, error) {
	if image.Sum(data) == f.bad {
		return image.ObjectRef{}, errors.New("no space left")
	}
	return f.recordingSink.WriteObject(ctx, kind, data)
}

func TestReadSinkAndReaderErrors(t *testing.T) {
	ti := newImage(t, 8, sizes(8, 30))
	arc := ti.archive(t, WriteOptions{Compress: true})
	ctx := context.Background()
	bad := canonical(t, ti.m).Objects[12].Hash
	_, err := Read(ctx, bytes.NewReader(arc), ReadOptions{}, failingSink{newSink(), bad})
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("failing sink: %v", err)
	}
	_, err = Read(ctx, io.MultiReader(bytes.NewReader(arc[:5000]), errReader{}), ReadOptions{}, newSink())
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("failing reader: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Read(cancelled, bytes.NewReader(arc), ReadOptions{}, newSink()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestLargeObjects(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("objects above 64 MiB (skipped with -short and -race)")
	}
	// Above the first allocation of a payload (64 MiB): one object that
	// compresses (decoded into a buffer of its size) and one that does
	// not (read into a growing buffer).
	big := bytes.Repeat([]byte("Contoso Fabrikam "), (65<<20)/17+1)
	random := genObject(5, 5, 65<<20+3)
	for i := 0; i < len(random); i += 4096 {
		random[i] ^= 0x5a // no runs of 4 KiB anywhere
	}
	store := image.NewMemStore()
	ctx := context.Background()
	model, _ := store.WriteObject(ctx, image.KindModel, []byte(`{}`))
	r1, _ := store.WriteObject(ctx, image.KindDict, big)
	r2, _ := store.WriteObject(ctx, image.KindSegment, random)
	m := &image.Manifest{Database: "Big", Model: model.Hash, Objects: []image.ObjectRef{model, r1, r2}}
	for _, compress := range []bool{false, true} {
		var buf bytes.Buffer
		if _, err := Write(ctx, &buf, Source{Manifest: m, Objects: store}, WriteOptions{Compress: compress}); err != nil {
			t.Fatal(err)
		}
		sink := newSink()
		if _, err := Read(ctx, &buf, ReadOptions{}, sink); err != nil {
			t.Fatalf("compress %v: %v", compress, err)
		}
		if !bytes.Equal(sink.objects[r1.Hash], big) || !bytes.Equal(sink.objects[r2.Hash], random) {
			t.Errorf("compress %v: objects differ", compress)
		}
	}
}
