package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The targets the report checks.
const (
	starTarget = 0.5 // Meridian's latency over DuckDB's on star-schema aggregation
	scanTarget = 4.0 // Meridian's latency over the memory-bandwidth limit on single-table scans
)

type report struct {
	Date     string  `json:"date"`
	Machine  machine `json:"machine"`
	Scale    scale   `json:"scale"`
	Settings struct {
		Runs              int     `json:"runs"`
		Warmup            int     `json:"warmup"`
		Clients           int     `json:"clients"`
		ThroughputSeconds float64 `json:"throughputSeconds"`
	} `json:"settings"`
	Data struct {
		Dir          string  `json:"dir"`
		CSVBytes     int64   `json:"csvBytes"`
		ParquetBytes int64   `json:"parquetBytes"`
		Generated    bool    `json:"generatedThisRun"`
		GenSeconds   float64 `json:"generationSeconds,omitempty"`
	} `json:"data"`
	Bandwidth  bandwidthResult `json:"bandwidth"`
	Processing []ratioRow      `json:"processing"`
	Memory     []ratioRow      `json:"memory"`
	Queries    []queryResult   `json:"queries"`
	Throughput []throughputRow `json:"throughput"`
	HA         haSection       `json:"highAvailability"`
	Profiles   []profileRef    `json:"profiles,omitempty"`
	Summary    summary         `json:"summary"`
	// Peaks of resident memory: this harness process (DuckDB and
	// Meridian in process) and the server.
	PeakRSS struct {
		Harness int64 `json:"harnessBytes"`
		Server  int64 `json:"serverBytes"`
	} `json:"peakRSS"`
	Seconds float64 `json:"totalSeconds"`
}

type scale struct {
	SF        float64          `json:"sf"`
	SalesRows int64            `json:"salesRows"`
	Tables    map[string]int64 `json:"tableRows"`
}

// ratioRow is one measure of processing or memory: Meridian's figure,
// the other one and Meridian's over the other.
type ratioRow struct {
	Name     string  `json:"name"`
	Unit     string  `json:"unit"` // "s" or "bytes"
	Meridian float64 `json:"meridian"`
	Other    float64 `json:"other"`
	Against  string  `json:"against"`
	Ratio    float64 `json:"ratio"`
	Note     string  `json:"note,omitempty"`
}

type queryResult struct {
	query
	Rows         int     `json:"rows"`
	DuckDB       timing  `json:"duckdb"`
	Meridian     timing  `json:"meridian"`
	HTTP         timing  `json:"meridianHTTP"`
	Ratio        float64 `json:"ratio"`     // Meridian in process over DuckDB, medians
	RatioHTTP    float64 `json:"ratioHTTP"` // Meridian over HTTP over DuckDB
	ScanBytes    int64   `json:"scanBytes"`
	LimitSeconds float64 `json:"limitSeconds"` // ScanBytes over the all-cores bandwidth
	OverLimit    float64 `json:"timeOverLimit"`
	Target       string  `json:"target"`
	Met          bool    `json:"met"`
}

type throughputRow struct {
	System  string  `json:"system"`
	Clients int     `json:"clients"`
	Queries int     `json:"queries"`
	Errors  int     `json:"errors"`
	Seconds float64 `json:"seconds"`
	QPS     float64 `json:"queriesPerSecond"`
	P50     float64 `json:"p50Seconds"`
	P99     float64 `json:"p99Seconds"`
}

type haSection struct {
	Status string     `json:"status"` // "measured", "partial" or "placeholder"
	Note   string     `json:"note"`
	Rows   []ratioRow `json:"rows,omitempty"`
}

// profileRef is a CPU profile of one query and its heaviest functions.
type profileRef struct {
	Query string   `json:"query"`
	Path  string   `json:"path"`
	Runs  int      `json:"runs"`
	Top   []string `json:"top,omitempty"`
}

type summary struct {
	StarMet, StarTotal int
	ScanMet, ScanTotal int
	Worst              []string `json:"worst"` // the three queries with the highest ratio to DuckDB
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func ms(s float64) string {
	switch {
	case s == 0:
		return "–"
	case s < 0.01:
		return fmt.Sprintf("%.2f", s*1000)
	case s < 1:
		return fmt.Sprintf("%.1f", s*1000)
	}
	return fmt.Sprintf("%.0f", s*1000)
}

func ratio(x float64) string {
	if x == 0 {
		return "–"
	}
	if x < 0.1 {
		return fmt.Sprintf("%.3fx", x)
	}
	return fmt.Sprintf("%.2fx", x)
}

func size(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func (r *ratioRow) value(x float64) string {
	switch {
	case x == 0:
		return "–"
	case r.Unit == "bytes":
		return size(x)
	case x < 1:
		return ms(x) + " ms"
	}
	return fmt.Sprintf("%.2f s", x)
}

func warmupText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", then %d more run(s)", n)
}

func metText(q queryResult) string {
	if q.Met {
		return "met"
	}
	return "**not met**"
}

// writeMarkdown writes the human report.
func (r *report) writeMarkdown(path string) error {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks: Meridian and DuckDB on the retail star schema\n\n")
	w("Written by `make bench` (the harness in `bench/`) on %s, scale factor %g (%d sales rows). ",
		r.Date, r.Scale.SF, r.Scale.SalesRows)
	w("Every figure below comes from this one run; `docs/benchmarks.json` has every number, the individual runs and the queries' text.\n\n")
	w("Ratios are Meridian's figure over the other system's: below 1 Meridian is faster or smaller.\n\n")

	w("## Summary\n\n")
	w("| target | met |\n| --- | --- |\n")
	w("| star-schema aggregation: Meridian at most %.1fx DuckDB's median latency | %d of %d queries |\n", starTarget, r.Summary.StarMet, r.Summary.StarTotal)
	w("| single-table scans: within %.0fx of the memory-bandwidth limit | %d of %d queries |\n\n", scanTarget, r.Summary.ScanMet, r.Summary.ScanTotal)
	if len(r.Summary.Worst) > 0 {
		w("Highest ratios to DuckDB: %s.\n\n", strings.Join(r.Summary.Worst, ", "))
	}

	w("## Machine\n\n")
	w("| | |\n| --- | --- |\n")
	w("| CPU | %s |\n| cores | %d |\n| memory | %s |\n| OS | %s |\n| Go | %s |\n| DuckDB | %s (github.com/duckdb/duckdb-go/v2 v2.10506.0, in process) |\n",
		r.Machine.CPU, r.Machine.Cores, size(float64(r.Machine.MemBytes)), r.Machine.OS, r.Machine.Go, r.Machine.DuckDB)
	w("| load average (1, 5, 15 min) | %s |\n", strings.Join(r.Machine.LoadAvg, " → "))
	w("| memory bandwidth (sum of a %s []uint32, the better of a measurement before the loads and one after the timings) | %.1f GB/s on one core, %.1f GB/s on %d cores |\n\n",
		size(float64(r.Bandwidth.Bytes)), r.Bandwidth.SingleCore/1e9, r.Bandwidth.AllCores/1e9, r.Bandwidth.Cores)
	w("The load average is the machine's whole load: on a shared machine, other work competes for the cores and every latency below is longer than on an idle one. Both systems ran in the same conditions, interleaved query by query, so the ratios hold better than the absolute times.\n\n")

	w("## Scale and data\n\n")
	w("| table | rows |\n| --- | ---: |\n")
	for _, t := range []string{"Sales", "Date", "Product", "Customer", "Store"} {
		w("| %s | %d |\n", t, r.Scale.Tables[t])
	}
	w("\nCSV files: %s. Parquet files (zstd, dictionary-encoded, row groups of 1,048,576 rows): %s.", size(float64(r.Data.CSVBytes)), size(float64(r.Data.ParquetBytes)))
	if r.Data.Generated {
		w(" Generated by this run in %.1f s.", r.Data.GenSeconds)
	} else {
		w(" Cached from an earlier run.")
	}
	w("\n\n")

	w("## Query latency\n\n")
	w("Median of %d runs, milliseconds, after a warm-up (the check run below%s). Meridian in process is `engine.Model.Query` (parse, evaluate, rows in memory); over HTTP it is the Power BI `executeQueries` endpoint of `meridian serve` in its own process, through the Go client (JSON both ways). DuckDB runs the SQL in process through database/sql, every row read. Both systems answered every query with the same rows before any timing (sorted, numbers within a relative 1e-9, BLANK as NULL, dates to the second).\n\n", r.Settings.Runs, warmupText(r.Settings.Warmup))
	w("| query | kind | rows | DuckDB | Meridian | ratio | Meridian HTTP | ratio | target | |\n")
	w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, q := range r.Queries {
		w("| %s %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", q.ID, q.Name, q.Kind, q.Rows, ms(q.DuckDB.Median), ms(q.Meridian.Median),
			ratio(q.Ratio), ms(q.HTTP.Median), ratio(q.RatioHTTP), q.Target, metText(q))
	}
	w("\n## The physical limit\n\n")
	w("For each query, the bytes of column data its scans must read (the packed segment bytes of the columns it touches, from the column store) divided by the memory bandwidth measured above on all cores: no scan of those columns can be faster. Time over limit is Meridian's median latency over that limit.\n\n")
	w("| query | kind | column bytes | limit (ms) | Meridian (ms) | time / limit |\n| --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, q := range r.Queries {
		w("| %s %s | %s | %s | %.3f | %s | %.0fx |\n", q.ID, q.Name, q.Kind, size(float64(q.ScanBytes)), q.LimitSeconds*1000, ms(q.Meridian.Median), q.OverLimit)
	}

	w("\n## Processing\n\n")
	w("Time to read the files into memory: Meridian's `process.Refresh` of the whole model (every table read, encoded, relationships indexed) against DuckDB's `CREATE TABLE ... AS SELECT * FROM read_csv(...)` / `read_parquet(...)` of every table.\n\n")
	w("| measure | Meridian | other | against | ratio | |\n| --- | ---: | ---: | --- | ---: | --- |\n")
	for _, p := range r.Processing {
		w("| %s | %s | %s | %s | %s | %s |\n", p.Name, p.value(p.Meridian), p.value(p.Other), p.Against, ratio(p.Ratio), p.Note)
	}
	w("\n## Memory\n\n")
	w("| measure | Meridian | other | against | ratio | |\n| --- | ---: | ---: | --- | ---: | --- |\n")
	for _, p := range r.Memory {
		w("| %s | %s | %s | %s | %s | %s |\n", p.Name, p.value(p.Meridian), p.value(p.Other), p.Against, ratio(p.Ratio), p.Note)
	}

	w("\n## Throughput\n\n")
	w("%d concurrent clients, every client running the whole workload in turn from a different starting query; queries still running after %.0f s are cancelled and not counted (the server is let go idle before DuckDB's turn). Meridian is served over HTTP by `meridian serve`; DuckDB is queried by as many goroutines through database/sql in process.\n\n", r.Settings.Clients, r.Settings.ThroughputSeconds)
	w("| system | clients | queries | errors | queries/s | p50 (ms) | p99 (ms) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, t := range r.Throughput {
		w("| %s | %d | %d | %d | %.2f | %s | %s |\n", t.System, t.Clients, t.Queries, t.Errors, t.QPS, ms(t.P50), ms(t.P99))
	}
	if len(r.Throughput) == 2 && r.Throughput[1].QPS > 0 {
		w("\nMeridian's throughput over DuckDB's: %s.\n", ratio(r.Throughput[0].QPS/r.Throughput[1].QPS))
	}

	w("\n## Backup, restore, replication, failover\n\n")
	w("Status: **%s**. %s\n", r.HA.Status, r.HA.Note)
	if len(r.HA.Rows) > 0 {
		w("\n| measure | Meridian | other | against | ratio | |\n| --- | ---: | ---: | --- | ---: | --- |\n")
		for _, p := range r.HA.Rows {
			w("| %s | %s | %s | %s | %s | %s |\n", p.Name, p.value(p.Meridian), p.value(p.Other), p.Against, ratio(p.Ratio), p.Note)
		}
	}

	if len(r.Profiles) > 0 {
		w("\n## Profiles\n\n")
		w("CPU profiles of Meridian in process on the queries with the highest ratios to DuckDB, each run for about three seconds (at least three runs); the files are in the work directory (`go tool pprof -top FILE`).\n")
		for _, p := range r.Profiles {
			w("\n%s, %d runs, `%s`:\n\n", p.Query, p.Runs, p.Path)
			if len(p.Top) > 0 {
				w("```\n%s\n```\n", strings.Join(p.Top, "\n"))
			}
		}
	}
	w("\n## Running it\n\n")
	w("`make bench` runs the harness at scale factor 10; `BENCH_SF=1 make bench` is a quicker run, and `BENCH_SF=100 make bench` runs 100 million sales rows where memory allows. ")
	if r.PeakRSS.Harness > 0 {
		w("In this run the harness process (DuckDB and Meridian in process) peaked at %s of resident memory and the server at %s; memory grows about linearly with the scale, so SF100 needs roughly %s, plus %s of disk for its files. ",
			size(float64(r.PeakRSS.Harness)), size(float64(r.PeakRSS.Server)),
			size(float64(r.PeakRSS.Harness+r.PeakRSS.Server)*100/r.Scale.SF), size(float64(r.Data.CSVBytes+r.Data.ParquetBytes)*100/r.Scale.SF))
	}
	w("The harness is its own Go module (`bench/go.mod`) so that DuckDB's cgo build stays out of the server. Generated files are cached in the work directory between runs. ")
	w("`cd bench && go run . -h` lists the options.\n\n")
	w("The queries, DAX and SQL side by side, are in `bench/workload.go`.\n\n")
	w("Total run time: %.0f s.\n", r.Seconds)
	return writeAtomic(path, []byte(b.String()))
}
