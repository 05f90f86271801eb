package engine

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/meridian-olap/meridian/internal/colstore"
)

type filterKind uint8

const (
	// fCol keeps the rows whose column has one of a set of ids.
	fCol filterKind = iota
	// fTuple keeps the rows whose columns' ids form one of a set of tuples.
	fTuple
	// fRows keeps a set of rows of one table: a filter on its expanded
	// table (every column of the table and of the tables it reaches).
	fRows
)

// filter is one filter of a filter context: a relation over columns. It
// is immutable once in a context.
type filter struct {
	kind filterKind
	cols []*Column
	// fCol: allowed ids of cols[0], capacity its dictionary's length.
	ids *colstore.Bitmap
	// fTuple: allowed tuples, each the ids of cols in order, as tupleKey.
	tuples map[string]struct{}
	// fRows: allowed rows of table, capacity Rows+1 (the last bit is the
	// blank row).
	table *Table
	rows  *colstore.Bitmap

	// scans caches the filter's translations to scan filters of other
	// tables, by the path of relationships (a context may be read by
	// several goroutines).
	mu    sync.Mutex
	scans map[pathKey]translated
}

// pathKey identifies a chain of relationships.
type pathKey struct {
	n    int
	rels [6]int
}

// keyOf returns the key of a path; ok is false for paths too long to
// cache.
func keyOf(p []*Rel) (k pathKey, ok bool) {
	if len(p) > len(k.rels) {
		return k, false
	}
	k.n = len(p)
	for i, r := range p {
		k.rels[i] = r.Index
	}
	return k, true
}

// translated is a filter turned into a scan filter of another table.
type translated struct {
	tf    colstore.Filter
	blank bool
}

// tupleKey packs ids into a map key.
func tupleKey(ids []uint32) string {
	b := make([]byte, 4*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(b[4*i:], id)
	}
	return string(b)
}

func tupleIDs(key string, out []uint32) []uint32 {
	out = out[:0]
	for i := 0; i+4 <= len(key); i += 4 {
		out = append(out, binary.LittleEndian.Uint32([]byte(key[i:i+4])))
	}
	return out
}

func colFilter(c *Column, ids *colstore.Bitmap) *filter {
	return &filter{kind: fCol, cols: []*Column{c}, ids: ids}
}

func rowFilter(t *Table, rows *colstore.Bitmap) *filter {
	return &filter{kind: fRows, table: t, rows: rows}
}

// tupleFilter builds a filter over several columns; with one column it is
// a column filter.
func tupleFilter(cols []*Column, tuples map[string]struct{}) *filter {
	if len(cols) == 1 {
		ids := colstore.NewBitmap(cols[0].Data.Dict.Len())
		var buf []uint32
		for k := range tuples {
			buf = tupleIDs(k, buf)
			ids.Set(int(buf[0]))
		}
		return colFilter(cols[0], ids)
	}
	return &filter{kind: fTuple, cols: cols, tuples: tuples}
}

// hasColumn reports whether the filter constrains column c directly.
func (f *filter) hasColumn(c *Column) bool {
	if f.kind == fRows {
		return c.Table == f.table
	}
	return slices.Contains(f.cols, c)
}

// relOverride is how a CALCULATE modifier changed a relationship.
type relOverride struct {
	active bool
	cross  CrossFilter
}

// FilterCtx is a filter context: filters and the relationship changes of
// USERELATIONSHIP and CROSSFILTER. It is immutable; operations return new
// contexts. Derived data (the visible rows of a table, translated scan
// filters) is cached per context.
type FilterCtx struct {
	m       *Model
	filters []*filter
	rels    map[int]relOverride
	// selected is the context ALLSELECTED restores: the filters outside the
	// innermost SUMMARIZECOLUMNS (or the query's filters).
	selected *FilterCtx
	// scope lists the columns grouped by the innermost SUMMARIZECOLUMNS
	// at this point: ISINSCOPE is true for them.
	scope []*Column

	mu      sync.Mutex
	visible map[int]*colstore.Bitmap
	paths   map[[2]int][]*Rel
}

// newFilterCtx returns an empty filter context.
func newFilterCtx(m *Model) *FilterCtx { return &FilterCtx{m: m} }

// derive returns a copy of c sharing its filters, ready for changes.
func (c *FilterCtx) derive() *FilterCtx {
	n := &FilterCtx{m: c.m, filters: slices.Clone(c.filters), selected: c.selected, scope: c.scope}
	if c.rels != nil {
		n.rels = make(map[int]relOverride, len(c.rels))
		for k, v := range c.rels {
			n.rels[k] = v
		}
	}
	return n
}

// relActive reports whether r carries filters in this context.
func (c *FilterCtx) relState(r *Rel) (active bool, cross CrossFilter) {
	if o, ok := c.rels[r.Index]; ok {
		return o.active, o.cross
	}
	return r.Active, r.Cross
}

// path returns the chain of active many-to-one relationships leading from
// table from to table to, nil when to is not in from's expanded table,
// and an empty non-nil slice when from == to.
func (c *FilterCtx) path(from, to *Table) []*Rel {
	if from == to {
		return []*Rel{}
	}
	key := [2]int{from.Index, to.Index}
	c.mu.Lock()
	p, ok := c.paths[key]
	c.mu.Unlock()
	if ok {
		return p
	}
	p = c.findPath(from, to)
	c.mu.Lock()
	if c.paths == nil {
		c.paths = map[[2]int][]*Rel{}
	}
	c.paths[key] = p
	c.mu.Unlock()
	return p
}

func (c *FilterCtx) findPath(from, to *Table) []*Rel {
	type step struct {
		t    *Table
		path []*Rel
	}
	seen := map[*Table]bool{from: true}
	queue := []step{{from, nil}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, r := range c.m.Rels {
			if r.From.Table != s.t {
				continue
			}
			active, cross := c.relState(r)
			if !active || cross == NoFilter || seen[r.To.Table] {
				continue
			}
			p := append(slices.Clone(s.path), r)
			if r.To.Table == to {
				return p
			}
			seen[r.To.Table] = true
			queue = append(queue, step{r.To.Table, p})
		}
	}
	return nil
}

// reaches reports whether table to is in table from's expanded table.
func (c *FilterCtx) reaches(from, to *Table) bool { return c.path(from, to) != nil }

// followRow maps a row of the first table of path to the row of the last;
// the blank row (or a key that finds no row) maps to the blank row.
func followRow(path []*Rel, row int) int {
	for _, r := range path {
		from := r.From.Table
		if row >= from.Rows() {
			row = r.To.Table.BlankRow()
			continue
		}
		to := r.Data.ToRow[r.From.Data.ID(row)]
		if to < 0 {
			row = r.To.Table.BlankRow()
		} else {
			row = int(to)
		}
	}
	return row
}

// idAt returns the id of column col at row, 0 for the blank row.
func idAt(col *Column, row int) uint32 {
	if row >= col.Table.Rows() {
		return 0
	}
	return col.Data.ID(row)
}

// keyToRow maps every id of the first relationship's foreign key to the
// row of the path's last table.
func keyToRow(path []*Rel) []int32 {
	first := path[0]
	out := make([]int32, len(first.Data.ToRow))
	for id, row := range first.Data.ToRow {
		r := int(row)
		if row < 0 {
			r = first.To.Table.BlankRow()
		}
		out[id] = int32(followRow(path[1:], r))
	}
	return out
}

// with returns a context with filters added (intersected with the ones
// there).
func (c *FilterCtx) with(fs ...*filter) *FilterCtx {
	n := c.derive()
	n.filters = append(n.filters, fs...)
	return n
}

// withoutColumns returns a context where no filter constrains the given
// columns: column filters on them are dropped, tuple filters lose them,
// and row filters on their tables are projected off them (kept when the
// table's remaining columns still tell its rows apart).
func (c *FilterCtx) withoutColumns(cols []*Column) *FilterCtx {
	n := c.derive()
	n.filters = n.filters[:0]
	for _, f := range c.filters {
		switch f.kind {
		case fCol:
			if slices.Contains(cols, f.cols[0]) {
				continue
			}
		case fTuple:
			var keep []int
			for i, fc := range f.cols {
				if !slices.Contains(cols, fc) {
					keep = append(keep, i)
				}
			}
			if len(keep) == 0 {
				continue
			}
			if len(keep) < len(f.cols) {
				f = projectTuples(f, keep)
			}
		case fRows:
			var removed []*Column
			for _, col := range cols {
				if col.Table == f.table {
					removed = append(removed, col)
				}
			}
			if len(removed) == len(f.table.Columns) {
				continue
			}
			if len(removed) > 0 {
				f = projectRows(f, removed)
			}
		}
		n.filters = append(n.filters, f)
	}
	return n
}

// withoutTable removes the filters on every column of t's expanded table,
// as ALL(t) and REMOVEFILTERS(t) do.
func (c *FilterCtx) withoutTable(t *Table) *FilterCtx {
	var cols []*Column
	for _, u := range c.m.Tables {
		if c.reaches(t, u) {
			cols = append(cols, u.Columns...)
		}
	}
	n := c.withoutColumns(cols)
	// Row filters on tables inside t's expanded table go too.
	kept := n.filters[:0]
	for _, f := range n.filters {
		if f.kind == fRows && c.reaches(t, f.table) {
			continue
		}
		kept = append(kept, f)
	}
	n.filters = kept
	return n
}

// projectTuples keeps the columns at positions keep of a tuple filter.
func projectTuples(f *filter, keep []int) *filter {
	cols := make([]*Column, len(keep))
	for i, k := range keep {
		cols[i] = f.cols[k]
	}
	out := map[string]struct{}{}
	var buf, sub []uint32
	for key := range f.tuples {
		buf = tupleIDs(key, buf)
		sub = sub[:0]
		for _, k := range keep {
			sub = append(sub, buf[k])
		}
		out[tupleKey(sub)] = struct{}{}
	}
	return tupleFilter(cols, out)
}

// projectRows removes columns from a row filter: the rows kept are those
// whose remaining columns match a kept row's. When a remaining column is
// unique per row the rows stay as they are.
func projectRows(f *filter, removed []*Column) *filter {
	t := f.table
	var rest []*Column
	for _, col := range t.Columns {
		if !slices.Contains(removed, col) {
			rest = append(rest, col)
		}
	}
	for _, col := range rest {
		if col.Data.Dict.N == t.Rows() && !t.HasBlankRow() {
			return f
		}
	}
	keys := map[string]struct{}{}
	ids := make([]uint32, len(rest))
	key := func(row int) string {
		for i, col := range rest {
			ids[i] = idAt(col, row)
		}
		return tupleKey(ids)
	}
	f.rows.Each(func(row int) { keys[key(row)] = struct{}{} })
	out := colstore.NewBitmap(t.Rows() + 1)
	for row := 0; row <= t.Rows(); row++ {
		if row == t.Rows() && !t.HasBlankRow() {
			break
		}
		if _, ok := keys[key(row)]; ok {
			out.Set(row)
		}
	}
	return rowFilter(t, out)
}

// affects reports whether filter f restricts the rows of table t through
// the relationships that are active in c (bidirectional ones aside).
func (c *FilterCtx) affects(f *filter, t *Table) bool {
	switch f.kind {
	case fRows:
		return c.reaches(t, f.table) || c.reaches(f.table, t)
	default:
		for _, col := range f.cols {
			if c.reaches(t, col.Table) {
				return true
			}
		}
	}
	return false
}
