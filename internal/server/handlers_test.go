package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readyTiny is a test server with the tiny model deployed and refreshed.
func readyTiny(t *testing.T, cfgs ...func(*serverConfig)) *testServer {
	t.Helper()
	ts := newTestServer(t, cfgs...)
	ts.mustTMSL(deployCmd(tinyModel("Tiny")))
	ts.mustTMSL(refreshCmd("Tiny"))
	return ts
}

func TestHealthAndReadiness(t *testing.T) {
	ts := newTestServer(t)
	if status, body, _ := ts.do("GET", "/healthz", nil); status != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("healthz: %d %s", status, body)
	}
	if status, _, _ := ts.do("GET", "/readyz", nil); status != 200 {
		t.Errorf("readyz after load: %d", status)
	}

	// A manager that has not loaded yet: readiness and every database
	// endpoint answer 503.
	m, err := OpenManager(context.Background(), ManagerOptions{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hs := httptest.NewServer(New(m, Options{}).Handler())
	defer hs.Close()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/readyz", ""},
		{"GET", "/databases", ""},
		{"GET", "/databases/x", ""},
		{"POST", "/tmsl", deployCmd(tinyModel("x"))},
		{"POST", "/v1.0/myorg/datasets/x/executeQueries", `{"queries":[{"query":"EVALUATE {1}"}]}`},
	} {
		req, _ := http.NewRequest(c.method, hs.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s before load: %d, want 503", c.method, c.path, resp.StatusCode)
		}
	}
	if status, _, _ := ts.do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}

func TestTMSLErrors(t *testing.T) {
	ts := newTestServer(t, func(c *serverConfig) { c.sopts.MaxTMSLBytes = 200_000 })
	ts.mustTMSL(deployCmd(tinyModel("Tiny")))

	badRel := tinyModel("Bad")
	badRel["model"].(map[string]any)["relationships"] = []map[string]any{
		{"name": "r", "fromTable": "Sales", "fromColumn": "RegionKey", "toTable": "Nowhere", "toColumn": "Key"}}
	badDAX := tinyModel("Bad", map[string]any{"name": "Broken", "expression": "SUM ( Sales[Amount] "})
	badName := tinyModel("Bad", map[string]any{"name": "Ghost", "expression": "SUM ( Sales[NoSuchColumn] )"})
	unsupported := tinyModel("Unsup", map[string]any{"name": "Path", "expression": "PATHLENGTH ( \"a|b\" )"})

	cases := []struct {
		name   string
		body   string
		status int
		code   string
		want   []string // substrings of the message
	}{
		{"malformed JSON", `{"createOrReplace": {`, 400, "InvalidJSON", []string{"line 1"}},
		{"not an object", `[1,2]`, 400, "InvalidTMSL", nil},
		{"empty body", ``, 400, "InvalidJSON", nil},
		{"unknown command", `{"createOrReplaceX":{}}`, 400, "InvalidTMSL", []string{"createOrReplace"}},
		{"unknown member", `{"refresh":{"type":"full","objects":[{"database":"Tiny"}],"typo":1}}`, 400, "InvalidTMSL", []string{"refresh.typo"}},
		{"bad object path", `{"delete":{"object":{"table":"x"}}}`, 400, "InvalidTMSL", []string{"delete.object"}},
		{"relationship to a missing table", deployCmd(badRel), 400, "InvalidModel", []string{"model.relationships[0 'r'].toTable"}},
		{"DAX syntax error in a measure", deployCmd(badDAX), 400, "InvalidModel",
			[]string{"model.tables[1 'Sales'].measures[3 'Broken'].expression", "line 1, column"}},
		{"unknown column in a measure", deployCmd(badName), 400, "InvalidModel", []string{"measures[3 'Ghost']", "NoSuchColumn"}},
		{"oversized body", deployCmd(tinyModel("Big", map[string]any{"name": "Pad", "expression": "1", "description": strings.Repeat("x", 300_000)})),
			413, "RequestTooLarge", []string{"200000"}},
		{"backup", `{"backup":{"database":"Tiny","file":"t.abf"}}`, 501, "NotSupported", []string{"backup"}},
		{"restore", `{"restore":{"database":"Tiny","file":"t.abf"}}`, 501, "NotSupported", []string{"restore"}},
		{"synchronize from a source that is no URL", `{"synchronize":{"database":"Tiny","source":"Data Source=x"}}`, 400, "BadRequest", []string{"synchronize.source", "no scheme"}},
		{"delete of a missing partition", `{"delete":{"object":{"database":"Tiny","table":"Sales","partition":"Nope"}}}`, 400, "ObjectNotFound", []string{"Nope"}},
		{"measure of a missing table", `{"createOrReplace":{"object":{"database":"Tiny","table":"Nope","measure":"M"},"measure":{"name":"M","expression":"1"}}}`, 400, "ObjectNotFound", []string{"Nope"}},
		{"delete of a table a relationship uses", `{"delete":{"object":{"database":"Tiny","table":"Region"}}}`, 400, "InvalidModel", []string{"relationships"}},
		{"create of an existing measure", `{"create":{"parentObject":{"database":"Tiny","table":"Sales"},"measure":{"name":"total","expression":"1"}}}`, 409, "DatabaseExists", []string{"total"}},
		{"create existing", `{"create":{"database":` + mustJSON(tinyModel("tiny")) + `}}`, 409, "DatabaseExists", nil},
		{"delete unknown", `{"delete":{"object":{"database":"Nope"}}}`, 404, "DatabaseNotFound", []string{"Nope"}},
		{"refresh unknown database", refreshCmd("Nope"), 404, "DatabaseNotFound", nil},
		{"refresh missing table", `{"refresh":{"type":"full","objects":[{"database":"Tiny","table":"Nope"}]}}`, 400, "ObjectNotFound", []string{`table "Nope"`}},
		{"refresh missing partition", `{"refresh":{"type":"full","objects":[{"database":"Tiny","table":"Sales","partition":"P9"}]}}`, 400, "ObjectNotFound", []string{`partition "P9"`}},
		{"refresh add", `{"refresh":{"type":"add","objects":[{"database":"Tiny","table":"Sales","partition":"Sales"}]}}`, 501, "NotSupported", nil},
		{"sequence failing in its second operation", `{"sequence":{"operations":[` + deployCmd(tinyModel("SeqNew")) + `,` + refreshCmd("Nope") + `]}}`,
			404, "DatabaseNotFound", []string{"sequence.operations[1]", "nothing was committed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := ts.do("POST", "/tmsl", c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			code, msg := errorOf(t, body)
			if code != c.code {
				t.Errorf("code %q, want %q (%s)", code, c.code, msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
	// Nothing above changed the catalog: one database at version 1.
	_, body, _ := ts.do("GET", "/databases", nil)
	var dbs []databaseInfo
	json.Unmarshal(body, &dbs)
	if len(dbs) != 1 || dbs[0].Version != 1 {
		t.Errorf("databases after failed commands: %s", body)
	}
	// A function the engine does not implement is a warning, not a
	// refusal.
	msgs := ts.mustTMSL(deployCmd(unsupported))
	if !strings.Contains(strings.Join(msgs, "\n"), "PATHLENGTH") {
		t.Errorf("deploy of a model using PATHLENGTH: messages %q lack a warning", msgs)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestTMSLCommands(t *testing.T) {
	ts := newTestServer(t)
	t.Run("sequence deploys and refreshes in one transaction", func(t *testing.T) {
		ts.mustTMSL(`{"sequence":{"maxParallelism":2,"operations":[` + deployCmd(tinyModel("Seq")) + `,` + refreshCmd("Seq") + `]}}`)
		v, err := ts.m.Current("Seq")
		if err != nil {
			t.Fatal(err)
		}
		if v.Manifest.Version != 1 || v.Manifest.State != "ready" {
			t.Errorf("version %d state %s: want one version, processed", v.Manifest.Version, v.Manifest.State)
		}
	})
	t.Run("a deploy that changes only measures keeps the data", func(t *testing.T) {
		before, _ := ts.m.Current("Seq")
		ts.mustTMSL(deployCmd(tinyModel("Seq", map[string]any{"name": "Double", "expression": "[Total] * 2"})))
		after, _ := ts.m.Current("Seq")
		if after.Manifest.State != "ready" || after.Manifest.Data != before.Manifest.Data || after.Manifest.Version != before.Manifest.Version+1 {
			t.Errorf("after a measure-only deploy: state %s data %s (was %s) version %d",
				after.Manifest.State, after.Manifest.Data, before.Manifest.Data, after.Manifest.Version)
		}
		rows := ts.mustQuery("Seq", `EVALUATE ROW("d", [Double], "t", [Total])`)
		if fmt.Sprint(rows[0]["[d]"]) == "" || rows[0]["[d]"] == nil {
			t.Errorf("new measure over kept data: %v", rows)
		}
	})
	t.Run("a deploy that changes columns drops the data", func(t *testing.T) {
		def := tinyModel("Seq")
		tables := def["model"].(map[string]any)["tables"].([]map[string]any)
		tables[0]["columns"] = append(tables[0]["columns"].([]map[string]any), map[string]any{"name": "Extra", "dataType": "string", "sourceColumn": "Region"})
		ts.mustTMSL(deployCmd(def))
		v, _ := ts.m.Current("Seq")
		if v.Manifest.State != "noData" || !v.Manifest.Data.IsZero() {
			t.Errorf("state %s data %s: want unprocessed", v.Manifest.State, v.Manifest.Data)
		}
	})
	t.Run("alter renames", func(t *testing.T) {
		ts.mustTMSL(`{"alter":{"object":{"database":"Seq"},"database":{"name":"Renamed","description":"moved"}}}`)
		if _, err := ts.m.Current("Seq"); err == nil {
			t.Error("old name still there")
		}
		status, body, _ := ts.do("GET", "/databases/Renamed", nil)
		if status != 200 || !strings.Contains(string(body), `"Renamed"`) || !strings.Contains(string(body), "moved") {
			t.Errorf("renamed database: %d %.200s", status, body)
		}
	})
	t.Run("delete", func(t *testing.T) {
		ts.mustTMSL(`{"delete":{"object":{"database":"renamed"}}}`)
		if status, _, _ := ts.do("GET", "/databases/Renamed", nil); status != 404 {
			t.Errorf("deleted database answers %d", status)
		}
	})
	t.Run("scripted out with unknown properties", func(t *testing.T) {
		ts.mustTMSL(deployCmd(tinyModel("Props")))
		_, body, _ := ts.do("GET", "/databases/PROPS", nil)
		var got, want any
		json.Unmarshal(body, &got)
		json.Unmarshal([]byte(mustJSON(tinyModel("Props"))), &want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("scripted model differs from the deployed one:\n got %s\nwant %s", body, mustJSON(tinyModel("Props")))
		}
		if status, _, _ := ts.do("GET", "/databases/Nope", nil); status != 404 {
			t.Errorf("unknown database: %d", status)
		}
	})
	t.Run("names with a slash and spaces", func(t *testing.T) {
		ts.mustTMSL(deployCmd(tinyModel("Sales/EU 2024")))
		const esc = "Sales%2FEU%202024"
		if status, body, _ := ts.do("GET", "/databases/"+esc, nil); status != 200 || !strings.Contains(string(body), `"Sales/EU 2024"`) {
			t.Errorf("script: %d %.100s", status, body)
		}
		ts.mustQuery(esc, "EVALUATE { 1 }")
		status, body, hdr := ts.do("POST", "/servers/s/models/"+esc+"/refreshes", `{}`)
		if status != 202 || !strings.HasSuffix(strings.TrimSuffix(hdr.Get("Location"), "/"+lastSegment(hdr.Get("Location"))), "/models/"+esc+"/refreshes") {
			t.Errorf("refresh: %d %s, Location %q", status, body, hdr.Get("Location"))
		}
		if status, body, _ := ts.do("GET", strings.TrimPrefix(hdr.Get("Location"), ts.hs.URL), nil); status != 200 {
			t.Errorf("GET Location: %d %s", status, body)
		}
	})
	t.Run("a model the engine cannot query deploys", func(t *testing.T) {
		def := tinyModel("M2M")
		rel := def["model"].(map[string]any)["relationships"].([]map[string]any)[0]
		rel["fromCardinality"], rel["toCardinality"] = "many", "many"
		msgs := ts.mustTMSL(deployCmd(def))
		if !strings.Contains(strings.Join(msgs, " "), "many-to-many") {
			t.Errorf("no warning: %q", msgs)
		}
		status, body := ts.query("M2M", "EVALUATE { 1 }")
		if code, msg := errorOf(t, body); status != 501 || code != "NotSupported" || !strings.Contains(msg, "many-to-many") {
			t.Errorf("query: %d %s", status, body)
		}
		if status, _, _ := ts.do("GET", "/databases/M2M", nil); status != 200 {
			t.Errorf("script: %d", status)
		}
	})
	t.Run("deploy under another name", func(t *testing.T) {
		def := tinyModel("Inner")
		ts.mustTMSL(`{"createOrReplace":{"object":{"database":"Outer"},"database":` + mustJSON(def) + `}}`)
		if _, err := ts.m.Current("Outer"); err != nil {
			t.Error(err)
		}
		if _, err := ts.m.Current("Inner"); err == nil {
			t.Error("the definition's own name was used")
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	ts := newTestServer(t)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "NotFound"},
		{"DELETE", "/tmsl", 405, "MethodNotAllowed"},
		{"GET", "/tmsl", 405, "MethodNotAllowed"},
		{"PUT", "/databases", 405, "MethodNotAllowed"},
	} {
		status, body, hdr := ts.do(c.method, c.path, nil)
		if status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, status, c.status)
			continue
		}
		if code, _ := errorOf(t, body); code != c.code {
			t.Errorf("%s %s: code %s, want %s", c.method, c.path, code, c.code)
		}
		if c.status == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", c.method, c.path)
		}
	}
}

func TestMetrics(t *testing.T) {
	ts := readyTiny(t)
	ts.mustQuery("Tiny", totalQuery)
	ts.query("Tiny", "EVALUATE {")
	status, body, _ := ts.do("GET", "/metrics", nil)
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`meridian_queries_total{outcome="ok"} 1`,
		`meridian_queries_total{outcome="error"} 1`,
		`meridian_query_duration_seconds_bucket{outcome="ok"`,
		`meridian_refreshes_total{outcome="ok"} 1`,
		`meridian_refresh_duration_seconds_count{outcome="ok"} 1`,
		`meridian_database_size_bytes{database="Tiny"}`,
		`meridian_database_version{database="Tiny"} 2`,
		`meridian_ready 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func lastSegment(s string) string { return s[strings.LastIndex(s, "/")+1:] }

func TestTMSLObjectCommands(t *testing.T) {
	ts := readyTiny(t)
	data := func() string {
		v, err := ts.m.Current("Tiny")
		if err != nil {
			t.Fatal(err)
		}
		return v.Manifest.State + " " + v.Manifest.Data.String()
	}
	processed := data()
	steps := []struct {
		name     string
		cmd      string
		query    string // must answer 200
		missing  string // must answer 400
		keepData bool
	}{
		{"createOrReplace of a measure", `{"createOrReplace":{"object":{"database":"Tiny","table":"Sales","measure":"Double"},"measure":{"name":"Double","expression":"[Total] * 2"}}}`,
			`EVALUATE ROW("d", [Double])`, "", true},
		{"create of a measure", `{"create":{"parentObject":{"database":"Tiny","table":"Region"},"measure":{"name":"Regions","expression":"COUNTROWS ( Region )"}}}`,
			`EVALUATE ROW("r", [Regions])`, "", true},
		{"alter renames a measure", `{"alter":{"object":{"database":"Tiny","table":"Sales","measure":"Double"},"measure":{"name":"Twice","expression":"[Total] * 2"}}}`,
			`EVALUATE ROW("d", [Twice])`, `EVALUATE ROW("d", [Double])`, true},
		{"delete of a measure", `{"delete":{"object":{"database":"Tiny","table":"Sales","measure":"Twice"}}}`,
			`EVALUATE ROW("t", [Total])`, `EVALUATE ROW("d", [Twice])`, true},
		{"alter of a table keeps its children", `{"alter":{"object":{"database":"Tiny","table":"Sales"},"table":{"name":"Sales","description":"facts"}}}`,
			`EVALUATE ROW("t", [Total], "n", COUNTROWS(Sales))`, "", true},
		{"createOrReplace of a role", `{"createOrReplace":{"object":{"database":"Tiny","role":"Readers"},"role":{"name":"Readers","modelPermission":"read","tablePermissions":[{"name":"Region","filterExpression":"Region[Region] = \"North\""}]}}}`,
			`EVALUATE ROW("t", [Total])`, "", true},
		{"alter of the model keeps its tables", `{"alter":{"object":{"database":"Tiny"},"model":{"culture":"fr-FR"}}}`,
			`EVALUATE ROW("t", [Total])`, "", true},
		{"createOrReplace of a column changes the data shape", `{"createOrReplace":{"object":{"database":"Tiny","table":"Region","column":"Code"},"column":{"name":"Code","dataType":"string","sourceColumn":"Region"}}}`,
			`EVALUATE ROW("t", [Total])`, "", false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			ts.mustTMSL(s.cmd)
			if status, body := ts.query("Tiny", s.query); status != 200 {
				t.Errorf("%s: %d %s", s.query, status, body)
			}
			if s.missing != "" {
				if status, body := ts.query("Tiny", s.missing); status != 400 {
					t.Errorf("%s: %d %s, want 400", s.missing, status, body)
				}
			}
			if got := data(); (got == processed) != s.keepData {
				t.Errorf("data after the command: %s, before %s (keep %v)", got, processed, s.keepData)
			}
		})
	}
	_, body, _ := ts.do("GET", "/databases/Tiny", nil)
	// (alter of the model replaced its own properties, unknown ones
	// included, as TMSL's alter does.)
	for _, want := range []string{`"facts"`, `"fr-FR"`, `"Readers"`, `"Regions"`, `"Code"`, `"RegionKey"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("script lacks %s", want)
		}
	}
	if strings.Contains(string(body), `"Twice"`) {
		t.Error("script still has the deleted measure")
	}
}
