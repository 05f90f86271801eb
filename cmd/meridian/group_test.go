package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/client/clienttest"
	"github.com/meridian-olap/meridian/internal/blob"
)

// testGroup starts three fake servers (west primary, north and south
// following it) and writes a group file naming them, with an alias served
// from the mem store store.
func testGroup(t *testing.T, store string) (file string, fakes []*clienttest.Server, aliasURL string) {
	t.Helper()
	bs, err := blob.Open(context.Background(), store, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _, err := bs.ReadAll(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(web.Close)
	aliasURL = "link+http://" + strings.TrimPrefix(web.URL, "http://") + "/aliases/sales"
	var b strings.Builder
	b.WriteString("name: sales\nstore: " + store + "\nalias: " + aliasURL + "\naliasObject: aliases/sales\nservers:\n")
	for i, name := range []string{"west", "north", "south"} {
		f := fakeServer(t)
		f.SetIdentity(name, name+"europe")
		f.SetStore(store)
		role := "follower"
		if i == 0 {
			role = "primary"
		}
		f.SetRole(role, "west")
		fakes = append(fakes, f)
		b.WriteString("  - name: " + name + "\n    url: " + f.URL + "\n    region: " + name + "europe\n")
		if i == 0 {
			b.WriteString("    primary: true\n")
		}
	}
	file = filepath.Join(t.TempDir(), "sales.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, fakes, aliasURL
}

func TestGroupStatus(t *testing.T) {
	file, fakes, _ := testGroup(t, "mem://cmd-status")
	out, errOut, code := runCLI(t, "", "group", "status", "--group", file)
	if code != 0 || !strings.Contains(out, "In sync: the same versions and image hashes on 3 servers.") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"west", "northeurope", "follower", "Sales", "sha256:000000000000…"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// A follower with another image at the same version: never in sync.
	fakes[2].SetDatabaseState("Sales", 0, "sha256:"+strings.Repeat("ab", 32), 0, 0)
	out, _, code = runCLI(t, "", "group", "status", "--group", file)
	if code != exitFailure || !strings.Contains(out, "NOT in sync") || !strings.Contains(out, "image hashes differ") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "", "group", "status", "--group", file, "--json")
	var doc struct {
		InSync  bool `json:"inSync"`
		Servers []struct {
			Name, URL, Region, Role string
			Reachable               bool
			Databases               []struct {
				Name       string   `json:"name"`
				Version    int64    `json:"version"`
				ImageHash  string   `json:"imageHash"`
				LagSeconds *float64 `json:"lagSeconds"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitFailure {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if doc.InSync || len(doc.Servers) != 3 || doc.Servers[1].Role != "follower" || !doc.Servers[0].Reachable ||
		doc.Servers[2].Databases[0].ImageHash != "sha256:"+strings.Repeat("ab", 32) || doc.Servers[2].Databases[0].LagSeconds == nil {
		t.Errorf("JSON %s", out)
	}

	// A server down: the others are judged, and the exit status says a
	// server did not answer.
	fakes[2].SetDatabaseState("Sales", 0, "sha256:0000000000000000000000000000000000000000000000000000000000000001", -1, 0)
	fakes[1].Close()
	out, _, code = runCLI(t, "", "group", "status", "--group", file)
	if code != exitUnavailable || !strings.Contains(out, "In sync") || !strings.Contains(out, "north did not answer") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestGroupDeployAndBackup(t *testing.T) {
	file, fakes, _ := testGroup(t, "mem://cmd-deploy")
	bim := filepath.Join(t.TempDir(), "m.bim")
	os.WriteFile(bim, []byte(testBIM), 0o644)
	// Followers do not replicate here: deploy without waiting for them.
	out, errOut, code := runCLI(t, "", "group", "deploy", bim, "--group", file, "--wait", "0")
	if code != exitFailure || fakes[0].TMSLCount() != 1 || fakes[1].TMSLCount() != 0 {
		t.Fatalf("exit %d, TMSL %d %d\n%s%s", code, fakes[0].TMSLCount(), fakes[1].TMSLCount(), out, errOut)
	}
	if !strings.Contains(out, "succeeded") || !strings.Contains(out, "skipped") || !strings.Contains(out, "not waited for") {
		t.Errorf("output:\n%s", out)
	}
	for _, f := range fakes {
		f.RefuseCommand("backup", 501, "NotSupported", "backup is not supported yet")
	}
	out, _, code = runCLI(t, "", "group", "backup", "Sales", "--group", file, "--json")
	var doc struct {
		OK      bool
		Servers []struct{ Server, Outcome, Message string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitFailure || doc.OK {
		t.Fatalf("exit %d %v\n%s", code, err, out)
	}
	for _, s := range doc.Servers {
		if s.Outcome != "not supported" || !strings.Contains(s.Message, "501") {
			t.Errorf("row %+v", s)
		}
	}
}

func TestFailoverCommand(t *testing.T) {
	file, fakes, aliasURL := testGroup(t, "mem://cmd-failover")
	out, errOut, code := runCLI(t, "", "failover", "--group", file, "--to", "south")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if fakes[2].Role() != "primary" || fakes[0].Role() != "follower" {
		t.Errorf("roles %s %s", fakes[0].Role(), fakes[2].Role())
	}
	if !strings.Contains(out, "south") || !strings.Contains(errOut, "alias-written") || !strings.Contains(errOut, "verified") {
		t.Errorf("output:\n%s%s", out, errOut)
	}
	// A client through the alias goes to south.
	out, errOut, code = runCLI(t, "", "status", "--server", aliasURL, "--json")
	if code != 0 || !strings.Contains(out, fakes[2].URL) {
		t.Errorf("status through the alias: exit %d\n%s%s", code, out, errOut)
	}

	t.Run("JSON events", func(t *testing.T) {
		out, _, code := runCLI(t, "", "failover", "--group", file, "--to", "north", "--json")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		var events []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var e struct{ Event, Server string }
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			events = append(events, e.Event+" "+e.Server)
		}
		want := []string{"failover-start north", "promote north", "promoted north", "demote south", "demoted south", "alias-written north", "verified north", "failover-done north"}
		if d := cmp.Diff(want, events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{"failover", "--group", file, "--to", "mars"},
			{"failover", "--group", file},
			{"failover", "--to", "north"},
			{"failover", "--group", filepath.Join(t.TempDir(), "none.yaml"), "--to", "north"},
		} {
			_, errOut, code := runCLI(t, "", args...)
			if code != exitUsage {
				t.Errorf("%q: exit %d, want 2: %s", args, code, errOut)
			}
		}
	})
}
