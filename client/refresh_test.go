package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/client/clienttest"
)

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestRefreshWait(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	ctx := context.Background()
	job, err := c.Refresh(ctx, "Sales", client.RefreshRequest{Type: "full", MaxParallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if job.ID != "r0001" || job.Server != s.URL || job.Database != "Sales" {
		t.Errorf("job = %+v", job)
	}
	type step struct {
		Status      string
		Done, Total int
		Rows        int64
	}
	var steps []step
	st, err := job.Wait(ctx, 1, func(st *client.RefreshStatus) {
		d, n, r := st.Progress()
		steps = append(steps, step{st.Status, d, n, r})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []step{
		{"inProgress", 0, 3, 500},
		{"inProgress", 1, 3, 1500},
		{"inProgress", 2, 3, 2500},
		{"inProgress", 3, 3, 3000},
		{"succeeded", 3, 3, 3000},
	}
	if d := cmp.Diff(want, steps); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
	if !st.Succeeded() || st.Type != "full" || st.ID != "r0001" || st.Duration() < 0 {
		t.Errorf("final status = %+v", st)
	}
	dbs, _ := c.Databases(ctx)
	if dbs[0].State != "ready" || dbs[0].LastProcessed.IsZero() {
		t.Errorf("database after refresh = %+v", dbs[0])
	}
	hist, err := c.Refreshes(ctx, "Sales")
	if err != nil || len(hist) != 1 || hist[0].ID != "r0001" || hist[0].Status != "succeeded" {
		t.Errorf("history = %+v, %v", hist, err)
	}
}

func TestRefreshObjects(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	job, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{Objects: []client.RefreshObject{{Table: "Sales", Partition: "Sales 2022"}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := job.Wait(context.Background(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Objects) != 1 || st.Objects[0].Partition != "Sales 2022" {
		t.Errorf("objects = %+v", st.Objects)
	}
}

func TestRefreshConflict(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	if _, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{})
	if !client.IsConflict(err) || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second refresh: %v, want a conflict", err)
	}
}

func TestRefreshFailed(t *testing.T) {
	s := newFake(t)
	s.FailRefresh("Sales 2022", "Sales.csv line 7: \"abc\" is not a number")
	c := open(t, s.URL, client.Options{})
	job, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := job.Wait(context.Background(), 1, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Code != client.CodeRefreshFailed || !strings.Contains(e.Message, "line 7") {
		t.Fatalf("err = %v, want a refresh failure with the server's message", err)
	}
	if st == nil || st.Status != "failed" {
		t.Fatalf("status = %+v", st)
	}
	if d, n, _ := st.Progress(); d != 3 || n != 3 {
		t.Errorf("progress = %d/%d, want 3/3 (two succeeded, one failed)", d, n)
	}
}

func TestRefreshCancel(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	job, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = job.Wait(context.Background(), 1, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Code != client.CodeRefreshCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

func TestRefreshUnknownDatabase(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	if _, err := c.Refresh(context.Background(), "Nope", client.RefreshRequest{}); !client.IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
}

// TestRefreshStatusSurvivesABlip polls a refresh through a server whose
// status answers fail a few times: Wait keeps polling.
func TestRefreshStatusSurvivesABlip(t *testing.T) {
	s := newFake(t)
	fails := 3
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/refreshes/") && fails > 0 {
			fails--
			w.WriteHeader(503)
			return
		}
		proxy(w, r, s.URL)
	}))
	defer front.Close()
	c := open(t, front.URL, client.Options{})
	job, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := job.Wait(context.Background(), 1, nil)
	if err != nil || !st.Succeeded() {
		t.Fatalf("Wait = %+v, %v", st, err)
	}
}

func TestRefreshWithoutLocation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.WriteHeader(202)
	}))
	defer srv.Close()
	c := open(t, srv.URL, client.Options{})
	_, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != client.CodeBadResponse || !strings.Contains(e.Message, "Location") {
		t.Fatalf("err = %v", err)
	}
}

func TestRefreshLocationForms(t *testing.T) {
	for _, loc := range []string{"abc-123", "/servers/x/models/Sales/refreshes/abc-123", "http://h:1/servers/x/models/Sales/refreshes/abc-123/"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", loc)
				w.WriteHeader(202)
			}
		}))
		c := open(t, srv.URL, client.Options{})
		job, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{})
		if err != nil || job.ID != "abc-123" {
			t.Errorf("Location %q: job %+v, %v", loc, job, err)
		}
		srv.Close()
	}
}

// proxy forwards a request to base.
func proxy(w http.ResponseWriter, r *http.Request, base string) {
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.Path, r.Body)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.WriteHeader(502)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

var _ = clienttest.NoFault
