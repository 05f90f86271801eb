package dax

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePos compares trees without their positions.
var ignorePos = cmpopts.IgnoreTypes(Pos{})

// reparse reads printed text back. Its limits are wider than the defaults:
// they guard against hostile input, and printed text is longer than the
// input (indentation) and may nest a level deeper where Format adds
// parentheses, as in "" & (NOT a).
var reparse = Options{MaxBytes: 64 << 20, MaxDepth: 4 * DefaultMaxDepth}

// sameTree reports whether two trees are equal but for positions, and a
// diff when they are not. Trees are compared with reflect.DeepEqual once
// their positions are cleared: go-cmp takes time exponential in the depth
// of nested slices, which deep trees have, so it only explains failures.
func sameTree(a, b Node) (bool, string) {
	clearPos(reflect.ValueOf(a))
	clearPos(reflect.ValueOf(b))
	if reflect.DeepEqual(a, b) {
		return true, ""
	}
	return false, cmp.Diff(dump(a), dump(b)) + "\n" + cmp.Diff(a, b)
}

var posType = reflect.TypeFor[Pos]()

// clearPos zeroes every Pos in a tree.
func clearPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearPos(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearPos(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == posType {
			v.Set(reflect.Zero(posType))
			return
		}
		for i := range v.NumField() {
			clearPos(v.Field(i))
		}
	}
}

// roundTrip checks that printing a parsed expression and parsing the text
// again gives an equal tree, and that printing is stable.
func roundTrip(t testing.TB, e Expr) {
	t.Helper()
	text := Format(e)
	e2, err := reparse.ParseExpr(text)
	if err != nil {
		t.Fatalf("the printed text does not parse: %v\n%s", err, text)
	}
	if same, diff := sameTree(e, e2); !same {
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
	q2, err := reparse.ParseQuery(text)
	if err != nil {
		t.Fatalf("the printed query does not parse: %v\n%s", err, text)
	}
	if same, diff := sameTree(q, q2); !same {
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

// TestFormatDeep round-trips deep trees, whose printed text must stay
// proportional to their size.
func TestFormatDeep(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	for _, tt := range []struct {
		name string
		src  string
	}{
		{"calls with VAR", nest("F(VAR x = 1 RETURN ", ")", 499)},
		{"calls", nest("F(1, ", ")", 999)},
		{"signs and sums", nest("-(1 + ", ")", 499)},
		{"NOT in concatenation", nest(`"" & NOT (`, ")", 499)},
		{"table constructors", nest("{ 1, ", "}", 999)},
		{"VAR values", nest("VAR x = ", " RETURN x", 999)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseExpr(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			out := Format(e)
			if len(out) > 4*len(tt.src)+10_000 {
				t.Errorf("printed %d bytes from %d", len(out), len(tt.src))
			}
			roundTrip(t, e)
		})
	}
}
