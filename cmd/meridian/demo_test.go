package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/client"
)

// meridianBinary builds this command into a temporary folder: the demo
// runs its server as a child process of the same binary, which a test
// binary cannot stand in for. The build cache makes builds after the
// first quick.
func meridianBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the demo with an interrupt, which Windows processes cannot be sent")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the binary")
	}
	bin := filepath.Join(t.TempDir(), "meridian")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDemoEndToEnd runs "meridian demo" with a small sample, talks to the
// server it leaves running, stops it with an interrupt, and runs it again
// over the same folder.
func TestDemoEndToEnd(t *testing.T) {
	bin := meridianBinary(t)
	// Built once for both: a build takes a while.
	t.Run("server fails to start", func(t *testing.T) { demoServerFailsToStart(t, bin) })
	dir := t.TempDir()
	// The deadline only keeps a broken demo from hanging the test run.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	demo := exec.CommandContext(ctx, bin, "demo", "--rows", "3000", "--listen", "127.0.0.1:0", "--data-dir", dir)
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	demo.Stderr = &stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var url string
	sc := bufio.NewScanner(stdout)
	serverRE := regexp.MustCompile(`^Server:\s+(http://\S+)`)
	ready := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if m := serverRE.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			ready = true
			break
		}
	}
	if !ready {
		demo.Wait()
		t.Fatalf("the demo ended before serving:\n%s\nstderr:\n%s", out.String(), stderr.String())
	}
	for _, want := range []string{
		"Wrote 214,561 rows in 5 files", // 3,000 sales and the fixed dimensions
		"Deployed \"Retail\"",
		"Refresh of Retail succeeded",
		"Loaded 214,561 rows: Date 1,461, Product 10,000, Customer 200,000, Store 100, Sales 3,000.",
		"==> Sales by year", "==> Margin by category", "==> Top 5 products", "==> Sales and year-to-date by month, 2024",
		"(4 rows)", "(5 rows)", "(12 rows)",
		"Connection string: Data Source=" + url + ";Initial Catalog=Retail",
		" query Retail 'EVALUATE SUMMARIZECOLUMNS(Store[Country]",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output does not show %q", want)
		}
	}
	if !strings.Contains(stderr.String(), "100%") {
		t.Errorf("no progress bar reached 100%% on stderr:\n%s", stderr.String())
	}

	// The server the demo left running answers the command line.
	q := `EVALUATE SUMMARIZECOLUMNS('Date'[Year], "Orders", [Orders]) ORDER BY 'Date'[Year]`
	qout, qerr, code := runCLI(t, "", "query", "Retail", q, "--server", url, "--json")
	if code != 0 {
		t.Fatalf("query: exit %d: %s", code, qerr)
	}
	var doc struct{ Rows [][]json.Number }
	if err := json.Unmarshal([]byte(qout), &doc); err != nil {
		t.Fatalf("query JSON: %v\n%s", err, qout)
	}
	var orders int64
	for _, r := range doc.Rows {
		n, _ := r[1].Int64()
		orders += n
	}
	if len(doc.Rows) != 4 || orders != 3000 {
		t.Errorf("orders by year: %d years adding up to %d, want 4 and 3000", len(doc.Rows), orders)
	}
	sout, serr, code := runCLI(t, "", "status", "--server", url)
	if code != 0 || !regexp.MustCompile(`Retail\s+\d+\s+ready`).MatchString(sout) {
		t.Errorf("status: exit %d:\n%s%s", code, sout, serr)
	}
	rout, rerr, code := runCLI(t, "", "refresh", "Retail", "--table", "Sales", "--server", url, "--json")
	if code != 0 || !strings.Contains(rout, `"status": "succeeded"`) {
		t.Errorf("refresh: exit %d:\n%s%s", code, rout, rerr)
	}

	// Ctrl-C stops the demo and its server cleanly.
	if err := demo.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := readAll(sc)
	if err := demo.Wait(); err != nil {
		t.Fatalf("demo after an interrupt: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(rest, "Stopping the server.") {
		t.Errorf("the demo did not say it stops the server: %q", rest)
	}
	if _, err := client.Open(context.Background(), url, client.Options{}); !client.IsUnreachable(err) {
		t.Errorf("the server still answers after the demo stopped: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	if !strings.Contains(string(log), "msg=stopped") {
		t.Errorf("the server log does not show a clean stop:\n%s", log)
	}

	// A second run reuses the sample and the database on disk.
	again, err := exec.CommandContext(ctx, bin, "demo", "--rows", "3000", "--listen", "127.0.0.1:0", "--data-dir", dir, "--keep-running=false").CombinedOutput()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, again)
	}
	for _, want := range []string{"The sample is already there; reusing it.", "Refresh of Retail succeeded", "Stopping the server (--keep-running=false)."} {
		if !strings.Contains(string(again), want) {
			t.Errorf("second run does not show %q:\n%s", want, again)
		}
	}
}

// demoServerFailsToStart checks that a server that cannot start is
// reported with its log.
func demoServerFailsToStart(t *testing.T, bin string) {
	out, err := exec.Command(bin, "demo", "--rows", "10", "--listen", "not-an-address", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil {
		t.Fatalf("the demo succeeded with a bad --listen:\n%s", out)
	}
	if !strings.Contains(string(out), "the server did not start") || !strings.Contains(string(out), "not-an-address") {
		t.Errorf("output does not explain:\n%s", out)
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{{"demo", "--rows", "0"}, {"demo", "--rows", "x"}, {"demo", "--database", " "}, {"demo", "extra"}} {
		_, errOut, code := runCLI(t, "", args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errOut)
		}
	}
}

func readAll(sc *bufio.Scanner) (string, error) {
	var b strings.Builder
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String(), sc.Err()
}
