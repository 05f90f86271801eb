package process

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/testenv"
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
