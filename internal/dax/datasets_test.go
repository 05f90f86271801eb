package dax

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/testenv"
)

// modelExpr is one DAX expression of a model file, named by where it is.
type modelExpr struct {
	where string // "Sales/measures/Margin"
	kind  string // measure, column, table, calculationItem, roleFilter, ...
	text  string
}

// tmslText reads a TMSL expression property, which is a string or an
// array of lines.
func tmslText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		lines := make([]string, len(v))
		for i, l := range v {
			lines[i], _ = l.(string)
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func arr(v any) []any {
	a, _ := v.([]any)
	return a
}

// modelExprs lists the DAX expressions of a .bim file: measures (with
// their KPIs, format string and detail rows definitions), calculated
// columns, calculated tables, calculation items and row filters. The file
// is read with encoding/json directly, independently of the model package.
func modelExprs(t *testing.T, path string) []modelExpr {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var db map[string]any
	if err := json.Unmarshal(data, &db); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []modelExpr
	add := func(where, kind string, v any) {
		if text := tmslText(v); strings.TrimSpace(text) != "" {
			out = append(out, modelExpr{where: where, kind: kind, text: text})
		}
	}
	model := obj(db["model"])
	for _, tv := range arr(model["tables"]) {
		tbl := obj(tv)
		tname, _ := tbl["name"].(string)
		for _, mv := range arr(tbl["measures"]) {
			m := obj(mv)
			w := fmt.Sprintf("%s/measures/%v", tname, m["name"])
			add(w, "measure", m["expression"])
			if kpi := obj(m["kpi"]); kpi != nil {
				add(w+"/kpi/target", "kpi", kpi["targetExpression"])
				add(w+"/kpi/status", "kpi", kpi["statusExpression"])
				add(w+"/kpi/trend", "kpi", kpi["trendExpression"])
			}
			if f := obj(m["formatStringDefinition"]); f != nil {
				add(w+"/formatString", "formatString", f["expression"])
			}
			if d := obj(m["detailRowsDefinition"]); d != nil {
				add(w+"/detailRows", "detailRows", d["expression"])
			}
		}
		for _, cv := range arr(tbl["columns"]) {
			c := obj(cv)
			if c["type"] == "calculated" {
				add(fmt.Sprintf("%s/columns/%v", tname, c["name"]), "column", c["expression"])
			}
		}
		for _, pv := range arr(tbl["partitions"]) {
			p := obj(pv)
			if src := obj(p["source"]); src != nil && src["type"] == "calculated" {
				add(fmt.Sprintf("%s/partitions/%v", tname, p["name"]), "table", src["expression"])
			}
		}
		if cg := obj(tbl["calculationGroup"]); cg != nil {
			for _, iv := range arr(cg["calculationItems"]) {
				it := obj(iv)
				w := fmt.Sprintf("%s/calculationItems/%v", tname, it["name"])
				add(w, "calculationItem", it["expression"])
				if f := obj(it["formatStringDefinition"]); f != nil {
					add(w+"/formatString", "formatString", f["expression"])
				}
			}
		}
	}
	for _, rv := range arr(model["roles"]) {
		r := obj(rv)
		for _, pv := range arr(r["tablePermissions"]) {
			p := obj(pv)
			add(fmt.Sprintf("roles/%v/%v", r["name"], p["name"]), "roleFilter", p["filterExpression"])
		}
	}
	return out
}

// notDAX are expressions of the shared models that are not valid DAX: KPI
// targets written with a decimal comma, as a European locale shows them,
// in files saved by a tool. They must fail, and say why.
var notDAX = map[string]string{
	"1,1":  "unexpected ','",
	"1,25": "unexpected ','",
}

// TestDatasets parses every DAX expression of every model under the
// shared datasets, prints it and parses the print again.
func TestDatasets(t *testing.T) {
	root := testenv.Datasets(t)
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".bim") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			for _, x := range modelExprs(t, f) {
				e, err := ParseExpr(x.text)
				if want, bad := notDAX[strings.TrimSpace(x.text)]; bad {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s: %q: want an error containing %q, got %v", x.where, x.text, want, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s (%s):\n%s\n%v", x.where, x.kind, x.text, err)
					continue
				}
				counts[x.kind]++
				roundTrip(t, e)
			}
		})
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d files, %d expressions parsed and round-tripped: %v", len(files), total, counts)
	if total < 300 {
		t.Errorf("only %d expressions found; the datasets or their reading changed", total)
	}
	for _, kind := range []string{"measure", "column", "table", "calculationItem", "roleFilter"} {
		if counts[kind] == 0 {
			t.Errorf("no %s expressions found", kind)
		}
	}
}
