package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/client/clienttest"
)

const salesBIM = `{
  "name": "Sales",
  "compatibilityLevel": 1600,
  "model": {
    "tables": [
      {"name": "Date", "partitions": [{"name": "Date"}]},
      {"name": "Sales", "partitions": [{"name": "Sales 2021"}, {"name": "Sales 2022"}]}
    ],
    "x-unknown": {"kept": true}
  }
}`

const yearsQuery = "EVALUATE VALUES('Date'[Year])"

// newFake starts a fake server with the Sales database and one query.
func newFake(t *testing.T) *clienttest.Server {
	t.Helper()
	s := clienttest.New(t)
	if err := s.AddDatabase(salesBIM); err != nil {
		t.Fatal(err)
	}
	s.AddQuery(yearsQuery, []clienttest.Row{
		{{Column: "Date[Year]", Value: 2021}},
		{{Column: "Date[Year]", Value: 2022}},
	})
	return s
}

// deadURL returns the URL of a server that has stopped: connecting to it
// is refused.
func deadURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

func open(t *testing.T, target string, opts client.Options) *client.Conn {
	t.Helper()
	c, err := client.Open(context.Background(), target, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", target, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func years(t *testing.T, res *client.Result) []int64 {
	t.Helper()
	var out []int64
	for _, r := range res.Rows {
		n, ok := r[0].Int()
		if !ok {
			t.Fatalf("year %v is not an integer", r[0])
		}
		out = append(out, n)
	}
	return out
}

func TestQuery(t *testing.T) {
	s := newFake(t)
	c := open(t, "Data Source="+s.URL+";Initial Catalog=Sales", client.Options{})
	res, err := c.Query(context.Background(), "", yearsQuery)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{2021, 2022}, years(t, res)); d != "" {
		t.Errorf("years (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]client.Column{{Name: "Date[Year]", Type: client.Integer}}, res.Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
}

func TestQueryErrors(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	ctx := context.Background()
	t.Run("no database", func(t *testing.T) {
		if _, err := c.Query(ctx, "", yearsQuery); !errors.Is(err, client.ErrNoDatabase) {
			t.Fatalf("err = %v, want ErrNoDatabase", err)
		}
	})
	t.Run("unknown database", func(t *testing.T) {
		_, err := c.Query(ctx, "Nope", yearsQuery)
		if !client.IsNotFound(err) {
			t.Fatalf("err = %v, want not found", err)
		}
		var e *client.Error
		errors.As(err, &e)
		if e.Code != "DatabaseNotFound" || e.Server != s.URL || !strings.Contains(e.Message, `"Nope"`) {
			t.Errorf("error = %+v", e)
		}
	})
	t.Run("DAX error", func(t *testing.T) {
		_, err := c.Query(ctx, "Sales", "EVALUATE nonsense")
		if !client.IsBadRequest(err) || !strings.Contains(err.Error(), "line 1, column 1") {
			t.Fatalf("err = %v, want a 400 with a position", err)
		}
	})
	t.Run("empty query", func(t *testing.T) {
		if _, err := c.Query(ctx, "Sales", "  \n"); err == nil {
			t.Fatal("an empty query was sent")
		}
	})
}

// TestReadFailover runs a query against a list whose first server fails
// in each way a server can, and expects the answer from the second.
func TestReadFailover(t *testing.T) {
	faults := []struct {
		name  string
		fault clienttest.Fault
	}{
		{"503", clienttest.Unavailable},
		{"500", clienttest.ServerError},
		{"dies mid-stream", clienttest.DropMidStream},
		{"hangs", clienttest.Hang},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			bad, good := newFake(t), newFake(t)
			// Timeout bounds each attempt so that the hanging server is
			// given up; the other cases never wait for it.
			c := open(t, "Data Source="+bad.URL+","+good.URL+";Initial Catalog=Sales;Timeout=1", client.Options{})
			bad.SetFault(f.fault)
			res, err := c.Query(context.Background(), "", yearsQuery)
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			if d := cmp.Diff([]int64{2021, 2022}, years(t, res)); d != "" {
				t.Errorf("years (-want +got):\n%s", d)
			}
			if n, m := countPrefix(bad.Requests(), "POST /v1.0"), len(good.Queries()); n != 1 || m != 1 {
				t.Errorf("queries: first server %d, second %d; want 1 and 1", n, m)
			}
			// The failed server is skipped by the next read.
			if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
				t.Fatal(err)
			}
			if n, m := countPrefix(bad.Requests(), "POST /v1.0"), len(good.Queries()); n != 1 || m != 2 {
				t.Errorf("second read: first server %d queries, second %d; want 1 and 2", n, m)
			}
		})
	}
}

func TestOpenSkipsRefusingServer(t *testing.T) {
	good := newFake(t)
	dead := deadURL(t)
	c := open(t, "Data Source="+dead+","+good.URL+";Initial Catalog=Sales", client.Options{})
	if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{dead, good.URL}, c.Servers()); d != "" {
		t.Errorf("Servers (-want +got):\n%s", d)
	}
	if c.Primary() != dead {
		t.Errorf("Primary = %s, want %s", c.Primary(), dead)
	}
}

func TestNoServerAnswers(t *testing.T) {
	a, b := deadURL(t), deadURL(t)
	_, err := client.Open(context.Background(), "Data Source="+a+","+b, client.Options{})
	if !client.IsUnreachable(err) || !client.IsUnavailable(err) {
		t.Fatalf("err = %v, want unreachable", err)
	}
	for _, u := range []string{a, b} {
		if !strings.Contains(err.Error(), u) {
			t.Errorf("error %q does not name %s", err, u)
		}
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say the connection was refused", err)
	}
}

func TestAllServersUnavailable(t *testing.T) {
	a, b := newFake(t), newFake(t)
	c := open(t, "Data Source="+a.URL+","+b.URL+";Initial Catalog=Sales", client.Options{})
	a.SetFault(clienttest.Unavailable)
	b.SetFault(clienttest.Unavailable)
	_, err := c.Query(context.Background(), "", yearsQuery)
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 503 || !client.IsUnavailable(err) || client.IsUnreachable(err) {
		t.Fatalf("err = %#v, want a 503", err)
	}
}

// TestWritesGoOnlyToThePrimary checks that a failed write is neither
// retried nor sent to the second server.
func TestWritesGoOnlyToThePrimary(t *testing.T) {
	for _, f := range []clienttest.Fault{clienttest.Unavailable, clienttest.DropMidStream, clienttest.ServerError} {
		primary, second := newFake(t), newFake(t)
		c := open(t, "Data Source="+primary.URL+","+second.URL, client.Options{})
		primary.SetFault(f)
		_, err := c.Deploy(context.Background(), []byte(salesBIM), "")
		if !client.IsUnavailable(err) {
			t.Errorf("fault %d: deploy err = %v, want unavailable", f, err)
		}
		if n := countPrefix(primary.Requests(), "POST /tmsl"); n != 1 {
			t.Errorf("fault %d: primary got %d TMSL requests, want 1", f, n)
		}
		if n := second.TMSLCount(); n != 0 {
			t.Errorf("fault %d: the second server got %d TMSL commands, want none", f, n)
		}
		if _, err := c.Refresh(context.Background(), "Sales", client.RefreshRequest{}); err == nil {
			t.Errorf("fault %d: refresh succeeded on a failing primary", f)
		}
		if n := countPrefix(second.Requests(), "POST /servers/"); n != 0 {
			t.Errorf("fault %d: the second server got a refresh", f)
		}
	}
}

func countPrefix(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestErrorBodyNeverRaw(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><body>upstream \x1b[31mexploded</body></html>"))
	}))
	defer proxy.Close()
	c := open(t, proxy.URL, client.Options{})
	_, err := c.Databases(context.Background())
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 502 {
		t.Fatalf("err = %v, want a 502 *Error", err)
	}
	if strings.Contains(err.Error(), "html") || strings.Contains(err.Error(), "exploded") {
		t.Errorf("error %q shows the raw body", err)
	}
	if e.Code != "BadGateway" || e.Message != "bad gateway" {
		t.Errorf("error = %+v", e)
	}
}

func TestServerMessagesAreCleaned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.WriteHeader(400)
		w.Write([]byte(`{"error":{"code":"Bad","message":"a\u001b[2Jb` + strings.Repeat("x", 5000) + `"}}`))
	}))
	defer srv.Close()
	c := open(t, srv.URL, client.Options{})
	_, err := c.TMSL(context.Background(), []byte(`{"refresh":{}}`))
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if strings.Contains(e.Message, "\x1b") || len(e.Message) > 4010 || !strings.HasPrefix(e.Message, "a[2Jb") {
		t.Errorf("message not cleaned: %.40q (%d bytes)", e.Message, len(e.Message))
	}
}

func TestBadConnectionString(t *testing.T) {
	_, err := client.Open(context.Background(), "Data Source=ftp://x", client.Options{})
	if !errors.Is(err, client.ErrConnString) {
		t.Fatalf("err = %v", err)
	}
}

func TestClosedConn(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	c.Close()
	if _, err := c.Databases(context.Background()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestCancelledContext(t *testing.T) {
	bad, good := newFake(t), newFake(t)
	c := open(t, "Data Source="+bad.URL+","+good.URL+";Initial Catalog=Sales", client.Options{Timeout: -1})
	bad.SetFault(clienttest.Hang)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(bad.Queries()) == 0 && len(bad.Requests()) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Query(ctx, "", yearsQuery)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(good.Queries()) != 0 {
		t.Errorf("a cancelled read moved on to the next server")
	}
}

func TestDeployAndDatabases(t *testing.T) {
	s := clienttest.New(t)
	c := open(t, s.URL, client.Options{})
	ctx := context.Background()
	res, err := c.Deploy(ctx, []byte(salesBIM), "Sales2")
	if err != nil {
		t.Fatal(err)
	}
	if res.Database != "Sales2" || res.Server != s.URL {
		t.Errorf("deploy result = %+v", res)
	}
	dbs, err := c.Databases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dbs) != 1 || dbs[0].Name != "Sales2" || dbs[0].Version != 1 || dbs[0].State != "unprocessed" || !dbs[0].LastProcessed.IsZero() {
		t.Fatalf("databases = %+v", dbs)
	}
	def, err := c.Database(ctx, "Sales2")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Name  string
		Model map[string]json.RawMessage
	}
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "Sales2" || string(d.Model["x-unknown"]) != `{"kept": true}` {
		t.Errorf("definition = %s", def)
	}
	if _, err := c.Database(ctx, "Nope"); !client.IsNotFound(err) {
		t.Errorf("unknown database: err = %v", err)
	}
}

func TestDeployCommand(t *testing.T) {
	tests := []struct {
		name, bim, database, wantName, wantDB string
	}{
		{"own name kept byte for byte", `{"name": "Sales", "model": {"b": 1, "a": 2}}`, "", "Sales",
			`{"name": "Sales", "model": {"b": 1, "a": 2}}`},
		{"override replaces only the name", `{"model": {"b": 1}, "name" : "Sales", "z": [1]}`, "Other", "Other",
			`{"model": {"b": 1}, "name":"Other", "z": [1]}`},
		{"name added when missing", `{ "model": {} }`, "New", "New", `{"name":"New", "model": {} }`},
		{"BOM dropped", "\ufeff{\"name\":\"S\",\"model\":{}}", "", "S", `{"name":"S","model":{}}`},
		{"nested names untouched", `{"model":{"name":"m","tables":[{"name":"t"}]},"name":"S"}`, "T", "T",
			`{"model":{"name":"m","tables":[{"name":"t"}]},"name":"T"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, name, err := client.DeployCommand([]byte(tt.bim), tt.database)
			if err != nil {
				t.Fatal(err)
			}
			if name != tt.wantName {
				t.Errorf("name = %q, want %q", name, tt.wantName)
			}
			var c struct {
				CreateOrReplace struct {
					Object   struct{ Database string }
					Database json.RawMessage
				}
			}
			if err := json.Unmarshal(cmd, &c); err != nil {
				t.Fatalf("command %s: %v", cmd, err)
			}
			if c.CreateOrReplace.Object.Database != tt.wantName {
				t.Errorf("object.database = %q", c.CreateOrReplace.Object.Database)
			}
			if got := string(c.CreateOrReplace.Database); got != tt.wantDB {
				t.Errorf("database =\n%s\nwant\n%s", got, tt.wantDB)
			}
		})
	}
}

func TestDeployCommandErrors(t *testing.T) {
	tests := []struct {
		name, bim, want string
	}{
		{"empty", "  ", "model file is empty"},
		{"bad JSON with position", "{\n  \"name\": \"S\",\n  \"model\": {,}\n}", "line 3, column 13"},
		{"not an object", `["x"]`, "must be a JSON object"},
		{"no name", `{"model":{}}`, "no \"name\""},
		{"no model", `{"name":"S"}`, "no \"model\""},
		{"a command", `{"createOrReplace":{}}`, "meridian tmsl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := client.DeployCommand([]byte(tt.bim), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if !errors.Is(err, client.ErrBadInput) {
				t.Errorf("err = %v does not wrap ErrBadInput", err)
			}
		})
	}
}

func TestTMSL(t *testing.T) {
	s := newFake(t)
	c := open(t, s.URL, client.Options{})
	msgs, err := c.TMSL(context.Background(), []byte(`{"refresh":{"type":"full","objects":[{"database":"Sales"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]client.Message{{Type: "information", Message: "refresh done"}}, msgs); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	if _, err := c.TMSL(context.Background(), []byte(`{"delete":{"object":{"database":"Nope"}}}`)); !client.IsNotFound(err) {
		t.Errorf("delete of an unknown database: %v", err)
	}
	if _, err := c.TMSL(context.Background(), []byte(`{"refresh":`)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad JSON: %v", err)
	}
	if n := s.TMSLCount(); n != 2 {
		t.Errorf("server got %d commands, want 2 (bad JSON is refused before sending)", n)
	}
}

func TestMessageShapes(t *testing.T) {
	var msgs []client.Message
	err := json.Unmarshal([]byte(`["plain",{"code":"C","text":"t","severity":"warning"},{"description":"d"}]`), &msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.Message{{Message: "plain"}, {Type: "warning", Code: "C", Message: "t"}, {Message: "d"}}
	if d := cmp.Diff(want, msgs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestHealthAndReady(t *testing.T) {
	up, loading := newFake(t), newFake(t)
	dead := deadURL(t)
	c := open(t, "Data Source="+up.URL+","+loading.URL+","+dead, client.Options{})
	loading.SetReady(false)
	hs, err := c.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type hv struct {
		URL            string
		Healthy, Ready bool
		Unreachable    bool
	}
	var got []hv
	for _, h := range hs {
		got = append(got, hv{h.URL, h.Healthy, h.Ready, client.IsUnreachable(h.Err)})
	}
	want := []hv{{up.URL, true, true, false}, {loading.URL, true, false, false}, {dead, false, false, true}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("health (-want +got):\n%s", d)
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	up.SetReady(false)
	err = c.Ready(context.Background())
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 503 {
		t.Errorf("Ready with no server ready: %v, want a 503", err)
	}
}

func TestLoggerSeesFailover(t *testing.T) {
	bad, good := newFake(t), newFake(t)
	var logs bytes.Buffer
	c := open(t, "Data Source="+bad.URL+","+good.URL+";Initial Catalog=Sales",
		client.Options{Logger: slogTo(&logs), UserAgent: "test-agent"})
	bad.SetFault(clienttest.Unavailable)
	if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "trying the next one") || !strings.Contains(logs.String(), good.URL) {
		t.Errorf("log = %q", logs.String())
	}
}
