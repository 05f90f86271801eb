package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newRefreshCommand) }

// refreshTypes are the refresh types of the AAS refresh API, by lower-case
// spelling.
var refreshTypes = map[string]string{
	"full": "full", "clearvalues": "clearValues", "calculate": "calculate",
	"dataonly": "dataOnly", "automatic": "automatic", "defragment": "defragment",
}

func newRefreshCommand() *cobra.Command {
	var f clientFlags
	var (
		typ            string
		tables         []string
		partitions     []string
		commitMode     string
		maxParallelism int
		retryCount     int
		noWait         bool
		poll           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "refresh DB",
		Short: "Refresh a database (load its data) and show progress",
		Long: `Refresh database DB on the primary server through the asynchronous refresh
API, show progress (partitions done, and rows read when the server reports
them) and print a summary when it ends.

Types: full (the default), dataOnly, calculate, clearValues, automatic,
defragment. --table limits the refresh to tables (repeatable); --partition
to partitions of the one table given with --table.

Interrupting the command stops watching, not the refresh, which goes on
on the server.`,
		Example: `  meridian refresh Retail
  meridian refresh Retail --table Sales --partition "Sales 2024"
  meridian refresh Retail --type dataOnly --table Sales --table Product --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := refreshRequest(typ, tables, partitions, commitMode, maxParallelism, retryCount)
			if err != nil {
				return usageError(err)
			}
			if poll <= 0 {
				return usageError(fmt.Errorf("--poll must be positive"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			conn, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			job, err := conn.Refresh(ctx, args[0], req)
			if err != nil {
				return commandError(err)
			}
			out := cmd.OutOrStdout()
			if noWait {
				if f.json {
					return printJSON(out, map[string]string{"refreshId": job.ID, "database": job.Database, "server": job.Server})
				}
				fmt.Fprintf(out, "Refresh %s of %s started on %s.\n", job.ID, job.Database, job.Server)
				return nil
			}
			st, err := watchRefresh(ctx, job, cmd.ErrOrStderr(), poll)
			if ctx.Err() != nil && cmd.Context().Err() == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "meridian: stopped watching; refresh %s of %s goes on on %s\n", job.ID, job.Database, job.Server)
				return fmt.Errorf("interrupted")
			}
			if st != nil && f.json {
				if perr := printJSON(out, st); perr != nil {
					return perr
				}
			} else if st != nil {
				fmt.Fprintln(out, refreshSummary(job.Database, st))
			}
			return commandError(err)
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&typ, "type", "full", "refresh type: full, dataOnly, calculate, clearValues, automatic or defragment")
	fl.StringArrayVar(&tables, "table", nil, "table to refresh (repeatable; default every table)")
	fl.StringArrayVar(&partitions, "partition", nil, "partition of the --table to refresh (repeatable)")
	fl.StringVar(&commitMode, "commit-mode", "", "transactional (all or nothing, the server's default) or partialBatch")
	fl.IntVar(&maxParallelism, "max-parallelism", 0, "partitions processed at once (default: the server's)")
	fl.IntVar(&retryCount, "retry-count", 0, "times the server retries a failed refresh")
	fl.BoolVar(&noWait, "no-wait", false, "start the refresh and return without waiting for it")
	fl.DurationVar(&poll, "poll", 500*time.Millisecond, "how often to read the refresh's status")
	return cmd
}

// refreshRequest checks the flags and builds the request.
func refreshRequest(typ string, tables, partitions []string, commitMode string, maxParallelism, retryCount int) (client.RefreshRequest, error) {
	var req client.RefreshRequest
	t, ok := refreshTypes[strings.ToLower(typ)]
	if !ok {
		return req, fmt.Errorf("--type %q: want full, dataOnly, calculate, clearValues, automatic or defragment", typ)
	}
	req.Type = t
	switch strings.ToLower(commitMode) {
	case "":
	case "transactional":
		req.CommitMode = "transactional"
	case "partialbatch":
		req.CommitMode = "partialBatch"
	default:
		return req, fmt.Errorf("--commit-mode %q: want transactional or partialBatch", commitMode)
	}
	if maxParallelism < 0 || retryCount < 0 {
		return req, fmt.Errorf("--max-parallelism and --retry-count must not be negative")
	}
	req.MaxParallelism, req.RetryCount = maxParallelism, retryCount
	for _, t := range tables {
		if strings.TrimSpace(t) == "" {
			return req, fmt.Errorf("--table must not be empty")
		}
	}
	if len(partitions) > 0 {
		if len(tables) != 1 {
			return req, fmt.Errorf("--partition needs exactly one --table, the table the partitions belong to")
		}
		for _, p := range partitions {
			if strings.TrimSpace(p) == "" {
				return req, fmt.Errorf("--partition must not be empty")
			}
			req.Objects = append(req.Objects, client.RefreshObject{Table: tables[0], Partition: p})
		}
		return req, nil
	}
	for _, t := range tables {
		req.Objects = append(req.Objects, client.RefreshObject{Table: t})
	}
	return req, nil
}

// watchRefresh polls a refresh until it ends, drawing a progress bar of
// partitions done (and rows read, when the server reports them) on w.
// The bar has one step more than there are partitions: the commit, which
// comes after the last partition and before the refresh succeeds.
func watchRefresh(ctx context.Context, job *client.RefreshJob, w io.Writer, poll time.Duration) (*client.RefreshStatus, error) {
	var bar *progressbar.ProgressBar
	describe := func(st *client.RefreshStatus) string {
		done, total, rows := st.Progress()
		d := fmt.Sprintf("Refreshing %s: %d/%d partitions", job.Database, done, total)
		if rows > 0 {
			d += ", " + groupDigits(rows) + " rows"
		}
		if done == total && total > 0 && !st.Done() {
			d += ", committing"
		}
		return d
	}
	st, err := job.Wait(ctx, poll, func(st *client.RefreshStatus) {
		done, total, _ := st.Progress()
		if bar == nil {
			bar = progressbar.NewOptions(total+1,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetWidth(30),
				progressbar.OptionSetPredictTime(false),
				progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionSetDescription(describe(st)),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)
		}
		if total+1 != bar.GetMax() {
			bar.ChangeMax(total + 1)
		}
		bar.Describe(describe(st))
		if st.Succeeded() {
			bar.Finish()
			return
		}
		bar.Set(min(done, total))
	})
	if bar != nil && !bar.IsFinished() {
		bar.Exit()
		fmt.Fprintln(w)
	}
	var ce *client.Error
	if err != nil && st != nil && errors.As(err, &ce) {
		// The refresh ended badly. Its error is in err; list the other
		// messages (retries) and the partitions that failed.
		for _, m := range st.Messages {
			if !strings.EqualFold(m.Type, "error") {
				fmt.Fprintf(w, "meridian: %s: %s\n", firstNonEmpty(m.Type, "message"), printable(m.Message))
			}
		}
		for _, o := range st.Objects {
			if strings.EqualFold(o.Status, client.RefreshFailed) {
				fmt.Fprintf(w, "meridian: partition %s of table %s failed\n", o.Partition, o.Table)
			}
		}
	}
	return st, err
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// refreshSummary is the line printed when a refresh ends.
func refreshSummary(db string, st *client.RefreshStatus) string {
	done, total, rows := st.Progress()
	var b strings.Builder
	fmt.Fprintf(&b, "Refresh of %s %s", db, st.Status)
	if d := st.Duration(); d > 0 {
		fmt.Fprintf(&b, " in %s", d.Round(time.Millisecond))
	}
	tables := map[string]bool{}
	for _, o := range st.Objects {
		tables[strings.ToLower(o.Table)] = true
	}
	fmt.Fprintf(&b, ": %d of %s", done, plural(total, "partition"))
	if len(tables) > 0 {
		fmt.Fprintf(&b, " in %s", plural(len(tables), "table"))
	}
	if rows > 0 {
		fmt.Fprintf(&b, ", %s rows", groupDigits(rows))
	}
	b.WriteString(".")
	return b.String()
}

// plural writes a count and a noun, with an s when the count is not one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
