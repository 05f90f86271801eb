package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// QueryOptions configure one query; the zero value is the defaults.
type QueryOptions struct {
	Limits Limits
	// Now fixes TODAY and NOW (tests); zero means the clock.
	Now time.Time
	// Params are the values of @parameters.
	Params map[string]value.Value
	// ScalarOnly evaluates measures group by group, never set at a time:
	// slower, and the same answers. It exists to verify the set-at-a-time
	// evaluator against the scalar one.
	ScalarOnly bool
	// Stats, when set, collects the query's storage requests.
	Stats *QueryStats
}

// Result is the answer to a query: one table per EVALUATE.
type Result struct {
	Tables []*ResultTable
}

// ResultTable is the rows of one EVALUATE.
type ResultTable struct {
	Columns []ResultColumn
	Rows    [][]value.Value
}

// ResultColumn names a result column as Power BI does: Table[Column] for
// a model column, [Name] for a computed one.
type ResultColumn struct {
	Name string
	Type value.Type
}

// Query parses and evaluates a DAX query. Syntax errors are a
// dax.ErrorList; evaluation errors an *Error with the position.
func (m *Model) Query(ctx context.Context, src string, opts QueryOptions) (*Result, error) {
	q, err := dax.ParseQuery(src)
	if err != nil {
		return nil, err
	}
	return m.Execute(ctx, q, opts)
}

// Execute evaluates a parsed query.
func (m *Model) Execute(ctx context.Context, q *dax.Query, opts QueryOptions) (res *Result, err error) {
	defer func() {
		// A bug must not take the server down: report it as an error.
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("engine: internal error evaluating the query: %v", r)
		}
	}()
	// Query columns make a model of their own for the query.
	if m, err = m.withQueryColumns(ctx, q, opts.Limits); err != nil {
		return nil, err
	}
	if opts.Stats != nil {
		ctx = context.WithValue(ctx, statsKey{}, opts.Stats)
	}
	ev := newEvaluator(ctx, m, opts.Limits)
	ev.scalarOnly = opts.ScalarOnly
	if !opts.Now.IsZero() {
		ev.now = opts.Now
	}
	root := &env{filter: newFilterCtx(m)}
	// Definitions: measures and functions first (they may be used before
	// their definition), then variables and tables in order.
	for _, d := range q.Defines {
		switch x := d.(type) {
		case *dax.MeasureDef:
			t := m.Table(x.Table)
			if t == nil {
				return nil, errorf(x, "cannot find table %s for measure [%s]", dax.QuoteTable(x.Table), x.Name)
			}
			ev.measures[fold(x.Name)] = &Measure{Table: t, Name: x.Name, Expr: x.Expr}
		case *dax.FunctionDef:
			ev.funcs[strings.ToUpper(x.Name)] = x
		}
	}
	for _, d := range q.Defines {
		switch x := d.(type) {
		case *dax.VarDef:
			if ev.isTableExpr(x.Expr, root) {
				t, err := ev.table(x.Expr, root)
				if err != nil {
					return nil, err
				}
				root = root.withTableVar(x.Name, t)
				continue
			}
			v, err := ev.scalar(x.Expr, root)
			if err != nil {
				return nil, err
			}
			root = root.withVar(x.Name, v)
		case *dax.TableDef:
			t, err := ev.table(x.Expr, root)
			if err != nil {
				return nil, err
			}
			if err := t.materialize(ev); err != nil {
				return nil, err
			}
			ev.tables[fold(x.Name)] = t
		}
	}
	res = &Result{}
	for _, e := range q.Evaluates {
		rt, err := ev.evaluate(e, root)
		if err != nil {
			return nil, err
		}
		res.Tables = append(res.Tables, rt)
	}
	return res, nil
}

// evaluate runs one EVALUATE with its ORDER BY and START AT.
func (ev *evaluator) evaluate(e *dax.Evaluate, en *env) (*ResultTable, error) {
	t, err := ev.table(e.Table, en)
	if err != nil {
		return nil, err
	}
	if err := t.materialize(ev); err != nil {
		return nil, err
	}
	rows := t.rows
	if len(e.OrderBy) > 0 {
		keys := make([][]value.Value, len(rows))
		for j, k := range e.OrderBy {
			vals, err := ev.evalRows(k.Expr, en, t, t.cols, rows)
			if err != nil {
				return nil, err
			}
			for i := range keys {
				if j == 0 {
					keys[i] = make([]value.Value, len(e.OrderBy))
				}
				keys[i][j] = vals[i]
			}
		}
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		cmpKeys := func(a, b []value.Value) int {
			for j, k := range e.OrderBy {
				c := value.Compare(a[j], b[j])
				if k.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmpKeys(keys[a], keys[b]) })
		start := 0
		if len(e.StartAt) > 0 {
			at := make([]value.Value, len(e.OrderBy))
			for j, s := range e.StartAt {
				v, err := ev.scalar(s, en)
				if err != nil {
					return nil, err
				}
				at[j] = v
			}
			n := len(e.StartAt)
			start = len(idx)
			for i, r := range idx {
				c := 0
				for j := 0; j < n && c == 0; j++ {
					c = value.Compare(keys[r][j], at[j])
					if e.OrderBy[j].Desc {
						c = -c
					}
				}
				if c >= 0 {
					start = i
					break
				}
			}
		}
		sorted := make([][]value.Value, 0, len(idx)-start)
		for _, i := range idx[start:] {
			sorted = append(sorted, rows[i])
		}
		rows = sorted
	}
	rt := &ResultTable{Rows: rows}
	for _, c := range t.cols {
		rt.Columns = append(rt.Columns, ResultColumn{Name: c.key(), Type: c.Type})
	}
	return rt, nil
}

// Evaluate evaluates a scalar expression with no filters, for calculated
// columns and tests.
func (m *Model) Evaluate(ctx context.Context, src string) (value.Value, error) {
	e, err := dax.ParseExpr(src)
	if err != nil {
		return value.BlankValue, err
	}
	ev := newEvaluator(ctx, m, Limits{})
	return ev.scalar(e, &env{filter: newFilterCtx(m)})
}
