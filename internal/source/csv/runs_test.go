package csv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/value"
)

// runRecorder is a RunSink keeping rows as values; it checks that every
// column of a run gets exactly the run's values.
type runRecorder struct {
	t     *testing.T
	rows  [][]value.Value
	cols  [][]value.Value
	runs  int
	fail  error
	ncols int
}

func (r *runRecorder) col(c int, v value.Value) {
	for len(r.cols) <= c {
		r.cols = append(r.cols, nil)
	}
	r.cols[c] = append(r.cols[c], v)
}

func (r *runRecorder) Blank(c int)             { r.col(c, value.BlankValue) }
func (r *runRecorder) Int(c int, v int64)      { r.col(c, value.Int(v)) }
func (r *runRecorder) Float(c int, v float64)  { r.col(c, value.Float(v)) }
func (r *runRecorder) Currency(c int, u int64) { r.col(c, value.CurrencyUnits(u)) }
func (r *runRecorder) Bool(c int, v bool)      { r.col(c, value.Bool(v)) }
func (r *runRecorder) Date(c int, ole float64) { r.col(c, value.Date(ole)) }
func (r *runRecorder) String(c int, b []byte)  { r.col(c, value.Str(string(b))) }
func (r *runRecorder) Ints(c int, v []int64) {
	r.runs++
	for _, x := range v {
		r.Int(c, x)
	}
}
func (r *runRecorder) Floats(c int, v []float64) {
	r.runs++
	for _, x := range v {
		r.Float(c, x)
	}
}
func (r *runRecorder) Currencies(c int, u []int64) {
	r.runs++
	for _, x := range u {
		r.Currency(c, x)
	}
}
func (r *runRecorder) Dates(c int, v []float64) {
	r.runs++
	for _, x := range v {
		r.Date(c, x)
	}
}
func (r *runRecorder) EndRow() error { return r.EndRows(1) }
func (r *runRecorder) EndRows(n int) error {
	for c := range r.ncols {
		if c >= len(r.cols) || len(r.cols[c]) != n {
			r.t.Fatalf("column %d got the wrong number of values in a run of %d rows", c, n)
		}
	}
	for i := 0; i < n; i++ {
		row := make([]value.Value, r.ncols)
		for c := range row {
			row[c] = r.cols[c][i]
		}
		r.rows = append(r.rows, row)
	}
	for c := range r.cols {
		r.cols[c] = r.cols[c][:0]
	}
	return r.fail
}

// TestRunsEqualRows reads files once row by row and once in runs and
// checks that both give the same rows, or the same error.
func TestRunsEqualRows(t *testing.T) {
	var big strings.Builder
	big.WriteString("h\n")
	for i := 0; i < 2500; i++ {
		switch {
		case i%97 == 0:
			fmt.Fprintf(&big, "%d,,2024-01-%02d,TRUE,1.5%%,10:30\n", i, i%28+1)
		case i%131 == 0:
			fmt.Fprintf(&big, "%d\n", i) // a short row
		default:
			fmt.Fprintf(&big, "%d,%d.%02d,2024-02-%02d,false,%d%%,23:59:59\n", i, i, i%100, i%28+1, i%50)
		}
	}
	cols := []Column{
		{Name: "I", Field: 0, Kind: Int}, {Name: "C", Field: 1, Kind: Currency},
		{Name: "D", Field: 2, Kind: Date}, {Name: "B", Field: 3, Kind: Bool},
		{Name: "P", Field: 4, Kind: Percentage}, {Name: "T", Field: 5, Kind: Time},
		{Name: "N", Field: -1, Kind: Null}, {Name: "F", Field: 1, Kind: Number},
	}
	bad := strings.Replace(big.String(), "1999,1999.99", "1999,x19", 1)
	for _, tc := range []struct {
		name    string
		in      string
		fail    error
		wantErr bool
	}{
		{name: "many runs", in: big.String()},
		{name: "bad value", in: bad, wantErr: true},
		{name: "sink error", in: big.String(), fail: errors.New("no"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewSource(Config{Name: "r.csv", Open: textOpen(tc.in), Skip: 1, Columns: cols})
			if err != nil {
				t.Fatal(err)
			}
			rows := &recorder{t: t, fail: tc.fail}
			errRows := src.Scan(context.Background(), rows)
			runs := &runRecorder{t: t, fail: tc.fail, ncols: len(cols)}
			errRuns := src.Scan(context.Background(), runs)
			if tc.wantErr {
				if errRows == nil || errRuns == nil {
					t.Fatalf("errors: row by row %v, runs %v; want both", errRows, errRuns)
				}
				var a, b *ValueError
				if errors.As(errRows, &a) != errors.As(errRuns, &b) || (a != nil && *a != *b) {
					t.Errorf("errors differ: row by row %v, runs %v", errRows, errRuns)
				}
				if tc.fail != nil && !errors.Is(errRuns, tc.fail) {
					t.Errorf("runs error %v does not wrap the sink's", errRuns)
				}
				return
			}
			if errRows != nil || errRuns != nil {
				t.Fatalf("errors: row by row %v, runs %v", errRows, errRuns)
			}
			if runs.runs == 0 {
				t.Error("no column was passed in runs")
			}
			if len(rows.rows) != 2500 {
				t.Fatalf("%d rows, want 2500", len(rows.rows))
			}
			if diff := cmp.Diff(rows.rows, runs.rows, cmp.Comparer(func(a, b value.Value) bool { return a.GoString() == b.GoString() })); diff != "" {
				t.Errorf("runs differ from rows (-rows +runs):\n%s", diff)
			}
		})
	}
}
