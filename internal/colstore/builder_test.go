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

// TestRunsEqualValues stores the same rows value by value and in runs,
// into columns of the runs' own types and of others (which convert), and
// checks both encode alike.
func TestRunsEqualValues(t *testing.T) {
	specs := []ColumnSpec{
		{Name: "I", Type: value.Integer}, {Name: "I as D", Type: value.Decimal},
		{Name: "C", Type: value.Currency}, {Name: "C as V", Type: value.Variant},
		{Name: "F", Type: value.Decimal}, {Name: "F as I", Type: value.Integer},
		{Name: "D", Type: value.DateTime}, {Name: "D as S", Type: value.String},
		{Name: "Blank", Type: value.Integer},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	one := NewBuilder(specs, BuilderOptions{})
	runs := NewBuilder(specs, BuilderOptions{})
	for _, n := range []int{1, 1000, blockLen + 5, 3, 2 * blockLen} {
		ints := make([]int64, n)
		floats := make([]float64, n)
		for i := range ints {
			ints[i] = rng.Int64N(1000) - 500
			floats[i] = float64(rng.IntN(100000)) / 100
		}
		for i := range n {
			one.Int(0, ints[i])
			one.Int(1, ints[i])
			one.Currency(2, ints[i])
			one.Currency(3, ints[i])
			one.Float(4, floats[i])
			one.Float(5, floats[i])
			one.Date(6, floats[i])
			one.Date(7, floats[i])
			if err := one.EndRow(); err != nil {
				t.Fatal(err)
			}
		}
		runs.Ints(0, ints)
		runs.Ints(1, ints)
		runs.Currencies(2, ints)
		runs.Currencies(3, ints)
		runs.Floats(4, floats)
		runs.Floats(5, floats)
		runs.Dates(6, floats)
		runs.Dates(7, floats)
		if err := runs.EndRows(n); err != nil {
			t.Fatal(err)
		}
	}
	a, err := one.Finish()
	if err != nil {
		t.Fatal(err)
	}
	b, err := runs.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if a.Rows != b.Rows {
		t.Fatalf("rows: %d value by value, %d in runs", a.Rows, b.Rows)
	}
	ta, _ := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: a}})
	tb, _ := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: b}})
	for c, s := range specs {
		if !bytesEqualSegments(ta.Columns[c], tb.Columns[c]) {
			t.Errorf("column %q: runs encode differently from values", s.Name)
		}
	}
	if got := tb.Columns[8].Value(17); !got.IsBlank() {
		t.Errorf("a column given no values holds %v, want BLANK", got.GoString())
	}
}
