package engine

import (
	"context"
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/value"
)

// colInfo describes one column of a table value.
type colInfo struct {
	// Table and Name are how the column is shown: 'Table'[Name] for
	// columns of the model, [Name] (Table "") for added ones.
	Table string
	Name  string
	// Lineage is the model column the values come from, or nil for
	// computed columns. Filters built from the table apply to it.
	Lineage *Column
	Type    value.Type
}

// key returns how a query result names the column: Table[Name] or [Name].
func (c colInfo) key() string {
	if c.Table == "" {
		return "[" + c.Name + "]"
	}
	return c.Table + "[" + c.Name + "]"
}

func lineageInfo(c *Column) colInfo {
	return colInfo{Table: c.Table.Name, Name: c.Name, Lineage: c, Type: c.Type}
}

// tableVal is the value of a table expression. It is either the rows of
// a model table visible in a filter context (base, with filter and an
// optional extra row set), kept lazy so that large tables are never
// copied, or materialized rows of values.
type tableVal struct {
	cols []colInfo
	rows [][]value.Value

	base    *Table
	filter  *FilterCtx       // rows of base visible here
	sel     *colstore.Bitmap // and, when set, in this set (capacity Rows+1)
	noBlank bool             // without the blank row (ALLNOBLANKROW)
}

// baseTable returns the rows of t visible in f.
func baseTable(t *Table, f *FilterCtx) *tableVal {
	tv := &tableVal{base: t, filter: f}
	for _, c := range t.Columns {
		tv.cols = append(tv.cols, lineageInfo(c))
	}
	return tv
}

// materialized returns a table of rows.
func materialized(cols []colInfo, rows [][]value.Value) *tableVal {
	return &tableVal{cols: cols, rows: rows}
}

// isBase reports whether the table is rows of a model table.
func (tv *tableVal) isBase() bool { return tv.base != nil }

// baseRows returns the selected rows of a base table value.
func (tv *tableVal) baseRows(ctx context.Context) (*colstore.Bitmap, error) {
	vis, err := tv.filter.visibleRows(ctx, tv.base)
	if err != nil {
		return nil, err
	}
	if tv.sel == nil && !tv.noBlank {
		return vis, nil
	}
	out := vis.Clone()
	if tv.sel != nil {
		out.And(tv.sel)
	}
	if tv.noBlank {
		out.Clear(tv.base.BlankRow())
	}
	return out, nil
}

// materialize turns a base table value into rows, bounded by limit.
func (tv *tableVal) materialize(ev *evaluator) error {
	if tv.base == nil || tv.rows != nil {
		return nil
	}
	rows, err := tv.baseRows(ev.ctx)
	if err != nil {
		return err
	}
	n := rows.Count()
	if err := ev.checkRows(n); err != nil {
		return err
	}
	out := make([][]value.Value, 0, n)
	t := tv.base
	rows.Each(func(r int) {
		row := make([]value.Value, len(t.Columns))
		for i, c := range t.Columns {
			if r < t.Rows() {
				row[i] = c.Data.Value(r)
			}
		}
		out = append(out, row)
	})
	tv.rows = out
	return nil
}

// len returns the number of rows.
func (tv *tableVal) len(ev *evaluator) (int, error) {
	if tv.base != nil && tv.rows == nil {
		rows, err := tv.baseRows(ev.ctx)
		if err != nil {
			return 0, err
		}
		return rows.Count(), nil
	}
	return len(tv.rows), nil
}

// colIndex returns the index of the column with lineage c, or -1.
func (tv *tableVal) colIndex(c *Column) int {
	for i, ci := range tv.cols {
		if ci.Lineage == c {
			return i
		}
	}
	return -1
}

// nameIndex returns the index of the column named name (an added column
// or a model column), or -1.
func (tv *tableVal) nameIndex(table, name string) int {
	for i, ci := range tv.cols {
		if value.EqualText(ci.Name, name) && (table == "" || value.EqualText(ci.Table, table)) {
			return i
		}
	}
	return -1
}

// distinctRows removes duplicate rows (DISTINCT of a table, UNION without
// ALL is not DAX; DISTINCT is).
func distinctRows(rows [][]value.Value) [][]value.Value {
	seen := map[string]bool{}
	out := rows[:0:0]
	for _, r := range rows {
		k := rowKey(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// rowKey encodes a row of values so that equal rows (text compared under
// the collation) have equal keys.
func rowKey(r []value.Value) string {
	b := make([]byte, 0, 16*len(r))
	for _, v := range r {
		b = appendKey(b, v)
	}
	return string(b)
}

func appendKey(b []byte, v value.Value) []byte {
	switch v.Type() {
	case value.Blank:
		return append(b, 0)
	case value.String:
		b = append(b, 's')
		b = append(b, value.FoldText(v.AsString())...)
		return append(b, 0)
	case value.Boolean:
		if v.AsBool() {
			return append(b, 't')
		}
		return append(b, 'f')
	}
	f, _ := v.Number()
	b = append(b, 'n')
	return append(b, []byte(value.Float(f).String())...)
}

// sortRowsBy sorts rows by the given column indexes ascending.
func sortRowsBy(rows [][]value.Value, idx []int) {
	slices.SortStableFunc(rows, func(a, b []value.Value) int {
		for _, i := range idx {
			if c := value.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}
