package colstore

import (
	"math/rand/v2"
	"testing"
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
