package dax

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are the inputs of testdata/ and some hand-picked troublemakers.
func fuzzSeeds(t testing.TB, query bool) []string {
	t.Helper()
	seeds := []string{
		"", "1", "-2^-2", "NOT a = b && c || d", `"" & NOT (FALSE) * FALSE`, "VAR x = 1 RETURN x",
		"{ (1, \"a\"), (2, \"b\") }", "('T'[a], 'T'[b]) IN { (1, 2) }", "F(, a, )", "dt\"2020-01-01T10:00:00\"",
		"'Bob''s'[a]]b]", "@p", "5--3", "/* x */ 1", "a\r\nb", "\uFEFF1", "- -1", "2^-(1)",
		"EVALUATE T ORDER BY [a] DESC START AT 1",
		"DEFINE FUNCTION f = (a : SCALAR NUMERIC = 1) => a EVALUATE { f() }",
		"DEFINE MEASURE T[m] = 1 VAR v = 2 TABLE t = {1} COLUMN T[c] = 3 EVALUATE t",
	}
	files, _ := filepath.Glob("testdata/*.txt")
	for _, f := range files {
		for _, c := range readCases(t, f) {
			isQuery := strings.Contains(c.directive, "query")
			if isQuery == query {
				seeds = append(seeds, c.input)
			}
		}
	}
	return seeds
}

// FuzzParseExpr checks that no input panics the parser, that errors carry
// positions inside the input, and that whatever parses prints to text that
// parses to the same tree.
func FuzzParseExpr(f *testing.F) {
	for _, s := range fuzzSeeds(f, false) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseExpr(src)
		if err != nil {
			checkErrors(t, src, err)
			return
		}
		roundTrip(t, e)
	})
}

// FuzzParseQuery is FuzzParseExpr for queries.
func FuzzParseQuery(f *testing.F) {
	for _, s := range fuzzSeeds(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := ParseQuery(src)
		if err != nil {
			checkErrors(t, src, err)
			return
		}
		roundTripQuery(t, q)
	})
}

func checkErrors(t *testing.T, src string, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error is not a non-empty ErrorList: %#v", err)
	}
	if len(list) > MaxErrors+1 {
		t.Fatalf("%d errors, more than MaxErrors", len(list))
	}
	lines := strings.Count(src, "\n") + strings.Count(src, "\r") + 1
	for _, e := range list {
		p := e.Pos
		if p.Offset < 0 || p.Offset > len(src) || p.Line < 1 || p.Line > lines || p.Col < 1 {
			t.Fatalf("error position %+v out of the input (%d bytes, %d lines): %s", p, len(src), lines, e.Msg)
		}
		if e.Msg == "" || !utf8.ValidString(e.Msg) {
			t.Fatalf("bad message %q", e.Msg)
		}
	}
}

// TestFuzzSeeds makes sure the fuzz seeds load: go test runs every seed
// (and any failing input saved under testdata/fuzz) as an ordinary test.
func TestFuzzSeeds(t *testing.T) {
	if n := len(fuzzSeeds(t, false)); n < 100 {
		t.Errorf("only %d expression seeds", n)
	}
	if n := len(fuzzSeeds(t, true)); n < 20 {
		t.Errorf("only %d query seeds", n)
	}
}
