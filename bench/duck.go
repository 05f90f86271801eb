package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/meridian-olap/meridian/internal/value"
)

// duck is DuckDB in this process, holding the sample in memory.
type duck struct {
	db      *sql.DB
	version string
}

func openDuck(ctx context.Context) (*duck, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	// One in-memory database shared by every connection of the pool.
	d := &duck{db: db}
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&d.version); err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb version: %w", err)
	}
	return d, nil
}

func (d *duck) Close() error { return d.db.Close() }

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func duckType(t value.Type) string {
	switch t {
	case value.DateTime:
		return "DATE"
	case value.Currency:
		return "DECIMAL(18,4)"
	case value.Integer:
		return "BIGINT"
	}
	return "VARCHAR"
}

// loadCSV creates the tables of the sample in schema from its CSV files
// with read_csv, the column types given as the model gives them.
func (d *duck) loadCSV(ctx context.Context, schema string, data *dataSet) (time.Duration, error) {
	if _, err := d.db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(schema)); err != nil {
		return 0, err
	}
	start := time.Now()
	for _, t := range data.Tables {
		var cols []string
		for _, c := range t.Columns {
			cols = append(cols, sqlString(c.Name)+": "+sqlString(duckType(c.Type)))
		}
		q := fmt.Sprintf("CREATE TABLE %s.%s AS SELECT * FROM read_csv(%s, header = true, delim = ',', quote = '\"', columns = {%s})",
			quote(schema), quote(t.Name), sqlString(data.csv(t.Name)), strings.Join(cols, ", "))
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("duckdb: load %s.csv: %w", t.Name, err)
		}
	}
	return time.Since(start), nil
}

// loadParquet creates the tables of the sample in schema from its
// Parquet files with read_parquet.
func (d *duck) loadParquet(ctx context.Context, schema string, data *dataSet) (time.Duration, error) {
	if _, err := d.db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(schema)); err != nil {
		return 0, err
	}
	start := time.Now()
	for _, t := range data.Tables {
		q := fmt.Sprintf("CREATE TABLE %s.%s AS SELECT * FROM read_parquet(%s)", quote(schema), quote(t.Name), sqlString(data.parquet(t.Name)))
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("duckdb: load %s.parquet: %w", t.Name, err)
		}
	}
	return time.Since(start), nil
}

func (d *duck) dropSchema(ctx context.Context, schema string) error {
	_, err := d.db.ExecContext(ctx, "DROP SCHEMA "+quote(schema)+" CASCADE")
	return err
}

// memory reports DuckDB's own accounting (duckdb_memory()): the bytes
// its buffer manager holds in all, and those of in-memory table data.
func (d *duck) memory(ctx context.Context) (total, tables int64, err error) {
	rows, err := d.db.QueryContext(ctx, "SELECT tag, memory_usage_bytes FROM duckdb_memory()")
	if err != nil {
		return 0, 0, fmt.Errorf("duckdb_memory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tag string
		var n int64
		if err := rows.Scan(&tag, &n); err != nil {
			return 0, 0, fmt.Errorf("duckdb_memory: %w", err)
		}
		total += n
		if tag == "IN_MEMORY_TABLE" || tag == "BASE_TABLE" {
			tables += n
		}
	}
	return total, tables, rows.Err()
}

// rowCount counts a table's rows, to check a load.
func (d *duck) rowCount(ctx context.Context, schema, table string) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s.%s", quote(schema), quote(table))).Scan(&n)
	return n, err
}

// query runs a query and reads every row, as a client would.
func (d *duck) query(ctx context.Context, q string) (table, error) {
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var t table
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]cell, len(cols))
		for i, v := range vals {
			c, err := fromSQL(v)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", cols[i], err)
			}
			row[i] = c
		}
		t = append(t, row)
	}
	return t, rows.Err()
}

// checkLoad checks that a schema holds the generated row counts.
func (d *duck) checkLoad(ctx context.Context, schema string, data *dataSet) error {
	for _, t := range data.Tables {
		n, err := d.rowCount(ctx, schema, t.Name)
		if err != nil {
			return err
		}
		if n != t.Rows {
			return fmt.Errorf("duckdb: %s.%s has %d rows, want %d", schema, t.Name, n, t.Rows)
		}
	}
	return nil
}
