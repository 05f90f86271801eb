package engine

import (
	"context"
	"fmt"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// ComputeColumn evaluates a calculated column's expression for every row
// of table t (row context on the row, no filters) and returns the values.
func (m *Model) ComputeColumn(ctx context.Context, t *Table, expr string) ([]value.Value, error) {
	e, err := dax.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(ctx, m, Limits{})
	root := &env{filter: newFilterCtx(m)}
	out := make([]value.Value, t.Rows())
	for r := 0; r < t.Rows(); r++ {
		if r%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v, err := ev.scalar(e, root.withRow(&rowCtx{table: t, row: r}))
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", r+1, err)
		}
		out[r] = v
	}
	return out, nil
}

// TableRows is a table computed by a DAX table expression: column names
// and types, and rows.
type TableRows struct {
	Names []string
	Types []value.Type
	Rows  [][]value.Value
}

// ComputeTable evaluates a calculated table's expression.
func (m *Model) ComputeTable(ctx context.Context, expr string) (*TableRows, error) {
	e, err := dax.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(ctx, m, Limits{})
	t, err := ev.table(e, &env{filter: newFilterCtx(m)})
	if err != nil {
		return nil, err
	}
	if err := t.materialize(ev); err != nil {
		return nil, err
	}
	out := &TableRows{Rows: t.rows}
	for _, c := range t.cols {
		out.Names = append(out.Names, c.Name)
		out.Types = append(out.Types, c.Type)
	}
	return out, nil
}

// CheckExpression parses an expression and resolves its names against the
// model without evaluating it: the deploy-time check of role filters and
// measures. It reports unknown tables, columns and measures.
func (m *Model) CheckExpression(expr string, table *Table) error {
	e, err := dax.ParseExpr(expr)
	if err != nil {
		return err
	}
	var errs []error
	dax.Inspect(e, func(n dax.Node) bool {
		switch x := n.(type) {
		case *dax.ColumnRef:
			if x.Table == "" {
				if m.Measure(x.Column) == nil && (table == nil || table.Column(x.Column) == nil) {
					errs = append(errs, errorf(x, "cannot find a measure or column [%s]", x.Column))
				}
				return true
			}
			t := m.Table(x.Table)
			if t == nil {
				errs = append(errs, errorf(x, "cannot find table %s", dax.QuoteTable(x.Table)))
			} else if t.Column(x.Column) == nil && m.Measure(x.Column) == nil {
				errs = append(errs, errorf(x, "cannot find column %s in table %s", dax.QuoteColumn(x.Column), dax.QuoteTable(t.Name)))
			}
		case *dax.TableRef:
			if m.Table(x.Name) == nil {
				errs = append(errs, errorf(x, "cannot find table %s", dax.QuoteTable(x.Name)))
			}
		case *dax.Call:
			if builtins[x.Func] == nil {
				errs = append(errs, unsupported(x, "the function "+x.Func))
			}
		}
		return true
	})
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
