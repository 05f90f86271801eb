package main

import (
	"context"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/engine"
)

// TestWorkloadAgrees runs every query of the workload on a small sample
// in DuckDB and in Meridian (in process) and compares the answers, so that
// a change to a query, to the SQL or to the engine that makes them
// disagree is caught before a benchmark run.
func TestWorkloadAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the sample into DuckDB and Meridian")
	}
	ctx := context.Background()
	data, err := prepareData(ctx, t.TempDir(), 20_000, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := openDuck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dk.Close()
	if _, err := dk.loadParquet(ctx, "main", data); err != nil {
		t.Fatal(err)
	}
	if err := dk.checkLoad(ctx, "main", data); err != nil {
		t.Fatal(err)
	}
	if _, err := dk.loadCSV(ctx, "csvload", data); err != nil {
		t.Fatal(err)
	}
	if err := dk.checkLoad(ctx, "csvload", data); err != nil {
		t.Fatal(err)
	}
	fromCSV, _, err := processInProcess(ctx, data, "csv")
	if err != nil {
		t.Fatal(err)
	}
	fromParquet, _, err := processInProcess(ctx, data, "parquet")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, q := range workload {
		t.Run(q.ID, func(t *testing.T) {
			if ids[q.ID] {
				t.Fatalf("query id %s is used twice", q.ID)
			}
			ids[q.ID] = true
			if q.Kind != kindStar && q.Kind != kindScan {
				t.Fatalf("kind %q", q.Kind)
			}
			if _, err := columnBytes(fromCSV.Data, q.Cols); err != nil {
				t.Fatalf("scanned columns: %v", err)
			}
			want, err := dk.query(ctx, q.SQL)
			if err != nil {
				t.Fatalf("DuckDB: %v", err)
			}
			if len(want) == 0 {
				t.Fatal("no rows: the query checks nothing")
			}
			for name, m := range map[string]*engine.Model{"csv": fromCSV.Model, "parquet": fromParquet.Model} {
				res, err := m.Query(ctx, q.DAX, engine.QueryOptions{})
				if err != nil {
					t.Fatalf("Meridian from %s: %v", name, err)
				}
				if d := compareTables("duckdb", want, "meridian", meridianTable(res)); d != "" {
					t.Errorf("Meridian from %s differs from DuckDB:\n%s", name, d)
				}
			}
		})
	}
	// A wrong answer is caught: the same SQL with one row left out.
	q := workload[0]
	want, err := dk.query(ctx, strings.Replace(q.SQL, "GROUP BY 1", `WHERE p."Category" <> 'Audio' GROUP BY 1`, 1))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fromCSV.Model.Query(ctx, q.DAX, engine.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if compareTables("duckdb", want, "meridian", meridianTable(res)) == "" {
		t.Error("a query missing a row compared equal")
	}
}
