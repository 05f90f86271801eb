package colstore

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meridian-olap/meridian/internal/value"
)

// TestExactDivision checks the multiply-based divisibility test and
// division against Go's operators, near the edges of int64 too.
func TestExactDivision(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	vals := []int64{0, 1, -1, 10, -10, 100, 12340000, -12340000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, 5, 25, 2, 4}
	for range 20000 {
		v := rng.Int64() >> rng.IntN(63)
		if rng.IntN(2) == 0 {
			v = -v
		}
		vals = append(vals, v, v*10, v*100, v*10000, v/1000*1000)
	}
	for _, v := range vals {
		for k := int8(0); k <= 18; k++ {
			want := v%ipow10[k] == 0
			if got := dividesPow10(v, k); got != want {
				t.Fatalf("dividesPow10(%d, %d) = %v, want %v", v, k, got, want)
			}
			if want {
				if got, q := exactDivider(k).div(v), v/ipow10[k]; got != q {
					t.Fatalf("exactDivider(%d).div(%d) = %d, want %d", k, v, got, q)
				}
			}
		}
	}
}

// TestRangeEncodingDensity checks that value encoding is chosen for
// dense integers and not for a few scattered ones, whose range would size
// every per-id structure (see rangeSparsity), and that MIN and MAX of a
// value-encoded column need no rank table.
func TestRangeEncodingDensity(t *testing.T) {
	cases := []struct {
		name string
		vals []int64
		want DictKind
	}{
		{"dense keys", seq(1, 5000), DictRange},
		{"ten scattered keys", []int64{1, 5_000_000, 9_999_999, 12_345_678, 20_000_000, 31_000_000, 40_000_000, 44_444_444, 49_000_000, 50_000_000}, DictList},
		{"sparse but within the slack", []int64{1, 30_000, 60_000}, DictRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs := []ColumnSpec{{"K", value.Integer}}
			b := NewBuilder(specs, BuilderOptions{})
			for _, v := range tc.vals {
				if err := b.Append([]value.Value{value.Int(v)}); err != nil {
					t.Fatal(err)
				}
			}
			ch, _ := b.Finish()
			tab, err := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: ch}})
			if err != nil {
				t.Fatal(err)
			}
			d := tab.Columns[0].Dict
			if d.Kind != tc.want {
				t.Fatalf("%d values from %d to %d encoded as kind %d with %d ids, want kind %d", len(tc.vals), tc.vals[0], tc.vals[len(tc.vals)-1], d.Kind, d.Len(), tc.want)
			}
			if d.Kind == DictRange && d.Ranking().Table() != nil {
				t.Error("a value-encoded dictionary built a rank table")
			}
			res, err := (&Scan{Table: tab, Aggs: []Agg{{Op: Min, Col: 0}, {Op: Max, Col: 0}}}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := d.Value(res.Aggs[0].ID[0]).AsInt(), d.Value(res.Aggs[1].ID[0]).AsInt()
			if lo != slices.Min(tc.vals) || hi != slices.Max(tc.vals) {
				t.Errorf("MIN, MAX = %d, %d; want %d, %d", lo, hi, slices.Min(tc.vals), slices.Max(tc.vals))
			}
		})
	}
}

func seq(lo, hi int64) []int64 {
	var s []int64
	for v := lo; v <= hi; v++ {
		s = append(s, v)
	}
	return s
}

// TestDecodeRefusesHugeRange checks that a value-encoded dictionary
// claiming more ids than an encoder makes is refused: its ids would size
// per-id structures at query time.
func TestDecodeRefusesHugeRange(t *testing.T) {
	for _, n := range []int{maxRangeIDs, maxRangeIDs + 1, 808_000_000} {
		_, err := decodeDict(encodeDict(&Dict{Type: value.Integer, Kind: DictRange, N: n, Base: 7}))
		if ok := n <= maxRangeIDs; (err == nil) != ok {
			t.Errorf("%d ids: %v, want accepted %v", n, err, ok)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%d ids: %v, want ErrCorrupt", n, err)
		}
	}
}
