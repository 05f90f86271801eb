package main

// meridian group: commands on every server of a group file (deploy,
// refresh, backup, status, watch). The logic lives in internal/group;
// this file reads flags and prints.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/group"
)

func init() { register(newGroupCommand) }

// groupFlags are the flags every group command takes.
type groupFlags struct {
	file    string
	json    bool
	timeout time.Duration
}

func (f *groupFlags) add(cmd *cobra.Command, timeout time.Duration) {
	cmd.Flags().StringVar(&f.file, "group", "", "group file (YAML: name, store, alias, servers); default $MERIDIAN_GROUP")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON for machines instead of text")
	cmd.Flags().DurationVar(&f.timeout, "timeout", timeout, "bound on each request to a server; a server slower than this counts as unreachable")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
}

// load reads the group file; its errors are usage errors (exit 2).
func (f *groupFlags) load() (*group.Group, error) {
	path := f.file
	if path == "" {
		path = strings.TrimSpace(os.Getenv("MERIDIAN_GROUP"))
	}
	if path == "" {
		return nil, usageError(errors.New("no group file: give --group FILE (or set MERIDIAN_GROUP)"))
	}
	if f.timeout <= 0 {
		return nil, usageError(errors.New("--timeout must be positive"))
	}
	g, err := group.Load(path)
	if err != nil {
		return nil, usageError(err)
	}
	return g, nil
}

func newGroupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Run commands on every server of a group, show its state, watch it",
		Long: `Commands on a server group: the servers a YAML group file lists.

  name: sales
  store: azblob://meridian-ha                # the store the group replicates through
  alias: link://aliases.example.com/sales    # optional: the alias clients resolve
  aliasObject: aliases/sales                 # optional: where failover writes it
  servers:
    - {name: west,  url: http://10.0.0.5:8484, region: westeurope, primary: true}
    - {name: north, url: http://10.0.1.5:8484, region: northeurope}

deploy, refresh and backup run on every server in parallel and print one row
per server. Deploys and refreshes go to the primary (and to standalone
servers); followers refuse writes, and their rows say when they have
replicated the primary's result. status shows every server's role and
databases and whether the group is in sync; watch fails over by itself.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newGroupDeployCommand(), newGroupRefreshCommand(), newGroupBackupCommand(),
		newGroupStatusCommand(), newGroupWatchCommand())
	return cmd
}

func newGroupDeployCommand() *cobra.Command {
	var f groupFlags
	var database string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "deploy FILE.bim --group FILE",
		Short: "Deploy a model on every server of a group",
		Long: `Deploy a tabular model (.bim) on the group: createOrReplace on the primary and
on standalone servers, in parallel; followers receive it by replication and
their rows say when they serve the same version and image hash.

Exit status 0 when every server has it, 1 when one failed, 2 for a bad
group file or model, 3 when no server answered.`,
		Example: `  meridian group deploy model.bim --group sales.yaml
  meridian group deploy model.bim --group sales.yaml --database Sales-test --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := f.load()
			if err != nil {
				return err
			}
			bim, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			tmsl, name, err := client.DeployCommand(bim, database)
			if err != nil {
				return usageError(fmt.Errorf("%s: %w", args[0], err))
			}
			op := group.Op{Verb: "deploy", Database: name, Run: func(ctx context.Context, conn *client.Conn, _ group.Server) (string, error) {
				_, err := conn.TMSL(ctx, tmsl)
				return "", err
			}}
			return runGroupOp(cmd, g, &f, op, wait)
		},
	}
	f.add(cmd, 60*time.Second)
	cmd.Flags().StringVar(&database, "database", "", "name to deploy the database as (default: the name in the file)")
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for followers to replicate (0: do not wait)")
	return cmd
}

func newGroupRefreshCommand() *cobra.Command {
	var f groupFlags
	var (
		typ        string
		tables     []string
		partitions []string
		wait       time.Duration
		poll       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "refresh DB --group FILE",
		Short: "Refresh a database on every server of a group",
		Long: `Refresh database DB on the group: on the primary and on standalone servers,
in parallel, through the asynchronous refresh API; followers receive the
result by replication and their rows say when they serve the same version
and image hash.

Exit status 0 when every server has it, 1 when one failed, 2 for a bad
group file, 3 when no server answered.`,
		Example: `  meridian group refresh Sales --group sales.yaml
  meridian group refresh Sales --group sales.yaml --table Sales --partition "Sales 2024"`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := f.load()
			if err != nil {
				return err
			}
			req, err := refreshRequest(typ, tables, partitions, "", 0, 0)
			if err != nil {
				return usageError(err)
			}
			if poll <= 0 {
				return usageError(errors.New("--poll must be positive"))
			}
			db := args[0]
			op := group.Op{Verb: "refresh", Database: db, Run: func(ctx context.Context, conn *client.Conn, _ group.Server) (string, error) {
				job, err := conn.Refresh(ctx, db, req)
				if err != nil {
					return "", err
				}
				st, err := job.Wait(ctx, poll, nil)
				if err != nil {
					return "", err
				}
				done, total, rows := st.Progress()
				detail := fmt.Sprintf("%d of %s", done, plural(total, "partition"))
				if rows > 0 {
					detail += ", " + groupDigits(rows) + " rows"
				}
				return detail, nil
			}}
			return runGroupOp(cmd, g, &f, op, wait)
		},
	}
	f.add(cmd, 60*time.Second)
	fl := cmd.Flags()
	fl.StringVar(&typ, "type", "full", "refresh type: full, dataOnly, calculate, clearValues, automatic or defragment")
	fl.StringArrayVar(&tables, "table", nil, "table to refresh (repeatable; default every table)")
	fl.StringArrayVar(&partitions, "partition", nil, "partition of the --table to refresh (repeatable)")
	fl.DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for followers to replicate (0: do not wait)")
	fl.DurationVar(&poll, "poll", 500*time.Millisecond, "how often to read a refresh's status")
	return cmd
}

func newGroupBackupCommand() *cobra.Command {
	var f groupFlags
	var (
		file           string
		allowOverwrite bool
	)
	cmd := &cobra.Command{
		Use:   "backup DB --group FILE",
		Short: "Back up a database on every server of a group",
		Long: `Back up database DB on every server of the group in parallel (TMSL backup),
each to its own backup store, under a file name made from --file: {db},
{server} and {time} (UTC, 20060102T150405Z) are replaced. A server that does
not support backups (501) says so in its row.

Exit status 0 when every server backed up, 1 otherwise, 2 for a bad group
file, 3 when no server answered.`,
		Example: `  meridian group backup Sales --group sales.yaml
  meridian group backup Sales --group sales.yaml --file "nightly/{db}-{server}.abf" --allow-overwrite`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := f.load()
			if err != nil {
				return err
			}
			db := args[0]
			now := time.Now().UTC().Format("20060102T150405Z")
			if strings.TrimSpace(file) == "" {
				return usageError(errors.New("--file is empty"))
			}
			op := group.Op{Verb: "backup", Database: db, EveryRole: true, Run: func(ctx context.Context, conn *client.Conn, s group.Server) (string, error) {
				name := strings.NewReplacer("{db}", db, "{server}", s.Name, "{time}", now).Replace(file)
				body, err := json.Marshal(map[string]any{"backup": map[string]any{"database": db, "file": name, "allowOverwrite": allowOverwrite}})
				if err != nil {
					return "", err
				}
				if _, err := conn.TMSL(ctx, body); err != nil {
					return "", err
				}
				return "to " + name, nil
			}}
			return runGroupOp(cmd, g, &f, op, 0)
		},
	}
	f.add(cmd, 10*time.Minute)
	cmd.Flags().StringVar(&file, "file", "{db}-{server}-{time}.abf", "backup file name in each server's backup store ({db}, {server}, {time} replaced)")
	cmd.Flags().BoolVar(&allowOverwrite, "allow-overwrite", false, "replace a backup file of the same name")
	return cmd
}

// runGroupOp runs an op on the group and prints its rows.
func runGroupOp(cmd *cobra.Command, g *group.Group, f *groupFlags, op group.Op, wait time.Duration) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if wait == 0 {
		wait = -1
	}
	rows := group.Run(ctx, g, op, group.RunOptions{Timeout: f.timeout, Wait: wait, UserAgent: "meridian/" + version})
	out := cmd.OutOrStdout()
	if f.json {
		if err := printJSON(out, map[string]any{"group": g.Name, "command": op.Verb, "database": op.Database, "ok": group.RowsOK(rows), "servers": rows}); err != nil {
			return err
		}
	} else {
		printRows(out, g, op, rows)
	}
	return rowsError(op, rows)
}

func printRows(w io.Writer, g *group.Group, op group.Op, rows []group.Row) {
	table := make([][]string, len(rows))
	for i, r := range rows {
		v := ""
		if r.Version > 0 {
			v = fmt.Sprint(r.Version)
		}
		table[i] = []string{r.Server, r.Region, r.Role, r.Outcome, fmt.Sprintf("%.2f s", r.Seconds), v}
	}
	fmt.Fprintf(w, "%s %s on group %s:\n", strings.ToUpper(op.Verb[:1])+op.Verb[1:], op.Database, g.Name)
	textTable(w, []string{"SERVER", "REGION", "ROLE", "OUTCOME", "TIME", "VERSION"}, table, []bool{false, false, false, false, true, true})
	for _, r := range rows {
		if r.Message != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Server, printable(r.Message))
		}
	}
}

// rowsError gives the exit status of a group command: 3 when no server
// answered, 1 when a server failed.
func rowsError(op group.Op, rows []group.Row) error {
	var failed []string
	unreachable := 0
	for _, r := range rows {
		if r.Unreachable {
			unreachable++
		}
		if !r.OK {
			failed = append(failed, r.Server+" ("+r.Outcome+")")
		}
	}
	switch {
	case unreachable == len(rows):
		return &exitError{code: exitUnavailable, err: fmt.Errorf("group %s: no server answered", op.Verb)}
	case len(failed) > 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("group %s of %s: not done on %s", op.Verb, op.Database, strings.Join(failed, ", "))}
	}
	return nil
}

func newGroupStatusCommand() *cobra.Command {
	var f groupFlags
	cmd := &cobra.Command{
		Use:   "status --group FILE",
		Short: "Show every server of a group and whether the group is in sync",
		Long: `Ask every server of the group, in parallel, for its health, role and
databases, and print per server: reachable, region, role, each database's
version, image hash and replication lag; then the verdict.

The group is in sync when every server that answers serves the same
databases at the same version with the same image hash, and at most one
says it is primary. Equal versions with different image hashes are never in
sync. Servers that do not answer are listed and left out of the verdict.

--json prints {"inSync":bool,"servers":[{"name","url","region","role",
"reachable","databases":[{"name","version","imageHash","lagSeconds"}]}]}.

Exit status 0 when in sync with every server answering, 1 when not in sync,
2 for a bad group file, 3 when the servers that answer are in sync but some
(or all) did not answer.`,
		Example: `  meridian group status --group sales.yaml
  meridian group status --group sales.yaml --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := f.load()
			if err != nil {
				return err
			}
			st := group.Collect(cmd.Context(), g, group.CollectOptions{Timeout: f.timeout, UserAgent: "meridian/" + version})
			out := cmd.OutOrStdout()
			if f.json {
				if err := printJSON(out, st); err != nil {
					return err
				}
			} else {
				printGroupStatus(out, g, st)
			}
			switch {
			case !st.AnyReachable():
				return &exitError{code: exitUnavailable, err: fmt.Errorf("group %s: no server answered", g.Name)}
			case !st.InSync:
				return &exitError{code: exitFailure, err: fmt.Errorf("group %s is not in sync", g.Name)}
			case !st.AllReachable():
				return &exitError{code: exitUnavailable, err: fmt.Errorf("group %s: a server did not answer", g.Name)}
			}
			return nil
		},
	}
	f.add(cmd, 5*time.Second)
	return cmd
}

func printGroupStatus(w io.Writer, g *group.Group, st *group.Status) {
	var rows [][]string
	for _, s := range st.Servers {
		reach := "yes"
		if !s.Reachable {
			reach = "no"
		}
		role := s.Role
		if role == "" {
			role = "?"
		}
		if len(s.Databases) == 0 {
			rows = append(rows, []string{s.Name, s.Region, role, reach, "", "", "", ""})
			continue
		}
		for i, d := range s.Databases {
			name, region, r, re := s.Name, s.Region, role, reach
			if i > 0 {
				name, region, r, re = "", "", "", ""
			}
			lag := ""
			if d.LagSeconds != nil {
				lag = fmt.Sprintf("%.1f s", *d.LagSeconds)
				if d.VersionsBehind != nil && *d.VersionsBehind > 0 {
					lag += fmt.Sprintf(" (%d behind)", *d.VersionsBehind)
				}
			}
			hash := group.ShortHash(d.ImageHash)
			if d.ImageHash == "" {
				hash = "-"
			}
			rows = append(rows, []string{name, region, r, re, printable(d.Name), fmt.Sprint(d.Version), hash, lag})
		}
	}
	fmt.Fprintf(w, "Group %s (%s):\n", g.Name, g.File)
	textTable(w, []string{"SERVER", "REGION", "ROLE", "REACHABLE", "DATABASE", "VERSION", "IMAGE HASH", "LAG"}, rows,
		[]bool{false, false, false, false, false, true, false, true})
	for _, s := range st.Servers {
		if s.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Name, printable(s.Error))
		}
	}
	fmt.Fprintln(w)
	if st.InSync {
		n := 0
		for _, s := range st.Servers {
			if s.Reachable {
				n++
			}
		}
		fmt.Fprintf(w, "In sync: the same versions and image hashes on %s.\n", plural(n, "server"))
	} else {
		fmt.Fprintln(w, "NOT in sync:")
		for _, r := range st.Reasons {
			fmt.Fprintf(w, "  - %s\n", printable(r))
		}
	}
	for _, n := range st.Notes {
		fmt.Fprintf(w, "Note: %s\n", printable(n))
	}
}

func newGroupWatchCommand() *cobra.Command {
	var f groupFlags
	var after, interval time.Duration
	cmd := &cobra.Command{
		Use:   "watch --group FILE",
		Short: "Watch a group and fail over by itself when the primary stays unhealthy",
		Long: `Watch the group: every --interval, ask every server for its health and role.
When the primary does not answer (within --timeout) or stops being primary,
and stays so for --after, fail over to the most up-to-date healthy follower
(the highest database versions, then the least lag), as meridian failover
does: promote it, tell the old primary to step down if it answers, repoint
the alias. One failover at a time; the next is not considered before the
new primary has been unhealthy for --after. A former primary that comes back
(fenced, or still saying it is primary) is told to step down and follow the
store.

Each step is logged on standard error, or printed as one JSON object a line
with --json. Runs until interrupted. Run one watcher per group.`,
		Example: `  meridian group watch --group sales.yaml
  meridian group watch --group sales.yaml --after 30s --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := f.load()
			if err != nil {
				return err
			}
			if after <= 0 || interval <= 0 {
				return usageError(errors.New("--after and --interval must be positive"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			events := eventPrinter(cmd, f.json)
			err = group.Watch(ctx, g, group.WatchOptions{After: after, Interval: interval, ProbeTimeout: f.timeout,
				Failover: group.FailoverOptions{UserAgent: "meridian/" + version, Events: events}})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.add(cmd, 2*time.Second)
	cmd.Flags().DurationVar(&after, "after", 10*time.Second, "how long the primary must stay unhealthy before failing over")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between health checks")
	return cmd
}

// eventPrinter prints failover and watch events: as JSON lines on
// standard output with --json, else as log lines on standard error.
func eventPrinter(cmd *cobra.Command, asJSON bool) func(group.Event) {
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetEscapeHTML(false)
		return func(e group.Event) { enc.Encode(e) }
	}
	w := cmd.ErrOrStderr()
	return func(e group.Event) {
		line := fmt.Sprintf("%s %-17s %s", e.Time.Local().Format("15:04:05.000"), e.Event, printable(e.Message))
		if e.Error != "" {
			line += ": " + printable(e.Error)
		}
		fmt.Fprintln(w, line)
	}
}
