package engine

import (
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

func init() {
	register("SUMMARIZECOLUMNS", &builtin{min: 0, max: -1, table: summarizeColumns})
	for _, name := range []string{"ROLLUPADDISSUBTOTAL", "ROLLUPGROUP", "IGNORE", "NONVISUAL", "ROLLUP", "ROLLUPISSUBTOTAL"} {
		n := name
		register(n, &builtin{min: 1, max: -1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
			return nil, errorf(c, "%s can only be used inside SUMMARIZECOLUMNS or SUMMARIZE", n)
		}})
	}
}

// rollupLevel is one ROLLUPADDISSUBTOTAL argument: groups of columns
// (ROLLUPGROUP keeps several together), each with the name of the column
// that flags its subtotal rows and an optional filter for that level.
type rollupLevel struct {
	units  [][]*Column
	flags  []string
	filter []dax.Expr
}

// scGroupBy is a group-by column of SUMMARIZECOLUMNS.
type scGroupBy struct {
	col    *Column
	rollup int // index of its rollup, or -1
	unit   int // index of its unit within the rollup
}

// summarizeColumns is SUMMARIZECOLUMNS(groupBy..., filterTable...,
// name, expr, ...).
func summarizeColumns(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	var (
		groups    []scGroupBy
		rollups   []rollupLevel
		filters   []dax.Expr
		nonvisual []dax.Expr
		names     []string
		exprs     []dax.Expr
		ignored   []bool
	)
	addGroup := func(e dax.Expr, rollup, unit int) error {
		col, err := ev.resolveColumn(e, en)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.col == col {
				return errorf(e, "SUMMARIZECOLUMNS groups by %s more than once", col)
			}
		}
		groups = append(groups, scGroupBy{col: col, rollup: rollup, unit: unit})
		return nil
	}
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		if s, ok := a.(*dax.StringLit); ok {
			if i+1 >= len(c.Args) {
				return nil, errorf(s, "SUMMARIZECOLUMNS: the column %q has no expression", s.Value)
			}
			e := c.Args[i+1]
			ign := false
			if call, ok := e.(*dax.Call); ok && call.Func == "IGNORE" {
				if len(call.Args) != 1 {
					return nil, errorf(call, "IGNORE takes one expression")
				}
				e, ign = call.Args[0], true
			}
			if slices.ContainsFunc(names, func(n string) bool { return value.EqualText(n, s.Value) }) {
				return nil, errorf(s, "the column %q is defined twice", s.Value)
			}
			names, exprs, ignored = append(names, s.Value), append(exprs, e), append(ignored, ign)
			i++
			continue
		}
		if len(names) > 0 {
			return nil, errorf(a, "SUMMARIZECOLUMNS takes its group-by columns and filters before the name and expression pairs")
		}
		if ev.isColumnRef(a) {
			if err := addGroup(a, -1, 0); err != nil {
				return nil, err
			}
			continue
		}
		if call, ok := a.(*dax.Call); ok && call.Func == "ROLLUPADDISSUBTOTAL" {
			lvl := rollupLevel{}
			ri := len(rollups)
			for j := 0; j < len(call.Args); j++ {
				var unit []*Column
				if g, ok := call.Args[j].(*dax.Call); ok && g.Func == "ROLLUPGROUP" {
					if len(g.Args) == 0 {
						return nil, errorf(g, "ROLLUPGROUP needs at least one column")
					}
					for _, ge := range g.Args {
						if err := addGroup(ge, ri, len(lvl.units)); err != nil {
							return nil, err
						}
						unit = append(unit, groups[len(groups)-1].col)
					}
				} else {
					if err := addGroup(call.Args[j], ri, len(lvl.units)); err != nil {
						return nil, err
					}
					unit = append(unit, groups[len(groups)-1].col)
				}
				if j+1 >= len(call.Args) {
					return nil, errorf(call, "ROLLUPADDISSUBTOTAL needs a name for the subtotal column of each group")
				}
				name, err := nameArg(call, j+1)
				if err != nil {
					return nil, err
				}
				j++
				var lf dax.Expr
				if j+1 < len(call.Args) && !ev.isColumnRef(call.Args[j+1]) && ev.isTableExpr(call.Args[j+1], en) {
					if g, ok := call.Args[j+1].(*dax.Call); !ok || g.Func != "ROLLUPGROUP" {
						lf = call.Args[j+1]
						j++
					}
				}
				lvl.units = append(lvl.units, unit)
				lvl.flags = append(lvl.flags, name)
				lvl.filter = append(lvl.filter, lf)
			}
			rollups = append(rollups, lvl)
			continue
		}
		if call, ok := a.(*dax.Call); ok && call.Func == "NONVISUAL" {
			if len(call.Args) != 1 {
				return nil, errorf(call, "NONVISUAL takes one filter table")
			}
			nonvisual = append(nonvisual, call.Args[0])
			continue
		}
		if call, ok := a.(*dax.Call); ok && call.Func == "KEEPFILTERS" && len(call.Args) == 1 && ev.isTableExpr(call.Args[0], en) {
			filters = append(filters, a)
			continue
		}
		if ev.isTableExpr(a, en) {
			filters = append(filters, a)
			continue
		}
		return nil, errorf(a, "SUMMARIZECOLUMNS expects group-by columns, filter tables, then names and expressions")
	}
	// The filter context of the whole table: the outer one (after context
	// transition) with the filter tables applied, which is also what
	// ALLSELECTED restores inside. NONVISUAL filters apply as well but are
	// not part of that selection (the DAX reference's NONVISUAL example).
	visual, err := ev.calculateEnv(en, filters)
	if err != nil {
		return nil, err
	}
	outer := visual
	if len(nonvisual) > 0 {
		if outer, err = ev.calculateEnv(visual, nonvisual); err != nil {
			return nil, err
		}
	}
	base := outer.filter.derive()
	base.selected = visual.filter
	defer ev.announce(exprs, &env{filter: base, vars: en.vars, calc: en.calc})()

	cols := make([]*Column, len(groups))
	for i, g := range groups {
		cols[i] = g.col
	}
	keys, err := ev.groupCandidates(base, cols)
	if err != nil {
		return nil, err
	}
	// Result columns: group-by columns, subtotal flags, expressions.
	var infos []colInfo
	for _, col := range cols {
		infos = append(infos, lineageInfo(col))
	}
	var flagNames []string
	for _, lvl := range rollups {
		for _, f := range lvl.flags {
			flagNames = append(flagNames, f)
			infos = append(infos, colInfo{Name: f, Type: value.Boolean})
		}
	}
	for _, n := range names {
		infos = append(infos, colInfo{Name: n})
	}
	// Every combination of subtotal levels: for each rollup, how many of
	// its units (from the last) are rolled up.
	combos := [][]int{make([]int, len(rollups))}
	for ri, lvl := range rollups {
		var next [][]int
		for _, cmb := range combos {
			for k := 0; k <= len(lvl.units); k++ {
				n := slices.Clone(cmb)
				n[ri] = k
				next = append(next, n)
			}
		}
		combos = next
	}
	var rows [][]value.Value
	for _, cmb := range combos {
		// Which group-by columns this combination keeps.
		keep := make([]bool, len(groups))
		for i, g := range groups {
			keep[i] = g.rollup < 0 || g.unit < len(rollups[g.rollup].units)-cmb[g.rollup]
		}
		var kcols []*Column
		var kidx []int
		for i, k := range keep {
			if k {
				kcols = append(kcols, cols[i])
				kidx = append(kidx, i)
			}
		}
		// A level's filter applies to the rows where its unit is the
		// innermost one kept (the DAX reference's ROLLUPADDISSUBTOTAL
		// example): neither to the rows below it nor to the subtotals
		// above it.
		comboBase, ckeys := base, keys
		var levelFilters []dax.Expr
		for ri, lvl := range rollups {
			if u := len(lvl.units) - cmb[ri] - 1; u >= 0 && lvl.filter[u] != nil {
				levelFilters = append(levelFilters, lvl.filter[u])
			}
		}
		if len(levelFilters) > 0 {
			le, err := ev.calculateEnv(&env{filter: base, vars: en.vars, calc: en.calc}, levelFilters)
			if err != nil {
				return nil, err
			}
			comboBase = le.filter
			if ckeys, err = ev.groupCandidates(comboBase, cols); err != nil {
				return nil, err
			}
		}
		gkeys := projectKeys(ckeys, kidx)
		scope := comboBase.derive()
		scope.scope = kcols
		vals := make([][]value.Value, len(exprs))
		for j, e := range exprs {
			v, err := ev.evalGroups(e, &env{filter: scope, vars: en.vars, calc: en.calc}, kcols, gkeys)
			if err != nil {
				return nil, err
			}
			vals[j] = v
		}
		for gi, gk := range gkeys {
			// Rows whose expressions are all BLANK go, IGNOREd ones aside.
			if len(exprs) > 0 {
				allBlank, counted := true, false
				for j := range exprs {
					if ignored[j] {
						continue
					}
					counted = true
					if !vals[j][gi].IsBlank() {
						allBlank = false
						break
					}
				}
				if counted && allBlank {
					continue
				}
			}
			row := make([]value.Value, 0, len(infos))
			for i, col := range cols {
				if keep[i] {
					pos := slices.Index(kidx, i)
					row = append(row, col.Data.Dict.Value(gk[pos]))
				} else {
					row = append(row, value.BlankValue)
				}
			}
			fi := 0
			for ri, lvl := range rollups {
				for u := range lvl.units {
					row = append(row, value.Bool(u >= len(lvl.units)-cmb[ri]))
					fi++
				}
			}
			for j := range exprs {
				row = append(row, vals[j][gi])
			}
			rows = append(rows, row)
		}
		if err := ev.checkRows(len(rows)); err != nil {
			return nil, err
		}
	}
	for j := range names {
		p := len(cols) + len(flagNames) + j
		infos[p].Type = commonType(rows, p)
	}
	return materialized(infos, rows), nil
}

// projectKeys keeps the key positions idx of every group, deduplicated.
func projectKeys(keys [][]uint32, idx []int) [][]uint32 {
	if len(idx) == len(keys) && len(keys) > 0 && len(idx) == len(keys[0]) {
		return keys
	}
	seen := map[string]bool{}
	var out [][]uint32
	sub := make([]uint32, len(idx))
	for _, k := range keys {
		for i, j := range idx {
			sub[i] = k[j]
		}
		s := tupleKey(sub)
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, slices.Clone(sub))
	}
	if len(keys) == 0 && len(idx) == 0 {
		return [][]uint32{{}}
	}
	if len(idx) == 0 && len(out) == 0 {
		return [][]uint32{{}}
	}
	return out
}

// groupCandidates returns the candidate groups of SUMMARIZECOLUMNS as id
// tuples: per table, the combinations of its group-by columns that exist
// among its rows under the filters on that table's own columns (filters
// on other tables do not reach group-by columns), crossed between tables.
func (ev *evaluator) groupCandidates(f *FilterCtx, cols []*Column) ([][]uint32, error) {
	if len(cols) == 0 {
		return [][]uint32{{}}, nil
	}
	type part struct {
		idx  []int
		keys [][]uint32
	}
	var parts []part
	var tables []*Table
	for _, col := range cols {
		if !slices.Contains(tables, col.Table) {
			tables = append(tables, col.Table)
		}
	}
	for _, t := range tables {
		var idx []int
		var group []colstore.GroupKey
		for i, col := range cols {
			if col.Table == t {
				idx = append(idx, i)
				group = append(group, colstore.GroupKey{Col: col.Index})
			}
		}
		own := f.ownFilters(t)
		res, blankRow, err := ev.scanTable(own, t, nil, group, nil)
		if err != nil {
			return nil, err
		}
		p := part{idx: idx}
		seen := map[string]bool{}
		for g := 0; g < res.Groups; g++ {
			k := make([]uint32, len(idx))
			for j := range idx {
				k[j] = res.Keys[j][g]
			}
			seen[tupleKey(k)] = true
			p.keys = append(p.keys, k)
		}
		if blankRow {
			k := make([]uint32, len(idx))
			if !seen[tupleKey(k)] {
				p.keys = append(p.keys, k)
			}
		}
		parts = append(parts, p)
	}
	out := [][]uint32{make([]uint32, len(cols))}
	for _, p := range parts {
		if err := ev.checkRows(len(out) * len(p.keys)); err != nil {
			return nil, err
		}
		var next [][]uint32
		for _, o := range out {
			for _, k := range p.keys {
				n := slices.Clone(o)
				for j, i := range p.idx {
					n[i] = k[j]
				}
				next = append(next, n)
			}
		}
		out = next
	}
	return out, nil
}

// ownFilters keeps the filters that constrain columns of table t itself.
func (c *FilterCtx) ownFilters(t *Table) *FilterCtx {
	n := c.derive()
	n.filters = nil
	for _, f := range c.filters {
		switch f.kind {
		case fRows:
			if f.table == t {
				n.filters = append(n.filters, f)
			}
		case fCol:
			if f.cols[0].Table == t {
				n.filters = append(n.filters, f)
			}
		case fTuple:
			var keep []int
			for i, col := range f.cols {
				if col.Table == t {
					keep = append(keep, i)
				}
			}
			if len(keep) == len(f.cols) {
				n.filters = append(n.filters, f)
			} else if len(keep) > 0 {
				n.filters = append(n.filters, projectTuples(f, keep))
			}
		}
	}
	return n
}

// evalGroups evaluates an expression once per group: with the filter
// context plus, for each group, its columns filtered to its ids.
func (ev *evaluator) evalGroups(e dax.Expr, en *env, cols []*Column, keys [][]uint32) ([]value.Value, error) {
	if vals, ok, err := ev.vectorGroups(e, en, cols, keys); ok || err != nil {
		return vals, err
	}
	out := make([]value.Value, len(keys))
	for i, k := range keys {
		if i%256 == 0 {
			if err := ev.ctx.Err(); err != nil {
				return nil, err
			}
		}
		f := groupFilter(en.filter, cols, k)
		v, err := ev.scalar(e, en.withFilter(f))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// groupFilter returns f with each column filtered to one id, replacing
// the filters on those columns.
func groupFilter(f *FilterCtx, cols []*Column, ids []uint32) *FilterCtx {
	if len(cols) == 0 {
		return f
	}
	fs := make([]*filter, len(cols))
	for i, col := range cols {
		b := colstore.NewBitmap(col.Data.Dict.Len())
		b.Set(int(ids[i]))
		fs[i] = colFilter(col, b)
	}
	return f.withoutColumns(cols).with(fs...)
}
