package process

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/source"
)

// BenchmarkRefreshRetail processes the retail sample from CSV: by default
// 10 million sales rows (MERIDIAN_BENCH_ROWS overrides it). The CSV files
// are generated once into the temporary directory and reused. It reports
// sales rows per second of wall-clock and of CPU time, and the bytes of
// encoded data per sales row.
func BenchmarkRefreshRetail(b *testing.B) {
	rows := int64(10_000_000)
	if s := os.Getenv("MERIDIAN_BENCH_ROWS"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("meridian-retail-%d", rows))
	if _, err := os.Stat(filepath.Join(dir, "data", "Sales.csv")); err != nil {
		if err := retail.WriteCSV(context.Background(), filepath.Join(dir, "data"), retail.Options{Rows: rows}, nil); err != nil {
			b.Fatal(err)
		}
	}
	def, err := retail.Model("Retail", "data")
	if err != nil {
		b.Fatal(err)
	}
	roots, err := source.NewRoots(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var cpu, wall time.Duration
	var bytes int64
	for b.Loop() {
		c0, w0 := cpuTime(), time.Now()
		res, err := Refresh(context.Background(), def, nil, Request{Type: Full}, Options{Roots: roots})
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		wall += time.Since(w0)
		bytes = res.Data.Bytes()
	}
	n := float64(b.N)
	b.ReportMetric(float64(rows)*n/wall.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*n/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(bytes)/float64(rows), "bytes/row")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
