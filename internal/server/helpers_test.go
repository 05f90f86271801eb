package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/source"
)

// testServer is a Manager and its HTTP API over a temporary data
// directory, with a temporary source root holding the tiny model's CSV
// files.
type testServer struct {
	t   *testing.T
	m   *Manager
	s   *Server
	hs  *httptest.Server
	dir string // data directory
	src string // source root
}

type serverConfig struct {
	mopts ManagerOptions
	sopts Options
	roots []string // extra source roots after the temporary one
}

func newTestServer(t *testing.T, cfgs ...func(*serverConfig)) *testServer {
	t.Helper()
	ts := &testServer{t: t, dir: t.TempDir(), src: t.TempDir()}
	writeTinyData(t, ts.src, 1)
	var cfg serverConfig
	for _, f := range cfgs {
		f(&cfg)
	}
	roots, err := source.NewRoots(append([]string{ts.src}, cfg.roots...)...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.mopts.DataDir = ts.dir
	cfg.mopts.Roots = roots
	if testing.Verbose() && cfg.mopts.Logger == nil {
		cfg.mopts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ts.start(cfg)
	return ts
}

func (ts *testServer) start(cfg serverConfig) {
	t := ts.t
	m, err := OpenManager(context.Background(), cfg.mopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.m = m
	ts.s = New(m, cfg.sopts)
	ts.hs = httptest.NewServer(ts.s.Handler())
	t.Cleanup(ts.stop)
}

// stop shuts the server down as serve does.
func (ts *testServer) stop() {
	if ts.hs == nil {
		return
	}
	ts.hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.s.Shutdown(ctx); err != nil {
		ts.t.Errorf("shutdown: %v", err)
	}
	if err := ts.m.Close(); err != nil {
		ts.t.Errorf("close: %v", err)
	}
	ts.hs = nil
}

// do sends a request and returns the status and body.
func (ts *testServer) do(method, path string, body any) (int, []byte, http.Header) {
	ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.hs.URL+path, r)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp.StatusCode, out, resp.Header
}

// mustTMSL runs a TMSL command that must succeed.
func (ts *testServer) mustTMSL(cmd string) []string {
	ts.t.Helper()
	status, body, _ := ts.do("POST", "/tmsl", cmd)
	if status != http.StatusOK {
		ts.t.Fatalf("TMSL %.80s: %d %s", cmd, status, body)
	}
	var res struct{ Messages []string }
	if err := json.Unmarshal(body, &res); err != nil {
		ts.t.Fatalf("TMSL answer %s: %v", body, err)
	}
	return res.Messages
}

// query runs a DAX query over HTTP and returns the status and body.
func (ts *testServer) query(db, q string) (int, []byte) {
	ts.t.Helper()
	status, body, _ := ts.do("POST", "/v1.0/myorg/datasets/"+db+"/executeQueries",
		map[string]any{"queries": []map[string]string{{"query": q}}})
	return status, body
}

// mustQuery runs a query that must succeed and returns its rows.
func (ts *testServer) mustQuery(db, q string) []map[string]any {
	ts.t.Helper()
	status, body := ts.query(db, q)
	if status != http.StatusOK {
		ts.t.Fatalf("query %q: %d %s", q, status, body)
	}
	return rowsOf(ts.t, body)
}

func rowsOf(t testing.TB, body []byte) []map[string]any {
	t.Helper()
	var res struct {
		Results []struct {
			Tables []struct {
				Rows []map[string]any
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(res.Results) != 1 || len(res.Results[0].Tables) != 1 {
		t.Fatalf("answer %s: want one result with one table", body)
	}
	return res.Results[0].Tables[0].Rows
}

// errorOf decodes an error answer.
func errorOf(t testing.TB, body []byte) (code, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code, Message string
		}
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error answer: %s", body)
	}
	return e.Error.Code, e.Error.Message
}

// The tiny model: a Region dimension and a Sales fact read from CSV files
// in the source root; writeTinyData(k) multiplies every amount by k, so a
// refresh after rewriting the files changes the answers.
const tinyRows = 200

func writeTinyData(t testing.TB, dir string, k int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("RegionKey,Region\n")
	for i, r := range []string{"North", "South", "East", "West"} {
		fmt.Fprintf(&b, "%d,%s\n", i+1, r)
	}
	writeFile(t, filepath.Join(dir, "region.csv"), b.String())
	b.Reset()
	b.WriteString("RegionKey,Amount,Qty,Date,Flag,Note\n")
	for i := range tinyRows {
		fmt.Fprintf(&b, "%d,%d.%04d,%d,2019-05-%02d,%t,note %d\n", i%5+1, (i+1)*k, (i*37)%10000, i%7+1, i%28+1, i%2 == 0, i)
	}
	writeFile(t, filepath.Join(dir, "sales.csv"), b.String())
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tinyModel returns the tiny model as a database object; measures can be
// added or replaced with extra.
func tinyModel(name string, extra ...map[string]any) map[string]any {
	m := func(file, types string) []string {
		return []string{
			"let",
			fmt.Sprintf(`    Source = Csv.Document(File.Contents("%s"), [Delimiter=",", Encoding=65001, QuoteStyle=QuoteStyle.Csv]),`, file),
			"    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars=true]),",
			"    Typed = Table.TransformColumnTypes(Promoted, {" + types + "})",
			"in",
			"    Typed",
		}
	}
	measures := []map[string]any{
		{"name": "Total", "expression": "SUM ( Sales[Amount] )"},
		{"name": "Units", "expression": "SUM ( Sales[Qty] )"},
		{"name": "Avg Price", "expression": "DIVIDE ( [Total], [Units] )"},
	}
	measures = append(measures, extra...)
	return map[string]any{
		"name":               name,
		"compatibilityLevel": 1600,
		"model": map[string]any{
			"culture":         "en-US",
			"unknownProperty": map[string]any{"kept": true},
			"tables": []map[string]any{
				{
					"name": "Region",
					"columns": []map[string]any{
						{"name": "RegionKey", "dataType": "int64", "sourceColumn": "RegionKey"},
						{"name": "Region", "dataType": "string", "sourceColumn": "Region"},
					},
					"partitions": []map[string]any{{"name": "Region", "source": map[string]any{"type": "m",
						"expression": m("region.csv", `{"RegionKey", Int64.Type}, {"Region", type text}`)}}},
				},
				{
					"name": "Sales",
					"columns": []map[string]any{
						{"name": "RegionKey", "dataType": "int64", "sourceColumn": "RegionKey"},
						{"name": "Amount", "dataType": "decimal", "sourceColumn": "Amount"},
						{"name": "Qty", "dataType": "int64", "sourceColumn": "Qty"},
						{"name": "Date", "dataType": "dateTime", "sourceColumn": "Date"},
						{"name": "Flag", "dataType": "boolean", "sourceColumn": "Flag"},
						{"name": "Note", "dataType": "string", "sourceColumn": "Note"},
					},
					"partitions": []map[string]any{{"name": "Sales", "source": map[string]any{"type": "m",
						"expression": m("sales.csv", `{"RegionKey", Int64.Type}, {"Amount", Currency.Type}, {"Qty", Int64.Type}, {"Date", type date}, {"Flag", type logical}, {"Note", type text}`)}}},
					"measures": measures,
				},
			},
			"relationships": []map[string]any{
				{"name": "Sales_Region", "fromTable": "Sales", "fromColumn": "RegionKey", "toTable": "Region", "toColumn": "RegionKey"},
			},
		},
	}
}

// deployCmd is createOrReplace of a database object.
func deployCmd(def map[string]any) string {
	b, err := json.Marshal(map[string]any{"createOrReplace": map[string]any{
		"object": map[string]any{"database": def["name"]}, "database": def}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func refreshCmd(db string) string {
	return fmt.Sprintf(`{"refresh":{"type":"full","objects":[{"database":%q}]}}`, db)
}

// totalQuery sums the tiny model's measure by region, ordered.
const totalQuery = `EVALUATE SUMMARIZECOLUMNS ( Region[Region], "Total", [Total], "Units", [Units] ) ORDER BY Region[Region]`
