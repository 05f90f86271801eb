// Package sourcetest has the sinks that the tests of file sources record
// rows with: Recorder takes rows value by value, RunRecorder also takes
// runs of values, and both keep every row as values to compare.
package sourcetest

import (
	"testing"

	"github.com/meridian-olap/meridian/internal/value"
)

// Recorder is a source.Sink that keeps every row and fails the test when
// a row's columns do not come in order.
type Recorder struct {
	T    testing.TB
	Rows [][]value.Value
	// Fail is returned by EndRow when set, as a sink that stops a scan.
	Fail error
	cur  []value.Value
}

func (r *Recorder) put(col int, v value.Value) {
	if col != len(r.cur) {
		r.T.Fatalf("sink called for column %d, want %d", col, len(r.cur))
	}
	r.cur = append(r.cur, v)
}

func (r *Recorder) Blank(col int)                 { r.put(col, value.BlankValue) }
func (r *Recorder) Int(col int, v int64)          { r.put(col, value.Int(v)) }
func (r *Recorder) Float(col int, v float64)      { r.put(col, value.Float(v)) }
func (r *Recorder) Currency(col int, units int64) { r.put(col, value.CurrencyUnits(units)) }
func (r *Recorder) Bool(col int, v bool)          { r.put(col, value.Bool(v)) }
func (r *Recorder) Date(col int, ole float64)     { r.put(col, value.Date(ole)) }
func (r *Recorder) String(col int, b []byte)      { r.put(col, value.Str(string(b))) }

// EndRow keeps the row.
func (r *Recorder) EndRow() error {
	r.Rows = append(r.Rows, r.cur)
	r.cur = nil
	return r.Fail
}

// RunRecorder is a source.RunSink that keeps every row; it fails the test
// when a column of a run does not get exactly the run's values.
type RunRecorder struct {
	T    testing.TB
	Rows [][]value.Value
	// Fail is returned by EndRows when set.
	Fail error
	// NCols, when set, is the number of columns every run must fill
	// (otherwise the columns seen so far).
	NCols int
	// Runs counts the runs of values taken whole.
	Runs int
	cols [][]value.Value
}

func (r *RunRecorder) col(c int, v value.Value) {
	for len(r.cols) <= c {
		r.cols = append(r.cols, nil)
	}
	r.cols[c] = append(r.cols[c], v)
}

func (r *RunRecorder) Blank(c int)             { r.col(c, value.BlankValue) }
func (r *RunRecorder) Int(c int, v int64)      { r.col(c, value.Int(v)) }
func (r *RunRecorder) Float(c int, v float64)  { r.col(c, value.Float(v)) }
func (r *RunRecorder) Currency(c int, u int64) { r.col(c, value.CurrencyUnits(u)) }
func (r *RunRecorder) Bool(c int, v bool)      { r.col(c, value.Bool(v)) }
func (r *RunRecorder) Date(c int, ole float64) { r.col(c, value.Date(ole)) }
func (r *RunRecorder) String(c int, b []byte)  { r.col(c, value.Str(string(b))) }

func (r *RunRecorder) Ints(c int, v []int64)       { addRun(r, c, v, value.Int) }
func (r *RunRecorder) Floats(c int, v []float64)   { addRun(r, c, v, value.Float) }
func (r *RunRecorder) Currencies(c int, u []int64) { addRun(r, c, u, value.CurrencyUnits) }
func (r *RunRecorder) Dates(c int, v []float64)    { addRun(r, c, v, value.Date) }

func addRun[T any](r *RunRecorder, c int, vs []T, conv func(T) value.Value) {
	r.Runs++
	for _, x := range vs {
		r.col(c, conv(x))
	}
}

// EndRow ends a run of one row.
func (r *RunRecorder) EndRow() error { return r.EndRows(1) }

// EndRows keeps the n rows the columns have been given.
func (r *RunRecorder) EndRows(n int) error {
	ncols := r.NCols
	if ncols == 0 {
		ncols = len(r.cols)
	}
	for c := range ncols {
		if c >= len(r.cols) || len(r.cols[c]) != n {
			got := 0
			if c < len(r.cols) {
				got = len(r.cols[c])
			}
			r.T.Fatalf("column %d got %d values in a run of %d rows", c, got, n)
		}
	}
	for i := range n {
		row := make([]value.Value, ncols)
		for c := range row {
			row[c] = r.cols[c][i]
		}
		r.Rows = append(r.Rows, row)
	}
	for c := range r.cols {
		r.cols[c] = r.cols[c][:0]
	}
	return r.Fail
}
