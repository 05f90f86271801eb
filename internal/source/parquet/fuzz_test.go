package parquet

import (
	"context"
	"errors"
	"testing"

	pq "github.com/parquet-go/parquet-go"
)

// countingSink counts rows and stops after limit.
type countingSink struct {
	discard
	rows, limit int
}

func (s *countingSink) EndRow() error {
	if s.rows++; s.rows > s.limit {
		return errors.New("enough rows")
	}
	return nil
}

// runCountingSink is a countingSink that also takes runs.
type runCountingSink struct {
	countingSink
}

func (*runCountingSink) Ints(int, []int64)       {}
func (*runCountingSink) Floats(int, []float64)   {}
func (*runCountingSink) Currencies(int, []int64) {}
func (*runCountingSink) Dates(int, []float64)    {}
func (s *runCountingSink) EndRows(n int) error {
	if s.rows += n; s.rows > s.limit {
		return errors.New("enough rows")
	}
	return nil
}

// FuzzScan reads arbitrary bytes as a Parquet file: every outcome is a
// schema, rows or an error, never a panic.
func FuzzScan(f *testing.F) {
	f.Add(writeFile(f, []col{
		{"id", pq.Leaf(pq.Int64Type), []any{1, 2, 3}},
		{"name", pq.Optional(pq.String()), []any{"a", nil, "c"}},
		{"day", pq.Date(), []any{1, 2, 3}},
		{"amount", pq.Decimal(2, 12, pq.Int64Type), []any{100, -5, 7}},
	}, 2))
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		fields, _, err := ReadSchema(ctx, "fuzz.parquet", bytesOpen(data))
		if err != nil {
			return
		}
		var cols []Column
		for i, fd := range fields {
			if fd.Unsupported == "" {
				cols = append(cols, Column{Name: fd.Name, Field: i})
			}
		}
		src, err := NewSource(Config{Name: "fuzz.parquet", Open: bytesOpen(data), Schema: fields, Columns: cols})
		if err != nil {
			t.Fatalf("loadable columns refused: %v", err)
		}
		// Run-length encoding lets a few bytes stand for millions of
		// rows, as it should; the sink stops early, as a server's limits
		// would, so that each input stays quick.
		_ = src.Scan(ctx, &countingSink{limit: 10_000})
		_ = src.Scan(ctx, &runCountingSink{countingSink{limit: 10_000}})
	})
}
