package engine

import (
	"cmp"
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

func init() {
	register("CALCULATE", &builtin{min: 1, max: -1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		inner, err := ev.calculateEnv(en, c.Args[1:])
		if err != nil {
			return value.BlankValue, err
		}
		return ev.scalar(c.Args[0], inner)
	}})
	register("CALCULATETABLE", &builtin{min: 1, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		inner, err := ev.calculateEnv(en, c.Args[1:])
		if err != nil {
			return nil, err
		}
		return ev.table(c.Args[0], inner)
	}})
	register("RELATEDTABLE", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		f, err := ev.transition(en)
		if err != nil {
			return nil, err
		}
		return ev.table(c.Args[0], &env{filter: f, vars: en.vars, calc: en.calc})
	}})
	register("KEEPFILTERS", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return ev.table(c.Args[0], en)
	}, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return ev.scalar(c.Args[0], en)
	}})
	register("FILTER", &builtin{min: 2, max: 2, table: filterTable})
	register("VALUES", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return ev.valuesOf(c, c.Args[0], en, true)
	}})
	register("DISTINCT", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return ev.valuesOf(c, c.Args[0], en, false)
	}})
	register("ALL", &builtin{min: 0, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return ev.allTable(c, en, true)
	}})
	register("ALLNOBLANKROW", &builtin{min: 1, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return ev.allTable(c, en, false)
	}})
	register("REMOVEFILTERS", &builtin{min: 0, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return nil, errorf(c, "REMOVEFILTERS can only be used as a filter argument of CALCULATE or CALCULATETABLE")
	}})
	register("USERELATIONSHIP", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return nil, errorf(c, "USERELATIONSHIP can only be used as a filter argument of CALCULATE or CALCULATETABLE")
	}})
	register("CROSSFILTER", &builtin{min: 3, max: 3, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return nil, errorf(c, "CROSSFILTER can only be used as a filter argument of CALCULATE or CALCULATETABLE")
	}})
	register("ALLEXCEPT", &builtin{min: 2, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		t, err := ev.tableArg(c, 0)
		if err != nil {
			return nil, err
		}
		f, err := ev.applyModifier(c, en.filter, en)
		if err != nil {
			return nil, err
		}
		return baseTable(t, f), nil
	}})
	register("ALLSELECTED", &builtin{min: 0, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		f, err := ev.allSelected(c, en.filter, en)
		if err != nil {
			return nil, err
		}
		if len(c.Args) == 0 {
			return nil, errorf(c, "ALLSELECTED without arguments can only be used as a filter argument of CALCULATE")
		}
		if t, err := ev.tableArg(c, 0); err == nil && len(c.Args) == 1 {
			return baseTable(t, f), nil
		}
		return ev.distinctColumns(c, c.Args, &env{filter: f, vars: en.vars, calc: en.calc}, true)
	}})
	register("RELATED", &builtin{min: 1, max: 1, scalar: related})
	register("TREATAS", &builtin{min: 2, max: -1, table: treatAs})
	register("LOOKUPVALUE", &builtin{min: 3, max: -1, scalar: lookupValue})
	register("SELECTEDVALUE", &builtin{min: 1, max: 2, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		vals, err := ev.valuesOf(c, c.Args[0], en, true)
		if err != nil {
			return value.BlankValue, err
		}
		if len(vals.rows) == 1 {
			return vals.rows[0][0], nil
		}
		return ev.arg(c, 1, en)
	}})
	register("HASONEVALUE", &builtin{min: 1, max: 1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		vals, err := ev.valuesOf(c, c.Args[0], en, true)
		if err != nil {
			return value.BlankValue, err
		}
		return value.Bool(len(vals.rows) == 1), nil
	}})
	register("HASONEFILTER", &builtin{min: 1, max: 1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		col, err := ev.colArg(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		ids := directIDs(en.filter, col)
		return value.Bool(ids != nil && ids.Count() == 1), nil
	}})
	register("ISFILTERED", &builtin{min: 1, max: 1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		cols, err := ev.columnsOrTable(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		for _, col := range cols {
			for _, f := range en.filter.filters {
				if f.hasColumn(col) {
					return value.Bool(true), nil
				}
			}
		}
		return value.Bool(false), nil
	}})
	register("ISCROSSFILTERED", &builtin{min: 1, max: 1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		cols, err := ev.columnsOrTable(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		t := cols[0].Table
		for _, f := range en.filter.filters {
			if en.filter.affects(f, t) {
				return value.Bool(true), nil
			}
		}
		for _, r := range ev.m.Rels {
			if active, cross := en.filter.relState(r); active && cross == BothWays && r.To.Table == t && en.filter.filtersReachOnlyThrough(r.From.Table, t) {
				return value.Bool(true), nil
			}
		}
		return value.Bool(false), nil
	}})
	register("ISINSCOPE", &builtin{min: 1, max: 1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		col, err := ev.colArg(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		return value.Bool(slices.Contains(en.filter.scope, col)), nil
	}})
	register("CONTAINS", &builtin{min: 3, max: -1, scalar: contains})
	register("CONTAINSROW", &builtin{min: 2, max: -1, scalar: containsRow})
	register("EARLIER", &builtin{min: 1, max: 2, scalar: earlier})
	register("EARLIEST", &builtin{min: 1, max: 1, scalar: earlier})
}

// columnsOrTable resolves argument i as a column (one column) or a table
// (all its columns).
func (ev *evaluator) columnsOrTable(c *dax.Call, i int, en *env) ([]*Column, error) {
	if t, err := ev.tableArg(c, i); err == nil {
		return t.Columns, nil
	}
	col, err := ev.colArg(c, i, en)
	if err != nil {
		return nil, err
	}
	return []*Column{col}, nil
}

// directIDs returns the ids a column's own filters allow (projections of
// tuple and table filters included), or nil when no filter is on the
// column.
func directIDs(f *FilterCtx, col *Column) *colstore.Bitmap {
	var out *colstore.Bitmap
	and := func(b *colstore.Bitmap) {
		if out == nil {
			out = b.Clone()
		} else {
			out.And(b)
		}
	}
	for _, fl := range f.filters {
		switch fl.kind {
		case fCol:
			if fl.cols[0] == col {
				and(fl.ids)
			}
		case fTuple:
			for i, fc := range fl.cols {
				if fc == col {
					and(projectTuples(fl, []int{i}).ids)
				}
			}
		case fRows:
			// A table filter filters every column of its table directly.
			if fl.table == col.Table {
				ids := colstore.NewBitmap(col.Data.Dict.Len())
				fl.rows.Each(func(r int) { ids.Set(int(idAt(col, r))) })
				and(ids)
			}
		}
	}
	return out
}

// valuesOf is VALUES (withBlank) and DISTINCT of a column or a table.
func (ev *evaluator) valuesOf(c *dax.Call, a dax.Expr, en *env, withBlank bool) (*tableVal, error) {
	if ev.isColumnRef(a) {
		col, err := ev.resolveColumn(a, en)
		if err != nil {
			return nil, err
		}
		return ev.columnValues(col, en.filter, withBlank, nil)
	}
	t, err := ev.table(a, en)
	if err != nil {
		return nil, err
	}
	if t.isBase() {
		if withBlank {
			return t, nil
		}
		nt := *t
		nt.noBlank = true
		if err := nt.materialize(ev); err != nil {
			return nil, err
		}
		nt.rows = distinctRows(nt.rows)
		return &nt, nil
	}
	rows := distinctRows(t.rows)
	return materialized(t.cols, rows), nil
}

// columnValues returns the distinct values of a column visible in a
// filter context, restricted to extra rows when set, sorted. With
// withBlank the table's blank row adds BLANK when it is visible.
func (ev *evaluator) columnValues(col *Column, f *FilterCtx, withBlank bool, extra *colstore.Bitmap) (*tableVal, error) {
	var ids []uint32
	if h := ev.dateHint; h != nil && h.f == f && h.col == col && extra == nil && !withBlank {
		ids = slices.Clone(h.ids)
	} else {
		res, blankRow, err := ev.scanTable(f, col.Table, extra, []colstore.GroupKey{{Col: col.Index}}, nil)
		if err != nil {
			return nil, err
		}
		ids = res.Keys[0]
		if withBlank && blankRow && (len(ids) == 0 || ids[0] != 0) {
			ids = append([]uint32{0}, ids...)
		}
	}
	rank := col.Data.Dict.Ranking()
	slices.SortFunc(ids, func(a, b uint32) int { return cmp.Compare(rank.Of(a), rank.Of(b)) })
	rows := make([][]value.Value, len(ids))
	for i, id := range ids {
		rows[i] = []value.Value{col.Data.Dict.Value(id)}
	}
	return materialized([]colInfo{lineageInfo(col)}, rows), nil
}

// allTable is ALL and ALLNOBLANKROW as table functions.
func (ev *evaluator) allTable(c *dax.Call, en *env, withBlank bool) (*tableVal, error) {
	if len(c.Args) == 0 {
		return nil, errorf(c, "%s without arguments can only be used as a filter argument of CALCULATE", c.Func)
	}
	if t, err := ev.tableArg(c, 0); err == nil && len(c.Args) == 1 {
		tv := baseTable(t, emptyLike(en.filter))
		tv.noBlank = !withBlank
		return tv, nil
	}
	return ev.distinctColumns(c, c.Args, &env{filter: emptyLike(en.filter), vars: en.vars}, withBlank)
}

// emptyLike returns a context without filters that keeps f's relationship
// changes.
func emptyLike(f *FilterCtx) *FilterCtx {
	n := f.derive()
	n.filters = nil
	return n
}

// distinctColumns returns the distinct combinations of columns of one
// table that exist in the filter context (ALL(c1, c2), ALLSELECTED(c)).
func (ev *evaluator) distinctColumns(c *dax.Call, args []dax.Expr, en *env, withBlank bool) (*tableVal, error) {
	var cols []*Column
	for _, a := range args {
		col, err := ev.resolveColumn(a, en)
		if err != nil {
			return nil, err
		}
		if len(cols) > 0 && col.Table != cols[0].Table {
			return nil, errorf(a, "%s takes columns of one table", c.Func)
		}
		cols = append(cols, col)
	}
	if len(cols) == 1 {
		return ev.columnValues(cols[0], en.filter, withBlank, nil)
	}
	var group []colstore.GroupKey
	infos := make([]colInfo, len(cols))
	for i, col := range cols {
		group = append(group, colstore.GroupKey{Col: col.Index})
		infos[i] = lineageInfo(col)
	}
	res, blankRow, err := ev.scanTable(en.filter, cols[0].Table, nil, group, nil)
	if err != nil {
		return nil, err
	}
	rows := make([][]value.Value, 0, res.Groups+1)
	for g := 0; g < res.Groups; g++ {
		r := make([]value.Value, len(cols))
		for i, col := range cols {
			r[i] = col.Data.Dict.Value(res.Keys[i][g])
		}
		rows = append(rows, r)
	}
	if withBlank && blankRow {
		rows = distinctRows(append(rows, make([]value.Value, len(cols))))
	}
	return materialized(infos, rows), nil
}

// filterTable is FILTER(table, condition): the rows for which the
// condition is true. Over a model table, a condition on one column is
// evaluated once per distinct value and applied by a scan.
func filterTable(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	t, err := ev.table(c.Args[0], en)
	if err != nil {
		return nil, err
	}
	cond := c.Args[1]
	if t.isBase() && t.rows == nil {
		if cols, ok := ev.rowOnly(cond, en); ok && len(cols) == 1 && cols[0].Table == t.base {
			f, err := ev.predicateFilter(cond, cols, en)
			if err != nil {
				return nil, err
			}
			sel, err := runSelect(ev.ctx, &colstore.Scan{Table: t.base.Data, Filters: []colstore.Filter{{Col: cols[0].Index, IDs: f.ids}}})
			if err != nil {
				return nil, err
			}
			if f.ids.Has(0) {
				sel.Set(t.base.BlankRow())
			}
			return t.restrict(sel), nil
		}
		rows, err := t.baseRows(ev.ctx)
		if err != nil {
			return nil, err
		}
		keep := colstore.NewBitmap(t.base.Rows() + 1)
		var ferr error
		rows.Each(func(r int) {
			if ferr != nil {
				return
			}
			v, err := ev.scalar(cond, en.withRow(&rowCtx{table: t.base, row: r}))
			if err != nil {
				ferr = err
				return
			}
			ok, err := truth(cond, v)
			if err != nil {
				ferr = err
				return
			}
			if ok {
				keep.Set(r)
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		return t.restrict(keep), nil
	}
	var out [][]value.Value
	for _, r := range t.rows {
		v, err := ev.scalar(cond, en.withRow(&rowCtx{tv: t, vals: r}))
		if err != nil {
			return nil, err
		}
		ok, err := truth(cond, v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return materialized(t.cols, out), nil
}

// restrict returns a base table value further limited to rows in sel.
func (tv *tableVal) restrict(sel *colstore.Bitmap) *tableVal {
	n := *tv
	if n.sel != nil {
		s := n.sel.Clone()
		s.And(sel)
		sel = s
	}
	n.sel = sel
	n.rows = nil
	return &n
}

// rowOnly reports whether an expression depends on nothing but the values
// of model columns in the row context (and constants): no measures,
// aggregations or filter functions. It returns the columns it reads.
func (ev *evaluator) rowOnly(e dax.Expr, en *env) ([]*Column, bool) {
	var cols []*Column
	ok := true
	var walk func(e dax.Expr)
	walk = func(e dax.Expr) {
		if !ok || e == nil {
			return
		}
		switch x := e.(type) {
		case *dax.NumberLit, *dax.StringLit, *dax.BoolLit, *dax.DateLit:
		case *dax.Ident:
			if v := en.lookupVar(x.Name); v == nil || v.isTab {
				ok = false
			}
		case *dax.ColumnRef:
			if x.Table == "" || ev.measure(x.Column) != nil && ev.m.Table(x.Table) == nil {
				ok = false
				return
			}
			t := ev.m.Table(x.Table)
			if t == nil || t.Column(x.Column) == nil {
				ok = false
				return
			}
			if c := t.Column(x.Column); !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		case *dax.Unary:
			walk(x.X)
		case *dax.Binary:
			walk(x.X)
			walk(x.Y)
		case *dax.TableCtor:
			for _, r := range x.Rows {
				for _, v := range r {
					walk(v)
				}
			}
		case *dax.RowCtor:
			for _, v := range x.Values {
				walk(v)
			}
		case *dax.Call:
			b := builtins[x.Func]
			if b == nil || !b.pure {
				ok = false
				return
			}
			for _, a := range x.Args {
				walk(a)
			}
		default:
			ok = false
		}
	}
	walk(e)
	return cols, ok
}

// related is RELATED(column): the value of a column of a table the row
// context's table reaches through many-to-one relationships.
func related(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	col, err := ev.colArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	for r := en.row; r != nil; r = r.parent {
		if r.table != nil {
			if r.table == col.Table {
				return rowValue(col, r.row), nil
			}
			if p := en.filter.path(r.table, col.Table); p != nil {
				return rowValue(col, followRow(p, r.row)), nil
			}
		}
		if r.tv != nil {
			// A row of a table value: follow from a key column it carries.
			for i, ci := range r.tv.cols {
				if ci.Lineage == nil {
					continue
				}
				p := en.filter.path(ci.Lineage.Table, col.Table)
				if len(p) == 0 || p[0].From != ci.Lineage {
					if ci.Lineage == col {
						return r.vals[i], nil
					}
					continue
				}
				id, ok := ci.Lineage.Data.Dict.Find(r.vals[i])
				row := p[0].To.Table.BlankRow()
				if ok {
					if x := p[0].Data.ToRow[id]; x >= 0 {
						row = int(x)
					}
				}
				return rowValue(col, followRow(p[1:], row)), nil
			}
		}
	}
	return value.BlankValue, errorf(c, "RELATED(%s) needs a row context on a table related to %s", col, dax.QuoteTable(col.Table.Name))
}

// treatAs is TREATAS(table, columns...): the table's rows with the given
// columns as their lineage, so that as a filter they filter those columns.
func treatAs(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	t, err := ev.table(c.Args[0], en)
	if err != nil {
		return nil, err
	}
	if len(t.cols) != len(c.Args)-1 {
		return nil, errorf(c, "TREATAS got a table of %d columns for %d columns", len(t.cols), len(c.Args)-1)
	}
	if err := t.materialize(ev); err != nil {
		return nil, err
	}
	cols := make([]colInfo, len(t.cols))
	for i := range cols {
		col, err := ev.colArg(c, i+1, en)
		if err != nil {
			return nil, err
		}
		cols[i] = lineageInfo(col)
	}
	rows := make([][]value.Value, len(t.rows))
	for i, r := range t.rows {
		nr := make([]value.Value, len(r))
		for j, v := range r {
			nr[j] = convertTo(v, cols[j].Type)
		}
		rows[i] = nr
	}
	return materialized(cols, rows), nil
}

// lookupValue is LOOKUPVALUE(result, search1, value1, ..., [alternate]):
// the result column's value in the rows where every search column has its
// value; the alternate (or BLANK) when none, an error when several differ.
func lookupValue(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	res, err := ev.colArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	pairs := (len(c.Args) - 1) / 2
	hasAlt := (len(c.Args)-1)%2 == 1
	// The search sees the whole result table: Analysis Services evaluates
	// LOOKUPVALUE with REMOVEFILTERS over the result column's table, so
	// filters on its other columns (or its expanded table) hide nothing.
	f := en.filter.withoutTable(res.Table)
	var fs []*filter
	var cols []*Column
	for i := 0; i < pairs; i++ {
		col, err := ev.colArg(c, 1+2*i, en)
		if err != nil {
			return value.BlankValue, err
		}
		v, err := ev.arg(c, 2+2*i, en)
		if err != nil {
			return value.BlankValue, err
		}
		ids := colstore.NewBitmap(col.Data.Dict.Len())
		if id, ok := col.Data.Dict.Find(v); ok && (id != 0 || v.IsBlank()) {
			ids.Set(int(id))
		}
		fs = append(fs, colFilter(col, ids))
		cols = append(cols, col)
	}
	f = f.withoutColumns(cols).with(fs...)
	vals, err := ev.columnValues(res, f, false, nil)
	if err != nil {
		return value.BlankValue, err
	}
	switch len(vals.rows) {
	case 1:
		return vals.rows[0][0], nil
	case 0:
		if hasAlt {
			return ev.arg(c, len(c.Args)-1, en)
		}
		return value.BlankValue, nil
	}
	if hasAlt {
		return ev.arg(c, len(c.Args)-1, en)
	}
	return value.BlankValue, errorf(c, "a table of multiple values was supplied where a single value was expected: LOOKUPVALUE found several values of %s", res)
}

// contains is CONTAINS(table, column, value, ...).
func contains(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	t, err := ev.table(c.Args[0], en)
	if err != nil {
		return value.BlankValue, err
	}
	if (len(c.Args)-1)%2 != 0 {
		return value.BlankValue, errorf(c, "CONTAINS takes a table and pairs of columns and values")
	}
	if err := t.materialize(ev); err != nil {
		return value.BlankValue, err
	}
	var idx []int
	var want []value.Value
	for i := 1; i < len(c.Args); i += 2 {
		col, err := ev.colArg(c, i, en)
		if err != nil {
			return value.BlankValue, err
		}
		j := t.colIndex(col)
		if j < 0 {
			return value.BlankValue, errorf(c.Args[i], "%s is not a column of the table", col)
		}
		v, err := ev.arg(c, i+1, en)
		if err != nil {
			return value.BlankValue, err
		}
		idx = append(idx, j)
		want = append(want, v)
	}
	for _, r := range t.rows {
		match := true
		for k, j := range idx {
			if cmp, err := cmpValues(c, r[j], want[k], false); err != nil || cmp != 0 {
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

// containsRow is CONTAINSROW(table, value, ...), the function behind IN.
func containsRow(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	vals := make([]dax.Expr, len(c.Args)-1)
	copy(vals, c.Args[1:])
	var left dax.Expr = vals[0]
	if len(vals) > 1 {
		left = &dax.RowCtor{At: c.At, Values: vals}
	}
	return ev.in(&dax.Binary{At: c.At, Op: dax.OpIn, X: left, Y: c.Args[0]}, en)
}

// earlier is EARLIER(column, [n]): the column's value in the n-th outer
// row context that holds it.
func earlier(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	col, err := ev.colArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	n := 1
	if c.Func == "EARLIEST" {
		n = -1
	} else if len(c.Args) == 2 {
		v, err := ev.arg(c, 1, en)
		if err != nil {
			return value.BlankValue, err
		}
		f, _ := v.Number()
		n = int(f)
	}
	var found []value.Value
	for r := en.row; r != nil; r = r.parent {
		if v, ok := rowLookup(&rowCtx{table: r.table, row: r.row, tv: r.tv, vals: r.vals}, col); ok {
			found = append(found, v)
		}
	}
	if n < 0 {
		n = len(found) - 1
	}
	if n < 1 || n >= len(found) {
		return value.BlankValue, errorf(c, "EARLIER refers to an outer row context of %s that does not exist", col)
	}
	return found[n], nil
}
