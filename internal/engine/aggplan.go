package engine

import (
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// aggPlan is an aggregation that one scan answers: the scanned table, the
// scan's aggregates and how to turn a group's results into the DAX value.
type aggPlan struct {
	call  *dax.Call
	fn    string
	table *Table
	col   *Column    // column aggregations
	expr  dax.Expr   // iterators: the row expression
	typ   value.Type // iterators: the type of the row expression
	extra *colstore.Bitmap
	aggs  []colstore.Agg
}

// planAggregate recognizes SUM, AVERAGE, MIN, MAX, COUNT, COUNTA,
// COUNTBLANK, DISTINCTCOUNT(NOBLANK), COUNTROWS of a model table, and
// SUMX, AVERAGEX, MINX, MAXX, COUNTX over a model table (or FILTER of one
// by a condition on one of its columns) with a numeric row expression.
func (ev *evaluator) planAggregate(c *dax.Call, en *env) (*aggPlan, bool) {
	p := &aggPlan{call: c, fn: c.Func}
	switch c.Func {
	case "SUM", "AVERAGE", "MIN", "MAX", "MINA", "MAXA", "COUNT", "COUNTA", "COUNTBLANK", "DISTINCTCOUNT", "DISTINCTCOUNTNOBLANK":
		if len(c.Args) != 1 || !ev.isColumnRef(c.Args[0]) {
			return nil, false
		}
		col, err := ev.resolveColumn(c.Args[0], en)
		if err != nil {
			return nil, false
		}
		p.col, p.table = col, col.Table
		switch c.Func {
		case "SUM", "AVERAGE":
			if !col.Type.IsNumeric() || col.Type == value.Boolean {
				return nil, false
			}
			p.aggs = []colstore.Agg{{Op: colstore.Sum, Col: col.Index}}
		case "MIN", "MINA":
			p.aggs = []colstore.Agg{{Op: colstore.Min, Col: col.Index}}
		case "MAX", "MAXA":
			p.aggs = []colstore.Agg{{Op: colstore.Max, Col: col.Index}}
		case "COUNT", "COUNTA":
			p.aggs = []colstore.Agg{{Op: colstore.CountValues, Col: col.Index}}
		case "COUNTBLANK":
			p.aggs = []colstore.Agg{{Op: colstore.CountRows}, {Op: colstore.CountValues, Col: col.Index}}
		default:
			p.aggs = []colstore.Agg{{Op: colstore.DistinctCount, Col: col.Index}, {Op: colstore.CountRows}, {Op: colstore.CountValues, Col: col.Index}}
		}
		return p, true
	case "COUNTROWS":
		if len(c.Args) != 1 {
			return nil, false
		}
		t := ev.modelTableRef(c.Args[0], en)
		if t == nil {
			return nil, false
		}
		p.table = t
		p.aggs = []colstore.Agg{{Op: colstore.CountRows}}
		return p, true
	case "SUMX", "AVERAGEX", "MINX", "MAXX", "COUNTX":
		if len(c.Args) != 2 {
			return nil, false
		}
		t, extra, ok := ev.filteredTableRef(c.Args[0], en)
		if !ok {
			return nil, false
		}
		x, typ, ok := ev.compileRowExpr(c.Args[1], t, en)
		if !ok {
			return nil, false
		}
		op := colstore.Sum
		switch c.Func {
		case "MINX":
			op = colstore.Min
		case "MAXX":
			op = colstore.Max
		}
		p.table, p.extra, p.expr, p.typ = t, extra, c.Args[1], typ
		p.aggs = []colstore.Agg{{Op: op, Expr: x}}
		return p, true
	}
	return nil, false
}

// modelTableRef returns the model table an expression names directly (not
// a variable or a query table), or nil.
func (ev *evaluator) modelTableRef(e dax.Expr, en *env) *Table {
	var name string
	switch x := e.(type) {
	case *dax.TableRef:
		name = x.Name
	case *dax.Ident:
		if en.lookupVar(x.Name) != nil {
			return nil
		}
		name = x.Name
	default:
		return nil
	}
	if _, def := ev.tables[fold(name)]; def {
		return nil
	}
	return ev.m.Table(name)
}

// filteredTableRef recognizes a model table, or FILTER of one by a
// condition on one of its columns, and returns the table and the rows the
// condition keeps (nil for all).
func (ev *evaluator) filteredTableRef(e dax.Expr, en *env) (*Table, *colstore.Bitmap, bool) {
	if t := ev.modelTableRef(e, en); t != nil {
		return t, nil, true
	}
	c, ok := e.(*dax.Call)
	if !ok || c.Func != "FILTER" || len(c.Args) != 2 {
		return nil, nil, false
	}
	t := ev.modelTableRef(c.Args[0], en)
	if t == nil {
		return nil, nil, false
	}
	cols, ok := ev.rowOnly(c.Args[1], en)
	if !ok || len(cols) != 1 || cols[0].Table != t {
		return nil, nil, false
	}
	f, err := ev.predicateFilter(c.Args[1], cols, en)
	if err != nil {
		return nil, nil, false
	}
	sel, err := runSelect(ev.ctx, &colstore.Scan{Table: t.Data, Filters: []colstore.Filter{{Col: cols[0].Index, IDs: f.ids}}})
	if err != nil {
		return nil, nil, false
	}
	if f.ids.Has(0) {
		sel.Set(t.BlankRow())
	}
	return t, sel, true
}

// aggregateCall evaluates a column aggregation in the filter context.
func aggregateCall(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	p, ok := ev.planAggregate(c, en)
	if !ok {
		if len(c.Args) == 1 {
			if _, err := ev.colArg(c, 0, en); err != nil {
				return value.BlankValue, err
			}
			col, _ := ev.colArg(c, 0, en)
			return value.BlankValue, errorf(c, "%s cannot work with values of type %s in column %s", c.Func, typeName(col.Type), col)
		}
		return value.BlankValue, errorf(c, "%s needs a column", c.Func)
	}
	return ev.runPlan(p, en)
}

// runPlan evaluates an aggregation plan in one context.
func (ev *evaluator) runPlan(p *aggPlan, en *env) (value.Value, error) {
	res, blankRow, err := ev.scanTable(en.filter, p.table, p.extra, nil, p.aggs)
	if err != nil {
		return value.BlankValue, err
	}
	g := -1
	if res.Groups > 0 {
		g = 0
	}
	return p.result(ev, res, g, blankRow, en)
}

// result turns group g of a scan (-1: no rows) into the aggregation's
// value; blankRow says whether the table's blank row belongs to the group.
func (p *aggPlan) result(ev *evaluator, res *colstore.Result, g int, blankRow bool, en *env) (value.Value, error) {
	count := func(a int) int64 {
		if g < 0 {
			return 0
		}
		return res.Aggs[a].Count[g]
	}
	switch p.fn {
	case "SUM":
		if g < 0 {
			return value.BlankValue, nil
		}
		return sumValue(p.col, res.Aggs[0], g), nil
	case "AVERAGE":
		n := count(0)
		if n == 0 {
			return value.BlankValue, nil
		}
		s, _ := sumValue(p.col, res.Aggs[0], g).Number()
		if p.col.Type == value.Currency {
			return currency(s / float64(n)), nil
		}
		return value.Float(s / float64(n)), nil
	case "MIN", "MAX", "MINA", "MAXA":
		if count(0) == 0 {
			return value.BlankValue, nil
		}
		return p.col.Data.Dict.Value(res.Aggs[0].ID[g]), nil
	case "COUNT", "COUNTA":
		if n := count(0); n > 0 {
			return value.Int(n), nil
		}
		return value.BlankValue, nil
	case "COUNTBLANK":
		rows := count(0)
		if rows == 0 && !blankRow {
			return value.BlankValue, nil
		}
		n := rows - count(1)
		if blankRow {
			n++
		}
		return value.Int(n), nil
	case "DISTINCTCOUNT", "DISTINCTCOUNTNOBLANK":
		if g < 0 {
			return value.BlankValue, nil
		}
		n := res.Aggs[0].Dist[g]
		if p.fn == "DISTINCTCOUNT" && count(1) > count(2) {
			n++ // a real row holds BLANK: DISTINCTCOUNT counts it
		}
		if n == 0 {
			return value.BlankValue, nil
		}
		return value.Int(n), nil
	case "COUNTROWS":
		n := count(0)
		if blankRow {
			n++
		}
		if n == 0 {
			return value.BlankValue, nil
		}
		return value.Int(n), nil
	}
	// Iterators.
	n := count(0)
	var num float64
	if n > 0 {
		if p.aggs[0].Op == colstore.Sum {
			num = res.Aggs[0].Sum[g]
		} else {
			num = res.Aggs[0].Num[g]
		}
	}
	if blankRow && (p.extra == nil || p.extra.Has(p.table.BlankRow())) {
		v, err := ev.scalar(p.expr, en.withRow(&rowCtx{table: p.table, row: p.table.BlankRow()}))
		if err != nil {
			return value.BlankValue, err
		}
		if f, ok := v.Number(); ok && !v.IsBlank() {
			switch {
			case n == 0:
				num = f
			case p.fn == "SUMX" || p.fn == "AVERAGEX":
				num += f
			case p.fn == "MINX":
				num = min(num, f)
			case p.fn == "MAXX":
				num = max(num, f)
			}
			n++
		}
	}
	if n == 0 {
		return value.BlankValue, nil
	}
	switch p.fn {
	case "AVERAGEX":
		return value.Float(num / float64(n)), nil
	case "COUNTX":
		return value.Int(n), nil
	}
	return typedSum(num, p.typ), nil
}
