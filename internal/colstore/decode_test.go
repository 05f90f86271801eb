package colstore

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// BenchmarkDecodeSegment decodes a full segment of ids at a few widths:
// the cost a load or a restore pays per byte of column data.
func BenchmarkDecodeSegment(b *testing.B) {
	for _, w := range []uint8{4, 14, 20} {
		b.Run("w"+string(rune('0'+w/10))+string(rune('0'+w%10)), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			ids := make([]uint32, SegmentRows)
			var maxID uint32
			for i := range ids {
				ids[i] = uint32(rng.Uint64() & (1<<w - 1))
				maxID = max(maxID, ids[i])
			}
			data := encodeSegment(&Segment{Packed: Pack(ids, w), MaxID: maxID})
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := decodeSegment(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A segment whose ids exceed its stored maximum is refused (scans index
// arrays by id); one whose maximum is its width's largest needs no check.
func TestDecodeSegmentMaxID(t *testing.T) {
	ids := make([]uint32, 10000)
	for i := range ids {
		ids[i] = uint32(i % 6)
	}
	ids[7777] = 9
	if _, err := decodeSegment(encodeSegment(&Segment{Packed: Pack(ids, 4), MaxID: 5})); err == nil {
		t.Error("a segment with id 9 above its maximum 5 was accepted")
	}
	s, err := decodeSegment(encodeSegment(&Segment{Packed: Pack(ids, 4), MaxID: 15}))
	if err != nil || s.Get(7777) != 9 {
		t.Errorf("decode with the width's largest maximum: %v, id %d", err, s.Get(7777))
	}
	// At width 32 too (the fuzz test found it unchecked there).
	ids[7777] = 1 << 31
	if _, err := decodeSegment(encodeSegment(&Segment{Packed: Pack(ids, 32), MaxID: 5})); err == nil {
		t.Error("a 32-bit segment with id 2^31 above its maximum 5 was accepted")
	}
}

// BenchmarkEncodeSegment encodes a full segment of 14-bit ids: the cost
// a commit pays per byte of column data.
func BenchmarkEncodeSegment(b *testing.B) {
	ids := make([]uint32, SegmentRows)
	for i := range ids {
		ids[i] = uint32(i*7919) & (1<<14 - 1)
	}
	s := &Segment{Packed: Pack(ids, 14), MaxID: 1<<14 - 1}
	b.SetBytes(int64(len(s.Words) * 8))
	for b.Loop() {
		encodeSegment(s)
	}
}

// TestDecodeSegmentFormats decodes the segments of format 1 (images
// written before the padded header) and of the current format, aligned
// (the words are the object's own bytes) and not (they are copied), and
// refuses damaged headers.
func TestDecodeSegmentFormats(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ids := make([]uint32, 5000)
	for i := range ids {
		ids[i] = uint32(rng.IntN(3000))
	}
	seg := &Segment{Packed: Pack(ids, 12), MaxID: 2999}
	cur := encodeSegment(seg)
	if cur[4] != segmentFormat || len(cur)%8 != 0 {
		t.Fatalf("format %d, %d bytes: want format %d in a multiple of 8 bytes", cur[4], len(cur), segmentFormat)
	}
	// Format 1: the same fields without the two bytes of padding.
	old := append(append([]byte{}, cur[:14]...), cur[16:]...)
	old[4] = formatByte
	misaligned := append(make([]byte, 1, len(cur)+1), cur...)[1:]
	for name, b := range map[string][]byte{"format 1": old, "current": cur, "current, misaligned": misaligned} {
		s, err := decodeSegment(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, id := range ids {
			if got := s.Get(i); got != id {
				t.Fatalf("%s: row %d has id %d, want %d", name, i, got, id)
			}
		}
		if got := s.MaxID; got != seg.MaxID {
			t.Errorf("%s: max id %d, want %d", name, got, seg.MaxID)
		}
		shared := unsafe.Pointer(&s.Words[0]) == unsafe.Pointer(&b[len(b)-8*len(s.Words)])
		if want := littleEndian && name == "current"; shared != want {
			t.Errorf("%s: words are the object's bytes: %v, want %v", name, shared, want)
		}
	}
	for name, damage := range map[string]func(b []byte){
		"format 3":    func(b []byte) { b[4] = 3 },
		"padding":     func(b []byte) { b[15] = 1 },
		"magic":       func(b []byte) { b[0] = 'X' },
		"words short": nil,
	} {
		b := append([]byte{}, cur...)
		if damage == nil {
			b = b[:len(b)-8]
		} else {
			damage(b)
		}
		if _, err := decodeSegment(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestPackedMax checks Packed.Max against the largest unpacked value for
// every width, at lengths around whole groups of 64, with the largest
// value at each of several positions (every running maximum of the
// kernel and the tail), and with the bits past the last value set, as a
// damaged or hostile segment may have them: they are not values.
func TestPackedMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for w := uint8(1); w <= 32; w++ {
		for _, n := range []int{0, 1, 63, 64, 65, 130, 256, 1000} {
			for _, at := range []int{0, 1, 2, 3, 61, 62, 63, 64, 127, n - 1} {
				if at < 0 || at >= n {
					continue
				}
				vals := make([]uint32, n)
				top := uint32(1)<<w - 1
				for i := range vals {
					vals[i] = uint32(rng.Uint64()) & (top >> 1)
				}
				vals[at] = top
				p := Pack(vals, w)
				if got := p.Max(); got != top {
					t.Fatalf("width %d, %d values, largest at %d: Max %d, want %d", w, n, at, got, top)
				}
				// Padding bits set past the values must not count.
				vals[at] = top >> 1
				p = Pack(vals, w)
				if used := n * int(w); used%64 != 0 {
					p.Words[used/64] |= ^uint64(0) << (used % 64)
				}
				for i := (n*int(w) + 63) / 64; i < len(p.Words); i++ {
					p.Words[i] = ^uint64(0)
				}
				if got, want := p.Max(), slices.Max(append(vals, 0)); got != want {
					t.Fatalf("width %d, %d values, padding set: Max %d, want %d", w, n, got, want)
				}
			}
		}
	}
	if got := (&Packed{}).Max(); got != 0 {
		t.Errorf("empty: Max %d", got)
	}
}
