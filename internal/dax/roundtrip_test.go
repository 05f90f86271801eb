package dax

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePos compares trees without their positions.
var ignorePos = cmpopts.IgnoreTypes(Pos{})

// roundTrip checks that printing a parsed expression and parsing the text
// again gives an equal tree, and that printing is stable.
func roundTrip(t testing.TB, e Expr) {
	t.Helper()
	text := Format(e)
	e2, err := ParseExpr(text)
	if err != nil {
		t.Fatalf("the printed text does not parse: %v\n%s", err, text)
	}
	if diff := cmp.Diff(e, e2, ignorePos); diff != "" {
		t.Fatalf("the printed text parses to a different tree (-before +after):\n%s\nprinted:\n%s", diff, text)
	}
	if text2 := Format(e2); text2 != text {
		t.Fatalf("printing is not stable:\n%s\nthen:\n%s", text, text2)
	}
}

// roundTripQuery is roundTrip for queries.
func roundTripQuery(t testing.TB, q *Query) {
	t.Helper()
	text := Format(q)
	q2, err := ParseQuery(text)
	if err != nil {
		t.Fatalf("the printed query does not parse: %v\n%s", err, text)
	}
	if diff := cmp.Diff(q, q2, ignorePos); diff != "" {
		t.Fatalf("the printed query parses to a different tree (-before +after):\n%s\nprinted:\n%s", diff, text)
	}
	if text2 := Format(q2); text2 != text {
		t.Fatalf("printing is not stable:\n%s\nthen:\n%s", text, text2)
	}
}

// TestRoundTripTestdata round-trips every input of testdata/ that parses.
func TestRoundTripTestdata(t *testing.T) {
	files := []string{"testdata/expr.txt", "testdata/precedence.txt", "testdata/query.txt", "testdata/format.txt"}
	n := 0
	for _, f := range files {
		for _, c := range readCases(t, f) {
			switch c.directive {
			case "expr", "format":
				if e, err := ParseExpr(c.input); err == nil {
					n++
					roundTrip(t, e)
				}
			case "query", "format-query":
				if q, err := ParseQuery(c.input); err == nil {
					n++
					roundTripQuery(t, q)
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d inputs round-tripped; testdata went missing?", n)
	}
}
