package colstore

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestIDFilter checks each form of an id filter (range, byte table,
// bitmap) against Bitmap.Has, on fresh blocks and on selections.
func TestIDFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tests := []struct {
		name   string
		ids    int
		lo, hi int // a range of members when lo <= hi
		odds   int // otherwise one id in odds is a member
	}{
		{"range", 1000, 10, 500, 0},
		{"range from blank", 1000, 0, 999, 0},
		{"single id", 1000, 7, 7, 0},
		{"empty", 1000, 1, 0, 0},
		{"small dictionary", 1000, 1, 0, 3},
		{"large dictionary", 3 * maxFilterLUT, 1, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBitmap(tt.ids)
			for id := 0; id < tt.ids; id++ {
				if (tt.lo <= tt.hi && id >= tt.lo && id <= tt.hi) || (tt.odds > 0 && rng.IntN(tt.odds) == 0) {
					b.Set(id)
				}
			}
			f := newIDFilter(b)
			ids := make([]uint32, blockRows)
			for i := range ids {
				ids[i] = uint32(rng.IntN(tt.ids))
			}
			var want []uint16
			for i, id := range ids {
				if b.Has(int(id)) {
					want = append(want, uint16(i))
				}
			}
			got := f.first(make([]uint16, blockRows), ids)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("first (-want +got):\n%s", diff)
			}
			var sel, wantRefined []uint16
			for i := range ids {
				if i%3 != 0 {
					sel = append(sel, uint16(i))
					if b.Has(int(ids[i])) {
						wantRefined = append(wantRefined, uint16(i))
					}
				}
			}
			if diff := cmp.Diff(wantRefined, f.refine(sel, ids), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("refine (-want +got):\n%s", diff)
			}
		})
	}
}
