package process

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/engine/enginetest"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/testenv"
	"github.com/meridian-olap/meridian/internal/value"
)

// csvRows counts the data rows of a CSV file independently of the reader
// under test.
func csvRows(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return len(recs) - 1
}

func TestRefreshDatasets(t *testing.T) {
	dir := testenv.Datasets(t)
	for _, name := range []string{"contoso-sales", "contoso-sales-dirty", "legal-bi"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name, "model.bim"))
			if err != nil {
				t.Fatal(err)
			}
			def, err := model.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			roots, err := source.NewRoots(dir)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Refresh(context.Background(), def, nil, Request{Type: Full}, Options{Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			// Every data table holds its CSV's rows.
			for _, tab := range def.Model.Tables {
				if !isDataTable(tab) {
					continue
				}
				for _, p := range tab.Partitions {
					expr := p.Source.Expression.Text()
					i := strings.Index(expr, ".csv")
					j := strings.LastIndex(expr[:i], "\"")
					file := expr[j+1 : i+4]
					want := csvRows(t, filepath.Join(dir, file))
					if got := res.Data.Table(tab.Name).Rows; got != want {
						t.Errorf("table %s: %d rows, the CSV has %d", tab.Name, got, want)
					}
				}
			}
			// Every measure evaluates, or names what is not supported.
			m := res.Model
			for _, ms := range m.Measures {
				q := "EVALUATE ROW(\"v\", " + dax.QuoteTable(ms.Table.Name) + dax.QuoteColumn(ms.Name) + ")"
				if _, err := m.Query(context.Background(), q, engine.QueryOptions{}); err != nil && !errors.Is(err, engine.ErrUnsupported) {
					t.Errorf("measure [%s]: %v", ms.Name, err)
				}
			}
		})
	}
}

// TestDatasetsAgainstReference runs random queries of the reference
// subset over every dataset model through the engine (both ways) and the
// reference evaluator, and every model measure grouped by dimension
// columns set at a time and group by group.
func TestDatasetsAgainstReference(t *testing.T) {
	dir := testenv.Datasets(t)
	for _, name := range []string{"contoso-sales", "contoso-sales-dirty", "legal-bi"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name, "model.bim"))
			if err != nil {
				t.Fatal(err)
			}
			def, err := model.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			roots, _ := source.NewRoots(dir)
			res, err := Refresh(context.Background(), def, nil, Request{Type: Full}, Options{Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			m := res.Model
			ref := enginetest.NewReference(m)
			rng := rand.New(rand.NewPCG(3, uint64(len(name))))
			n := 25
			if testing.Short() {
				n = 10
			}
			for i := 0; i < n; i++ {
				q, ok := enginetest.RandomQuery(rng, m)
				if !ok {
					t.Fatal("no fact table to query")
				}
				if err := compareReference(m, ref, q); err != nil {
					t.Fatal(err)
				}
			}
			// Every measure by a dimension attribute: both evaluators agree.
			for _, ms := range m.Measures {
				for _, col := range groupColumns(m) {
					q := fmt.Sprintf("EVALUATE SUMMARIZECOLUMNS(%s, \"v\", %s%s)", col, dax.QuoteTable(ms.Table.Name), dax.QuoteColumn(ms.Name))
					a, errA := m.Query(context.Background(), q, engine.QueryOptions{})
					b, errB := m.Query(context.Background(), q, engine.QueryOptions{ScalarOnly: true})
					if errors.Is(errA, engine.ErrUnsupported) && errors.Is(errB, engine.ErrUnsupported) {
						continue
					}
					if (errA == nil) != (errB == nil) {
						t.Fatalf("%s: set at a time: %v; group by group: %v", q, errA, errB)
					}
					if errA != nil {
						continue
					}
					if d := sameRows(a, b); d != "" && !strings.Contains(ms.Source, "RAND") {
						t.Fatalf("%s: %s", q, d)
					}
				}
			}
		})
	}
}

// groupColumns picks up to three low-cardinality text columns of tables
// other than the largest one.
func groupColumns(m *engine.Model) []string {
	var out []string
	for _, t := range m.Tables {
		for _, c := range t.Columns {
			if c.Type == value.String && c.Data.Dict.N > 1 && c.Data.Dict.N <= 30 && len(out) < 3 && t.CalcGroup == nil {
				out = append(out, c.String())
				break
			}
		}
	}
	return out
}

func compareReference(m *engine.Model, ref *enginetest.Reference, q enginetest.Query) error {
	want := ref.Answer(q)
	for _, scalarOnly := range []bool{false, true} {
		res, err := m.Query(context.Background(), q.DAX(), engine.QueryOptions{ScalarOnly: scalarOnly})
		if err != nil {
			return fmt.Errorf("%s: %w", q.DAX(), err)
		}
		got := map[string]value.Value{}
		k := len(q.Group)
		for _, r := range res.Tables[0].Rows {
			got[enginetest.Key(r[:k])] = r[k]
		}
		if len(got) != len(want) {
			return fmt.Errorf("(ScalarOnly=%v) %s: %d groups, the reference has %d", scalarOnly, q.DAX(), len(got), len(want))
		}
		for key, w := range want {
			g, ok := got[key]
			x, _ := w.Number()
			y, _ := g.Number()
			if !ok || math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
				return fmt.Errorf("(ScalarOnly=%v) %s: group %s = %v, the reference says %v", scalarOnly, q.DAX(), key, g, w)
			}
		}
	}
	return nil
}

// sameRows compares two results, rows in any order, numbers within a
// relative 1e-9: the two evaluations may add the same numbers in another
// order.
func sameRows(a, b *engine.Result) string {
	ra, rb := a.Tables[0].Rows, b.Tables[0].Rows
	if len(ra) != len(rb) {
		return fmt.Sprintf("%d rows set at a time, %d group by group", len(ra), len(rb))
	}
	isNumber := func(v value.Value) bool { return v.Type() != value.String && !v.IsBlank() }
	// Rows are bucketed by their other values, then matched by numbers.
	bucket := func(r []value.Value) string {
		var parts []string
		for _, v := range r {
			if isNumber(v) {
				parts = append(parts, "#")
			} else {
				parts = append(parts, v.String())
			}
		}
		return strings.Join(parts, "|")
	}
	near := func(x, y []value.Value) bool {
		for i := range x {
			if !isNumber(x[i]) {
				continue
			}
			f, _ := x[i].Number()
			g, _ := y[i].Number()
			if math.Abs(f-g) > 1e-9*math.Max(1, math.Abs(f)) {
				return false
			}
		}
		return true
	}
	unmatched := map[string][][]value.Value{}
	for _, r := range ra {
		k := bucket(r)
		unmatched[k] = append(unmatched[k], r)
	}
	for _, r := range rb {
		k := bucket(r)
		rows := unmatched[k]
		i := slices.IndexFunc(rows, func(x []value.Value) bool { return near(x, r) })
		if i < 0 {
			return "group by group has a row set at a time lacks: " + fmt.Sprint(r)
		}
		unmatched[k] = slices.Delete(rows, i, i+1)
	}
	return ""
}

// TestRefreshOnePartition refreshes one partition of a table of several:
// the others keep their rows and their encoded segments.
func TestRefreshOnePartition(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.csv", "K,V\n1,x\n2,y\n")
	write("b.csv", "K,V\n3,z\n")
	part := func(name, file string) string {
		return fmt.Sprintf(`{"name":%q,"source":{"type":"m","expression":"let S = Csv.Document(File.Contents(\"%s\"),[Delimiter=\",\"]), P = Table.PromoteHeaders(S), T = Table.TransformColumnTypes(P, {{\"K\", Int64.Type}}) in T"}}`, name, file)
	}
	bim := `{"name":"p","compatibilityLevel":1600,"model":{"tables":[{"name":"T","columns":[
		{"name":"K","dataType":"int64","sourceColumn":"K"},{"name":"V","dataType":"string","sourceColumn":"V"}],
		"partitions":[` + part("A", "a.csv") + `,` + part("B", "b.csv") + `]}]}}`
	def, err := model.Parse([]byte(bim))
	if err != nil {
		t.Fatal(err)
	}
	roots, _ := source.NewRoots(dir)
	first, err := Refresh(context.Background(), def, nil, Request{Type: Full}, Options{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	write("a.csv", "K,V\n9,q\n") // would change A if it were read again
	write("b.csv", "K,V\n3,z\n4,w\n")
	second, err := Refresh(context.Background(), def, first.Data, Request{Type: Full, Objects: []Object{{Table: "T", Partition: "B"}}}, Options{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	tab := second.Data.Table("T")
	var got []string
	for r := 0; r < tab.Rows; r++ {
		got = append(got, fmt.Sprint(tab.Columns[0].Value(r).AsInt(), tab.Columns[1].Value(r).AsString()))
	}
	if want := "[1x 2y 3z 4w]"; fmt.Sprint(got) != want {
		t.Fatalf("rows %v, want %v", got, want)
	}
	// Partition A's segments are the very same.
	if a, b := first.Data.Table("T").Columns[1].Segs[0], tab.Columns[1].Segs[0]; a.Start != b.Start || fmt.Sprint(a.Words) != fmt.Sprint(b.Words) {
		t.Error("partition A's segment changed")
	}
	if first.Data.Table("T").Columns[1].Dict.N != 3 || tab.Columns[1].Dict.N != 4 {
		t.Errorf("dictionary sizes %d then %d, want 3 then 4 (appended)", first.Data.Table("T").Columns[1].Dict.N, tab.Columns[1].Dict.N)
	}
}
