package engine

import (
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

func init() {
	for _, name := range []string{"SUM", "AVERAGE", "COUNT", "COUNTA", "COUNTBLANK", "DISTINCTCOUNT", "DISTINCTCOUNTNOBLANK", "MINA", "MAXA"} {
		register(name, &builtin{min: 1, max: 1, scalar: aggregateCall})
	}
	for _, name := range []string{"MIN", "MAX"} {
		op := name
		register(op, &builtin{min: 1, max: 2, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			if len(c.Args) == 2 {
				return minMax2(ev, en, c, op == "MAX")
			}
			return aggregateCall(ev, en, c)
		}})
	}
	register("COUNTROWS", &builtin{min: 0, max: 1, scalar: countRows})
	register("PRODUCT", &builtin{min: 1, max: 1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		col, err := ev.colArg(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		return ev.iterate(c, "PRODUCTX", baseTable(col.Table, en.filter), &dax.ColumnRef{At: c.At, Table: col.Table.Name, Column: col.Name}, en)
	}})
	for _, name := range []string{"SUMX", "AVERAGEX", "MINX", "MAXX", "COUNTX", "COUNTAX", "PRODUCTX"} {
		op := name
		maxArgs := 2
		if op == "MINX" || op == "MAXX" {
			maxArgs = 3 // the optional variant flag
		}
		register(op, &builtin{min: 2, max: maxArgs, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			if p, ok := ev.planAggregate(c, en); ok {
				return ev.runPlan(p, en)
			}
			t, err := ev.table(c.Args[0], en)
			if err != nil {
				return value.BlankValue, err
			}
			return ev.iterate(c, op, t, c.Args[1], en)
		}})
	}
}

// scanTable runs a scan of t under a filter context, restricted further to
// the rows in extra when it is set.
func (ev *evaluator) scanTable(f *FilterCtx, t *Table, extra *colstore.Bitmap, group []colstore.GroupKey, aggs []colstore.Agg) (*colstore.Result, bool, error) {
	fs, blank, err := f.scanFilters(ev.ctx, t)
	if err != nil {
		return nil, false, err
	}
	if extra != nil {
		fs = append(fs, colstore.Filter{Col: -1, Rows: extra})
		blank = blank && extra.Has(t.BlankRow())
	}
	res, err := ev.cachedScan(t, fs, group, aggs)
	return res, blank, err
}

// sumValue returns the SUM of group g, typed as the column: BLANK when the
// group had no values.
func sumValue(col *Column, a colstore.AggResult, g int) value.Value {
	if a.Count[g] == 0 {
		return value.BlankValue
	}
	if a.ISum != nil {
		switch col.Type {
		case value.Currency:
			return value.CurrencyUnits(a.ISum[g])
		case value.Boolean:
			return value.Int(a.ISum[g])
		}
		return value.Int(a.ISum[g])
	}
	return value.Float(a.Sum[g])
}

// countRows is COUNTROWS(table): BLANK for no rows. Without an argument it
// counts the rows of the table in the row context (in calculated columns).
func countRows(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	var t *tableVal
	if len(c.Args) == 0 {
		if en.row == nil || en.row.table == nil {
			return value.BlankValue, errorf(c, "COUNTROWS needs a table")
		}
		t = baseTable(en.row.table, en.filter)
	} else {
		var err error
		if t, err = ev.table(c.Args[0], en); err != nil {
			return value.BlankValue, err
		}
	}
	n, err := t.len(ev)
	if err != nil {
		return value.BlankValue, err
	}
	if n == 0 {
		return value.BlankValue, nil
	}
	return value.Int(int64(n)), nil
}

// minMax2 is MIN(a, b) and MAX(a, b): BLANK counts as 0 against numbers.
func minMax2(ev *evaluator, en *env, c *dax.Call, isMax bool) (value.Value, error) {
	a, err := ev.arg(c, 0, en)
	if err != nil {
		return a, err
	}
	b, err := ev.arg(c, 1, en)
	if err != nil {
		return b, err
	}
	if a.IsBlank() && b.IsBlank() {
		return value.BlankValue, nil
	}
	cmp, err := cmpValues(c, a, b, false)
	if err != nil {
		return value.BlankValue, err
	}
	pickA := (cmp >= 0) == isMax
	if cmp == 0 && a.IsBlank() {
		pickA = false
	}
	if pickA {
		return orZero(a, b), nil
	}
	return orZero(b, a), nil
}

func orZero(v, other value.Value) value.Value {
	if v.IsBlank() {
		return blankLike(other)
	}
	return v
}

// iterate evaluates SUMX, AVERAGEX, MINX, MAXX, COUNTX, COUNTAX and
// PRODUCTX: the expression for every row of the table, then the
// aggregate of its non-BLANK values. Over a model table with a numeric
// row expression the work is one scan.
func (ev *evaluator) iterate(c *dax.Call, op string, t *tableVal, e dax.Expr, en *env) (value.Value, error) {
	var (
		acc   value.Value
		count int64
		sum   = value.BlankValue
		prod  = value.BlankValue
	)
	// MINX and MAXX consider only the numbers among values of mixed types
	// unless their variant argument is TRUE (the DAX reference).
	variant := false
	if (op == "MINX" || op == "MAXX") && len(c.Args) == 3 {
		v, err := ev.arg(c, 2, en)
		if err != nil {
			return value.BlankValue, err
		}
		if variant, err = truth(c.Args[2], v); err != nil {
			return value.BlankValue, err
		}
	}
	err := ev.eachRow(t, en, func(inner *env) error {
		v, err := ev.scalar(e, inner)
		if err != nil {
			return err
		}
		if v.IsBlank() {
			return nil
		}
		switch op {
		case "SUMX", "AVERAGEX":
			if v.Type() == value.String {
				if v, err = toNumber(e, v); err != nil {
					return err
				}
			}
			if sum, err = arith(c, dax.OpAdd, sum, v); err != nil {
				return err
			}
		case "PRODUCTX":
			if prod.IsBlank() {
				prod = v
			} else if prod, err = arith(c, dax.OpMul, prod, v); err != nil {
				return err
			}
		case "MINX", "MAXX":
			if count > 0 && !variant && (acc.Type() == value.String) != (v.Type() == value.String) {
				if v.Type() == value.String {
					return nil
				}
				count = 0 // the first number replaces the texts seen
			}
			if count == 0 {
				acc = v
			} else if cmp := value.Compare(v, acc); (op == "MINX" && cmp < 0) || (op == "MAXX" && cmp > 0) {
				acc = v
			}
		case "COUNTX":
			// COUNTX counts numbers, dates and text; COUNTAX also
			// booleans.
			if v.Type() == value.Boolean {
				return nil
			}
		}
		count++
		return nil
	})
	if err != nil {
		return value.BlankValue, err
	}
	switch op {
	case "SUMX":
		return sum, nil
	case "PRODUCTX":
		return prod, nil
	case "AVERAGEX":
		if count == 0 {
			return value.BlankValue, nil
		}
		s, _ := sum.Number()
		return value.Float(s / float64(count)), nil
	case "MINX", "MAXX":
		if count == 0 {
			return value.BlankValue, nil
		}
		return acc, nil
	}
	if count == 0 {
		return value.BlankValue, nil
	}
	return value.Int(count), nil
}

// eachRow calls fn with a row context for every row of a table value.
func (ev *evaluator) eachRow(t *tableVal, en *env, fn func(*env) error) error {
	if t.isBase() && t.rows == nil {
		rows, err := t.baseRows(ev.ctx)
		if err != nil {
			return err
		}
		var ferr error
		n := 0
		rows.Each(func(r int) {
			if ferr != nil {
				return
			}
			if n++; n%4096 == 0 {
				if err := ev.ctx.Err(); err != nil {
					ferr = err
					return
				}
			}
			ferr = fn(en.withRow(&rowCtx{table: t.base, row: r}))
		})
		return ferr
	}
	for i, r := range t.rows {
		if i%4096 == 0 {
			if err := ev.ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(en.withRow(&rowCtx{tv: t, vals: r})); err != nil {
			return err
		}
	}
	return nil
}
