package dax

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/ hold cases that read like the language:
//
//	# a comment
//	expr
//	1 + 2 * 3
//	----
//	(+ 1 (* 2 3))
//
// A case is a directive line, the input, a line "----" and the expected
// output, which ends at a blank line. When the expected output has blank
// lines of its own, it starts with a second "----" line and ends with
// "----" "----". Directives:
//
//	expr          parse an expression and dump the tree (see dump)
//	query         parse a query and dump it, one statement a line
//	format        parse an expression and print it with Format
//	format-query  parse a query and print it with Format
//
// A failed parse prints its errors, one a line, as "line:col: message".

type ddCase struct {
	file      string
	line      int
	directive string
	input     string
	want      string
}

func readCases(t testing.TB, path string) []ddCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var cases []ddCase
	for i := 0; i < len(lines); {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		c := ddCase{file: filepath.Base(path), line: i + 1, directive: strings.TrimSpace(l)}
		i++
		var in []string
		for i < len(lines) && lines[i] != "----" {
			in = append(in, lines[i])
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: case without ----", c.file, c.line)
		}
		i++ // ----
		var want []string
		if i < len(lines) && lines[i] == "----" {
			i++
			for i+1 < len(lines) && !(lines[i] == "----" && lines[i+1] == "----") {
				want = append(want, lines[i])
				i++
			}
			i += 2
		} else {
			for i < len(lines) && lines[i] != "" {
				want = append(want, lines[i])
				i++
			}
		}
		c.input = strings.Join(in, "\n")
		c.want = strings.Join(want, "\n")
		cases = append(cases, c)
	}
	return cases
}

func errorLines(err error) string {
	var list ErrorList
	if !errors.As(err, &list) {
		return "unexpected error type: " + err.Error()
	}
	var b strings.Builder
	for i, e := range list {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return b.String()
}

func runCase(c ddCase) string {
	switch c.directive {
	case "expr", "format":
		e, err := ParseExpr(c.input)
		if err != nil {
			return errorLines(err)
		}
		if c.directive == "format" {
			return Format(e)
		}
		return dump(e)
	case "query", "format-query":
		q, err := ParseQuery(c.input)
		if err != nil {
			return errorLines(err)
		}
		if c.directive == "format-query" {
			return strings.TrimRight(Format(q), "\n")
		}
		return strings.TrimRight(dump(q), "\n")
	}
	return "unknown directive " + c.directive
}

func TestDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, c := range readCases(t, f) {
				name := fmt.Sprintf("line%d", c.line)
				t.Run(name, func(t *testing.T) {
					got := runCase(c)
					if got != c.want {
						t.Errorf("%s:%d: %s\n%s\n---- got:\n%s\n---- want:\n%s", c.file, c.line, c.directive, c.input, got, c.want)
					}
				})
			}
		})
	}
}
