package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/replica"
)

// replStatus is the part of GET /status these tests read.
type replStatus struct {
	Name, Role, Primary, Fenced string
	CatchingUp                  bool
}

func (p *proc) status() replStatus {
	p.t.Helper()
	code, body := p.Do("GET", "/status", nil)
	if code != 200 {
		p.t.Fatalf("GET /status: %d %s", code, body)
	}
	var st replStatus
	if err := json.Unmarshal(body, &st); err != nil {
		p.t.Fatalf("GET /status: %v: %s", err, body)
	}
	return st
}

// eventually polls cond until it holds, for at most two minutes (the
// deadline only ends a broken test).
func eventually(t *testing.T, what string, cond func() (bool, string)) {
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

// sameDatabases waits until b serves every database of a with the same
// version and image hash.
func sameDatabases(t *testing.T, a, b *proc) {
	t.Helper()
	eventually(t, b.URL+" to be in sync with "+a.URL, func() (bool, string) {
		want, got := a.databases(), b.databases()
		if len(want) != len(got) {
			return false, fmt.Sprintf("%d databases against %d", len(got), len(want))
		}
		for name, w := range want {
			g := got[name]
			if g.Version != w.Version || g.ImageHash != w.ImageHash || g.Error != "" {
				return false, fmt.Sprintf("%q: %+v, want version %d image %s", name, g, w.Version, w.ImageHash)
			}
		}
		return true, ""
	})
}

func refused(t *testing.T, p *proc, code, who string) {
	t.Helper()
	status, body := p.Do("POST", "/tmsl", refreshCmd("Crash"))
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(body, &e)
	if status != 409 || e.Error.Code != code || !strings.Contains(e.Error.Message, `"`+who+`"`) {
		t.Errorf("a write on %s: %d %s, want 409 %s naming %q", p.URL, status, body, code, who)
	}
}

func latest(t *testing.T, store, db string) *replica.Pointer {
	t.Helper()
	b, err := blob.Open(context.Background(), "file://"+store, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := replica.New(b, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Latest(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReplicationBinary runs a primary (--publish) and a follower
// (--follow) on a file:// store: deploys and refreshes replicate; the
// follower refuses writes naming the primary; a second primary is refused
// at start naming the holder; the follower killed (-9) at random moments
// and started again catches up; the primary frozen (SIGSTOP) while the
// follower is promoted publishes nothing once it runs again and refuses
// writes as fenced; demoted, it follows the new primary.
func TestReplicationBinary(t *testing.T) {
	store, src := t.TempDir(), t.TempDir()
	writeSales(t, src, 1)
	westDir, northDir := t.TempDir(), t.TempDir()
	west := startServer(t, westDir, "--name", "west", "--region", "r-west", "--publish", "file://"+store,
		"--source-root", src, "--lease-ttl", "2s")
	northArgs := []string{"--name", "north", "--region", "r-north", "--follow", "file://" + store,
		"--follow-interval", "100ms", "--source-root", src, "--lease-ttl", "2s"}
	north := startServer(t, northDir, northArgs...)
	eventually(t, "west to take writes", func() (bool, string) {
		st := west.status()
		return st.Role == "primary" && !st.CatchingUp, fmt.Sprintf("%+v", st)
	})

	west.mustTMSL(deployCmd("Crash", crashModel(1)))
	west.mustTMSL(refreshCmd("Crash"))
	sameDatabases(t, west, north)
	const q = `EVALUATE ROW("total", [Total], "marker", [Marker])`
	if _, a := west.query("Crash", q); true {
		if _, b := north.query("Crash", q); a != b {
			t.Errorf("the follower answers %s, the primary %s", b, a)
		}
	}
	refused(t, north, "ReadOnlyReplica", "west")
	if st := north.status(); st.Role != "follower" || st.Primary != "west" {
		t.Errorf("north's status: %+v", st)
	}

	// The steps share the processes, so they are not subtests (a
	// process belongs to the test that started it).
	t.Log("a second primary is refused")
	cmd := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--name", "east", "--publish", "file://"+store)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `"west"`) || !strings.Contains(string(out), "takeover") {
		t.Errorf("serve --publish with the lease held: %v\n%s", err, out)
	}

	t.Log("the follower killed mid-replication")
	{
		for i := range 4 {
			writeSales(t, src, i+2)
			west.mustTMSL(refreshCmd("Crash"))
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
			north.Kill()
			north = startServer(t, northDir, northArgs...)
		}
		sameDatabases(t, west, north)
		_, a := west.query("Crash", q)
		if _, b := north.query("Crash", q); a != b {
			t.Errorf("after restarts the follower answers %s, the primary %s", b, a)
		}
	}

	t.Log("promotion while the primary is frozen")
	{
		before := latest(t, store, "Crash")
		west.Signal(syscall.SIGSTOP)
		resumed := false
		resume := func() {
			if !resumed {
				west.Signal(syscall.SIGCONT)
				resumed = true
			}
		}
		defer resume()
		status, body := north.Do("POST", "/admin/promote", `{"takeover":true}`)
		if status != 200 {
			t.Fatalf("promote: %d %s", status, body)
		}
		north.mustTMSL(deployCmd("Crash", crashModel(2)))
		north.mustTMSL(refreshCmd("Crash"))
		want := north.databases()["Crash"].Version
		var promoted *replica.Pointer
		eventually(t, "north's refresh to be published", func() (bool, string) {
			promoted = latest(t, store, "Crash")
			return promoted.Publisher == "north" && promoted.Version == want && want > before.Version, fmt.Sprintf("%+v", promoted)
		})
		resume()
		eventually(t, "west to find itself fenced", func() (bool, string) {
			st := west.status()
			return st.Role == "fenced", fmt.Sprintf("%+v", st)
		})
		refused(t, west, "Fenced", "north")
		if after := latest(t, store, "Crash"); *after != *promoted {
			t.Errorf("the old primary changed the store: %+v, was %+v", after, promoted)
		}
		status, body = west.Do("POST", "/admin/demote", `{}`)
		if status != 200 {
			t.Fatalf("demote: %d %s", status, body)
		}
		sameDatabases(t, north, west)
		refused(t, west, "ReadOnlyReplica", "north")
	}
	west.Stop()
	north.Stop()
}
