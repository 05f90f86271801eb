package mlang

import (
	"context"
	stdcsv "encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/testenv"
	"github.com/meridian-olap/meridian/internal/value"
)

// bim is the part of a .bim file these tests read. The model package has
// its own reader; this one stays independent of it on purpose.
type bim struct {
	Model struct {
		Expressions []struct {
			Name       string          `json:"name"`
			Kind       string          `json:"kind"`
			Expression json.RawMessage `json:"expression"`
		} `json:"expressions"`
		Tables []struct {
			Name    string `json:"name"`
			Columns []struct {
				Name         string `json:"name"`
				Type         string `json:"type"`
				DataType     string `json:"dataType"`
				SourceColumn string `json:"sourceColumn"`
			} `json:"columns"`
			Partitions []struct {
				Name   string `json:"name"`
				Source struct {
					Type       string          `json:"type"`
					Expression json.RawMessage `json:"expression"`
				} `json:"source"`
			} `json:"partitions"`
		} `json:"tables"`
	} `json:"model"`
}

// text reads a TMSL expression: a string or an array of lines.
func text(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		t.Fatalf("expression is neither text nor lines: %s", raw)
	}
	return strings.Join(lines, "\n")
}

// checkSink checks that a source calls the sink once per column, in
// order, with a method that fits the column's type, and counts rows.
type checkSink struct {
	fields []source.Field
	col    int
	rows   int
	err    error
}

func (s *checkSink) got(col int, t value.Type) {
	if s.err != nil {
		return
	}
	switch {
	case col != s.col:
		s.err = fmt.Errorf("row %d: value for column %d, want column %d", s.rows+1, col, s.col)
	case col >= len(s.fields):
		s.err = fmt.Errorf("row %d: value for column %d of %d", s.rows+1, col, len(s.fields))
	case t != value.Blank && t != s.fields[col].Type:
		s.err = fmt.Errorf("row %d: column %q of type %s got a %s", s.rows+1, s.fields[col].Name, s.fields[col].Type, t)
	}
	s.col++
}

func (s *checkSink) Blank(col int)             { s.got(col, value.Blank) }
func (s *checkSink) Int(col int, _ int64)      { s.got(col, value.Integer) }
func (s *checkSink) Float(col int, _ float64)  { s.got(col, value.Decimal) }
func (s *checkSink) Currency(col int, _ int64) { s.got(col, value.Currency) }
func (s *checkSink) Bool(col int, _ bool)      { s.got(col, value.Boolean) }
func (s *checkSink) Date(col int, _ float64)   { s.got(col, value.DateTime) }
func (s *checkSink) String(col int, _ []byte)  { s.got(col, value.String) }
func (s *checkSink) EndRow() error {
	if s.err == nil && s.col != len(s.fields) {
		s.err = fmt.Errorf("row %d has %d values for %d columns", s.rows+1, s.col, len(s.fields))
	}
	s.col = 0
	s.rows++
	return s.err
}

var csvPath = regexp.MustCompile(`"([^"]+\.csv)"`)

// countRecords counts the data rows of a CSV file with encoding/csv, as a
// check independent of this package's reader.
func countRecords(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := stdcsv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	n := 0
	for {
		if _, err := r.Read(); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		n++
	}
	return n - 1 // the header
}

// TestDatasetPartitions evaluates the M partition of every table of every
// model in the shared datasets, with the model's expressions as
// parameters and the datasets folder as the source root, and checks the
// columns and types against the model and the row count against the file.
func TestDatasetPartitions(t *testing.T) {
	dir := testenv.Datasets(t)
	models, err := filepath.Glob(filepath.Join(dir, "*", "model.bim"))
	if err != nil {
		t.Fatal(err)
	}
	if len(models) == 0 {
		t.Fatalf("no model.bim under %s", dir)
	}
	roots, err := source.NewRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	partitions := 0
	for _, path := range models {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m bim
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		env := &Env{Parameters: map[string]string{}, Roots: roots}
		for _, e := range m.Model.Expressions {
			env.Parameters[e.Name] = text(t, e.Expression)
		}
		model := filepath.Base(filepath.Dir(path))
		for _, tbl := range m.Model.Tables {
			for _, p := range tbl.Partitions {
				if p.Source.Type != "m" {
					continue
				}
				partitions++
				expr := text(t, p.Source.Expression)
				t.Run(model+"/"+tbl.Name, func(t *testing.T) {
					src, err := EvaluateTable(context.Background(), expr, env)
					if err != nil {
						t.Fatalf("EvaluateTable: %v", err)
					}
					got := map[string]value.Type{}
					for _, f := range src.Fields() {
						got[f.Name] = f.Type
					}
					want := map[string]value.Type{}
					for _, c := range tbl.Columns {
						if c.Type != "" && c.Type != "data" {
							continue // calculated columns do not come from the source
						}
						typ, ok := value.ParseTMSL(c.DataType)
						if !ok {
							t.Fatalf("column %q: unknown dataType %q", c.Name, c.DataType)
						}
						want[c.SourceColumn] = typ
					}
					for name, typ := range want {
						g, ok := got[name]
						switch {
						case !ok:
							t.Errorf("source column %q of the model is missing from the partition's columns", name)
						case g != typ:
							t.Errorf("source column %q: type %s, model says %s", name, g, typ)
						}
					}
					for name := range got {
						if _, ok := want[name]; !ok {
							t.Errorf("the partition has column %q, which the model does not use", name)
						}
					}
					sink := &checkSink{fields: src.Fields()}
					if err := src.Scan(context.Background(), sink); err != nil {
						t.Fatalf("Scan: %v", err)
					}
					match := csvPath.FindStringSubmatch(expr)
					if match == nil {
						t.Fatalf("no .csv path in the expression")
					}
					if want := countRecords(t, filepath.Join(dir, match[1])); sink.rows != want {
						t.Errorf("scanned %d rows, the file has %d", sink.rows, want)
					}
					t.Logf("%d columns, %d rows", len(got), sink.rows)
				})
			}
		}
	}
	if partitions == 0 {
		t.Error("no m partitions found")
	}
}

// TestSampleModelsParse parses every M expression of the sample models
// (which read SQL sources Meridian lacks): they must parse, and evaluating
// them must fail only by naming what is missing.
func TestSampleModelsParse(t *testing.T) {
	dir := testenv.Datasets(t)
	models, err := filepath.Glob(filepath.Join(dir, "bim-samples", "*.bim"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range models {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m bim
		if err := json.Unmarshal(raw, &m); err != nil {
			continue // not every sample is a database object; the model package checks them
		}
		env := &Env{Parameters: map[string]string{}}
		for _, e := range m.Model.Expressions {
			if len(e.Expression) > 0 {
				env.Parameters[e.Name] = text(t, e.Expression)
			}
		}
		for name, ex := range env.Parameters {
			if _, err := Parse(ex); err != nil {
				t.Errorf("%s: expression %q: %v", filepath.Base(path), name, err)
			}
		}
		for _, tbl := range m.Model.Tables {
			for _, p := range tbl.Partitions {
				if p.Source.Type != "m" || len(p.Source.Expression) == 0 {
					continue
				}
				expr := text(t, p.Source.Expression)
				if _, err := Parse(expr); err != nil {
					t.Errorf("%s: table %q: %v", filepath.Base(path), tbl.Name, err)
					continue
				}
				_, err := EvaluateTable(context.Background(), expr, env)
				if err == nil {
					t.Errorf("%s: table %q evaluated without a data source", filepath.Base(path), tbl.Name)
					continue
				}
				if !strings.Contains(err.Error(), "wasn't recognized") && !strings.Contains(err.Error(), "not supported") {
					t.Errorf("%s: table %q: unexpected error %v", filepath.Base(path), tbl.Name, err)
				}
			}
		}
	}
}

// TestDatasetLiveConnector switches the legal-bi model's pDataSource
// parameter to Databricks: the branch that was dead is now live, and the
// error names the connector and where the expression calls it.
func TestDatasetLiveConnector(t *testing.T) {
	dir := testenv.Datasets(t)
	raw, err := os.ReadFile(filepath.Join(dir, "legal-bi", "model.bim"))
	if err != nil {
		t.Fatal(err)
	}
	var m bim
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	roots, err := source.NewRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Parameters: map[string]string{}, Roots: roots}
	for _, e := range m.Model.Expressions {
		env.Parameters[e.Name] = text(t, e.Expression)
	}
	env.Parameters["pDataSource"] = `"Databricks" meta [IsParameterQuery=true, Type="Text", IsParameterQueryRequired=true]`
	checked := 0
	for _, tbl := range m.Model.Tables {
		for _, p := range tbl.Partitions {
			if p.Source.Type != "m" {
				continue
			}
			expr := text(t, p.Source.Expression)
			// Where the connector is called, found independently of the
			// lexer: line and column (in characters) from 1.
			line, col := 0, 0
			for i, l := range strings.Split(expr, "\n") {
				if k := strings.Index(l, "Databricks.Catalogs("); k >= 0 {
					line, col = i+1, utf8.RuneCountInString(l[:k])+1
					break
				}
			}
			if line == 0 {
				continue
			}
			checked++
			_, err := EvaluateTable(context.Background(), expr, env)
			want := fmt.Sprintf("line %d, column %d: Databricks.Catalogs is not supported by Meridian", line, col)
			if err == nil || err.Error() != want {
				t.Errorf("table %s: error %v, want %q", tbl.Name, err, want)
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("table %s: error %v is not ErrUnsupported", tbl.Name, err)
			}
		}
	}
	if checked == 0 {
		t.Error("no partition calls Databricks.Catalogs")
	}
}
