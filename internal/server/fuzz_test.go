package server

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/value"
)

// The parsers of request bodies take whatever a client sends: they must
// answer with an error, never panic, and accept only what they document.

func FuzzParseQueryRequest(f *testing.F) {
	for _, s := range []string{
		`{"queries":[{"query":"EVALUATE {1}"}],"serializerSettings":{"includeNulls":true}}`,
		`{"queries":[]}`, `{"queries":[{"query":null}]}`, `{"queries":[{},{}]}`, `[]`, `{`, ``, `null`,
		`{"queries":[{"query":"x"}]} {}`, `{"queries":[{"query":"x"}],"impersonatedUserName":"a@b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, _, _, err := parseQueryRequest(body)
		if err == nil && strings.TrimSpace(q) == "" {
			t.Errorf("accepted an empty query from %q", body)
		}
		if err != nil {
			if status, _ := statusOf(err); status != 400 {
				t.Errorf("error %v maps to %d, want 400", err, status)
			}
		}
	})
}

func FuzzParseRefreshRequest(f *testing.F) {
	for _, s := range []string{
		`{"Type":"Full","CommitMode":"transactional","MaxParallelism":2,"RetryCount":1,"Objects":[{"table":"T","partition":"P"}]}`,
		`{"type":"dataOnly","commitMode":"partialBatch"}`, `{}`, ``, `{"Timeout":"1.02:03:04"}`, `{"Objects":[{}]}`,
		`{"MaxParallelism":-1}`, `{"RetryCount":99}`, `{"Type":"add"}`, `{"Type":"defragment"}`, `{"x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, preq, opts, timeout, err := parseRefreshRequest(body)
		if err != nil {
			if status, _ := statusOf(err); status != 400 {
				t.Errorf("error %v maps to %d, want 400", err, status)
			}
			return
		}
		if opts.MaxParallelism < 1 || opts.Retries < 0 || opts.Retries > maxRetryCount || timeout < 0 {
			t.Errorf("accepted %q as %+v, timeout %v", body, opts, timeout)
		}
		if req.CommitMode != "transactional" && req.CommitMode != "partialBatch" {
			t.Errorf("commit mode %q", req.CommitMode)
		}
		for _, o := range preq.Objects {
			if strings.TrimSpace(o.Table) == "" {
				t.Errorf("accepted an object without a table: %q", body)
			}
		}
	})
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"02:00:00", "1.00:00:01", "00:00:00", "1:2", "-1:00:00", "99999999999999:00:00", ".:", "1.2.3:4:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTimeSpan(s)
		if err == nil && d <= 0 {
			t.Errorf("%q gave %v", s, d)
		}
	})
}

// FuzzEncodeResult checks that any text and number encode as valid JSON
// that decodes to the same value.
func FuzzEncodeResult(f *testing.F) {
	f.Add("T[a]", "x", int64(1), 0.5, false)
	f.Add("[\"]", "\u2028\x00\xff<>&", int64(-1<<63), math.Copysign(0, -1), true)
	f.Fuzz(func(t *testing.T, col, text string, n int64, x float64, nulls bool) {
		res := &engine.Result{Tables: []*engine.ResultTable{{
			Columns: []engine.ResultColumn{{Name: col + "1"}, {Name: col + "2"}, {Name: col + "3"}, {Name: col + "4"}},
			Rows:    [][]value.Value{{value.Str(text), value.Int(n), value.Float(x), value.CurrencyUnits(n)}, {value.BlankValue, value.BlankValue, value.BlankValue, value.BlankValue}},
		}}}
		out := encodeResult(res, nulls)
		var doc struct {
			Results []struct {
				Tables []struct {
					Rows []map[string]any
				}
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		rows := doc.Results[0].Tables[0].Rows
		// Invalid UTF-8 becomes U+FFFD byte by byte, as encoding/json does.
		var want string
		j, _ := json.Marshal(text)
		json.Unmarshal(j, &want)
		if utf8.ValidString(col) && rows[0][col+"1"] != want {
			t.Errorf("text %q came back as %q", text, rows[0][col+"1"])
		}
		if nulls != (len(rows[1]) == 4) {
			t.Errorf("includeNulls %v: blank row %v", nulls, rows[1])
		}
	})
}
