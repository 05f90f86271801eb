package colstore

import (
	"math"
	"math/rand/v2"
	"testing"
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
