package parquet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/source/sourcetest"
	"github.com/meridian-olap/meridian/internal/value"
)

// TestScanParallelEqualsScan reads files of several row groups in pieces
// and checks that the pieces, in order, hold the rows of one Scan.
func TestScanParallelEqualsScan(t *testing.T) {
	const rows = 1000
	var ids, names []any
	for i := 0; i < rows; i++ {
		ids = append(ids, int64(i*7))
		if i%5 == 0 {
			names = append(names, nil)
		} else {
			names = append(names, "n"+string(rune('a'+i%26)))
		}
	}
	cols := []col{
		{"Id", pq.Leaf(pq.Int64Type), ids},
		{"Name", pq.Optional(pq.String()), names},
	}
	for _, tc := range []struct {
		name       string
		groupRows  int64
		n          int
		wantPieces int
	}{
		{name: "two pieces of many groups", groupRows: 100, n: 2, wantPieces: 2},
		{name: "more pieces than groups", groupRows: 400, n: 8, wantPieces: 3},
		{name: "uneven groups", groupRows: 300, n: 3, wantPieces: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.parquet")
			if err := os.WriteFile(path, writeFile(t, cols, tc.groupRows), 0o644); err != nil {
				t.Fatal(err)
			}
			fields, _, err := ReadSchema(context.Background(), "t.parquet", osOpen(path))
			if err != nil {
				t.Fatal(err)
			}
			src, err := NewSource(Config{Name: "t.parquet", Open: osOpen(path), Schema: fields, Columns: all(fields)})
			if err != nil {
				t.Fatal(err)
			}
			whole := &sourcetest.Recorder{T: t}
			if err := src.Scan(context.Background(), whole); err != nil {
				t.Fatal(err)
			}
			recs := make([]*sourcetest.Recorder, tc.n)
			used, err := src.ScanParallel(context.Background(), tc.n, func(i int) source.Sink {
				recs[i] = &sourcetest.Recorder{T: t}
				return recs[i]
			})
			if err != nil {
				t.Fatal(err)
			}
			if used != tc.wantPieces {
				t.Errorf("pieces = %d, want %d", used, tc.wantPieces)
			}
			var got [][]value.Value
			for _, r := range recs[:used] {
				if len(r.Rows) == 0 {
					t.Errorf("a piece holds no rows")
				}
				got = append(got, r.Rows...)
			}
			if diff := cmp.Diff(whole.Rows, got, cmp.Comparer(func(a, b value.Value) bool { return a.GoString() == b.GoString() })); diff != "" {
				t.Errorf("pieces differ from one scan (-scan +pieces):\n%s", diff)
			}
		})
	}
}

// TestScanParallelDeclines checks the cases read whole: one row group, a
// file held in memory, a skip, and a piece failing.
func TestScanParallelDeclines(t *testing.T) {
	cols := []col{{"Id", pq.Leaf(pq.Int64Type), []any{int64(1), int64(2), int64(3), int64(4)}}}
	many := writeFile(t, cols, 2)
	one := writeFile(t, cols, 10)
	dir := t.TempDir()
	for name, b := range map[string][]byte{"many": many, "one": one} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fields, _, err := ReadSchema(context.Background(), "many", osOpen(filepath.Join(dir, "many")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		sink func(int) source.Sink
	}{
		{name: "one row group", cfg: Config{Name: "one", Open: osOpen(filepath.Join(dir, "one"))}},
		{name: "in memory", cfg: Config{Name: "mem", Open: bytesOpen(many)}},
		{name: "skip", cfg: Config{Name: "many", Open: osOpen(filepath.Join(dir, "many")), Skip: 1}},
		{name: "sink error", cfg: Config{Name: "many", Open: osOpen(filepath.Join(dir, "many"))},
			sink: func(int) source.Sink { return &sourcetest.Recorder{T: t, Fail: errors.New("no")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Schema, tc.cfg.Columns = fields, all(fields)
			src, err := NewSource(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			sink := tc.sink
			if sink == nil {
				sink = func(int) source.Sink { return &sourcetest.Recorder{T: t} }
			}
			if _, err := src.ScanParallel(context.Background(), 2, sink); !errors.Is(err, source.ErrNotParallel) {
				t.Errorf("ScanParallel = %v, want ErrNotParallel", err)
			}
		})
	}
}

// TestRunsEqualValues reads columns of every fast-path type, plain and
// dictionary-encoded, with and without nulls, once value by value and
// once in runs, and checks both give the same rows.
func TestRunsEqualValues(t *testing.T) {
	const rows = 3000
	var i64, i32, dates, cur, dbl, opt, txt []any
	for i := 0; i < rows; i++ {
		i64 = append(i64, int64(i%37-5))
		i32 = append(i32, i*3)
		dates = append(dates, 18000+i%400)
		cur = append(cur, int64(i*125))
		dbl = append(dbl, float64(i)/8)
		if i%11 == 0 {
			opt = append(opt, nil)
		} else {
			opt = append(opt, int64(i))
		}
		txt = append(txt, "t"+string(rune('a'+i%7)))
	}
	cols := []col{
		{"I64", pq.Leaf(pq.Int64Type), i64},
		{"I64 dict", pq.Encoded(pq.Leaf(pq.Int64Type), &pq.RLEDictionary), i64},
		{"I32", pq.Leaf(pq.Int32Type), i32},
		{"Date", pq.Encoded(pq.Date(), &pq.RLEDictionary), dates},
		{"Cur", pq.Decimal(2, 18, pq.Int64Type), cur},
		{"Dbl", pq.Leaf(pq.DoubleType), dbl},
		{"Opt", pq.Optional(pq.Leaf(pq.Int64Type)), opt},
		{"Txt", pq.String(), txt},
	}
	data := writeFileSized(t, cols, 1000, 512)
	fields, _, err := ReadSchema(context.Background(), "t.parquet", bytesOpen(data))
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(Config{Name: "t.parquet", Open: bytesOpen(data), Schema: fields, Columns: all(fields)})
	if err != nil {
		t.Fatal(err)
	}
	values := &sourcetest.Recorder{T: t}
	if err := src.Scan(context.Background(), values); err != nil {
		t.Fatal(err)
	}
	runs := &sourcetest.RunRecorder{T: t}
	if err := src.Scan(context.Background(), runs); err != nil {
		t.Fatal(err)
	}
	if runs.Runs == 0 {
		t.Error("no column was passed in runs")
	}
	if len(values.Rows) != rows {
		t.Fatalf("%d rows, want %d", len(values.Rows), rows)
	}
	if diff := cmp.Diff(values.Rows, runs.Rows, cmp.Comparer(func(a, b value.Value) bool { return a.GoString() == b.GoString() })); diff != "" {
		t.Errorf("runs differ from values (-values +runs):\n%s", diff)
	}
}
