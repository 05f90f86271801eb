package hatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/testenv"
)

// watcher is a running `meridian group watch --json`.
type watcher struct {
	cmd    *exec.Cmd
	out    *testenv.LogBuffer
	errb   *testenv.LogBuffer
	mu     sync.Mutex
	events []watchEvent
	exited chan struct{}
	err    error
}

type watchEvent struct {
	Event, Server, Message, Error string
}

func startWatch(t *testing.T, c *cluster, args ...string) *watcher {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"group", "watch", "--group", c.groupFile, "--json"}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{cmd: cmd, out: &testenv.LogBuffer{}, errb: &testenv.LogBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = w.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.exited
	})
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.out.Write(append(sc.Bytes(), '\n'))
			var e watchEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				w.mu.Lock()
				w.events = append(w.events, e)
				w.mu.Unlock()
			}
		}
	}()
	go func() {
		<-lines
		w.err = cmd.Wait()
		close(w.exited)
	}()
	w.waitFor(t, "watching")
	return w
}

func (w *watcher) saw(event string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.Event == event {
			return true
		}
	}
	return false
}

func (w *watcher) waitFor(t *testing.T, event string) watchEvent {
	t.Helper()
	var found watchEvent
	eventually(t, "watch event "+event, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, e := range w.events {
			if e.Event == event {
				found = e
				return true, ""
			}
			if e.Event == "failover-failed" {
				t.Fatalf("watch: failover failed: %s %s\n%s", e.Message, e.Error, w.errb.String())
			}
		}
		return false, w.out.String() + w.errb.String()
	})
	return found
}

// stop interrupts the watcher, which must exit 0.
func (w *watcher) stop(t *testing.T) {
	t.Helper()
	w.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop on SIGINT")
	}
	if w.err != nil {
		t.Errorf("watch exited with %v:\n%s", w.err, w.errb.String())
	}
}

func writeFile(name, text string) error { return os.WriteFile(name, []byte(text), 0o644) }

// serveOnce runs a serve that is expected to refuse to start, and returns
// its exit status and output; one still running after a minute is killed
// and reported as exit 0.
func serveOnce(t *testing.T, n *node) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", n.dataDir, "--name", n.name}, n.args...)
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), n.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
		code = ee.ExitCode()
	}
	return cliResult{out.String(), strings.TrimSpace(errb.String()), code}
}
