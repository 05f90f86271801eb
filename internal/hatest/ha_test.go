package hatest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// rowsJSON is a group command's --json output.
type rowsJSON struct {
	OK      bool `json:"ok"`
	Servers []struct {
		Server    string `json:"server"`
		Role      string `json:"role"`
		Outcome   string `json:"outcome"`
		OK        bool   `json:"ok"`
		Version   int64  `json:"version"`
		ImageHash string `json:"imageHash"`
		Message   string `json:"message"`
	} `json:"servers"`
}

func decodeRows(t *testing.T, r cliResult) rowsJSON {
	t.Helper()
	var out rowsJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return out
}

func outcomes(rows rowsJSON) map[string]string {
	m := map[string]string{}
	for _, s := range rows.Servers {
		m[s.Server] = s.Outcome
	}
	return m
}

// TestGroupAzurite runs a group of three servers replicating through
// Azurite through its life: deploy and refresh on the group, replication
// to both followers, a one-partition refresh, the primary frozen during a
// promotion (it publishes nothing when resumed, and group status says the
// truth about its divergent image), kill -9 of the primary under streams
// of queries, a follower killed and restarted mid-replication. After
// every step, `meridian group status` must tell the truth.
func TestGroupAzurite(t *testing.T) {
	begin := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(begin).Seconds(), what) }
	c := newCluster(t, clusterOptions{azurite: true, rows: 20000})
	west, north, south := c.node("west"), c.node("north"), c.node("south")

	step("alias: written by a failover to the primary the group already has")
	r := c.mustGroup("failover", "--group", c.groupFile, "--to", "west")
	if !strings.Contains(r.stderr, "alias-written") || !strings.Contains(r.stderr, "verified") {
		t.Errorf("failover to west:\n%s%s", r.stdout, r.stderr)
	}

	step("deploy and refresh on the group")
	rows := decodeRows(t, c.mustGroup("group", "deploy", c.bimFile, "--group", c.groupFile, "--json"))
	if o := outcomes(rows); o["west"] != "succeeded" || o["north"] != "replicated" || o["south"] != "replicated" {
		t.Errorf("deploy rows: %+v", rows)
	}
	if north.database("Sales").Role != "follower" {
		t.Errorf("north's Sales: %+v", north.database("Sales"))
	}
	rows = decodeRows(t, c.mustGroup("group", "refresh", "Sales", "--group", c.groupFile, "--json"))
	if o := outcomes(rows); o["west"] != "succeeded" || o["north"] != "replicated" || o["south"] != "replicated" || !rows.OK {
		t.Errorf("refresh rows: %+v", rows)
	}
	st := c.status()
	if !st.InSync || st.code != 0 {
		t.Fatalf("after the group refresh:\n%s", st.text)
	}
	hash := st.Servers[0].Databases[0].ImageHash
	for _, s := range st.Servers {
		if len(s.Databases) != 1 || s.Databases[0].ImageHash != hash || hash == "" {
			t.Errorf("%s: %+v, want image %s", s.Name, s.Databases, hash)
		}
	}
	if st.Servers[0].Role != "primary" || st.Servers[1].Role != "follower" || st.Servers[2].Region != "southeastasia" {
		t.Errorf("roles and regions: %s", st.text)
	}
	wantAnswer := queryAnswer(t, west)

	step("a one-partition refresh replicates to both followers")
	writePart(t, c.src, 2, c.rows, 3)
	r = c.mustGroup("refresh", "Sales", "--table", "Sales", "--partition", "P2", "--server", west.url)
	st = c.waitInSync()
	if st.Servers[1].Databases[0].ImageHash == hash {
		t.Errorf("the image did not change")
	}
	if a := queryAnswer(t, south); a == wantAnswer || a != queryAnswer(t, west) {
		t.Errorf("south answers %s, west %s (before the refresh %s)", a, queryAnswer(t, west), wantAnswer)
	}

	step("the primary frozen (SIGSTOP) during a promotion")
	{
		writePart(t, c.src, 1, c.rows, 5)
		// A refresh starts on west and west is frozen at once: whatever
		// it commits when resumed, it must not publish.
		code, body := west.do("POST", "/servers/west/models/Sales/refreshes", map[string]any{"Type": "Full"})
		if code != http.StatusAccepted {
			t.Fatalf("refresh on west: %d %s", code, body)
		}
		west.signal(syscall.SIGSTOP)
		resumed := false
		defer func() {
			if !resumed {
				west.signal(syscall.SIGCONT)
			}
		}()
		r = c.meridian("failover", "--group", c.groupFile, "--to", "north", "--timeout", "2s")
		if r.code != 0 || !strings.Contains(r.stderr, "unreachable") || !strings.Contains(r.stdout, "west did not answer") {
			t.Fatalf("failover to north: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// The new primary refreshes with other data than west's
		// frozen refresh read.
		writePart(t, c.src, 1, c.rows, 7)
		rows = decodeRows(t, c.meridian("group", "refresh", "Sales", "--group", c.groupFile, "--json", "--timeout", "3s"))
		if o := outcomes(rows); o["north"] != "succeeded" || o["south"] != "replicated" || o["west"] != "unreachable" || rows.OK {
			t.Errorf("refresh rows with west frozen: %+v", rows)
		}
		promoted := c.latest("Sales")
		if promoted.Publisher != "north" {
			t.Fatalf("LATEST after the promotion: %+v", promoted)
		}
		// Whatever west's refresh reads when it runs on, it is not
		// north's data.
		writePart(t, c.src, 1, c.rows, 9)
		west.signal(syscall.SIGCONT)
		resumed = true
		eventually(t, "west to find itself fenced", func() (bool, string) {
			s := west.status()
			return s.Role == "fenced", fmt.Sprintf("%+v", s)
		})
		// west's refresh ends (committed locally or not); give it the
		// time to try to publish, then check the store.
		eventually(t, "west's refresh to end", func() (bool, string) {
			code, body := west.do("GET", "/servers/west/models/Sales/refreshes", nil)
			return code == 200 && !strings.Contains(string(body), "inProgress") && !strings.Contains(string(body), "notStarted"), string(body)
		})
		if after := c.latest("Sales"); *after != *promoted {
			t.Errorf("the frozen primary changed the store after it resumed: %+v, was %+v", after, promoted)
		}
		code, body = west.do("POST", "/tmsl", `{"refresh":{"type":"full","objects":[{"database":"Sales"}]}}`)
		if code != http.StatusConflict || !strings.Contains(string(body), "Fenced") {
			t.Errorf("a write on the fenced west: %d %s", code, body)
		}
		// Whether west committed its refresh or not, it serves another
		// image than north: the status must not say in sync.
		st = c.status()
		w, n := west.database("Sales"), north.database("Sales")
		if st.InSync || w.ImageHash == n.ImageHash {
			t.Errorf("west (fenced, version %d, image %s) and north (version %d, image %s): status says in sync=%v:\n%s",
				w.Version, w.ImageHash, n.Version, n.ImageHash, st.InSync, st.text)
		}
		text := c.meridian("group", "status", "--group", c.groupFile)
		if w.Version == n.Version && w.ImageHash != n.ImageHash && !strings.Contains(text.stdout, "image hashes differ") {
			t.Errorf("west and north at version %d with different images, and status does not say so:\n%s", w.Version, text.stdout)
		}
		if !strings.Contains(text.stdout, "west is fenced") {
			t.Errorf("status does not say west is fenced:\n%s", text.stdout)
		}
		t.Logf("west resumed fenced at version %d (%s), north at %d (%s)", w.Version, w.ImageHash, n.Version, n.ImageHash)

		// A second failover to north tells the fenced west to follow.
		r = c.mustGroup("failover", "--group", c.groupFile, "--to", "north")
		if !strings.Contains(r.stderr, "demoted") {
			t.Errorf("failover did not demote west:\n%s", r.stderr)
		}
		st = c.waitInSync()
		if st.code != 0 || st.Servers[0].Role != "follower" || st.Servers[1].Role != "primary" {
			t.Errorf("after demoting west:\n%s", st.text)
		}
	}

	step("kill -9 of the primary under streams of queries")
	{
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		list := fmt.Sprintf("Data Source=%s,%s,%s;Initial Catalog=Sales;Timeout=10", north.url, south.url, west.url)
		ls, lsDone := startStream(ctx, t, "list", list, client.Options{})
		as, asDone := startStream(ctx, t, "alias", "Data Source="+c.aliasURL+";Initial Catalog=Sales;Timeout=10",
			client.Options{AliasInterval: 200 * time.Millisecond})
		eventually(t, "both streams to answer", func() (bool, string) { return ls.answers() > 20 && as.answers() > 20, "" })
		killed := time.Now()
		north.kill()
		eventually(t, "the list stream to answer after the kill", func() (bool, string) {
			_, after := ls.maxGap(killed)
			return after, ""
		})
		r = c.meridian("failover", "--group", c.groupFile, "--to", "south", "--timeout", "2s")
		if r.code != 0 {
			t.Fatalf("failover to south: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		failedOver := time.Now()
		eventually(t, "the alias stream to follow the alias", func() (bool, string) {
			return as.conn.Primary() == south.url, as.conn.Primary()
		})
		time.Sleep(300 * time.Millisecond)
		cancel()
		<-lsDone
		<-asDone
		lg, lafter := ls.maxGap(killed)
		ag, aafter := as.maxGap(failedOver)
		if n, errs := ls.failures(); n != 0 || !lafter {
			t.Errorf("the list stream failed %d queries (%q) or stopped answering", n, errs)
		}
		if !aafter {
			t.Errorf("the alias stream stopped answering")
		}
		t.Logf("longest gap after kill -9: %v with a server list, %v through an alias listing the servers (%d and %d answers)",
			lg, ag, ls.answers(), as.answers())

		// A write through the alias goes to the new primary.
		conn, err := client.Open(context.Background(), "Data Source="+c.aliasURL+";Initial Catalog=Sales", client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if conn.Primary() != south.url {
			t.Errorf("a new client's primary is %s, want south", conn.Primary())
		}
		if _, err := conn.TMSL(context.Background(), []byte(`{"refresh":{"type":"calculate","objects":[{"database":"Sales"}]}}`)); err != nil {
			t.Errorf("a write through the alias: %v", err)
		}
		conn.Close()
		st = c.waitInSync()
		if st.code != 3 || st.Servers[1].Reachable || st.Servers[2].Role != "primary" || !strings.Contains(c.meridian("group", "status", "--group", c.groupFile).stdout, "north did not answer") {
			t.Errorf("after the kill:\n%s", st.text)
		}
	}

	step("a follower killed and restarted mid-replication")
	{
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
		west.follow(c.store)
		behind := 0
		for i := range 3 {
			writePart(t, c.src, 3, c.rows, 11+i)
			code, body := south.do("POST", "/tmsl", `{"refresh":{"type":"full","objects":[{"database":"Sales","table":"Sales","partition":"P3"}]}}`)
			if code != 200 {
				t.Fatalf("refresh on south: %d %s", code, body)
			}
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
			if west.database("Sales").Version < south.database("Sales").Version {
				behind++
			}
			west.kill()
			west.start()
			west.waitReady()
		}
		c.waitInSync()
		step(fmt.Sprintf("in sync after the restarts (%d of 3 kills while west was behind)", behind))
		if a, b := queryAnswer(t, west), queryAnswer(t, south); a != b {
			t.Errorf("after restarts west answers %s, south %s", a, b)
		}
	}
}

// queryAnswer runs the total query on one server and returns its answer.
func queryAnswer(t testing.TB, n *node) string {
	t.Helper()
	code, body := n.do("POST", "/v1.0/myorg/datasets/Sales/executeQueries",
		map[string]any{"queries": []map[string]string{{"query": totalQuery}}})
	if code != 200 {
		t.Fatalf("%s: query: %d %s", n.name, code, body)
	}
	return strings.TrimSpace(string(body))
}

// TestGroupWatchFileStore runs the group on a file:// store with
// `meridian group watch`: the primary killed, the watcher fails over by
// itself to a follower and repoints the alias.
func TestGroupWatchFileStore(t *testing.T) {
	c := newCluster(t, clusterOptions{rows: 2000})
	c.mustGroup("group", "deploy", c.bimFile, "--group", c.groupFile)
	c.mustGroup("group", "refresh", "Sales", "--group", c.groupFile)
	c.waitInSync()
	// A backup runs on every server, followers included, each into its
	// own backup store.
	rows := decodeRows(t, c.mustGroup("group", "backup", "Sales", "--group", c.groupFile, "--json"))
	for _, s := range rows.Servers {
		if s.Outcome != "succeeded" || !strings.Contains(s.Message, "Sales-"+s.Server+"-") {
			t.Errorf("backup row %+v", s)
		}
	}

	watch := startWatch(t, c, "--after", "1s", "--interval", "200ms", "--timeout", "1s")
	c.node("west").kill()
	ev := watch.waitFor(t, "failover-done")
	promoted := c.node(ev.Server)
	if ev.Server == "west" || promoted.status().Role != "primary" {
		t.Fatalf("watch promoted %q", ev.Server)
	}
	for _, want := range []string{"watching", "primary-unhealthy", "failover-start", "promoted", "alias-written", "verified"} {
		if !watch.saw(want) {
			t.Errorf("watch events lack %s: %s", want, watch.out.String())
		}
	}
	conn, err := client.Open(context.Background(), c.aliasURL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Primary() != promoted.url {
		t.Errorf("the alias names %s first, want %s", conn.Primary(), promoted.url)
	}
	conn.Close()
	st := c.waitInSync()
	if st.code != 3 {
		t.Errorf("status with west dead:\n%s", st.text)
	}
	watch.stop(t)
}

// TestBadInput checks the clear errors of a group file with two
// primaries, an unreachable server, an alias that does not answer and a
// store without permission.
func TestBadInput(t *testing.T) {
	az := testenv.Azurite(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := dir + "/" + name
		if err := writeFile(p, text); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := "http://127.0.0.1:1"

	t.Run("two primaries", func(t *testing.T) {
		f := write("two.yaml", "name: s\nstore: azblob://meridian-ha\nservers:\n  - {name: a, url: 'http://127.0.0.1:8484', primary: true}\n  - {name: b, url: 'http://127.0.0.1:8485', primary: true}\n")
		r := cli(t, nil, "group", "status", "--group", f)
		if r.code != 2 || !strings.Contains(r.stderr, "two.yaml:5: 2 servers are marked primary: a (line 4), b (line 5)") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("unreachable server", func(t *testing.T) {
		f := write("dead.yaml", "name: s\nstore: azblob://meridian-ha\nservers:\n  - {name: a, url: '"+dead+"', primary: true}\n")
		r := cli(t, nil, "group", "status", "--group", f)
		if r.code != 3 || !strings.Contains(r.stdout, "a did not answer") || !strings.Contains(r.stdout, "connection refused") {
			t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = cli(t, nil, "failover", "--group", f, "--to", "a")
		if r.code != 1 || !strings.Contains(r.stderr, "a does not answer, so it cannot be promoted") {
			t.Errorf("failover: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("alias that does not answer", func(t *testing.T) {
		r := cli(t, nil, "query", "Sales", totalQuery, "--server", "link+http://127.0.0.1:1/aliases/sales")
		if r.code != 3 || !strings.Contains(r.stderr, "alias link+http://127.0.0.1:1/aliases/sales does not answer") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("store without permission", func(t *testing.T) {
		bad := strings.Replace(az.ConnectionString, az.Key, strings.Repeat("A", 86)+"==", 1)
		env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + bad, "AZURE_STORAGE_ACCOUNT=" + az.Account, "AZURE_STORAGE_KEY=" + strings.Repeat("A", 86) + "=="}
		n := &node{t: t, name: "west", region: "r", dataDir: t.TempDir(), env: env, args: []string{"--publish", "azblob://meridian-ha/replica"}}
		r := serveOnce(t, n)
		t.Logf("serve with a wrong key: exit %d: %s", r.code, r.stderr)
		if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "permission") {
			t.Errorf("serve --publish with a wrong key: exit %d:\n%s", r.code, r.stderr)
		}
		// A failover whose alias store refuses the key changes nothing.
		srv := &node{t: t, name: "north", region: "r", dataDir: t.TempDir(), env: az.Env(), args: []string{"--follow", "azblob://meridian-ha/replica"}}
		t.Cleanup(srv.kill)
		srv.start()
		srv.waitReady()
		f := write("perm.yaml", "name: s\nstore: azblob://meridian-ha/replica\nalias: link+http://127.0.0.1:1/a\naliasObject: azblob://meridian-ha/aliases/s\nservers:\n  - {name: north, url: '"+srv.url+"', primary: true}\n")
		r = cli(t, env, "failover", "--group", f, "--to", "north")
		t.Logf("failover with a wrong key: exit %d: %s", r.code, r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, "nothing was changed") || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("failover with a wrong key: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		if s := srv.status(); s.Role != "follower" {
			t.Errorf("north is %s after a failover that should have changed nothing", s.Role)
		}
	})
}
