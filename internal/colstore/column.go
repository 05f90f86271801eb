package colstore

import (
	"sort"

	"github.com/meridian-olap/meridian/internal/value"
)

// SegmentRows is the most rows a segment holds. Segments are the unit of
// parallel scans; a partition's rows start a new segment, so refreshing one
// partition leaves the segments of the others untouched.
const SegmentRows = 1 << 20

// Segment is a run of consecutive rows of one column: their dictionary ids,
// bit-packed.
type Segment struct {
	Start int // first row, in table row numbers
	Packed
	MaxID uint32 // largest id in the segment, for pruning
}

// Rows is the number of rows in the segment.
func (s *Segment) Rows() int { return s.N }

// Column is one encoded column: a dictionary and the ids of its rows.
type Column struct {
	Name string
	Type value.Type
	Dict *Dict
	Segs []Segment
}

// Rows is the number of rows in the column.
func (c *Column) Rows() int {
	if len(c.Segs) == 0 {
		return 0
	}
	last := c.Segs[len(c.Segs)-1]
	return last.Start + last.N
}

// segFor returns the index of the segment holding row.
func (c *Column) segFor(row int) int {
	return sort.Search(len(c.Segs), func(i int) bool { return c.Segs[i].Start+c.Segs[i].N > row })
}

// ID returns the dictionary id of row. It is for random access by the
// formula engine; scans unpack whole segments instead.
func (c *Column) ID(row int) uint32 {
	i := c.segFor(row)
	if i >= len(c.Segs) {
		return 0
	}
	s := &c.Segs[i]
	return s.Get(row - s.Start)
}

// Value returns the value of row.
func (c *Column) Value(row int) value.Value { return c.Dict.Value(c.ID(row)) }

// IDs writes the ids of rows [start, start+len(out)) to out, across
// segments.
func (c *Column) IDs(start int, out []uint32) {
	for len(out) > 0 {
		i := c.segFor(start)
		if i >= len(c.Segs) {
			clear(out)
			return
		}
		s := &c.Segs[i]
		off := start - s.Start
		n := min(len(out), s.N-off)
		s.Unpack(off, out[:n])
		out = out[n:]
		start += n
	}
}

// Bytes is the memory the column occupies: dictionary and packed ids.
func (c *Column) Bytes() int64 {
	n := c.Dict.Bytes()
	for i := range c.Segs {
		n += c.Segs[i].Bytes()
	}
	return n
}

// Partition records where one partition's rows are in its table.
type Partition struct {
	Name  string
	Start int // first row
	Rows  int
}

// Table is one encoded table. Every column has the same number of rows and
// the same segment boundaries.
type Table struct {
	Name       string
	Rows       int
	Columns    []*Column
	Partitions []Partition
}

// Column returns the column named name (case-insensitive), or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if value.EqualText(c.Name, name) {
			return c
		}
	}
	return nil
}

// ColumnIndex returns the index of the column named name, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if value.EqualText(c.Name, name) {
			return i
		}
	}
	return -1
}

// Bytes is the memory the table's columns occupy.
func (t *Table) Bytes() int64 {
	var n int64
	for _, c := range t.Columns {
		n += c.Bytes()
	}
	return n
}

// SegmentBounds returns the start row and length of each segment; all
// columns share them.
func (t *Table) SegmentBounds() [][2]int {
	if len(t.Columns) > 0 {
		c := t.Columns[0]
		out := make([][2]int, len(c.Segs))
		for i, s := range c.Segs {
			out[i] = [2]int{s.Start, s.N}
		}
		return out
	}
	return segmentBounds(t.Partitions)
}

// segmentBounds cuts each partition into segments of at most SegmentRows.
func segmentBounds(parts []Partition) [][2]int {
	var out [][2]int
	for _, p := range parts {
		for off := 0; off < p.Rows; off += SegmentRows {
			out = append(out, [2]int{p.Start + off, min(SegmentRows, p.Rows-off)})
		}
	}
	return out
}

// BlankColumn returns a column of t's rows that are all BLANK, with t's
// segment boundaries: the data of a column not yet computed.
func BlankColumn(name string, typ value.Type, t *Table) *Column {
	c := &Column{Name: name, Type: typ, Dict: &Dict{Type: typ, Kind: DictList}}
	if typ == value.Integer || typ == value.Currency || typ == value.Boolean || typ == value.Decimal || typ == value.DateTime {
		c.Dict.Kind = DictRange
	}
	for _, b := range segmentBounds(t.Partitions) {
		c.Segs = append(c.Segs, Segment{Start: b[0], Packed: Packed{N: b[1]}})
	}
	return c
}
