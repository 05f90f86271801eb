package engine

import (
	"context"
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
)

// scanFilters translates the context into filters on table t's own
// columns and rows, for a colstore scan of t. blank reports whether t's
// blank row passes the filters (it is not part of t's stored rows).
func (c *FilterCtx) scanFilters(ctx context.Context, t *Table) (fs []colstore.Filter, blank bool, err error) {
	return c.scanFiltersGuarded(ctx, t, nil)
}

func (c *FilterCtx) scanFiltersGuarded(ctx context.Context, t *Table, busy []*Table) (fs []colstore.Filter, blank bool, err error) {
	blank = t.HasBlankRow()
	for _, f := range c.filters {
		tf, b, ok := c.translate(f, t)
		if !ok {
			continue
		}
		blank = blank && b
		fs = append(fs, tf)
	}
	// Bidirectional relationships: the rows of t referenced by the visible
	// rows of a many-side table whose filters do not already reach t.
	busy = append(busy, t)
	for _, r := range c.m.Rels {
		active, cross := c.relState(r)
		if !active || cross != BothWays || slices.Contains(busy, r.From.Table) {
			continue
		}
		if r.To.Table != t {
			// A table t reaches may be filtered from its own many side:
			// its visible rows filter t.
			d := r.To.Table
			if slices.Contains(busy, d) || !c.reaches(t, d) || !c.filtersReachOnlyThrough(r.From.Table, d) {
				continue
			}
			rows, err := c.visibleRowsGuarded(ctx, d, busy)
			if err != nil {
				return nil, false, err
			}
			tf, b, _ := c.rowsToScanFilter(t, d, rows)
			blank = blank && b
			fs = append(fs, tf)
			continue
		}
		many := r.From.Table
		if !c.filtersReachOnlyThrough(many, t) {
			continue
		}
		rows, err := c.visibleRowsGuarded(ctx, many, busy)
		if err != nil {
			return nil, false, err
		}
		sel := colstore.NewBitmap(t.Rows() + 1)
		rows.Each(func(row int) {
			to := t.BlankRow()
			if row < many.Rows() {
				if x := r.Data.ToRow[r.From.Data.ID(row)]; x >= 0 {
					to = int(x)
				}
			}
			sel.Set(to)
		})
		blank = blank && sel.Has(t.BlankRow())
		fs = append(fs, colstore.Filter{Col: -1, Rows: sel})
	}
	return fs, blank, nil
}

// filtersReachOnlyThrough reports whether some filter of c restricts the
// many side of a bidirectional relationship without restricting the one
// side one: only then does crossing back change anything.
func (c *FilterCtx) filtersReachOnlyThrough(many, one *Table) bool {
	for _, f := range c.filters {
		if c.affects(f, many) && !c.affects(f, one) {
			return true
		}
	}
	return false
}

// translate turns one filter into a scan filter on table t. ok is false
// when the filter does not restrict t; blank says whether t's blank row
// passes it.
func (c *FilterCtx) translate(f *filter, t *Table) (tf colstore.Filter, blank, ok bool) {
	switch f.kind {
	case fCol:
		col := f.cols[0]
		p := c.path(t, col.Table)
		if p == nil {
			return tf, true, false
		}
		if len(p) == 0 {
			return colstore.Filter{Col: col.Index, IDs: f.ids}, f.ids.Has(0), true
		}
		// The translation depends only on the filter and the path: it is
		// made once (a filter on a customer attribute maps every key).
		key, cache := keyOf(p)
		if cache {
			f.mu.Lock()
			tr, ok := f.scans[key]
			f.mu.Unlock()
			if ok {
				return tr.tf, tr.blank, true
			}
		}
		fk := p[0].From
		rows := keyToRow(p)
		ids := colstore.NewBitmap(len(rows))
		for id, row := range rows {
			if f.ids.Has(int(idAt(col, int(row)))) {
				ids.Set(id)
			}
		}
		tf = colstore.Filter{Col: fk.Index, IDs: ids}
		if cache {
			f.mu.Lock()
			if f.scans == nil {
				f.scans = map[pathKey]translated{}
			}
			f.scans[key] = translated{tf, f.ids.Has(0)}
			f.mu.Unlock()
		}
		return tf, f.ids.Has(0), true
	case fTuple:
		var reach []int
		var paths [][]*Rel
		for i, col := range f.cols {
			if p := c.path(t, col.Table); p != nil {
				reach = append(reach, i)
				paths = append(paths, p)
			}
		}
		if len(reach) == 0 {
			return tf, true, false
		}
		if len(reach) < len(f.cols) {
			f = projectTuples(f, reach)
		}
		ids := make([]uint32, len(f.cols))
		// When every column sits in one table, decide per row of that
		// table and map the rows to t's foreign key; else per row of t.
		sameTable := true
		for _, col := range f.cols {
			sameTable = sameTable && col.Table == f.cols[0].Table
		}
		if sameTable {
			d := f.cols[0].Table
			keep := colstore.NewBitmap(d.Rows() + 1)
			for row := 0; row <= d.Rows(); row++ {
				for i, col := range f.cols {
					ids[i] = idAt(col, row)
				}
				if _, in := f.tuples[tupleKey(ids)]; in {
					keep.Set(row)
				}
			}
			return c.rowsToScanFilter(t, d, keep)
		}
		keep := colstore.NewBitmap(t.Rows() + 1)
		for row := 0; row <= t.Rows(); row++ {
			for i, col := range f.cols {
				ids[i] = idAt(col, followRow(paths[i], row))
			}
			if _, in := f.tuples[tupleKey(ids)]; in {
				keep.Set(row)
			}
		}
		return colstore.Filter{Col: -1, Rows: keep}, keep.Has(t.BlankRow()), true
	default:
		if c.reaches(t, f.table) {
			return c.rowsToScanFilter(t, f.table, f.rows)
		}
		if p := c.path(f.table, t); p != nil {
			// t is a dimension of the filtered table: its rows referenced by
			// the filtered rows.
			keep := colstore.NewBitmap(t.Rows() + 1)
			f.rows.Each(func(row int) { keep.Set(followRow(p, row)) })
			return colstore.Filter{Col: -1, Rows: keep}, keep.Has(t.BlankRow()), true
		}
		return tf, true, false
	}
}

// rowsToScanFilter turns allowed rows of table d (in t's expanded table)
// into a filter on t.
func (c *FilterCtx) rowsToScanFilter(t, d *Table, rows *colstore.Bitmap) (colstore.Filter, bool, bool) {
	p := c.path(t, d)
	if len(p) == 0 {
		return colstore.Filter{Col: -1, Rows: rows}, rows.Has(t.BlankRow()), true
	}
	m := keyToRow(p)
	ids := colstore.NewBitmap(len(m))
	for id, row := range m {
		if rows.Has(int(row)) {
			ids.Set(id)
		}
	}
	return colstore.Filter{Col: p[0].From.Index, IDs: ids}, rows.Has(d.BlankRow()), true
}

// visibleRows returns the rows of t the context lets through, with the
// blank row as bit Rows when it is visible. The result is cached and must
// not be modified.
func (c *FilterCtx) visibleRows(ctx context.Context, t *Table) (*colstore.Bitmap, error) {
	return c.visibleRowsGuarded(ctx, t, nil)
}

func (c *FilterCtx) visibleRowsGuarded(ctx context.Context, t *Table, busy []*Table) (*colstore.Bitmap, error) {
	c.mu.Lock()
	if b, ok := c.visible[t.Index]; ok {
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	fs, blank, err := c.scanFiltersGuarded(ctx, t, busy)
	if err != nil {
		return nil, err
	}
	rows, err := runSelect(ctx, &colstore.Scan{Table: t.Data, Filters: fs})
	if err != nil {
		return nil, err
	}
	if blank {
		rows.Set(t.BlankRow())
	}
	if len(busy) == 0 {
		c.mu.Lock()
		if c.visible == nil {
			c.visible = map[int]*colstore.Bitmap{}
		}
		c.visible[t.Index] = rows
		c.mu.Unlock()
	}
	return rows, nil
}
