package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/testenv"
)

// measureQueries returns a query per measure of a .bim, and one grouping
// the first measure by the first column of the first table.
func measureQueries(t *testing.T, bim []byte) []string {
	t.Helper()
	var db struct {
		Model struct {
			Tables []struct {
				Name     string
				Columns  []struct{ Name string }
				Measures []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(bim, &db); err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, tab := range db.Model.Tables {
		for _, m := range tab.Measures {
			qs = append(qs, fmt.Sprintf(`EVALUATE ROW("v", [%s])`, strings.ReplaceAll(m.Name, "]", "]]")))
		}
	}
	for _, tab := range db.Model.Tables {
		if len(tab.Columns) > 0 {
			qs = append(qs, fmt.Sprintf(`EVALUATE TOPN(20, VALUES('%s'[%s]))`, strings.ReplaceAll(tab.Name, "'", "''"), tab.Columns[0].Name))
			qs = append(qs, fmt.Sprintf(`EVALUATE ROW("n", COUNTROWS('%s'))`, strings.ReplaceAll(tab.Name, "'", "''")))
		}
	}
	return qs
}

// TestDatasetsEndToEnd deploys every shared dataset, refreshes it (over
// TMSL and over the AAS refresh API), queries it, restarts the server and
// checks that everything answers the same.
func TestDatasetsEndToEnd(t *testing.T) {
	datasets := testenv.Datasets(t)
	dataDir := t.TempDir()
	p := startServer(t, dataDir, "--source-root", datasets)

	type answer struct {
		status int
		body   string
	}
	answers := map[string]answer{}
	scripts := map[string]string{}
	for i, name := range []string{"contoso-sales", "contoso-sales-dirty", "legal-bi"} {
		bim, err := os.ReadFile(filepath.Join(datasets, name, "model.bim"))
		if err != nil {
			t.Fatal(err)
		}
		p.mustTMSL(deployCmd(name, bim))
		if i%2 == 0 {
			p.mustTMSL(refreshCmd(name))
		} else {
			refreshAPI(t, p, name)
		}
		ok := 0
		for _, q := range measureQueries(t, bim) {
			status, body := p.query(name, q)
			if status != 200 && status != 400 {
				t.Errorf("%s: %s: %d %s", name, q, status, body)
			}
			if status == 200 {
				ok++
			}
			answers[name+"\x00"+q] = answer{status, body}
		}
		if ok == 0 {
			t.Errorf("%s: no query succeeded", name)
		}
		t.Logf("%s: %d of %d queries answered (%s)", name, ok, len(measureQueries(t, bim)), time.Now().Format("15:04:05.000"))
	}

	// The metadata-only samples deploy and script out as deployed.
	samples, _ := filepath.Glob(filepath.Join(datasets, "bim-samples", "*.bim"))
	if len(samples) == 0 {
		t.Error("no bim samples")
	}
	for _, f := range samples {
		name := strings.TrimSuffix(filepath.Base(f), ".bim")
		bim, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p.mustTMSL(deployCmd(name, bim))
		status, script := p.Do("GET", "/databases/"+name, nil)
		if status != 200 {
			t.Fatalf("%s: script: %d %s", name, status, script)
		}
		var want, got map[string]any
		if err := json.Unmarshal([]byte(strings.TrimPrefix(string(bim), "\xef\xbb\xbf")), &want); err != nil {
			t.Fatal(err)
		}
		want["name"] = name // deployed under the file's name
		if err := json.Unmarshal(script, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: the scripted database differs from the deployed one", name)
		}
		scripts[name] = string(script)
	}

	before := p.databases()
	p.Stop()
	p = startServer(t, dataDir, "--source-root", datasets)
	if strings.Contains(p.Log.String(), "level=ERROR") {
		t.Errorf("errors at start:\n%s", p.Log.String())
	}
	after := p.databases()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("databases after restart:\n%v\nbefore:\n%v", after, before)
	}
	for key, want := range answers {
		name, q, _ := strings.Cut(key, "\x00")
		status, body := p.query(name, q)
		if status != want.status || body != want.body {
			t.Errorf("%s: %s after restart: %d %.200s, before %d %.200s", name, q, status, body, want.status, want.body)
		}
	}
	for name, want := range scripts {
		if _, got := p.Do("GET", "/databases/"+name, nil); string(got) != want {
			t.Errorf("%s: script changed across restart", name)
		}
	}
	p.Stop()
}

// refreshAPI refreshes a database through the AAS refresh API and waits
// for it to succeed.
func refreshAPI(t *testing.T, p *proc, db string) {
	t.Helper()
	base := "/servers/e2e/models/" + db + "/refreshes"
	status, body := p.Do("POST", base, `{"Type":"Full","MaxParallelism":4}`)
	if status != 202 {
		t.Fatalf("POST refreshes: %d %s", status, body)
	}
	var st struct{ Status string }
	var list []struct{ RefreshID string }
	_, lb := p.Do("GET", base, nil)
	if err := json.Unmarshal(lb, &list); err != nil || len(list) == 0 {
		t.Fatalf("refresh history: %s", lb)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, body := p.Do("GET", base+"/"+list[0].RefreshID, nil)
		json.Unmarshal(body, &st)
		if st.Status == "succeeded" {
			return
		}
		if st.Status != "notStarted" && st.Status != "inProgress" {
			t.Fatalf("refresh of %s: %s", db, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("refresh of %s still %s", db, st.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGracefulShutdown sends SIGTERM while a refresh runs: the server
// answers the refresh with 503, exits cleanly and promptly, and the
// refresh committed nothing.
func TestGracefulShutdown(t *testing.T) {
	datasets := testenv.Datasets(t)
	dataDir := t.TempDir()
	p := startServer(t, dataDir, "--source-root", datasets)
	bim, err := os.ReadFile(filepath.Join(datasets, "contoso-sales", "model.bim"))
	if err != nil {
		t.Fatal(err)
	}
	p.mustTMSL(deployCmd("Sales", bim))
	before := p.databases()["Sales"]

	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, body, err := p.Try("POST", "/tmsl", refreshCmd("Sales"))
		done <- result{status, body, err}
	}()
	// Wait until the refresh holds the database, then stop the server.
	// The probe takes the database first (409 while the refresh holds
	// it), then fails on its missing table (400) without committing.
	probe := `{"refresh":{"type":"full","objects":[{"database":"Sales","table":"No Such Table"}]}}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := p.Do("POST", "/tmsl", probe)
		if status == 409 {
			break
		}
		if status != 400 {
			t.Fatalf("probe: %d %s", status, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh never held the database")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	p.Stop()
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	r := <-done
	if r.err == nil && r.status != 503 {
		t.Errorf("refresh during shutdown answered %d %s, want 503", r.status, r.body)
	}
	if !strings.Contains(p.Log.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.Log.String())
	}
	p = startServer(t, dataDir, "--source-root", datasets)
	after := p.databases()["Sales"]
	if after.Version != before.Version || after.State != "noData" {
		t.Errorf("after shutdown during a refresh: %+v, before %+v", after, before)
	}
	p.Stop()
}

// TestDataDirInUse starts a second server on the data directory of a
// running one: it refuses to start, with a message that says why, and
// the first goes on serving.
func TestDataDirInUse(t *testing.T) {
	dataDir := t.TempDir()
	p := startServer(t, dataDir, "--source-root", t.TempDir())
	cmd := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--source-root", t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("second server: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "in use by another meridian process") {
		t.Errorf("second server said:\n%s", out)
	}
	if status, _ := p.Do("GET", "/readyz", nil); status != 200 {
		t.Errorf("first server: readyz %d", status)
	}
	// A bad flag is a usage error (exit status 2).
	cmd = exec.Command(binary(t), "serve", "--listen", "nonsense")
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("bad --listen: %v\n%s", err, out)
	}
	p.Stop()
}
