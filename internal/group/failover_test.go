package group

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/blob"
)

// aliasWeb serves the objects of a blob store over HTTP, as a public
// container or a static web site would serve the alias.
func aliasWeb(t *testing.T, storeURL string) *httptest.Server {
	t.Helper()
	st, err := blob.Open(context.Background(), storeURL, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _, err := st.ReadAll(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// withAlias gives a fake group an alias served from its mem store.
func withAlias(t *testing.T, g *Group, store string) {
	web := aliasWeb(t, store)
	g.Alias = "link+http://" + strings.TrimPrefix(web.URL, "http://") + "/aliases/sales"
	g.AliasObject = ObjectRef{Store: store, Name: "aliases/sales"}
}

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Event+" "+e.Server)
	}
	return out
}

func TestFailover(t *testing.T) {
	g, fakes := fakeGroup(t, 3)
	store := "mem://failover-test"
	withAlias(t, g, store)
	var log eventLog
	res, err := Failover(context.Background(), g, "North", FailoverOptions{Events: log.add})
	if err != nil {
		t.Fatalf("failover: %v\nevents %q", err, log.names())
	}
	if fakes[1].Role() != "primary" || fakes[0].Role() != "follower" || fakes[2].Role() != "follower" {
		t.Errorf("roles %s %s %s", fakes[0].Role(), fakes[1].Role(), fakes[2].Role())
	}
	if d := cmp.Diff([]string{"promote takeover=true store="}, fakes[1].AdminRequests()); d != "" {
		t.Errorf("promote requests (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"demote follow="}, fakes[0].AdminRequests()); d != "" {
		t.Errorf("demote requests (-want +got):\n%s", d)
	}
	if len(fakes[2].AdminRequests()) != 0 {
		t.Error("a follower was sent an admin request")
	}
	want := []string{"failover-start north", "promote north", "promoted north", "demote west", "demoted west", "alias-written north", "verified north", "failover-done north"}
	if d := cmp.Diff(want, log.names()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	// The alias names north first, then the others in file order.
	a, err := client.ParseAlias([]byte(res.AliasText))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{a.Sources[0].URL, a.Sources[1].URL, a.Sources[2].URL}
	if d := cmp.Diff([]string{fakes[1].URL, fakes[0].URL, fakes[2].URL}, got); d != "" {
		t.Errorf("alias (-want +got):\n%s", d)
	}
	// A client through the alias now writes to north.
	c, err := client.Open(context.Background(), g.Alias, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Primary() != fakes[1].URL {
		t.Errorf("client primary %s", c.Primary())
	}
}

func TestFailoverOldPrimaryDown(t *testing.T) {
	g, fakes := fakeGroup(t, 3)
	withAlias(t, g, "mem://failover-down")
	fakes[0].Close()
	var log eventLog
	res, err := Failover(context.Background(), g, "south", FailoverOptions{Events: log.add})
	if err != nil {
		t.Fatalf("failover: %v", err)
	}
	if d := cmp.Diff([]string{"west"}, res.Unanswered); d != "" {
		t.Errorf("unanswered (-want +got):\n%s", d)
	}
	if !strings.Contains(strings.Join(log.names(), ","), "unreachable west") {
		t.Errorf("events %q", log.names())
	}
}

func TestFailoverErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown server", func(t *testing.T) {
		g, _ := fakeGroup(t, 2)
		_, err := Failover(ctx, g, "mars", FailoverOptions{})
		if !errors.Is(err, ErrUnknownServer) || !strings.Contains(err.Error(), "west, north") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("target down", func(t *testing.T) {
		g, fakes := fakeGroup(t, 2)
		fakes[1].Close()
		_, err := Failover(ctx, g, "north", FailoverOptions{})
		if !errors.Is(err, ErrFailover) || !strings.Contains(err.Error(), "north does not answer") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("promotion refused", func(t *testing.T) {
		g, fakes := fakeGroup(t, 2)
		fakes[1].FailPromote(502, "ReplicationStoreFailed", "open replication store: permission denied")
		_, err := Failover(ctx, g, "north", FailoverOptions{})
		if !errors.Is(err, ErrFailover) || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("err = %v", err)
		}
		if fakes[0].Role() != "primary" || len(fakes[0].AdminRequests()) != 0 {
			t.Error("the old primary was demoted after a failed promotion")
		}
	})
	t.Run("alias that does not answer", func(t *testing.T) {
		g, _ := fakeGroup(t, 2)
		web := aliasWeb(t, "mem://alias-gone")
		g.Alias = "link+http://" + strings.TrimPrefix(web.URL, "http://") + "/aliases/sales"
		g.AliasObject = ObjectRef{Store: "mem://alias-gone", Name: "aliases/sales"}
		web.Close()
		_, err := Failover(ctx, g, "north", FailoverOptions{})
		if !errors.Is(err, ErrFailover) || !errors.Is(err, client.ErrAlias) || !strings.Contains(err.Error(), "does not answer") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("alias without aliasObject", func(t *testing.T) {
		g, fakes := fakeGroup(t, 2)
		web := aliasWeb(t, "mem://alias-by-hand")
		st, _ := blob.Open(ctx, "mem://alias-by-hand", blob.Options{})
		st.WriteAll(ctx, "a", []byte(fakes[0].URL), blob.PutOptions{})
		st.Close()
		g.Alias = "link+http://" + strings.TrimPrefix(web.URL, "http://") + "/a"
		_, err := Failover(ctx, g, "north", FailoverOptions{})
		if !errors.Is(err, ErrFailover) || !strings.Contains(err.Error(), "repoint it by hand") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("alias store refuses", func(t *testing.T) {
		g, fakes := fakeGroup(t, 2)
		withAlias(t, g, "mem://alias-store")
		g.AliasObject = ObjectRef{Store: "file:///proc/no-such-dir", Name: "alias"}
		_, err := Failover(ctx, g, "north", FailoverOptions{})
		if !errors.Is(err, ErrFailover) || !strings.Contains(err.Error(), "nothing was changed") {
			t.Fatalf("err = %v", err)
		}
		if len(fakes[1].AdminRequests()) != 0 {
			t.Error("north was promoted although the alias store cannot be used")
		}
	})
}

func TestWatchFailsOver(t *testing.T) {
	g, fakes := fakeGroup(t, 3)
	withAlias(t, g, "mem://watch-test")
	// south is ahead of north: it is the one to promote.
	fakes[1].SetDatabaseState("Sales", 1, "", 3, 2)
	fakes[2].SetDatabaseState("Sales", 3, "", 0.5, 0)
	var log eventLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var clock fakeClock
	clock.t = time.Unix(1e9, 0)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, g, WatchOptions{After: 10 * time.Second, Interval: time.Millisecond, ProbeTimeout: time.Second,
			Failover: FailoverOptions{Events: func(e Event) {
				log.add(e)
				if e.Event == "failover-done" {
					cancel()
				}
			}, Now: clock.now}})
	}()
	waitFor(t, func() bool { return strings.Contains(strings.Join(log.names(), ","), "watching west") })
	fakes[0].Close()
	waitFor(t, func() bool { return strings.Contains(strings.Join(log.names(), ","), "primary-unhealthy west") })
	// Nothing happens before After has passed on the watcher's clock.
	time.Sleep(20 * time.Millisecond)
	if strings.Contains(strings.Join(log.names(), ","), "failover-start") {
		t.Fatal("failed over before the primary was unhealthy for After")
	}
	clock.advance(11 * time.Second)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watch: %v", err)
	}
	if fakes[2].Role() != "primary" || fakes[1].Role() != "follower" {
		t.Errorf("roles: north %s, south %s", fakes[1].Role(), fakes[2].Role())
	}
	names := log.names()
	for _, want := range []string{"failover-start south", "promoted south", "alias-written south", "failover-done south"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("events %q lack %q", names, want)
		}
	}
}

func TestWatchDemotesAReturningPrimary(t *testing.T) {
	g, fakes := fakeGroup(t, 3)
	// north was promoted by hand; west came back fenced.
	fakes[0].SetRole("fenced", "north")
	fakes[1].SetRole("primary", "north")
	var log eventLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, g, WatchOptions{Interval: time.Millisecond, Failover: FailoverOptions{Events: log.add}})
	}()
	waitFor(t, func() bool { return strings.Contains(strings.Join(log.names(), ","), "demoted west") })
	cancel()
	<-done
	if fakes[0].Role() != "follower" {
		t.Errorf("west is %s", fakes[0].Role())
	}
	names := strings.Join(log.names(), ",")
	for _, want := range []string{"primary-changed north", "demote west", "demoted west"} {
		if !strings.Contains(names, want) {
			t.Errorf("events %q lack %q", names, want)
		}
	}
	if strings.Contains(names, "failover") {
		t.Errorf("a failover ran: %q", names)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// waitFor polls cond; the deadline only bounds a broken test.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
