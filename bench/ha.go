package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// haPending says what the harness does not measure yet.
const haPending = " Replication and failover figures (publish lag, follower catch-up, the time clients take to move to the next server) are not measured yet: they need a group of servers (`meridian serve --publish/--follow`, `meridian failover`), which this harness will drive once those commands are complete."

// measureHA times a backup and a restore of the benchmark database through
// the server's TMSL endpoint, when the server supports them: the backup's
// size against the Parquet files, the restore's time against the refresh
// that built the database.
func measureHA(ctx context.Context, srv *serverProc, work string, parquetBytes int64, refresh time.Duration) haSection {
	file := "bench/Retail.abf"
	cmd, _ := json.Marshal(map[string]any{"backup": map[string]any{
		"database": "Retail", "file": file, "allowOverwrite": true, "applyCompression": true}})
	start := time.Now()
	if _, err := srv.conn.TMSL(ctx, cmd); err != nil {
		return haSection{Status: "placeholder",
			Note: fmt.Sprintf("The server refused the TMSL backup command (%v), so backup and restore are not measured in this run.", err) + haPending}
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
		return haSection{Status: "partial", Note: fmt.Sprintf("Backup works; the TMSL restore was refused (%v).", err) + haPending, Rows: ratios(rows)}
	}
	rows = append(rows, ratioRow{Name: "restore as a new database (verified, committed)", Unit: "s", Meridian: time.Since(start).Seconds(),
		Other: refresh.Seconds(), Against: "the refresh from Parquet"})
	return haSection{Status: "partial", Note: "Backup and restore of the benchmark database through `POST /tmsl`." + haPending, Rows: ratios(rows)}
}

func ratios(rows []ratioRow) []ratioRow {
	for i := range rows {
		if rows[i].Other > 0 {
			rows[i].Ratio = rows[i].Meridian / rows[i].Other
		}
	}
	return rows
}
