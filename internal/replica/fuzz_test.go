package replica

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
)

func FuzzDecodePointer(f *testing.F) {
	live := &Pointer{Database: "Sales", Version: 7, Manifest: image.Sum([]byte("m")), Content: image.Sum([]byte("c")),
		CommitTime: time.Date(2026, 11, 25, 22, 40, 0, 0, time.UTC), Published: time.Date(2026, 11, 25, 22, 40, 1, 0, time.UTC),
		Publisher: "west", Epoch: 3}
	tomb := &Pointer{Database: "ü/../x", Version: 2, Publisher: "north", Epoch: 9, Deleted: true}
	for _, p := range []*Pointer{live, tomb} {
		b, err := p.marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"format":1}`, `{"format":1,"database":"a","publisher":"p","epoch":1,"deleted":true} {}`,
		`{"format":1,"database":"a","publisher":"p","epoch":1,"version":-1,"deleted":true}`,
		`{"format":1,"database":"a","publisher":"p","epoch":1,"manifest":"zz"}`, `{"format":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePointer(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if _, err := Key(p.Database); err != nil {
			t.Fatalf("decoded a pointer whose database has no key: %v", err)
		}
		again, err := p.marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := DecodePointer(again)
		if err != nil {
			t.Fatalf("re-encoded pointer does not decode: %v\n%s", err, again)
		}
		again2, _ := q.marshal()
		if !bytes.Equal(again, again2) {
			t.Fatalf("pointer does not round-trip:\n%s\n%s", again, again2)
		}
	})
}

func FuzzDecodeLease(f *testing.F) {
	rec := &LeaseRecord{Holder: "west", Epoch: 4, TTLMillis: 15000, Acquired: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Renewed: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Renewals: 2, Token: "00ff"}
	b, err := rec.marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	rec.Released = true
	b, _ = rec.marshal()
	f.Add(b)
	for _, s := range []string{``, `{`, `{"format":1,"holder":"w","epoch":1,"ttlMillis":0,"token":"t"}`,
		`{"format":1,"holder":"w","epoch":1,"ttlMillis":1000,"token":"t","renewed":"yesterday"}`,
		`{"format":1,"holder":"w","epoch":9223372036854775807,"ttlMillis":86400000,"token":"t"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeLease(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if r.TTL() < MinTTL || r.TTL() > MaxTTL || r.Epoch < 1 {
			t.Fatalf("decoded an unusable lease %+v", r)
		}
		again, err := r.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeLease(again); err != nil {
			t.Fatalf("re-encoded lease does not decode: %v\n%s", err, again)
		}
	})
}

func TestKey(t *testing.T) {
	tests := []struct {
		name, db string
		prefix   string // the readable part
	}{
		{"plain", "Sales", "sales"},
		{"spaces and digits", "Sales 2024 (EU)", "sales-2024-eu"},
		{"path-like", "../../etc/passwd", "etc-passwd"},
		{"dots", "a.", "a"},
		{"reserved", ".meridian-tmp", "meridian-tmp"},
		{"non-Latin", "Продажи", "db"},
		{"long", strings.Repeat("abc", 300), strings.Repeat("abc", 11)[:32]},
		{"backslash", `a\b`, "a-b"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Key(tc.db)
			if err != nil {
				t.Fatal(err)
			}
			if err := blob.ValidName(pointerName(k)); err != nil {
				t.Fatalf("key %q is not a valid object name: %v", k, err)
			}
			if strings.Contains(k, "/") || !strings.HasPrefix(k, tc.prefix+"-") || len(k) != len(tc.prefix)+1+32 {
				t.Fatalf("key %q, want %q and 32 hex digits", k, tc.prefix)
			}
			if other, ok := seen[k]; ok {
				t.Fatalf("%q and %q have the same key", tc.db, other)
			}
			seen[k] = tc.db
		})
	}
	t.Run("case-insensitive", func(t *testing.T) {
		a, _ := Key("Sales")
		b, _ := Key("SALES")
		c, _ := Key("sales ")
		if a != b || a == c {
			t.Fatalf("keys %s %s %s", a, b, c)
		}
	})
	for _, bad := range []string{"", "\xff", strings.Repeat("x", MaxNameLen+1)} {
		if _, err := Key(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Key(%q): %v, want ErrInvalid", bad, err)
		}
	}
}
