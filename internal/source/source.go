// Package source defines how processing reads data: a Source produces the
// rows of one partition and pushes them, typed, into a Sink (the column
// store's table builder). Readers for particular formats live in
// subpackages (csv); the Power Query evaluator (mlang) composes them.
//
// Roots confines file access to the server's source roots.
package source

import (
	"context"
	"errors"

	"github.com/meridian-olap/meridian/internal/value"
)

// Field describes one column a source produces. Type is the type the
// source delivers; String for text a source has not converted.
type Field struct {
	Name string
	Type value.Type
}

// Sink receives rows. For each row the source calls one method per column,
// in column order, then EndRow. A []byte passed to String is valid only
// during the call. A Sink reports conversion problems from EndRow or from
// the value methods through the error EndRow returns; the source stops at
// the first error and returns it, wrapped with its location.
type Sink interface {
	Blank(col int)
	Int(col int, v int64)
	Float(col int, v float64)
	Currency(col int, units int64)
	Bool(col int, v bool)
	Date(col int, ole float64)
	String(col int, b []byte)
	EndRow() error
}

// Source is a table to read: its fields, and a scan that pushes every row
// into a sink. Scan may be called more than once; each call reads from the
// start. Scan stops early and returns ctx.Err() when ctx is cancelled.
type Source interface {
	Fields() []Field
	Scan(ctx context.Context, sink Sink) error
}

// ErrNotParallel is returned by ParallelSource.ScanParallel when it did
// not (or could not) read in pieces: the caller reads with Scan instead,
// into a fresh sink.
var ErrNotParallel = errors.New("source: not read in parallel")

// ParallelSource is a Source that can also read in pieces concurrently,
// piece i into sink(i), the pieces in row order. It returns the number of
// pieces used, or ErrNotParallel, after which the sinks hold nothing the
// caller may use.
type ParallelSource interface {
	Source
	ScanParallel(ctx context.Context, n int, sink func(i int) Sink) (int, error)
}

// RunSink is a Sink that can also take a run of rows a column at a time,
// which saves a call per value. For a run of n rows the source passes
// each column in order, either with one run method holding its n values
// or with n calls of the value methods, and then calls EndRows(n). A
// slice passed to a run method is valid only during the call. Conversion
// problems are reported as by EndRow, for the run as a whole.
type RunSink interface {
	Sink
	Ints(col int, v []int64)
	Floats(col int, v []float64)
	Currencies(col int, units []int64)
	Dates(col int, ole []float64)
	EndRows(n int) error
}
