package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/testenv"
)

func binary(t testing.TB) string { return testenv.Binary(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}

// proc is a running `meridian serve`.
type proc struct {
	*testenv.Server
	t testing.TB
}

// startServer runs `meridian serve` on a free port and waits until it is
// ready.
func startServer(t testing.TB, dataDir string, args ...string) *proc {
	t.Helper()
	p := &proc{Server: testenv.StartServer(t, testenv.ServeOptions{
		DataDir: dataDir, Args: args, RequestTimeout: 5 * time.Minute}), t: t}
	p.WaitReady(60 * time.Second)
	return p
}

func (p *proc) mustTMSL(cmd string) {
	p.t.Helper()
	if status, body := p.Do("POST", "/tmsl", cmd); status != 200 {
		p.t.Fatalf("TMSL %.100s: %d %s", cmd, status, body)
	}
}

func (p *proc) query(db, q string) (int, string) {
	p.t.Helper()
	status, body := p.Do("POST", "/v1.0/myorg/datasets/"+db+"/executeQueries",
		map[string]any{"queries": []map[string]string{{"query": q}}})
	return status, strings.TrimSpace(string(body))
}

type dbInfo struct {
	Name          string
	Version       int64
	State         string
	LastProcessed *time.Time
	ImageHash     string
	Error         string
}

func (p *proc) databases() map[string]dbInfo {
	p.t.Helper()
	status, body := p.Do("GET", "/databases", nil)
	if status != 200 {
		p.t.Fatalf("databases: %d %s", status, body)
	}
	var list []dbInfo
	if err := json.Unmarshal(body, &list); err != nil {
		p.t.Fatal(err)
	}
	out := map[string]dbInfo{}
	for _, d := range list {
		out[d.Name] = d
	}
	return out
}

// deployCmd wraps a .bim document in createOrReplace under a name.
func deployCmd(name string, bim []byte) string {
	bim = bytes.TrimPrefix(bim, []byte("\xef\xbb\xbf"))
	n, _ := json.Marshal(name)
	return `{"createOrReplace":{"object":{"database":` + string(n) + `},"database":` + string(bim) + `}}`
}

func refreshCmd(db string) string {
	return fmt.Sprintf(`{"refresh":{"type":"full","objects":[{"database":%q}]}}`, db)
}
