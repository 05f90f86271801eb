// Command bench measures Meridian against DuckDB on the retail star
// schema and against the hardware's limit, and writes the report
// (docs/benchmarks.md and docs/benchmarks.json; `make bench`).
//
// In one run it measures the memory bandwidth (a sum over a large
// []uint32 on one core and on all), writes the sample at the chosen scale
// as CSV and zstd Parquet (cached in the work directory), loads it into
// DuckDB (read_csv, read_parquet) and into Meridian (process.Refresh from
// both formats, and a refresh through `meridian serve` in its own
// process), checks that DuckDB, Meridian in process and Meridian over
// HTTP give the same rows for every query of the workload (a difference
// stops the run before any timing), times every query on the three, runs
// concurrent clients against the server and against DuckDB, and profiles
// the queries where Meridian compares worst.
//
// The harness is a module of its own so that DuckDB's cgo build never
// reaches the server's; it uses the repository it sits in through a
// replace directive.
package main
