package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Limits bound the work of one query.
type Limits struct {
	// MaxRows bounds the rows of any table a query materializes.
	MaxRows int
	// MaxDepth bounds nested measure and function evaluation.
	MaxDepth int
}

// DefaultLimits are the limits of a query when none are given.
var DefaultLimits = Limits{MaxRows: 20_000_000, MaxDepth: 256}

// evaluator holds the state of one query's evaluation.
type evaluator struct {
	ctx      context.Context
	m        *Model
	limits   Limits
	measures map[string]*Measure // DEFINE MEASURE, overriding the model's
	funcs    map[string]*dax.FunctionDef
	tables   map[string]*tableVal // DEFINE TABLE
	now      time.Time
	rng      *rand.Rand
	depth    int
	// active measures, for detecting circular references.
	active map[*Measure]bool
	// dupRows caches, per table without a unique column, the rows that are
	// identical to each row (context transition filters all of them).
	dupRows map[*Table]*dupIndex
	// scalarOnly evaluates group by group, never set at a time.
	scalarOnly bool
	// aggMemo remembers aggregations evaluated over frames.
	aggMemo map[aggMemoKey][]value.Value
	// scans caches the query's storage requests (scancache.go).
	scans *scanCache
	// dateHint answers columnValues for one context (vecdates.go).
	dateHint *dateHint
}

func newEvaluator(ctx context.Context, m *Model, limits Limits) *evaluator {
	if limits.MaxRows == 0 {
		limits.MaxRows = DefaultLimits.MaxRows
	}
	if limits.MaxDepth == 0 {
		limits.MaxDepth = DefaultLimits.MaxDepth
	}
	now := time.Now()
	return &evaluator{ctx: ctx, m: m, limits: limits, measures: map[string]*Measure{}, funcs: map[string]*dax.FunctionDef{},
		tables: map[string]*tableVal{}, now: now, rng: rand.New(rand.NewPCG(uint64(now.UnixNano()), 1)),
		active: map[*Measure]bool{}, dupRows: map[*Table]*dupIndex{}}
}

func (ev *evaluator) checkRows(n int) error {
	if n > ev.limits.MaxRows {
		return fmt.Errorf("%w: a table of %d rows is more than the %d rows a query may hold", ErrLimit, n, ev.limits.MaxRows)
	}
	return nil
}

// env is the evaluation context of an expression.
type env struct {
	filter *FilterCtx
	row    *rowCtx
	vars   *varScope
	calc   *calcState
}

// rowCtx is one row context: a row of a model table or of a table value.
type rowCtx struct {
	parent *rowCtx
	// A row of a model table (row may be its blank row).
	table *Table
	row   int
	// A row of a table value.
	tv   *tableVal
	vals []value.Value
}

// varScope is one variable binding.
type varScope struct {
	parent *varScope
	name   string
	isTab  bool
	val    value.Value
	tab    *tableVal
}

// calcState records the calculation items being applied to a measure.
type calcState struct {
	measure *Measure
	// applied holds the groups whose items apply to the measure: measure
	// references inside it are not rewritten by them again.
	applied map[*CalcGroup]bool
	// entered holds the items whose expressions are being evaluated.
	// SELECTEDMEASURE applies the items its filter context selects but
	// these: the lower-precedence items still to apply, and an item of a
	// group that CALCULATE switched to another item (sideways recursion).
	entered map[*CalcItem]bool
}

// enter returns the state of evaluating item it's expression for ms.
func (cs *calcState) enter(ms *Measure, it *CalcItem, groups []*CalcItem) *calcState {
	n := &calcState{measure: ms, applied: map[*CalcGroup]bool{}, entered: map[*CalcItem]bool{it: true}}
	if cs != nil {
		for g := range cs.applied {
			n.applied[g] = true
		}
		for i := range cs.entered {
			n.entered[i] = true
		}
	}
	for _, x := range groups {
		n.applied[x.Group] = true
	}
	return n
}

// inner returns the state of evaluating the measure itself, after its
// items: measure references inside it see the groups applied.
func (cs *calcState) inner() *calcState {
	if cs == nil {
		return nil
	}
	return &calcState{applied: cs.applied, entered: cs.entered}
}

func (e *env) withFilter(f *FilterCtx) *env {
	n := *e
	n.filter = f
	return &n
}

func (e *env) withRow(r *rowCtx) *env {
	n := *e
	r.parent = e.row
	n.row = r
	return &n
}

func (e *env) withVar(name string, v value.Value) *env {
	n := *e
	n.vars = &varScope{parent: e.vars, name: name, val: v}
	return &n
}

func (e *env) withTableVar(name string, t *tableVal) *env {
	n := *e
	n.vars = &varScope{parent: e.vars, name: name, isTab: true, tab: t}
	return &n
}

func (e *env) lookupVar(name string) *varScope {
	for s := e.vars; s != nil; s = s.parent {
		if dax.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// enter guards recursion depth.
func (ev *evaluator) enter(n dax.Node) error {
	ev.depth++
	if ev.depth > ev.limits.MaxDepth {
		return &wrapped{&Error{Pos: posOf(n), Msg: fmt.Sprintf("expression nested more than %d levels deep", ev.limits.MaxDepth)}, ErrLimit}
	}
	if err := ev.ctx.Err(); err != nil {
		return err
	}
	return nil
}

func (ev *evaluator) leave() { ev.depth-- }

func posOf(n dax.Node) dax.Pos {
	if n == nil {
		return dax.Pos{}
	}
	return n.Pos()
}

// scalar evaluates an expression to a single value.
func (ev *evaluator) scalar(e dax.Expr, en *env) (value.Value, error) {
	if err := ev.enter(e); err != nil {
		return value.BlankValue, err
	}
	defer ev.leave()
	switch x := e.(type) {
	case *dax.NumberLit:
		if x.IsInt {
			return value.Int(x.Int), nil
		}
		return value.Float(x.Float), nil
	case *dax.StringLit:
		return value.Str(x.Value), nil
	case *dax.BoolLit:
		return value.Bool(x.Value), nil
	case *dax.DateLit:
		return value.Date(x.OLE), nil
	case *dax.ColumnRef:
		return ev.columnRef(x, en)
	case *dax.Ident:
		if v := en.lookupVar(x.Name); v != nil {
			if v.isTab {
				return ev.tableToScalar(x, v.tab)
			}
			return v.val, nil
		}
		if t, err := ev.table(x, en); err == nil {
			return ev.tableToScalar(x, t)
		}
		return value.BlankValue, errorf(x, "cannot find variable or table %q", x.Name)
	case *dax.TableRef, *dax.TableCtor:
		t, err := ev.table(e, en)
		if err != nil {
			return value.BlankValue, err
		}
		return ev.tableToScalar(e, t)
	case *dax.Param:
		return value.BlankValue, errorf(x, "query parameter @%s has no value", x.Name)
	case *dax.Unary:
		v, err := ev.scalar(x.X, en)
		if err != nil {
			return v, err
		}
		switch x.Op {
		case dax.OpNeg:
			return negate(x, v)
		case dax.OpNot:
			b, err := truth(x, v)
			if err != nil {
				return value.BlankValue, err
			}
			return value.Bool(!b), nil
		}
		if v.Type() == value.String {
			return toNumber(x, v)
		}
		return v, nil
	case *dax.Binary:
		return ev.binary(x, en)
	case *dax.VarExpr:
		en, err := ev.bindVars(x.Vars, en)
		if err != nil {
			return value.BlankValue, err
		}
		return ev.scalar(x.Return, en)
	case *dax.Call:
		return ev.call(x, en)
	case *dax.RowCtor:
		return value.BlankValue, errorf(x, "a row constructor can only be used on the left of IN")
	}
	return value.BlankValue, errorf(e, "cannot evaluate %T", e)
}

// bindVars evaluates VAR definitions in order, each seeing the ones before.
func (ev *evaluator) bindVars(vars []dax.VarDecl, en *env) (*env, error) {
	for _, v := range vars {
		if ev.isTableExpr(v.Value, en) {
			t, err := ev.table(v.Value, en)
			if err != nil {
				return nil, err
			}
			en = en.withTableVar(v.Name, t)
			continue
		}
		val, err := ev.scalar(v.Value, en)
		if err != nil {
			return nil, err
		}
		en = en.withVar(v.Name, val)
	}
	return en, nil
}

// tableToScalar converts a table to the value of its single cell: a table
// with no rows is BLANK; more rows or columns is an error, as in DAX.
func (ev *evaluator) tableToScalar(n dax.Node, t *tableVal) (value.Value, error) {
	if len(t.cols) != 1 {
		if t.isBase() && len(t.cols) > 1 {
			return value.BlankValue, errorf(n, "a table of multiple columns was supplied where a single value was expected")
		}
	}
	if err := t.materialize(ev); err != nil {
		return value.BlankValue, err
	}
	switch len(t.rows) {
	case 0:
		return value.BlankValue, nil
	case 1:
		if len(t.cols) != 1 {
			return value.BlankValue, errorf(n, "a table of multiple columns was supplied where a single value was expected")
		}
		return t.rows[0][0], nil
	}
	return value.BlankValue, errorf(n, "a table of multiple values was supplied where a single value was expected")
}

func (ev *evaluator) binary(x *dax.Binary, en *env) (value.Value, error) {
	if x.Op == dax.OpIn {
		return ev.in(x, en)
	}
	if x.Op == dax.OpAnd || x.Op == dax.OpOr {
		a, err := ev.scalar(x.X, en)
		if err != nil {
			return a, err
		}
		// Short-circuit as DAX does when the left side decides.
		if !a.IsBlank() {
			t, err := truth(x, a)
			if err != nil {
				return value.BlankValue, err
			}
			if x.Op == dax.OpAnd && !t {
				return value.Bool(false), nil
			}
			if x.Op == dax.OpOr && t {
				return value.Bool(true), nil
			}
		}
		b, err := ev.scalar(x.Y, en)
		if err != nil {
			return b, err
		}
		return logic(x, x.Op, a, b)
	}
	a, err := ev.scalar(x.X, en)
	if err != nil {
		return a, err
	}
	b, err := ev.scalar(x.Y, en)
	if err != nil {
		return b, err
	}
	return applyBinary(x, x.Op, a, b)
}

// applyBinary applies an operator other than IN, && and || to two values.
func applyBinary(n dax.Node, op dax.Op, a, b value.Value) (value.Value, error) {
	switch op {
	case dax.OpAdd, dax.OpSub, dax.OpMul, dax.OpDiv:
		return arith(n, op, a, b)
	case dax.OpPow:
		return power(n, a, b)
	case dax.OpConcat:
		return concat(a, b), nil
	case dax.OpAnd, dax.OpOr:
		return logic(n, op, a, b)
	}
	if op.IsComparison() {
		return compare(n, op, a, b)
	}
	return value.BlankValue, errorf(n, "unknown operator %s", op)
}

// in evaluates x IN table and (x, y) IN table: whether the table has a row
// equal to the left side (BLANK equals only BLANK).
func (ev *evaluator) in(x *dax.Binary, en *env) (value.Value, error) {
	var left []value.Value
	if rc, ok := x.X.(*dax.RowCtor); ok {
		for _, e := range rc.Values {
			v, err := ev.scalar(e, en)
			if err != nil {
				return v, err
			}
			left = append(left, v)
		}
	} else {
		v, err := ev.scalar(x.X, en)
		if err != nil {
			return v, err
		}
		left = []value.Value{v}
	}
	t, err := ev.table(x.Y, en)
	if err != nil {
		return value.BlankValue, err
	}
	if len(t.cols) != len(left) {
		return value.BlankValue, errorf(x, "IN compares %d values with a table of %d columns", len(left), len(t.cols))
	}
	if err := t.materialize(ev); err != nil {
		return value.BlankValue, err
	}
	for _, r := range t.rows {
		match := true
		for i, v := range left {
			if !inEqual(v, r[i]) {
				match = false
				break
			}
		}
		if match {
			return value.Bool(true), nil
		}
	}
	return value.Bool(false), nil
}

// inEqual is the equality of IN and CONTAINSROW: BLANK matches BLANK
// only; numbers compare by value whatever their type; text under the
// collation.
func inEqual(a, b value.Value) bool {
	if a.IsBlank() || b.IsBlank() {
		return a.IsBlank() && b.IsBlank()
	}
	c, err := cmpValues(nil, a, b, false)
	return err == nil && c == 0
}

// columnRef evaluates a [Name] or Table[Name] reference: a measure, or a
// column of a row context.
func (ev *evaluator) columnRef(x *dax.ColumnRef, en *env) (value.Value, error) {
	if x.Table == "" {
		// An added column of a table value in the row context comes first.
		for r := en.row; r != nil; r = r.parent {
			if r.tv != nil {
				if i := r.tv.nameIndex("", x.Column); i >= 0 && r.tv.cols[i].Lineage == nil {
					return r.vals[i], nil
				}
			}
		}
		if ms := ev.measure(x.Column); ms != nil {
			return ev.evalMeasure(x, ms, en)
		}
		for r := en.row; r != nil; r = r.parent {
			if r.table != nil {
				if c := r.table.Column(x.Column); c != nil {
					return rowValue(c, r.row), nil
				}
			}
			if r.tv != nil {
				if i := r.tv.nameIndex("", x.Column); i >= 0 {
					return r.vals[i], nil
				}
			}
		}
		return value.BlankValue, errorf(x, "cannot find a measure or a column of the row context named [%s]", x.Column)
	}
	t := ev.m.Table(x.Table)
	if t == nil {
		// A column of a table variable or a renamed column:
		for r := en.row; r != nil; r = r.parent {
			if r.tv != nil {
				if i := r.tv.nameIndex(x.Table, x.Column); i >= 0 {
					return r.vals[i], nil
				}
			}
		}
		return value.BlankValue, errorf(x, "cannot find table %s", dax.QuoteTable(x.Table))
	}
	c := t.Column(x.Column)
	if c == nil {
		if ms := ev.measure(x.Column); ms != nil {
			return ev.evalMeasure(x, ms, en)
		}
		return value.BlankValue, errorf(x, "cannot find column %s in table %s", dax.QuoteColumn(x.Column), dax.QuoteTable(t.Name))
	}
	v, ok := rowLookup(en.row, c)
	if !ok {
		return value.BlankValue, errorf(x, "a single value for column %s cannot be determined: there is no row context for table %s; use an aggregation such as SUM or MAX, or RELATED",
			dax.QuoteColumn(c.Name), dax.QuoteTable(t.Name))
	}
	return v, nil
}

// rowLookup finds column c in the row contexts, innermost first.
func rowLookup(r *rowCtx, c *Column) (value.Value, bool) {
	for ; r != nil; r = r.parent {
		if r.table == c.Table {
			return rowValue(c, r.row), true
		}
		if r.tv != nil {
			if i := r.tv.colIndex(c); i >= 0 {
				return r.vals[i], true
			}
		}
	}
	return value.BlankValue, false
}

// rowValue returns the value of column c at row (BLANK for the blank row).
func rowValue(c *Column, row int) value.Value {
	if row >= c.Table.Rows() {
		return value.BlankValue
	}
	return c.Data.Value(row)
}

// measure returns the measure named name: the query's definition first.
func (ev *evaluator) measure(name string) *Measure {
	if ms, ok := ev.measures[fold(name)]; ok {
		return ms
	}
	return ev.m.Measure(name)
}

// evalMeasure evaluates a measure reference: context transition, then the
// measure's expression (through the calculation items that apply) in the
// resulting filter context, with no row context.
func (ev *evaluator) evalMeasure(n dax.Node, ms *Measure, en *env) (value.Value, error) {
	f, err := ev.transition(en)
	if err != nil {
		return value.BlankValue, err
	}
	return ev.measureIn(n, ms, f, en.calc)
}

// measureIn evaluates a measure in a filter context.
func (ev *evaluator) measureIn(n dax.Node, ms *Measure, f *FilterCtx, calc *calcState) (value.Value, error) {
	items := ev.calcItems(f, func(g *CalcGroup, _ *CalcItem) bool { return calc != nil && calc.applied[g] })
	if len(items) > 0 {
		return ev.scalar(items[0].Expr, &env{filter: f, calc: calc.enter(ms, items[0], items)})
	}
	if ev.active[ms] {
		return value.BlankValue, errorf(n, "measure [%s] refers to itself", ms.Name)
	}
	ev.active[ms] = true
	defer delete(ev.active, ms)
	v, err := ev.scalar(ms.Expr, &env{filter: f, calc: calc.inner()})
	if err != nil && n != nil {
		// A position inside the measure's text means little in the query:
		// say which measure, at the reference to it.
		if e, ok := err.(*Error); ok && e.Pos.Line != 0 {
			return v, &Error{Pos: n.Pos(), Msg: fmt.Sprintf("in measure [%s], %s", ms.Name, e.Error())}
		}
		if w, ok := err.(*wrapped); ok && w.err.Pos.Line != 0 {
			return v, &wrapped{&Error{Pos: n.Pos(), Msg: fmt.Sprintf("in measure [%s], %s", ms.Name, w.err.Error())}, w.sentinel}
		}
	}
	return v, err
}

// calcItems returns the calculation items the filter context selects, one
// per calculation group whose item column is filtered to a single item,
// highest precedence first, leaving out those skip reports.
func (ev *evaluator) calcItems(f *FilterCtx, skip func(*CalcGroup, *CalcItem) bool) []*CalcItem {
	var out []*CalcItem
	for _, g := range ev.m.calcGroups {
		// The item column may be filtered by a column, tuple or table
		// filter (FILTER over the calculation group's table).
		ids := directIDs(f, g.Column)
		if ids == nil || ids.Count() != 1 {
			continue
		}
		var id int
		ids.Each(func(i int) { id = i })
		if it := g.Item(g.Column.Data.Dict.Value(uint32(id)).AsString()); it != nil && !skip(g, it) {
			out = append(out, it)
		}
	}
	return out
}

// transition turns the row contexts of en into filters (context
// transition): each row's columns replace the filters on them.
func (ev *evaluator) transition(en *env) (*FilterCtx, error) {
	f := en.filter
	if en.row == nil {
		return f, nil
	}
	var rows []*rowCtx
	for r := en.row; r != nil; r = r.parent {
		rows = append(rows, r)
	}
	// Outer rows first, so that inner rows win on shared columns.
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		if r.table != nil {
			f = f.withoutColumns(r.table.Columns)
			f = f.with(rowFilter(r.table, ev.identicalRows(r.table, r.row)))
			continue
		}
		var cols []*Column
		var fs []*filter
		for j, ci := range r.tv.cols {
			if ci.Lineage == nil {
				continue
			}
			ids := colstore.NewBitmap(ci.Lineage.Data.Dict.Len())
			if id, ok := ci.Lineage.Data.Dict.Find(r.vals[j]); ok {
				ids.Set(int(id))
			}
			cols = append(cols, ci.Lineage)
			fs = append(fs, colFilter(ci.Lineage, ids))
		}
		if len(cols) > 0 {
			f = f.withoutColumns(cols).with(fs...)
		}
	}
	return f, nil
}

// dupIndex groups the rows of a table by their values.
type dupIndex struct {
	unique bool
	group  []int32 // row -> group
	rows   [][]int32
}

// identicalRows returns the rows of t with the same values as row: the
// rows context transition keeps (one row when the table has a column whose
// values are all different).
func (ev *evaluator) identicalRows(t *Table, row int) *colstore.Bitmap {
	b := colstore.NewBitmap(t.Rows() + 1)
	if row >= t.Rows() {
		b.Set(row)
		return b
	}
	di := ev.dupRows[t]
	if di == nil {
		di = &dupIndex{}
		for _, c := range t.Columns {
			if c.Data.Dict.N == t.Rows() {
				di.unique = true
				break
			}
		}
		if !di.unique {
			di.group = make([]int32, t.Rows())
			index := map[string]int32{}
			ids := make([]uint32, len(t.Columns))
			for r := 0; r < t.Rows(); r++ {
				for i, c := range t.Columns {
					ids[i] = c.Data.ID(r)
				}
				k := tupleKey(ids)
				g, ok := index[k]
				if !ok {
					g = int32(len(di.rows))
					index[k] = g
					di.rows = append(di.rows, nil)
				}
				di.group[r] = g
				di.rows[g] = append(di.rows[g], int32(r))
			}
		}
		ev.dupRows[t] = di
	}
	if di.unique {
		b.Set(row)
		return b
	}
	for _, r := range di.rows[di.group[row]] {
		b.Set(int(r))
	}
	return b
}
