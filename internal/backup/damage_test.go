package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// damageCases are archives of different shapes to damage: several
// records, encryption, objects stored raw and compressed.
func damageCases(t testing.TB) []struct {
	name     string
	arc      []byte
	password string
} {
	ti := newImage(t, 11, append(sizes(11, 24), 20000, 0))
	return []struct {
		name     string
		arc      []byte
		password string
	}{
		{"compressed, small records", ti.archive(t, WriteOptions{Compress: true, RecordSize: 4096}), ""},
		{"encrypted, small records", ti.archive(t, WriteOptions{Compress: true, Password: "pw", KDF: cheapKDF, RecordSize: 4096}), "pw"},
		{"plain, one record", ti.archive(t, WriteOptions{}), ""},
		{"encrypted, one record", ti.archive(t, WriteOptions{Password: "pw", KDF: cheapKDF}), "pw"},
	}
}

// positions samples byte positions: every header byte, the bytes after
// it (record prefix, manifest), the end (final record, trailer), and a
// spread over the rest.
func positions(n int, r *rand.Rand) []int {
	var ps []int
	for i := 0; i < min(n, 300); i++ {
		ps = append(ps, i)
	}
	for i := max(0, n-200); i < n; i++ {
		ps = append(ps, i)
	}
	const spread = 300
	for i := range spread {
		lo, hi := n*i/spread, n*(i+1)/spread
		if hi > lo {
			ps = append(ps, lo+r.IntN(hi-lo))
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// refused checks that a damaged archive is refused with one of the
// package's errors and that Read does not report success.
func refused(t *testing.T, what string, data []byte, password string) error {
	t.Helper()
	sink := newSink()
	info, err := Read(context.Background(), bytes.NewReader(data), ReadOptions{Password: password}, sink)
	if err == nil {
		t.Fatalf("%s: Read succeeded", what)
	}
	if info != nil && info.Verified {
		t.Fatalf("%s: Read failed (%v) but reports the archive verified", what, err)
	}
	known := false
	for _, e := range []error{ErrCorrupt, ErrTruncated, ErrNotBackup, ErrVersion, ErrTrailingData, ErrABF} {
		known = known || errors.Is(err, e)
	}
	if !known {
		t.Fatalf("%s: unexpected error %v", what, err)
	}
	return err
}

func TestDamagedBytes(t *testing.T) {
	for _, tc := range damageCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(tc.arc)), 2))
			ps := positions(len(tc.arc), r)
			if len(ps) < 300 && len(tc.arc) >= 300 {
				t.Fatalf("only %d positions", len(ps))
			}
			kinds := map[string]int{}
			for _, p := range ps {
				for _, mask := range []byte{1 << r.IntN(8), 0xff} {
					d := bytes.Clone(tc.arc)
					d[p] ^= mask
					err := refused(t, fmt.Sprintf("byte %d ^ %#x", p, mask), d, tc.password)
					if errors.Is(err, ErrWrongPassword) || errors.Is(err, ErrPasswordRequired) {
						t.Fatalf("byte %d: damage reported as a password problem: %v", p, err)
					}
					switch {
					case errors.Is(err, ErrCorrupt):
						kinds["damaged"]++
					case errors.Is(err, ErrTruncated):
						kinds["truncated"]++
					default:
						kinds["other"]++
					}
				}
			}
			t.Logf("%d bytes, %d positions: %v", len(tc.arc), len(ps), kinds)
		})
	}
}

func TestTruncated(t *testing.T) {
	for _, tc := range damageCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(tc.arc)), 3))
			n := len(tc.arc)
			var lengths []int
			for i := 0; i < min(n, 200); i++ {
				lengths = append(lengths, i)
			}
			for i := max(0, n-200); i < n; i++ {
				lengths = append(lengths, i)
			}
			for range 200 {
				lengths = append(lengths, r.IntN(n))
			}
			for _, l := range lengths {
				err := refused(t, fmt.Sprintf("cut at %d", l), tc.arc[:l], tc.password)
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("cut at %d of %d: %v, want ErrTruncated", l, n, err)
				}
				if want := fmt.Sprintf("truncated after %d bytes", l); !bytes.Contains([]byte(err.Error()), []byte(want)) {
					t.Fatalf("cut at %d: %q does not say %q", l, err, want)
				}
			}
		})
	}
}

func TestReorderedRecords(t *testing.T) {
	// Swapping two records of equal size keeps every length plausible;
	// the index bound into each record's check catches it.
	ti := newImage(t, 12, sizes(12, 30))
	for _, pw := range []string{"", "pw"} {
		arc := ti.archive(t, WriteOptions{Password: pw, KDF: cheapKDF, RecordSize: 1024})
		h := headerPlainLen
		if pw != "" {
			h = headerCryptLen
		}
		rec := recordPrefix + 1024 + crcLen
		if pw != "" {
			rec = recordPrefix + 1024 + tagLen
		}
		d := bytes.Clone(arc)
		copy(d[h:h+rec], arc[h+rec:h+2*rec])
		copy(d[h+rec:h+2*rec], arc[h:h+rec])
		err := refused(t, "swapped records", d, pw)
		if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte("record 0")) {
			t.Errorf("password %q: %v", pw, err)
		}
		// Dropping a whole record.
		d = append(bytes.Clone(arc[:h+rec]), arc[h+2*rec:]...)
		if err := refused(t, "dropped record", d, pw); !errors.Is(err, ErrCorrupt) {
			t.Errorf("password %q: dropped record: %v", pw, err)
		}
	}
}

func TestRecordsFromAnotherArchive(t *testing.T) {
	// Two archives of the same image with the same password: records
	// are bound to their header, so splicing fails.
	ti := newImage(t, 13, sizes(13, 10))
	a := ti.archive(t, WriteOptions{Password: "pw", KDF: cheapKDF})
	b := ti.archive(t, WriteOptions{Password: "pw", KDF: cheapKDF})
	spliced := append(bytes.Clone(a[:headerCryptLen]), b[headerCryptLen:]...)
	refused(t, "spliced", spliced, "pw")
	// (Unencrypted archives with the same flags and record size have
	// identical headers, and a whole archive after one is simply that
	// archive: there is nothing to splice.)
}

func FuzzRead(f *testing.F) {
	// The fuzzing workers are other processes that rebuild these seeds;
	// an encrypted seed differs in each (fresh salt), so success is
	// judged by what was restored, not by bytes: Read may succeed only
	// on an archive of exactly this image.
	ti := newImage(f, 21, []int{0, 10, 3000, 200})
	want := canonical(f, ti.m)
	md := Metadata{Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, o := range []WriteOptions{
		{Metadata: md},
		{Compress: true, RecordSize: MinRecordSize, Metadata: md},
		{Compress: true, Password: "pw", KDF: cheapKDF, RecordSize: MinRecordSize, Metadata: md},
	} {
		f.Add(ti.archive(f, o))
	}
	f.Add([]byte{})
	f.Add(append([]byte{0xff, 0xfe}, utf16le("STREAM_STORAGE")...))
	f.Add(magic[:])
	opts := ReadOptions{Password: "pw", MaxKDFMemoryKiB: 256, MaxManifestBytes: 1 << 20, MaxObjectSize: 1 << 20, Concurrency: 2}
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := newSink()
		info, err := Read(context.Background(), bytes.NewReader(data), opts, sink)
		if err == nil {
			if !cmp.Equal(want, info.Manifest) || info.Metadata.Database != "Sales" || !info.Metadata.Created.Equal(md.Created) {
				t.Fatalf("an archive of %d bytes with another manifest or metadata was accepted", len(data))
			}
			for _, o := range want.Objects {
				if !bytes.Equal(sink.objects[o.Hash], ti.data[o.Hash]) {
					t.Fatalf("accepted with object %s different", o.Hash)
				}
			}
		}
		if err != nil && info != nil && info.Verified {
			t.Fatal("error with Verified set")
		}
		Inspect(context.Background(), bytes.NewReader(data), opts)
	})
}

func TestHostileHeader(t *testing.T) {
	// Headers whose checksum is right but which ask too much: anyone
	// can compute the checksum, so the limits must hold on their own.
	for _, tc := range []struct {
		name string
		h    header
		opts ReadOptions
		want string
	}{
		{"kdf work", header{flags: flagEncrypted, recordSize: DefaultRecordSize, kdf: KDFParams{Time: 64, MemoryKiB: 1 << 20, Threads: 1}}, ReadOptions{}, "key derivation"},
		{"kdf memory", header{flags: flagEncrypted, recordSize: DefaultRecordSize, kdf: KDFParams{Time: 1, MemoryKiB: 2 << 20, Threads: 1}}, ReadOptions{}, "key derivation"},
		{"kdf memory limit", header{flags: flagEncrypted, recordSize: DefaultRecordSize, kdf: KDFParams{Time: 1, MemoryKiB: 64 << 10, Threads: 4}}, ReadOptions{MaxKDFMemoryKiB: 1024}, "key derivation"},
		{"no threads", header{flags: flagEncrypted, recordSize: DefaultRecordSize, kdf: KDFParams{Time: 1, MemoryKiB: 64}}, ReadOptions{}, "key derivation"},
		{"huge records", header{recordSize: MaxRecordSize + 1}, ReadOptions{}, "record size"},
		{"tiny records", header{recordSize: 1}, ReadOptions{}, "record size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.marshal()
			tc.opts.Password = "pw"
			_, err := Read(context.Background(), bytes.NewReader(tc.h.raw), tc.opts, newSink())
			if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("Read: %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("huge manifest", func(t *testing.T) {
		// A valid record claiming a manifest beyond the limit.
		h := &header{recordSize: MinRecordSize}
		h.marshal()
		var buf bytes.Buffer
		rw, err := newRecordWriter(&buf, &sealer{binding: h.sum}, h, 1)
		if err != nil {
			t.Fatal(err)
		}
		rw.Write([]byte{tagManifest, 0xff, 0xff, 0xff, 0x7f})
		rw.close(func(uint64, int64, [32]byte) []byte { return make([]byte, trailerLen) })
		_, err = Read(context.Background(), &buf, ReadOptions{}, newSink())
		if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte("more than the limit")) {
			t.Fatalf("Read: %v", err)
		}
	})
}
