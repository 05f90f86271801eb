package catalog

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
)

// childDirEnv names the data directory of the helper process; its
// presence makes TestHelperProcess act as the child.
const childDirEnv = "MERIDIAN_CATALOG_CHILD_DIR"

// TestHelperProcess is not a test: TestKillDuringCommits runs the test
// binary again with only this test selected and childDirEnv set, and the
// child commits versions of "Sales" in a loop until it is killed, printing
// "committed <version>" after each Commit returns.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("helper process of TestKillDuringCommits")
	}
	if err := runChild(dir); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
}

func runChild(dir string) error {
	ctx := context.Background()
	c, err := Open(ctx, Options{Dir: dir, KeepVersions: 2})
	if err != nil {
		return err
	}
	fmt.Println("open")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, uint64(os.Getpid())))
	chacha := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(os.Getpid())})
	for i := 0; ; i++ {
		txn, err := c.Begin(ctx, "Sales")
		if err != nil {
			return err
		}
		model, err := txn.WriteObject(ctx, image.KindModel, []byte(fmt.Sprintf(`{"commit":%d}`, i)))
		if err != nil {
			return err
		}
		m := &image.Manifest{State: image.StateReady, Model: model.Hash, Objects: []image.ObjectRef{model}}
		// Keep some objects of the base version, as a partial refresh
		// does, and write a few new ones.
		if base := txn.Base(); base != nil {
			for _, o := range base.Objects {
				if o.Kind == image.KindSegment && rng.IntN(2) == 0 && txn.HasObject(o.Hash) {
					m.Objects = append(m.Objects, o)
				}
			}
		}
		for range 1 + rng.IntN(6) {
			data := make([]byte, 1+rng.IntN(64<<10))
			chacha.Read(data)
			ref, err := txn.WriteObject(ctx, image.KindSegment, data)
			if err != nil {
				return err
			}
			m.Objects = append(m.Objects, ref)
		}
		m.Data = m.Objects[len(m.Objects)-1].Hash
		v, err := txn.Commit(ctx, m)
		if err != nil {
			return err
		}
		fmt.Printf("committed %d\n", v)
		if i%4 == 3 {
			if _, _, err := c.GC(ctx); err != nil {
				return err
			}
		}
	}
}

// TestKillDuringCommits kills a process that commits in a loop with
// SIGKILL at random moments, then reopens its data directory: Open must
// succeed, the current version must be at least the last one the child
// reported committed, and every retained object must verify.
func TestKillDuringCommits(t *testing.T) {
	kills := 50
	if testing.Short() {
		kills = 5
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	ctx := context.Background()
	var seen int64 // the highest version any reopen has loaded
	for k := range kills {
		// Mostly at a random moment after the child opened the catalog;
		// every tenth time at once (during Open), every third time after
		// it has committed once, so that versions keep coming.
		when := afterOpen
		switch {
		case k%10 == 0:
			when = atOnce
		case k%3 == 0:
			when = afterCommit
		}
		reported, out := runAndKill(t, dir, when, time.Duration(rng.IntN(100))*time.Millisecond)
		logged := &warnings{}
		c, err := Open(ctx, Options{Dir: dir, KeepVersions: 2, Logger: slog.New(logged)})
		if err != nil {
			t.Fatalf("kill %d: Open: %v\nchild output:\n%s", k, err, out)
		}
		m, err := c.Current("Sales")
		var got int64
		if err == nil {
			got = m.Version
		}
		if got < reported || got < seen {
			t.Fatalf("kill %d: loaded version %d (%v); the child reported %d committed, an earlier start loaded %d",
				k, got, err, reported, seen)
		}
		seen = got
		if err == nil {
			h, _ := c.History("Sales")
			for _, m := range h {
				checkObjects(t, c, m)
			}
		}
		if k%7 == 6 {
			if _, _, err := c.GC(ctx); err != nil {
				t.Fatalf("kill %d: GC: %v", k, err)
			}
		}
		c.Close()
		if w := logged.get(); len(w) > 0 {
			t.Fatalf("kill %d: recovery logged warnings: %q", k, w)
		}
	}
	if seen == 0 {
		t.Fatal("no version was ever committed")
	}
	t.Logf("%d kills, last version %d", kills, seen)
}

// killPoint says from when runAndKill lets the child run before the kill.
type killPoint int

const (
	atOnce      killPoint = iota // from the start of the process
	afterOpen                    // from when it has opened the catalog
	afterCommit                  // from its first commit
)

// runAndKill starts the child on dir, lets it run for d from the given
// point, kills it with SIGKILL and returns the last version it reported
// committed and its output.
func runAndKill(t *testing.T, dir string, when killPoint, d time.Duration) (int64, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		reported int64
		lines    []string
	)
	opened := make(chan struct{})
	committed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := bufio.NewScanner(stdout)
		var openOnce, commitOnce sync.Once
		for s.Scan() {
			line := s.Text()
			mu.Lock()
			lines = append(lines, line)
			v, isCommit := strings.CutPrefix(line, "committed ")
			if isCommit {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					reported = max(reported, n)
				}
			}
			mu.Unlock()
			if line == "open" {
				openOnce.Do(func() { close(opened) })
			}
			if isCommit {
				commitOnce.Do(func() { close(committed) })
			}
		}
	}()
	var from chan struct{}
	switch when {
	case afterOpen:
		from = opened
	case afterCommit:
		from = committed
	}
	if from != nil {
		select {
		case <-from:
		case <-done: // the child ended by itself: its output says why
		}
	}
	time.Sleep(d)
	cmd.Process.Kill()
	<-done
	err = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	out := strings.Join(lines, "\n") + "\n" + stderr.String()
	if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); ok && !ws.Signaled() {
		t.Fatalf("the child ended by itself (%v):\n%s", err, out)
	}
	return reported, out
}
