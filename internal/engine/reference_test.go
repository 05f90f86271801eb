package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// The reference evaluator: a deliberately naive, row-by-row implementation
// of a small subset of DAX over plain Go rows, written straight from the
// semantics (filters are predicates on column values, relationships are
// lookups by key, a fact row whose key finds nothing belongs to the blank
// row). The differential test runs random queries over random models
// through it and through the engine and compares the answers.

type refTable struct {
	name string
	cols []string
	typs []value.Type
	rows [][]value.Value
}

func (t *refTable) col(name string) int { return slices.Index(t.cols, name) }

// refModel is a fact table F with keys to dimensions A and B.
type refModel struct {
	f, a, b *refTable
}

// refCol names a column: table and column.
type refCol struct{ table, col string }

func (c refCol) dax() string { return "'" + c.table + "'[" + c.col + "]" }

// refFilter allows a set of values of one column (compared as DAX's =
// does on equal types: text without regard to case).
type refFilter struct {
	col  refCol
	vals []value.Value
	// loose is DAX's = of a boolean filter: BLANK equals 0 and "".
	loose bool
}

// refExpr is a measure expression of the subset.
type refExpr interface {
	dax() string
	eval(m *refModel, fs []refFilter) value.Value
}

// factRows returns the rows of F that pass the filters, a filter on a
// dimension column applying through the relationship.
func (m *refModel) factRows(fs []refFilter) [][]value.Value {
	var out [][]value.Value
	for _, r := range m.f.rows {
		ok := true
		for _, f := range fs {
			v := m.valueFor(r, f.col)
			if !slices.ContainsFunc(f.vals, func(x value.Value) bool { return refEqual(x, v) || f.loose && v.IsBlank() && blankEquals(x) }) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// valueFor returns a fact row's value of a column of F, A or B.
func (m *refModel) valueFor(r []value.Value, c refCol) value.Value {
	switch c.table {
	case "F":
		return r[m.f.col(c.col)]
	case "A", "B":
		dim := m.a
		key := r[m.f.col("AKey")]
		if c.table == "B" {
			dim, key = m.b, r[m.f.col("BKey")]
		}
		for _, d := range dim.rows {
			if !key.IsBlank() && refEqual(d[0], key) {
				return d[dim.col(c.col)]
			}
		}
		return value.BlankValue // the blank row
	}
	panic("unknown table " + c.table)
}

// blankEquals reports whether BLANK = v is true in DAX.
func blankEquals(v value.Value) bool {
	if v.Type() == value.String {
		return v.AsString() == ""
	}
	f, _ := v.Number()
	return f == 0
}

func refEqual(a, b value.Value) bool {
	if a.IsBlank() || b.IsBlank() {
		return a.IsBlank() && b.IsBlank()
	}
	if a.Type() == value.String || b.Type() == value.String {
		return a.Type() == b.Type() && value.EqualText(a.AsString(), b.AsString())
	}
	x, _ := a.Number()
	y, _ := b.Number()
	return x == y
}

type refSum struct{ col string }

func (e refSum) dax() string { return "SUM('F'[" + e.col + "])" }
func (e refSum) eval(m *refModel, fs []refFilter) value.Value {
	var s float64
	n := 0
	for _, r := range m.factRows(fs) {
		if v := r[m.f.col(e.col)]; !v.IsBlank() {
			f, _ := v.Number()
			s += f
			n++
		}
	}
	if n == 0 {
		return value.BlankValue
	}
	return value.Float(s)
}

type refCount struct{}

func (refCount) dax() string { return "COUNTROWS('F')" }
func (refCount) eval(m *refModel, fs []refFilter) value.Value {
	n := len(m.factRows(fs))
	if n == 0 {
		return value.BlankValue
	}
	return value.Int(int64(n))
}

type refDistinct struct{ col refCol }

func (e refDistinct) dax() string { return "DISTINCTCOUNT('F'[" + e.col.col + "])" }
func (e refDistinct) eval(m *refModel, fs []refFilter) value.Value {
	var seen []value.Value
	for _, r := range m.factRows(fs) {
		v := r[m.f.col(e.col.col)]
		if !slices.ContainsFunc(seen, func(x value.Value) bool { return refEqual(x, v) }) {
			seen = append(seen, v)
		}
	}
	if len(seen) == 0 {
		return value.BlankValue
	}
	return value.Int(int64(len(seen)))
}

type refMax struct{ col string }

func (e refMax) dax() string { return "MAX('F'[" + e.col + "])" }
func (e refMax) eval(m *refModel, fs []refFilter) value.Value {
	best := value.BlankValue
	for _, r := range m.factRows(fs) {
		v := r[m.f.col(e.col)]
		if !v.IsBlank() && (best.IsBlank() || value.Compare(v, best) > 0) {
			best = v
		}
	}
	return best
}

type refSumX struct{ a, b string }

func (e refSumX) dax() string { return "SUMX('F', 'F'[" + e.a + "] * 'F'[" + e.b + "])" }
func (e refSumX) eval(m *refModel, fs []refFilter) value.Value {
	var s float64
	n := 0
	for _, r := range m.factRows(fs) {
		x, y := r[m.f.col(e.a)], r[m.f.col(e.b)]
		if x.IsBlank() || y.IsBlank() {
			continue // BLANK times anything is BLANK, which SUMX skips
		}
		fx, _ := x.Number()
		fy, _ := y.Number()
		s += fx * fy
		n++
	}
	if n == 0 {
		return value.BlankValue
	}
	return value.Float(s)
}

// refCalc is CALCULATE(expr, col = const) (overwrite), with keep for
// KEEPFILTERS (intersect), or with all set: CALCULATE(expr, ALL(col)).
type refCalc struct {
	inner refExpr
	col   refCol
	val   value.Value
	keep  bool
	all   bool
}

func (e refCalc) dax() string {
	if e.all {
		return fmt.Sprintf("CALCULATE(%s, ALL(%s))", e.inner.dax(), e.col.dax())
	}
	f := fmt.Sprintf("%s = %s", e.col.dax(), daxLiteral(e.val))
	if e.keep {
		f = "KEEPFILTERS(" + f + ")"
	}
	return fmt.Sprintf("CALCULATE(%s, %s)", e.inner.dax(), f)
}

func (e refCalc) eval(m *refModel, fs []refFilter) value.Value {
	var out []refFilter
	for _, f := range fs {
		if f.col == e.col && (!e.keep || e.all) {
			continue
		}
		out = append(out, f)
	}
	if !e.all {
		out = append(out, refFilter{col: e.col, vals: []value.Value{e.val}, loose: true})
	}
	return e.inner.eval(m, out)
}

type refAdd struct{ x, y refExpr }

func (e refAdd) dax() string { return "(" + e.x.dax() + ") + (" + e.y.dax() + ")" }
func (e refAdd) eval(m *refModel, fs []refFilter) value.Value {
	a, b := e.x.eval(m, fs), e.y.eval(m, fs)
	if a.IsBlank() && b.IsBlank() {
		return value.BlankValue
	}
	x, _ := a.Number()
	y, _ := b.Number()
	return value.Float(x + y)
}

func daxLiteral(v value.Value) string {
	if v.Type() == value.String {
		return `"` + strings.ReplaceAll(v.AsString(), `"`, `""`) + `"`
	}
	return v.String()
}

// randomRefModel builds random tables: dimension keys with gaps, text
// attributes that differ only by case, numbers with BLANKs, and fact keys
// that find no dimension row.
func randomRefModel(rng *rand.Rand) *refModel {
	words := []string{"red", "Red", "blue", "green", "GREEN", "x"}
	dim := func(name string, n int) *refTable {
		t := &refTable{name: name, cols: []string{name + "Key", "Cat", "Num"}, typs: []value.Type{value.Integer, value.String, value.Integer}}
		for i := 0; i < n; i++ {
			cat := value.Str(words[rng.IntN(len(words))])
			if rng.IntN(8) == 0 {
				cat = value.BlankValue
			}
			t.rows = append(t.rows, []value.Value{value.Int(int64(i*2 + 1)), cat, value.Int(int64(rng.IntN(4)))})
		}
		return t
	}
	m := &refModel{a: dim("A", 1+rng.IntN(8)), b: dim("B", 1+rng.IntN(6))}
	m.f = &refTable{name: "F", cols: []string{"AKey", "BKey", "Qty", "Amt", "Code"},
		typs: []value.Type{value.Integer, value.Integer, value.Integer, value.Decimal, value.Integer}}
	for i := 0; i < 1+rng.IntN(60); i++ {
		r := []value.Value{
			value.Int(int64(rng.IntN(2*len(m.a.rows) + 2))), // even keys and high keys find no row
			value.Int(int64(rng.IntN(2*len(m.b.rows) + 2))),
			value.Int(int64(rng.IntN(10))),
			value.Float(float64(rng.IntN(1000)) / 4),
			value.Int(int64(rng.IntN(5))),
		}
		for c := range r {
			if rng.IntN(10) == 0 {
				r[c] = value.BlankValue
			}
		}
		m.f.rows = append(m.f.rows, r)
	}
	return m
}

// engineModel loads a reference model into the engine.
func (m *refModel) engineModel(t *testing.T) *Model {
	def := &model.Database{Name: "ref", CompatibilityLevel: 1600}
	data := &colstore.Database{}
	for _, rt := range []*refTable{m.a, m.b, m.f} {
		mt := &model.Table{Name: rt.name}
		specs := make([]colstore.ColumnSpec, len(rt.cols))
		for i, c := range rt.cols {
			mt.Columns = append(mt.Columns, &model.Column{Name: c, DataType: rt.typs[i], TMSLDataType: rt.typs[i].TMSLName(), SourceColumn: c})
			specs[i] = colstore.ColumnSpec{Name: c, Type: rt.typs[i]}
		}
		def.Model.Tables = append(def.Model.Tables, mt)
		b := colstore.NewBuilder(specs, colstore.BuilderOptions{})
		for _, r := range rt.rows {
			if err := b.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		ch, _ := b.Finish()
		tab, err := colstore.BuildTable(context.Background(), rt.name, specs, []colstore.PartitionData{{Name: rt.name, Chunk: ch}})
		if err != nil {
			t.Fatal(err)
		}
		data.Tables = append(data.Tables, tab)
	}
	def.Model.Relationships = []*model.Relationship{
		{Name: "FA", FromTable: "F", FromColumn: "AKey", ToTable: "A", ToColumn: "AKey", IsActive: true},
		{Name: "FB", FromTable: "F", FromColumn: "BKey", ToTable: "B", ToColumn: "BKey", IsActive: true},
	}
	em, err := NewModel(def, data)
	if err != nil {
		t.Fatal(err)
	}
	return em
}

func randomRefExpr(rng *rand.Rand, m *refModel, depth int) refExpr {
	cols := []refCol{{"A", "Cat"}, {"A", "Num"}, {"B", "Cat"}, {"F", "Code"}}
	switch k := rng.IntN(9); {
	case k == 0:
		return refCount{}
	case k == 1:
		return refDistinct{refCol{"F", "Code"}}
	case k == 2:
		return refMax{"Amt"}
	case k == 3:
		return refSumX{"Qty", "Amt"}
	case k == 4 && depth > 0:
		return refAdd{randomRefExpr(rng, m, depth-1), randomRefExpr(rng, m, depth-1)}
	case k >= 5 && depth > 0:
		c := cols[rng.IntN(len(cols))]
		e := refCalc{inner: randomRefExpr(rng, m, depth-1), col: c, keep: rng.IntN(3) == 0, all: rng.IntN(4) == 0}
		// A value the column holds (or one it does not).
		var pool []value.Value
		for _, r := range m.f.rows {
			pool = append(pool, m.valueFor(r, c))
		}
		e.val = value.Int(99)
		if c.col == "Cat" {
			e.val = value.Str("nothing")
		}
		if len(pool) > 0 && rng.IntN(5) > 0 {
			if v := pool[rng.IntN(len(pool))]; !v.IsBlank() {
				e.val = v
			}
		}
		return e
	}
	return refSum{[]string{"Qty", "Amt"}[rng.IntN(2)]}
}

// refGroups returns the SUMMARIZECOLUMNS groups: per table the distinct
// values of its group-by columns among its rows (a dimension adds its
// blank row when some fact key finds no row), crossed.
func (m *refModel) refGroups(cols []refCol) [][]value.Value {
	out := [][]value.Value{{}}
	byTable := map[string][]int{}
	var order []string
	for i, c := range cols {
		if _, ok := byTable[c.table]; !ok {
			order = append(order, c.table)
		}
		byTable[c.table] = append(byTable[c.table], i)
	}
	for _, tn := range order {
		idx := byTable[tn]
		t := map[string]*refTable{"A": m.a, "B": m.b, "F": m.f}[tn]
		rows := t.rows
		if tn != "F" && m.hasBlankRow(tn) {
			rows = append(slices.Clone(rows), make([]value.Value, len(t.cols)))
		}
		var combos [][]value.Value
		for _, r := range rows {
			var k []value.Value
			for _, i := range idx {
				k = append(k, r[t.col(cols[i].col)])
			}
			dup := slices.ContainsFunc(combos, func(c []value.Value) bool {
				return slices.EqualFunc(c, k, refEqual)
			})
			if !dup {
				combos = append(combos, k)
			}
		}
		var next [][]value.Value
		for _, o := range out {
			for _, c := range combos {
				n := make([]value.Value, len(cols))
				copy(n, o)
				for j, i := range idx {
					n[i] = c[j]
				}
				next = append(next, n)
			}
		}
		out = next
	}
	return out
}

func (m *refModel) hasBlankRow(dim string) bool {
	for _, r := range m.f.rows {
		if m.valueFor(r, refCol{dim, dim + "Key"}).IsBlank() {
			return true
		}
	}
	return false
}

// TestDifferentialAgainstReference runs random SUMMARIZECOLUMNS queries
// over random models through the engine (set at a time and group by
// group) and through the reference evaluator.
func TestDifferentialAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 17))
	iters := 300
	if testing.Short() {
		iters = 40
	}
	all := []refCol{{"A", "Cat"}, {"A", "Num"}, {"B", "Cat"}, {"F", "Code"}}
	for it := 0; it < iters; it++ {
		m := randomRefModel(rng)
		em := m.engineModel(t)
		var group []refCol
		for _, c := range all {
			if rng.IntN(3) == 0 {
				group = append(group, c)
			}
		}
		e := randomRefExpr(rng, m, 2)
		var args []string
		for _, g := range group {
			args = append(args, g.dax())
		}
		args = append(args, `"v"`, e.dax())
		q := "EVALUATE SUMMARIZECOLUMNS(" + strings.Join(args, ", ") + ")"
		// Expected: every group's value, all-BLANK groups removed.
		want := map[string]value.Value{}
		for _, g := range m.refGroups(group) {
			var fs []refFilter
			for i, c := range group {
				fs = append(fs, refFilter{col: c, vals: []value.Value{g[i]}})
			}
			v := e.eval(m, fs)
			if v.IsBlank() {
				continue
			}
			want[refKey(g)] = v
		}
		for _, scalarOnly := range []bool{false, true} {
			res, err := em.Query(context.Background(), q, QueryOptions{scalarOnly: scalarOnly})
			if err != nil {
				t.Fatalf("iter %d: %s\n%v", it, q, err)
			}
			got := map[string]value.Value{}
			for _, r := range res.Tables[0].Rows {
				got[refKey(r[:len(group)])] = r[len(group)]
			}
			if len(got) != len(want) {
				t.Fatalf("iter %d (scalarOnly=%v): %s\n%d groups, reference has %d\ngot %v\nwant %v", it, scalarOnly, q, len(got), len(want), got, want)
			}
			for k, w := range want {
				g, ok := got[k]
				if !ok {
					t.Fatalf("iter %d (scalarOnly=%v): %s\nmissing group %s (want %v)", it, scalarOnly, q, k, w)
				}
				x, _ := w.Number()
				y, _ := g.Number()
				if math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
					t.Fatalf("iter %d (scalarOnly=%v): %s\ngroup %s = %v, reference %v", it, scalarOnly, q, k, g, w)
				}
			}
		}
	}
}

func refKey(vals []value.Value) string {
	var parts []string
	for _, v := range vals {
		if v.Type() == value.String {
			parts = append(parts, "s:"+value.FoldText(v.AsString()))
			continue
		}
		f, _ := v.Number()
		parts = append(parts, fmt.Sprintf("%v:%v", v.IsBlank(), f))
	}
	return strings.Join(parts, "|")
}
