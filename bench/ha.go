package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/meridian-olap/meridian/client"
)

// measureBackup times a backup and a restore of the benchmark database
// through the server's TMSL endpoint: the backup's size against the
// Parquet files, the restore's time against the refresh that built the
// database. The note says what could not be measured.
func measureBackup(ctx context.Context, srv *serverProc, work string, parquetBytes int64, refresh time.Duration) ([]ratioRow, string) {
	file := "bench/Retail.abf"
	cmd, _ := json.Marshal(map[string]any{"backup": map[string]any{
		"database": "Retail", "file": file, "allowOverwrite": true, "applyCompression": true}})
	start := time.Now()
	if _, err := srv.conn.TMSL(ctx, cmd); err != nil {
		return nil, fmt.Sprintf("Backup and restore: not measured, the server refused the TMSL backup command (%v).", err)
	}
	backup := time.Since(start)
	rows := []ratioRow{{Name: "backup to the server's file store (TMSL backup, compressed)", Unit: "s", Meridian: backup.Seconds(),
		Other: refresh.Seconds(), Against: "the refresh from Parquet"}}
	if st, err := os.Stat(filepath.Join(work, "server-data", "backups", file)); err == nil {
		rows = append(rows, ratioRow{Name: "backup file size", Unit: "bytes", Meridian: float64(st.Size()),
			Other: float64(parquetBytes), Against: "the zstd Parquet files"})
	}
	cmd, _ = json.Marshal(map[string]any{"restore": map[string]any{
		"database": "RetailRestored", "file": file, "allowOverwrite": true}})
	start = time.Now()
	if _, err := srv.conn.TMSL(ctx, cmd); err != nil {
		return ratios(rows), fmt.Sprintf("Restore: not measured, the server refused the TMSL restore command (%v).", err)
	}
	rows = append(rows, ratioRow{Name: "restore as a new database (verified, committed)", Unit: "s", Meridian: time.Since(start).Seconds(),
		Other: refresh.Seconds(), Against: "the refresh from Parquet"})
	return ratios(rows), ""
}

func ratios(rows []ratioRow) []ratioRow {
	for i := range rows {
		if rows[i].Other > 0 {
			rows[i].Ratio = rows[i].Meridian / rows[i].Other
		}
	}
	return rows
}

// replication is a follower of the benchmark server and what was
// measured of it.
type replication struct {
	follower *serverProc
	rows     []ratioRow
	note     string
}

// measureReplication starts a follower of the store the primary publishes
// to and measures how long a new follower takes to serve the primary's
// version (the whole image fetched), then the lag of a small commit (a
// refresh of one dimension table) from the primary's answer to the
// follower serving it.
func measureReplication(ctx context.Context, primary *serverProc, bin, work, store string, data *dataSet, refresh time.Duration) replication {
	start := time.Now()
	f, err := startServer(ctx, bin, work, "follower", data, 4, "--follow", store, "--follow-interval", "50ms")
	if err != nil {
		return replication{note: fmt.Sprintf("the follower did not start: %v.", err)}
	}
	rep := replication{follower: f}
	if err := waitInSync(ctx, primary, f, "Retail", 10*time.Minute); err != nil {
		rep.note = fmt.Sprintf("the follower did not catch up: %v.", err)
		return rep
	}
	catchUp := time.Since(start)
	// The follower must give the primary's answers.
	q := workload[0]
	want, err := primary.conn.Query(ctx, "Retail", q.DAX)
	if err == nil {
		var got *client.Result
		if got, err = f.conn.Query(ctx, "Retail", q.DAX); err == nil {
			if d := compareTables("primary", clientTable(want), "follower", clientTable(got)); d != "" {
				err = fmt.Errorf("%s differs:\n%s", q.ID, d)
			}
		}
	}
	if err != nil {
		rep.note = fmt.Sprintf("the follower's answer was not the primary's: %v.", err)
		return rep
	}
	rep.rows = append(rep.rows, ratioRow{Name: "a new follower serves the primary's version (process start, whole image fetched from the file store, loaded)",
		Unit: "s", Meridian: catchUp.Seconds(), Other: refresh.Seconds(), Against: "the refresh from Parquet"})
	job, err := primary.conn.Refresh(ctx, "Retail", client.RefreshRequest{Type: "full", Objects: []client.RefreshObject{{Table: "Store"}}})
	if err == nil {
		var st *client.RefreshStatus
		if st, err = job.Wait(ctx, 20*time.Millisecond, nil); err == nil && !st.Succeeded() {
			err = fmt.Errorf("refresh %s", st.Status)
		}
	}
	if err != nil {
		rep.note = fmt.Sprintf("the small commit on the primary failed: %v.", err)
		return ratiosOf(rep)
	}
	committed := time.Now()
	if err := waitInSync(ctx, primary, f, "Retail", 5*time.Minute); err != nil {
		rep.note = fmt.Sprintf("the follower did not follow the small commit: %v.", err)
		return ratiosOf(rep)
	}
	rep.rows = append(rep.rows, ratioRow{Name: "replication lag of a small commit (refresh of Store): the primary's answer to the follower serving it",
		Unit: "s", Meridian: time.Since(committed).Seconds()})
	return ratiosOf(rep)
}

func ratiosOf(r replication) replication {
	r.rows = ratios(r.rows)
	return r
}

// waitInSync waits until the follower serves the primary's version of db
// with the same image hash.
func waitInSync(ctx context.Context, primary, follower *serverProc, db string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		p, err := primary.database(ctx, db)
		if err != nil {
			return err
		}
		f, err := follower.database(ctx, db)
		if err == nil && p != nil && f != nil && f.Version == p.Version && f.ImageHash == p.ImageHash && f.State == p.State {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not in sync after %s (last error %v)", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// measureFailover kills the primary and times the first query of a client
// whose connection string lists the primary and then the follower: the
// time to find the primary gone and get the answer from the follower.
func measureFailover(ctx context.Context, primary, follower *serverProc, q query) ([]ratioRow, error) {
	cs := fmt.Sprintf("Data Source=%s,%s;Initial Catalog=Retail", primary.url, follower.url)
	conn, err := client.Open(ctx, cs, client.Options{Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.Query(ctx, "", q.DAX); err != nil {
		return nil, fmt.Errorf("query before the failover: %w", err)
	}
	normal := time.Now()
	if _, err := follower.conn.Query(ctx, "Retail", q.DAX); err != nil {
		return nil, fmt.Errorf("query on the follower: %w", err)
	}
	onFollower := time.Since(normal)
	primary.kill()
	start := time.Now()
	if _, err := conn.Query(ctx, "", q.DAX); err != nil {
		return nil, fmt.Errorf("query after the primary was killed: %w", err)
	}
	return []ratioRow{{Name: fmt.Sprintf("failover: first read (%s) after the primary is killed, answered by the follower", q.ID),
		Unit: "s", Meridian: time.Since(start).Seconds(), Other: onFollower.Seconds(), Against: "the same query sent to the follower directly"}}, nil
}
