package mlang

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/value"
)

// rowSink records rows as text for comparisons: BLANK is "∅", and each
// value is written with a letter for the method that delivered it.
type rowSink struct {
	rows [][]string
	cur  []string
}

func (s *rowSink) Blank(int)               { s.cur = append(s.cur, "∅") }
func (s *rowSink) Int(_ int, v int64)      { s.cur = append(s.cur, "i:"+value.Int(v).String()) }
func (s *rowSink) Float(_ int, v float64)  { s.cur = append(s.cur, "f:"+value.Float(v).String()) }
func (s *rowSink) Currency(_ int, u int64) { s.cur = append(s.cur, "c:"+value.FormatCurrencyUnits(u)) }
func (s *rowSink) Bool(_ int, v bool)      { s.cur = append(s.cur, "b:"+value.Bool(v).String()) }
func (s *rowSink) Date(_ int, ole float64) { s.cur = append(s.cur, "d:"+value.FormatISO(ole)) }
func (s *rowSink) String(_ int, b []byte)  { s.cur = append(s.cur, "s:"+string(b)) }
func (s *rowSink) EndRow() error           { s.rows = append(s.rows, s.cur); s.cur = nil; return nil }

// filesEnv writes files into a temporary source root.
func filesEnv(t *testing.T, files map[string]string) *Env {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	roots, err := source.NewRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Roots: roots}
}

func scanAll(t *testing.T, src source.Source) [][]string {
	t.Helper()
	sink := &rowSink{}
	if err := src.Scan(context.Background(), sink); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return sink.rows
}

const salesCSV = "Order,Qty,Price,Day,Note\r\n1,3,12.34567,2020-01-31,\"a, b\"\r\n2,,1.5,1/31/2020,\r\n"

func TestEvaluateTable(t *testing.T) {
	env := filesEnv(t, map[string]string{
		"Sales.csv":       salesCSV,
		"semi.csv":        "a;b\n1;2\n",
		"latin.csv":       "Name\ncaf\xe9\n",
		"ragged.csv":      "A,B,C\n1\n1,2,3,4\n",
		"quotes.csv":      "\"x\ny\",z\n",
		"data/nested.csv": "A\n1\n",
	})
	type F = []source.Field
	tests := []struct {
		name   string
		expr   string
		fields F
		rows   [][]string
	}{
		{
			name: "the common pattern",
			expr: `let
    Source = Csv.Document(File.Contents("Sales.csv"), [Delimiter=",", Encoding=65001, QuoteStyle=QuoteStyle.Csv]),
    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars=true]),
    Typed = Table.TransformColumnTypes(Promoted, {{"Order", Int64.Type}, {"Qty", type number}, {"Price", Currency.Type}, {"Day", type date}, {"Note", type text}})
in
    Typed`,
			fields: F{{Name: "Order", Type: value.Integer}, {Name: "Qty", Type: value.Decimal}, {Name: "Price", Type: value.Currency}, {Name: "Day", Type: value.DateTime}, {Name: "Note", Type: value.String}},
			rows: [][]string{
				{"i:1", "f:3", "c:12.3457", "d:2020-01-31T00:00:00", "s:a, b"},
				{"i:2", "∅", "c:1.5", "d:2020-01-31T00:00:00", "s:"},
			},
		},
		{
			name:   "untyped columns are text",
			expr:   `Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv")))`,
			fields: F{{Name: "Order", Type: value.String}, {Name: "Qty", Type: value.String}, {Name: "Price", Type: value.String}, {Name: "Day", Type: value.String}, {Name: "Note", Type: value.String}},
			rows:   [][]string{{"s:1", "s:3", "s:12.34567", "s:2020-01-31", "s:a, b"}, {"s:2", "s:", "s:1.5", "s:1/31/2020", "s:"}},
		},
		{
			name:   "no header: Column1..",
			expr:   `Csv.Document(File.Contents("semi.csv"), [Delimiter=";"])`,
			fields: F{{Name: "Column1", Type: value.String}, {Name: "Column2", Type: value.String}},
			rows:   [][]string{{"s:a", "s:b"}, {"s:1", "s:2"}},
		},
		{
			name:   "positional form",
			expr:   `Table.PromoteHeaders(Csv.Document(File.Contents("semi.csv"), 2, ";", ExtraValues.Ignore, 65001))`,
			fields: F{{Name: "a", Type: value.String}, {Name: "b", Type: value.String}},
			rows:   [][]string{{"s:1", "s:2"}},
		},
		{
			name:   "column names given",
			expr:   `Table.Skip(Csv.Document(File.Contents("semi.csv"), {"X", "Y"}, ";"), 1)`,
			fields: F{{Name: "X", Type: value.String}, {Name: "Y", Type: value.String}},
			rows:   [][]string{{"s:1", "s:2"}},
		},
		{
			name:   "windows-1252",
			expr:   `Table.PromoteHeaders(Csv.Document(File.Contents("latin.csv"), [Encoding=1252]))`,
			fields: F{{Name: "Name", Type: value.String}},
			rows:   [][]string{{"s:café"}},
		},
		{
			name:   "fixed column count: extra dropped, missing blank",
			expr:   `Table.PromoteHeaders(Csv.Document(File.Contents("ragged.csv"), [Columns=4]))`,
			fields: F{{Name: "A", Type: value.String}, {Name: "B", Type: value.String}, {Name: "C", Type: value.String}, {Name: "Column4", Type: value.String}},
			rows:   [][]string{{"s:1", "∅", "∅", "∅"}, {"s:1", "s:2", "s:3", "s:4"}},
		},
		{
			name:   "quote style none",
			expr:   `Csv.Document(File.Contents("quotes.csv"), [QuoteStyle=QuoteStyle.None])`,
			fields: F{{Name: "Column1", Type: value.String}},
			rows:   [][]string{{`s:"x`}, {`s:y"`}},
		},
		{
			name: "rename select remove",
			expr: `let
    T = Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), {"Order", Int64.Type}),
    R = Table.RenameColumns(T, {{"Order", "Id"}, {"Nope", "X"}}, MissingField.Ignore),
    S = Table.SelectColumns(R, {"Note", "Id", "Extra"}, MissingField.UseNull),
    D = Table.RemoveColumns(S, "Note")
in D`,
			fields: F{{Name: "Id", Type: value.Integer}, {Name: "Extra", Type: value.String}},
			rows:   [][]string{{"i:1", "∅"}, {"i:2", "∅"}},
		},
		{
			name:   "text as the document",
			expr:   `Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document("A,B#(lf)1,true")), {{"A", Percentage.Type}, {"B", type logical}})`,
			fields: F{{Name: "A", Type: value.Decimal}, {Name: "B", Type: value.Boolean}},
			rows:   [][]string{{"f:1", "b:TRUE"}},
		},
		{
			name:   "table type as columns",
			expr:   `Table.Skip(Csv.Document(File.Contents("data/nested.csv"), type table [A = Int64.Type]))`,
			fields: F{{Name: "A", Type: value.Integer}},
			rows:   [][]string{{"i:1"}},
		},
		{
			name:   "in-memory table",
			expr:   `#table(type table [A = Int64.Type, B = text, C = Currency.Type], {{1, "x", 1.5}, {null, "y", 2}})`,
			fields: F{{Name: "A", Type: value.Integer}, {Name: "B", Type: value.String}, {Name: "C", Type: value.Currency}},
			rows:   [][]string{{"i:1", "s:x", "c:1.5"}, {"∅", "s:y", "c:2"}},
		},
		{
			name:   "in-memory table converted",
			expr:   `Table.TransformColumnTypes(Table.PromoteHeaders(#table(2, {{"A", "B"}, {"1", "2020-01-31"}})), {{"A", Int64.Type}, {"B", type date}})`,
			fields: F{{Name: "A", Type: value.Integer}, {Name: "B", Type: value.DateTime}},
			rows:   [][]string{{"i:1", "d:2020-01-31T00:00:00"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := EvaluateTable(context.Background(), tt.expr, env)
			if err != nil {
				t.Fatalf("EvaluateTable: %v", err)
			}
			if diff := cmp.Diff(tt.fields, src.Fields()); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rows, scanAll(t, src)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableErrors(t *testing.T) {
	env := filesEnv(t, map[string]string{
		"Sales.csv": salesCSV,
		"bad.csv":   "Qty\n1\n2\n12x\n",
	})
	tests := []struct {
		name     string
		expr     string
		err      string // from EvaluateTable
		scanErr  string // from Scan
		is       error
		evalOnly bool
	}{
		{
			name:    "bad value names file line and column",
			expr:    `Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document(File.Contents("bad.csv"))), {{"Qty", Int64.Type}})`,
			scanErr: `bad.csv line 4, column "Qty" (field 1): "12x" is not a whole number`,
		},
		{
			name: "missing column",
			expr: `Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), {{"Quantity", Int64.Type}})`,
			err:  `line 1, column 1: the column "Quantity" of the table wasn't found`,
		},
		{
			name: "outside the roots",
			expr: `Csv.Document(File.Contents("../secret.csv"))`,
			err:  `line 1, column 14: File.Contents: source file "../secret.csv" is outside the source roots`,
		},
		{
			name: "missing file",
			expr: "let\n  S = Csv.Document(File.Contents(\"nope.csv\"))\nin S",
			err:  `line 2, column 20: File.Contents: source file "nope.csv": file does not exist`,
		},
		{
			name: "unsupported culture",
			expr: `Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), {{"Qty", Int64.Type}}, "de-DE")`,
			err:  `culture "de-DE" is not supported by Meridian`,
			is:   ErrUnsupported,
		},
		{
			name: "unsupported encoding",
			expr: `Csv.Document(File.Contents("Sales.csv"), [Encoding=932])`,
			err:  "encoding 932 is not supported",
			is:   ErrUnsupported,
		},
		{
			name: "rename onto an existing column",
			expr: `Table.RenameColumns(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), {"Qty", "Order"})`,
			err:  `the column "Order" already exists`,
		},
		{
			name: "retyping a column",
			expr: `let T = Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), A = Table.TransformColumnTypes(T, {"Qty", Int64.Type}) in Table.TransformColumnTypes(A, {"Qty", type text})`,
			err:  `changing the type of column "Qty" a second time`,
			is:   ErrUnsupported,
		},
		{
			name: "not a table",
			expr: `"text"`,
			err:  `the expression gives "text", not a table`,
		},
		{
			name:    "extra values error",
			expr:    `Csv.Document(File.Contents("Sales.csv"), [Columns=2, ExtraValues=ExtraValues.Error])`,
			scanErr: "Sales.csv line 1: 5 fields where 2 are expected",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := EvaluateTable(context.Background(), tt.expr, env)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("EvaluateTable succeeded, want %q", tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("EvaluateTable error:\n  %v\nwant it to contain:\n  %s", err, tt.err)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v is not %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("EvaluateTable: %v", err)
			}
			err = src.Scan(context.Background(), &rowSink{})
			if err == nil || !strings.Contains(err.Error(), tt.scanErr) {
				t.Errorf("Scan error:\n  %v\nwant it to contain:\n  %s", err, tt.scanErr)
			}
		})
	}
}

// Functions that need rows read them from the file.
func TestTableRows(t *testing.T) {
	env := filesEnv(t, map[string]string{"Sales.csv": salesCSV, "dir/a.csv": "A\n1\n", "dir/b.txt": "x"})
	tests := []struct{ expr, want string }{
		{`Table.RowCount(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))))`, "2"},
		{`Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))){0}[Note]`, `"a, b"`},
		{`Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), {"Order", Int64.Type}){[Order = 2]}[Price]`, `"1.5"`},
		{`Table.TransformColumnTypes(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))), {"Day", type date})[Day]`, "{#date(2020, 1, 31), #date(2020, 1, 31)}"},
		{`Table.ColumnNames(Table.PromoteHeaders(Csv.Document(File.Contents("Sales.csv"))))`, `{"Order", "Qty", "Price", "Day", "Note"}`},
		{`let Files = Folder.Files("dir"), Csv = Files{[Name = "a.csv"]}[Content] in Table.RowCount(Table.PromoteHeaders(Csv.Document(Csv)))`, "1"},
		{`Table.RowCount(Folder.Files("dir"))`, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := Evaluate(context.Background(), tt.expr, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(v); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// Header promotion names empty headers ColumnN and makes repeated ones
// unique.
func TestPromoteHeadersNames(t *testing.T) {
	v, err := Evaluate(context.Background(), `Table.ColumnNames(Table.PromoteHeaders(Csv.Document("A,,A,B,A#(lf)1,2,3,4,5")))`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := show(v), `{"A", "Column2", "A_1", "B", "A_2"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
