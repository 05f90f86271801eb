package colstore

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/meridian-olap/meridian/internal/value"
)

// DictKind says how a dictionary maps ids to values.
type DictKind uint8

const (
	// DictList keeps the distinct values in a list, id i holding the value
	// at index i-1. Ids are given in the order values were first seen, so
	// processing a new partition only appends to the list and leaves the
	// ids of every other partition unchanged.
	DictList DictKind = iota
	// DictRange is value encoding: id i holds the number (Base+i-1)×10^Exp.
	// It stores no values and its id order is the value order.
	DictRange
)

// Dict maps the ids of one column to values. Id 0 is always BLANK; ids
// 1..N are the column's distinct values. A Dict is immutable once built,
// apart from derived indexes built on first use, and is safe for
// concurrent use.
type Dict struct {
	Type value.Type
	Kind DictKind
	N    int // distinct non-blank values

	// DictList values, by id-1. Exactly one is used, by type: Ints for
	// Integer, Currency (units) and Boolean; Floats for Decimal and
	// DateTime; Strs for String; Vals for Variant.
	Ints   []int64
	Floats []float64
	Strs   []string
	Vals   []value.Value

	// DictRange parameters.
	Base int64
	Exp  int8

	// chunks are the id counts of the objects a DictList is stored in
	// (see chunkCounts): kept from the image it was read from and extended
	// by a partition refresh, so that stored chunks keep their bytes.
	chunks []int

	derive  sync.Once
	rank    []uint32 // id -> position in value order (blank = 0)
	byRank  []uint32 // position -> id
	index   map[any]uint32
	indexMu sync.Once
	lut     []float64
	lutOnce sync.Once
	i32     []int32
	i32Once sync.Once
}

// Len is the number of ids, BLANK included.
func (d *Dict) Len() int { return d.N + 1 }

// rangeNumber returns the stored integer of id for DictRange.
func (d *Dict) rangeInt(id uint32) int64 { return d.Base + int64(id) - 1 }

var pow10 = [...]float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

var ipow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// scaleFloat returns s×10^exp as the float64 nearest to the exact
// decimal, which is what parsing its text would give.
func scaleFloat(s int64, exp int8) float64 {
	switch {
	case exp == 0:
		return float64(s)
	case exp < 0:
		return float64(s) / pow10[-exp]
	default:
		return float64(s) * pow10[exp]
	}
}

// Value returns the value of id. Ids beyond the dictionary are BLANK.
func (d *Dict) Value(id uint32) value.Value {
	if id == 0 || int(id) > d.N {
		return value.BlankValue
	}
	if d.Kind == DictRange {
		s := d.rangeInt(id)
		switch d.Type {
		case value.Integer:
			return value.Int(s * ipow10[d.Exp])
		case value.Currency:
			return value.CurrencyUnits(s * ipow10[d.Exp])
		case value.Boolean:
			return value.Bool(s != 0)
		case value.DateTime:
			return value.Date(scaleFloat(s, d.Exp))
		default:
			return value.Float(scaleFloat(s, d.Exp))
		}
	}
	i := id - 1
	switch d.Type {
	case value.Integer:
		return value.Int(d.Ints[i])
	case value.Currency:
		return value.CurrencyUnits(d.Ints[i])
	case value.Boolean:
		return value.Bool(d.Ints[i] != 0)
	case value.Decimal:
		return value.Float(d.Floats[i])
	case value.DateTime:
		return value.Date(d.Floats[i])
	case value.String:
		return value.Str(d.Strs[i])
	}
	return d.Vals[i]
}

// Float returns id's value as a float64 for aggregation: Currency in
// currency units (not ten-thousandths), DateTime as OLE days, BLANK as 0.
// Strings are 0.
func (d *Dict) Float(id uint32) float64 {
	if id == 0 || int(id) > d.N {
		return 0
	}
	if d.Kind == DictRange {
		s := d.rangeInt(id)
		if d.Type == value.Currency {
			return scaleFloat(s, d.Exp) / value.CurrencyScale
		}
		return scaleFloat(s, d.Exp)
	}
	switch d.Type {
	case value.Integer, value.Boolean:
		return float64(d.Ints[id-1])
	case value.Currency:
		return float64(d.Ints[id-1]) / value.CurrencyScale
	case value.Decimal, value.DateTime:
		return d.Floats[id-1]
	case value.Variant:
		f, _ := d.Vals[id-1].Number()
		return f
	}
	return 0
}

// Int returns id's value as an int64 for exact aggregation of Integer,
// Currency (units) and Boolean columns. Other types give 0.
func (d *Dict) Int(id uint32) int64 {
	if id == 0 || int(id) > d.N {
		return 0
	}
	if d.Kind == DictRange {
		return d.rangeInt(id) * ipow10[max(d.Exp, 0)]
	}
	if d.Ints != nil {
		return d.Ints[id-1]
	}
	return 0
}

// IsExactInt reports whether Int gives the column's values exactly.
func (d *Dict) IsExactInt() bool {
	switch d.Type {
	case value.Integer, value.Currency, value.Boolean:
		return true
	}
	return false
}

// Find returns the id of v, converting between numeric types as needed
// (an Integer 3 finds the Decimal 3.0). Strings are matched under the
// collation. ok is false when the column does not hold v. BLANK is id 0.
func (d *Dict) Find(v value.Value) (uint32, bool) {
	if v.IsBlank() {
		return 0, true
	}
	if d.Kind == DictRange {
		return d.findRange(v)
	}
	d.indexMu.Do(d.buildIndex)
	key, ok := d.key(v)
	if !ok {
		return 0, false
	}
	id, ok := d.index[key]
	return id, ok
}

func (d *Dict) findRange(v value.Value) (uint32, bool) {
	var s int64
	switch d.Type {
	case value.Integer, value.Currency, value.Boolean:
		var n int64
		switch {
		case d.Type == v.Type(), v.Type() == value.Integer && d.Type == value.Integer:
			n = v.AsInt()
		case d.Type == value.Currency:
			f, ok := v.Number()
			if !ok {
				return 0, false
			}
			u, ok := value.FloatToCurrencyUnits(f)
			if !ok || float64(u)/value.CurrencyScale != f {
				return 0, false
			}
			n = u
		default:
			f, ok := v.Number()
			if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
				return 0, false
			}
			n = int64(f)
		}
		p := ipow10[d.Exp]
		if n%p != 0 {
			return 0, false
		}
		s = n / p
	default:
		f, ok := v.Number()
		if !ok || v.Type() == value.String {
			return 0, false
		}
		x := math.Round(f * pow10[-min(d.Exp, 0)] / pow10[max(d.Exp, 0)])
		if math.Abs(x) > 1<<62 {
			return 0, false
		}
		s = int64(x)
		if scaleFloat(s, d.Exp) != f {
			return 0, false
		}
	}
	id := s - d.Base + 1
	if id < 1 || id > int64(d.N) {
		return 0, false
	}
	return uint32(id), true
}

// key returns the index key of v for this dictionary's type.
func (d *Dict) key(v value.Value) (any, bool) {
	switch d.Type {
	case value.String:
		if v.Type() != value.String {
			return nil, false
		}
		return value.FoldText(v.AsString()), true
	case value.Integer, value.Boolean:
		if v.Type() == d.Type || (d.Type == value.Integer && v.Type() == value.Boolean) {
			return v.AsInt(), true
		}
		f, ok := v.Number()
		if !ok || v.Type() == value.String || f != math.Trunc(f) {
			return nil, false
		}
		return int64(f), true
	case value.Currency:
		if v.Type() == value.Currency {
			return v.AsInt(), true
		}
		f, ok := v.Number()
		if !ok || v.Type() == value.String {
			return nil, false
		}
		u, ok := value.FloatToCurrencyUnits(f)
		if !ok || float64(u)/value.CurrencyScale != f {
			return nil, false
		}
		return u, true
	case value.Decimal, value.DateTime:
		f, ok := v.Number()
		if !ok || v.Type() == value.String {
			return nil, false
		}
		return f, true
	}
	return variantKey(v), true
}

type variantKeyT struct {
	t value.Type
	s string
}

func variantKey(v value.Value) any {
	if v.Type() == value.String {
		return variantKeyT{value.String, value.FoldText(v.AsString())}
	}
	if f, ok := v.Number(); ok {
		return f
	}
	return variantKeyT{v.Type(), v.String()}
}

func (d *Dict) buildIndex() {
	d.index = make(map[any]uint32, d.N)
	for id := uint32(1); int(id) <= d.N; id++ {
		k, _ := d.key(d.Value(id))
		if _, dup := d.index[k]; !dup {
			d.index[k] = id
		}
	}
}

// A Ranking orders a dictionary's ids by value: BLANK (id 0) has rank 0,
// the smallest value 1, and comparing ranks compares values. The zero
// Ranking is the identity, the ranking of a value-encoded dictionary,
// whose ids are in value order already.
type Ranking struct {
	rank   []uint32 // id -> rank; nil for the identity
	byRank []uint32 // rank -> id
}

// Of returns the rank of id.
func (r Ranking) Of(id uint32) uint32 {
	if r.rank == nil {
		return id
	}
	return r.rank[id]
}

// ID returns the id of the given rank.
func (r Ranking) ID(rank uint32) uint32 {
	if r.byRank == nil {
		return rank
	}
	return r.byRank[rank]
}

// Table returns the rank of every id, or nil for the identity: for loops
// that look ranks up row by row.
func (r Ranking) Table() []uint32 { return r.rank }

// Ranking returns the dictionary's order by value, built on first use
// for a list dictionary. A value-encoded dictionary needs no table: its
// range may span up to 2^26 ids, 512 MiB of tables that would say
// nothing.
func (d *Dict) Ranking() Ranking {
	if d.Kind == DictRange {
		return Ranking{}
	}
	d.derive.Do(d.buildRank)
	return Ranking{rank: d.rank, byRank: d.byRank}
}

func (d *Dict) buildRank() {
	n := d.Len()
	d.byRank = make([]uint32, n)
	for i := range d.byRank {
		d.byRank[i] = uint32(i)
	}
	{
		ids := d.byRank[1:]
		switch d.Type {
		case value.Integer, value.Currency, value.Boolean:
			slices.SortFunc(ids, func(a, b uint32) int { return cmp.Compare(d.Ints[a-1], d.Ints[b-1]) })
		case value.Decimal, value.DateTime:
			slices.SortFunc(ids, func(a, b uint32) int { return cmp.Compare(d.Floats[a-1], d.Floats[b-1]) })
		case value.String:
			slices.SortFunc(ids, func(a, b uint32) int { return value.CompareText(d.Strs[a-1], d.Strs[b-1]) })
		default:
			slices.SortFunc(ids, func(a, b uint32) int { return value.Compare(d.Vals[a-1], d.Vals[b-1]) })
		}
	}
	d.rank = make([]uint32, n)
	for pos, id := range d.byRank {
		d.rank[id] = uint32(pos)
	}
}

// Bytes is the memory the dictionary's values occupy (derived indexes
// excluded).
func (d *Dict) Bytes() int64 {
	n := int64(len(d.Ints))*8 + int64(len(d.Floats))*8 + int64(len(d.Vals))*32
	for _, s := range d.Strs {
		n += int64(len(s)) + 16
	}
	return n
}

// String describes the dictionary for debugging.
func (d *Dict) String() string {
	if d.Kind == DictRange {
		return fmt.Sprintf("%s range base=%d exp=%d n=%d", d.Type, d.Base, d.Exp, d.N)
	}
	return fmt.Sprintf("%s list n=%d", d.Type, d.N)
}
