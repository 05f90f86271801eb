package colstore

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/value"
)

// PartitionData is the raw data of one partition, in table order.
type PartitionData struct {
	Name  string
	Chunk *Chunk
}

// BuildTable encodes a table from the raw data of its partitions. Columns
// are encoded in parallel. The result depends only on the data and its
// order, never on timing, so equal inputs give equal images.
func BuildTable(ctx context.Context, name string, specs []ColumnSpec, parts []PartitionData) (*Table, error) {
	t := &Table{Name: name}
	for _, p := range parts {
		if p.Chunk == nil {
			return nil, fmt.Errorf("colstore: table %q partition %q has no data", name, p.Name)
		}
		if len(p.Chunk.cols) != len(specs) {
			return nil, fmt.Errorf("colstore: table %q partition %q has %d columns, want %d", name, p.Name, len(p.Chunk.cols), len(specs))
		}
		t.Partitions = append(t.Partitions, Partition{Name: p.Name, Start: t.Rows, Rows: p.Chunk.Rows})
		t.Rows += p.Chunk.Rows
	}
	t.Columns = make([]*Column, len(specs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, spec := range specs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			raws := make([]*rawColumn, len(parts))
			for j, p := range parts {
				raws[j] = p.Chunk.cols[i]
			}
			c, err := encodeColumn(spec, raws)
			if err != nil {
				return fmt.Errorf("encode column %q: %w", spec.Name, err)
			}
			t.Columns[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("colstore: table %q: %w", name, err)
	}
	return t, nil
}

// idFiller writes into out the ids of rows off, off+1, ... of partition
// p, whose raw column is r. Ids are produced a segment at a time: a call
// per value would cost more than the lookup.
type idFiller func(p int, r *rawColumn, off int, out []uint32)

// encodeColumn builds the dictionary of a column and packs its ids.
func encodeColumn(spec ColumnSpec, raws []*rawColumn) (*Column, error) {
	var (
		dict *Dict
		fill idFiller
	)
	switch spec.Type {
	case value.String:
		dict, fill = encodeStrings(raws)
	case value.Integer, value.Currency, value.Boolean:
		dict, fill = encodeInts(spec.Type, raws, 0)
	case value.Decimal, value.DateTime:
		dict, fill = encodeFloats(spec.Type, raws)
	default:
		dict, fill = encodeVariants(raws)
	}
	c := &Column{Name: spec.Name, Type: spec.Type, Dict: dict}
	// Segments never span partitions, so each is filled from one raw
	// column.
	buf := make([]uint32, SegmentRows)
	start := 0
	for p, r := range raws {
		for off := 0; off < r.n; off += SegmentRows {
			out := buf[:min(SegmentRows, r.n-off)]
			fill(p, r, off, out)
			var maxID uint32
			for _, id := range out {
				maxID = max(maxID, id)
			}
			c.Segs = append(c.Segs, Segment{Start: start + off, Packed: Pack(out, BitsFor(maxID)), MaxID: maxID})
		}
		start += r.n
	}
	return c, nil
}

func encodeStrings(raws []*rawColumn) (*Dict, idFiller) {
	d := &Dict{Type: value.String, Kind: DictList}
	global := make(map[string]uint32)
	remaps := make([][]uint32, len(raws))
	for i, r := range raws {
		remap := make([]uint32, len(r.strs)+1)
		for j, s := range r.strs {
			key := value.FoldText(s)
			id, ok := global[key]
			if !ok {
				d.Strs = append(d.Strs, s)
				id = uint32(len(d.Strs))
				global[key] = id
			}
			remap[j+1] = id
		}
		remaps[i] = remap
	}
	d.N = len(d.Strs)
	return d, func(p int, r *rawColumn, off int, out []uint32) {
		// A BLANK row has raw id 0, which every remap keeps as 0.
		remap := remaps[p]
		for i, id := range r.strIDs[off : off+len(out)] {
			out[i] = remap[id]
		}
	}
}

// clearBlanks sets to 0 the ids of BLANK rows among rows off... of r.
func clearBlanks(r *rawColumn, off int, out []uint32) {
	if r.nblank == 0 {
		return
	}
	for i := range out {
		if r.isBlank(off + i) {
			out[i] = 0
		}
	}
}

// maxRangeBits bounds value encoding: a column whose range needs more bits
// than this uses a list dictionary whatever the sizes say.
const maxRangeBits = 32

// Value encoding is considered only for ranges of fewer than maxRangeIDs
// values (the distinct values are counted in a bitmap of the range), so
// a value-encoded dictionary never has more ids than that; decoding
// refuses one that claims more.
const maxRangeIDs = 1 << 26

// Value encoding also needs ids not much sparser than the values: what
// is kept per id (a group's slot, a filter's bit, a relationship's
// mapping) is sized by the range, not by the values. A range of more
// than rangeSparsity ids per distinct value, plus rangeSlack, takes a
// list: ten keys scattered between 1 and 50,000,000 would otherwise make
// every group-by of them allocate 50 million slots.
const (
	rangeSparsity = 4
	rangeSlack    = 1 << 16
)

// encodeInts encodes an integer-valued column.
func encodeInts(t value.Type, raws []*rawColumn, exp int8) (*Dict, idFiller) {
	vals := make([][]int64, len(raws))
	for i, r := range raws {
		vals[i] = r.ints
	}
	return encodeScaled(t, raws, exp, vals)
}

// encodeScaled encodes a column of integers: vals[p] holds the values of
// raws[p] (0 for BLANK rows). For Decimal and DateTime columns whose
// values are exact decimals, the caller passes the values already scaled
// by 10^-exp and the dictionary's exponent.
func encodeScaled(t value.Type, raws []*rawColumn, exp int8, vals [][]int64) (*Dict, idFiller) {
	rows, nonBlank := 0, 0
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	// k is the largest power of ten dividing every value of an integer
	// column (prices in cents stored as ten-thousandths have k = 2).
	k := int8(18)
	if exp < 0 {
		k = 0
	}
	for p, r := range raws {
		rows += r.n
		nonBlank += r.n - r.nblank
		for i, v := range vals[p][:r.n] {
			if r.nblank > 0 && r.isBlank(i) {
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
			for k > 0 && !dividesPow10(v, k) {
				k--
			}
		}
	}
	if nonBlank == 0 {
		return &Dict{Type: t, Kind: DictRange, Base: 0, Exp: exp}, func(_ int, _ *rawColumn, _ int, out []uint32) { clear(out) }
	}
	if exp >= 0 {
		exp = k
	}
	scale := ipow10[max(k, 0)]
	if exp < 0 {
		scale = 1
	}
	// Every value is a multiple of scale = 10^k: dividing is exact, and
	// quot does it with a shift and a multiplication.
	quot := exactDivider(k)
	if scale == 1 {
		quot = exactDivider(0)
	}
	base, top := lo/scale, hi/scale
	span := uint64(top - base) // fits: both are within int64 and top >= base
	rangeBits := bits.Len64(span + 1)
	// offsets writes v/scale-base for the values of a run of rows; BLANK
	// rows get whatever their stored 0 gives.
	offsets := func(vs []int64, out []uint64) {
		if scale == 1 {
			for i, v := range vs {
				out[i] = uint64(v - base)
			}
			return
		}
		for i, v := range vs {
			out[i] = uint64(quot.div(v) - base)
		}
	}
	tmp := make([]uint64, SegmentRows)

	// Count distinct values cheaply when the range is small enough for a
	// bitmap; otherwise with a map, giving up on value encoding.
	var distinct int
	var seen []uint64
	if span < maxRangeIDs {
		seen = make([]uint64, span/64+1)
		for p, r := range raws {
			for off := 0; off < r.n; off += SegmentRows {
				offs := tmp[:min(SegmentRows, r.n-off)]
				offsets(vals[p][off:off+len(offs)], offs)
				for i, o := range offs {
					if r.nblank > 0 && r.isBlank(off+i) {
						continue
					}
					if seen[o/64]&(1<<(o%64)) == 0 {
						seen[o/64] |= 1 << (o % 64)
						distinct++
					}
				}
			}
		}
	}
	useRange := false
	if seen != nil && rangeBits <= maxRangeBits && span < uint64(distinct)*rangeSparsity+rangeSlack {
		listBits := bits.Len(uint(distinct))
		rangeCost := int64(rows) * int64(rangeBits)
		listCost := int64(rows)*int64(listBits) + int64(distinct)*64
		useRange = rangeCost <= listCost+listCost/10
	}
	if useRange {
		d := &Dict{Type: t, Kind: DictRange, N: int(span) + 1, Base: base, Exp: exp}
		return d, func(p int, r *rawColumn, off int, out []uint32) {
			vs := vals[p][off : off+len(out)]
			if scale == 1 {
				for i, v := range vs {
					out[i] = uint32(v-base) + 1
				}
			} else {
				for i, v := range vs {
					out[i] = uint32(quot.div(v)-base) + 1
				}
			}
			clearBlanks(r, off, out)
		}
	}
	// List dictionary in first-seen order, keeping the true values. When
	// the range was small enough to count with a bitmap, a dense table
	// maps values to ids; otherwise a hash map does.
	d := &Dict{Type: t, Kind: DictList}
	float := t == value.Decimal || t == value.DateTime
	add := func(r *rawColumn, i int, v int64) uint32 {
		if float {
			d.Floats = append(d.Floats, r.floats[i])
			return uint32(len(d.Floats))
		}
		d.Ints = append(d.Ints, v)
		return uint32(len(d.Ints))
	}
	if seen != nil {
		dense := make([]uint32, span+1)
		for p, r := range raws {
			vs := vals[p]
			for i := 0; i < r.n; i++ {
				if r.nblank > 0 && r.isBlank(i) {
					continue
				}
				v := vs[i]
				if o := quot.div(v) - base; dense[o] == 0 {
					dense[o] = add(r, i, v)
				}
			}
		}
		d.N = max(len(d.Ints), len(d.Floats))
		return d, func(p int, r *rawColumn, off int, out []uint32) {
			offs := tmp[:len(out)]
			offsets(vals[p][off:off+len(out)], offs)
			if r.nblank == 0 {
				for i, o := range offs {
					out[i] = dense[o]
				}
				return
			}
			for i, o := range offs {
				if r.isBlank(off + i) {
					out[i] = 0
				} else {
					out[i] = dense[o]
				}
			}
		}
	}
	ids := make(map[int64]uint32)
	for p, r := range raws {
		vs := vals[p]
		for i := 0; i < r.n; i++ {
			if r.nblank > 0 && r.isBlank(i) {
				continue
			}
			v := vs[i]
			if _, ok := ids[v]; !ok {
				ids[v] = add(r, i, v)
			}
		}
	}
	d.N = len(ids)
	return d, func(p int, r *rawColumn, off int, out []uint32) {
		for i, v := range vals[p][off : off+len(out)] {
			out[i] = ids[v]
		}
		clearBlanks(r, off, out)
	}
}

// inv5 holds the inverses of 5^k modulo 2^64 and lim5 the largest
// multiple bound MaxUint64/5^k: an unsigned u is a multiple of the odd
// 5^k exactly when u×inv5[k] (mod 2^64) is at most lim5[k]. A division
// instruction per value costs several times a multiplication.
var inv5, lim5 [19]uint64

func init() {
	p := uint64(1)
	for k := range inv5 {
		// Newton's iteration doubles the correct low bits of the
		// inverse each step; p is odd, so x = p is right to 3 bits.
		x := p
		for range 5 {
			x *= 2 - p*x
		}
		inv5[k], lim5[k] = x, math.MaxUint64/p
		p *= 5
	}
}

// dividesPow10 reports whether 10^k divides v, for 0 <= k <= 18.
func dividesPow10(v int64, k int8) bool {
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	if u == 0 {
		return true
	}
	return bits.TrailingZeros64(u) >= int(k) && (u>>uint(k))*inv5[k] <= lim5[k]
}

// exactDivider divides multiples of 10^k by 10^k.
type exactDivider int8

// div returns v / 10^k for a multiple v of 10^k: v / 2^k by an
// arithmetic shift, then / 5^k by multiplying with the inverse, which is
// exact modulo 2^64 and so for every multiple, negative ones included.
func (k exactDivider) div(v int64) int64 {
	if k == 0 {
		return v
	}
	return int64(uint64(v>>uint(k)) * inv5[k])
}

// maxDecimalPlaces bounds the search for a decimal scale that represents
// every value of a Decimal column exactly.
const maxDecimalPlaces = 9

// decimalPlaces returns the fewest decimal places p such that f is the
// float64 nearest to an integer divided by 10^p, or -1.
func decimalPlaces(f float64) int {
	for p := 0; p <= maxDecimalPlaces; p++ {
		x := math.Round(f * pow10[p])
		if math.Abs(x) >= 1<<53 {
			return -1
		}
		if scaleFloat(int64(x), int8(-p)) == f {
			return p
		}
	}
	return -1
}

func encodeFloats(t value.Type, raws []*rawColumn) (*Dict, idFiller) {
	places := 0
	for _, r := range raws {
		for i := 0; i < r.n && places >= 0; i++ {
			if r.isBlank(i) {
				continue
			}
			f := r.floats[i]
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				continue
			}
			p := decimalPlaces(f)
			if p < 0 {
				places = -1
				break
			}
			places = max(places, p)
		}
		if places < 0 {
			break
		}
	}
	if places >= 0 {
		s := pow10[places]
		vals := make([][]int64, len(raws))
		for p, r := range raws {
			vs := make([]int64, r.n)
			if places == 0 {
				for i, f := range r.floats[:r.n] {
					vs[i] = int64(f) // whole: checked above
				}
			} else {
				for i, f := range r.floats[:r.n] {
					vs[i] = int64(math.Round(f * s))
				}
			}
			vals[p] = vs
		}
		return encodeScaled(t, raws, int8(-places), vals)
	}
	// Arbitrary doubles: a list of their bit patterns.
	d := &Dict{Type: t, Kind: DictList}
	ids := make(map[uint64]uint32)
	for _, r := range raws {
		for i := 0; i < r.n; i++ {
			if r.isBlank(i) {
				continue
			}
			f := r.floats[i]
			if f == 0 {
				f = 0 // fold -0 into 0
			}
			b := math.Float64bits(f)
			if _, ok := ids[b]; !ok {
				d.Floats = append(d.Floats, f)
				ids[b] = uint32(len(d.Floats))
			}
		}
	}
	d.N = len(d.Floats)
	return d, func(_ int, r *rawColumn, off int, out []uint32) {
		for i, f := range r.floats[off : off+len(out)] {
			if f == 0 {
				f = 0
			}
			out[i] = ids[math.Float64bits(f)]
		}
		clearBlanks(r, off, out)
	}
}

func encodeVariants(raws []*rawColumn) (*Dict, idFiller) {
	d := &Dict{Type: value.Variant, Kind: DictList}
	ids := make(map[any]uint32)
	for _, r := range raws {
		for i := 0; i < r.n; i++ {
			v := r.vals[i]
			if v.IsBlank() {
				continue
			}
			k := variantKey(v)
			if _, ok := ids[k]; !ok {
				d.Vals = append(d.Vals, v)
				ids[k] = uint32(len(d.Vals))
			}
		}
	}
	d.N = len(d.Vals)
	return d, func(_ int, r *rawColumn, off int, out []uint32) {
		for i, v := range r.vals[off : off+len(out)] {
			if v.IsBlank() {
				out[i] = 0
				continue
			}
			out[i] = ids[variantKey(v)]
		}
	}
}
