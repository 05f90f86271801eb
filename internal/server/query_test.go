package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/value"
)

func TestExecuteQueriesErrors(t *testing.T) {
	ts := readyTiny(t, func(c *serverConfig) { c.sopts.MaxRequestBytes = 4096 })
	q := func(s string) string { return mustJSON(map[string]any{"queries": []map[string]string{{"query": s}}}) }
	cases := []struct {
		name   string
		db     string
		body   string
		status int
		code   string
		want   []string
	}{
		{"malformed JSON", "Tiny", `{"queries":[`, 400, "InvalidJSON", []string{"line 1"}},
		{"wrong type", "Tiny", `{"queries":"EVALUATE {1}"}`, 400, "InvalidJSON", []string{"queries"}},
		{"no query", "Tiny", `{"queries":[]}`, 400, "BadRequest", []string{"no query"}},
		{"two queries", "Tiny", `{"queries":[{"query":"EVALUATE {1}"},{"query":"EVALUATE {2}"}]}`, 400, "BadRequest", []string{"only one query"}},
		{"empty query", "Tiny", `{"queries":[{"query":"  "}]}`, 400, "BadRequest", nil},
		{"trailing data", "Tiny", `{"queries":[{"query":"EVALUATE {1}"}]} x`, 400, "InvalidJSON", nil},
		{"unknown database", "Nope", q("EVALUATE {1}"), 404, "DatabaseNotFound", nil},
		{"oversized body", "Tiny", q("EVALUATE {1} // " + strings.Repeat("x", 5000)), 413, "RequestTooLarge", nil},
		{"DAX syntax error", "Tiny", q("EVALUATE\nROW ( \"x\", 1 + )"), 400, "DatasetExecuteQueriesError", []string{"Query (2, "}},
		{"unknown column", "Tiny", q("EVALUATE ROW ( \"x\", SUM ( Sales[Nope] ) )"), 400, "DatasetExecuteQueriesError", []string{"Query (1, ", "Nope"}},
		{"evaluation error", "Tiny", q("EVALUATE ROW ( \"x\", ERROR ( \"boom\" ) )"), 400, "DatasetExecuteQueriesError", []string{"boom"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := ts.do("POST", "/v1.0/myorg/datasets/"+c.db+"/executeQueries", c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			code, msg := errorOf(t, body)
			if code != c.code {
				t.Errorf("code %q, want %q", code, c.code)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if c.code == "DatasetExecuteQueriesError" {
				// Power BI's own error object carries the message too.
				var e struct {
					Error struct {
						PBI struct {
							Code    string
							Details []struct {
								Code   string
								Detail struct{ Value string }
							}
						} `json:"pbi.error"`
					}
				}
				json.Unmarshal(body, &e)
				if e.Error.PBI.Code != c.code || len(e.Error.PBI.Details) == 0 || e.Error.PBI.Details[0].Detail.Value != msg {
					t.Errorf("pbi.error: %s", body)
				}
			}
		})
	}
}

func TestExecuteQueriesValues(t *testing.T) {
	ts := readyTiny(t)
	status, body := ts.query("Tiny", `EVALUATE ROW ( "int", 7, "dec", 2.5, "cur", CURRENCY ( 1.23456 ), "neg", -CURRENCY ( 0.5 ), "bool", TRUE (), "text", "a""b<", "date", DATE ( 2019, 5, 18 ), "time", DATE ( 2019, 5, 18 ) + TIME ( 13, 4, 5 ), "blank", BLANK () )`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	want := `{"results":[{"tables":[{"rows":[{"[int]":7,"[dec]":2.5,"[cur]":1.2346,"[neg]":-0.5,"[bool]":true,"[text]":"a\"b\u003c","[date]":"2019-05-18T00:00:00","[time]":"2019-05-18T13:04:05"}]}]}]}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
	// includeNulls writes BLANK as null.
	_, body, _ = ts.do("POST", "/v1.0/myorg/datasets/Tiny/executeQueries",
		`{"queries":[{"query":"EVALUATE ROW(\"a\", BLANK(), \"b\", 1)"}],"serializerSettings":{"includeNulls":true}}`)
	if !strings.Contains(string(body), `{"[a]":null,"[b]":1}`) {
		t.Errorf("includeNulls: %s", body)
	}
	// Model columns are named Table[Column]; the group name of the
	// dataset API works too.
	_, body, _ = ts.do("POST", "/v1.0/myorg/groups/g1/datasets/Tiny/executeQueries",
		`{"queries":[{"query":"EVALUATE TOPN ( 1, Sales, Sales[Note], ASC )"}]}`)
	for _, k := range []string{`"Sales[Amount]":1`, `"Sales[Note]":"note 0"`, `"Sales[Date]":"2019-05-01T00:00:00"`, `"Sales[Flag]":true`} {
		if !strings.Contains(string(body), k) {
			t.Errorf("row %s lacks %s", body, k)
		}
	}
}

func TestExecuteQueriesLimits(t *testing.T) {
	ts := readyTiny(t)
	t.Run("rows", func(t *testing.T) {
		_, body := ts.query("Tiny", `EVALUATE GENERATESERIES ( 1, 100005 )`)
		var res struct {
			Results []struct {
				Tables []struct {
					Rows  []map[string]any
					Error struct{ Code, Message string }
				}
			}
		}
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		tab := res.Results[0].Tables[0]
		if len(tab.Rows) != 100_000 || tab.Error.Message != "More than 100000 rows in a query result" {
			t.Errorf("%d rows, error %+v", len(tab.Rows), tab.Error)
		}
	})
	t.Run("values", func(t *testing.T) {
		// 20 columns: 1,000,000 values are 50,000 rows. Built directly:
		// the engine takes long to compute a million values.
		res := &engine.Result{Tables: []*engine.ResultTable{{}}}
		tab := res.Tables[0]
		for i := range 20 {
			tab.Columns = append(tab.Columns, engine.ResultColumn{Name: "[c" + string(rune('a'+i)) + "]"})
		}
		row := make([]value.Value, 20)
		for i := range row {
			row[i] = value.Int(int64(i))
		}
		for range 50_001 {
			tab.Rows = append(tab.Rows, row)
		}
		var out struct {
			Results []struct {
				Tables []struct {
					Rows  []json.RawMessage
					Error struct{ Message string }
				}
			}
		}
		if err := json.Unmarshal(encodeResult(res, false), &out); err != nil {
			t.Fatal(err)
		}
		got := out.Results[0].Tables[0]
		if len(got.Rows) != 50_000 || got.Error.Message != "More than 50000 rows in a query result" {
			t.Errorf("20 columns: %d rows, error %q; want 1,000,000 values", len(got.Rows), got.Error.Message)
		}
		// Exactly at the limit: no error.
		tab.Rows = tab.Rows[:50_000]
		if b := encodeResult(res, false); strings.Contains(string(b), `"error"`) {
			t.Errorf("50,000 rows of 20 values: %.200s", b[len(b)-200:])
		}
	})
	t.Run("size", func(t *testing.T) {
		big := value.Str(strings.Repeat("x", 1<<20))
		res := &engine.Result{Tables: []*engine.ResultTable{{Columns: []engine.ResultColumn{{Name: "[s]"}}}}}
		for range 20 {
			res.Tables[0].Rows = append(res.Tables[0].Rows, []value.Value{big})
		}
		var out struct {
			Results []struct {
				Tables []struct {
					Rows  []json.RawMessage
					Error struct{ Message string }
				}
			}
		}
		if err := json.Unmarshal(encodeResult(res, false), &out); err != nil {
			t.Fatal(err)
		}
		got := out.Results[0].Tables[0]
		// The row that passes 15 MB is completed, then no more.
		if len(got.Rows) != 15 || !strings.Contains(got.Error.Message, "15 MB") {
			t.Errorf("%d rows of 1 MB, error %q", len(got.Rows), got.Error.Message)
		}
	})
	t.Run("tables", func(t *testing.T) {
		_, body := ts.query("Tiny", `EVALUATE { 1 } EVALUATE { 2 }`)
		want := `{"results":[{"tables":[{"rows":[{"[Value]":1}]}],"error":{"code":"DatasetExecuteQueriesError","message":"More than one result table in a query"}}]}`
		if got := strings.TrimSpace(string(body)); got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}

func TestEncodeResult(t *testing.T) {
	res := &engine.Result{Tables: []*engine.ResultTable{{
		Columns: []engine.ResultColumn{{Name: "T[a]"}, {Name: "[m]"}, {Name: "T[\"q\"]"}},
		Rows: [][]value.Value{
			{value.Int(-3), value.Float(0.1), value.Str("x\u2028\x01\xff")},
			{value.BlankValue, value.CurrencyUnits(-12345), value.Bool(false)},
		},
	}}}
	got := string(encodeResult(res, false))
	want := `{"results":[{"tables":[{"rows":[{"T[a]":-3,"[m]":0.1,"T[\"q\"]":"x\u2028\u0001\ufffd"},{"[m]":-1.2345,"T[\"q\"]":false}]}]}]}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var v any
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Errorf("not JSON: %v", err)
	}
	if got := string(encodeResult(&engine.Result{}, true)); got != `{"results":[{"tables":[]}]}` {
		t.Errorf("no table: %s", got)
	}
}
