package hatest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the meridian binary once per test process.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meridian-hatest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "meridian")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/meridian")
		cmd.Dir = testenv.ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// logBuffer collects a process's output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is one `meridian serve` of a group: its name, region, data
// directory and arguments, so that it can be started again after a kill.
type node struct {
	t       testing.TB
	name    string
	region  string
	dataDir string
	args    []string
	env     []string
	port    int // kept across restarts, so the group file stays true

	cmd    *exec.Cmd
	url    string
	log    *logBuffer
	exited chan struct{}
	err    error
}

// start runs the server and waits until it listens.
func (n *node) start() {
	n.t.Helper()
	listen := "127.0.0.1:0"
	if n.port != 0 {
		listen = fmt.Sprintf("127.0.0.1:%d", n.port)
	}
	args := append([]string{"serve", "--listen", listen, "--data-dir", n.dataDir, "--name", n.name, "--region", n.region}, n.args...)
	cmd := exec.Command(binary(n.t), args...)
	cmd.Env = append(os.Environ(), n.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	n.cmd, n.log, n.exited, n.err = cmd, &logBuffer{}, make(chan struct{}), nil
	cmd.Stderr = n.log
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	exited := n.exited
	go func() { n.err = cmd.Wait(); close(exited) }()
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		line <- l
		io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		i := strings.Index(l, "http://")
		if i < 0 {
			n.kill()
			n.t.Fatalf("%s: serve printed %q; stderr:\n%s", n.name, l, n.log.String())
		}
		n.url = strings.TrimRight(strings.Fields(l[i:])[0], "/")
		fmt.Sscanf(n.url[strings.LastIndex(n.url, ":")+1:], "%d", &n.port)
	case <-time.After(60 * time.Second):
		n.kill()
		n.t.Fatalf("%s: serve printed no URL; stderr:\n%s", n.name, n.log.String())
	}
}

// follow makes the next start a follower of store (a demoted primary
// restarts as what it has become).
func (n *node) follow(store string) {
	for i, a := range n.args {
		if a == "--publish" {
			n.args[i] = "--follow"
			n.args[i+1] = store
		}
	}
}

// waitReady waits for /readyz.
func (n *node) waitReady() {
	n.t.Helper()
	eventually(n.t, n.name+" to be ready", func() (bool, string) {
		select {
		case <-n.exited:
			n.t.Fatalf("%s exited: %v; stderr:\n%s", n.name, n.err, n.log.String())
		default:
		}
		code, body, err := n.try("GET", "/readyz", nil)
		return err == nil && code == 200, fmt.Sprintf("%d %s %v", code, body, err)
	})
}

// kill is kill -9; it waits for the process to end.
func (n *node) kill() {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGCONT) // a frozen process dies only once resumed
	n.cmd.Process.Kill()
	<-n.exited
}

func (n *node) signal(s syscall.Signal) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(s); err != nil {
		n.t.Fatalf("%s: signal %v: %v", n.name, s, err)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// try sends a request; body is a string or a value to marshal.
func (n *node) try(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, n.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (n *node) do(method, path string, body any) (int, []byte) {
	n.t.Helper()
	code, b, err := n.try(method, path, body)
	if err != nil {
		n.t.Fatalf("%s: %s %s: %v; stderr:\n%s", n.name, method, path, err, n.log.String())
	}
	return code, b
}

// status is the part of GET /status the tests read.
type status struct {
	Name, Role, Primary, Fenced, Store string
	CatchingUp                         bool
	Lease                              *struct{ Epoch int64 }
	Publish                            []struct {
		Database        string
		Version         int64
		UploadedBytes   int64
		UploadedObjects int
		Pending         bool
	}
	Follow *struct {
		Databases []struct {
			Database        string
			StoreVersion    int64
			StoreCommitTime time.Time
			LocalVersion    int64
			LastApplied     time.Time
			InSync          bool
			FetchedBytes    int64
		}
	}
}

func (n *node) status() status {
	n.t.Helper()
	code, body := n.do("GET", "/status", nil)
	if code != 200 {
		n.t.Fatalf("%s: GET /status: %d %s", n.name, code, body)
	}
	var st status
	if err := json.Unmarshal(body, &st); err != nil {
		n.t.Fatalf("%s: GET /status: %v: %s", n.name, err, body)
	}
	return st
}

type dbInfo struct {
	Name      string
	Version   int64
	ImageHash string
	Role      string
}

func (n *node) database(name string) dbInfo {
	n.t.Helper()
	code, body := n.do("GET", "/databases", nil)
	if code != 200 {
		n.t.Fatalf("%s: GET /databases: %d %s", n.name, code, body)
	}
	var list []dbInfo
	if err := json.Unmarshal(body, &list); err != nil {
		n.t.Fatal(err)
	}
	for _, d := range list {
		if strings.EqualFold(d.Name, name) {
			return d
		}
	}
	return dbInfo{}
}

// cliResult is what one run of the command line gave.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the meridian command line with extra environment variables.
func cli(t testing.TB, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("meridian %q: %v", args, err)
	}
	return cliResult{out.String(), errb.String(), code}
}

// eventually polls cond until it holds; the two-minute deadline only ends
// a broken test.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
