package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDeployRefreshQueryRestart(t *testing.T) {
	ts := newTestServer(t)
	msgs := ts.mustTMSL(deployCmd(tinyModel("Tiny")))
	if len(msgs) == 0 || !strings.Contains(msgs[0], "version 1") {
		t.Errorf("deploy messages %q: want the version committed", msgs)
	}
	// Deployed, not processed: queries see empty tables.
	if rows := ts.mustQuery("Tiny", `EVALUATE ROW("n", COUNTROWS(Sales))`); len(rows) != 1 || rows[0]["[n]"] != nil {
		t.Errorf("unprocessed COUNTROWS = %v, want a row with BLANK", rows)
	}
	ts.mustTMSL(refreshCmd("Tiny"))
	before := ts.mustQuery("Tiny", totalQuery)
	if len(before) != 5 {
		t.Fatalf("rows %v: want the blank row and 4 regions", before)
	}
	var dbs []databaseInfo
	_, body, _ := ts.do("GET", "/databases", nil)
	if err := json.Unmarshal(body, &dbs); err != nil {
		t.Fatal(err)
	}
	if len(dbs) != 1 || dbs[0].Name != "Tiny" || dbs[0].Version != 2 || dbs[0].State != "ready" ||
		dbs[0].LastProcessed == nil || dbs[0].Role != "standalone" || dbs[0].SizeBytes == 0 || len(dbs[0].ImageHash) != 64 {
		t.Errorf("databases: %s", body)
	}
	_, script, _ := ts.do("GET", "/databases/tiny", nil)

	ts.stop()
	ts.start(serverConfig{mopts: ManagerOptions{DataDir: ts.dir, Roots: ts.m.opts.Roots}})
	after := ts.mustQuery("Tiny", totalQuery)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("answers after restart differ (-before +after):\n%s", diff)
	}
	_, body2, _ := ts.do("GET", "/databases", nil)
	var dbs2 []databaseInfo
	json.Unmarshal(body2, &dbs2)
	if len(dbs2) != 1 || dbs2[0].ImageHash != dbs[0].ImageHash || dbs2[0].Version != 2 {
		t.Errorf("after restart: %s, before %s", body2, body)
	}
	_, script2, _ := ts.do("GET", "/databases/Tiny", nil)
	if string(script) != string(script2) {
		t.Errorf("scripted model changed across restart")
	}
	if status, _, _ := ts.do("GET", "/readyz", nil); status != http.StatusOK {
		t.Errorf("readyz %d", status)
	}
}
