package e2e

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
		dir, err := os.MkdirTemp("", "meridian-e2e-")
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

// proc is a running `meridian serve`.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `meridian serve` on a free port and waits until it is
// ready.
func startServer(t testing.TB, dataDir string, args ...string) *proc {
	t.Helper()
	p := startServerNoWait(t, dataDir, args...)
	p.waitReady(60 * time.Second)
	return p
}

func startServerNoWait(t testing.TB, dataDir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	// The first line of stdout names the URL.
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
			p.kill()
			t.Fatalf("serve printed %q; stderr:\n%s", l, p.stderr.String())
		}
		p.url = strings.Fields(l[i:])[0]
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("serve printed no URL; stderr:\n%s", p.stderr.String())
	}
	return p
}

func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.exited:
			p.t.Fatalf("serve exited: %v; stderr:\n%s", p.err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("serve not ready after %v; stderr:\n%s", timeout, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.kill()
		p.t.Fatalf("serve did not stop on SIGTERM; stderr:\n%s", p.stderr.String())
	}
	if p.err != nil {
		p.t.Errorf("serve exited with %v; stderr:\n%s", p.err, p.stderr.String())
	}
}

// kill is kill -9.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// do sends a request; body is a string, []byte or a value to marshal.
func (p *proc) do(method, path string, body any) (int, []byte) {
	p.t.Helper()
	status, b, err := p.try(method, path, body)
	if err != nil {
		p.t.Fatalf("%s %s: %v; stderr:\n%s", method, path, err, p.stderr.String())
	}
	return status, b
}

func (p *proc) try(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, p.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (p *proc) mustTMSL(cmd string) {
	p.t.Helper()
	if status, body := p.do("POST", "/tmsl", cmd); status != 200 {
		p.t.Fatalf("TMSL %.100s: %d %s", cmd, status, body)
	}
}

func (p *proc) query(db, q string) (int, string) {
	p.t.Helper()
	status, body := p.do("POST", "/v1.0/myorg/datasets/"+db+"/executeQueries",
		map[string]any{"queries": []map[string]string{{"query": q}}})
	return status, strings.TrimSpace(string(body))
}

type dbInfo struct {
	Name          string
	Version       int64
	State         string
	LastProcessed *time.Time
	ImageHash     string
	Error         string
}

func (p *proc) databases() map[string]dbInfo {
	p.t.Helper()
	status, body := p.do("GET", "/databases", nil)
	if status != 200 {
		p.t.Fatalf("databases: %d %s", status, body)
	}
	var list []dbInfo
	if err := json.Unmarshal(body, &list); err != nil {
		p.t.Fatal(err)
	}
	out := map[string]dbInfo{}
	for _, d := range list {
		out[d.Name] = d
	}
	return out
}

// deployCmd wraps a .bim document in createOrReplace under a name.
func deployCmd(name string, bim []byte) string {
	bim = bytes.TrimPrefix(bim, []byte("\xef\xbb\xbf"))
	n, _ := json.Marshal(name)
	return `{"createOrReplace":{"object":{"database":` + string(n) + `},"database":` + string(bim) + `}}`
}

func refreshCmd(db string) string {
	return fmt.Sprintf(`{"refresh":{"type":"full","objects":[{"database":%q}]}}`, db)
}
