package engine

import (
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Set-at-a-time evaluation.
//
// A frame is K evaluation contexts that differ only by the values of some
// group-by columns: context k is base plus, for each column i, cols[i]
// filtered to keys[k][i]. base never filters the group-by columns (the
// group filters replace whatever was there). vec evaluates an expression
// in all K contexts at once: an aggregation is one scan grouped by the
// group-by columns it reaches; CALCULATE with filters that do not depend
// on the group changes base (and drops the group-by columns it
// overwrites) for all contexts at once; arithmetic and pure functions go
// element by element. Anything else is evaluated context by context with
// the scalar evaluator, so vec is never less general than it.

// frame is K contexts evaluated together.
type frame struct {
	base *FilterCtx
	cols []*Column
	keys [][]uint32
	// vvars are variables whose value differs per context.
	vvars *vecVar
	// svars are variables with one value for every context.
	svars *varScope
	calc  *calcState
}

type vecVar struct {
	parent *vecVar
	name   string
	vals   []value.Value
}

func (fr *frame) lookup(name string) *vecVar {
	for v := fr.vvars; v != nil; v = v.parent {
		if dax.EqualFold(v.name, name) {
			return v
		}
	}
	return nil
}

// contextAt returns the environment of context k, for scalar evaluation.
func (fr *frame) contextAt(k int) *env {
	f := fr.base
	if len(fr.cols) > 0 {
		fs := make([]*filter, len(fr.cols))
		for i, col := range fr.cols {
			b := colstore.NewBitmap(col.Data.Dict.Len())
			b.Set(int(fr.keys[k][i]))
			fs[i] = colFilter(col, b)
		}
		f = f.with(fs...)
	}
	en := &env{filter: f, vars: fr.svars, calc: fr.calc}
	var vs []*vecVar
	for v := fr.vvars; v != nil; v = v.parent {
		vs = append(vs, v)
	}
	for i := len(vs) - 1; i >= 0; i-- {
		en = en.withVar(vs[i].name, vs[i].vals[k])
	}
	return en
}

// vectorGroups evaluates an expression for every group of a
// SUMMARIZECOLUMNS-style grouping.
func (ev *evaluator) vectorGroups(e dax.Expr, en *env, cols []*Column, keys [][]uint32) ([]value.Value, bool, error) {
	if en.row != nil || ev.scalarOnly {
		return nil, false, nil
	}
	fr := &frame{base: en.filter.withoutColumns(cols), cols: cols, keys: keys, svars: en.vars, calc: en.calc}
	vals, err := ev.vec(e, fr)
	return vals, err == nil, err
}

// vectorRows evaluates, for every row of a materialized table, an
// expression that reaches the row only through context transition (a
// measure or CALCULATE): the rows' model columns become group filters.
func (ev *evaluator) vectorRows(e dax.Expr, en *env, cols []colInfo, rows [][]value.Value) ([]value.Value, bool, error) {
	if en.row != nil || ev.scalarOnly || len(rows) < 2 || !ev.transitionOnly(e) {
		return nil, false, nil
	}
	var gcols []*Column
	var idx []int
	for i, ci := range cols {
		if ci.Lineage != nil && !slices.Contains(gcols, ci.Lineage) {
			gcols = append(gcols, ci.Lineage)
			idx = append(idx, i)
		}
	}
	keys := make([][]uint32, len(rows))
	for r, row := range rows {
		k := make([]uint32, len(gcols))
		for j, col := range gcols {
			id, ok := col.Data.Dict.Find(row[idx[j]])
			if !ok {
				return nil, false, nil
			}
			k[j] = id
		}
		keys[r] = k
	}
	return ev.vectorGroups(e, en, gcols, keys)
}

// transitionOnly reports whether an expression evaluated in a row context
// uses the row only through context transition: a measure reference or a
// CALCULATE whose filter arguments do not read the row.
func (ev *evaluator) transitionOnly(e dax.Expr) bool {
	switch x := e.(type) {
	case *dax.ColumnRef:
		return ev.measureRef(x) != nil
	case *dax.Call:
		if x.Func != "CALCULATE" || len(x.Args) == 0 {
			return false
		}
		for _, a := range x.Args[1:] {
			if a != nil && !ev.contextFree(a) && !isModifier(a) {
				return false
			}
		}
		return true
	}
	return false
}

func isModifier(e dax.Expr) bool {
	c, ok := e.(*dax.Call)
	return ok && modifiers[c.Func]
}

// measureRef returns the measure a reference names, or nil for a column.
func (ev *evaluator) measureRef(x *dax.ColumnRef) *Measure {
	if x.Table != "" {
		if t := ev.m.Table(x.Table); t != nil && t.Column(x.Column) != nil {
			return nil
		}
	}
	return ev.measure(x.Column)
}

// vec evaluates e in every context of the frame.
func (ev *evaluator) vec(e dax.Expr, fr *frame) ([]value.Value, error) {
	if err := ev.enter(e); err != nil {
		return nil, err
	}
	defer ev.leave()
	n := len(fr.keys)
	switch x := e.(type) {
	case *dax.NumberLit, *dax.StringLit, *dax.BoolLit, *dax.DateLit:
		v, err := ev.scalar(e, &env{filter: fr.base})
		if err != nil {
			return nil, err
		}
		return broadcast(v, n), nil
	case *dax.Ident:
		if v := fr.lookup(x.Name); v != nil {
			return v.vals, nil
		}
		en := &env{vars: fr.svars}
		if v := en.lookupVar(x.Name); v != nil && !v.isTab {
			return broadcast(v.val, n), nil
		}
	case *dax.ColumnRef:
		if ms := ev.measureRef(x); ms != nil {
			return ev.vecMeasure(x, ms, fr)
		}
	case *dax.Unary:
		vals, err := ev.vec(x.X, fr)
		if err != nil {
			return nil, err
		}
		out := make([]value.Value, n)
		for i, v := range vals {
			switch x.Op {
			case dax.OpNeg:
				out[i], err = negate(x, v)
			case dax.OpNot:
				var b bool
				b, err = truth(x, v)
				out[i] = value.Bool(!b)
			default:
				out[i] = v
				if v.Type() == value.String {
					out[i], err = toNumber(x, v)
				}
			}
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	case *dax.Binary:
		if x.Op == dax.OpIn {
			break
		}
		a, err := ev.vec(x.X, fr)
		if err != nil {
			return nil, err
		}
		b, err := ev.vec(x.Y, fr)
		if err != nil {
			return nil, err
		}
		out := make([]value.Value, n)
		for i := range out {
			if out[i], err = applyBinary(x, x.Op, a[i], b[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *dax.VarExpr:
		inner := *fr
		for _, v := range x.Vars {
			if ev.isTableExpr(v.Value, &env{vars: fr.svars}) {
				return ev.perGroup(e, fr)
			}
			vals, err := ev.vec(v.Value, &inner)
			if err != nil {
				return nil, err
			}
			inner.vvars = &vecVar{parent: inner.vvars, name: v.Name, vals: vals}
		}
		return ev.vec(x.Return, &inner)
	case *dax.Call:
		if _, user := ev.funcs[x.Func]; user {
			break
		}
		switch x.Func {
		case "CALCULATE":
			if vals, ok, err := ev.vecCalculate(x, fr); ok || err != nil {
				return vals, err
			}
		case "TOTALYTD", "TOTALQTD", "TOTALMTD":
			if call, ok := ev.totalToDateCall(x, &env{filter: fr.base, vars: fr.svars}); ok {
				if vals, ok, err := ev.vecCalculate(call, fr); ok || err != nil {
					return vals, err
				}
			}
		default:
			if vals, ok, err := ev.vecAggregate(x, fr); ok || err != nil {
				return vals, err
			}
			if b := builtins[x.Func]; b != nil && b.pure && b.scalar != nil {
				return ev.vecPure(x, fr)
			}
		}
	}
	return ev.perGroup(e, fr)
}

func broadcast(v value.Value, n int) []value.Value {
	out := make([]value.Value, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// perGroup evaluates e context by context with the scalar evaluator. Equal
// contexts (the same keys, when no per-context variable is in play) are
// evaluated once.
func (ev *evaluator) perGroup(e dax.Expr, fr *frame) ([]value.Value, error) {
	out := make([]value.Value, len(fr.keys))
	var memo map[string]value.Value
	if fr.vvars == nil {
		memo = map[string]value.Value{}
	}
	for k := range fr.keys {
		if k%256 == 0 {
			if err := ev.ctx.Err(); err != nil {
				return nil, err
			}
		}
		var key string
		if memo != nil {
			key = tupleKey(fr.keys[k])
			if v, ok := memo[key]; ok {
				out[k] = v
				continue
			}
		}
		v, err := ev.scalar(e, fr.contextAt(k))
		if err != nil {
			return nil, err
		}
		out[k] = v
		if memo != nil {
			memo[key] = v
		}
	}
	return out, nil
}

// vecPure applies a pure function element by element: its arguments are
// evaluated as vectors, then the function runs once per context on
// variables holding that context's argument values.
func (ev *evaluator) vecPure(c *dax.Call, fr *frame) ([]value.Value, error) {
	n := len(fr.keys)
	argVals := make([][]value.Value, len(c.Args))
	call := &dax.Call{At: c.At, Func: c.Func, Args: make([]dax.Expr, len(c.Args))}
	names := make([]string, len(c.Args))
	for i, a := range c.Args {
		if a == nil {
			continue
		}
		// Keyword arguments (DAY, ASC...) and literals pass through.
		if _, ok := a.(*dax.Ident); ok && fr.lookup(a.(*dax.Ident).Name) == nil && (&env{vars: fr.svars}).lookupVar(a.(*dax.Ident).Name) == nil {
			call.Args[i] = a
			continue
		}
		if ev.isTableExpr(a, &env{vars: fr.svars}) || ev.isColumnRef(a) {
			return ev.perGroup(c, fr)
		}
		vals, err := ev.vec(a, fr)
		if err != nil {
			return nil, err
		}
		argVals[i] = vals
		names[i] = "\x00arg" + string(rune('0'+i))
		call.Args[i] = &dax.Ident{At: a.Pos(), Name: names[i]}
	}
	out := make([]value.Value, n)
	base := &env{filter: fr.base, vars: fr.svars, calc: fr.calc}
	for k := 0; k < n; k++ {
		en := base
		for i := range c.Args {
			if argVals[i] != nil {
				en = en.withVar(names[i], argVals[i][k])
			}
		}
		v, err := ev.scalar(call, en)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// vecMeasure evaluates a measure in every context. Calculation groups in
// play send it to the scalar evaluator, which applies their items.
func (ev *evaluator) vecMeasure(n dax.Node, ms *Measure, fr *frame) ([]value.Value, error) {
	for _, g := range ev.m.calcGroups {
		if fr.calc != nil && fr.calc.applied[g] {
			continue
		}
		if slices.Contains(fr.cols, g.Column) || directIDs(fr.base, g.Column) != nil {
			return ev.perGroup(n.(dax.Expr), fr)
		}
	}
	if ev.active[ms] {
		return nil, errorf(n, "measure [%s] refers to itself", ms.Name)
	}
	ev.active[ms] = true
	defer delete(ev.active, ms)
	inner := &frame{base: fr.base, cols: fr.cols, keys: fr.keys, calc: fr.calc.inner()}
	return ev.vec(ms.Expr, inner)
}

// contextFree reports whether an expression's value is the same in every
// filter context: literals, scalar variables, pure functions of those,
// and tables built without reading the filter context (ALL, constructors,
// FILTER of such tables by conditions on their rows, TREATAS of them).
func (ev *evaluator) contextFree(e dax.Expr) bool {
	switch x := e.(type) {
	case *dax.NumberLit, *dax.StringLit, *dax.BoolLit, *dax.DateLit:
		return true
	case *dax.Unary:
		return ev.contextFree(x.X)
	case *dax.Binary:
		if x.Op == dax.OpIn {
			return ev.rowOnlyFree(x.X) && ev.contextFree(x.Y)
		}
		return ev.rowOnlyFree(x.X) && ev.rowOnlyFree(x.Y)
	case *dax.TableCtor:
		for _, r := range x.Rows {
			for _, v := range r {
				if !ev.contextFree(v) {
					return false
				}
			}
		}
		return true
	case *dax.Call:
		switch x.Func {
		case "ALL", "ALLNOBLANKROW", "REMOVEFILTERS", "USERELATIONSHIP", "CROSSFILTER":
			return true
		case "KEEPFILTERS":
			return len(x.Args) == 1 && ev.contextFree(x.Args[0])
		case "FILTER":
			return len(x.Args) == 2 && ev.contextFree(x.Args[0]) && ev.rowOnlyFree(x.Args[1])
		case "TREATAS":
			return len(x.Args) >= 1 && ev.contextFree(x.Args[0])
		case "DATATABLE":
			return true
		}
		b := builtins[x.Func]
		if b == nil || !b.pure {
			return false
		}
		for _, a := range x.Args {
			if a != nil && !ev.rowOnlyFree(a) {
				return false
			}
		}
		return true
	}
	return false
}

// rowOnlyFree reports whether a scalar expression depends only on
// constants and the row values of columns (no filter context).
func (ev *evaluator) rowOnlyFree(e dax.Expr) bool {
	if e == nil {
		return true
	}
	switch x := e.(type) {
	case *dax.ColumnRef:
		return ev.measureRef(x) == nil
	case *dax.Ident:
		return false
	case *dax.Call:
		b := builtins[x.Func]
		if b == nil || !b.pure {
			return false
		}
		for _, a := range x.Args {
			if !ev.rowOnlyFree(a) {
				return false
			}
		}
		return true
	case *dax.Unary:
		return ev.rowOnlyFree(x.X)
	case *dax.Binary:
		if x.Op == dax.OpIn {
			return ev.rowOnlyFree(x.X) && ev.contextFree(x.Y)
		}
		return ev.rowOnlyFree(x.X) && ev.rowOnlyFree(x.Y)
	case *dax.RowCtor:
		for _, v := range x.Values {
			if !ev.rowOnlyFree(v) {
				return false
			}
		}
		return true
	}
	return ev.contextFree(e)
}

// vecCalculate evaluates CALCULATE in every context when its filter
// arguments do not depend on the context: they are evaluated once and
// change the frame's base; group-by columns they overwrite stop
// distinguishing the contexts.
func (ev *evaluator) vecCalculate(c *dax.Call, fr *frame) ([]value.Value, bool, error) {
	for _, a := range c.Args[1:] {
		if a != nil && !isModifier(a) && !ev.contextFree(a) {
			return ev.dateSetCalc(c, fr)
		}
	}
	en := &env{filter: fr.base, vars: fr.svars, calc: fr.calc}
	base := fr.base
	drop := make([]bool, len(fr.cols))
	var filters []calcFilter
	for _, a := range c.Args[1:] {
		if a == nil {
			continue
		}
		if m, ok := a.(*dax.Call); ok && modifiers[m.Func] {
			continue
		}
		keep := false
		if k, ok := a.(*dax.Call); ok && k.Func == "KEEPFILTERS" {
			a, keep = k.Args[0], true
		}
		cf, err := ev.filterArg(a, en)
		if err != nil {
			return nil, true, err
		}
		cf.keep = keep
		filters = append(filters, cf)
	}
	for _, a := range c.Args[1:] {
		m, ok := a.(*dax.Call)
		if !ok || !modifiers[m.Func] {
			continue
		}
		var err error
		if base, err = ev.applyModifier(m, base, en); err != nil {
			return nil, true, err
		}
		cleared, err := ev.modifierClears(m, fr.base, en)
		if err != nil {
			return nil, true, err
		}
		for i, col := range fr.cols {
			if cleared(col) {
				drop[i] = true
			}
		}
	}
	for _, cf := range filters {
		if !cf.keep {
			for i, col := range fr.cols {
				if slices.Contains(ev.overwritten(cf.cols), col) {
					drop[i] = true
				}
			}
		}
	}
	base = ev.applyFilters(base, filters)

	inner := &frame{base: base, vvars: fr.vvars, svars: fr.svars, calc: fr.calc}
	var idx []int
	for i, col := range fr.cols {
		if !drop[i] {
			inner.cols = append(inner.cols, col)
			idx = append(idx, i)
		}
	}
	inner.keys = make([][]uint32, len(fr.keys))
	for k, key := range fr.keys {
		sub := make([]uint32, len(idx))
		for j, i := range idx {
			sub[j] = key[i]
		}
		inner.keys[k] = sub
	}
	vals, err := ev.vec(c.Args[0], inner)
	return vals, true, err
}

// modifierClears returns which columns' filters a CALCULATE modifier
// removes.
func (ev *evaluator) modifierClears(m *dax.Call, f *FilterCtx, en *env) (func(*Column) bool, error) {
	switch m.Func {
	case "USERELATIONSHIP", "CROSSFILTER":
		return func(*Column) bool { return false }, nil
	}
	if len(m.Args) == 0 {
		return func(*Column) bool { return true }, nil
	}
	if m.Func == "ALLEXCEPT" {
		t, err := ev.tableArg(m, 0)
		if err != nil {
			return nil, err
		}
		var keep []*Column
		for i := 1; i < len(m.Args); i++ {
			col, err := ev.colArg(m, i, en)
			if err != nil {
				return nil, err
			}
			keep = append(keep, col)
		}
		return func(c *Column) bool { return f.reaches(t, c.Table) && !slices.Contains(keep, c) }, nil
	}
	if t, err := ev.tableArg(m, 0); err == nil && len(m.Args) == 1 {
		return func(c *Column) bool { return f.reaches(t, c.Table) }, nil
	}
	var cols []*Column
	for i := range m.Args {
		col, err := ev.colArg(m, i, en)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	return func(c *Column) bool { return slices.Contains(cols, c) }, nil
}

// vecAggregate evaluates an aggregation over a model table in every
// context with one scan grouped by the group-by columns the table reaches.
func (ev *evaluator) vecAggregate(c *dax.Call, fr *frame) ([]value.Value, bool, error) {
	// The same aggregation over the same contexts (a measure used twice in
	// one expression) is computed once.
	key := aggMemoKey{call: c, base: fr.base, n: len(fr.keys), cols: len(fr.cols)}
	if len(fr.keys) > 0 {
		key.keys = &fr.keys[0]
	}
	if fr.svars == nil {
		if vals, ok := ev.aggMemo[key]; ok {
			return vals, true, nil
		}
	}
	vals, ok, err := ev.vecAggregateOnce(c, fr)
	if ok && err == nil && fr.svars == nil {
		if ev.aggMemo == nil {
			ev.aggMemo = map[aggMemoKey][]value.Value{}
		}
		ev.aggMemo[key] = vals
	}
	return vals, ok, err
}

// aggMemoKey identifies an aggregation evaluated over a frame: contexts
// are immutable, so the same call over the same base and keys gives the
// same values.
type aggMemoKey struct {
	call *dax.Call
	base *FilterCtx
	keys *[]uint32
	n    int
	cols int
}

func (ev *evaluator) vecAggregateOnce(c *dax.Call, fr *frame) ([]value.Value, bool, error) {
	en := &env{filter: fr.base, vars: fr.svars, calc: fr.calc}
	p, ok := ev.planAggregate(c, en)
	if !ok {
		return nil, false, nil
	}
	if ev.bidiReaches(fr.base, p.table) {
		return nil, false, nil
	}
	var group []colstore.GroupKey
	var idx []int
	for i, col := range fr.cols {
		if !fr.base.reaches(p.table, col.Table) {
			continue
		}
		k, err := ev.groupKey(fr.base, p.table, col)
		if err != nil {
			return nil, true, err
		}
		group = append(group, k)
		idx = append(idx, i)
	}
	res, blankRow, err := ev.scanTable(fr.base, p.table, p.extra, group, p.aggs)
	if err != nil {
		return nil, true, err
	}
	// The blank row of the table (BLANK in every column) belongs to the
	// groups whose keys are all BLANK.
	where := make(map[string]int, res.Groups)
	sub := make([]uint32, len(idx))
	for g := 0; g < res.Groups; g++ {
		for j := range idx {
			sub[j] = res.Keys[j][g]
		}
		where[tupleKey(sub)] = g
	}
	out := make([]value.Value, len(fr.keys))
	for k, key := range fr.keys {
		blankKeys := true
		for j, i := range idx {
			sub[j] = key[i]
			blankKeys = blankKeys && key[i] == 0
		}
		g, found := where[tupleKey(sub)]
		if !found {
			g = -1
		}
		v, err := p.result(ev, res, g, blankRow && blankKeys, en)
		if err != nil {
			return nil, true, err
		}
		out[k] = v
	}
	return out, true, nil
}

// bidiReaches reports whether a bidirectional relationship could carry
// filters into table t or a table it reaches; grouped scans do not model
// that, so such aggregations are evaluated per context.
func (ev *evaluator) bidiReaches(f *FilterCtx, t *Table) bool {
	for _, r := range ev.m.Rels {
		if active, cross := f.relState(r); active && cross == BothWays && f.reaches(t, r.To.Table) {
			return true
		}
	}
	return false
}
