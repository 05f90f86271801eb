package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/retail"
)

func init() { register(newDemoCommand) }

// demoQueries are the DAX queries the demo runs and prints.
var demoQueries = []struct{ title, dax string }{
	{"Sales by year", `EVALUATE
SUMMARIZECOLUMNS (
    'Date'[Year],
    "Sales Amount", [Sales Amount],
    "Orders", [Orders],
    "Margin %", [Margin %],
    "Sales YoY %", [Sales YoY %]
)
ORDER BY 'Date'[Year]`},
	{"Margin by category", `EVALUATE
SUMMARIZECOLUMNS (
    'Product'[Category],
    "Sales Amount", [Sales Amount],
    "Margin", [Margin],
    "Margin %", [Margin %]
)
ORDER BY [Margin] DESC`},
	{"Top 5 products", `EVALUATE
TOPN (
    5,
    SUMMARIZECOLUMNS ( 'Product'[Product], 'Product'[Brand], "Sales Amount", [Sales Amount] ),
    [Sales Amount], DESC
)
ORDER BY [Sales Amount] DESC`},
	{"Sales and year-to-date by month, 2024", `EVALUATE
CALCULATETABLE (
    SUMMARIZECOLUMNS (
        'Date'[Year Month],
        "Sales Amount", [Sales Amount],
        "Sales YTD", [Sales YTD]
    ),
    'Date'[Year] = 2024
)
ORDER BY 'Date'[Year Month]`},
	{"Sales by continent", `EVALUATE
SUMMARIZECOLUMNS (
    'Customer'[Continent],
    "Customers", [Customers],
    "Sales Amount", [Sales Amount]
)
ORDER BY [Sales Amount] DESC`},
}

type demoOptions struct {
	rows        int64
	listen      string
	dataDir     string
	database    string
	keepRunning bool
}

func newDemoCommand() *cobra.Command {
	o := demoOptions{rows: 200_000, listen: "127.0.0.1:8484", dataDir: "meridian-demo", database: "Retail", keepRunning: true}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate the retail sample, serve it, refresh it and query it",
		Long: `Run Meridian end to end on its retail sample (a star schema of sales with
date, product, customer and store dimensions):

  1. generate the sample's CSV files (deterministic; reused when present),
  2. start a server ("meridian serve") on --listen,
  3. deploy the sample model and refresh it, with progress,
  4. run a few DAX queries and print their results,
  5. print how to connect, and keep the server running until Ctrl-C.

Everything lives under --data-dir: the CSV files in sample/, the server's
databases in data/, its log in server.log.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rows < 1 || o.rows > 1_000_000_000 {
				return usageError(fmt.Errorf("--rows %d: want 1 to 1,000,000,000", o.rows))
			}
			if strings.TrimSpace(o.database) == "" {
				return usageError(fmt.Errorf("--database must not be empty"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&o.rows, "rows", o.rows, "sales rows to generate")
	fl.StringVar(&o.listen, "listen", o.listen, "address the demo server listens on (port 0 picks a free one)")
	fl.StringVar(&o.dataDir, "data-dir", o.dataDir, "folder for the sample data, the server's databases and its log")
	fl.StringVar(&o.database, "database", o.database, "name of the sample database")
	fl.BoolVar(&o.keepRunning, "keep-running", o.keepRunning, "keep the server running after the queries, until Ctrl-C")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	return cmd
}

func runDemo(ctx context.Context, o demoOptions, out, errw io.Writer) error {
	dir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return usageError(fmt.Errorf("--data-dir: %w", err))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	step := func(format string, args ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", args...) }

	step("Generating the retail sample (%s sales rows) in %s", groupDigits(o.rows), filepath.Join(dir, "sample"))
	if err := generateSample(ctx, filepath.Join(dir, "sample"), o.rows, out, errw); err != nil {
		return err
	}

	step("Starting a server on %s (log: %s)", o.listen, filepath.Join(dir, "server.log"))
	srv, err := startDemoServer(ctx, dir, o.listen)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(errw, "meridian: demo server:", err)
		}
	}()
	conn, err := srv.waitReady(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(out, "Server ready at %s.\n", srv.url)

	step("Deploying the sample model as %q", o.database)
	bim, err := retail.BIM(o.database, "sample")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dep, err := conn.Deploy(ctx, bim, "")
	if err != nil {
		return commandError(err)
	}
	fmt.Fprintf(out, "Deployed %q: tables Date, Product, Customer, Store and Sales; %d measures.\n", dep.Database, len(retail.Measures))

	step("Refreshing %s", o.database)
	job, err := conn.Refresh(ctx, o.database, client.RefreshRequest{Type: "full"})
	if err != nil {
		return commandError(err)
	}
	st, err := watchRefresh(ctx, job, errw, 200*time.Millisecond)
	if err != nil {
		return commandError(err)
	}
	fmt.Fprintln(out, refreshSummary(o.database, st))
	if counts, err := rowCounts(ctx, conn, o.database); err == nil {
		fmt.Fprintln(out, counts)
	} else {
		fmt.Fprintln(errw, "meridian: demo: count rows:", err)
	}

	for _, q := range demoQueries {
		step("%s", q.title)
		fmt.Fprintln(out, indent(q.dax, "    "))
		fmt.Fprintln(out)
		start := time.Now()
		res, err := conn.Query(ctx, o.database, q.dax)
		if err != nil {
			return fmt.Errorf("demo query %q: %w", q.title, commandError(err))
		}
		printTable(out, res)
		fmt.Fprintf(out, "(%s)\n", time.Since(start).Round(100*time.Microsecond))
	}

	self := os.Args[0]
	step("Meridian is running")
	fmt.Fprintf(out, "Server:            %s\n", srv.url)
	fmt.Fprintf(out, "Connection string: Data Source=%s;Initial Catalog=%s\n", srv.url, o.database)
	fmt.Fprintf(out, "Try:\n")
	fmt.Fprintf(out, "  %s query %s %s --server %s\n", self, shellQuote(o.database),
		shellQuote(`EVALUATE SUMMARIZECOLUMNS(Store[Country], "Sales", [Sales Amount]) ORDER BY [Sales] DESC`), srv.url)
	fmt.Fprintf(out, "  %s status --server %s\n", self, srv.url)
	fmt.Fprintf(out, "  curl -s %s/databases\n", srv.url)
	if !o.keepRunning {
		fmt.Fprintln(out, "Stopping the server (--keep-running=false).")
		return nil
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop the server.")
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nStopping the server.")
		return nil
	case <-srv.exited:
		return fmt.Errorf("demo: the server stopped on its own: %v%s", srv.exitErr, srv.logTail())
	}
}

// rowCounts says how many rows each table of the sample holds, by query:
// the refresh status does not report rows.
func rowCounts(ctx context.Context, conn *client.Conn, db string) (string, error) {
	var cols []string
	for _, t := range retail.Tables(retail.Options{}) {
		cols = append(cols, fmt.Sprintf("%q, COUNTROWS ( '%s' )", t.Name, t.Name))
	}
	res, err := conn.Query(ctx, db, "EVALUATE ROW ( "+strings.Join(cols, ", ")+" )")
	if err != nil {
		return "", err
	}
	if len(res.Rows) != 1 {
		return "", fmt.Errorf("got %d rows, want 1", len(res.Rows))
	}
	var total int64
	var parts []string
	for i, c := range res.Columns {
		n, _ := res.Rows[0][i].Int()
		total += n
		parts = append(parts, strings.Trim(c.Name, "[]")+" "+groupDigits(n))
	}
	return fmt.Sprintf("Loaded %s rows: %s.", groupDigits(total), strings.Join(parts, ", ")), nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// sampleStamp records which sample a folder holds, so that a second run
// with the same options reuses the files.
const sampleStamp = ".meridian-sample"

// generateSample writes the retail CSV files into dir with a progress bar,
// unless dir already holds the same sample.
func generateSample(ctx context.Context, dir string, rows int64, out, errw io.Writer) error {
	opts := retail.Options{Rows: rows}
	stamp := fmt.Sprintf("retail rows=%d seed=%d\n", rows, opts.Seed)
	tables := retail.Tables(opts)
	if b, err := os.ReadFile(filepath.Join(dir, sampleStamp)); err == nil && string(b) == stamp {
		complete := true
		for _, t := range tables {
			if _, err := os.Stat(filepath.Join(dir, t.Name+".csv")); err != nil {
				complete = false
			}
		}
		if complete {
			fmt.Fprintln(out, "The sample is already there; reusing it.")
			return nil
		}
	}
	os.Remove(filepath.Join(dir, sampleStamp))
	var total int64
	offset := map[string]int64{}
	for _, t := range tables {
		offset[t.Name] = total
		total += t.Rows
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(errw),
		progressbar.OptionSetDescription("Generating"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(errw) }),
	)
	start := time.Now()
	err := retail.WriteCSV(ctx, dir, opts, func(table string, n int64) {
		bar.Describe("Generating " + table + ".csv")
		bar.Set64(offset[table] + n)
	})
	if err != nil {
		bar.Exit()
		fmt.Fprintln(errw)
		return fmt.Errorf("demo: generate the sample: %w", err)
	}
	bar.Finish()
	if err := os.WriteFile(filepath.Join(dir, sampleStamp), []byte(stamp), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "Wrote %s rows in %d files in %s.\n", groupDigits(total), len(tables), time.Since(start).Round(time.Millisecond))
	return nil
}

// demoServer is the "meridian serve" child process of the demo.
type demoServer struct {
	cmd     *exec.Cmd
	logPath string
	url     string
	exited  chan struct{} // closed when the process has ended
	exitErr error

	urlFound chan string
	stopOnce sync.Once
	stopErr  error
	log      *os.File
	copied   sync.WaitGroup
}

var listeningRE = regexp.MustCompile(`listening on (https?://\S+)`)

// startDemoServer runs this binary's serve subcommand over dir and
// waits until it says where it listens.
func startDemoServer(ctx context.Context, dir, listen string) (*demoServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("demo: find the meridian binary: %w", err)
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(logf, "\n--- meridian demo, %s ---\n", time.Now().Format(time.RFC3339))
	c := exec.Command(exe, "serve",
		"--listen", listen,
		"--data-dir", filepath.Join(dir, "data"),
		"--source-root", dir,
		"--name", "demo")
	c.Dir = dir
	c.Stderr = logf
	bindChild(c)
	stdout, err := c.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	s := &demoServer{cmd: c, logPath: logPath, exited: make(chan struct{}), urlFound: make(chan string, 1), log: logf}
	if err := c.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("demo: start %s serve: %w", exe, err)
	}
	// Copy the server's standard output to the log, watching for the
	// line that gives its URL (the port is only known then when --listen
	// asks for port 0).
	s.copied.Add(1)
	go func() {
		defer s.copied.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case s.urlFound <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		s.copied.Wait() // Wait closes the pipe: read it all first
		s.exitErr = c.Wait()
		close(s.exited)
	}()
	select {
	case s.url = <-s.urlFound:
		return s, nil
	case <-s.exited:
		logf.Close()
		tail := s.logTail()
		hint := ""
		switch {
		case strings.Contains(tail, "address already in use"):
			hint = fmt.Sprintf("\nanother process listens on %s (a demo or server still running?); stop it, or pass --listen 127.0.0.1:0 for a free port", listen)
		case strings.Contains(tail, "in use by another meridian process"):
			hint = "\na demo or server still runs over this folder; stop it, or pass another --data-dir"
		}
		return nil, fmt.Errorf("demo: the server did not start (%v)%s%s", s.exitErr, tail, hint)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		s.stop()
		return nil, fmt.Errorf("demo: the server did not say where it listens within a minute%s", s.logTail())
	}
}

// waitReady waits until the server has loaded its databases.
func (s *demoServer) waitReady(ctx context.Context) (*client.Conn, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn, err := client.Open(ctx, s.url, client.Options{UserAgent: "meridian-demo/" + version})
		if err == nil {
			if err = conn.Ready(ctx); err == nil {
				return conn, nil
			}
			conn.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("demo: the server at %s is not ready after two minutes: %w%s", s.url, err, s.logTail())
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("demo: the server stopped (%v)%s", s.exitErr, s.logTail())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down cleanly (SIGINT, as Ctrl-C would),
// and kills it if it has not ended after half a minute.
func (s *demoServer) stop() error {
	s.stopOnce.Do(func() {
		defer s.log.Close()
		select {
		case <-s.exited:
			return
		default:
		}
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			// Where interrupts cannot be sent (Windows), end it.
			s.cmd.Process.Kill()
		}
		select {
		case <-s.exited:
			var ee *exec.ExitError
			if s.exitErr != nil && !(errors.As(s.exitErr, &ee) && !ee.Exited()) {
				s.stopErr = fmt.Errorf("stopped with %v%s", s.exitErr, s.logTail())
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = errors.New("did not stop within 30s of an interrupt and was killed")
		}
	})
	return s.stopErr
}

// logTail returns the last lines of the server log, to show with an
// error.
func (s *demoServer) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if i := lastIndex(lines, "--- meridian demo"); i >= 0 {
		lines = lines[i+1:]
	}
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nlast lines of " + s.logPath + ":\n  " + strings.Join(lines, "\n  ")
}

func lastIndex(lines []string, prefix string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return i
		}
	}
	return -1
}
