package colstore

import (
	"math"

	"github.com/meridian-olap/meridian/internal/value"
)

// totalBlock is fastBlock for a scan without group keys. Every row goes
// to the one group, so the aggregates accumulate in local variables: a
// running total kept in memory makes each row wait for the store of the
// previous one. Float sums add in row order, as the grouped loops do.
func (st *scanState) totalBlock(sel []uint16, all bool, n int) {
	p := st.p
	m := n
	if !all {
		m = len(sel)
	}
	st.rows[0] += int64(m)
	for a, agg := range p.Aggs {
		as := &st.aggs[a]
		if agg.Op == CountRows || (p.folded != nil && p.folded[a]) {
			continue
		}
		if agg.Expr != nil {
			ce := p.exprs[a]
			if mc := ce.mulCols(); mc != nil {
				if im := p.intMul; im != nil && im[a] != nil {
					q := im[a]
					prod, c, iz := mulIntTotal(st.ids[mc.a.Col], st.ids[mc.b.Col], q.ca, q.cb, sel, all, n)
					as.sum[0] += float64(prod*q.mult) / q.div
					as.count[0] += c
					if f := p.foldSum; f != nil && f[a] >= 0 {
						fs := &st.aggs[f[a]]
						fs.isum[0] += int64(iz & (1<<44 - 1))
						fs.count[0] += int64(m - int(iz>>44))
					}
					continue
				}
				if f := p.foldSum; f != nil && f[a] >= 0 {
					// The SUM of column a's ids comes along.
					fs := &st.aggs[f[a]]
					sum, c, ids, zeros := mulSumTotal(st.ids[mc.a.Col], st.ids[mc.b.Col], ce.luts[mc.a], ce.luts[mc.b], sel, all, n, as.sum[0])
					as.sum[0] = sum
					as.count[0] += c
					fs.isum[0] += ids
					fs.count[0] += int64(m - zeros)
					continue
				}
				sum, c := mulTotal(st.ids[mc.a.Col], st.ids[mc.b.Col], ce.luts[mc.a], ce.luts[mc.b], mc.a.LUTBlank, mc.b.LUTBlank, sel, all, n, as.sum[0])
				as.sum[0] = sum
				as.count[0] += c
				continue
			}
			if all {
				sel = st.sel[:n]
				for i := range sel {
					sel[i] = uint16(i)
				}
				all = false
			}
			vals, blank := st.exprs[a].eval(st.ids, sel)
			acc, c := as.sum[0], int64(0)
			for j, v := range vals {
				if !blank[j] {
					acc += v
					c++
				}
			}
			as.sum[0] = acc
			as.count[0] += c
			continue
		}
		ids := st.selected(agg.Col, sel, all, m)
		d := p.Table.Columns[agg.Col].Dict
		if as.isum != nil && d.Kind == DictRange && agg.Op == Sum {
			sum, zeros := sumIDs(ids)
			as.isum[0] += sum
			as.count[0] += int64(m - zeros)
			continue
		}
		as.count[0] += int64(m - countZeroIDs(ids))
		switch {
		case agg.Op == CountValues:
		case as.isum != nil:
			as.isum[0] += sumListInts(ids, d.Ints)
		default:
			as.sum[0] = sumLUT(ids, d.Floats64(), as.sum[0])
		}
	}
}

// The loops below are functions of their own so that their running
// totals stay in registers: inside totalBlock the compiler spills them,
// and every row then waits on a store and reload of the previous total.

// sumIDs returns the sum of ids and how many of them are 0 (BLANK).
func sumIDs(ids []uint32) (sum int64, zeros int) {
	var s0, s1 int64
	var z0, z1 int
	j := 0
	for ; j+2 <= len(ids); j += 2 {
		a, b := ids[j], ids[j+1]
		s0 += int64(a)
		s1 += int64(b)
		z0 += b2i(a == 0)
		z1 += b2i(b == 0)
	}
	if j < len(ids) {
		s0 += int64(ids[j])
		z0 += b2i(ids[j] == 0)
	}
	return s0 + s1, z0 + z1
}

// countZeroIDs returns how many ids are 0 (BLANK).
func countZeroIDs(ids []uint32) int {
	z := 0
	for _, id := range ids {
		z += b2i(id == 0)
	}
	return z
}

// sumListInts returns the sum of the values of ids in a list dictionary's
// integers (id i holds vals[i-1]; id 0 is BLANK and adds nothing).
func sumListInts(ids []uint32, vals []int64) int64 {
	var s int64
	for _, id := range ids {
		if id != 0 {
			s += vals[id-1]
		}
	}
	return s
}

// sumLUT adds the values of ids through a lookup table to acc, in row
// order.
func sumLUT(ids []uint32, lut []float64, acc float64) float64 {
	for _, id := range ids {
		acc += lut[id]
	}
	return acc
}

// planFolds sets foldSum and folded (see plan). A product qualifies when
// neither operand has a blank set of its own (BLANK is id 0); its first
// operand must be the summed column, so the product's operands are put
// in that order (multiplication commutes exactly).
func (p *plan) planFolds() {
	var foldSum []int
	var folded []bool
	for a := range p.Aggs {
		mc := p.exprs[a].mulCols()
		if mc == nil || mc.a.LUTBlank != nil || mc.b.LUTBlank != nil {
			continue
		}
		for s, sa := range p.Aggs {
			if sa.Expr != nil || sa.Op != Sum || (folded != nil && folded[s]) {
				continue
			}
			d := p.Table.Columns[sa.Col].Dict
			if d.Kind != DictRange || !d.IsExactInt() {
				continue
			}
			if mc.b.Col == sa.Col && mc.a.Col != sa.Col {
				mc.a, mc.b = mc.b, mc.a
			}
			if mc.a.Col != sa.Col {
				continue
			}
			if foldSum == nil {
				foldSum = make([]int, len(p.Aggs))
				for i := range foldSum {
					foldSum[i] = -1
				}
				folded = make([]bool, len(p.Aggs))
			}
			foldSum[a], folded[s] = s, true
			break
		}
	}
	p.foldSum, p.folded = foldSum, folded
	for a := range p.Aggs {
		if q := newIntProduct(p.Table, p.exprs[a].mulCols()); q != nil {
			if p.intMul == nil {
				p.intMul = make([]*intProduct, len(p.Aggs))
			}
			p.intMul[a] = q
		}
	}
}

// intProduct is a product of two value-encoded integer (or currency)
// columns: the values of ids x and y are (ca+x)×ka and (cb+y)×kb, so a
// block's products sum exactly in integers as mult×Σ(ca+x)(cb+y), and
// the float total is that over div (the currency scale per currency
// operand).
type intProduct struct {
	ca, cb int64
	mult   int64
	div    float64
}

// newIntProduct returns the integer form of a product of two columns, or
// nil when it does not apply: an operand with a lookup of its own, a list
// dictionary, a non-integer type, or values so large that a block's sum
// could overflow.
func newIntProduct(t *Table, mc *mulPair) *intProduct {
	if mc == nil || mc.a.LUT != nil || mc.b.LUT != nil || mc.a.LUTBlank != nil || mc.b.LUTBlank != nil {
		return nil
	}
	q := &intProduct{mult: 1, div: 1}
	var bound float64 = blockRows
	for i, e := range []*Expr{mc.a, mc.b} {
		d := t.Columns[e.Col].Dict
		if d.Kind != DictRange || !d.IsExactInt() || d.Exp < 0 || int(d.Exp) >= len(ipow10) || d.N == 0 {
			return nil
		}
		k := ipow10[d.Exp]
		lo, hi := float64(d.Base), float64(d.Base)+float64(d.N-1)
		bound *= max(math.Abs(lo), math.Abs(hi)) * float64(k)
		if i == 0 {
			q.ca = d.Base - 1
		} else {
			q.cb = d.Base - 1
		}
		q.mult *= k
		if d.Type == value.Currency {
			q.div *= value.CurrencyScale
		}
	}
	// Every partial sum of a block, times mult, must stay well inside
	// int64.
	if bound >= 1<<62 {
		return nil
	}
	return q
}

// mulIntTotal sums (ca+x)×(cb+y) over the rows (all n, or those in sel)
// where neither id is 0 (BLANK), counts those rows, and like mulSumTotal
// returns the sum of ia's ids (below bit 44) and its zeros (from bit 44)
// in one word.
func mulIntTotal(ia, ib []uint32, ca, cb int64, sel []uint16, all bool, n int) (prod, c int64, iz uint64) {
	if !all {
		for _, i := range sel {
			x, y := ia[i], ib[i]
			iz += uint64(x) + uint64(b2i(x == 0))<<44
			if x != 0 && y != 0 {
				prod += (ca + int64(x)) * (cb + int64(y))
				c++
			}
		}
		return prod, c, iz
	}
	ib = ib[:len(ia[:n])]
	for j, x := range ia[:n] {
		y := ib[j]
		iz += uint64(x) + uint64(b2i(x == 0))<<44
		if x != 0 && y != 0 {
			prod += (ca + int64(x)) * (cb + int64(y))
			c++
		}
	}
	return prod, c, iz
}

// mulSumTotal is mulTotal for operands without blank sets that also
// returns the sum of ia's ids over the rows and how many of them are 0.
func mulSumTotal(ia, ib []uint32, la, lb []float64, sel []uint16, all bool, n int, acc float64) (total float64, c, ids int64, zeros int) {
	if !all {
		for _, i := range sel {
			x, y := ia[i], ib[i]
			ids += int64(x)
			zeros += b2i(x == 0)
			if x != 0 && y != 0 {
				acc += la[x] * lb[y]
				c++
			}
		}
		return acc, c, ids, zeros
	}
	// Few running values, so that all stay in registers: the product
	// keeps two totals, even and odd rows, and one word holds both the
	// sum of ids (below bit 44: a block's 2048 ids of 32 bits sum to less
	// than 2^43) and the count of zeros (from bit 44).
	var odd float64
	var iz uint64
	ia, ib = ia[:n], ib[:n]
	j := 0
	for ; j+2 <= n; j += 2 {
		x0, y0, x1, y1 := ia[j], ib[j], ia[j+1], ib[j+1]
		iz += uint64(x0) + uint64(x1) + uint64(b2i(x0 == 0)+b2i(x1 == 0))<<44
		if x0 != 0 && y0 != 0 {
			acc += la[x0] * lb[y0]
			c++
		}
		if x1 != 0 && y1 != 0 {
			odd += la[x1] * lb[y1]
			c++
		}
	}
	if j < n {
		x, y := ia[j], ib[j]
		iz += uint64(x) + uint64(b2i(x == 0))<<44
		if x != 0 && y != 0 {
			acc += la[x] * lb[y]
			c++
		}
	}
	return acc + odd, c, int64(iz & (1<<44 - 1)), int(iz >> 44)
}

// mulTotal adds the products of two columns' values over the rows of a
// block (all n, or those in sel) to acc, skipping rows where either is
// BLANK, and returns the total and the number of rows added.
func mulTotal(ia, ib []uint32, la, lb []float64, ba, bb *Bitmap, sel []uint16, all bool, n int, acc float64) (float64, int64) {
	var c int64
	switch {
	case ba == nil && bb == nil && all:
		// Two running totals, even and odd rows, halve the wait on the
		// latency of floating-point addition.
		ia, ib = ia[:n], ib[:n]
		var odd float64
		j := 0
		for ; j+2 <= n; j += 2 {
			x0, y0, x1, y1 := ia[j], ib[j], ia[j+1], ib[j+1]
			if x0 != 0 && y0 != 0 {
				acc += la[x0] * lb[y0]
				c++
			}
			if x1 != 0 && y1 != 0 {
				odd += la[x1] * lb[y1]
				c++
			}
		}
		if j < n && ia[j] != 0 && ib[j] != 0 {
			acc += la[ia[j]] * lb[ib[j]]
			c++
		}
		acc += odd
	case ba == nil && bb == nil:
		for _, i := range sel {
			x, y := ia[i], ib[i]
			if x == 0 || y == 0 {
				continue
			}
			acc += la[x] * lb[y]
			c++
		}
	default:
		xb, yb := idBlanks{ba}, idBlanks{bb}
		add := func(x, y uint32) {
			if xb.has(x) || yb.has(y) {
				return
			}
			acc += la[x] * lb[y]
			c++
		}
		if all {
			for j := 0; j < n; j++ {
				add(ia[j], ib[j])
			}
		} else {
			for _, i := range sel {
				add(ia[i], ib[i])
			}
		}
	}
	return acc, c
}
