package engine

import (
	"slices"
	"strings"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// modifiers are the CALCULATE arguments that change the filter context
// instead of adding a filter.
var modifiers = map[string]bool{
	"ALL": true, "REMOVEFILTERS": true, "ALLEXCEPT": true, "ALLNOBLANKROW": true,
	"ALLSELECTED": true, "USERELATIONSHIP": true, "CROSSFILTER": true,
}

// calcFilter is one evaluated filter argument of CALCULATE.
type calcFilter struct {
	filters []*filter
	cols    []*Column // the columns the filter overwrites
	keep    bool
}

// calculateEnv returns the environment CALCULATE evaluates its expression
// in: filter arguments evaluated in the original context, then context
// transition, then modifiers, then the filters (overwriting, or
// intersecting under KEEPFILTERS).
func (ev *evaluator) calculateEnv(en *env, args []dax.Expr) (*env, error) {
	var mods []*dax.Call
	var filters []calcFilter
	for _, a := range args {
		if a == nil {
			continue
		}
		if c, ok := a.(*dax.Call); ok && modifiers[c.Func] {
			mods = append(mods, c)
			continue
		}
		keep := false
		if c, ok := a.(*dax.Call); ok && c.Func == "KEEPFILTERS" {
			if len(c.Args) != 1 {
				return nil, errorf(c, "KEEPFILTERS takes 1 argument, not %d", len(c.Args))
			}
			a, keep = c.Args[0], true
		}
		cf, err := ev.filterArg(a, en)
		if err != nil {
			return nil, err
		}
		cf.keep = keep
		filters = append(filters, cf)
	}
	f, err := ev.transition(en)
	if err != nil {
		return nil, err
	}
	for _, m := range mods {
		if f, err = ev.applyModifier(m, f, en); err != nil {
			return nil, err
		}
	}
	return &env{filter: ev.applyFilters(f, filters), vars: en.vars, calc: en.calc}, nil
}

// applyFilters applies CALCULATE's filter arguments together: first the
// filters on every column an argument overwrites are removed, then every
// argument's filters are added (intersected). KEEPFILTERS arguments
// overwrite nothing.
func (ev *evaluator) applyFilters(f *FilterCtx, filters []calcFilter) *FilterCtx {
	var remove []*Column
	for _, cf := range filters {
		if !cf.keep {
			remove = append(remove, ev.overwritten(cf.cols)...)
		}
	}
	if len(remove) > 0 {
		f = f.withoutColumns(remove)
	}
	for _, cf := range filters {
		f = f.with(cf.filters...)
	}
	return f
}

// overwritten returns the columns a filter on cols replaces: the columns
// themselves and, when one is the date column of a date table (a
// DateTime key of a relationship, or the key of a table marked as
// dates), every column of that table, as DAX adds ALL over the date
// table in that case.
func (ev *evaluator) overwritten(cols []*Column) []*Column {
	out := cols
	for _, c := range cols {
		if ev.tiIsDateKey(c) {
			if len(out) == len(cols) {
				out = slices.Clone(cols)
			}
			for _, tc := range c.Table.Columns {
				if !slices.Contains(out, tc) {
					out = append(out, tc)
				}
			}
		}
	}
	return out
}

// filterArg evaluates a CALCULATE filter argument: a boolean expression
// over columns of one table, or a table.
func (ev *evaluator) filterArg(a dax.Expr, en *env) (calcFilter, error) {
	if ev.isTableExpr(a, en) {
		t, err := ev.table(a, en)
		if err != nil {
			return calcFilter{}, err
		}
		return ev.tableFilter(a, t)
	}
	cols := ev.filterColumns(a)
	if len(cols) == 0 {
		if err := ev.unknownColumn(a); err != nil {
			return calcFilter{}, err
		}
		return calcFilter{}, errorf(a, "a filter argument must be a table or a condition on columns of a table")
	}
	t := cols[0].Table
	for _, c := range cols[1:] {
		if c.Table != t {
			return calcFilter{}, errorf(a, "a condition used as a filter can only use columns of one table; it uses %s", describeColumns(cols))
		}
	}
	f, err := ev.predicateFilter(a, cols, en)
	if err != nil {
		return calcFilter{}, err
	}
	return calcFilter{filters: []*filter{f}, cols: cols}, nil
}

// tableFilter turns a table into filters: rows of a model table filter
// its expanded table; other tables filter their model columns.
func (ev *evaluator) tableFilter(n dax.Node, t *tableVal) (calcFilter, error) {
	if t.isBase() {
		rows, err := t.baseRows(ev.ctx)
		if err != nil {
			return calcFilter{}, err
		}
		var cols []*Column
		for _, u := range ev.m.Tables {
			if t.filter.reaches(t.base, u) {
				cols = append(cols, u.Columns...)
			}
		}
		return calcFilter{filters: []*filter{rowFilter(t.base, rows)}, cols: cols}, nil
	}
	var cols []*Column
	var idx []int
	for i, ci := range t.cols {
		if ci.Lineage != nil && !slices.Contains(cols, ci.Lineage) {
			cols = append(cols, ci.Lineage)
			idx = append(idx, i)
		}
	}
	if len(cols) == 0 {
		return calcFilter{}, nil
	}
	tuples := map[string]struct{}{}
	ids := make([]uint32, len(cols))
	for _, r := range t.rows {
		ok := true
		for j, c := range cols {
			id, found := c.Data.Dict.Find(r[idx[j]])
			if !found {
				ok = false
				break
			}
			ids[j] = id
		}
		if ok {
			tuples[tupleKey(ids)] = struct{}{}
		}
	}
	return calcFilter{filters: []*filter{tupleFilter(cols, tuples)}, cols: cols}, nil
}

// unknownColumn returns the error of the first Table[Column] reference in
// e that names neither a column nor a measure, or nil.
func (ev *evaluator) unknownColumn(e dax.Expr) error {
	var err error
	dax.Inspect(e, func(n dax.Node) bool {
		x, ok := n.(*dax.ColumnRef)
		if !ok || err != nil || x.Table == "" {
			return err == nil
		}
		t := ev.m.Table(x.Table)
		switch {
		case t == nil && ev.tables[fold(x.Table)] == nil:
			err = errorf(x, "cannot find table %s", dax.QuoteTable(x.Table))
		case t != nil && t.Column(x.Column) == nil && ev.measure(x.Column) == nil:
			err = errorf(x, "cannot find column %s in table %s", dax.QuoteColumn(x.Column), dax.QuoteTable(t.Name))
		}
		return err == nil
	})
	return err
}

// filterColumns returns the model columns a boolean filter tests: column
// references outside aggregations and table functions.
func (ev *evaluator) filterColumns(e dax.Expr) []*Column {
	var out []*Column
	var walk func(e dax.Expr)
	walk = func(e dax.Expr) {
		switch x := e.(type) {
		case *dax.ColumnRef:
			if x.Table == "" {
				return
			}
			if t := ev.m.Table(x.Table); t != nil {
				if c := t.Column(x.Column); c != nil && !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		case *dax.Unary:
			walk(x.X)
		case *dax.Binary:
			walk(x.X)
			if x.Op != dax.OpIn {
				walk(x.Y)
			}
		case *dax.RowCtor:
			for _, v := range x.Values {
				walk(v)
			}
		case *dax.VarExpr:
			for _, v := range x.Vars {
				walk(v.Value)
			}
			walk(x.Return)
		case *dax.Call:
			if b := builtins[x.Func]; b != nil && b.pure {
				for _, a := range x.Args {
					if a != nil {
						walk(a)
					}
				}
			}
		}
	}
	walk(e)
	return out
}

// predicateFilter evaluates a boolean condition over every value (or
// combination of values) of its columns, as FILTER(ALL(cols), cond) does,
// and returns the filter of those that pass. One column is evaluated once
// per distinct value, never per row.
func (ev *evaluator) predicateFilter(e dax.Expr, cols []*Column, en *env) (*filter, error) {
	infos := make([]colInfo, len(cols))
	for i, c := range cols {
		infos[i] = lineageInfo(c)
	}
	tv := materialized(infos, nil)
	test := func(vals []value.Value) (bool, error) {
		v, err := ev.scalar(e, en.withRow(&rowCtx{tv: tv, vals: vals}))
		if err != nil {
			return false, err
		}
		return truth(e, v)
	}
	if len(cols) == 1 {
		c := cols[0]
		d := c.Data.Dict
		ids := colstore.NewBitmap(d.Len())
		vals := make([]value.Value, 1)
		for id := 0; id < d.Len(); id++ {
			vals[0] = d.Value(uint32(id))
			ok, err := test(vals)
			if err != nil {
				return nil, err
			}
			if ok {
				ids.Set(id)
			}
		}
		return colFilter(c, ids), nil
	}
	t := cols[0].Table
	tuples := map[string]struct{}{}
	seen := map[string]bool{}
	ids := make([]uint32, len(cols))
	vals := make([]value.Value, len(cols))
	last := t.Rows()
	if !t.HasBlankRow() {
		last--
	}
	for row := 0; row <= last; row++ {
		for i, c := range cols {
			ids[i] = idAt(c, row)
		}
		k := tupleKey(ids)
		if seen[k] {
			continue
		}
		seen[k] = true
		for i, c := range cols {
			vals[i] = c.Data.Dict.Value(ids[i])
		}
		ok, err := test(vals)
		if err != nil {
			return nil, err
		}
		if ok {
			tuples[k] = struct{}{}
		}
	}
	return tupleFilter(cols, tuples), nil
}

// applyModifier applies ALL, REMOVEFILTERS, ALLEXCEPT, ALLNOBLANKROW,
// ALLSELECTED, USERELATIONSHIP or CROSSFILTER to a filter context.
func (ev *evaluator) applyModifier(c *dax.Call, f *FilterCtx, en *env) (*FilterCtx, error) {
	switch c.Func {
	case "ALL", "REMOVEFILTERS", "ALLNOBLANKROW":
		if len(c.Args) == 0 {
			n := f.derive()
			n.filters = nil
			return n, nil
		}
		if t, err := ev.tableArg(c, 0); err == nil && len(c.Args) == 1 {
			return f.withoutTable(t), nil
		}
		var cols []*Column
		for i := range c.Args {
			col, err := ev.colArg(c, i, en)
			if err != nil {
				return nil, err
			}
			cols = append(cols, col)
		}
		return f.withoutColumns(cols), nil
	case "ALLEXCEPT":
		if len(c.Args) < 2 {
			return nil, errorf(c, "ALLEXCEPT takes a table and at least one column")
		}
		t, err := ev.tableArg(c, 0)
		if err != nil {
			return nil, err
		}
		var keep []*Column
		for i := 1; i < len(c.Args); i++ {
			col, err := ev.colArg(c, i, en)
			if err != nil {
				return nil, err
			}
			keep = append(keep, col)
		}
		var remove []*Column
		for _, u := range ev.m.Tables {
			if f.reaches(t, u) {
				for _, col := range u.Columns {
					if !slices.Contains(keep, col) {
						remove = append(remove, col)
					}
				}
			}
		}
		return f.withoutColumns(remove), nil
	case "ALLSELECTED":
		return ev.allSelected(c, f, en)
	case "USERELATIONSHIP":
		if len(c.Args) != 2 {
			return nil, errorf(c, "USERELATIONSHIP takes 2 columns")
		}
		a, err := ev.colArg(c, 0, en)
		if err != nil {
			return nil, err
		}
		b, err := ev.colArg(c, 1, en)
		if err != nil {
			return nil, err
		}
		r := ev.relBetween(a, b)
		if r == nil {
			return nil, errorf(c, "there is no relationship between %s and %s", a, b)
		}
		n := f.derive()
		if n.rels == nil {
			n.rels = map[int]relOverride{}
		}
		_, cross := f.relState(r)
		if cross == NoFilter {
			cross = r.Cross
		}
		n.rels[r.Index] = relOverride{active: true, cross: cross}
		// The relationship replaces the active one between the same tables.
		for _, o := range ev.m.Rels {
			if o == r {
				continue
			}
			sameTables := (o.From.Table == r.From.Table && o.To.Table == r.To.Table) ||
				(o.From.Table == r.To.Table && o.To.Table == r.From.Table)
			if active, oc := f.relState(o); sameTables && active {
				n.rels[o.Index] = relOverride{active: false, cross: oc}
			}
		}
		return n, nil
	case "CROSSFILTER":
		if len(c.Args) != 3 {
			return nil, errorf(c, "CROSSFILTER takes 2 columns and a direction")
		}
		a, err := ev.colArg(c, 0, en)
		if err != nil {
			return nil, err
		}
		b, err := ev.colArg(c, 1, en)
		if err != nil {
			return nil, err
		}
		r := ev.relBetween(a, b)
		if r == nil {
			return nil, errorf(c, "there is no relationship between %s and %s", a, b)
		}
		dir, ok := c.Args[2].(*dax.Ident)
		if !ok {
			return nil, errorf(c.Args[2], "CROSSFILTER's direction must be NONE, BOTH, ONEWAY, ONEWAY_LEFTFILTERSRIGHT or ONEWAY_RIGHTFILTERSLEFT")
		}
		active, _ := f.relState(r)
		var cross CrossFilter
		switch strings.ToUpper(dir.Name) {
		case "NONE":
			cross = NoFilter
		case "BOTH":
			cross = BothWays
		case "ONEWAY", "ONEWAY_LEFTFILTERSRIGHT", "ONEWAY_RIGHTFILTERSLEFT":
			cross = OneWay
		default:
			return nil, errorf(dir, "unknown CROSSFILTER direction %s", dir.Name)
		}
		n := f.derive()
		if n.rels == nil {
			n.rels = map[int]relOverride{}
		}
		n.rels[r.Index] = relOverride{active: active || cross != NoFilter && r.Active, cross: cross}
		return n, nil
	}
	return nil, errorf(c, "%s is not a filter modifier", c.Func)
}

// relBetween finds the relationship joining two columns, either way.
func (ev *evaluator) relBetween(a, b *Column) *Rel {
	for _, r := range ev.m.Rels {
		if (r.From == a && r.To == b) || (r.From == b && r.To == a) {
			return r
		}
	}
	return nil
}

// allSelected restores, for the given tables or columns (or everything),
// the filters of the outer query context: the filters outside the
// SUMMARIZECOLUMNS being evaluated.
func (ev *evaluator) allSelected(c *dax.Call, f *FilterCtx, en *env) (*FilterCtx, error) {
	sel := f.selected
	if sel == nil {
		sel = newFilterCtx(ev.m)
	}
	if len(c.Args) == 0 {
		n := f.derive()
		n.filters = slices.Clone(sel.filters)
		return n, nil
	}
	var cols []*Column
	if t, err := ev.tableArg(c, 0); err == nil && len(c.Args) == 1 {
		for _, u := range ev.m.Tables {
			if f.reaches(t, u) {
				cols = append(cols, u.Columns...)
			}
		}
	} else {
		for i := range c.Args {
			col, err := ev.colArg(c, i, en)
			if err != nil {
				return nil, err
			}
			cols = append(cols, col)
		}
	}
	n := f.withoutColumns(cols)
	for _, sf := range sel.filters {
		for _, col := range cols {
			if sf.hasColumn(col) {
				n = n.with(sf)
				break
			}
		}
	}
	return n, nil
}
