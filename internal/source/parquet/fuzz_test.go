package parquet

import (
	"context"
	"testing"

	pq "github.com/parquet-go/parquet-go"
)

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
		rec := &recorder{t: t}
		_ = src.Scan(ctx, rec)
	})
}
