package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/client/clienttest"
)

func TestParseAlias(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		servers []string
		catalog string
		timeout time.Duration
	}{
		{"one URL", "http://h1:8484", []string{"http://h1:8484"}, "", 0},
		{"one URL and a newline", "http://h1:8484\n", []string{"http://h1:8484"}, "", 0},
		{"lines with comments", "# group sales\n\nhttp://H1:8484/   # north, primary\n  http://h2:8484 # west\n",
			[]string{"http://h1:8484", "http://h2:8484"}, "", 0},
		{"CRLF and a BOM", "\ufeffhttp://h1:8484\r\nhttps://h2\r\n", []string{"http://h1:8484", "https://h2"}, "", 0},
		{"commas and spaces", "http://a:1, http://b:2 http://c:3", []string{"http://a:1", "http://b:2", "http://c:3"}, "", 0},
		{"connection string", "Data Source=http://a:1,http://b:2;Initial Catalog=Sales;Timeout=5",
			[]string{"http://a:1", "http://b:2"}, "Sales", 5 * time.Second},
		{"connection string on lines", "# written by hand\nData Source = http://a:1, http://b:2\nInitial Catalog=\"Sales; 2024\"  # quoted\n",
			[]string{"http://a:1", "http://b:2"}, "Sales; 2024", 0},
		{"Server synonym", "server=http://a:1", []string{"http://a:1"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := client.ParseAlias([]byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range a.Sources {
				got = append(got, s.URL)
			}
			if d := cmp.Diff(tt.servers, got); d != "" {
				t.Errorf("servers (-want +got):\n%s", d)
			}
			if a.Catalog != tt.catalog || a.Timeout != tt.timeout {
				t.Errorf("catalog %q timeout %v, want %q %v", a.Catalog, a.Timeout, tt.catalog, tt.timeout)
			}
		})
	}
}

func TestParseAliasErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "empty"},
		{"only comments", "# nothing here\n\n   # still nothing\n", "empty"},
		{"an alias naming an alias", "http://a:1\nlink://elsewhere/x\n", "line 2: link://elsewhere/x is an alias"},
		{"HTML page", "<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"},
		{"no scheme", "http://a:1\nb:2\n", `line 2: "b:2" is not a server URL`},
		{"bad scheme", "ftp://a:1", "line 1: "},
		{"duplicate", "http://a:1\nhttp://A:1/\n", "line 2: http://a:1 is already named on line 1"},
		{"unknown key", "Data Source=http://a:1\nPassword=x\n", `line 2: unknown key "Password"`},
		{"key twice", "Data Source=http://a:1\nServer=http://b:1\n", "line 2: Data Source is already given on line 1"},
		{"no data source", "Initial Catalog=Sales", "no Data Source"},
		{"pair without =", "Data Source=http://a:1\nSales\n", "line 2: "},
		{"bad timeout", "Data Source=http://a:1;Timeout=soon", "line 1: Timeout"},
		{"control character", "http://a:1\x00", "line 1: control character"},
		{"invalid UTF-8", "http://a:1\xff", "UTF-8"},
		{"query in URL", "http://a:1/?x=1", "line 1: "},
		{"credentials", "http://user:pw@a:1", "credentials"},
		{"too long", "http://a:1\n" + strings.Repeat("#", client.MaxAliasBytes), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ParseAlias([]byte(tt.text))
			if !errors.Is(err, client.ErrAlias) {
				t.Fatalf("err = %v, want ErrAlias", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFormatAliasReadsBack(t *testing.T) {
	text := client.FormatAlias([]string{"alias of group sales", "written by meridian failover\nat noon"},
		[]string{"http://b:2", "http://a:1"}, []string{"north, primary", ""})
	a, err := client.ParseAlias(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if got := []string{a.Sources[0].URL, a.Sources[1].URL}; !cmp.Equal(got, []string{"http://b:2", "http://a:1"}) {
		t.Errorf("servers %v", got)
	}
}

func FuzzParseAlias(f *testing.F) {
	for _, s := range []string{"http://a:1\nhttp://b:2 # x\n", "Data Source=http://a:1;Initial Catalog=S", "# c\n", "link://x/y", "<html>", "Server='http://a:1'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := client.ParseAlias([]byte(text))
		if err != nil {
			if !errors.Is(err, client.ErrAlias) {
				t.Fatalf("error %v does not wrap ErrAlias", err)
			}
			return
		}
		if len(a.Sources) == 0 {
			t.Fatal("no error and no servers")
		}
		// What parses writes back to a text naming the same servers.
		urls := make([]string, len(a.Sources))
		for i, s := range a.Sources {
			if s.Alias {
				t.Fatalf("alias %s in an alias", s.URL)
			}
			urls[i] = s.URL
		}
		b, err := client.ParseAlias(client.FormatAlias(nil, urls, nil))
		if err != nil {
			t.Fatalf("formatted alias does not parse: %v", err)
		}
		for i := range urls {
			if b.Sources[i].URL != urls[i] {
				t.Fatalf("server %d: %s, want %s", i, b.Sources[i].URL, urls[i])
			}
		}
	})
}

// aliasServer serves an alias text that tests change, and counts reads.
type aliasServer struct {
	*httptest.Server
	mu     sync.Mutex
	text   string
	status int
	reads  atomic.Int64
}

func newAliasServer(t *testing.T, text string) *aliasServer {
	a := &aliasServer{text: text, status: 200}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.reads.Add(1)
		a.mu.Lock()
		text, status := a.text, a.status
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		w.Write([]byte(text))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *aliasServer) set(text string) {
	a.mu.Lock()
	a.text = text
	a.mu.Unlock()
}

// link is the link+http:// URL of the alias at path.
func (a *aliasServer) link(path string) string {
	return "link+http://" + strings.TrimPrefix(a.URL, "http://") + path
}

func TestAliasResolution(t *testing.T) {
	s := newFake(t)
	a := newAliasServer(t, "# sales\n"+s.URL+"  # the only server\nData Source=x")
	t.Run("bad text", func(t *testing.T) {
		_, err := client.Open(context.Background(), a.link("/aliases/sales"), client.Options{})
		if !errors.Is(err, client.ErrAlias) || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), a.link("/aliases/sales")) {
			t.Fatalf("err = %v, want a line-3 alias error naming the alias", err)
		}
	})
	a.set("# sales\nData Source=" + s.URL + "\nInitial Catalog=Sales\n")
	c := open(t, "Data Source="+a.link("/aliases/sales"), client.Options{})
	if d := cmp.Diff([]string{s.URL}, c.Servers()); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if c.Catalog() != "Sales" {
		t.Errorf("catalog %q, want the alias's Sales", c.Catalog())
	}
	res, err := c.Query(context.Background(), "", yearsQuery)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{2021, 2022}, years(t, res)); d != "" {
		t.Errorf("years (-want +got):\n%s", d)
	}
	t.Run("connection string catalog wins", func(t *testing.T) {
		c := open(t, "Data Source="+a.link("/aliases/sales")+";Initial Catalog=Other", client.Options{})
		if c.Catalog() != "Other" {
			t.Errorf("catalog %q", c.Catalog())
		}
	})
	t.Run("alias and a plain server", func(t *testing.T) {
		other := newFake(t)
		c := open(t, "Data Source="+a.link("/aliases/sales")+","+other.URL+","+s.URL, client.Options{})
		if d := cmp.Diff([]string{s.URL, other.URL}, c.Servers()); d != "" {
			t.Errorf("servers (-want +got):\n%s", d)
		}
	})
}

func TestAliasDoesNotAnswer(t *testing.T) {
	dead := deadURL(t)
	link := "link+http://" + strings.TrimPrefix(dead, "http://") + "/aliases/sales"
	_, err := client.Open(context.Background(), link, client.Options{})
	if !errors.Is(err, client.ErrAlias) || !client.IsUnreachable(err) {
		t.Fatalf("err = %v, want an unreachable alias error", err)
	}
	for _, want := range []string{link, "does not answer", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	t.Run("404", func(t *testing.T) {
		a := newAliasServer(t, "not here")
		a.status = 404
		_, err := client.Open(context.Background(), a.link("/nope"), client.Options{})
		if !errors.Is(err, client.ErrAlias) || !strings.Contains(err.Error(), "404") || client.IsUnreachable(err) {
			t.Fatalf("err = %v, want a 404 alias error", err)
		}
	})
	t.Run("hangs", func(t *testing.T) {
		release := make(chan struct{})
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer hang.Close()
		defer close(release)
		_, err := client.Open(context.Background(), "Data Source=link+http://"+strings.TrimPrefix(hang.URL, "http://")+"/a;Timeout=1", client.Options{})
		if !errors.Is(err, client.ErrAlias) || !client.IsUnreachable(err) || !strings.Contains(err.Error(), "no answer within 1s") {
			t.Fatalf("err = %v, want an alias that timed out", err)
		}
	})
	t.Run("link:// is read over HTTPS", func(t *testing.T) {
		// An HTTP server does not speak TLS: the https:// read fails,
		// which shows link:// did not fall back to plain HTTP.
		a := newAliasServer(t, "http://127.0.0.1:1")
		_, err := client.Open(context.Background(), "link://"+strings.TrimPrefix(a.URL, "http://")+"/x", client.Options{})
		if !errors.Is(err, client.ErrAlias) || !strings.Contains(err.Error(), "https://") || a.reads.Load() != 0 {
			t.Fatalf("err = %v (reads %d), want a failed https:// read", err, a.reads.Load())
		}
	})
}

// TestAliasChanges fails the server an alias names and repoints the
// alias: reads continue on the new server, and writes go to it.
func TestAliasChanges(t *testing.T) {
	first, second := newFake(t), newFake(t)
	a := newAliasServer(t, first.URL)
	c := open(t, "Data Source="+a.link("/a")+";Initial Catalog=Sales", client.Options{AliasInterval: time.Nanosecond})
	if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
		t.Fatal(err)
	}
	first.SetFault(clienttest.Unavailable)
	a.set("# failed over\n" + second.URL + "\n" + first.URL + "\n")
	if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
		t.Fatalf("query after the failover: %v", err)
	}
	if len(second.Queries()) != 1 {
		t.Errorf("second server answered %d queries, want 1", len(second.Queries()))
	}
	if c.Primary() != second.URL {
		t.Errorf("primary %s, want %s", c.Primary(), second.URL)
	}
	if _, err := c.Deploy(context.Background(), []byte(salesBIM), ""); err != nil {
		t.Fatalf("deploy after the failover: %v", err)
	}
	if n := second.TMSLCount(); n != 1 {
		t.Errorf("the new primary got %d TMSL commands, want 1", n)
	}
}

// TestAliasReadsAreBounded fails every server: each failing read must not
// read the alias again within the interval.
func TestAliasReadsAreBounded(t *testing.T) {
	s := newFake(t)
	a := newAliasServer(t, s.URL)
	c := open(t, "Data Source="+a.link("/a")+";Initial Catalog=Sales", client.Options{AliasInterval: time.Hour})
	s.SetFault(clienttest.Unavailable)
	for range 20 {
		if _, err := c.Query(context.Background(), "", yearsQuery); !client.IsUnavailable(err) {
			t.Fatalf("err = %v, want unavailable", err)
		}
	}
	if n := a.reads.Load(); n != 1 {
		t.Errorf("alias read %d times, want once (at Open)", n)
	}
}

// TestAliasStopsAnswering keeps the last servers an alias named when the
// alias stops answering.
func TestAliasStopsAnswering(t *testing.T) {
	x, y := newFake(t), newFake(t)
	a := newAliasServer(t, x.URL+"\n"+y.URL)
	c := open(t, "Data Source="+a.link("/a")+";Initial Catalog=Sales", client.Options{AliasInterval: time.Nanosecond})
	a.Close()
	x.SetFault(clienttest.Unavailable)
	if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
		t.Fatalf("query: %v", err)
	}
	if d := cmp.Diff([]string{x.URL, y.URL}, c.Servers()); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
}

// TestWriteFollowsAliasOnlyWhenNotApplied sends a write through an alias
// whose primary has changed: a primary that refused the connection or
// refused the write for its role gets it once and the new primary then
// gets it; a primary that may have applied it (503, a cut answer, a
// timeout) is not retried anywhere.
func TestWriteFollowsAliasOnlyWhenNotApplied(t *testing.T) {
	tests := []struct {
		name  string
		setup func(old *clienttest.Server)
		moved bool
	}{
		// The old primary is down before the Conn opens, so no pooled
		// connection to it exists: the write's connection is refused.
		// (A write on a pooled connection that the server closes is not
		// retried: the client cannot know whether it was applied.)
		{"refused connection", nil, true},
		{"follower", func(old *clienttest.Server) { old.SetRole("follower", "new") }, true},
		{"fenced", func(old *clienttest.Server) { old.SetRole("fenced", "") }, true},
		{"503", func(old *clienttest.Server) { old.SetFault(clienttest.Unavailable) }, false},
		{"500", func(old *clienttest.Server) { old.SetFault(clienttest.ServerError) }, false},
		{"cut answer", func(old *clienttest.Server) { old.SetFault(clienttest.DropMidStream) }, false},
		{"timeout", func(old *clienttest.Server) { old.SetFault(clienttest.Hang) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, next := newFake(t), newFake(t)
			a := newAliasServer(t, old.URL)
			if tt.setup == nil {
				old.Close()
				a.set(old.URL + "\n" + next.URL)
			}
			c := open(t, "Data Source="+a.link("/a")+";Timeout=1", client.Options{AliasInterval: time.Nanosecond})
			a.set(next.URL + "\n" + old.URL)
			if tt.setup != nil {
				tt.setup(old)
			}
			_, err := c.Deploy(context.Background(), []byte(salesBIM), "")
			if tt.moved {
				if err != nil {
					t.Fatalf("deploy: %v", err)
				}
				if next.TMSLCount() != 1 {
					t.Errorf("new primary got %d commands, want 1", next.TMSLCount())
				}
				return
			}
			if err == nil {
				t.Fatal("deploy succeeded; the write was retried")
			}
			if n := next.TMSLCount(); n != 0 {
				t.Errorf("new primary got %d commands; the write was retried blindly", n)
			}
			if n := countPrefix(old.Requests(), "POST /tmsl"); n != 1 {
				t.Errorf("old primary got %d commands, want 1", n)
			}
		})
	}
}

// TestServerComesBack fails the first server, then heals it: the
// background probe makes it the server reads go to again.
func TestServerComesBack(t *testing.T) {
	first, second := newFake(t), newFake(t)
	c := open(t, "Data Source="+first.URL+","+second.URL+";Initial Catalog=Sales",
		client.Options{ProbeInterval: 10 * time.Millisecond})
	first.SetFault(clienttest.Unavailable)
	if _, err := c.Query(context.Background(), "", yearsQuery); err != nil {
		t.Fatal(err)
	}
	if len(second.Queries()) != 1 {
		t.Fatalf("second server answered %d queries, want 1", len(second.Queries()))
	}
	first.SetFault(clienttest.NoFault)
	// Reads go to the second server until the background probe finds
	// the first ready again; then they go to the first.
	waitUntil(t, func() bool {
		_, err := c.Query(context.Background(), "", yearsQuery)
		return err == nil && len(first.Queries()) > 0
	})
}

// waitUntil polls cond until it holds; the deadline only bounds a broken
// test.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
