package colstore

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/value"
)

var (
	benchOnce sync.Once
	benchFact *Table
)

// benchTable builds a 10-million-row fact table: product key (10k),
// customer key (200k), quantity (1..10), amount (currency in cents, value
// encoded) and net price (currency, 32,768 prices spread too thinly for
// value encoding, so a list dictionary as real prices get).
func benchTable(b *testing.B) *Table {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 1))
		specs := []ColumnSpec{{"ProductKey", value.Integer}, {"CustomerKey", value.Integer}, {"Quantity", value.Integer}, {"Amount", value.Currency}, {"NetPrice", value.Currency}}
		prices := make([]int64, 32768)
		for i := range prices {
			prices[i] = int64(rng.IntN(1<<22)) * 100
		}
		bl := NewBuilder(specs, BuilderOptions{})
		rows := 10_000_000
		if s := os.Getenv("MERIDIAN_BENCH_ROWS"); s != "" {
			rows, _ = strconv.Atoi(s)
		}
		for i := 0; i < rows; i++ {
			bl.Int(0, int64(rng.IntN(10000)))
			bl.Int(1, int64(rng.IntN(200000)))
			bl.Int(2, int64(1+rng.IntN(10)))
			bl.Currency(3, int64(rng.IntN(100000))*100)
			bl.Currency(4, prices[rng.IntN(len(prices))])
			_ = bl.EndRow()
		}
		ch, _ := bl.Finish()
		t, err := BuildTable(context.Background(), "Sales", specs, []PartitionData{{Name: "p", Chunk: ch}})
		if err != nil {
			panic(err)
		}
		benchFact = t
	})
	return benchFact
}

// cpuTime is the process's user and system CPU time: on a shared machine
// it measures work where wall-clock time measures contention.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runScan benchmarks a scan and reports CPU nanoseconds per row.
func runScan(b *testing.B, s *Scan) {
	if _, err := s.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if _, err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/float64(s.Table.Rows), "cpu-ns/row")
}

func BenchmarkScanSumByCategory(b *testing.B) {
	t := benchTable(b)
	d := t.Columns[0].Dict
	m := make([]uint32, d.Len())
	for id := range m {
		m[id] = uint32(id % 20)
	}
	s := &Scan{Table: t, Group: []GroupKey{{Col: 0, Map: m, Card: 20}}, Aggs: []Agg{{Op: Sum, Col: 3}}}
	runScan(b, s)
}

func BenchmarkScanSumX(b *testing.B) {
	t := benchTable(b)
	d := t.Columns[0].Dict
	m := make([]uint32, d.Len())
	for id := range m {
		m[id] = uint32(id % 20)
	}
	e := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 2}, {Op: ExprCol, Col: 3}}}
	s := &Scan{Table: t, Group: []GroupKey{{Col: 0, Map: m, Card: 20}}, Aggs: []Agg{{Op: Sum, Expr: e}}}
	runScan(b, s)
}

func BenchmarkScanDistinctCustomersFiltered(b *testing.B) {
	t := benchTable(b)
	d := t.Columns[0].Dict
	allowed := NewBitmap(d.Len())
	m := make([]uint32, d.Len())
	for id := range m {
		m[id] = uint32(id % 50)
		if id%20 == 3 {
			allowed.Set(id)
		}
	}
	s := &Scan{Table: t, Filters: []Filter{{Col: 0, IDs: allowed}}, Group: []GroupKey{{Col: 0, Map: m, Card: 50}}, Aggs: []Agg{{Op: DistinctCount, Col: 1}}}
	runScan(b, s)
}

// BenchmarkScanTotals is a grand total without groups: SUMX of a product,
// SUM and COUNTROWS.
func BenchmarkScanTotals(b *testing.B) {
	t := benchTable(b)
	e := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 2}, {Op: ExprCol, Col: 3}}}
	s := &Scan{Table: t, Aggs: []Agg{{Op: Sum, Expr: e}, {Op: Sum, Col: 2}, {Op: CountRows}}}
	runScan(b, s)
}

// BenchmarkScanTotalsList is BenchmarkScanTotals with a product of the
// small quantity column and a price column on a list dictionary.
func BenchmarkScanTotalsList(b *testing.B) {
	t := benchTable(b)
	e := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 2}, {Op: ExprCol, Col: 4}}}
	s := &Scan{Table: t, Aggs: []Agg{{Op: Sum, Expr: e}, {Op: Sum, Col: 2}, {Op: CountRows}}}
	runScan(b, s)
}

// BenchmarkScanByQuantity groups by a column of ten values.
func BenchmarkScanByQuantity(b *testing.B) {
	t := benchTable(b)
	s := &Scan{Table: t, Group: []GroupKey{{Col: 2}}, Aggs: []Agg{{Op: CountRows}, {Op: Sum, Col: 3}}}
	runScan(b, s)
}

// BenchmarkScanRangeFilter keeps the rows of three quantities of ten.
func BenchmarkScanRangeFilter(b *testing.B) {
	t := benchTable(b)
	d := t.Columns[2].Dict
	keep := NewBitmap(d.Len())
	for id := 1; id < d.Len(); id++ {
		if d.Value(uint32(id)).AsInt() >= 8 {
			keep.Set(id)
		}
	}
	e := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 2}, {Op: ExprCol, Col: 3}}}
	s := &Scan{Table: t, Filters: []Filter{{Col: 2, IDs: keep}}, Aggs: []Agg{{Op: Sum, Expr: e}, {Op: Sum, Col: 2}}}
	runScan(b, s)
}

// BenchmarkScanSelective filters on two keys that together keep about
// one row in 300, grouped through a map, with a distinct count.
func BenchmarkScanSelective(b *testing.B) {
	t := benchTable(b)
	pd, cd := t.Columns[0].Dict, t.Columns[1].Dict
	prod, cust := NewBitmap(pd.Len()), NewBitmap(cd.Len())
	m := make([]uint32, pd.Len())
	for id := range m {
		m[id] = uint32(id % 12)
		if id%20 == 3 {
			prod.Set(id)
		}
	}
	for id := 0; id < cd.Len(); id++ {
		if id%13 == 5 {
			cust.Set(id)
		}
	}
	e := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 2}, {Op: ExprCol, Col: 3}}}
	s := &Scan{Table: t, Filters: []Filter{{Col: 0, IDs: prod}, {Col: 1, IDs: cust}}, Group: []GroupKey{{Col: 0, Map: m, Card: 12}},
		Aggs: []Agg{{Op: Sum, Expr: e}, {Op: DistinctCount, Col: 1}, {Op: CountRows}}}
	runScan(b, s)
}
