package colstore

import (
	"cmp"
	"math/bits"
	"slices"
)

// idFilter is a Filter on dictionary ids prepared for the scan loop. The
// membership test is branchless (rows are appended to the selection and
// the count advances by the test's outcome), since a filter's outcome per
// row is as unpredictable as the data.
type idFilter struct {
	words  []uint64
	lo, hi uint32 // smallest and largest member
	rng    bool   // the members are exactly lo..hi, so a comparison decides
	empty  bool
	// lut has a byte per id (1 for members) when the dictionary is small
	// enough for it to stay in the first-level cache: one load per row
	// instead of a load, two shifts and a mask.
	lut []uint8
}

// maxFilterLUT bounds the dictionaries whose filters get a byte table.
const maxFilterLUT = 1 << 15

func newIDFilter(b *Bitmap) idFilter {
	f := idFilter{words: b.Words(), empty: true}
	for wi, w := range f.words {
		if w != 0 {
			f.lo = uint32(wi*64 + bits.TrailingZeros64(w))
			f.empty = false
			break
		}
	}
	if f.empty {
		return f
	}
	for wi := len(f.words) - 1; wi >= 0; wi-- {
		if w := f.words[wi]; w != 0 {
			f.hi = uint32(wi*64 + 63 - bits.LeadingZeros64(w))
			break
		}
	}
	f.rng = b.Count() == int(f.hi-f.lo)+1
	if !f.rng && b.Cap() <= maxFilterLUT {
		f.lut = make([]uint8, b.Cap())
		b.Each(func(i int) { f.lut[i] = 1 })
	}
	return f
}

// segEffect is what a filter does to one segment.
type segEffect uint8

const (
	segSome segEffect = iota // rows must be tested
	segNone                  // no row passes: skip the segment
	segAll                   // every row passes: skip the test
)

// forSegment classifies the filter for a segment whose ids are at most
// maxID, from the segment's header alone.
func (f *idFilter) forSegment(maxID uint32) segEffect {
	switch {
	case f.empty || f.lo > maxID:
		return segNone
	case f.rng && f.lo == 0 && f.hi >= maxID:
		return segAll
	}
	return segSome
}

// first selects the rows i of a block whose ids[i] pass; sel must have
// room for len(ids) rows.
func (f *idFilter) first(sel []uint16, ids []uint32) []uint16 {
	out := sel[:len(ids)]
	k := 0
	if f.rng {
		lo, span := f.lo, f.hi-f.lo
		for i, id := range ids {
			out[k] = uint16(i)
			k += b2i(id-lo <= span)
		}
		return out[:k]
	}
	if lut := f.lut; lut != nil {
		for i, id := range ids {
			out[k] = uint16(i)
			k += int(lut[id])
		}
		return out[:k]
	}
	words := f.words
	for i, id := range ids {
		out[k] = uint16(i)
		k += int(words[id>>6] >> (id & 63) & 1)
	}
	return out[:k]
}

// refine keeps the rows of sel whose ids pass, in place.
func (f *idFilter) refine(sel []uint16, ids []uint32) []uint16 {
	k := 0
	if f.rng {
		lo, span := f.lo, f.hi-f.lo
		for _, i := range sel {
			sel[k] = i
			k += b2i(ids[i]-lo <= span)
		}
		return sel[:k]
	}
	if lut := f.lut; lut != nil {
		for _, i := range sel {
			sel[k] = i
			k += int(lut[ids[i]])
		}
		return sel[:k]
	}
	words := f.words
	for _, i := range sel {
		id := ids[i]
		sel[k] = i
		k += int(words[id>>6] >> (id & 63) & 1)
	}
	return sel[:k]
}

// filterRows selects (first) or keeps the rows of a block of n rows
// starting at table row row that are in rows, a word of the bitmap at a
// time.
func filterRows(sel []uint16, first bool, n, row int, rows *Bitmap) []uint16 {
	words := rows.Words()
	if first {
		out := sel[:0]
		for i := 0; i < n; {
			r := row + i
			take := min(64-r&63, n-i)
			w := words[r>>6] >> uint(r&63)
			if take < 64 {
				w &= 1<<uint(take) - 1
			}
			for w != 0 {
				out = append(out, uint16(i+bits.TrailingZeros64(w)))
				w &= w - 1
			}
			i += take
		}
		return out
	}
	k := 0
	for _, i := range sel {
		r := row + int(i)
		sel[k] = i
		k += int(words[r>>6] >> uint(r&63) & 1)
	}
	return sel[:k]
}

// filterOrder returns the indexes of filters ordered by the share of ids
// (or rows) each keeps, smallest first. The share of ids is only an
// estimate of the share of rows, but it is free and usually right.
func filterOrder(fs []Filter, t *Table) []int {
	share := make([]float64, len(fs))
	order := make([]int, len(fs))
	for i, f := range fs {
		order[i] = i
		switch {
		case f.Rows != nil:
			share[i] = float64(f.Rows.Count()) / float64(max(t.Rows, 1))
		case f.IDs != nil:
			share[i] = float64(f.IDs.Count()) / float64(max(f.IDs.Cap(), 1))
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(share[a], share[b]) })
	return order
}
