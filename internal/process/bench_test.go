package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/model"
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

// BenchmarkRefreshRetailParquet processes the retail sample from the
// Parquet files <Table>.parquet in the directory MERIDIAN_BENCH_PARQUET
// names (the benchmark harness writes them); it is skipped without one.
// It reports what BenchmarkRefreshRetail does.
func BenchmarkRefreshRetailParquet(b *testing.B) {
	dir := os.Getenv("MERIDIAN_BENCH_PARQUET")
	if dir == "" {
		b.Skip("MERIDIAN_BENCH_PARQUET names no directory of retail Parquet files")
	}
	bim, err := retail.BIM("Retail", dir)
	if err != nil {
		b.Fatal(err)
	}
	var db map[string]any
	if err := json.Unmarshal(bim, &db); err != nil {
		b.Fatal(err)
	}
	tables, _ := db["model"].(map[string]any)["tables"].([]any)
	for _, t := range tables {
		tab := t.(map[string]any)
		m := fmt.Sprintf("let\n    Source = Parquet.Document(File.Contents(%q))\nin\n    Source",
			filepath.Join(dir, tab["name"].(string)+".parquet"))
		for _, p := range tab["partitions"].([]any) {
			p.(map[string]any)["source"] = map[string]any{"type": "m", "expression": m}
		}
	}
	bim, err = json.Marshal(db)
	if err != nil {
		b.Fatal(err)
	}
	def, err := model.Parse(bim)
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
	var rows int64
	for b.Loop() {
		c0, w0 := cpuTime(), time.Now()
		res, err := Refresh(context.Background(), def, nil, Request{Type: Full}, Options{Roots: roots})
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		wall += time.Since(w0)
		bytes = res.Data.Bytes()
		rows = int64(res.Data.Table("Sales").Rows)
	}
	n := float64(b.N)
	b.ReportMetric(float64(rows)*n/wall.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*n/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(bytes)/float64(rows), "bytes/row")
}
