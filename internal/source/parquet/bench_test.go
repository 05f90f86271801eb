package parquet

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	pq "github.com/parquet-go/parquet-go"
)

type discard struct{}

func (discard) Blank(int)           {}
func (discard) Int(int, int64)      {}
func (discard) Float(int, float64)  {}
func (discard) Currency(int, int64) {}
func (discard) Bool(int, bool)      {}
func (discard) Date(int, float64)   {}
func (discard) String(int, []byte)  {}
func (discard) EndRow() error       { return nil }

// BenchmarkScan reads a million rows shaped like the retail sample's
// sales (a date, three keys, a quantity and two prices) from disk.
func BenchmarkScan(b *testing.B) {
	const n = 1_000_000
	cols := []col{
		{"Order Date", pq.Date(), nil}, {"ProductKey", pq.Leaf(pq.Int64Type), nil},
		{"CustomerKey", pq.Leaf(pq.Int64Type), nil}, {"StoreKey", pq.Leaf(pq.Int64Type), nil},
		{"Quantity", pq.Leaf(pq.Int64Type), nil}, {"Net Price", pq.Decimal(4, 18, pq.Int64Type), nil},
		{"Unit Cost", pq.Decimal(4, 18, pq.Int64Type), nil},
	}
	for i := 0; i < n; i++ {
		h := uint64(i) * 0x9e3779b97f4a7c15
		cols[0].vals = append(cols[0].vals, 18628+int(h%1461))
		cols[1].vals = append(cols[1].vals, int(h>>8%10000))
		cols[2].vals = append(cols[2].vals, int(h>>16%200000))
		cols[3].vals = append(cols[3].vals, int(h>>24%100))
		cols[4].vals = append(cols[4].vals, int(h>>32%10+1))
		cols[5].vals = append(cols[5].vals, int(h>>40%200000)*100)
		cols[6].vals = append(cols[6].vals, int(h>>44%100000)*100)
	}
	path := filepath.Join(b.TempDir(), "sales.parquet")
	if err := os.WriteFile(path, writeFileSized(b, cols, 1<<20, 1<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	fields, _, err := ReadSchema(context.Background(), "sales.parquet", osOpen(path))
	if err != nil {
		b.Fatal(err)
	}
	src, err := NewSource(Config{Name: "sales.parquet", Open: osOpen(path), Schema: fields, Columns: all(fields)})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := src.Scan(context.Background(), discard{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
