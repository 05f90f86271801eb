package colstore

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/meridian-olap/meridian/internal/value"
)

// TestFinishPiecesEqualsOneRead reads the same values once whole and once
// in pieces whose sizes cross block boundaries and are not multiples of
// 64 (so the BLANK bitmaps must be shifted), and checks that both encode
// to the same column, value by value.
func TestFinishPiecesEqualsOneRead(t *testing.T) {
	sizes := []int{0, 1, 63, blockLen + 17, 130, 2*blockLen + 1, 64}
	for _, typ := range []value.Type{value.Integer, value.Decimal, value.String, value.Currency, value.DateTime, value.Boolean, value.Variant} {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(typ), 11))
			specs := []ColumnSpec{{Name: "C", Type: typ}, {Name: "K", Type: value.Integer}}
			whole := NewBuilder(specs, BuilderOptions{})
			var pieces []*Builder
			var all []value.Value
			for _, n := range sizes {
				b := NewBuilder(specs, BuilderOptions{})
				for i := 0; i < n; i++ {
					v := genValue(rng, typ, i%3 == 0)
					k := value.Int(int64(len(all)))
					all = append(all, v)
					if err := b.Append([]value.Value{v, k}); err != nil {
						t.Fatal(err)
					}
					if err := whole.Append([]value.Value{v, k}); err != nil {
						t.Fatal(err)
					}
				}
				pieces = append(pieces, b)
			}
			merged, err := FinishPieces(context.Background(), pieces)
			if err != nil {
				t.Fatal(err)
			}
			one, err := whole.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if merged.Rows != len(all) || one.Rows != len(all) {
				t.Fatalf("rows: merged %d, one read %d, want %d", merged.Rows, one.Rows, len(all))
			}
			a, err := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: merged}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: one}})
			if err != nil {
				t.Fatal(err)
			}
			for c := range specs {
				if !bytesEqualSegments(a.Columns[c], b.Columns[c]) {
					t.Errorf("column %d: pieces encode differently from one read", c)
				}
			}
			for i, v := range all {
				if got := a.Columns[0].Value(i); value.Compare(got, v) != 0 || got.IsBlank() != v.IsBlank() {
					t.Fatalf("row %d: got %v, want %v", i, got.GoString(), v.GoString())
				}
			}
		})
	}
}

// TestFinishPiecesReportsErrors checks that a conversion error in any
// piece fails the whole partition.
func TestFinishPiecesReportsErrors(t *testing.T) {
	specs := []ColumnSpec{{Name: "N", Type: value.Integer}}
	good := NewBuilder(specs, BuilderOptions{})
	good.String(0, []byte("12"))
	_ = good.EndRow()
	bad := NewBuilder(specs, BuilderOptions{})
	bad.String(0, []byte("twelve"))
	_ = bad.EndRow()
	if _, err := FinishPieces(context.Background(), []*Builder{good, bad}); err == nil {
		t.Fatal("FinishPieces accepted a piece with a conversion error")
	}
	if _, err := FinishPieces(context.Background(), nil); err == nil {
		t.Fatal("FinishPieces accepted no pieces")
	}
}
