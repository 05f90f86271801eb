// Package enginetest holds test support for the DAX engine: a small,
// deliberately naive reference evaluator for a subset of DAX, and a
// generator of random queries in that subset, so that tests in any package
// can compare the engine with it over any model.
//
// The reference reads every table of a model into plain rows and answers
// SUMMARIZECOLUMNS(group-by columns..., "v", measure) by brute force: the
// groups are the existing values of each group-by table (with the blank
// row when a many-side key finds no row) crossed between tables; a
// group's value evaluates the measure over the rows of the measure's
// table that pass every filter, a filter on another table's column being
// checked by following the relationships row by row. It knows nothing of
// dictionaries, scans or vectors.
package enginetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/value"
)

// Reference is the reference evaluator over one model.
type Reference struct {
	m    *engine.Model
	rows map[*engine.Table][][]value.Value
	// byKey finds the row of a relationship's one side by key (Key of
	// the value), a plain lookup table built once.
	byKey map[*engine.Rel]map[string][]value.Value
}

// NewReference reads every row of every table of m.
func NewReference(m *engine.Model) *Reference {
	r := &Reference{m: m, rows: map[*engine.Table][][]value.Value{}, byKey: map[*engine.Rel]map[string][]value.Value{}}
	for _, t := range m.Tables {
		rows := make([][]value.Value, t.Rows())
		for i := range rows {
			row := make([]value.Value, len(t.Columns))
			for j, c := range t.Columns {
				row[j] = c.Data.Value(i)
			}
			rows[i] = row
		}
		r.rows[t] = rows
	}
	for _, rel := range m.Rels {
		index := map[string][]value.Value{}
		for _, d := range r.rows[rel.To.Table] {
			k := d[rel.To.Index]
			if _, dup := index[Key([]value.Value{k})]; !dup && !k.IsBlank() {
				index[Key([]value.Value{k})] = d
			}
		}
		r.byKey[rel] = index
	}
	return r
}

// Filter allows the values of one column. Loose is DAX's = of a boolean
// filter, where BLANK equals 0 and "".
type Filter struct {
	Col   *engine.Column
	Vals  []value.Value
	Loose bool
}

// Expr is a measure expression of the reference subset.
type Expr interface {
	DAX() string
	Eval(r *Reference, fs []Filter) value.Value
}

// related follows active relationships from a row of table t to table
// want: the row found, nil for the blank row (a key that finds nothing),
// ok false when want is not reachable.
func (r *Reference) related(t *engine.Table, row []value.Value, want *engine.Table) (out []value.Value, ok bool) {
	if t == want {
		return row, true
	}
	for _, rel := range r.m.Rels {
		if !rel.Active || rel.From.Table != t {
			continue
		}
		key := value.BlankValue
		if row != nil {
			key = row[rel.From.Index]
		}
		var next []value.Value
		if !key.IsBlank() {
			next = r.byKey[rel][Key([]value.Value{key})]
		}
		if got, ok := r.related(rel.To.Table, next, want); ok {
			return got, true
		}
	}
	return nil, false
}

// passes reports whether a row of table t passes the filters that reach
// t (filters on tables t does not reach are ignored, as DAX does for
// single-direction relationships).
func (r *Reference) passes(t *engine.Table, row []value.Value, fs []Filter) bool {
	for _, f := range fs {
		target, ok := r.related(t, row, f.Col.Table)
		if !ok {
			continue
		}
		v := value.BlankValue
		if target != nil {
			v = target[f.Col.Index]
		}
		if !slices.ContainsFunc(f.Vals, func(x value.Value) bool {
			return equal(x, v) || f.Loose && v.IsBlank() && blankEquals(x)
		}) {
			return false
		}
	}
	return true
}

// Rows returns the rows of t passing the filters.
func (r *Reference) Rows(t *engine.Table, fs []Filter) [][]value.Value {
	var out [][]value.Value
	for _, row := range r.rows[t] {
		if r.passes(t, row, fs) {
			out = append(out, row)
		}
	}
	return out
}

func blankEquals(v value.Value) bool {
	if v.Type() == value.String {
		return v.AsString() == ""
	}
	f, _ := v.Number()
	return f == 0
}

// equal compares values as DAX's strict equality does on equal types:
// text without regard to case, numbers by value, BLANK only with BLANK.
func equal(a, b value.Value) bool {
	if a.IsBlank() || b.IsBlank() {
		return a.IsBlank() && b.IsBlank()
	}
	if a.Type() == value.String || b.Type() == value.String {
		return a.Type() == b.Type() && value.EqualText(a.AsString(), b.AsString())
	}
	if a.Type() == value.Boolean || b.Type() == value.Boolean {
		return a.Type() == b.Type() && a.AsBool() == b.AsBool()
	}
	x, _ := a.Number()
	y, _ := b.Number()
	return x == y
}

func colDAX(c *engine.Column) string { return c.String() }

func tableDAX(t *engine.Table) string { return "'" + strings.ReplaceAll(t.Name, "'", "''") + "'" }

// Sum is SUM(column).
type Sum struct{ Col *engine.Column }

func (e Sum) DAX() string { return "SUM(" + colDAX(e.Col) + ")" }
func (e Sum) Eval(r *Reference, fs []Filter) value.Value {
	var s float64
	n := 0
	for _, row := range r.Rows(e.Col.Table, fs) {
		if v := row[e.Col.Index]; !v.IsBlank() {
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

// CountRows is COUNTROWS(table); tables here have no blank row of their
// own (the generator counts fact tables only).
type CountRows struct{ T *engine.Table }

func (e CountRows) DAX() string { return "COUNTROWS(" + tableDAX(e.T) + ")" }
func (e CountRows) Eval(r *Reference, fs []Filter) value.Value {
	if n := len(r.Rows(e.T, fs)); n > 0 {
		return value.Int(int64(n))
	}
	return value.BlankValue
}

// DistinctCount is DISTINCTCOUNT(column), BLANK counted.
type DistinctCount struct{ Col *engine.Column }

func (e DistinctCount) DAX() string { return "DISTINCTCOUNT(" + colDAX(e.Col) + ")" }
func (e DistinctCount) Eval(r *Reference, fs []Filter) value.Value {
	var seen []value.Value
	for _, row := range r.Rows(e.Col.Table, fs) {
		v := row[e.Col.Index]
		if !slices.ContainsFunc(seen, func(x value.Value) bool { return equal(x, v) }) {
			seen = append(seen, v)
		}
	}
	if len(seen) == 0 {
		return value.BlankValue
	}
	return value.Int(int64(len(seen)))
}

// Max is MAX(column).
type Max struct{ Col *engine.Column }

func (e Max) DAX() string { return "MAX(" + colDAX(e.Col) + ")" }
func (e Max) Eval(r *Reference, fs []Filter) value.Value {
	best := value.BlankValue
	for _, row := range r.Rows(e.Col.Table, fs) {
		v := row[e.Col.Index]
		if !v.IsBlank() && (best.IsBlank() || value.Compare(v, best) > 0) {
			best = v
		}
	}
	return best
}

// SumX is SUMX(table, a * b) over two numeric columns of the table.
type SumX struct{ A, B *engine.Column }

func (e SumX) DAX() string {
	return "SUMX(" + tableDAX(e.A.Table) + ", " + colDAX(e.A) + " * " + colDAX(e.B) + ")"
}
func (e SumX) Eval(r *Reference, fs []Filter) value.Value {
	var s float64
	n := 0
	for _, row := range r.Rows(e.A.Table, fs) {
		x, y := row[e.A.Index], row[e.B.Index]
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

// Calc is CALCULATE(inner, col = val) (overwriting), with Keep for
// KEEPFILTERS (intersecting), or with All: CALCULATE(inner, ALL(col)).
type Calc struct {
	Inner Expr
	Col   *engine.Column
	Val   value.Value
	Keep  bool
	All   bool
}

func (e Calc) DAX() string {
	if e.All {
		return fmt.Sprintf("CALCULATE(%s, ALL(%s))", e.Inner.DAX(), colDAX(e.Col))
	}
	f := fmt.Sprintf("%s = %s", colDAX(e.Col), literal(e.Val))
	if e.Keep {
		f = "KEEPFILTERS(" + f + ")"
	}
	return fmt.Sprintf("CALCULATE(%s, %s)", e.Inner.DAX(), f)
}

func (e Calc) Eval(r *Reference, fs []Filter) value.Value {
	var out []Filter
	for _, f := range fs {
		if f.Col == e.Col && (!e.Keep || e.All) {
			continue
		}
		out = append(out, f)
	}
	if !e.All {
		out = append(out, Filter{Col: e.Col, Vals: []value.Value{e.Val}, Loose: true})
	}
	return e.Inner.Eval(r, out)
}

// Add is x + y.
type Add struct{ X, Y Expr }

func (e Add) DAX() string { return "(" + e.X.DAX() + ") + (" + e.Y.DAX() + ")" }
func (e Add) Eval(r *Reference, fs []Filter) value.Value {
	a, b := e.X.Eval(r, fs), e.Y.Eval(r, fs)
	if a.IsBlank() && b.IsBlank() {
		return value.BlankValue
	}
	x, _ := a.Number()
	y, _ := b.Number()
	return value.Float(x + y)
}

func literal(v value.Value) string {
	switch v.Type() {
	case value.String:
		return `"` + strings.ReplaceAll(v.AsString(), `"`, `""`) + `"`
	case value.DateTime:
		return `dt"` + value.FormatISO(v.AsFloat()) + `"`
	case value.Boolean:
		if v.AsBool() {
			return "TRUE"
		}
		return "FALSE"
	case value.Currency, value.Decimal:
		f, _ := v.Number()
		return fmt.Sprint(f)
	}
	return v.String()
}

// Query is SUMMARIZECOLUMNS(Group..., "v", Measure).
type Query struct {
	Group   []*engine.Column
	Measure Expr
}

// DAX returns the query's text.
func (q Query) DAX() string {
	var args []string
	for _, g := range q.Group {
		args = append(args, colDAX(g))
	}
	args = append(args, `"v"`, q.Measure.DAX())
	return "EVALUATE SUMMARIZECOLUMNS(" + strings.Join(args, ", ") + ")"
}

// Answer evaluates the query: the value of every group whose value is not
// BLANK, by the group's key (see Key).
func (r *Reference) Answer(q Query) map[string]value.Value {
	out := map[string]value.Value{}
	for _, g := range r.groups(q.Group) {
		var fs []Filter
		for i, c := range q.Group {
			fs = append(fs, Filter{Col: c, Vals: []value.Value{g[i]}})
		}
		if v := q.Measure.Eval(r, fs); !v.IsBlank() {
			out[Key(g)] = v
		}
	}
	return out
}

// groups are the SUMMARIZECOLUMNS candidates: per table, the distinct
// combinations of its group-by columns among its rows, plus its blank
// row when a key of a many-side table finds no row; crossed.
func (r *Reference) groups(cols []*engine.Column) [][]value.Value {
	out := [][]value.Value{{}}
	var tables []*engine.Table
	for _, c := range cols {
		if !slices.Contains(tables, c.Table) {
			tables = append(tables, c.Table)
		}
	}
	for _, t := range tables {
		var idx []int
		for i, c := range cols {
			if c.Table == t {
				idx = append(idx, i)
			}
		}
		rows := r.rows[t]
		if r.hasBlankRow(t) {
			rows = append(slices.Clone(rows), make([]value.Value, len(t.Columns)))
		}
		var combos [][]value.Value
		for _, row := range rows {
			var k []value.Value
			for _, i := range idx {
				k = append(k, row[cols[i].Index])
			}
			if !slices.ContainsFunc(combos, func(c []value.Value) bool { return slices.EqualFunc(c, k, equal) }) {
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

// hasBlankRow reports whether some active relationship into t has a key
// (BLANK included) that finds no row of t.
func (r *Reference) hasBlankRow(t *engine.Table) bool {
	for _, rel := range r.m.Rels {
		if !rel.Active || rel.To.Table != t {
			continue
		}
		for _, row := range r.rows[rel.From.Table] {
			key := row[rel.From.Index]
			if key.IsBlank() || r.byKey[rel][Key([]value.Value{key})] == nil {
				return true
			}
		}
	}
	return false
}

// Key identifies a group by its values: text without regard to case.
func Key(vals []value.Value) string {
	var parts []string
	for _, v := range vals {
		switch {
		case v.IsBlank():
			parts = append(parts, "blank")
		case v.Type() == value.String:
			parts = append(parts, "s:"+value.FoldText(v.AsString()))
		case v.Type() == value.Boolean:
			parts = append(parts, fmt.Sprint("b:", v.AsBool()))
		default:
			f, _ := v.Number()
			parts = append(parts, fmt.Sprint("n:", f))
		}
	}
	return strings.Join(parts, "|")
}

// RandomQuery draws a query over the model: group-by columns from the
// tables that measure tables reach, and a measure of nested CALCULATE,
// +, and aggregations of a table that is the many side of a relationship
// (a fact table). ok is false when the model has no fact table.
func RandomQuery(rng *rand.Rand, m *engine.Model) (Query, bool) {
	// Fact tables: the many side of a relationship and the one side of
	// none, so that they have no blank row of their own.
	var facts []*engine.Table
	for _, rel := range m.Rels {
		t := rel.From.Table
		if !rel.Active || slices.Contains(facts, t) || t.Rows() == 0 {
			continue
		}
		one := false
		for _, o := range m.Rels {
			one = one || o.To.Table == t
		}
		if !one {
			facts = append(facts, t)
		}
	}
	if len(facts) == 0 {
		return Query{}, false
	}
	fact := facts[rng.IntN(len(facts))]
	// Columns reachable from the fact, good for grouping and filtering:
	// not too many distinct values.
	var cols []*engine.Column
	for _, t := range m.Tables {
		if !reaches(m, fact, t) {
			continue
		}
		for _, c := range t.Columns {
			if c.Data.Dict.N > 0 && c.Data.Dict.N <= 40 && c.Type != value.Variant {
				cols = append(cols, c)
			}
		}
	}
	var nums []*engine.Column
	for _, c := range fact.Columns {
		if c.Type == value.Integer || c.Type == value.Decimal || c.Type == value.Currency {
			nums = append(nums, c)
		}
	}
	if len(cols) == 0 || len(nums) == 0 {
		return Query{}, false
	}
	var q Query
	for i := 0; i < 1+rng.IntN(2); i++ {
		c := cols[rng.IntN(len(cols))]
		if !slices.Contains(q.Group, c) {
			q.Group = append(q.Group, c)
		}
	}
	var gen func(depth int) Expr
	gen = func(depth int) Expr {
		switch k := rng.IntN(8); {
		case k == 0:
			return CountRows{fact}
		case k == 1:
			return DistinctCount{nums[rng.IntN(len(nums))]}
		case k == 2:
			return Max{nums[rng.IntN(len(nums))]}
		case k == 3:
			return SumX{nums[rng.IntN(len(nums))], nums[rng.IntN(len(nums))]}
		case k == 4 && depth > 0:
			return Add{gen(depth - 1), gen(depth - 1)}
		case k >= 5 && depth > 0:
			c := cols[rng.IntN(len(cols))]
			e := Calc{Inner: gen(depth - 1), Col: c, Keep: rng.IntN(3) == 0, All: rng.IntN(4) == 0}
			e.Val = c.Data.Dict.Value(uint32(1 + rng.IntN(c.Data.Dict.N)))
			return e
		}
		return Sum{nums[rng.IntN(len(nums))]}
	}
	q.Measure = gen(2)
	return q, true
}

func reaches(m *engine.Model, from, to *engine.Table) bool {
	if from == to {
		return true
	}
	for _, rel := range m.Rels {
		if rel.Active && rel.From.Table == from && reaches(m, rel.To.Table, to) {
			return true
		}
	}
	return false
}
