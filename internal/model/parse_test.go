package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/testenv"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		err        error
		line, col  int
		path, text string
	}{
		{
			name: "empty",
			in:   "  \n ",
			err:  ErrSyntax, line: 1, col: 1, text: "empty input",
		},
		{
			name: "missing comma",
			in:   "{\n  \"name\": \"x\"\n  \"model\": {}\n}",
			err:  ErrSyntax, line: 3, col: 3, text: "after object key:value pair",
		},
		{
			name: "unclosed",
			in:   "{\"name\": \"x\",\n \"model\": {\"tables\": [",
			err:  ErrSyntax, line: 2, text: "not closed",
		},
		{
			name: "trailing garbage",
			in:   `{"name":"x"} {}`,
			err:  ErrSyntax, line: 1, col: 14, text: "after top-level value",
		},
		{
			name: "column counts characters",
			in:   "{\"name\": \"Zürich€\" x}",
			err:  ErrSyntax, line: 1, col: 20,
		},
		{
			name: "not an object",
			in:   `[1,2]`,
			err:  ErrSchema, line: 1, col: 1, text: "expected a database object, got an array",
		},
		{
			name: "wrong type with path",
			in:   "{\"name\":\"d\",\"model\":{\"tables\":[\n{\"name\":\"Sales\",\"columns\":[{\"name\":\"a\"},{\"name\":\"Amount\",\"isHidden\":\"yes\"}]}]}}",
			err:  ErrSchema, line: 2, col: 69,
			path: "model.tables[0 'Sales'].columns[1 'Amount'].isHidden",
			text: `expected true or false, got a string ("yes")`,
		},
		{
			name: "name with a quote in the path",
			in:   `{"model":{"tables":[{"name":"O'Brien","measures":{}}]}}`,
			err:  ErrSchema, path: "model.tables[0 'O''Brien'].measures", text: "expected an array of objects, got an object",
		},
		{
			name: "element without a name",
			in:   `{"model":{"tables":[{"partitions":[{"source":{"type":3}}]}]}}`,
			err:  ErrSchema, path: "model.tables[0].partitions[0].source.type", text: "expected a string, got a number (3)",
		},
		{
			name: "expression line not a string",
			in:   `{"model":{"expressions":[{"name":"e","expression":["a",2]}]}}`,
			err:  ErrSchema, path: "model.expressions[0 'e'].expression[1]", text: "expected a string (a line of the text), got a number (2)",
		},
		{
			name: "expression of the wrong type",
			in:   `{"model":{"tables":[{"name":"T","measures":[{"name":"m","expression":{"a":1}}]}]}}`,
			err:  ErrSchema, path: "model.tables[0 'T'].measures[0 'm'].expression", text: "expected a string or an array of strings, got an object",
		},
		{
			name: "fractional integer",
			in:   `{"compatibilityLevel":1200.5}`,
			err:  ErrSchema, path: "compatibilityLevel", text: "expected an integer",
		},
		{
			name: "integer out of range",
			in:   `{"compatibilityLevel":1e20}`,
			err:  ErrSchema, path: "compatibilityLevel", text: "expected an integer",
		},
		{
			name: "list element not an object",
			in:   `{"model":{"roles":[null]}}`,
			err:  ErrSchema, path: "model.roles[0]", text: "expected an object, got null",
		},
		{
			name: "duplicate member",
			in:   `{"name":"a","model":{},"name":"b"}`,
			err:  ErrSchema, path: "name", text: `duplicate member "name"`, line: 1, col: 31,
		},
		{
			name: "wrapper without a database",
			in:   `{"createOrReplace":{"object":{"database":"x"},"table":{}}}`,
			err:  ErrSchema, path: "createOrReplace", text: `expected a member "database"`,
		},
		{
			name: "error inside a wrapper",
			in:   `{"createOrReplace":{"object":{"database":"x"},"database":{"name":7}}}`,
			err:  ErrSchema, path: "createOrReplace.database.name", text: "expected a string",
		},
		{
			name: "too deep",
			in:   `{"model":{"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}}`,
			err:  ErrTooDeep, line: 1, col: 15 + MaxDepth - 2, text: "nesting deeper than",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", db)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v does not match %v", err, tc.err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if tc.line != 0 && pe.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, tc.line, err)
			}
			if tc.col != 0 && pe.Column != tc.col {
				t.Errorf("column = %d, want %d (%v)", pe.Column, tc.col, err)
			}
			if pe.Path != tc.path {
				t.Errorf("path = %q, want %q", pe.Path, tc.path)
			}
			if !strings.Contains(pe.Msg, tc.text) {
				t.Errorf("message %q lacks %q", pe.Msg, tc.text)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	big := make([]byte, MaxSize+1)
	_, err := Parse(big)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	_, err = ParseCommand(big)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("ParseCommand err = %v, want ErrTooLarge", err)
	}
}

func TestParseForms(t *testing.T) {
	bare := `{"name":"Sales","compatibilityLevel":1500,"model":{"tables":[{"name":"T"}]}}`
	forms := map[string]string{
		"bare":              bare,
		"byte order mark":   "\xef\xbb\xbf" + bare,
		"createOrReplace":   `{"createOrReplace":{"object":{"database":"Sales"},"database":` + bare + `}}`,
		"create":            `{"create":{"database":` + bare + `}}`,
		"surrounding space": "\n\t " + bare + "\n\n",
	}
	for name, in := range forms {
		t.Run(name, func(t *testing.T) {
			db, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if db.Name != "Sales" || db.Model.Table("t") == nil {
				t.Errorf("decoded %+v", db)
			}
			out, err := json.Marshal(db)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != bare {
				t.Errorf("script-out = %s, want the bare database", out)
			}
		})
	}
}

// TestParseCopiesInput checks that a parsed database does not depend on
// the caller's buffer.
func TestParseCopiesInput(t *testing.T) {
	buf := []byte(`{"name":"Sales","model":{"x":[1,2,3]}}`)
	db, err := Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, bytes.Repeat([]byte{' '}, len(buf)))
	out, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"name":"Sales","model":{"x":[1,2,3]}}` {
		t.Errorf("script-out = %s", out)
	}
}

func BenchmarkParseAdventureWorks(b *testing.B) {
	in, err := os.ReadFile(filepath.Join(testenv.Datasets(b), "bim-samples", "te-AdventureWorks.bim"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalAdventureWorks(b *testing.B) {
	in, err := os.ReadFile(filepath.Join(testenv.Datasets(b), "bim-samples", "te-AdventureWorks.bim"))
	if err != nil {
		b.Fatal(err)
	}
	db, err := Parse(in)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(db); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateAdventureWorks(b *testing.B) {
	in, err := os.ReadFile(filepath.Join(testenv.Datasets(b), "bim-samples", "te-AdventureWorks.bim"))
	if err != nil {
		b.Fatal(err)
	}
	db, err := Parse(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ps := db.Validate(); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}
