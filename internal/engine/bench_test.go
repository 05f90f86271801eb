package engine

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/value"
)

// The benchmarks run the four star-schema queries over the retail
// sample at 10 million sales rows (MERIDIAN_BENCH_ROWS overrides it), built
// straight into the column store.

var (
	benchOnce  sync.Once
	benchModel *Model
	benchErr   error
)

const benchRows = 10_000_000

func starModel(b *testing.B) *Model {
	benchOnce.Do(func() {
		rows := int64(benchRows)
		if s := os.Getenv("MERIDIAN_BENCH_ROWS"); s != "" {
			if rows, benchErr = strconv.ParseInt(s, 10, 64); benchErr != nil {
				benchErr = fmt.Errorf("MERIDIAN_BENCH_ROWS: %w", benchErr)
				return
			}
		}
		benchModel, benchErr = buildStar(rows)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchModel
}

func buildStar(rows int64) (*Model, error) {
	var benchModel *Model
	var benchErr error
	func() {
		ctx := context.Background()
		def, err := retail.Model("Retail", "data")
		if err != nil {
			benchErr = err
			return
		}
		data := &colstore.Database{}
		for _, t := range retail.Tables(retail.Options{Rows: rows}) {
			specs := make([]colstore.ColumnSpec, len(t.Columns))
			for i, c := range t.Columns {
				specs[i] = colstore.ColumnSpec{Name: c.Name, Type: c.Type}
			}
			// Partitions of a million rows, built in parallel.
			nparts := int((t.Rows + 999_999) / 1_000_000)
			parts := make([]colstore.PartitionData, nparts)
			var g errgroup.Group
			g.SetLimit(runtime.GOMAXPROCS(0))
			for p := 0; p < nparts; p++ {
				g.Go(func() error {
					bl := colstore.NewBuilder(specs, colstore.BuilderOptions{})
					row := make([]value.Value, len(specs))
					end := min(t.Rows, int64(p+1)*1_000_000)
					for i := int64(p) * 1_000_000; i < end; i++ {
						t.Row(i, row)
						if err := bl.Append(row); err != nil {
							return err
						}
					}
					ch, err := bl.Finish()
					parts[p] = colstore.PartitionData{Name: t.Name, Chunk: ch}
					return err
				})
			}
			if err := g.Wait(); err != nil {
				benchErr = err
				return
			}
			tab, err := colstore.BuildTable(ctx, t.Name, specs, parts)
			if err != nil {
				benchErr = err
				return
			}
			data.Tables = append(data.Tables, tab)
		}
		benchModel, benchErr = NewModel(def, data)
	}()
	return benchModel, benchErr
}

func benchQuery(b *testing.B, q string) {
	m := starModel(b)
	ctx := context.Background()
	if _, err := m.Query(ctx, q, QueryOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if _, err := m.Query(ctx, q, QueryOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time per query: on a shared machine it measures work where
	// wall-clock time also measures waiting for a core.
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// (a) SUM of amount by product category.
func BenchmarkStarSumByCategory(b *testing.B) {
	benchQuery(b, `EVALUATE SUMMARIZECOLUMNS('Product'[Category], "Amount", SUM(Sales[Net Price]))`)
}

// (b) SUM by category and country for one year.
func BenchmarkStarSumByCategoryCountryYear(b *testing.B) {
	benchQuery(b, `EVALUATE SUMMARIZECOLUMNS('Product'[Category], Customer[Country], TREATAS({2023}, 'Date'[Year]), "Amount", SUM(Sales[Net Price]))`)
}

// (c) DISTINCTCOUNT of customers by brand for one category.
func BenchmarkStarDistinctCustomersByBrand(b *testing.B) {
	benchQuery(b, `EVALUATE CALCULATETABLE(SUMMARIZECOLUMNS('Product'[Brand], "Customers", DISTINCTCOUNT(Sales[CustomerKey])), 'Product'[Category] = "Audio")`)
}

// (d) year-to-date by month.
func BenchmarkStarYTDByMonth(b *testing.B) {
	benchQuery(b, `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Date'[Month], "YTD", [Sales YTD])`)
}

// The sample's main measure by category: SUMX of a product of columns.
func BenchmarkStarSalesAmountByCategory(b *testing.B) {
	benchQuery(b, `EVALUATE SUMMARIZECOLUMNS('Product'[Category], "Sales", [Sales Amount], "Margin %", [Margin %])`)
}
