package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/value"
)

// Benchmarks for the server: queries per second and latency under 32
// concurrent clients, start-up time with a large image, and refresh
// throughput from CSV files to a committed image. Sizes are set by
// environment variables so that a quick run and the figures use
// the same code:
//
//	MERIDIAN_BENCH_ROWS        sales rows of the query benchmark (1,000,000)
//	MERIDIAN_BENCH_IMAGE_ROWS  sales rows of the start-up image (85,000,000: about 1 GB)
//	MERIDIAN_BENCH_CSV_ROWS    sales rows of the refresh benchmark (1,000,000)

func envInt(b *testing.B, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// buildRetail builds the retail sample straight into the column store:
// no CSV, partitions of a million rows built in parallel.
func buildRetail(ctx context.Context, rows int64) (*colstore.Database, error) {
	data := &colstore.Database{}
	for _, t := range retail.Tables(retail.Options{Rows: rows}) {
		specs := make([]colstore.ColumnSpec, len(t.Columns))
		for i, c := range t.Columns {
			specs[i] = colstore.ColumnSpec{Name: c.Name, Type: c.Type}
		}
		const per = 1_000_000
		nparts := int(max((t.Rows+per-1)/per, 1))
		chunks := make([]*colstore.Chunk, nparts)
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for p := range nparts {
			g.Go(func() error {
				bl := colstore.NewBuilder(specs, colstore.BuilderOptions{})
				row := make([]value.Value, len(specs))
				for i := int64(p) * per; i < min(t.Rows, int64(p+1)*per); i++ {
					t.Row(i, row)
					if err := bl.Append(row); err != nil {
						return err
					}
				}
				ch, err := bl.Finish()
				chunks[p] = ch
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		// The model has one partition per table, named after it: the
		// chunks become its rows in order.
		parts := []colstore.PartitionData{}
		for _, ch := range chunks {
			parts = append(parts, colstore.PartitionData{Name: t.Name, Chunk: ch})
		}
		tab, err := colstore.BuildTable(ctx, t.Name, specs, parts)
		if err != nil {
			return nil, err
		}
		data.Tables = append(data.Tables, tab)
	}
	return data, nil
}

// commitRetail builds the retail sample and commits it as database
// "Retail" of m, processed.
func commitRetail(ctx context.Context, m *Manager, rows int64) error {
	def, err := retail.Model("Retail", "retail")
	if err != nil {
		return err
	}
	data, err := buildRetail(ctx, rows)
	if err != nil {
		return err
	}
	t := m.newTxn()
	c := t.get("Retail")
	if err := c.setModel(def); err != nil {
		return err
	}
	eng, err := engine.NewModel(c.comp.engDef, data)
	if err != nil {
		return err
	}
	c.setData(eng.Data, eng, time.Now().UTC())
	return t.commit(ctx)
}

var (
	queryBenchOnce sync.Once
	queryBenchURL  string
	queryBenchErr  error
)

// BenchmarkConcurrentQueries measures a small DAX query answered over
// HTTP to 32 concurrent clients: queries per second and the latency
// percentiles.
func BenchmarkConcurrentQueries(b *testing.B) {
	const clients = 32
	queryBenchOnce.Do(func() {
		ctx := context.Background()
		dir, err := benchTempDir("meridian-bench-")
		if err != nil {
			queryBenchErr = err
			return
		}
		m, err := OpenManager(ctx, ManagerOptions{DataDir: dir, GCDelay: -1})
		if err != nil {
			queryBenchErr = err
			return
		}
		if err := m.Load(ctx); err != nil {
			queryBenchErr = err
			return
		}
		if err := commitRetail(ctx, m, envInt(b, "MERIDIAN_BENCH_ROWS", 1_000_000)); err != nil {
			queryBenchErr = err
			return
		}
		// The server lives for the rest of the benchmark process.
		queryBenchURL = httptest.NewServer(New(m, Options{}).Handler()).URL
	})
	if queryBenchErr != nil {
		b.Fatal(queryBenchErr)
	}
	for _, q := range []struct{ name, dax string }{
		{"constant", `EVALUATE ROW ( "x", 1 )`},
		{"measure", `EVALUATE ROW ( "Units", [Units] )`},
		{"by-year", `EVALUATE SUMMARIZECOLUMNS ( 'Date'[Year], "Units", [Units] )`},
	} {
		b.Run(q.name, func(b *testing.B) {
			body := []byte(mustJSON(map[string]any{"queries": []map[string]string{{"query": q.dax}}}))
			loadQueries(b, body, clients)
		})
	}
}

// loadQueries sends b.N queries from the given number of clients and
// reports throughput and latency.
func loadQueries(b *testing.B, body []byte, clients int) {
	url := queryBenchURL + "/v1.0/myorg/datasets/Retail/executeQueries"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var next sync.Mutex
	remaining := b.N
	for c := range clients {
		wg.Go(func() {
			for {
				next.Lock()
				if remaining == 0 {
					next.Unlock()
					return
				}
				remaining--
				next.Unlock()
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "queries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

var (
	startupOnce sync.Once
	startupDir  string
	startupErr  error
)

// BenchmarkStartup measures Open and Load of a data directory holding one
// large retail image (about 1 GB at the default size): what a restart
// costs before /readyz answers 200.
func BenchmarkStartup(b *testing.B) {
	startupOnce.Do(func() {
		ctx := context.Background()
		startupDir, startupErr = benchTempDir("meridian-bench-startup-")
		if startupErr != nil {
			return
		}
		m, err := OpenManager(ctx, ManagerOptions{DataDir: startupDir, GCDelay: -1})
		if err != nil {
			startupErr = err
			return
		}
		defer m.Close()
		if startupErr = m.Load(ctx); startupErr != nil {
			return
		}
		t0 := time.Now()
		startupErr = commitRetail(ctx, m, envInt(b, "MERIDIAN_BENCH_IMAGE_ROWS", 85_000_000))
		v, _ := m.Current("Retail")
		if v != nil {
			fmt.Fprintf(os.Stderr, "startup image: %d objects, %.2f GB, built and committed in %v\n",
				len(v.Manifest.Objects), float64(v.Manifest.Size())/1e9, time.Since(t0).Round(time.Millisecond))
		}
	})
	if startupErr != nil {
		b.Fatal(startupErr)
	}
	var size int64
	b.ResetTimer()
	for b.Loop() {
		ctx := context.Background()
		m, err := OpenManager(ctx, ManagerOptions{DataDir: startupDir, GCDelay: -1})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Load(ctx); err != nil {
			b.Fatal(err)
		}
		v, err := m.Current("Retail")
		if err != nil || v.Model == nil {
			b.Fatalf("not loaded: %v", err)
		}
		size = v.Manifest.Size()
		b.StopTimer()
		m.Close()
		runtime.GC()
		b.StartTimer()
	}
	b.ReportMetric(float64(size)/1e9, "image-GB")
	b.ReportMetric(float64(size)/1e6/(b.Elapsed().Seconds()/float64(b.N)), "MB/s")
}

// BenchmarkRefresh measures a full refresh end to end: the retail sample
// written as CSV, deployed, then refreshed through POST /tmsl (sources
// read, encoded, written, committed, swapped in).
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	rows := envInt(b, "MERIDIAN_BENCH_CSV_ROWS", 1_000_000)
	src := b.TempDir()
	if err := retail.WriteCSV(ctx, src, retail.Options{Rows: rows}, nil); err != nil {
		b.Fatal(err)
	}
	roots, err := source.NewRoots(src)
	if err != nil {
		b.Fatal(err)
	}
	m, err := OpenManager(ctx, ManagerOptions{DataDir: b.TempDir(), Roots: roots})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	m.Load(ctx)
	hs := httptest.NewServer(New(m, Options{}).Handler())
	defer hs.Close()
	bim, err := retail.BIM("Retail", ".")
	if err != nil {
		b.Fatal(err)
	}
	post := func(cmd string) {
		resp, err := http.Post(hs.URL+"/tmsl", "application/json", bytes.NewReader([]byte(cmd)))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	post(`{"createOrReplace":{"object":{"database":"Retail"},"database":` + string(bim) + `}}`)
	var total int64
	for _, t := range retail.Tables(retail.Options{Rows: rows}) {
		total += t.Rows
	}
	b.ResetTimer()
	for b.Loop() {
		post(`{"refresh":{"type":"full","objects":[{"database":"Retail"}]}}`)
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
