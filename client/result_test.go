package client

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cellView is a comparable picture of a Value for tests.
type cellView struct {
	Kind Kind
	Text string
}

func view(r *Result) (cols []Column, rows [][]cellView) {
	for _, row := range r.Rows {
		var out []cellView
		for _, v := range row {
			out = append(out, cellView{v.Kind(), v.String()})
		}
		rows = append(rows, out)
	}
	return r.Columns, rows
}

func TestDecodeQueryResult(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCols []Column
		wantRows [][]cellView
	}{
		{
			name:     "column order follows the keys",
			body:     `{"results":[{"tables":[{"rows":[{"Date[Year]":2021,"[Sales]":10.5,"Product[Category]":"Audio"},{"Date[Year]":2022,"[Sales]":3,"Product[Category]":"TV"}]}]}]}`,
			wantCols: []Column{{"Date[Year]", Integer}, {"[Sales]", Decimal}, {"Product[Category]", Text}},
			wantRows: [][]cellView{
				{{Integer, "2021"}, {Decimal, "10.5"}, {Text, "Audio"}},
				{{Integer, "2022"}, {Decimal, "3"}, {Text, "TV"}},
			},
		},
		{
			name:     "dates, booleans and nulls",
			body:     `{"results":[{"tables":[{"rows":[{"Date[Date]":"2019-05-18T00:00:00","[Flag]":true,"[M]":null},{"Date[Date]":"2019-05-19T13:30:00.250","[Flag]":false,"[M]":null}]}]}]}`,
			wantCols: []Column{{"Date[Date]", DateTime}, {"[Flag]", Boolean}, {"[M]", Null}},
			wantRows: [][]cellView{
				{{DateTime, "2019-05-18T00:00:00"}, {Boolean, "true"}, {Null, ""}},
				{{DateTime, "2019-05-19T13:30:00.250"}, {Boolean, "false"}, {Null, ""}},
			},
		},
		{
			name:     "omitted blanks",
			body:     `{"results":[{"tables":[{"rows":[{"A[x]":1},{"A[x]":2,"[m]":"z"},{"[m]":"y"}]}]}]}`,
			wantCols: []Column{{"A[x]", Integer}, {"[m]", Text}},
			wantRows: [][]cellView{
				{{Integer, "1"}, {Null, ""}},
				{{Integer, "2"}, {Text, "z"}},
				{{Null, ""}, {Text, "y"}},
			},
		},
		{
			name:     "a text column with one date-like value stays text",
			body:     `{"results":[{"tables":[{"rows":[{"T[c]":"2019-05-18T00:00:00"},{"T[c]":"hello"}]}]}]}`,
			wantCols: []Column{{"T[c]", Text}},
			wantRows: [][]cellView{{{Text, "2019-05-18T00:00:00"}}, {{Text, "hello"}}},
		},
		{
			name:     "mixed kinds are variant",
			body:     `{"results":[{"tables":[{"rows":[{"[v]":1},{"[v]":"one"},{"[v]":true}]}]}]}`,
			wantCols: []Column{{"[v]", Variant}},
			wantRows: [][]cellView{{{Integer, "1"}}, {{Text, "one"}}, {{Boolean, "true"}}},
		},
		{
			name:     "exact currency and big numbers",
			body:     `{"results":[{"tables":[{"rows":[{"[c]":922337203685477.5807},{"[c]":99999999999999999999},{"[c]":1e3}]}]}]}`,
			wantCols: []Column{{"[c]", Decimal}},
			wantRows: [][]cellView{{{Decimal, "922337203685477.5807"}}, {{Decimal, "99999999999999999999"}}, {{Decimal, "1e3"}}},
		},
		{
			name:     "infinity and NaN among decimals",
			body:     `{"results":[{"tables":[{"rows":[{"[r]":1.5},{"[r]":"Infinity"},{"[r]":"NaN"},{"[r]":"-Infinity"}]}]}]}`,
			wantCols: []Column{{"[r]", Decimal}},
			wantRows: [][]cellView{{{Decimal, "1.5"}}, {{Decimal, "Infinity"}}, {{Decimal, "NaN"}}, {{Decimal, "-Infinity"}}},
		},
		{
			name:     "NaN among text is text",
			body:     `{"results":[{"tables":[{"rows":[{"[r]":"NaN"},{"[r]":"x"}]}]}]}`,
			wantCols: []Column{{"[r]", Text}},
			wantRows: [][]cellView{{{Text, "NaN"}}, {{Text, "x"}}},
		},
		{
			name:     "empty table",
			body:     `{"results":[{"tables":[{"rows":[]}]}]}`,
			wantCols: nil,
			wantRows: nil,
		},
		{
			name:     "unknown properties are skipped",
			body:     `{"informationProtectionLabel":{"x":[1,2]},"results":[{"extra":1,"tables":[{"name":"t","rows":[{"[a]":1}]}]}]}`,
			wantCols: []Column{{"[a]", Integer}},
			wantRows: [][]cellView{{{Integer, "1"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := decodeQueryResult([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			cols, rows := view(res)
			if d := cmp.Diff(tt.wantCols, cols); d != "" {
				t.Errorf("columns (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantRows, rows); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeQueryResultValues(t *testing.T) {
	res, err := decodeQueryResult([]byte(`{"results":[{"tables":[{"rows":[{"d":"2020-01-31T12:00:00","i":42,"f":0.1,"s":"x","b":true}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	if tm, ok := row[0].Time(); !ok || !tm.Equal(time.Date(2020, 1, 31, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("Time() = %v, %v", tm, ok)
	}
	if ole, ok := row[0].OLE(); !ok || ole != 43861.5 {
		t.Errorf("OLE() = %v, %v, want 43861.5", ole, ok)
	}
	if n, ok := row[1].Int(); !ok || n != 42 {
		t.Errorf("Int() = %v, %v", n, ok)
	}
	if f, ok := row[2].Float(); !ok || f != 0.1 {
		t.Errorf("Float() = %v, %v", f, ok)
	}
	if _, ok := row[2].Int(); ok {
		t.Errorf("0.1 converts to an integer")
	}
	if s, ok := row[3].Text(); !ok || s != "x" {
		t.Errorf("Text() = %v, %v", s, ok)
	}
	if b, ok := row[4].Bool(); !ok || !b {
		t.Errorf("Bool() = %v, %v", b, ok)
	}
	want := []any{time.Date(2020, 1, 31, 12, 0, 0, 0, time.UTC), int64(42), 0.1, "x", true}
	for i, w := range want {
		if d := cmp.Diff(w, row[i].Interface()); d != "" {
			t.Errorf("column %d Interface() (-want +got):\n%s", i, d)
		}
	}
	b, err := row[0].MarshalJSON()
	if err != nil || string(b) != `"2020-01-31T12:00:00"` {
		t.Errorf("MarshalJSON() = %s, %v", b, err)
	}
	if res.Index("S") != 3 || res.Index("nope") != -1 {
		t.Errorf("Index is wrong")
	}
	if f, _ := (Value{kind: Decimal, bits: math.Float64bits(math.Inf(1))}).Int(); f != 0 {
		t.Errorf("Inf converts to an integer")
	}
}

func TestDecodeQueryResultWarnings(t *testing.T) {
	body := `{"results":[{"tables":[{"rows":[{"[a]":1}],"error":{"code":"DatasetExecuteQueriesError","message":"More than 100000 rows in a query result"}}],` +
		`"error":{"code":"DatasetExecuteQueriesError","message":"More than one result table in a query"}}]}`
	res, err := decodeQueryResult([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"More than 100000 rows in a query result", "More than one result table in a query"}
	if d := cmp.Diff(want, res.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	if len(res.Rows) != 1 {
		t.Errorf("rows = %v", res.Rows)
	}
}

func TestSpecialFloatsMarshal(t *testing.T) {
	res, err := decodeQueryResult([]byte(`{"results":[{"tables":[{"rows":[{"[r]":1},{"[r]":"Infinity"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := res.Rows[1][0].MarshalJSON()
	if string(b) != `"Infinity"` {
		t.Errorf("MarshalJSON = %s", b)
	}
	if f, _ := res.Rows[1][0].Float(); !math.IsInf(f, 1) {
		t.Errorf("Float = %v", f)
	}
}

func TestDecodeQueryResultMoreTables(t *testing.T) {
	res, err := decodeQueryResult([]byte(`{"results":[{"tables":[{"rows":[{"[a]":1}]},{"rows":[{"[b]":"x"},{"[b]":"y"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.More) != 1 || len(res.More[0].Rows) != 2 || res.More[0].Columns[0].Name != "[b]" {
		t.Fatalf("second table not decoded: %+v", res.More)
	}
}

func TestDecodeQueryResultErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `<html>oops</html>`, "invalid character"},
		{"not an object", `[1,2]`, "answer is a JSON array, want an object"},
		{"results not an array", `{"results":{}}`, "results is a JSON object, want an array"},
		{"no tables", `{"results":[]}`, "no results[].tables[]"},
		{"rows not an array", `{"results":[{"tables":[{"rows":7}]}]}`, "results.tables.rows is a JSON number, want an array"},
		{"row not an object", `{"results":[{"tables":[{"rows":[[1]]}]}]}`, "rows[0] is a JSON array, want an object"},
		{"nested value", `{"results":[{"tables":[{"rows":[{"a":{"b":1}}]}]}]}`, `rows[0]["a"]: a value is a JSON object, not a scalar`},
		{"cut short", `{"results":[{"tables":[{"rows":[{"a":1},{"a":`, "unexpected end of JSON input"},
		{"trailing data", `{"results":[{"tables":[{"rows":[]}]}]} {}`, "after top-level value"},
		{"query error inside 200", `{"results":[{"error":{"code":"DAXError","message":"line 1, column 10: unknown table"}}]}`, "DAXError: line 1, column 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeQueryResult([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func FuzzDecodeQueryResult(f *testing.F) {
	f.Add(`{"results":[{"tables":[{"rows":[{"Date[Year]":2021,"[Sales]":10.5,"x":"2019-05-18T00:00:00","b":true,"n":null}]}]}]}`)
	f.Add(`{"results":[{"error":{"code":"c","message":"m"}}]}`)
	f.Add(`{"results":[{"tables":[{"rows":[{"a":1}]},{"rows":[{"a":"9999-12-31T23:59:59.999"}]}]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		res, err := decodeQueryResult([]byte(body))
		if err != nil {
			return
		}
		for r := res; r != nil; {
			for _, row := range r.Rows {
				if len(row) != len(r.Columns) {
					t.Fatalf("row has %d cells for %d columns", len(row), len(r.Columns))
				}
				for i, v := range row {
					c := r.Columns[i].Type
					if !v.IsNull() && c != Variant && v.Kind() != c {
						t.Fatalf("cell of kind %v in a %v column", v.Kind(), c)
					}
					b, err := v.MarshalJSON()
					if err != nil || !json.Valid(b) {
						t.Fatalf("MarshalJSON of %#v = %s, %v", v, b, err)
					}
				}
			}
			if len(r.More) == 0 {
				break
			}
			r = r.More[0]
		}
	})
}

// BenchmarkDecodeQueryResult decodes an answer of Power BI's largest size
// (100,000 rows) with four columns of different kinds.
func BenchmarkDecodeQueryResult(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"results":[{"tables":[{"rows":[`)
	for i := 0; i < 100_000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"Date[Date]":"2021-01-%02dT00:00:00","Product[Product]":"Product %05d","[Units]":%d,"[Sales Amount]":%d.%02d}`,
			i%28+1, i%10000, i%97, i*13, i%100)
	}
	sb.WriteString(`]}]}]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := decodeQueryResult(body)
		if err != nil || len(res.Rows) != 100_000 {
			b.Fatal(err)
		}
	}
}
