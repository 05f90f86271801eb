package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/process"
)

// options are the harness's flags.
type options struct {
	SF         float64
	Work       string
	Out        string
	Repo       string
	Meridian   string
	Runs       int
	Warmup     int
	Clients    int
	Throughput time.Duration
	Bandwidth  int
	Only       string
	Profiles   int
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	var o options
	flag.Float64Var(&o.SF, "sf", 1, "scale factor: SF1 is 1,000,000 sales rows")
	flag.StringVar(&o.Work, "work", defaultWork(), "work directory: generated files (kept between runs), the server's data, profiles")
	flag.StringVar(&o.Out, "out", "", "directory for benchmarks.md and benchmarks.json (none: print the Markdown)")
	flag.StringVar(&o.Repo, "repo", "..", "the Meridian repository, to build cmd/meridian from")
	flag.StringVar(&o.Meridian, "meridian", "", "meridian binary to serve HTTP with (default: build it from --repo)")
	flag.IntVar(&o.Runs, "runs", 5, "measured runs per query and system (the median is reported)")
	flag.IntVar(&o.Warmup, "warmup", 0, "unmeasured runs per query and system before the measured ones, besides the check run every query makes first on every system")
	flag.IntVar(&o.Clients, "clients", 32, "concurrent clients in the throughput test")
	flag.DurationVar(&o.Throughput, "throughput", 20*time.Second, "duration of the throughput test, per system")
	flag.IntVar(&o.Bandwidth, "bandwidth-mib", 1024, "size of the array summed to measure memory bandwidth, MiB")
	flag.StringVar(&o.Only, "only", "", "comma-separated query ids to run (default: all)")
	flag.IntVar(&o.Profiles, "profiles", 3, "CPU-profile this many of the queries with the highest ratio to DuckDB")
	flag.Parse()
	if o.SF <= 0 || o.Runs < 1 || o.Clients < 1 {
		log.Fatal("--sf must be positive, --runs and --clients at least 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func defaultWork() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "meridian-bench")
	}
	return filepath.Join(os.TempDir(), "meridian-bench")
}

func logf(format string, args ...any) {
	log.Printf("%s "+format, append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// leaseTTL is the publishing lease of the benchmark's primary.
const leaseTTL = 2 * time.Minute

// errMismatch fails the run when the systems disagree.
var errMismatch = errors.New("the systems' answers differ")

func run(ctx context.Context, o options) error {
	start := time.Now()
	queries := workload
	if o.Only != "" {
		queries = nil
		for _, id := range strings.Split(o.Only, ",") {
			for _, q := range workload {
				if q.ID == strings.TrimSpace(id) {
					queries = append(queries, q)
				}
			}
		}
		if len(queries) == 0 {
			return fmt.Errorf("--only %q names no query", o.Only)
		}
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return err
	}
	r := &report{Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Machine: readMachine()}
	r.Machine.LoadAvg = []string{loadAverage()}
	r.Settings.Runs, r.Settings.Warmup, r.Settings.Clients = o.Runs, o.Warmup, o.Clients
	r.Settings.ThroughputSeconds = o.Throughput.Seconds()
	rows := int64(o.SF*1_000_000 + 0.5)
	r.Scale = scale{SF: o.SF, SalesRows: rows, Tables: map[string]int64{}}

	// The physical limit, measured first, while the memory is quiet.
	logf("memory bandwidth: summing %d MiB", o.Bandwidth)
	r.Bandwidth = measureBandwidth(o.Bandwidth)
	logf("memory bandwidth: %.1f GB/s on one core, %.1f GB/s on %d", r.Bandwidth.SingleCore/1e9, r.Bandwidth.AllCores/1e9, r.Bandwidth.Cores)

	data, err := prepareData(ctx, o.Work, rows, logf)
	if err != nil {
		return err
	}
	for _, t := range data.Tables {
		r.Scale.Tables[t.Name] = t.Rows
	}
	r.Data.Dir = data.Dir
	r.Data.Generated, r.Data.GenSeconds = data.Generated, data.GenTime.Seconds()
	if r.Data.CSVBytes, err = data.bytes(".csv"); err != nil {
		return err
	}
	if r.Data.ParquetBytes, err = data.bytes(".parquet"); err != nil {
		return err
	}

	// DuckDB first: its memory is measured as the growth of this
	// process, before Meridian's data is here.
	baseRSS := selfRSS()
	dk, err := openDuck(ctx)
	if err != nil {
		return err
	}
	defer dk.Close()
	r.Machine.DuckDB = dk.version
	logf("duckdb %s: read_parquet into tables", dk.version)
	duckParquet, err := dk.loadParquet(ctx, "main", data)
	if err != nil {
		return err
	}
	if err := dk.checkLoad(ctx, "main", data); err != nil {
		return err
	}
	duckRSS := selfRSS() - baseRSS
	duckMem, duckTables, err := dk.memory(ctx)
	if err != nil {
		return err
	}
	logf("duckdb: read_parquet %.2f s; memory %s (%s of table data), process grew %s", duckParquet.Seconds(),
		size(float64(duckMem)), size(float64(duckTables)), size(float64(duckRSS)))
	duckCSV, err := dk.loadCSV(ctx, "csvload", data)
	if err != nil {
		return err
	}
	if err := dk.checkLoad(ctx, "csvload", data); err != nil {
		return err
	}
	if err := dk.dropSchema(ctx, "csvload"); err != nil {
		return err
	}
	logf("duckdb: read_csv %.2f s", duckCSV.Seconds())

	// Meridian in process, from both formats; the CSV image answers the
	// queries.
	logf("meridian: refresh from Parquet")
	resPQ, merParquet, err := processInProcess(ctx, data, "parquet")
	if err != nil {
		return err
	}
	pqBytes := resPQ.Data.Bytes()
	resPQ = nil
	runtime.GC()
	logf("meridian: refresh from Parquet %.2f s; from CSV", merParquet.Seconds())
	res, merCSV, err := processInProcess(ctx, data, "csv")
	if err != nil {
		return err
	}
	image := res.Data.Bytes()
	if image != pqBytes {
		logf("meridian: the image from CSV has %d bytes, from Parquet %d", image, pqBytes)
	}
	logf("meridian: refresh from CSV %.2f s; image %s", merCSV.Seconds(), size(float64(image)))
	debug.FreeOSMemory()

	// Meridian over HTTP: the real server in its own process.
	bin := o.Meridian
	if bin == "" {
		bin = filepath.Join(o.Work, "meridian")
		logf("building meridian from %s", o.Repo)
		if err := buildMeridian(ctx, o.Repo, bin); err != nil {
			return err
		}
	}
	// The server publishes its commits to a file store, for a follower
	// to replicate; a server without replication still runs the rest.
	store := "file://" + filepath.Join(o.Work, "replication-store")
	if err := os.RemoveAll(filepath.Join(o.Work, "replication-store")); err != nil {
		return err
	}
	var haNotes []string
	// The lease is long: under the throughput test's load, a primary with
	// the default 15 s lease was seen to miss its renewal and fence itself.
	srv, err := startServer(ctx, bin, o.Work, "server", data, o.Clients, "--publish", store, "--lease-ttl", leaseTTL.String())
	if err != nil {
		haNotes = append(haNotes, fmt.Sprintf("Replication: not measured, the server did not start with --publish (%v).", err))
		store = ""
		if srv, err = startServer(ctx, bin, o.Work, "server", data, o.Clients); err != nil {
			return err
		}
	}
	defer func() { srv.stop() }()
	bim, err := retailBIM(data, "parquet")
	if err != nil {
		return err
	}
	logf("meridian serve: deploy and refresh from Parquet")
	srvRefresh, err := srv.deployAndRefresh(ctx, bim, "Retail")
	if err != nil {
		return err
	}
	srvRSS, srvPeak, err := srv.rss()
	if err != nil {
		return err
	}
	logf("meridian serve: refresh %.2f s; RSS %s (peak %s)", srvRefresh.Seconds(), size(float64(srvRSS)), size(float64(srvPeak)))

	r.Processing = []ratioRow{
		{Name: "CSV into memory", Unit: "s", Meridian: merCSV.Seconds(), Other: duckCSV.Seconds(), Against: "DuckDB read_csv"},
		{Name: "Parquet into memory", Unit: "s", Meridian: merParquet.Seconds(), Other: duckParquet.Seconds(), Against: "DuckDB read_parquet"},
		{Name: "Parquet into the server (HTTP refresh, image written to disk)", Unit: "s", Meridian: srvRefresh.Seconds(), Other: duckParquet.Seconds(), Against: "DuckDB read_parquet"},
	}
	r.Memory = []ratioRow{
		{Name: "image (column store bytes)", Unit: "bytes", Meridian: float64(image), Other: float64(duckMem), Against: "DuckDB memory (duckdb_memory(), all tags)",
			Note: fmt.Sprintf("DuckDB's in-memory table data alone: %s", size(float64(duckTables)))},
		{Name: "image (column store bytes)", Unit: "bytes", Meridian: float64(image), Other: float64(r.Data.ParquetBytes), Against: "the zstd Parquet files"},
		{Name: "image (column store bytes)", Unit: "bytes", Meridian: float64(image), Other: float64(r.Data.CSVBytes), Against: "the CSV files"},
		{Name: "server process RSS after refresh", Unit: "bytes", Meridian: float64(srvRSS), Other: float64(duckRSS), Against: "DuckDB: growth of this process's RSS over its load",
			Note: fmt.Sprintf("Meridian's peak during the refresh: %s", size(float64(srvPeak)))},
	}

	// Every query: same rows from every system, then timings.
	if err := checkAll(ctx, queries, dk, res.Model, srv); err != nil {
		return err
	}
	for _, q := range queries {
		qr, err := timeQuery(ctx, q, o, dk, res.Model, srv, res, r.Bandwidth.AllCores)
		if err != nil {
			return fmt.Errorf("%s: %w", q.ID, err)
		}
		r.Queries = append(r.Queries, qr)
		logf("%s %-60s duckdb %8s ms  meridian %8s ms (%s)  http %8s ms", q.ID, q.Name,
			ms(qr.DuckDB.Median), ms(qr.Meridian.Median), ratio(qr.Ratio), ms(qr.HTTP.Median))
	}
	// The bandwidth again, now that the timings are taken: on a shared
	// machine other work can depress either measurement, and the higher
	// one is the nearer to what the memory can do.
	bw2 := measureBandwidth(o.Bandwidth)
	logf("memory bandwidth again: %.1f GB/s on one core, %.1f GB/s on %d", bw2.SingleCore/1e9, bw2.AllCores/1e9, bw2.Cores)
	r.Bandwidth.SingleCore = max(r.Bandwidth.SingleCore, bw2.SingleCore)
	r.Bandwidth.AllCores = max(r.Bandwidth.AllCores, bw2.AllCores)
	for i := range r.Queries {
		r.Queries[i].setLimit(r.Bandwidth.AllCores)
	}
	summarize(r)

	// Throughput under concurrent clients.
	logf("throughput: %d clients for %s on each system", o.Clients, o.Throughput)
	mt := throughput(ctx, "Meridian (HTTP)", o.Clients, o.Throughput, queries, func(ctx context.Context, q query) error {
		_, err := srv.conn.Query(ctx, "Retail", q.DAX)
		return err
	})
	// Cancelled queries must not run on into DuckDB's turn.
	if err := waitIdle(ctx, srv.cmd.Process.Pid, time.Minute); err != nil {
		logf("throughput: %v", err)
	}
	dt := throughput(ctx, "DuckDB (in process)", o.Clients, o.Throughput, queries, func(ctx context.Context, q query) error {
		_, err := dk.query(ctx, q.SQL)
		return err
	})
	r.Throughput = []throughputRow{mt, dt}
	logf("throughput: meridian %.2f q/s (p50 %s ms, p99 %s ms), duckdb %.2f q/s (p50 %s ms, p99 %s ms)",
		mt.QPS, ms(mt.P50), ms(mt.P99), dt.QPS, ms(dt.P50), ms(dt.P99))
	if cur, _, err := srv.rss(); err == nil {
		r.Memory = append(r.Memory, ratioRow{Name: "server process RSS after the throughput test", Unit: "bytes", Meridian: float64(cur),
			Other: float64(duckRSS), Against: "DuckDB: growth of this process's RSS over its load"})
	}
	for i := range r.Memory {
		if r.Memory[i].Other > 0 {
			r.Memory[i].Ratio = r.Memory[i].Meridian / r.Memory[i].Other
		}
	}
	for i := range r.Processing {
		r.Processing[i].Ratio = r.Processing[i].Meridian / r.Processing[i].Other
	}

	if _, peak, err := srv.rss(); err == nil {
		r.PeakRSS.Server = peak
	}
	r.HA = measureHA(ctx, o, srv, bin, store, data, r.Data.ParquetBytes, srvRefresh, haNotes)

	if o.Profiles > 0 {
		r.Profiles = profileWorst(ctx, r, res.Model, o.Work, o.Profiles)
	}

	if _, peak, err := procRSS(os.Getpid()); err == nil {
		r.PeakRSS.Harness = peak
	}
	r.Machine.LoadAvg = append(r.Machine.LoadAvg, loadAverage())
	r.Seconds = time.Since(start).Seconds()
	if o.Out == "" {
		tmp := filepath.Join(o.Work, "benchmarks.md")
		if err := r.writeMarkdown(tmp); err != nil {
			return err
		}
		b, _ := os.ReadFile(tmp)
		os.Stdout.Write(b)
		return r.writeJSON(filepath.Join(o.Work, "benchmarks.json"))
	}
	if err := r.writeJSON(filepath.Join(o.Out, "benchmarks.json")); err != nil {
		return err
	}
	if err := r.writeMarkdown(filepath.Join(o.Out, "benchmarks.md")); err != nil {
		return err
	}
	logf("wrote %s and %s in %.0f s", filepath.Join(o.Out, "benchmarks.md"), filepath.Join(o.Out, "benchmarks.json"), r.Seconds)
	return nil
}

// measureHA gathers the backup, restore, replication and failover
// figures; the primary is killed at the end (failover), so it runs last.
func measureHA(ctx context.Context, o options, srv *serverProc, bin, store string, data *dataSet, parquetBytes int64, refresh time.Duration, notes []string) haSection {
	logf("backup and restore")
	rows, note := measureBackup(ctx, srv, o.Work, parquetBytes, refresh)
	if note != "" {
		notes = append(notes, note)
	}
	if store != "" {
		logf("replication: a follower of %s", store)
		rep := measureReplication(ctx, srv, bin, o.Work, store, data, refresh)
		rows = append(rows, rep.rows...)
		if rep.note != "" {
			notes = append(notes, "Replication: "+rep.note)
		}
		if rep.follower != nil {
			defer rep.follower.stop()
			if rep.note == "" {
				logf("failover: killing the primary")
				fo, err := measureFailover(ctx, srv, rep.follower, workload[0])
				if err != nil {
					notes = append(notes, fmt.Sprintf("Failover: %v.", err))
				}
				rows = append(rows, ratios(fo)...)
			}
		}
	}
	h := haSection{Rows: rows, Status: "measured"}
	switch {
	case len(rows) == 0:
		h.Status = "placeholder"
	case len(notes) > 0:
		h.Status = "partial"
	}
	h.Note = strings.Join(notes, " ")
	if h.Note == "" {
		h.Note = "Backup and restore through `POST /tmsl`; replication from `meridian serve --publish` to a `--follow` server through a file store; failover of the Go client from the killed primary to the follower."
	}
	if store != "" {
		h.Note += fmt.Sprintf(" The primary runs with `--lease-ttl %s`: with the default 15 s lease it was seen to miss a renewal under the throughput test's 32 clients on 2 cores and fence itself.", leaseTTL)
	}
	for _, r := range rows {
		logf("%s: %s", r.Name, r.value(r.Meridian))
	}
	return h
}

// checkAll runs every query once on every system and fails loudly when
// any two answers differ.
func checkAll(ctx context.Context, queries []query, dk *duck, m *engine.Model, srv *serverProc) error {
	var bad []string
	for _, q := range queries {
		want, err := dk.query(ctx, q.SQL)
		if err != nil {
			return fmt.Errorf("%s on DuckDB: %w", q.ID, err)
		}
		res, err := m.Query(ctx, q.DAX, engine.QueryOptions{})
		if err != nil {
			return fmt.Errorf("%s on Meridian: %w", q.ID, err)
		}
		if d := compareTables("duckdb", want, "meridian", meridianTable(res)); d != "" {
			bad = append(bad, fmt.Sprintf("%s %s: DuckDB and Meridian differ:\n%s", q.ID, q.Name, d))
		}
		hres, err := srv.conn.Query(ctx, "Retail", q.DAX)
		if err != nil {
			return fmt.Errorf("%s on Meridian over HTTP: %w", q.ID, err)
		}
		if d := compareTables("duckdb", want, "http", clientTable(hres)); d != "" {
			bad = append(bad, fmt.Sprintf("%s %s: DuckDB and Meridian over HTTP differ:\n%s", q.ID, q.Name, d))
		}
		if len(want) == 0 {
			bad = append(bad, fmt.Sprintf("%s %s: no rows: the query checks nothing", q.ID, q.Name))
		}
	}
	if len(bad) > 0 {
		for _, b := range bad {
			log.Print("MISMATCH " + b)
		}
		return fmt.Errorf("%w in %d case(s); no timings were taken", errMismatch, len(bad))
	}
	logf("check: %d queries, the same rows from DuckDB, Meridian and Meridian over HTTP", len(queries))
	return nil
}

// timeQuery measures one query on the three systems, interleaved per run
// so that a burst of load on the machine touches all of them.
func timeQuery(ctx context.Context, q query, o options, dk *duck, m *engine.Model, srv *serverProc, res *process.Result, bw float64) (queryResult, error) {
	qr := queryResult{query: q}
	var rows int
	runDuck := func() error {
		t, err := dk.query(ctx, q.SQL)
		rows = len(t)
		return err
	}
	runMer := func() error {
		_, err := m.Query(ctx, q.DAX, engine.QueryOptions{})
		return err
	}
	runHTTP := func() error {
		_, err := srv.conn.Query(ctx, "Retail", q.DAX)
		return err
	}
	for range o.Warmup {
		for _, f := range []func() error{runDuck, runMer, runHTTP} {
			if err := f(); err != nil {
				return qr, err
			}
		}
	}
	for range o.Runs {
		for i, f := range []func() error{runDuck, runMer, runHTTP} {
			t, err := measure(0, 1, f)
			if err != nil {
				return qr, err
			}
			p := [...]*timing{&qr.DuckDB, &qr.Meridian, &qr.HTTP}[i]
			p.Runs = append(p.Runs, t.Runs...)
		}
	}
	for _, p := range []*timing{&qr.DuckDB, &qr.Meridian, &qr.HTTP} {
		p.Median, p.Min = median(p.Runs), slices.Min(p.Runs)
	}
	qr.Rows = rows
	qr.Ratio = qr.Meridian.Median / qr.DuckDB.Median
	qr.RatioHTTP = qr.HTTP.Median / qr.DuckDB.Median
	var err error
	if qr.ScanBytes, err = columnBytes(res.Data, q.Cols); err != nil {
		return qr, err
	}
	qr.setLimit(bw)
	return qr, nil
}

// setLimit computes the query's physical limit for a bandwidth and
// whether it met its target.
func (qr *queryResult) setLimit(bw float64) {
	qr.LimitSeconds = float64(qr.ScanBytes) / bw
	qr.OverLimit = qr.Meridian.Median / qr.LimitSeconds
	switch qr.Kind {
	case kindStar:
		qr.Target = fmt.Sprintf("≤ %.1fx DuckDB", starTarget)
		qr.Met = qr.Ratio <= starTarget
	case kindScan:
		qr.Target = fmt.Sprintf("≤ %.0fx limit", scanTarget)
		qr.Met = qr.OverLimit <= scanTarget
	}
}

func summarize(r *report) {
	for _, q := range r.Queries {
		switch q.Kind {
		case kindStar:
			r.Summary.StarTotal++
			if q.Met {
				r.Summary.StarMet++
			}
		case kindScan:
			r.Summary.ScanTotal++
			if q.Met {
				r.Summary.ScanMet++
			}
		}
	}
	byRatio := slices.Clone(r.Queries)
	sort.Slice(byRatio, func(i, j int) bool { return byRatio[i].Ratio > byRatio[j].Ratio })
	for i := 0; i < min(3, len(byRatio)); i++ {
		r.Summary.Worst = append(r.Summary.Worst, fmt.Sprintf("%s (%s, %s)", byRatio[i].ID, byRatio[i].Name, ratio(byRatio[i].Ratio)))
	}
}

// throughput runs the workload from clients goroutines for d. Queries
// still running at the end are cancelled and not counted: at this scale
// one query can take longer under 32 clients than the whole test, and
// waiting for them would measure the stragglers rather than the system.
func throughput(ctx context.Context, name string, clients int, d time.Duration, queries []query, run func(context.Context, query) error) throughputRow {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []float64
	var errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var mine []float64
			for i := c; ctx.Err() == nil; i++ {
				q := queries[i%len(queries)]
				t0 := time.Now()
				if err := run(ctx, q); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				mine = append(mine, time.Since(t0).Seconds())
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := min(time.Since(start), d).Seconds()
	slices.Sort(lat)
	return throughputRow{System: name, Clients: clients, Queries: len(lat), Errors: int(errs.Load()), Seconds: el,
		QPS: float64(len(lat)) / el, P50: percentile(lat, 0.5), P99: percentile(lat, 0.99)}
}

// pprofTop returns the heaviest functions of a profile as `go tool pprof
// -top` lists them, or nothing when the tool cannot be run.
func pprofTop(ctx context.Context, path string) []string {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount", "8", path).Output()
	if err != nil {
		return nil
	}
	var lines []string
	table := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "flat%") {
			table = true
		}
		if table && strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// profileWorst writes CPU profiles of the queries with the highest ratio
// to DuckDB, each run for about three seconds in process.
func profileWorst(ctx context.Context, r *report, m *engine.Model, work string, n int) []profileRef {
	byRatio := slices.Clone(r.Queries)
	sort.Slice(byRatio, func(i, j int) bool { return byRatio[i].Ratio > byRatio[j].Ratio })
	dir := filepath.Join(work, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("profiles: %v", err)
		return nil
	}
	var out []profileRef
	for i := 0; i < min(n, len(byRatio)); i++ {
		q := byRatio[i]
		path := filepath.Join(dir, q.ID+".pprof")
		f, err := os.Create(path)
		if err != nil {
			logf("profiles: %v", err)
			return out
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			logf("profiles: %v", err)
			return out
		}
		end := time.Now().Add(3 * time.Second)
		runs := 0
		for (runs < 3 || time.Now().Before(end)) && ctx.Err() == nil {
			if _, err := m.Query(ctx, q.DAX, engine.QueryOptions{}); err != nil {
				break
			}
			runs++
		}
		pprof.StopCPUProfile()
		f.Close()
		out = append(out, profileRef{Query: q.ID, Path: path, Runs: runs, Top: pprofTop(ctx, path)})
		logf("profile of %s (%d runs) written to %s", q.ID, runs, path)
	}
	return out
}
