package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const refreshesPath = "/servers/anyserver/models/Tiny/refreshes"

// postRefresh starts a refresh and returns its id.
func (ts *testServer) postRefresh(body string) string {
	ts.t.Helper()
	status, out, hdr := ts.do("POST", refreshesPath, body)
	if status != 202 {
		ts.t.Fatalf("POST refreshes: %d %s", status, out)
	}
	loc := hdr.Get("Location")
	i := strings.LastIndex(loc, "/refreshes/")
	if i < 0 || !strings.HasPrefix(loc, ts.hs.URL+"/servers/anyserver/models/Tiny/refreshes/") {
		ts.t.Fatalf("Location %q", loc)
	}
	return loc[i+len("/refreshes/"):]
}

// waitRefresh polls a refresh until it ends.
func (ts *testServer) waitRefresh(id string) jobStatus {
	ts.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, body, _ := ts.do("GET", refreshesPath+"/"+id, nil)
		if status != 200 {
			ts.t.Fatalf("GET refresh: %d %s", status, body)
		}
		var st jobStatus
		if err := json.Unmarshal(body, &st); err != nil {
			ts.t.Fatal(err)
		}
		if st.Status != statusNotStarted && st.Status != statusInProgress {
			return st
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("refresh %s still %s", id, st.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (ts *testServer) version(db string) int64 {
	ts.t.Helper()
	v, err := ts.m.Current(db)
	if err != nil {
		ts.t.Fatal(err)
	}
	return v.Manifest.Version
}

// gate holds every refresh at its start until released, or until the
// refresh's context ends.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func holdRefreshes(ts *testServer) *gate {
	g := &gate{entered: make(chan struct{}, 16), release: make(chan struct{})}
	ts.m.testHookRefresh = func(ctx context.Context) {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	return g
}

func TestRefreshAPI(t *testing.T) {
	ts := newTestServer(t)
	ts.mustTMSL(deployCmd(tinyModel("Tiny")))
	id := ts.postRefresh(`{"Type":"Full","CommitMode":"transactional","MaxParallelism":2,"RetryCount":0,"Objects":[{"table":"Sales","partition":"Sales"},{"table":"Region"}]}`)
	st := ts.waitRefresh(id)
	if st.Status != statusSucceeded || st.Type != "full" || st.CurrentRefreshType != "full" || st.EndTime == nil || st.StartTime.IsZero() {
		t.Errorf("status %+v", st)
	}
	want := []jobObject{{Table: "Sales", Partition: "Sales", Status: statusSucceeded}, {Table: "Region", Partition: "Region", Status: statusSucceeded}}
	for i := range st.Objects {
		if st.Objects[i].Rows <= 0 {
			t.Errorf("object %d reports %d rows read", i, st.Objects[i].Rows)
		}
		st.Objects[i].Rows = 0
	}
	if len(st.Objects) != 2 || st.Objects[0] != want[0] || st.Objects[1] != want[1] {
		t.Errorf("objects %+v, want %+v", st.Objects, want)
	}
	if ts.version("Tiny") != 2 {
		t.Errorf("version %d after refresh", ts.version("Tiny"))
	}
	// The whole model, lower-case member names, default type.
	id2 := ts.postRefresh(`{"type":"full"}`)
	if st := ts.waitRefresh(id2); st.Status != statusSucceeded || len(st.Objects) != 2 {
		t.Errorf("whole-model refresh: %+v", st)
	}
	_, body, _ := ts.do("GET", refreshesPath, nil)
	var hist []jobSummary
	if err := json.Unmarshal(body, &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].RefreshID != id2 || hist[1].RefreshID != id || hist[0].Status != statusSucceeded {
		t.Errorf("history %s", body)
	}
}

func TestRefreshAPIErrors(t *testing.T) {
	ts := readyTiny(t)
	ts.mustTMSL(deployCmd(tinyModel("Other")))
	otherID := ""
	{
		status, _, hdr := ts.do("POST", "/servers/s/models/Other/refreshes", `{}`)
		if status != 202 {
			t.Fatalf("refresh Other: %d", status)
		}
		loc := hdr.Get("Location")
		otherID = loc[strings.LastIndex(loc, "/")+1:]
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown database", "POST", "/servers/s/models/Nope/refreshes", `{}`, 404, "DatabaseNotFound"},
		{"malformed JSON", "POST", refreshesPath, `{"Type":`, 400, "InvalidJSON"},
		{"unknown member", "POST", refreshesPath, `{"Typ":"Full"}`, 400, "InvalidJSON"},
		{"bad type", "POST", refreshesPath, `{"Type":"Everything"}`, 400, "BadRequest"},
		{"add", "POST", refreshesPath, `{"Type":"add"}`, 400, "BadRequest"},
		{"bad commit mode", "POST", refreshesPath, `{"CommitMode":"eventually"}`, 400, "BadRequest"},
		{"negative retries", "POST", refreshesPath, `{"RetryCount":-1}`, 400, "BadRequest"},
		{"too many retries", "POST", refreshesPath, `{"RetryCount":1000}`, 400, "BadRequest"},
		{"zero parallelism", "POST", refreshesPath, `{"MaxParallelism":0}`, 400, "BadRequest"},
		{"object without table", "POST", refreshesPath, `{"Objects":[{"partition":"Sales"}]}`, 400, "BadRequest"},
		{"missing table", "POST", refreshesPath, `{"Objects":[{"table":"Nope"}]}`, 400, "ObjectNotFound"},
		{"bad timeout", "POST", refreshesPath, `{"Timeout":"soon"}`, 400, "BadRequest"},
		{"unknown refresh", "GET", refreshesPath + "/123", "", 404, "RefreshNotFound"},
		{"refresh of another database", "GET", refreshesPath + "/" + otherID, "", 404, "RefreshNotFound"},
		{"cancel unknown", "DELETE", refreshesPath + "/123", "", 404, "RefreshNotFound"},
		{"history of unknown database", "GET", "/servers/s/models/Nope/refreshes", "", 404, "DatabaseNotFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := ts.do(c.method, c.path, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if code, msg := errorOf(t, body); code != c.code {
				t.Errorf("code %s, want %s (%s)", code, c.code, msg)
			}
		})
	}
}

func TestRefreshAPIConcurrency(t *testing.T) {
	ts := readyTiny(t)
	before := ts.mustQuery("Tiny", totalQuery)
	g := holdRefreshes(ts)
	writeTinyData(t, ts.src, 3)
	id := ts.postRefresh(`{"Type":"Full"}`)
	<-g.entered

	// A second refresh, and any other writer, is refused while one runs.
	status, body, _ := ts.do("POST", refreshesPath, `{"Type":"Full"}`)
	if code, _ := errorOf(t, body); status != 409 || code != "DatabaseBusy" {
		t.Errorf("second refresh: %d %s", status, body)
	}
	status, body, _ = ts.do("POST", "/tmsl", refreshCmd("Tiny"))
	if status != 409 {
		t.Errorf("TMSL refresh during a refresh: %d %s", status, body)
	}
	status, _, _ = ts.do("POST", "/tmsl", deployCmd(tinyModel("Tiny")))
	if status != 409 {
		t.Errorf("deploy during a refresh: %d", status)
	}
	// Readers do not wait.
	if got := ts.mustQuery("Tiny", totalQuery); !equalRows(got, before) {
		t.Errorf("query during a refresh: %v", got)
	}
	st := ts.snapshotRefresh(id)
	if st.Status != statusInProgress {
		t.Errorf("status while held: %s", st.Status)
	}
	close(g.release)
	if st := ts.waitRefresh(id); st.Status != statusSucceeded {
		t.Fatalf("refresh: %+v", st)
	}
	if got := ts.mustQuery("Tiny", totalQuery); equalRows(got, before) {
		t.Errorf("answers did not change after refreshing new data")
	}
}

func (ts *testServer) snapshotRefresh(id string) jobStatus {
	_, body, _ := ts.do("GET", refreshesPath+"/"+id, nil)
	var st jobStatus
	json.Unmarshal(body, &st)
	return st
}

func equalRows(a, b []map[string]any) bool { return mustJSON(a) == mustJSON(b) }

func TestRefreshAPICancel(t *testing.T) {
	ts := readyTiny(t)
	v := ts.version("Tiny")
	g := holdRefreshes(ts)
	id := ts.postRefresh(`{"Type":"Full"}`)
	<-g.entered
	status, body, _ := ts.do("DELETE", refreshesPath+"/"+id, nil)
	if status != 200 {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	var st jobStatus
	json.Unmarshal(body, &st)
	if st.Status != statusCancelled || len(st.Messages) == 0 || !strings.Contains(st.Messages[len(st.Messages)-1].Message, "nothing was committed") {
		t.Errorf("after DELETE: %s", body)
	}
	for _, o := range st.Objects {
		if o.Status != statusCancelled {
			t.Errorf("object %+v after cancel", o)
		}
	}
	if ts.version("Tiny") != v {
		t.Errorf("a cancelled refresh committed")
	}
	// The database is free again.
	close(g.release)
	if st := ts.waitRefresh(ts.postRefresh(`{}`)); st.Status != statusSucceeded {
		t.Errorf("refresh after cancel: %+v", st)
	}
	// Cancelling a refresh that ended leaves it as it was.
	status, body, _ = ts.do("DELETE", refreshesPath+"/"+id, nil)
	json.Unmarshal(body, &st)
	if status != 200 || st.Status != statusCancelled {
		t.Errorf("second DELETE: %d %s", status, body)
	}
}

func TestRefreshAPITimeout(t *testing.T) {
	ts := readyTiny(t)
	v := ts.version("Tiny")
	holdRefreshes(ts)
	id := ts.postRefresh(`{"Type":"Full","Timeout":"00:00:01"}`)
	st := ts.waitRefresh(id)
	if st.Status != statusTimedOut {
		t.Errorf("status %s, want timedOut: %+v", st.Status, st)
	}
	if ts.version("Tiny") != v {
		t.Errorf("a timed-out refresh committed")
	}
}

func TestRefreshAPIRetry(t *testing.T) {
	ts := readyTiny(t)
	v := ts.version("Tiny")
	sales := filepath.Join(ts.src, "sales.csv")
	var calls atomic.Int32
	ts.m.testHookRefresh = func(context.Context) {
		// The source is missing at the first attempt only.
		switch calls.Add(1) {
		case 1:
			os.Rename(sales, sales+".away")
		case 2:
			os.Rename(sales+".away", sales)
		}
	}
	st := ts.waitRefresh(ts.postRefresh(`{"Type":"Full","RetryCount":2}`))
	if st.Status != statusSucceeded || calls.Load() != 2 {
		t.Fatalf("status %s after %d attempts: %+v", st.Status, calls.Load(), st)
	}
	if len(st.Messages) != 1 || st.Messages[0].Type != "warning" || !strings.Contains(st.Messages[0].Message, "attempt 1 failed") {
		t.Errorf("messages %+v", st.Messages)
	}
	if ts.version("Tiny") != v+1 {
		t.Errorf("version %d, want %d", ts.version("Tiny"), v+1)
	}

	// Without retries left, the refresh fails and commits nothing.
	calls.Store(0)
	ts.m.testHookRefresh = func(context.Context) { os.Rename(sales, sales+".away") }
	st = ts.waitRefresh(ts.postRefresh(`{"Type":"Full","RetryCount":1}`))
	os.Rename(sales+".away", sales)
	if st.Status != statusFailed || len(st.Messages) != 2 || st.Messages[1].Type != "error" ||
		st.Messages[1].Code != "SourceFailed" || !strings.Contains(st.Messages[1].Message, "nothing was committed") {
		t.Errorf("failed refresh: %+v", st)
	}
	if ts.version("Tiny") != v+1 {
		t.Errorf("a failed refresh committed")
	}
}

func TestRefreshAPIPartialBatch(t *testing.T) {
	ts := readyTiny(t)
	v := ts.version("Tiny")
	os.Remove(filepath.Join(ts.src, "sales.csv"))
	// One table per batch: Region commits, Sales fails.
	st := ts.waitRefresh(ts.postRefresh(`{"Type":"Full","CommitMode":"partialBatch","MaxParallelism":1}`))
	if st.Status != statusFailed {
		t.Fatalf("status %+v", st)
	}
	got := map[string]string{}
	for _, o := range st.Objects {
		got[o.Table] = o.Status
	}
	if got["Region"] != statusSucceeded || got["Sales"] != statusFailed {
		t.Errorf("objects %+v", st.Objects)
	}
	if ts.version("Tiny") != v+1 {
		t.Errorf("version %d: want the Region batch committed as %d", ts.version("Tiny"), v+1)
	}
	if !strings.Contains(st.Messages[len(st.Messages)-1].Message, "1 batch(es) committed") {
		t.Errorf("messages %+v", st.Messages)
	}
	// Transactional: the same failure commits nothing.
	st = ts.waitRefresh(ts.postRefresh(`{"Type":"Full","MaxParallelism":1}`))
	if st.Status != statusFailed || ts.version("Tiny") != v+1 {
		t.Errorf("transactional failure: %s, version %d", st.Status, ts.version("Tiny"))
	}
	for _, o := range st.Objects {
		if o.Status != statusFailed {
			t.Errorf("transactional failure: object %+v", o)
		}
	}
}

func TestShutdownCancelsRefreshes(t *testing.T) {
	ts := readyTiny(t)
	v := ts.version("Tiny")
	g := holdRefreshes(ts)
	id := ts.postRefresh(`{"Type":"Full"}`)
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := ts.snapshotRefresh(id); st.Status != statusCancelled {
		t.Errorf("status after shutdown: %+v", st)
	}
	if ts.version("Tiny") != v {
		t.Error("a refresh cancelled at shutdown committed")
	}
	status, _, _ := ts.do("POST", refreshesPath, `{}`)
	if status != 503 {
		t.Errorf("refresh after shutdown: %d", status)
	}
}
