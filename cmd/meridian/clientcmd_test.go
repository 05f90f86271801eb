package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/client/clienttest"
)

// runCLI runs the command line in-process, as main does, and returns what
// it printed and its exit status.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(&errb, "meridian:", err)
		code = exitCode(err)
	}
	return out.String(), errb.String(), code
}

const testBIM = `{
  "name": "Sales",
  "compatibilityLevel": 1600,
  "model": {
    "tables": [
      {"name": "Date", "partitions": [{"name": "Date"}]},
      {"name": "Sales", "partitions": [{"name": "Sales 2021"}, {"name": "Sales 2022"}]}
    ]
  }
}`

func cell(column string, v any) clienttest.Cell { return clienttest.Cell{Column: column, Value: v} }

const mixedQuery = "EVALUATE SUMMARIZECOLUMNS('Date'[Year], \"Amount\", [Amount])"

// fakeServer starts a fake server with the Sales database and a query
// whose answer has every kind of value.
func fakeServer(t *testing.T) *clienttest.Server {
	t.Helper()
	s := clienttest.New(t)
	if err := s.AddDatabase(testBIM); err != nil {
		t.Fatal(err)
	}
	s.AddQuery(mixedQuery, []clienttest.Row{
		{cell("Date[Year]", 2021), cell("Product[Name]", "Audio, \"Pro\""), cell("[Amount]", 1234.5), cell("[Ratio]", 0.123456789), cell("[Day]", "2021-03-04T00:00:00"), cell("[Flag]", true)},
		{cell("Date[Year]", 2022), cell("Product[Name]", "Näive\tTV"), cell("[Amount]", 99), cell("[Ratio]", nil), cell("[Day]", "2022-12-31T13:05:00"), cell("[Flag]", false)},
	})
	return s
}

func TestQueryTable(t *testing.T) {
	s := fakeServer(t)
	out, errOut, code := runCLI(t, "", "query", "Sales", mixedQuery, "--server", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Numbers to the right, decimals to four places, dates without a
	// midnight time, control characters escaped, BLANK empty.
	want := "" +
		"Date[Year]  Product[Name]  [Amount]  [Ratio]  [Day]                [Flag]\n" +
		"----------  -------------  --------  -------  -------------------  ------\n" +
		"      2021  Audio, \"Pro\"     1234.5   0.1235  2021-03-04           TRUE\n" +
		"      2022  Näive\\tTV            99           2022-12-31 13:05:00  FALSE\n" +
		"(2 rows)\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

func TestQueryCSV(t *testing.T) {
	s := fakeServer(t)
	out, errOut, code := runCLI(t, "", "query", "Sales", mixedQuery, "--server", s.URL, "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "Date[Year],Product[Name],[Amount],[Ratio],[Day],[Flag]\n" +
		"2021,\"Audio, \"\"Pro\"\"\",1234.5,0.123456789,2021-03-04T00:00:00,true\n" +
		"2022,Näive\tTV,99,,2022-12-31T13:05:00,false\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("csv (-want +got):\n%s", d)
	}
}

func TestQueryJSON(t *testing.T) {
	s := fakeServer(t)
	for _, args := range [][]string{{"--json"}, {"--format", "json"}, {"--json", "--format", "json"}} {
		out, errOut, code := runCLI(t, "", append([]string{"query", "Sales", mixedQuery, "--server", s.URL}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var doc struct {
			Columns []struct{ Name, Type string }
			Rows    [][]any
		}
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%v: output is not JSON: %v\n%s", args, err, out)
		}
		if dec.More() {
			t.Errorf("%v: more than one JSON document", args)
		}
		wantCols := []struct{ Name, Type string }{{"Date[Year]", "integer"}, {"Product[Name]", "text"}, {"[Amount]", "decimal"},
			{"[Ratio]", "decimal"}, {"[Day]", "dateTime"}, {"[Flag]", "boolean"}}
		if d := cmp.Diff(wantCols, doc.Columns); d != "" {
			t.Errorf("%v: columns (-want +got):\n%s", args, d)
		}
		wantRows := [][]any{
			{2021.0, "Audio, \"Pro\"", 1234.5, 0.123456789, "2021-03-04T00:00:00", true},
			{2022.0, "Näive\tTV", 99.0, nil, "2022-12-31T13:05:00", false},
		}
		if d := cmp.Diff(wantRows, doc.Rows); d != "" {
			t.Errorf("%v: rows (-want +got):\n%s", args, d)
		}
	}
}

func TestQueryInput(t *testing.T) {
	s := fakeServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "q.dax")
	os.WriteFile(file, []byte(mixedQuery+"\n"), 0o644)
	t.Run("stdin", func(t *testing.T) {
		out, errOut, code := runCLI(t, mixedQuery, "query", "Sales", "-", "--server", s.URL)
		if code != 0 || !strings.Contains(out, "(2 rows)") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
	})
	t.Run("file", func(t *testing.T) {
		out, errOut, code := runCLI(t, "", "query", "Sales", file, "--server", s.URL)
		if code != 0 || !strings.Contains(out, "(2 rows)") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
	})
	t.Run("missing .dax file", func(t *testing.T) {
		_, errOut, code := runCLI(t, "", "query", "Sales", filepath.Join(dir, "nope.dax"), "--server", s.URL)
		if code != exitUsage || !strings.Contains(errOut, "no such file") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

// TestExitStatuses checks the exit status and message of each kind of
// failure.
func TestExitStatuses(t *testing.T) {
	s := fakeServer(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	dir := t.TempDir()
	badBIM := filepath.Join(dir, "bad.bim")
	os.WriteFile(badBIM, []byte("{\n  \"name\": \"S\",\n  \"model\": [,\n}"), 0o644)
	goodBIM := filepath.Join(dir, "good.bim")
	os.WriteFile(goodBIM, []byte(testBIM), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"no arguments", []string{"query"}, exitUsage, "accepts 2 arg(s)"},
		{"unknown flag", []string{"status", "--bogus", "--server", s.URL}, exitUsage, "unknown flag: --bogus"},
		{"bad format", []string{"query", "Sales", mixedQuery, "--server", s.URL, "--format", "xml"}, exitUsage, `--format "xml"`},
		{"json and csv", []string{"query", "Sales", mixedQuery, "--server", s.URL, "--json", "--format", "csv"}, exitUsage, "disagree"},
		{"bad connection string", []string{"query", "Sales", mixedQuery, "--server", "Data Source=ftp://x"}, exitUsage, `unsupported scheme "ftp"`},
		{"alias that does not answer", []string{"query", "Sales", mixedQuery, "--server", "link+http://" + strings.TrimPrefix(deadURL, "http://") + "/sales"}, exitUnavailable, "/sales does not answer"},
		{"unreachable", []string{"query", "Sales", mixedQuery, "--server", deadURL}, exitUnavailable, "connection refused"},
		{"unreachable status", []string{"status", "--server", deadURL}, exitUnavailable, "connection refused"},
		{"unreachable deploy", []string{"deploy", goodBIM, "--server", deadURL}, exitUnavailable, "connection refused"},
		{"DAX error", []string{"query", "Sales", "EVALUATE nonsense", "--server", s.URL}, exitUsage, "line 1, column 1"},
		{"unknown database", []string{"query", "Nope", mixedQuery, "--server", s.URL}, exitFailure, "DatabaseNotFound"},
		{"bad model file", []string{"deploy", badBIM, "--server", deadURL}, exitUsage, "line 3, column 13"},
		{"missing model file", []string{"deploy", filepath.Join(dir, "none.bim"), "--server", s.URL}, exitUsage, "no such file"},
		{"directory as file", []string{"tmsl", dir, "--server", s.URL}, exitUsage, "is a directory"},
		{"bad TMSL", []string{"tmsl", "-", "--server", s.URL}, exitUsage, "not valid JSON"},
		{"bad refresh type", []string{"refresh", "Sales", "--type", "sideways", "--server", s.URL}, exitUsage, `--type "sideways"`},
		{"partition without table", []string{"refresh", "Sales", "--partition", "P", "--server", s.URL}, exitUsage, "exactly one --table"},
		{"refresh unknown database", []string{"refresh", "Nope", "--server", s.URL}, exitFailure, "DatabaseNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, `{"refresh":`, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.say) {
				t.Errorf("stderr does not say %q:\n%s", tt.say, errOut)
			}
		})
	}
}

func TestServerFromEnvironment(t *testing.T) {
	s := fakeServer(t)
	t.Setenv("MERIDIAN_SERVER", "Data Source="+s.URL+";Initial Catalog=Sales")
	out, errOut, code := runCLI(t, "", "status")
	if code != 0 || !strings.Contains(out, s.URL) {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
}

func TestDeploy(t *testing.T) {
	s := clienttest.New(t)
	file := filepath.Join(t.TempDir(), "model.bim")
	os.WriteFile(file, []byte(testBIM), 0o644)
	out, errOut, code := runCLI(t, "", "deploy", file, "--server", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `Deployed database "Sales" to `+s.URL) || !strings.Contains(out, "meridian refresh Sales") {
		t.Errorf("output:\n%s", out)
	}
	out, errOut, code = runCLI(t, testBIM, "deploy", "-", "--database", "Sales Test", "--server", s.URL, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Database, Server string
		Messages         []any
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.Database != "Sales Test" || res.Server != s.URL || res.Messages == nil {
		t.Errorf("deploy JSON = %+v", res)
	}
	out, _, _ = runCLI(t, "", "status", "--server", s.URL)
	if !strings.Contains(out, "Sales Test") {
		t.Errorf("status does not list the deployed database:\n%s", out)
	}
}

func TestRefresh(t *testing.T) {
	s := fakeServer(t)
	out, errOut, code := runCLI(t, "", "refresh", "Sales", "--server", s.URL, "--poll", "1ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "Refresh of Sales succeeded") || !strings.Contains(out, "3 of 3 partitions in 2 tables, 3,000 rows.") {
		t.Errorf("summary:\n%s", out)
	}
	// The progress bar went to stderr, with partitions and rows.
	for _, want := range []string{"Refreshing Sales: 0/3 partitions", "Refreshing Sales: 2/3 partitions, 2,500 rows", "100%"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress does not show %q:\n%q", want, errOut)
		}
	}
}

func TestRefreshJSON(t *testing.T) {
	s := fakeServer(t)
	out, errOut, code := runCLI(t, "", "refresh", "Sales", "--table", "Sales", "--partition", "Sales 2022", "--server", s.URL, "--poll", "1ms", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var st struct {
		RefreshID, Status, Type string
		Objects                 []struct{ Table, Partition, Status string }
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if st.Status != "succeeded" || st.Type != "full" || len(st.Objects) != 1 || st.Objects[0].Partition != "Sales 2022" || st.RefreshID == "" {
		t.Errorf("status = %+v", st)
	}
}

func TestRefreshFailure(t *testing.T) {
	s := fakeServer(t)
	s.FailRefresh("Sales 2022", "Sales.csv line 7: \"abc\" is not a number")
	out, errOut, code := runCLI(t, "", "refresh", "Sales", "--server", s.URL, "--poll", "1ms")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, errOut)
	}
	if !strings.Contains(out, "Refresh of Sales failed") {
		t.Errorf("summary:\n%s", out)
	}
	for _, want := range []string{"partition Sales 2022 of table Sales failed", `line 7: "abc" is not a number`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
}

func TestRefreshNoWait(t *testing.T) {
	s := fakeServer(t)
	out, errOut, code := runCLI(t, "", "refresh", "Sales", "--server", s.URL, "--no-wait")
	if code != 0 || !strings.Contains(out, "Refresh r0001 of Sales started") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	// A second refresh while the first runs is refused.
	_, errOut, code = runCLI(t, "", "refresh", "Sales", "--server", s.URL, "--no-wait")
	if code != exitFailure || !strings.Contains(errOut, "already running") {
		t.Fatalf("second refresh: exit %d: %s", code, errOut)
	}
}

func TestTMSL(t *testing.T) {
	s := fakeServer(t)
	file := filepath.Join(t.TempDir(), "cmd.json")
	os.WriteFile(file, []byte(`{"refresh":{"type":"calculate","objects":[{"database":"Sales"}]}}`), 0o644)
	out, errOut, code := runCLI(t, "", "tmsl", file, "--server", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "Done. Messages:\n  information: refresh done\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	out, errOut, code = runCLI(t, `{"delete":{"object":{"database":"Sales"}}}`, "tmsl", "-", "--server", s.URL, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.TrimSpace(out) != "{\n  \"messages\": []\n}" {
		t.Errorf("json output %q", out)
	}
}

func TestStatus(t *testing.T) {
	s := fakeServer(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	list := "Data Source=" + s.URL + "," + deadURL
	out, errOut, code := runCLI(t, "", "status", "--server", list)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"healthy, ready", "unreachable", deadURL + ": connection refused", "Databases on " + s.URL,
		"NAME   VERSION  STATE", "Sales        1  unprocessed", "never"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
	out, errOut, code = runCLI(t, "", "status", "--server", list, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Servers []struct {
			URL            string
			Healthy, Ready bool
			Error          string
			Databases      []struct{ Name, State string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.Servers) != 2 || !doc.Servers[0].Ready || len(doc.Servers[0].Databases) != 1 || doc.Servers[1].Healthy || doc.Servers[1].Error == "" {
		t.Errorf("status JSON = %+v", doc)
	}
	// No server answers: the JSON is still printed, and the exit status
	// says so.
	out, _, code = runCLI(t, "", "status", "--server", deadURL, "--json")
	if code != exitUnavailable || !json.Valid([]byte(out)) {
		t.Errorf("unreachable: exit %d, output %q", code, out)
	}
}

func TestHumanHelpers(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{999: "999 B", 5646967: "5.6 MB", 1 << 40: "1.1 TB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]string{"Sales": "Sales", "Sales Test": "'Sales Test'", "O'Brien": `'O'\''Brien'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
