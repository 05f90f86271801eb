package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// Query-scoped columns (DEFINE COLUMN 'Table'[Name] = expression).
//
// A query column is a calculated column that lives for one query: its
// expression is evaluated for every row of its table, in a row context
// and without filters, as a calculated column is at refresh. The query
// then runs on a Model derived from the pinned one, in which the table
// has the extra column; the pinned Model and its data are shared, never
// changed. Columns are computed in the order they are defined, each
// seeing the ones before it and the query's measures and functions.

// withQueryColumns returns m extended with the query's DEFINE COLUMN
// definitions, or m itself when there are none.
func (m *Model) withQueryColumns(ctx context.Context, q *dax.Query, limits Limits) (*Model, error) {
	cur := m
	for _, d := range q.Defines {
		cd, ok := d.(*dax.ColumnDef)
		if !ok {
			continue
		}
		next, err := cur.addQueryColumn(ctx, q, cd, limits)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// addQueryColumn computes one query column on m and returns the model
// with it.
func (m *Model) addQueryColumn(ctx context.Context, q *dax.Query, cd *dax.ColumnDef, limits Limits) (*Model, error) {
	t := m.Table(cd.Table)
	if t == nil {
		return nil, errorf(cd, "cannot find table %s for column %s", dax.QuoteTable(cd.Table), dax.QuoteColumn(cd.Name))
	}
	if strings.TrimSpace(cd.Name) == "" {
		return nil, errorf(cd, "a column name cannot be empty")
	}
	if t.Column(cd.Name) != nil || m.Measure(cd.Name) != nil {
		return nil, errorf(cd, "the name %s is already used in the model; a query column needs a new name", dax.QuoteColumn(cd.Name))
	}
	if t.CalcGroup != nil {
		return nil, errorf(cd, "a query column cannot be added to the calculation group %s", dax.QuoteTable(t.Name))
	}
	// The expression may use the query's measures and functions.
	ev := newEvaluator(ctx, m, limits)
	for _, d := range q.Defines {
		switch x := d.(type) {
		case *dax.MeasureDef:
			mt := m.Table(x.Table)
			if mt == nil {
				return nil, errorf(x, "cannot find table %s for measure [%s]", dax.QuoteTable(x.Table), x.Name)
			}
			ev.measures[fold(x.Name)] = &Measure{Table: mt, Name: x.Name, Expr: x.Expr}
		case *dax.FunctionDef:
			ev.funcs[strings.ToUpper(x.Name)] = x
		}
	}
	if err := ev.checkRows(t.Rows()); err != nil {
		return nil, err
	}
	root := &env{filter: newFilterCtx(m)}
	rows := make([][]value.Value, t.Rows())
	for r := range rows {
		if r%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v, err := ev.scalar(cd.Expr, root.withRow(&rowCtx{table: t, row: r}))
		if err != nil {
			return nil, err
		}
		rows[r] = []value.Value{v}
	}
	typ := commonType(rows, 0)
	normalizeColumns([]colInfo{{Type: typ}}, rows)

	// Encode the values partition by partition, so that the column has
	// the table's segments.
	spec := []colstore.ColumnSpec{{Name: cd.Name, Type: typ}}
	var parts []colstore.PartitionData
	for _, p := range t.Data.Partitions {
		b := colstore.NewBuilder(spec, colstore.BuilderOptions{})
		for r := p.Start; r < p.Start+p.Rows; r++ {
			if err := b.Append(rows[r]); err != nil {
				return nil, errorf(cd, "column %s, row %d: %v", dax.QuoteColumn(cd.Name), r+1, err)
			}
		}
		ch, err := b.Finish()
		if err != nil {
			return nil, fmt.Errorf("engine: query column %s: %w", dax.QuoteColumn(cd.Name), err)
		}
		parts = append(parts, colstore.PartitionData{Name: p.Name, Chunk: ch})
	}
	var col *colstore.Column
	if len(parts) == 0 {
		col = colstore.BlankColumn(cd.Name, typ, t.Data)
	} else {
		built, err := colstore.BuildTable(ctx, t.Name, spec, parts)
		if err != nil {
			return nil, fmt.Errorf("engine: query column %s: %w", dax.QuoteColumn(cd.Name), err)
		}
		col = built.Columns[0]
	}

	// The derived definition and data share everything but the table.
	def := *m.Def
	def.Model.Tables = slices.Clone(m.Def.Model.Tables)
	td := *t.Def
	td.Columns = append(slices.Clone(t.Def.Columns), &model.Column{Name: cd.Name, DataType: typ, TMSLDataType: typ.TMSLName(),
		Type: model.ColumnCalculated, Expression: model.Expr(dax.Format(cd.Expr))})
	def.Model.Tables[t.Index] = &td
	data := &colstore.Database{Tables: slices.Clone(m.Data.Tables), Rels: m.Data.Rels}
	st := *m.Data.Tables[t.Index]
	st.Columns = append(slices.Clone(st.Columns), col)
	data.Tables[t.Index] = &st
	return NewModel(&def, data)
}
