package testenv

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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/meridian once per test process and returns its path.
// A package whose tests call it removes the build with RemoveBinary from
// its TestMain.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meridian-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "meridian")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/meridian")
		cmd.Dir = ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// RemoveBinary deletes what Binary built, if anything.
func RemoveBinary() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// LogBuffer collects a process's output; it is safe for the process's
// writer and the test to use at once.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ServeOptions says how to start `meridian serve`.
type ServeOptions struct {
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port    int
	DataDir string
	// Args follow the listen and data-dir flags.
	Args []string
	// Env is added to the test's environment.
	Env []string
	// RequestTimeout bounds each request of Try and Do; 30 seconds when
	// zero, so that a test of a frozen server does not hang.
	RequestTimeout time.Duration
}

// Server is one run of `meridian serve` started by a test.
type Server struct {
	t   testing.TB
	cmd *exec.Cmd
	// URL is the server's base URL without a trailing slash; Port its port.
	URL  string
	Port int
	// Log holds the server's standard error.
	Log    *LogBuffer
	client *http.Client
	exited chan struct{}
	err    error
}

// StartServer runs `meridian serve` and returns once it has printed the
// URL it listens on; call WaitReady to wait for its databases to load. The
// process is killed when the test ends.
func StartServer(t testing.TB, opts ServeOptions) *Server {
	t.Helper()
	listen := "127.0.0.1:" + strconv.Itoa(opts.Port)
	args := append([]string{"serve", "--listen", listen, "--data-dir", opts.DataDir}, opts.Args...)
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), opts.Env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	timeout := opts.RequestTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	s := &Server{t: t, cmd: cmd, Log: &LogBuffer{}, client: &http.Client{Timeout: timeout}, exited: make(chan struct{})}
	cmd.Stderr = s.Log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.Kill)
	// The first line of standard output names the URL.
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
			s.Kill()
			t.Fatalf("serve printed %q; stderr:\n%s", l, s.Log.String())
		}
		s.URL = strings.TrimRight(strings.Fields(l[i:])[0], "/")
		s.Port, _ = strconv.Atoi(s.URL[strings.LastIndex(s.URL, ":")+1:])
	case <-time.After(60 * time.Second):
		s.Kill()
		t.Fatalf("serve printed no URL; stderr:\n%s", s.Log.String())
	}
	return s
}

// Exited is closed when the process has ended; Err is then its exit.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Err is how the process ended, once Exited is closed.
func (s *Server) Err() error { return s.err }

// WaitReady polls /readyz until it answers 200; the timeout only ends a
// broken test.
func (s *Server) WaitReady(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body, err := s.Try("GET", "/readyz", nil)
		if err == nil && code == 200 {
			return
		}
		select {
		case <-s.exited:
			s.t.Fatalf("serve exited: %v; stderr:\n%s", s.err, s.Log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("serve not ready after %v (%d %s %v); stderr:\n%s", timeout, code, body, err, s.Log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.Kill()
		s.t.Fatalf("serve did not stop on SIGTERM; stderr:\n%s", s.Log.String())
	}
	if s.err != nil {
		s.t.Errorf("serve exited with %v; stderr:\n%s", s.err, s.Log.String())
	}
}

// Kill is kill -9; it waits for the process to end. A frozen (SIGSTOP)
// process is resumed first, since it dies only once it runs.
func (s *Server) Kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	resume(s.cmd.Process)
	s.cmd.Process.Kill()
	<-s.exited
}

// Signal sends sig to the process.
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Try sends a request; body is nil, a string, a []byte or a value to
// marshal as JSON.
func (s *Server) Try(method, path string, body any) (int, []byte, error) {
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
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// Do is Try that fails the test on a transport error.
func (s *Server) Do(method, path string, body any) (int, []byte) {
	s.t.Helper()
	code, b, err := s.Try(method, path, body)
	if err != nil {
		s.t.Fatalf("%s %s: %v; stderr:\n%s", method, path, err, s.Log.String())
	}
	return code, b
}
