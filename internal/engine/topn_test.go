package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// topKeys followed by a stable sort keeps the same rows, in the same
// order, as a stable sort of every row: ties at the n-th row included and
// equal rows in their original order.
func TestTopKeysMatchesFullSort(t *testing.T) {
	type row struct{ v, pos int }
	byV := func(a, b row) int { return cmp.Compare(b.v, a.v) } // descending
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ rows, distinct, n int }{
		{rows: 100, distinct: 1000, n: 10},
		{rows: 100, distinct: 5, n: 10},
		{rows: 1000, distinct: 3, n: 1},
		{rows: 40, distinct: 40, n: 9},
		{rows: 10000, distinct: 50, n: 10},
	} {
		t.Run(fmt.Sprintf("%d rows of %d values, top %d", tc.rows, tc.distinct, tc.n), func(t *testing.T) {
			for trial := 0; trial < 20; trial++ {
				rows := make([]row, tc.rows)
				for i := range rows {
					rows[i] = row{v: rng.IntN(tc.distinct), pos: i}
				}
				want := slices.Clone(rows)
				slices.SortStableFunc(want, byV)
				end := tc.n
				for end < len(want) && byV(want[end-1], want[end]) == 0 {
					end++
				}
				want = want[:end]
				got := topKeys(slices.Clone(rows), tc.n, byV)
				slices.SortStableFunc(got, byV)
				if diff := gocmp.Diff(want, got, gocmp.AllowUnexported(row{})); diff != "" {
					t.Fatalf("trial %d (-full sort +topKeys):\n%s", trial, diff)
				}
			}
		})
	}
}
