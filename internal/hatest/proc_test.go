package hatest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/testenv"
)

func binary(t testing.TB) string { return testenv.Binary(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
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

	srv *testenv.Server // the current run; nil before the first start
	url string
}

// start runs the server and waits until it listens.
func (n *node) start() {
	n.t.Helper()
	n.srv = testenv.StartServer(n.t, testenv.ServeOptions{
		Port: n.port, DataDir: n.dataDir, Env: n.env,
		Args: append([]string{"--name", n.name, "--region", n.region}, n.args...),
	})
	n.url, n.port = n.srv.URL, n.srv.Port
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
	n.srv.WaitReady(2 * time.Minute)
}

// kill is kill -9; it waits for the process to end.
func (n *node) kill() {
	if n.srv != nil {
		n.srv.Kill()
	}
}

func (n *node) signal(s syscall.Signal) {
	n.t.Helper()
	n.srv.Signal(s)
}

// try sends a request; body is a string or a value to marshal.
func (n *node) try(method, path string, body any) (int, []byte, error) {
	return n.srv.Try(method, path, body)
}

func (n *node) do(method, path string, body any) (int, []byte) {
	n.t.Helper()
	code, b, err := n.try(method, path, body)
	if err != nil {
		n.t.Fatalf("%s: %s %s: %v; stderr:\n%s", n.name, method, path, err, n.srv.Log.String())
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
