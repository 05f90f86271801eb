package engine

import (
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Time intelligence, set at a time.
//
// CALCULATE(expr, DATESYTD('Date'[Date])) grouped by month gives each
// group its own set of dates, so it cannot share one filter context. But
// when expr is built from aggregations that add up over dates (SUM, SUMX,
// COUNT, COUNTROWS, MIN, MAX) combined by arithmetic and pure functions,
// one scan grouped by the date column (and the other group-by columns)
// computes every date's partial aggregate once; each group then combines
// the partials of the dates in its set. The date sets come from
// evaluating the filter arguments in each group's context, which only
// reads the small date table.

// dateSetCalc tries CALCULATE(inner, args...) where the arguments that
// depend on the group are tables of dates of one date-key column.
func (ev *evaluator) dateSetCalc(c *dax.Call, fr *frame) ([]value.Value, bool, error) {
	var free, dep []dax.Expr
	for _, a := range c.Args[1:] {
		switch {
		case a == nil:
		case isModifier(a) || ev.contextFree(a):
			free = append(free, a)
		case ev.isTableExpr(a, &env{vars: fr.svars}):
			dep = append(dep, a)
		default:
			return nil, false, nil
		}
	}
	if len(dep) == 0 {
		return nil, false, nil
	}
	leaves, ok := ev.dateLeaves(c.Args[0], fr, 0)
	if !ok {
		return nil, false, nil
	}
	// Each group's date set: the intersection of the dependent arguments,
	// evaluated in the group's context. Groups with equal keys share it.
	var dcol *Column
	sets := make([]*colstore.Bitmap, len(fr.keys))
	memo := map[string]*colstore.Bitmap{}
	var pre [][]uint32
	for k := range fr.keys {
		key := tupleKey(fr.keys[k])
		if s, ok := memo[key]; ok && fr.vvars == nil {
			sets[k] = s
			continue
		}
		en := fr.contextAt(k)
		if dcol != nil && pre == nil {
			// The first group found the date column: the dates every
			// group sees come from one scan of the date table.
			var err error
			if pre, err = ev.groupDates(fr, dcol); err != nil {
				return nil, true, err
			}
		}
		if pre != nil {
			ev.dateHint = &dateHint{f: en.filter, col: dcol, ids: pre[k]}
		}
		var set *colstore.Bitmap
		for _, a := range dep {
			t, err := ev.table(a, en)
			ev.dateHint = nil
			if err != nil {
				return nil, true, err
			}
			if len(t.cols) != 1 || t.cols[0].Lineage == nil || t.isBase() {
				return nil, false, nil
			}
			col := t.cols[0].Lineage
			if dcol == nil {
				dcol = col
				if !ev.tiIsDateKey(dcol) {
					return nil, false, nil
				}
			} else if col != dcol {
				return nil, false, nil
			}
			ids := colstore.NewBitmap(col.Data.Dict.Len())
			for _, r := range t.rows {
				if id, ok := col.Data.Dict.Find(r[0]); ok {
					ids.Set(int(id))
				}
			}
			if set == nil {
				set = ids
			} else {
				set.And(ids)
			}
		}
		sets[k] = set
		memo[key] = set
	}
	// The context shared by every group: modifiers and context-free
	// filters applied as CALCULATE applies them, the date table's filters
	// removed (the date-key column is overwritten), group-by columns that
	// are overwritten dropped.
	en := &env{filter: fr.base, vars: fr.svars, calc: fr.calc}
	base := fr.base
	drop := make([]bool, len(fr.cols))
	var filters []calcFilter
	for _, a := range free {
		if m, ok := a.(*dax.Call); ok && modifiers[m.Func] {
			var err error
			if base, err = ev.applyModifier(m, base, en); err != nil {
				return nil, true, err
			}
			cleared, err := ev.modifierClears(m, fr.base, en)
			if err != nil {
				return nil, true, err
			}
			for i, col := range fr.cols {
				drop[i] = drop[i] || cleared(col)
			}
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
	filters = append(filters, calcFilter{cols: []*Column{dcol}})
	for _, cf := range filters {
		if !cf.keep {
			over := ev.overwritten(cf.cols)
			for i, col := range fr.cols {
				drop[i] = drop[i] || slices.Contains(over, col)
			}
		}
	}
	base = ev.applyFilters(base, filters)
	var rest []*Column
	var restIdx []int
	for i, col := range fr.cols {
		if !drop[i] {
			rest = append(rest, col)
			restIdx = append(restIdx, i)
		}
	}
	// Each leaf: one scan grouped by the remaining group-by columns it
	// reaches and the date column; then each group combines its dates.
	leafVals := make([][]value.Value, len(leaves))
	for li, lf := range leaves {
		if lf.plan == nil {
			continue
		}
		p := lf.plan
		if !base.reaches(p.table, dcol.Table) || ev.bidiReaches(base, p.table) {
			return nil, false, nil
		}
		var group []colstore.GroupKey
		var idx []int
		for j, col := range rest {
			if base.reaches(p.table, col.Table) {
				k, err := ev.groupKey(base, p.table, col)
				if err != nil {
					return nil, true, err
				}
				group = append(group, k)
				idx = append(idx, j)
			}
		}
		dk, err := ev.groupKey(base, p.table, dcol)
		if err != nil {
			return nil, true, err
		}
		group = append(group, dk)
		res, _, err := ev.scanTable(base, p.table, p.extra, group, p.aggs)
		if err != nil {
			return nil, true, err
		}
		// Partials by the remaining key, then by date id.
		byRest := map[string][]int{}
		sub := make([]uint32, len(idx))
		for g := 0; g < res.Groups; g++ {
			for j := range idx {
				sub[j] = res.Keys[j][g]
			}
			k := tupleKey(sub)
			byRest[k] = append(byRest[k], g)
		}
		dateKeys := res.Keys[len(idx)]
		out := make([]value.Value, len(fr.keys))
		for k := range fr.keys {
			for j, i := range idx {
				sub[j] = fr.keys[k][restIdx[i]]
			}
			var gs []int
			for _, g := range byRest[tupleKey(sub)] {
				if sets[k] != nil && sets[k].Has(int(dateKeys[g])) {
					gs = append(gs, g)
				}
			}
			combined, g := combineGroups(p, res, gs)
			v, err := p.result(ev, combined, g, false, en)
			if err != nil {
				return nil, true, err
			}
			out[k] = v
		}
		leafVals[li] = out
	}
	vals, err := ev.combineLeaves(leaves, leafVals, fr)
	return vals, true, err
}

// dateHint gives the dates of column col visible in filter context f,
// found ahead by groupDates: columnValues answers from it instead of a
// scan.
type dateHint struct {
	f   *FilterCtx
	col *Column
	ids []uint32
}

// groupDates returns, for each context of the frame, the ids of the date
// column visible in it, from one scan of the date table grouped by the
// frame's columns of that table and the date column. It returns nil when
// the contexts differ in a way that scan cannot see: a group-by column
// of another table that filters the date table, or a bidirectional
// relationship.
func (ev *evaluator) groupDates(fr *frame, dcol *Column) ([][]uint32, error) {
	dt := dcol.Table
	if ev.bidiReaches(fr.base, dt) || len(fr.keys) < 2 {
		return nil, nil
	}
	var group []colstore.GroupKey
	var idx []int
	for i, col := range fr.cols {
		if col.Table == dt {
			if col == dcol {
				return nil, nil
			}
			group = append(group, colstore.GroupKey{Col: col.Index})
			idx = append(idx, i)
		} else if fr.base.path(dt, col.Table) != nil {
			return nil, nil
		}
	}
	group = append(group, colstore.GroupKey{Col: dcol.Index})
	res, _, err := ev.scanTable(fr.base, dt, nil, group, nil)
	if err != nil {
		return nil, err
	}
	byKey := map[string][]uint32{}
	sub := make([]uint32, len(idx))
	for g := 0; g < res.Groups; g++ {
		for j := range idx {
			sub[j] = res.Keys[j][g]
		}
		k := tupleKey(sub)
		byKey[k] = append(byKey[k], res.Keys[len(idx)][g])
	}
	out := make([][]uint32, len(fr.keys))
	for k, key := range fr.keys {
		for j, i := range idx {
			sub[j] = key[i]
		}
		out[k] = byKey[tupleKey(sub)]
		if out[k] == nil {
			out[k] = []uint32{}
		}
	}
	return out, nil
}

// dateLeaf is a node of an expression over date-additive aggregations:
// an aggregation (plan), a constant, or an operation on other leaves.
type dateLeaf struct {
	plan  *aggPlan
	konst *value.Value
	op    dax.Expr // *dax.Binary, *dax.Unary or a pure *dax.Call
	args  []int
}

// dateLeaves flattens an expression into leaves, in evaluation order; ok
// is false when some part is not date-additive.
func (ev *evaluator) dateLeaves(e dax.Expr, fr *frame, depth int) ([]dateLeaf, bool) {
	if depth > 32 {
		return nil, false
	}
	var out []dateLeaf
	var walk func(e dax.Expr) (int, bool)
	walk = func(e dax.Expr) (int, bool) {
		switch x := e.(type) {
		case *dax.NumberLit, *dax.StringLit, *dax.BoolLit, *dax.DateLit:
			v, err := ev.scalar(e, &env{filter: fr.base})
			if err != nil {
				return 0, false
			}
			out = append(out, dateLeaf{konst: &v})
			return len(out) - 1, true
		case *dax.ColumnRef:
			ms := ev.measureRef(x)
			if ms == nil || len(ev.m.calcGroups) > 0 {
				return 0, false
			}
			return walk(ms.Expr)
		case *dax.Unary:
			a, ok := walk(x.X)
			if !ok {
				return 0, false
			}
			out = append(out, dateLeaf{op: x, args: []int{a}})
			return len(out) - 1, true
		case *dax.Binary:
			if x.Op == dax.OpIn || x.Op == dax.OpAnd || x.Op == dax.OpOr {
				return 0, false
			}
			a, ok := walk(x.X)
			if !ok {
				return 0, false
			}
			b, ok := walk(x.Y)
			if !ok {
				return 0, false
			}
			out = append(out, dateLeaf{op: x, args: []int{a, b}})
			return len(out) - 1, true
		case *dax.Call:
			switch x.Func {
			case "SUM", "SUMX", "COUNT", "COUNTA", "COUNTROWS", "MIN", "MAX", "MINX", "MAXX":
				p, ok := ev.planAggregate(x, &env{filter: fr.base, vars: fr.svars})
				if !ok || (x.Func == "COUNTROWS" && p.table.HasBlankRow()) {
					return 0, false
				}
				out = append(out, dateLeaf{plan: p})
				return len(out) - 1, true
			}
			b := builtins[x.Func]
			if b == nil || !b.pure || b.scalar == nil {
				return 0, false
			}
			var args []int
			for _, a := range x.Args {
				if a == nil {
					return 0, false
				}
				if id, ok := a.(*dax.Ident); ok && (&env{vars: fr.svars}).lookupVar(id.Name) == nil && fr.lookup(id.Name) == nil {
					return 0, false // keyword arguments: keep it simple
				}
				i, ok := walk(a)
				if !ok {
					return 0, false
				}
				args = append(args, i)
			}
			out = append(out, dateLeaf{op: x, args: args})
			return len(out) - 1, true
		}
		return 0, false
	}
	if _, ok := walk(e); !ok {
		return nil, false
	}
	return out, true
}

// combineLeaves evaluates the operation leaves from the aggregation and
// constant leaves; the last leaf is the expression's value.
func (ev *evaluator) combineLeaves(leaves []dateLeaf, vals [][]value.Value, fr *frame) ([]value.Value, error) {
	n := len(fr.keys)
	for i, lf := range leaves {
		switch {
		case lf.plan != nil:
		case lf.konst != nil:
			vals[i] = broadcast(*lf.konst, n)
		default:
			out := make([]value.Value, n)
			for k := 0; k < n; k++ {
				var err error
				switch x := lf.op.(type) {
				case *dax.Binary:
					out[k], err = applyBinary(x, x.Op, vals[lf.args[0]][k], vals[lf.args[1]][k])
				case *dax.Unary:
					v := vals[lf.args[0]][k]
					switch x.Op {
					case dax.OpNeg:
						out[k], err = negate(x, v)
					case dax.OpNot:
						var b bool
						b, err = truth(x, v)
						out[k] = value.Bool(!b)
					default:
						out[k] = v
					}
				case *dax.Call:
					call := &dax.Call{At: x.At, Func: x.Func, Args: make([]dax.Expr, len(x.Args))}
					en := &env{filter: fr.base, vars: fr.svars, calc: fr.calc}
					for j, a := range lf.args {
						name := "\x00leaf" + string(rune('0'+j))
						call.Args[j] = &dax.Ident{At: x.At, Name: name}
						en = en.withVar(name, vals[a][k])
					}
					out[k], err = ev.scalar(call, en)
				}
				if err != nil {
					return nil, err
				}
			}
			vals[i] = out
		}
	}
	return vals[len(vals)-1], nil
}

// combineGroups merges the partial aggregates of groups gs of a scan into
// one group of a new result (group 0), or -1 when gs is empty.
func combineGroups(p *aggPlan, res *colstore.Result, gs []int) (*colstore.Result, int) {
	out := &colstore.Result{Groups: 1, Aggs: make([]colstore.AggResult, len(p.aggs))}
	if len(gs) == 0 {
		return out, -1
	}
	for a, agg := range p.aggs {
		src := res.Aggs[a]
		dst := &out.Aggs[a]
		dst.Count = []int64{0}
		if src.Sum != nil {
			dst.Sum = []float64{0}
		}
		if src.ISum != nil {
			dst.ISum = []int64{0}
		}
		if src.ID != nil {
			dst.ID = []uint32{0}
		}
		if src.Num != nil {
			dst.Num = []float64{0}
		}
		var rank colstore.Ranking
		if src.ID != nil {
			rank = p.table.Data.Columns[agg.Col].Dict.Ranking()
		}
		seen := false
		for _, g := range gs {
			c := src.Count[g]
			if c == 0 && agg.Op != colstore.CountRows {
				continue
			}
			dst.Count[0] += c
			switch {
			case src.Sum != nil:
				dst.Sum[0] += src.Sum[g]
			case src.ISum != nil:
				dst.ISum[0] += src.ISum[g]
			case src.ID != nil:
				id := src.ID[g]
				better := !seen || (agg.Op == colstore.Max && rank.Of(id) > rank.Of(dst.ID[0])) || (agg.Op == colstore.Min && rank.Of(id) < rank.Of(dst.ID[0]))
				if better {
					dst.ID[0] = id
				}
			case src.Num != nil:
				v := src.Num[g]
				if !seen || (agg.Op == colstore.Max && v > dst.Num[0]) || (agg.Op == colstore.Min && v < dst.Num[0]) {
					dst.Num[0] = v
				}
			}
			seen = true
		}
	}
	return out, 0
}
