package hatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/replica"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// The test model: one table, Sales, of parts partitions P0.., each read
// from its own CSV file p<i>.csv, whose amounts are scaled by a factor
// the test changes to make a refresh change that partition's data.
const parts = 4

func writePart(t testing.TB, dir string, part, rows, k int) {
	t.Helper()
	var b strings.Builder
	b.Grow(rows * 24)
	b.WriteString("Region,Amount,Qty\n")
	for i := range rows {
		fmt.Fprintf(&b, "R%d,%d.%02d,%d\n", (i+part)%7, (i%1000+1)*k, i%100, i%9+1)
	}
	name := filepath.Join(dir, fmt.Sprintf("p%d.csv", part))
	if err := os.WriteFile(name+".tmp", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		t.Fatal(err)
	}
}

func model() []byte {
	var ps []any
	for p := range parts {
		m := strings.Join([]string{
			"let",
			fmt.Sprintf(`    Source = Csv.Document(File.Contents("p%d.csv"), [Delimiter=",", Encoding=65001, QuoteStyle=QuoteStyle.Csv]),`, p),
			"    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars=true]),",
			`    Typed = Table.TransformColumnTypes(Promoted, {{"Region", type text}, {"Amount", Currency.Type}, {"Qty", Int64.Type}})`,
			"in",
			"    Typed",
		}, "\n")
		ps = append(ps, map[string]any{"name": fmt.Sprintf("P%d", p), "source": map[string]any{"type": "m", "expression": m}})
	}
	db := map[string]any{
		"name": "Sales", "compatibilityLevel": 1600,
		"model": map[string]any{"tables": []any{map[string]any{
			"name": "Sales",
			"columns": []any{
				map[string]any{"name": "Region", "dataType": "string", "sourceColumn": "Region"},
				map[string]any{"name": "Amount", "dataType": "decimal", "sourceColumn": "Amount"},
				map[string]any{"name": "Qty", "dataType": "int64", "sourceColumn": "Qty"},
			},
			"partitions": ps,
			"measures": []any{
				map[string]any{"name": "Total", "expression": "SUM ( Sales[Amount] )"},
			},
		}}},
	}
	b, _ := json.Marshal(db)
	return b
}

// totalQuery is the query of the client streams: cheap, and its answer
// changes with every refresh that changes data.
const totalQuery = `EVALUATE ROW ( "t", [Total], "n", COUNTROWS ( Sales ) )`

// cluster is a group of three servers on loopback as three regions.
type cluster struct {
	t         testing.TB
	nodes     []*node // west (primary at start), north, south
	store     string  // the replication store's URL
	aliasObj  string  // the alias object's URL
	blobOpts  blob.Options
	env       []string // AZURE_STORAGE_* for the processes
	src       string   // the source root (CSV files)
	rows      int      // rows per partition
	groupFile string
	aliasURL  string // link+http://... served by aliasWeb
	bimFile   string
}

type clusterOptions struct {
	azurite        bool
	rows           int
	followInterval time.Duration
}

func newCluster(t testing.TB, o clusterOptions) *cluster {
	t.Helper()
	c := &cluster{t: t, src: t.TempDir(), rows: o.rows}
	if o.azurite {
		az := testenv.Azurite(t)
		c.env = az.Env()
		c.blobOpts = blob.Options{AzureConnectionString: az.ConnectionString}
		c.store = "azblob://meridian-ha/replica"
		c.aliasObj = "azblob://meridian-ha/aliases/sales"
	} else {
		dir := t.TempDir()
		c.store = "file://" + dir + "/replica"
		c.aliasObj = "file://" + dir + "/aliases/sales"
	}
	for p := range parts {
		writePart(t, c.src, p, c.rows, 1)
	}
	c.bimFile = filepath.Join(t.TempDir(), "sales.bim")
	if err := os.WriteFile(c.bimFile, model(), 0o644); err != nil {
		t.Fatal(err)
	}
	web := c.aliasWeb()
	c.aliasURL = "link+http://" + strings.TrimPrefix(web.URL, "http://") + "/aliases/sales"

	fi := o.followInterval
	if fi == 0 {
		fi = 250 * time.Millisecond
	}
	common := []string{"--source-root", c.src, "--lease-ttl", "5s", "--follow-interval", fi.String(), "--log-level", "warn"}
	regions := map[string]string{"west": "westeurope", "north": "northeurope", "south": "southeastasia"}
	for i, name := range []string{"west", "north", "south"} {
		role := []string{"--follow", c.store}
		if i == 0 {
			role = []string{"--publish", c.store}
		}
		n := &node{t: t, name: name, region: regions[name], dataDir: t.TempDir(), env: c.env,
			args: append(append([]string{}, role...), common...)}
		t.Cleanup(n.kill)
		n.start()
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		n.waitReady()
	}
	eventually(t, "west to take writes", func() (bool, string) {
		st := c.nodes[0].status()
		return st.Role == "primary" && !st.CatchingUp, fmt.Sprintf("%+v", st)
	})

	var g strings.Builder
	fmt.Fprintf(&g, "# the test group\nname: sales\nstore: %s\nalias: %s\naliasObject: %s\nservers:\n", c.store, c.aliasURL, c.aliasObj)
	for i, n := range c.nodes {
		fmt.Fprintf(&g, "  - name: %s\n    url: %s\n    region: %s\n", n.name, n.url, n.region)
		if i == 0 {
			g.WriteString("    primary: true\n")
		}
	}
	c.groupFile = filepath.Join(t.TempDir(), "sales.yaml")
	if err := os.WriteFile(c.groupFile, []byte(g.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// aliasWeb serves the alias object over HTTP from its store, as a public
// container or a static web site in front of the store would.
func (c *cluster) aliasWeb() *httptest.Server {
	dir := c.aliasObj[:strings.LastIndex(c.aliasObj, "/")]
	st, err := blob.Open(context.Background(), dir, withCreate(c.blobOpts))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { st.Close() })
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _, err := st.ReadAll(r.Context(), strings.TrimPrefix(r.URL.Path, "/aliases/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b)
	}))
	c.t.Cleanup(web.Close)
	return web
}

func withCreate(o blob.Options) blob.Options {
	o.Create = true
	return o
}

func (c *cluster) node(name string) *node {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

// meridian runs a command line against the cluster's store credentials.
func (c *cluster) meridian(args ...string) cliResult {
	c.t.Helper()
	return cli(c.t, c.env, args...)
}

// mustGroup runs a group command and fails unless it exits 0.
func (c *cluster) mustGroup(args ...string) cliResult {
	c.t.Helper()
	r := c.meridian(args...)
	if r.code != 0 {
		c.t.Fatalf("meridian %q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// groupStatus is `meridian group status --json` decoded, with its exit
// status.
type groupStatus struct {
	InSync  bool `json:"inSync"`
	Servers []struct {
		Name      string `json:"name"`
		URL       string `json:"url"`
		Region    string `json:"region"`
		Role      string `json:"role"`
		Reachable bool   `json:"reachable"`
		Databases []struct {
			Name       string   `json:"name"`
			Version    int64    `json:"version"`
			ImageHash  string   `json:"imageHash"`
			LagSeconds *float64 `json:"lagSeconds"`
		} `json:"databases"`
	} `json:"servers"`
	code int
	text string
}

func (c *cluster) status() groupStatus {
	c.t.Helper()
	r := c.meridian("group", "status", "--group", c.groupFile, "--json", "--timeout", "3s")
	var st groupStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		c.t.Fatalf("group status --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	st.code, st.text = r.code, r.stdout
	c.checkTruth(st)
	return st
}

// checkTruth is the property every status must have: it says in sync
// only when the servers that answered serve the same databases at the
// same versions with the same, non-empty image hashes, and its exit
// status agrees with it.
func (c *cluster) checkTruth(st groupStatus) {
	c.t.Helper()
	type key struct {
		v int64
		h string
	}
	seen := map[string]map[key]bool{}
	reachable, servers := 0, 0
	for _, s := range st.Servers {
		if !s.Reachable {
			continue
		}
		reachable++
		servers++
		for _, d := range s.Databases {
			if seen[d.Name] == nil {
				seen[d.Name] = map[key]bool{}
			}
			seen[d.Name][key{d.Version, d.ImageHash}] = true
		}
	}
	same := reachable > 0
	for name, ks := range seen {
		if len(ks) != 1 {
			same = false
		}
		for k := range ks {
			if k.h == "" {
				same = false
			}
		}
		n := 0
		for _, s := range st.Servers {
			for _, d := range s.Databases {
				if d.Name == name && s.Reachable {
					n++
				}
			}
		}
		if n != servers {
			same = false
		}
	}
	primaries := 0
	for _, s := range st.Servers {
		if s.Reachable && s.Role == "primary" {
			primaries++
		}
	}
	if primaries > 1 {
		same = false
	}
	if st.InSync != same {
		c.t.Errorf("group status says inSync=%v, but the servers' answers say %v:\n%s", st.InSync, same, st.text)
	}
	all := reachable == len(st.Servers)
	want := 0
	switch {
	case reachable == 0:
		want = 3
	case !st.InSync:
		want = 1
	case !all:
		want = 3
	}
	if st.code != want {
		c.t.Errorf("group status exit %d, want %d:\n%s", st.code, want, st.text)
	}
}

// waitInSync waits until group status says in sync (servers that do not
// answer aside).
func (c *cluster) waitInSync() groupStatus {
	c.t.Helper()
	var st groupStatus
	eventually(c.t, "the group to be in sync", func() (bool, string) {
		st = c.status()
		return st.InSync, st.text
	})
	return st
}

// latest reads the store's LATEST pointer of a database.
func (c *cluster) latest(db string) *replica.Pointer {
	c.t.Helper()
	b, err := blob.Open(context.Background(), c.store, c.blobOpts)
	if err != nil {
		c.t.Fatal(err)
	}
	defer b.Close()
	s, err := replica.New(b, replica.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	p, err := s.Latest(context.Background(), db)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// stream runs queries one after another through a connection until ctx
// ends, recording when each answer arrived and each failure.
type stream struct {
	name   string
	conn   *client.Conn
	mu     sync.Mutex
	ok     []time.Time
	fails  []time.Time
	errs   []string
	answer map[string]int
}

func startStream(ctx context.Context, t testing.TB, name, target string, opts client.Options) (*stream, <-chan struct{}) {
	t.Helper()
	conn, err := client.Open(ctx, target, opts)
	if err != nil {
		t.Fatalf("stream %s: open %s: %v", name, target, err)
	}
	s := &stream{name: name, conn: conn, answer: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close()
		for ctx.Err() == nil {
			res, err := conn.Query(ctx, "", totalQuery)
			now := time.Now()
			s.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					s.fails = append(s.fails, now)
					if len(s.errs) < 5 {
						s.errs = append(s.errs, err.Error())
					}
				}
			} else {
				s.ok = append(s.ok, now)
				if len(res.Rows) == 1 {
					s.answer[fmt.Sprint(res.Rows[0])]++
				}
			}
			s.mu.Unlock()
			if err != nil {
				// A failed read already tried every server; do not spin.
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}()
	return s, done
}

// maxGap is the longest time between two answers in a row, and whether
// an answer came after t.
func (s *stream) maxGap(after time.Time) (gap time.Duration, answeredAfter bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i < len(s.ok); i++ {
		gap = max(gap, s.ok[i].Sub(s.ok[i-1]))
	}
	return gap, len(s.ok) > 0 && s.ok[len(s.ok)-1].After(after)
}

func (s *stream) failures() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fails), append([]string(nil), s.errs...)
}

func (s *stream) answers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ok)
}
