package engine

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// The DAX semantics tests are scripts under testdata/*.test. A script
// declares a model, then queries with their expected rows:
//
//	# comment
//	table Product
//	ProductKey:int64 | Color:string | Price:decimal
//	1 | Red | 10.5
//	2 | Blue |
//	end
//
//	relationship Sales[ProductKey] -> Product[ProductKey] [inactive] [both]
//	column Product[Upper] = UPPER(Product[Color])
//	measure Sales[Total] = SUM(Sales[Amount])
//	calcgroup 'Time Calc'[Name] precedence 10
//	item YTD = TOTALYTD(SELECTEDMEASURE(), 'Date'[Date])
//	end
//
//	query the total by color
//	EVALUATE SUMMARIZECOLUMNS(Product[Color], "T", [Total])
//	expect
//	Product[Color] | [T]
//	Red | 10.5
//	end
//
//	query a syntax error
//	EVALUATE ROW("x", 1 +)
//	error expected an expression
//
// Cells are separated by |; an empty cell is BLANK; text may be quoted
// ("  padded  "). Rows compare in any order unless "expect ordered".
// Numbers compare with a relative tolerance of 1e-9; dates as
// 2020-01-31 or 2020-01-31T10:00:00. Column types are TMSL dataType names.
// Every query runs with TODAY fixed at 2024-06-15.

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.test scripts")
	}
	total := 0
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test"), func(t *testing.T) {
			total += runScript(t, f)
		})
	}
	t.Logf("%d query cases in %d scripts", total, len(files))
}

type scriptTable struct {
	name  string
	cols  []colstore.ColumnSpec
	types []string
	rows  [][]value.Value
}

type scriptCase struct {
	name    string
	line    int
	query   string
	expect  []string // header then rows
	ordered bool
	errSub  string
}

type script struct {
	path     string
	tables   []*scriptTable
	def      *model.Database
	calcCols []struct{ table, name, expr string }
	cases    []scriptCase
}

func runScript(t *testing.T, path string) int {
	s := parseScript(t, path)
	m := s.build(t)
	for _, c := range s.cases {
		t.Run(c.name, func(t *testing.T) {
			runCase(t, m, s.path, c)
		})
	}
	return len(s.cases)
}

func parseScript(t *testing.T, path string) *script {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	s := &script{path: path, def: &model.Database{Name: "test", CompatibilityLevel: 1600}}
	fail := func(i int, format string, args ...any) {
		t.Fatalf("%s:%d: %s", path, i+1, fmt.Sprintf(format, args...))
	}
	var cg *model.Table
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch word {
		case "table":
			st := &scriptTable{name: rest}
			i++
			if i >= len(lines) {
				fail(i, "table %s has no header", rest)
			}
			for _, h := range splitCells(lines[i]) {
				name, typ, ok := strings.Cut(h, ":")
				vt, known := value.ParseTMSL(strings.TrimSpace(typ))
				if !ok || !known {
					fail(i, "column %q needs a type: Name:int64|double|decimal|string|dateTime|boolean", h)
				}
				st.cols = append(st.cols, colstore.ColumnSpec{Name: strings.TrimSpace(name), Type: vt})
				st.types = append(st.types, strings.TrimSpace(typ))
			}
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "end"; i++ {
				if strings.TrimSpace(lines[i]) == "" {
					continue
				}
				cells := splitCells(lines[i])
				if len(cells) != len(st.cols) {
					fail(i, "row has %d cells, table %s has %d columns", len(cells), st.name, len(st.cols))
				}
				row := make([]value.Value, len(cells))
				for j, cell := range cells {
					v, err := parseCell(cell, st.cols[j].Type)
					if err != nil {
						fail(i, "%v", err)
					}
					row[j] = v
				}
				st.rows = append(st.rows, row)
			}
			s.tables = append(s.tables, st)
			mt := &model.Table{Name: st.name}
			for j, c := range st.cols {
				mt.Columns = append(mt.Columns, &model.Column{Name: c.Name, DataType: c.Type, TMSLDataType: st.types[j], SourceColumn: c.Name})
			}
			s.def.Model.Tables = append(s.def.Model.Tables, mt)
		case "relationship":
			parts := strings.Fields(strings.ReplaceAll(rest, "->", " -> "))
			if len(parts) < 3 || parts[1] != "->" {
				fail(i, "relationship From[Col] -> To[Col] [inactive] [both]")
			}
			ft, fc := splitRef(parts[0])
			tt, tc := splitRef(parts[2])
			r := &model.Relationship{Name: fmt.Sprintf("r%d", len(s.def.Model.Relationships)), FromTable: ft, FromColumn: fc, ToTable: tt, ToColumn: tc, IsActive: true}
			for _, o := range parts[3:] {
				switch o {
				case "inactive":
					r.IsActive = false
				case "both":
					r.CrossFilteringBehavior = model.CrossFilterBoth
				default:
					fail(i, "unknown relationship option %q", o)
				}
			}
			s.def.Model.Relationships = append(s.def.Model.Relationships, r)
		case "measure", "column":
			ref, expr, ok := strings.Cut(rest, "=")
			if !ok {
				fail(i, "%s Table[Name] = expression", word)
			}
			tn, name := splitRef(strings.TrimSpace(ref))
			expr = strings.TrimSpace(expr)
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  ") {
				i++
				expr += "\n" + lines[i]
			}
			mt := s.def.Model.Table(tn)
			if mt == nil {
				fail(i, "no table %q for %s %s", tn, word, name)
			}
			if word == "measure" {
				mt.Measures = append(mt.Measures, &model.Measure{Name: name, Expression: model.Expr(expr)})
			} else {
				mt.Columns = append(mt.Columns, &model.Column{Name: name, Type: model.ColumnCalculated, Expression: model.Expr(expr)})
				s.calcCols = append(s.calcCols, struct{ table, name, expr string }{tn, name, expr})
			}
		case "calcgroup":
			ref, prec, _ := strings.Cut(rest, " precedence ")
			tn, cn := splitRef(strings.TrimSpace(ref))
			p, _ := strconv.Atoi(strings.TrimSpace(prec))
			cg = &model.Table{Name: tn, CalculationGroup: &model.CalculationGroup{Precedence: p},
				Columns: []*model.Column{{Name: cn, DataType: value.String, TMSLDataType: "string"}}}
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "end"; i++ {
				l := strings.TrimSpace(lines[i])
				if l == "" {
					continue
				}
				name, expr, ok := strings.Cut(strings.TrimPrefix(l, "item "), "=")
				if !strings.HasPrefix(l, "item ") || !ok {
					fail(i, "item Name = expression")
				}
				cg.CalculationGroup.CalculationItems = append(cg.CalculationGroup.CalculationItems,
					&model.CalculationItem{Name: strings.TrimSpace(name), Expression: model.Expr(strings.TrimSpace(expr)), Ordinal: len(cg.CalculationGroup.CalculationItems)})
			}
			s.def.Model.Tables = append(s.def.Model.Tables, cg)
			st := &scriptTable{name: tn, cols: []colstore.ColumnSpec{{Name: cn, Type: value.String}}}
			for _, it := range cg.CalculationGroup.CalculationItems {
				st.rows = append(st.rows, []value.Value{value.Str(it.Name)})
			}
			s.tables = append(s.tables, st)
		case "query":
			c := scriptCase{name: rest, line: i + 1}
			var q []string
			for i++; i < len(lines); i++ {
				l := strings.TrimSpace(lines[i])
				if l == "expect" || l == "expect ordered" || strings.HasPrefix(l, "error") {
					break
				}
				q = append(q, lines[i])
			}
			if i >= len(lines) {
				fail(c.line-1, "query %q has no expect or error", rest)
			}
			c.query = strings.Join(q, "\n")
			l := strings.TrimSpace(lines[i])
			if strings.HasPrefix(l, "error") {
				c.errSub = strings.TrimSpace(strings.TrimPrefix(l, "error"))
			} else {
				c.ordered = l == "expect ordered"
				for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "end"; i++ {
					if strings.TrimSpace(lines[i]) != "" {
						c.expect = append(c.expect, lines[i])
					}
				}
			}
			s.cases = append(s.cases, c)
		default:
			fail(i, "unknown directive %q", word)
		}
	}
	return s
}

func splitRef(s string) (table, col string) {
	s = strings.TrimSpace(s)
	open := strings.LastIndex(s, "[")
	if open < 0 || !strings.HasSuffix(s, "]") {
		return s, ""
	}
	table = strings.Trim(s[:open], "'")
	return table, s[open+1 : len(s)-1]
}

// splitCells splits a row on |, trimming cells; quoted cells keep their
// spaces.
func splitCells(line string) []string {
	parts := strings.Split(line, "|")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			p = p[1 : len(p)-1]
		}
		parts[i] = p
	}
	return parts
}

func parseCell(s string, t value.Type) (value.Value, error) {
	if s == "" || s == "BLANK" {
		return value.BlankValue, nil
	}
	switch t {
	case value.String:
		return value.Str(s), nil
	case value.Integer:
		n, err := strconv.ParseInt(s, 10, 64)
		return value.Int(n), err
	case value.Decimal:
		f, err := strconv.ParseFloat(s, 64)
		return value.Float(f), err
	case value.Currency:
		f, err := strconv.ParseFloat(s, 64)
		v, _ := value.CurrencyFromFloat(f)
		return v, err
	case value.Boolean:
		return value.Bool(strings.EqualFold(s, "true")), nil
	case value.DateTime:
		for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
			if tm, err := time.Parse(layout, s); err == nil {
				return value.Date(value.FromTime(tm)), nil
			}
		}
		return value.BlankValue, fmt.Errorf("bad date %q", s)
	}
	return value.Str(s), nil
}

func (s *script) build(t *testing.T) *Model {
	ctx := context.Background()
	data := &colstore.Database{}
	for _, st := range s.tables {
		b := colstore.NewBuilder(st.cols, colstore.BuilderOptions{})
		for _, r := range st.rows {
			if err := b.Append(r); err != nil {
				t.Fatalf("%s: table %s: %v", s.path, st.name, err)
			}
		}
		ch, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		tab, err := colstore.BuildTable(ctx, st.name, st.cols, []colstore.PartitionData{{Name: st.name, Chunk: ch}})
		if err != nil {
			t.Fatal(err)
		}
		data.Tables = append(data.Tables, tab)
	}
	m, err := NewModel(s.def, data)
	if err != nil {
		t.Fatalf("%s: %v", s.path, err)
	}
	// Calculated columns, in order, each seeing the ones before.
	for _, cc := range s.calcCols {
		tab := m.Table(cc.table)
		vals, err := m.ComputeColumn(ctx, tab, cc.expr)
		if err != nil {
			t.Fatalf("%s: column %s[%s]: %v", s.path, cc.table, cc.name, err)
		}
		typ := value.Variant
		rows := make([][]value.Value, len(vals))
		for i, v := range vals {
			rows[i] = []value.Value{v}
		}
		typ = commonType(rows, 0)
		spec := []colstore.ColumnSpec{{Name: cc.name, Type: typ}}
		b := colstore.NewBuilder(spec, colstore.BuilderOptions{})
		for _, r := range rows {
			if err := b.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		ch, _ := b.Finish()
		col, err := colstore.BuildTable(ctx, cc.table, spec, []colstore.PartitionData{{Name: cc.table, Chunk: ch}})
		if err != nil {
			t.Fatal(err)
		}
		st := data.Table(cc.table)
		st.Columns = append(st.Columns, col.Columns[0])
		mc := s.def.Model.Table(cc.table).Column(cc.name)
		mc.DataType = typ
		if m, err = NewModel(s.def, data); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func runCase(t *testing.T, m *Model, path string, c scriptCase) {
	now := time.Date(2024, 6, 15, 10, 30, 0, 0, time.UTC)
	res, err := m.Query(context.Background(), c.query, QueryOptions{Now: now})
	where := fmt.Sprintf("%s:%d", path, c.line)
	// The same query evaluated group by group must agree: set-at-a-time
	// evaluation is an optimization, never a change of answer.
	ref, refErr := m.Query(context.Background(), c.query, QueryOptions{Now: now, ScalarOnly: true})
	if (err == nil) != (refErr == nil) {
		t.Fatalf("%s: set-at-a-time error %v, group-by-group error %v", where, err, refErr)
	}
	if err == nil && !strings.Contains(strings.ToUpper(c.query), "RAND") {
		if d := diffResults(res, ref); d != "" {
			t.Fatalf("%s: set-at-a-time and group-by-group results differ: %s", where, d)
		}
	}
	if c.errSub != "" {
		if err == nil {
			t.Fatalf("%s: want an error containing %q, got %d rows", where, c.errSub, len(res.Tables[0].Rows))
		}
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.errSub)) {
			t.Fatalf("%s: error %q does not contain %q", where, err, c.errSub)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if len(res.Tables) == 0 {
		t.Fatalf("%s: no result", where)
	}
	rt := res.Tables[len(res.Tables)-1]
	if len(c.expect) == 0 {
		t.Fatalf("%s: expect has no header", where)
	}
	header := splitCells(c.expect[0])
	var got []string
	for _, col := range rt.Columns {
		got = append(got, col.Name)
	}
	if !slices.EqualFunc(header, got, strings.EqualFold) {
		t.Fatalf("%s: columns %q, want %q", where, got, header)
	}
	var want [][]string
	for _, l := range c.expect[1:] {
		want = append(want, splitCells(l))
	}
	have := make([][]string, len(rt.Rows))
	for i, r := range rt.Rows {
		for _, v := range r {
			have[i] = append(have[i], cellText(v))
		}
	}
	if !c.ordered {
		sortCells(want)
		sortCells(have)
	}
	if len(want) != len(have) {
		t.Fatalf("%s: %d rows, want %d\ngot:\n%s", where, len(have), len(want), showRows(have))
	}
	for i := range want {
		if len(want[i]) != len(have[i]) {
			t.Fatalf("%s: row %d has %d cells, want %d", where, i+1, len(have[i]), len(want[i]))
		}
		for j := range want[i] {
			if !cellMatch(want[i][j], have[i][j]) {
				t.Fatalf("%s: row %d column %s = %q, want %q\ngot:\n%s", where, i+1, header[j], have[i][j], want[i][j], showRows(have))
			}
		}
	}
}

// cellText writes a value as the scripts do.
func cellText(v value.Value) string {
	switch v.Type() {
	case value.Blank:
		return ""
	case value.DateTime:
		s := value.FormatISO(v.AsFloat())
		return strings.TrimSuffix(s, "T00:00:00")
	case value.Decimal:
		return strconv.FormatFloat(v.AsFloat(), 'g', -1, 64)
	}
	return v.String()
}

func cellMatch(want, got string) bool {
	if want == got {
		return true
	}
	if want == "BLANK" && got == "" {
		return true
	}
	wf, err1 := strconv.ParseFloat(want, 64)
	gf, err2 := strconv.ParseFloat(got, 64)
	if err1 == nil && err2 == nil {
		if wf == gf || (math.IsNaN(wf) && math.IsNaN(gf)) {
			return true
		}
		return math.Abs(wf-gf) <= 1e-9*math.Max(math.Abs(wf), math.Abs(gf))
	}
	return false
}

func sortCells(rows [][]string) {
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(strings.Join(a, "|"), strings.Join(b, "|")) })
}

func showRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " | "))
		b.WriteByte('\n')
	}
	return b.String()
}

// diffResults compares two results cell by cell, rows in any order.
func diffResults(a, b *Result) string {
	if len(a.Tables) != len(b.Tables) {
		return fmt.Sprintf("%d tables vs %d", len(a.Tables), len(b.Tables))
	}
	for i := range a.Tables {
		x, y := a.Tables[i], b.Tables[i]
		if len(x.Rows) != len(y.Rows) {
			return fmt.Sprintf("table %d: %d rows vs %d", i, len(x.Rows), len(y.Rows))
		}
		rx, ry := make([][]string, len(x.Rows)), make([][]string, len(y.Rows))
		for r := range x.Rows {
			for _, v := range x.Rows[r] {
				rx[r] = append(rx[r], cellText(v))
			}
			for _, v := range y.Rows[r] {
				ry[r] = append(ry[r], cellText(v))
			}
		}
		sortCells(rx)
		sortCells(ry)
		for r := range rx {
			for c := range rx[r] {
				if !cellMatch(rx[r][c], ry[r][c]) {
					return fmt.Sprintf("table %d row %d column %d: %q vs %q", i, r, c, rx[r][c], ry[r][c])
				}
			}
		}
	}
	return ""
}
