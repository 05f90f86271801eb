package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/value"
)

// dataVersion changes when the files written for a scale change shape, so
// that a cached directory from an older harness is written again.
const dataVersion = 1

// stamp records what a data directory holds; it is written last, so a
// directory without it is incomplete.
type stamp struct {
	Version int   `json:"version"`
	Rows    int64 `json:"rows"`
}

// dataSet is the sample at one scale, as CSV and as Parquet files.
type dataSet struct {
	Dir       string // CSV and Parquet files, <Table>.csv and <Table>.parquet
	Rows      int64  // sales rows
	Tables    []*retail.Table
	Generated bool          // written by this run rather than found
	GenTime   time.Duration // time to write them, when Generated
}

func (d *dataSet) csv(table string) string     { return filepath.Join(d.Dir, table+".csv") }
func (d *dataSet) parquet(table string) string { return filepath.Join(d.Dir, table+".parquet") }

// bytes sums the sizes of the files with the given extension.
func (d *dataSet) bytes(ext string) (int64, error) {
	var n int64
	for _, t := range d.Tables {
		st, err := os.Stat(filepath.Join(d.Dir, t.Name+ext))
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

// prepareData returns the sample at rows sales rows under work, writing
// it unless a complete copy is there.
func prepareData(ctx context.Context, work string, rows int64, logf func(string, ...any)) (*dataSet, error) {
	dir := filepath.Join(work, fmt.Sprintf("retail-%d", rows))
	d := &dataSet{Dir: dir, Rows: rows, Tables: retail.Tables(retail.Options{Rows: rows})}
	want := stamp{Version: dataVersion, Rows: rows}
	if b, err := os.ReadFile(filepath.Join(dir, "stamp.json")); err == nil {
		var got stamp
		if json.Unmarshal(b, &got) == nil && got == want {
			logf("data: using %s", dir)
			return d, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	logf("data: writing %d sales rows as CSV and Parquet into %s", rows, dir)
	var g errgroup.Group
	g.Go(func() error { return retail.WriteCSV(ctx, dir, retail.Options{Rows: rows}, nil) })
	g.Go(func() error {
		for _, t := range d.Tables {
			if err := writeParquet(ctx, d.parquet(t.Name), t); err != nil {
				return fmt.Errorf("write %s.parquet: %w", t.Name, err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(want)
	if err := os.WriteFile(filepath.Join(dir, "stamp.json"), b, 0o644); err != nil {
		return nil, err
	}
	d.Generated, d.GenTime = true, time.Since(start)
	logf("data: written in %s", d.GenTime.Round(time.Millisecond))
	return d, nil
}

// parquetRowGroup is the rows per row group: DuckDB's and Meridian's
// segments are about this size too.
const parquetRowGroup = 1 << 20

// writeParquet writes one generated table as a zstd-compressed Parquet
// file: dates as DATE, currency as DECIMAL(18,4), whole numbers as INT64,
// text as STRING, every column dictionary-encoded where that helps.
func writeParquet(ctx context.Context, path string, t *retail.Table) error {
	g := pq.Group{}
	for _, c := range t.Columns {
		var n pq.Node
		switch c.Type {
		case value.DateTime:
			n = pq.Date()
		case value.Currency:
			n = pq.Decimal(4, 18, pq.Int64Type)
		case value.Integer:
			n = pq.Leaf(pq.Int64Type)
		case value.String:
			n = pq.String()
		default:
			return fmt.Errorf("column %s: type %v has no Parquet mapping here", c.Name, c.Type)
		}
		g[c.Name] = pq.Encoded(n, &pq.RLEDictionary)
	}
	schema := pq.NewSchema(t.Name, g)
	// The schema orders columns by name; rows are built in that order.
	order := make([]int, 0, len(t.Columns))
	for _, f := range schema.Fields() {
		for i, c := range t.Columns {
			if c.Name == f.Name() {
				order = append(order, i)
			}
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := pq.NewWriter(f, schema, pq.Compression(&pq.Zstd), pq.MaxRowsPerRowGroup(parquetRowGroup),
		pq.PageBufferSize(1<<20))
	vals := make([]value.Value, len(t.Columns))
	const batch = 4096
	rows := make([]pq.Row, 0, batch)
	cells := make([]pq.Value, 0, batch*len(t.Columns))
	flush := func() error {
		if _, err := w.WriteRows(rows); err != nil {
			return err
		}
		rows, cells = rows[:0], cells[:0]
		return ctx.Err()
	}
	for i := int64(0); i < t.Rows; i++ {
		t.Row(i, vals)
		start := len(cells)
		for col, src := range order {
			cells = append(cells, parquetValue(vals[src]).Level(0, 0, col))
		}
		rows = append(rows, cells[start:len(cells):len(cells)])
		if len(rows) == batch {
			if err := flush(); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := flush(); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func parquetValue(v value.Value) pq.Value {
	switch v.Type() {
	case value.DateTime:
		return pq.Int32Value(int32(v.AsFloat() - unixOLE))
	case value.Currency, value.Integer:
		return pq.Int64Value(v.AsInt())
	case value.String:
		return pq.ByteArrayValue([]byte(v.AsString()))
	}
	return pq.NullValue()
}

// unixOLE is 1970-01-01 as an OLE date, where Parquet counts days from.
const unixOLE = 25569
