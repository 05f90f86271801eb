package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/process"
	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/source"
)

// retailBIM returns the sample model reading the data set's files: CSV as
// the demo's model does, or Parquet (Parquet.Document, the file's own
// types).
func retailBIM(data *dataSet, format string) ([]byte, error) {
	b, err := retail.BIM("Retail", data.Dir)
	if err != nil {
		return nil, err
	}
	if format == "csv" {
		return b, nil
	}
	var db map[string]any
	if err := json.Unmarshal(b, &db); err != nil {
		return nil, err
	}
	tables, _ := db["model"].(map[string]any)["tables"].([]any)
	for _, t := range tables {
		tab := t.(map[string]any)
		name := tab["name"].(string)
		m := fmt.Sprintf("let\n    Source = Parquet.Document(File.Contents(%q))\nin\n    Source", data.parquet(name))
		for _, p := range tab["partitions"].([]any) {
			p.(map[string]any)["source"] = map[string]any{"type": "m", "expression": m}
		}
	}
	return json.MarshalIndent(db, "", "  ")
}

// processInProcess refreshes the sample in this process from CSV or
// Parquet and returns the result and the time it took.
func processInProcess(ctx context.Context, data *dataSet, format string) (*process.Result, time.Duration, error) {
	b, err := retailBIM(data, format)
	if err != nil {
		return nil, 0, err
	}
	def, err := model.Parse(b)
	if err != nil {
		return nil, 0, err
	}
	roots, err := source.NewRoots(data.Dir)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	res, err := process.Refresh(ctx, def, nil, process.Request{Type: process.Full}, process.Options{Roots: roots})
	if err != nil {
		return nil, 0, fmt.Errorf("meridian: refresh from %s: %w", format, err)
	}
	took := time.Since(start)
	for _, t := range data.Tables {
		if got := res.Data.Table(t.Name).Rows; int64(got) != t.Rows {
			return nil, 0, fmt.Errorf("meridian: %s from %s has %d rows, want %d", t.Name, format, got, t.Rows)
		}
	}
	return res, took, nil
}

// serverProc is `meridian serve` running as a child process.
type serverProc struct {
	cmd  *exec.Cmd
	url  string
	conn *client.Conn
	log  *os.File
	done chan error
}

// buildMeridian builds the meridian binary of the repository at repo.
func buildMeridian(ctx context.Context, repo, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/meridian")
	cmd.Dir = repo
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build meridian: %w", err)
	}
	return nil
}

// startServer runs the binary with a fresh data directory under work
// (<name>-data, its log in <name>.log), serving files from the data set,
// and waits until it is ready. extra are more flags of serve.
func startServer(ctx context.Context, bin, work, name string, data *dataSet, clients int, extra ...string) (*serverProc, error) {
	dataDir := filepath.Join(work, name+"-data")
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, name+".log"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir,
		"--source-root", data.Dir, "--log-level", "warn", "--name", name}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &serverProc{cmd: cmd, log: logf, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if _, rest, ok := strings.Cut(line, "listening on "); ok {
				u, _, _ := strings.Cut(rest, " ")
				select {
				case urls <- u:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case s.url = <-urls:
	case err := <-s.done:
		return nil, fmt.Errorf("meridian serve exited: %v (log in %s)", err, logf.Name())
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, errors.New("meridian serve did not say where it listens within a minute")
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: 0}}
	s.conn, err = client.Open(ctx, s.url, client.Options{HTTPClient: hc, Timeout: 10 * time.Minute})
	if err != nil {
		s.stop()
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := s.conn.Ready(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("meridian serve not ready: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s, nil
}

// deployAndRefresh deploys the model and refreshes it, returning the
// refresh's duration as the client sees it.
func (s *serverProc) deployAndRefresh(ctx context.Context, bim []byte, db string) (time.Duration, error) {
	if _, err := s.conn.Deploy(ctx, bim, db); err != nil {
		return 0, err
	}
	start := time.Now()
	job, err := s.conn.Refresh(ctx, db, client.RefreshRequest{Type: "full"})
	if err != nil {
		return 0, err
	}
	st, err := job.Wait(ctx, 50*time.Millisecond, nil)
	if err != nil {
		return 0, err
	}
	if !st.Succeeded() {
		return 0, fmt.Errorf("refresh %s: %s", db, st.Status)
	}
	return time.Since(start), nil
}

// database returns what the server lists for database db.
func (s *serverProc) database(ctx context.Context, db string) (*client.DatabaseInfo, error) {
	dbs, err := s.conn.Databases(ctx)
	if err != nil {
		return nil, err
	}
	for i := range dbs {
		if dbs[i].Name == db {
			return &dbs[i], nil
		}
	}
	return nil, nil
}

// kill stops the server at once, as a crash or a lost region would.
func (s *serverProc) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.done <- errors.New("killed")
	}
}

// rss returns the child's resident set and its peak, in bytes.
func (s *serverProc) rss() (cur, peak int64, err error) {
	return procRSS(s.cmd.Process.Pid)
}

func (s *serverProc) stop() {
	if s.conn != nil {
		s.conn.Close()
	}
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.log.Close()
}

// procRSS reads VmRSS and VmHWM of a process from /proc.
func procRSS(pid int) (cur, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 1 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			cur = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return cur, peak, nil
}
