package colstore

import (
	"errors"
	"fmt"

	"github.com/meridian-olap/meridian/internal/value"
)

// Relationship is a many-to-one (or one-to-one) relationship between two
// tables of a database, with its index: for every id of the many side's
// key column, the row of the one side it finds.
type Relationship struct {
	Name          string
	From, To      int // table indexes: From is the many side
	FromCol       int
	ToCol         int
	Active        bool
	Bidirectional bool // filters also flow from the many side to the one side
	OneToOne      bool

	// ToRow maps each id of the From column to a row of the To table, or
	// to -1 when the key finds no row (and for BLANK keys): such rows of
	// the many side belong to the one side's blank row.
	ToRow []int32
	// Unmatched reports whether some row of the many side finds no row:
	// then the one side shows a blank row.
	Unmatched bool
}

// Database is the encoded data of one processed model: its tables and the
// indexes of its relationships. It is immutable once built.
type Database struct {
	Tables []*Table
	Rels   []*Relationship
}

// Table returns the table named name (case-insensitive), or nil.
func (d *Database) Table(name string) *Table {
	if i := d.TableIndex(name); i >= 0 {
		return d.Tables[i]
	}
	return nil
}

// TableIndex returns the index of the table named name, or -1.
func (d *Database) TableIndex(name string) int {
	for i, t := range d.Tables {
		if value.EqualText(t.Name, name) {
			return i
		}
	}
	return -1
}

// HasBlankRow reports whether table t shows a blank row: some relationship
// into it has keys that find no row.
func (d *Database) HasBlankRow(t int) bool {
	for _, r := range d.Rels {
		if r.To == t && r.Unmatched {
			return true
		}
	}
	return false
}

// Bytes is the memory the database's columns and indexes occupy.
func (d *Database) Bytes() int64 {
	var n int64
	for _, t := range d.Tables {
		n += t.Bytes()
	}
	for _, r := range d.Rels {
		n += int64(len(r.ToRow)) * 4
	}
	return n
}

// RelationshipSpec names the two ends of a relationship to index.
type RelationshipSpec struct {
	Name                  string
	FromTable, FromColumn string
	ToTable, ToColumn     string
	Active                bool
	Bidirectional         bool
	OneToOne              bool
}

// ErrDuplicateKey is wrapped when the one side of a relationship holds a
// value twice, which Analysis Services refuses at processing.
var ErrDuplicateKey = errors.New("colstore: duplicate value on the one side of a relationship")

// BuildRelationship indexes a relationship between two tables of d.
func (d *Database) BuildRelationship(spec RelationshipSpec) (*Relationship, error) {
	ft, tt := d.TableIndex(spec.FromTable), d.TableIndex(spec.ToTable)
	if ft < 0 {
		return nil, fmt.Errorf("colstore: relationship %q: no table %q", spec.Name, spec.FromTable)
	}
	if tt < 0 {
		return nil, fmt.Errorf("colstore: relationship %q: no table %q", spec.Name, spec.ToTable)
	}
	fc, tc := d.Tables[ft].ColumnIndex(spec.FromColumn), d.Tables[tt].ColumnIndex(spec.ToColumn)
	if fc < 0 {
		return nil, fmt.Errorf("colstore: relationship %q: no column %q in table %q", spec.Name, spec.FromColumn, spec.FromTable)
	}
	if tc < 0 {
		return nil, fmt.Errorf("colstore: relationship %q: no column %q in table %q", spec.Name, spec.ToColumn, spec.ToTable)
	}
	r := &Relationship{Name: spec.Name, From: ft, To: tt, FromCol: fc, ToCol: tc,
		Active: spec.Active, Bidirectional: spec.Bidirectional, OneToOne: spec.OneToOne}
	to := d.Tables[tt].Columns[tc]
	// Row of each id of the one side's key; a second row with the same id
	// is a duplicate key.
	rowOf := make([]int32, to.Dict.Len())
	for i := range rowOf {
		rowOf[i] = -1
	}
	ids := make([]uint32, SegmentRows)
	for _, s := range to.Segs {
		out := ids[:s.N]
		s.Unpack(0, out)
		for i, id := range out {
			if id == 0 {
				continue
			}
			if rowOf[id] >= 0 {
				return nil, fmt.Errorf("%w: relationship %q: column %s[%s] holds %q more than once",
					ErrDuplicateKey, spec.Name, spec.ToTable, spec.ToColumn, to.Dict.Value(id).String())
			}
			rowOf[id] = int32(s.Start + i)
		}
	}
	from := d.Tables[ft].Columns[fc]
	r.ToRow = make([]int32, from.Dict.Len())
	r.ToRow[0] = -1
	for id := 1; id < len(r.ToRow); id++ {
		r.ToRow[id] = -1
		if tid, ok := to.Dict.Find(from.Dict.Value(uint32(id))); ok && tid != 0 {
			r.ToRow[id] = rowOf[tid]
		}
	}
	// The blank row shows when a row of the many side finds no row: scan
	// for ids that map nowhere (a BLANK key counts, as in Analysis
	// Services).
	missing := NewBitmap(len(r.ToRow))
	anyMissing := false
	for id, row := range r.ToRow {
		if row < 0 {
			missing.Set(id)
			anyMissing = true
		}
	}
	if anyMissing {
		for _, s := range from.Segs {
			out := ids[:s.N]
			s.Unpack(0, out)
			for _, id := range out {
				if missing.Has(int(id)) {
					r.Unmatched = true
					break
				}
			}
			if r.Unmatched {
				break
			}
		}
	}
	return r, nil
}
