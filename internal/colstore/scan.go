package colstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/meridian-olap/meridian/internal/value"
)

// A Scan is a storage request: one pass over one table that filters rows,
// groups them and aggregates. The formula engine expresses everything it
// asks of storage as scans; the scan knows nothing of DAX.
//
// Filters on other tables reach a scan already translated by the caller
// into filters on the scanned table's own columns (through relationship
// indexes: a filter on Product[Color] becomes the set of Sales[ProductKey]
// ids whose product has that color), and grouping by another table's
// column becomes a key column with a Map from its ids to group codes.
type Scan struct {
	Table   *Table
	Filters []Filter
	Group   []GroupKey
	Aggs    []Agg
}

// Filter keeps the rows whose id in column Col is in IDs (a bitmap over
// the column's dictionary ids), or, when Rows is set, the rows in Rows.
type Filter struct {
	Col  int
	IDs  *Bitmap
	Rows *Bitmap
}

// GroupKey groups rows by column Col: its ids mapped through Map to codes
// in [0, Card). A nil Map uses the ids themselves (Card = the dictionary's
// length). A Map may send ids to the same code (grouping by a dimension
// attribute through a foreign key) and to NoGroup to drop the row.
type GroupKey struct {
	Col  int
	Map  []uint32
	Card int
}

// NoGroup is the code a GroupKey map gives to rows that belong to no group.
const NoGroup = math.MaxUint32

// AggOp is an aggregation.
type AggOp uint8

const (
	// CountRows counts the rows of each group.
	CountRows AggOp = iota
	// CountValues counts the rows whose column (or expression) is not BLANK.
	CountValues
	// Sum adds a numeric column or expression, BLANKs ignored.
	Sum
	// Min and Max return the smallest and largest non-BLANK value: for a
	// column as an id, for an expression as a number.
	Min
	Max
	// DistinctCount counts the distinct ids of a column, or of the codes it
	// maps to through Agg.Map (a column of a related table). BLANK (id 0
	// or NoGroup) is not counted; callers add it when DAX says so.
	DistinctCount
)

// Agg is one aggregate of a scan: of column Col (optionally mapped through
// Map for DistinctCount), or of the row expression Expr when it is set.
type Agg struct {
	Op   AggOp
	Col  int
	Map  []uint32
	Card int // codes of Map, for DistinctCount
	Expr *Expr
}

// Result holds one row per group that has at least one row, in ascending
// order of group codes. Keys[k][g] is the code of group g for key k.
// For each aggregate, Count[a][g] is the number of rows (or non-BLANK
// values) it saw; Sums[a][g] the sum; IDs[a][g] the id of the MIN or MAX of
// a column; Nums[a][g] the MIN or MAX of an expression; Distinct[a][g] the
// distinct count.
type Result struct {
	Groups int
	Keys   [][]uint32
	Aggs   []AggResult
}

// AggResult is the outcome of one aggregate over every group.
type AggResult struct {
	Count []int64   // rows or non-BLANK values seen
	Sum   []float64 // Sum: the total of non-BLANK values
	ISum  []int64   // Sum of an exact integer column (Integer, Currency units, Boolean)
	ID    []uint32  // Min/Max of a column: the id of the extreme value
	Num   []float64 // Min/Max of an expression
	Dist  []int64   // DistinctCount
}

// ErrTooManyGroups is returned when a scan's groups exceed MaxGroups.
var ErrTooManyGroups = errors.New("colstore: too many groups")

// MaxGroups bounds the groups of one scan, and so its memory.
const MaxGroups = 1 << 24

// blockRows is the number of rows processed at a time: small enough that a
// block's ids stay in the CPU cache.
const blockRows = 2048

// Run executes the scan over every segment in parallel.
func (s *Scan) Run(ctx context.Context) (*Result, error) {
	p, err := s.plan()
	if err != nil {
		return nil, err
	}
	if fp := p.byKey(); fp != nil {
		fs, err := fp.run(ctx)
		if err != nil {
			return nil, err
		}
		st := p.newState()
		st.rollUp(fs, p.Group[0].Map)
		return st.result(), nil
	}
	st, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	return st.result(), nil
}

// run executes the plan over every segment in parallel and returns the
// workers' merged state.
func (p *plan) run(ctx context.Context) (*scanState, error) {
	bounds := p.Table.SegmentBounds()
	workers := min(runtime.GOMAXPROCS(0), max(len(bounds), 1))
	states := make([]*scanState, workers)
	var (
		wg   sync.WaitGroup
		next = make(chan int, len(bounds))
	)
	for i := range bounds {
		next <- i
	}
	close(next)
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		st := p.newState()
		states[w] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seg := range next {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				if err := st.runSegment(seg, bounds[seg]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, st := range states {
		st.finish()
	}
	for _, st := range states[1:] {
		states[0].merge(st)
	}
	return states[0], nil
}

// maxKeyIDs bounds the dictionary of a key column that byKey aggregates
// by id: its counters and sums must stay in the CPU's cache.
const maxKeyIDs = 1 << 15

// byKey returns, for a fused scan with one group key mapped to its codes
// (grouping by a dimension attribute through a foreign key, the star
// query's shape), the same scan grouped by the key's own ids, or nil when
// that does not pay. Aggregating by id drops the map lookup and the slot
// computation from every row; rollUp then maps each id's partial
// aggregates to its group once per query instead of once per row.
func (p *plan) byKey() *plan {
	if !p.fast || len(p.Group) != 1 || p.Group[0].Map == nil {
		return nil
	}
	g := p.Group[0]
	n := p.Table.Columns[g.Col].Dict.Len()
	// The roll-up visits every id once per worker: keep it a small part
	// of the scan.
	if n > maxKeyIDs || n*16 > p.Table.Rows {
		return nil
	}
	s := *p.Scan
	s.Group = []GroupKey{{Col: g.Col}}
	fp, err := s.plan()
	if err != nil || !fp.fast {
		return nil
	}
	return fp
}

// rollUp adds a state grouped by key ids (see byKey) into st, whose single
// group key maps those ids through m.
func (st *scanState) rollUp(fs *scanState, m []uint32) {
	for id, g := range m[:fs.p.ngroups] {
		if g != NoGroup {
			st.mergeSlot(int(g), fs, id)
		}
	}
}

// plan is a scan checked and prepared for execution.
type plan struct {
	*Scan
	dense   bool
	strides []uint64
	ngroups uint64
	// colsUsed lists the columns a block needs unpacked; aggCols those of
	// them that group keys and aggregates read (filter columns are read by
	// the filters, which may skip the rest of the block).
	colsUsed []int
	aggCols  []int
	// filt holds the id filters prepared for the loop, by filter index.
	filt []idFilter
	// order lists the filters most selective first (by the share of ids
	// or rows each keeps), so that later filters test fewer rows.
	order []int
	// rank per id for MIN/MAX of columns.
	ranks [][]uint32
	exprs []*compiledExpr
	// fast marks scans the fused kernel runs: dense, at most one group
	// key, aggregates of plain columns (see fastBlock).
	fast bool
	// deferCount marks fast scans with group keys: there every row of
	// every block reaches every aggregate's loop, so an aggregate of a
	// plain column counts only its BLANK rows (as negatives) and finish
	// adds the group's rows.
	deferCount bool
	// pairAgg is, for fast scans of one group key over many groups whose
	// aggregates are row counts and one SUM of an integer column (by id for
	// value encoding, or through Dict.Ints32), the index of that SUM; else
	// -1. The kernel then keeps rows and sums in scanState.pair.
	pairAgg int
	// foldSum pairs, for totals (fast scans without groups), a SUM of a
	// value-encoded column with a SUMX of a product of that column and
	// another (SUM(Quantity) beside SUMX(Quantity * Price)): the product's
	// loop, which reads the column's ids anyway, sums them too. foldSum[a]
	// is the index of the SUM the product aggregate a also computes, or -1;
	// folded[a] marks the SUMs done that way.
	foldSum []int
	folded  []bool
	// intMul holds, for totals, the product aggregates computed exactly in
	// integers from the ids of two value-encoded columns (no lookup).
	intMul []*intProduct
}

func (s *Scan) plan() (*plan, error) {
	t := s.Table
	ncol := len(t.Columns)
	p := &plan{Scan: s}
	used := map[int]bool{}
	p.filt = make([]idFilter, len(s.Filters))
	for i, f := range s.Filters {
		if f.Rows != nil {
			if f.Rows.Cap() < t.Rows {
				return nil, fmt.Errorf("colstore: scan %s: filter %d row set has %d rows, table %d", t.Name, i, f.Rows.Cap(), t.Rows)
			}
			continue
		}
		if f.Col < 0 || f.Col >= ncol || f.IDs == nil || f.IDs.Cap() < t.Columns[f.Col].Dict.Len() {
			return nil, fmt.Errorf("colstore: scan %s: filter %d is malformed", t.Name, i)
		}
		p.filt[i] = newIDFilter(f.IDs)
	}
	p.ngroups = 1
	for i, g := range s.Group {
		if g.Col < 0 || g.Col >= ncol {
			return nil, fmt.Errorf("colstore: scan %s: group key %d names column %d", t.Name, i, g.Col)
		}
		card := g.Card
		if g.Map == nil {
			card = t.Columns[g.Col].Dict.Len()
			s.Group[i].Card = card
		} else if len(g.Map) < t.Columns[g.Col].Dict.Len() {
			return nil, fmt.Errorf("colstore: scan %s: group key %d map is shorter than the dictionary", t.Name, i)
		}
		if card <= 0 {
			return nil, fmt.Errorf("colstore: scan %s: group key %d has no codes", t.Name, i)
		}
		used[g.Col] = true
		if p.ngroups > math.MaxUint64/uint64(card) {
			p.ngroups = math.MaxUint64
		} else {
			p.ngroups *= uint64(card)
		}
	}
	p.dense = p.ngroups <= 1<<20
	p.fast = p.dense
	p.strides = make([]uint64, len(s.Group))
	stride := uint64(1)
	for i := len(s.Group) - 1; i >= 0; i-- {
		p.strides[i] = stride
		if stride <= math.MaxUint64/uint64(s.Group[i].Card) {
			stride *= uint64(s.Group[i].Card)
		}
	}
	p.ranks = make([][]uint32, len(s.Aggs))
	p.exprs = make([]*compiledExpr, len(s.Aggs))
	for i, a := range s.Aggs {
		if a.Expr != nil {
			ce, err := compileExpr(t, a.Expr, used)
			if err != nil {
				return nil, fmt.Errorf("colstore: scan %s: aggregate %d: %w", t.Name, i, err)
			}
			p.exprs[i] = ce
			continue
		}
		if a.Op == CountRows {
			continue
		}
		if a.Col < 0 || a.Col >= ncol {
			return nil, fmt.Errorf("colstore: scan %s: aggregate %d names column %d", t.Name, i, a.Col)
		}
		used[a.Col] = true
		d := t.Columns[a.Col].Dict
		switch a.Op {
		case Min, Max:
			p.ranks[i] = d.Ranking().Table()
		case DistinctCount:
			if a.Map != nil && (len(a.Map) < d.Len() || a.Card <= 0) {
				return nil, fmt.Errorf("colstore: scan %s: aggregate %d map is malformed", t.Name, i)
			}
		}
	}
	for i, a := range s.Aggs {
		switch {
		case a.Expr != nil && a.Op != Sum:
			p.fast = false
		case a.Expr == nil && (a.Op == Min || a.Op == Max || a.Op == DistinctCount):
			p.fast = false
		case a.Op == Sum && t.Columns[a.Col].Dict.Kind != DictRange && !t.Columns[a.Col].Dict.IsExactInt():
			p.fast = p.fast && i >= 0 // float sums go through a lookup table, still fine
		}
	}
	p.deferCount = p.fast && len(s.Group) > 0
	p.pairAgg = -1
	if p.deferCount && len(s.Group) == 1 && p.ngroups >= maxRows4 {
		for i, a := range s.Aggs {
			if a.Op == CountRows {
				continue
			}
			if p.pairAgg >= 0 || a.Op != Sum || a.Expr != nil {
				p.pairAgg = -1
				break
			}
			if d := t.Columns[a.Col].Dict; !d.IsExactInt() || (d.Kind != DictRange && d.Ints32() == nil) {
				break
			}
			p.pairAgg = i
		}
	}
	if p.fast && len(s.Group) == 0 {
		p.planFolds()
	}
	p.order = filterOrder(s.Filters, t)
	for c := range used {
		p.aggCols = append(p.aggCols, c)
	}
	slices.Sort(p.aggCols)
	for _, f := range s.Filters {
		if f.Rows == nil {
			used[f.Col] = true
		}
	}
	for c := range used {
		p.colsUsed = append(p.colsUsed, c)
	}
	slices.Sort(p.colsUsed)
	return p, nil
}

// scanState is one worker's partial aggregation.
type scanState struct {
	p      *plan
	ids    [][]uint32 // per column: ids of the current block (nil if unused)
	loaded []uint64   // per column: the block number its ids were loaded for
	block  uint64     // the current block's number, counting from 1
	active []int      // the filters the current segment must test
	sel    []uint16
	codes  []uint64
	slots  []uint64
	fslot  []uint32 // fused kernel: the slot of each row of the block
	gather []uint32 // fused kernel: the selected ids of one column
	// Dense groups index arrays by code; sparse ones go through slot.
	slot map[uint64]int32
	// rows4 holds four interleaved row counters per slot for the fused
	// kernel's small groupings: consecutive rows of the same group then
	// update different words instead of waiting on each other's stores.
	rows4 []int64
	// pair holds, for the fused kernel's large groupings with one integer
	// SUM (see plan.pairAgg), each slot's row count and sum side by side,
	// so that a row updates one cache line instead of two.
	pair  [][2]int64
	keys  []uint64 // sparse: code of each slot
	rows  []int64  // rows per group (dense: by code; sparse: by slot)
	aggs  []aggState
	exprs []*exprState
}

type aggState struct {
	count []int64
	sum   []float64
	isum  []int64
	ext   []uint32  // MIN/MAX: best rank+1 (0 = none)
	num   []float64 // MIN/MAX of expressions
	dist  map[[2]uint64]struct{}
	distB *Bitmap
	card  uint64
}

func (p *plan) newState() *scanState {
	st := &scanState{p: p, ids: make([][]uint32, len(p.Table.Columns)), loaded: make([]uint64, len(p.Table.Columns)), sel: make([]uint16, blockRows), codes: make([]uint64, blockRows), slots: make([]uint64, blockRows), fslot: make([]uint32, blockRows), gather: make([]uint32, blockRows)}
	for _, c := range p.colsUsed {
		st.ids[c] = make([]uint32, blockRows)
	}
	st.aggs = make([]aggState, len(p.Aggs))
	st.exprs = make([]*exprState, len(p.Aggs))
	for i, a := range p.Aggs {
		if p.exprs[i] != nil {
			st.exprs[i] = p.exprs[i].newState()
		}
		if a.Op == DistinctCount {
			card := uint64(p.Table.Columns[a.Col].Dict.Len())
			if a.Map != nil {
				card = uint64(a.Card)
			}
			st.aggs[i].card = card
			if p.dense && p.ngroups*card <= 1<<28 {
				st.aggs[i].distB = NewBitmap(int(p.ngroups * card))
			} else {
				st.aggs[i].dist = make(map[[2]uint64]struct{})
			}
		}
	}
	if p.dense {
		// One extra slot collects rows that belong to no group, so the
		// fused kernel needs no branch for them; results ignore it.
		st.grow(int(p.ngroups) + 1)
		if p.fast && len(p.Group) > 0 && p.ngroups < maxRows4 {
			st.rows4 = make([]int64, 4*(p.ngroups+1))
		} else if p.pairAgg >= 0 {
			st.pair = make([][2]int64, p.ngroups+1)
		}
	} else {
		st.slot = make(map[uint64]int32)
	}
	return st
}

// grow makes room for n group slots.
func (st *scanState) grow(n int) {
	for len(st.rows) < n {
		st.rows = append(st.rows, 0)
	}
	for i, a := range st.p.Aggs {
		as := &st.aggs[i]
		isInt := a.Expr == nil && a.Op == Sum && st.p.Table.Columns[a.Col].Dict.IsExactInt()
		switch a.Op {
		case CountValues:
			as.count = growTo(as.count, n)
		case Sum:
			as.count = growTo(as.count, n)
			if isInt {
				as.isum = growTo(as.isum, n)
			} else {
				as.sum = growTo(as.sum, n)
			}
		case Min, Max:
			as.count = growTo(as.count, n)
			if a.Expr != nil {
				as.num = growTo(as.num, n)
			} else {
				as.ext = growTo(as.ext, n)
			}
		}
	}
}

func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

func (st *scanState) runSegment(seg int, b [2]int) error {
	if !st.segmentFilters(seg) {
		return nil
	}
	for off := 0; off < b[1]; off += blockRows {
		n := min(blockRows, b[1]-off)
		if err := st.runBlock(seg, b[0]+off, off, n); err != nil {
			return err
		}
	}
	return nil
}

// segmentFilters sets st.active to the filters segment seg must test, and
// reports false when no row of the segment can pass. The segment's largest
// id settles many filters without a look at the rows: a filter on a date
// range over data loaded in date order, a filter that keeps every id.
func (st *scanState) segmentFilters(seg int) bool {
	p := st.p
	st.active = st.active[:0]
	for _, i := range p.order {
		f := p.Filters[i]
		if f.Rows == nil {
			switch p.filt[i].forSegment(p.Table.Columns[f.Col].Segs[seg].MaxID) {
			case segNone:
				return false
			case segAll:
				continue
			}
		}
		st.active = append(st.active, i)
	}
	return true
}

// sparseRatio decides how a column is read for the rows filters kept:
// with fewer than one row in sparseRatio, row by row; otherwise the whole
// block is unpacked, which costs far less per value.
const sparseRatio = 8

// load makes column c's ids of the current block available in st.ids[c]:
// all n of them, or (when all is false) at least those of the rows in sel.
func (st *scanState) load(c, seg, segOff, n int, sel []uint16, all bool) []uint32 {
	ids := st.ids[c]
	if st.loaded[c] == st.block {
		return ids
	}
	st.loaded[c] = st.block
	s := &st.p.Table.Columns[c].Segs[seg]
	if all || len(sel)*sparseRatio >= n {
		s.Unpack(segOff, ids[:n])
	} else {
		s.gather(segOff, sel, ids)
	}
	return ids
}

// filterBlock runs the segment's active filters over a block: all is true
// when every row passes (sel is then not set), otherwise sel lists the
// rows that pass. Columns are unpacked as the filters need them, so later
// filters and the aggregates read only what earlier filters kept.
func (st *scanState) filterBlock(seg, row, segOff, n int) (sel []uint16, all bool) {
	p := st.p
	st.block++
	all = true
	for _, fi := range st.active {
		f := p.Filters[fi]
		if f.Rows != nil {
			if all {
				sel = st.sel
			}
			sel = filterRows(sel, all, n, row, f.Rows)
		} else {
			ids := st.load(f.Col, seg, segOff, n, sel, all)
			if all {
				sel = p.filt[fi].first(st.sel, ids[:n])
			} else {
				sel = p.filt[fi].refine(sel, ids)
			}
		}
		all = false
		if len(sel) == 0 {
			return sel, false
		}
	}
	if !all && len(sel) == n {
		// Every row passed: the columns the filters read were unpacked
		// whole, and the dense loops apply.
		all = true
	}
	return sel, all
}

func (st *scanState) runBlock(seg, row, segOff, n int) error {
	p := st.p
	sel, all := st.filterBlock(seg, row, segOff, n)
	if !all && len(sel) == 0 {
		return nil
	}
	for _, c := range p.aggCols {
		st.load(c, seg, segOff, n, sel, all)
	}
	if p.fast {
		st.fastBlock(sel, all, n)
		return nil
	}
	if all {
		sel = st.sel[:n]
		for i := range sel {
			sel[i] = uint16(i)
		}
	}
	// Group codes.
	codes := st.codes[:len(sel)]
	clear(codes)
	keep := sel[:0]
	for k, g := range p.Group {
		ids := st.ids[g.Col]
		stride := p.strides[k]
		if g.Map == nil {
			for j, i := range sel {
				if codes[j] != math.MaxUint64 {
					codes[j] += uint64(ids[i]) * stride
				}
			}
			continue
		}
		for j, i := range sel {
			c := g.Map[ids[i]]
			if c == NoGroup {
				codes[j] = math.MaxUint64
				continue
			}
			if codes[j] != math.MaxUint64 {
				codes[j] += uint64(c) * stride
			}
		}
	}
	// Drop rows that belong to no group, compacting codes alongside.
	if len(p.Group) > 0 {
		w := 0
		for j, i := range sel {
			if codes[j] != math.MaxUint64 {
				codes[w] = codes[j]
				keep = append(keep, i)
				w++
			}
		}
		sel, codes = keep, codes[:w]
	}
	// Slots: dense codes are slots; sparse codes go through the map.
	slots := codes
	if !p.dense {
		slots = st.slots[:len(codes)]
		for j, c := range codes {
			s, ok := st.slot[c]
			if !ok {
				s = int32(len(st.keys))
				if len(st.keys) >= MaxGroups {
					return ErrTooManyGroups
				}
				st.slot[c] = s
				st.keys = append(st.keys, c)
				st.grow(len(st.keys))
			}
			slots[j] = uint64(s)
		}
	}
	for _, s := range slots {
		st.rows[s]++
	}
	for a := range p.Aggs {
		st.aggregate(a, sel, slots, codes, row)
	}
	return nil
}

func (st *scanState) aggregate(ai int, sel []uint16, slots, codes []uint64, row int) {
	p := st.p
	a := p.Aggs[ai]
	as := &st.aggs[ai]
	if a.Op == CountRows {
		return // counted in st.rows
	}
	if a.Expr != nil {
		es := st.exprs[ai]
		vals, blank := es.eval(st.ids, sel)
		for j, s := range slots {
			if blank[j] {
				continue
			}
			v := vals[j]
			switch a.Op {
			case Sum:
				as.sum[s] += v
			case Min:
				if as.count[s] == 0 || v < as.num[s] {
					as.num[s] = v
				}
			case Max:
				if as.count[s] == 0 || v > as.num[s] {
					as.num[s] = v
				}
			}
			as.count[s]++
		}
		return
	}
	ids := st.ids[a.Col]
	d := p.Table.Columns[a.Col].Dict
	switch a.Op {
	case CountValues:
		for j, i := range sel {
			if ids[i] != 0 {
				as.count[slots[j]]++
			}
		}
	case Sum:
		switch {
		case as.isum != nil && d.Kind == DictRange:
			// Value encoding: the value is (Base+id-1)×10^Exp, so the sum is
			// (Σid + count×(Base-1))×10^Exp; add ids and fix up at the end.
			for j, i := range sel {
				if id := ids[i]; id != 0 {
					s := slots[j]
					as.isum[s] += int64(id)
					as.count[s]++
				}
			}
		case as.isum != nil:
			for j, i := range sel {
				if id := ids[i]; id != 0 {
					s := slots[j]
					as.isum[s] += d.Ints[id-1]
					as.count[s]++
				}
			}
		default:
			lut := d.floatLUT()
			for j, i := range sel {
				if id := ids[i]; id != 0 {
					s := slots[j]
					as.sum[s] += lut(id)
					as.count[s]++
				}
			}
		}
	case Min, Max:
		rank := p.ranks[ai]
		isMax := a.Op == Max
		for j, i := range sel {
			id := ids[i]
			if id == 0 {
				continue
			}
			s := slots[j]
			r := id + 1 // a value-encoded dictionary's ids are ranks
			if rank != nil {
				r = rank[id] + 1
			}
			cur := as.ext[s]
			if cur == 0 || (isMax && r > cur) || (!isMax && r < cur) {
				as.ext[s] = r
			}
			as.count[s]++
		}
	case DistinctCount:
		card := as.card
		for j, i := range sel {
			v := uint64(ids[i])
			if a.Map != nil {
				m := a.Map[v]
				if m == NoGroup {
					continue
				}
				v = uint64(m)
			} else if v == 0 {
				continue
			}
			if as.distB != nil {
				as.distB.Set(int(codes[j]*card + v))
			} else {
				as.dist[[2]uint64{codes[j], v}] = struct{}{}
			}
		}
	}
}

// floatLUT returns a function giving the float value of an id, using a
// table when the dictionary is a list.
func (d *Dict) floatLUT() func(uint32) float64 {
	if d.Kind == DictRange {
		base, exp := d.Base, d.Exp
		if d.Type == value.Currency {
			return func(id uint32) float64 { return scaleFloat(base+int64(id)-1, exp) / value.CurrencyScale }
		}
		return func(id uint32) float64 { return scaleFloat(base+int64(id)-1, exp) }
	}
	lut := d.Floats64()
	return func(id uint32) float64 { return lut[id] }
}

// Floats64 returns every id's value as a float64 (BLANK and text 0), built
// once and cached. Currency is in currency units.
func (d *Dict) Floats64() []float64 {
	d.lutOnce.Do(func() {
		d.lut = make([]float64, d.Len())
		for id := range d.lut {
			d.lut[id] = d.Float(uint32(id))
		}
	})
	return d.lut
}

// Ints32 returns, for a list of integers that all fit 32 bits, every id's
// value (BLANK 0) as an int32, built once and cached; otherwise nil. Half
// the bytes of Ints keep a larger dictionary in the CPU's cache when a
// scan looks its values up row by row.
func (d *Dict) Ints32() []int32 {
	d.i32Once.Do(func() {
		if d.Kind != DictList || len(d.Ints) != d.N {
			return
		}
		t := make([]int32, d.Len())
		for i, v := range d.Ints {
			if v != int64(int32(v)) {
				return
			}
			t[i+1] = int32(v)
		}
		d.i32 = t
	})
	return d.i32
}

// merge folds another worker's state into st.
func (st *scanState) merge(o *scanState) {
	p := st.p
	if p.dense {
		for s := range o.rows[:p.ngroups] {
			st.mergeSlot(s, o, s)
		}
	} else {
		for os, code := range o.keys {
			s, ok := st.slot[code]
			if !ok {
				s = int32(len(st.keys))
				st.slot[code] = s
				st.keys = append(st.keys, code)
				st.grow(len(st.keys))
			}
			st.mergeSlot(int(s), o, os)
		}
	}
	for i := range st.aggs {
		as, bs := &st.aggs[i], &o.aggs[i]
		if as.distB != nil {
			as.distB.Or(bs.distB)
		} else if as.dist != nil {
			for k := range bs.dist {
				as.dist[k] = struct{}{}
			}
		}
	}
}

func (st *scanState) mergeSlot(s int, o *scanState, os int) {
	if o.rows[os] == 0 {
		return
	}
	st.rows[s] += o.rows[os]
	for i, a := range st.p.Aggs {
		as, bs := &st.aggs[i], &o.aggs[i]
		if bs.count == nil || bs.count[os] == 0 {
			continue
		}
		switch a.Op {
		case Sum:
			if as.isum != nil {
				as.isum[s] += bs.isum[os]
			} else {
				as.sum[s] += bs.sum[os]
			}
		case Min, Max:
			isMax := a.Op == Max
			if as.num != nil {
				v := bs.num[os]
				if as.count[s] == 0 || (isMax && v > as.num[s]) || (!isMax && v < as.num[s]) {
					as.num[s] = v
				}
			} else {
				r := bs.ext[os]
				if as.ext[s] == 0 || (isMax && r > as.ext[s]) || (!isMax && r < as.ext[s]) {
					as.ext[s] = r
				}
			}
		}
		as.count[s] += bs.count[os]
	}
}

// result turns the merged state into a Result ordered by group code.
func (st *scanState) result() *Result {
	p := st.p
	type grp struct {
		code uint64
		slot int
	}
	var groups []grp
	if p.dense {
		for code, n := range st.rows[:p.ngroups] {
			if n > 0 {
				groups = append(groups, grp{uint64(code), code})
			}
		}
	} else {
		for s, code := range st.keys {
			groups = append(groups, grp{code, s})
		}
		slices.SortFunc(groups, func(a, b grp) int {
			if a.code < b.code {
				return -1
			}
			if a.code > b.code {
				return 1
			}
			return 0
		})
	}
	r := &Result{Groups: len(groups), Keys: make([][]uint32, len(p.Group)), Aggs: make([]AggResult, len(p.Aggs))}
	for k := range p.Group {
		keys := make([]uint32, len(groups))
		card := uint64(p.Group[k].Card)
		for g, gr := range groups {
			keys[g] = uint32(gr.code / p.strides[k] % card)
		}
		r.Keys[k] = keys
	}
	index := make(map[uint64]int, len(groups))
	if len(p.Aggs) > 0 {
		for g, gr := range groups {
			index[gr.code] = g
		}
	}
	for i, a := range p.Aggs {
		as := &st.aggs[i]
		out := &r.Aggs[i]
		out.Count = make([]int64, len(groups))
		for g, gr := range groups {
			if a.Op == CountRows {
				out.Count[g] = st.rows[gr.slot]
			} else if as.count != nil {
				out.Count[g] = as.count[gr.slot]
			}
		}
		switch a.Op {
		case Sum:
			if as.isum != nil {
				out.ISum = make([]int64, len(groups))
				d := p.Table.Columns[a.Col].Dict
				for g, gr := range groups {
					v := as.isum[gr.slot]
					if d.Kind == DictRange {
						v = (v + out.Count[g]*(d.Base-1)) * ipow10[max(d.Exp, 0)]
					}
					out.ISum[g] = v
				}
			} else {
				out.Sum = make([]float64, len(groups))
				for g, gr := range groups {
					out.Sum[g] = as.sum[gr.slot]
				}
			}
		case Min, Max:
			if as.num != nil {
				out.Num = make([]float64, len(groups))
				for g, gr := range groups {
					out.Num[g] = as.num[gr.slot]
				}
			} else {
				out.ID = make([]uint32, len(groups))
				ranking := p.Table.Columns[a.Col].Dict.Ranking()
				for g, gr := range groups {
					if r := as.ext[gr.slot]; r > 0 {
						out.ID[g] = ranking.ID(r - 1)
					}
				}
			}
		case DistinctCount:
			out.Dist = make([]int64, len(groups))
			card := as.card
			count := func(code uint64) {
				if g, ok := index[code]; ok {
					out.Dist[g]++
				}
			}
			if as.distB != nil {
				as.distB.Each(func(k int) { count(uint64(k) / card) })
			} else {
				for k := range as.dist {
					count(k[0])
				}
			}
		}
	}
	return r
}

// Select returns the rows of the scanned table that pass every filter, as
// a bitmap with capacity Rows+1 (the extra bit is for the caller's blank
// row and is never set here). Grouping and aggregates are ignored.
func (s *Scan) Select(ctx context.Context) (*Bitmap, error) {
	p, err := (&Scan{Table: s.Table, Filters: s.Filters}).plan()
	if err != nil {
		return nil, err
	}
	out := NewBitmap(s.Table.Rows + 1)
	st := p.newState()
	for seg, b := range s.Table.SegmentBounds() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !st.segmentFilters(seg) {
			continue
		}
		for off := 0; off < b[1]; off += blockRows {
			n := min(blockRows, b[1]-off)
			row := b[0] + off
			sel, all := st.filterBlock(seg, row, off, n)
			if all {
				for i := 0; i < n; i++ {
					out.Set(row + i)
				}
				continue
			}
			for _, i := range sel {
				out.Set(row + int(i))
			}
		}
	}
	return out, nil
}

// fastBlock is the fused kernel for the common scan: dense groups, and
// COUNTROWS, COUNT and SUM of plain columns or row expressions. It
// computes each row's slot once (rows of no group go to the extra slot)
// and runs one tight loop per aggregate. With all true every row of the
// block is selected and sel is ignored.
func (st *scanState) fastBlock(sel []uint16, all bool, n int) {
	p := st.p
	trash := uint32(p.ngroups)
	m := n
	if !all {
		m = len(sel)
	}
	if len(p.Group) == 0 {
		st.totalBlock(sel, all, n)
		return
	}
	slots := st.fslot[:m]
	if len(p.Group) == 1 && p.Group[0].Map == nil {
		// A single key without a map: its ids are the slots.
		ids := st.ids[p.Group[0].Col]
		if all {
			slots = ids[:n]
		} else {
			for j, i := range sel {
				slots[j] = ids[i]
			}
		}
	} else {
		for k, g := range p.Group {
			ids := st.selected(g.Col, sel, all, m)
			stride := uint32(p.strides[k])
			switch {
			case k == 0 && g.Map == nil:
				for j, id := range ids {
					slots[j] = id * stride
				}
			case k == 0:
				gm := g.Map
				for j, id := range ids {
					s := gm[id]
					if s == NoGroup {
						s = trash
					} else {
						s *= stride
					}
					slots[j] = s
				}
			default:
				gm := g.Map
				for j, id := range ids {
					s := slots[j]
					if s == trash {
						continue
					}
					c := id
					if gm != nil {
						if c = gm[id]; c == NoGroup {
							slots[j] = trash
							continue
						}
					}
					slots[j] = s + c*stride
				}
			}
		}
	}
	if st.pair != nil {
		st.pairBlock(sel, all, slots)
		return
	}
	if st.rows4 != nil {
		countSlots4(st.rows4, len(st.rows), slots)
	} else {
		rows := st.rows
		for _, s := range slots {
			rows[s]++
		}
	}
	for a, agg := range p.Aggs {
		as := &st.aggs[a]
		if agg.Op == CountRows {
			continue
		}
		cnt := as.count
		if mc := p.exprs[a].mulCols(); mc != nil {
			// SUMX of a product of two columns, the commonest iterator:
			// one loop, no intermediate vectors.
			ia, ib := st.ids[mc.a.Col], st.ids[mc.b.Col]
			la, lb := p.exprs[a].luts[mc.a], p.exprs[a].luts[mc.b]
			ba, bb := blankSet(mc.a), blankSet(mc.b)
			sum := as.sum
			switch {
			case ba.set == nil && bb.set == nil && all:
				ia, ib := ia[:len(slots)], ib[:len(slots)]
				for j, s := range slots {
					x, y := ia[j], ib[j]
					if x == 0 || y == 0 {
						continue
					}
					sum[s] += la[x] * lb[y]
					cnt[s]++
				}
			default:
				for j, s := range slots {
					i := j
					if !all {
						i = int(sel[j])
					}
					x, y := ia[i], ib[i]
					if ba.has(x) || bb.has(y) {
						continue
					}
					sum[s] += la[x] * lb[y]
					cnt[s]++
				}
			}
			continue
		}
		if agg.Expr != nil {
			if all {
				sel = st.sel[:n]
				for i := range sel {
					sel[i] = uint16(i)
				}
				all = false
			}
			vals, blank := st.exprs[a].eval(st.ids, sel)
			sum := as.sum
			for j, v := range vals {
				if !blank[j] {
					s := slots[j]
					sum[s] += v
					cnt[s]++
				}
			}
			continue
		}
		ids := st.selected(agg.Col, sel, all, len(slots))
		// Counts are deferred (see plan.deferCount): a BLANK row takes
		// one back, and finish adds every row of the group.
		switch {
		case agg.Op == CountValues:
			for j, id := range ids {
				if id == 0 {
					cnt[slots[j]]--
				}
			}
		case as.isum != nil && p.Table.Columns[agg.Col].Dict.Kind == DictRange:
			sum := as.isum
			for j, id := range ids {
				s := slots[j]
				sum[s] += int64(id)
				if id == 0 {
					cnt[s]--
				}
			}
		case as.isum != nil && p.Table.Columns[agg.Col].Dict.Ints32() != nil:
			sum := as.isum
			vals := p.Table.Columns[agg.Col].Dict.Ints32()
			for j, id := range ids {
				s := slots[j]
				sum[s] += int64(vals[id])
				if id == 0 {
					cnt[s]--
				}
			}
		case as.isum != nil:
			sum := as.isum
			vals := p.Table.Columns[agg.Col].Dict.Ints
			for j, id := range ids {
				s := slots[j]
				if id != 0 {
					sum[s] += vals[id-1]
				} else {
					cnt[s]--
				}
			}
		default:
			sum := as.sum
			lut := p.Table.Columns[agg.Col].Dict.Floats64()
			for j, id := range ids {
				s := slots[j]
				sum[s] += lut[id]
				if id == 0 {
					cnt[s]--
				}
			}
		}
	}
}

// selected returns column c's ids of the m rows the fused kernels visit
// in the current block: all of them when all is set, otherwise those of
// the rows in sel (len(sel) == m), gathered into st.gather so that the
// loops over them are the same either way.
func (st *scanState) selected(c int, sel []uint16, all bool, m int) []uint32 {
	ids := st.ids[c]
	if all {
		return ids[:m]
	}
	buf := st.gather[:m]
	for j, i := range sel[:m] {
		buf[j] = ids[i]
	}
	return buf
}

// pairBlock is fastBlock's loop for plans with a pairAgg: it counts each
// row and adds its value in one pass over the block's slots.
func (st *scanState) pairBlock(sel []uint16, all bool, slots []uint32) {
	p := st.p
	a := p.pairAgg
	ids := st.selected(p.Aggs[a].Col, sel, all, len(slots))
	pair, cnt := st.pair, st.aggs[a].count
	d := p.Table.Columns[p.Aggs[a].Col].Dict
	if d.Kind == DictRange {
		for j, id := range ids {
			s := slots[j]
			pr := &pair[s]
			pr[0]++
			pr[1] += int64(id)
			if id == 0 {
				cnt[s]--
			}
		}
		return
	}
	vals := d.Ints32()
	for j, id := range ids {
		s := slots[j]
		pr := &pair[s]
		pr[0]++
		pr[1] += int64(vals[id])
		if id == 0 {
			cnt[s]--
		}
	}
}

// maxRows4 bounds the groups that get interleaved row counters.
const maxRows4 = 4096

// countSlots4 counts the rows of each slot into four interleaved sets of
// counters of ns slots each.
func countSlots4(rows4 []int64, ns int, slots []uint32) {
	r0, r1, r2, r3 := rows4[:ns], rows4[ns:2*ns], rows4[2*ns:3*ns], rows4[3*ns:4*ns]
	j := 0
	for ; j+4 <= len(slots); j += 4 {
		r0[slots[j]]++
		r1[slots[j+1]]++
		r2[slots[j+2]]++
		r3[slots[j+3]]++
	}
	for ; j < len(slots); j++ {
		r0[slots[j]]++
	}
}

// finish completes a worker's state after its last block: it folds the
// interleaved row counters into rows and adds the deferred counts.
func (st *scanState) finish() {
	p := st.p
	if st.pair != nil {
		sum := st.aggs[p.pairAgg].isum
		for s := range st.rows {
			st.rows[s] += st.pair[s][0]
			sum[s] += st.pair[s][1]
		}
		clear(st.pair)
	}
	if st.rows4 != nil {
		ns := len(st.rows)
		for k := 0; k < 4; k++ {
			for s, r := range st.rows4[k*ns : (k+1)*ns] {
				st.rows[s] += r
			}
		}
		clear(st.rows4)
	}
	if !p.deferCount {
		return
	}
	for a, agg := range p.Aggs {
		if agg.Expr != nil || agg.Op == CountRows {
			continue
		}
		cnt := st.aggs[a].count
		for s, r := range st.rows {
			cnt[s] += r
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
