package engine

import (
	"encoding/binary"
	"hash/maphash"
	"maps"
	"math"
	"slices"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
)

// Storage requests of one query go through a cache, so that a query
// issues a handful of scans rather than one per measure and level:
//
//   - A scan's result answers any later request on the same table with
//     the same filters whose aggregates it computed and whose groups are
//     its groups, or coarser ones: groups that are functions of its group
//     keys (the same key, or a key map applied to a raw column it grouped
//     by), and no groups at all (a total). Rolling up needs aggregates
//     that merge: SUM, COUNT, COUNTROWS, MIN and MAX, not DISTINCTCOUNT.
//   - When the query will also group the same rows by dates for time
//     intelligence (a measure and the same measure last year, by month),
//     a request grouped only by attributes of one small dimension reached
//     through one foreign key is scanned grouped by the foreign key's raw
//     ids, the finest grouping of that dimension: every other grouping of
//     that dimension (another attribute, its key for the date sets) then
//     rolls up from it without a scan. Otherwise requests are scanned as
//     asked: adding up per-key partial sums changes the order of
//     floating-point additions, which is only worth it when it saves a
//     scan.
//   - Aggregations a query is about to evaluate (SUMMARIZECOLUMNS, ROW
//     and ADDCOLUMNS announce the aggregations of their expressions) ride
//     along on the first scan of their table, so that the measures of a
//     visual share one pass over the rows.

// maxRawCard bounds the dictionary of a foreign key that a scan groups by
// raw ids instead of the requested attributes: beyond it the groups no
// longer fit in the CPU cache and rolling up costs more than it saves.
const maxRawCard = 1 << 16

// The cache keeps at most this many scans and bytes (filters and
// results), dropping the oldest first: a query that evaluates a measure
// row by row over a large table must not keep every row's scan.
const (
	maxCachedScans = 512
	maxCachedBytes = 64 << 20
)

// scanEntry is a scan this query already ran.
type scanEntry struct {
	table   *Table
	filters []colstore.Filter
	group   []colstore.GroupKey
	aggs    []colstore.Agg
	res     *colstore.Result
	// complete: no group key drops rows, so the groups hold every row
	// that passed the filters.
	complete bool
	fp       uint64
	size     int
}

// scanCache holds the scans of one query and the aggregations announced
// for the next scans.
type scanCache struct {
	seed    maphash.Seed
	entries map[uint64][]*scanEntry
	wanted  map[*Table][]colstore.Agg
	// raw marks tables whose scans group by raw foreign keys.
	raw map[*Table]bool
	// order lists the entries oldest first, for eviction; bytes is their
	// size.
	order []*scanEntry
	bytes int
}

func (ev *evaluator) cache() *scanCache {
	if ev.scans == nil {
		ev.scans = &scanCache{seed: maphash.MakeSeed(), entries: map[uint64][]*scanEntry{}}
	}
	return ev.scans
}

// cachedScan answers a storage request from the cache, or runs a scan
// (possibly finer and with more aggregates than asked, see above) and
// answers it from that.
func (ev *evaluator) cachedScan(t *Table, fs []colstore.Filter, group []colstore.GroupKey, aggs []colstore.Agg) (*colstore.Result, error) {
	sc := ev.cache()
	fp := sc.print(fs)
	for _, e := range sc.entries[fp] {
		if e.table != t || !sameFilters(e.filters, fs) {
			continue
		}
		if res, ok := e.derive(group, aggs); ok {
			return res, nil
		}
	}
	e := &scanEntry{table: t, filters: fs, group: group, aggs: slices.Clone(aggs)}
	raw := false
	if allMergeable(aggs) && sc.raw[t] {
		if col, ok := rawKey(t, group); ok {
			e.group = []colstore.GroupKey{{Col: col, Card: t.Data.Columns[col].Dict.Len()}}
			raw = true
		}
	}
	// A distinct count rides along only on few groups: its state grows
	// with the groups times the distinct values.
	few := true
	groups := 1
	for _, g := range e.group {
		card := g.Card
		if g.Map == nil {
			card = t.Data.Columns[g.Col].Dict.Len()
		}
		if groups *= max(card, 1); groups > maxRawCard {
			few = false
			break
		}
	}
	if len(aggs) > 0 {
		for _, a := range sc.wanted[t] {
			if (!mergeable(a) && (raw || !few)) || slices.ContainsFunc(e.aggs, func(b colstore.Agg) bool { return aggEqual(a, b) }) {
				continue
			}
			e.aggs = append(e.aggs, a)
		}
	}
	e.complete = true
	for _, g := range e.group {
		if slices.Contains(g.Map, colstore.NoGroup) {
			e.complete = false
		}
	}
	res, err := runScan(ev.ctx, &colstore.Scan{Table: t.Data, Filters: fs, Group: slices.Clone(e.group), Aggs: e.aggs})
	if err != nil && len(e.aggs) > len(aggs) && ev.ctx.Err() == nil {
		// An announced aggregate the storage cannot compute must not fail
		// a request that did not ask for it.
		e.aggs = e.aggs[:len(aggs)]
		res, err = runScan(ev.ctx, &colstore.Scan{Table: t.Data, Filters: fs, Group: slices.Clone(e.group), Aggs: e.aggs})
	}
	if err != nil {
		return nil, err
	}
	e.res, e.fp = res, fp
	sc.add(e)
	out, ok := e.derive(group, aggs)
	if !ok {
		// Cannot happen: the scan was planned to answer the request.
		return runScan(ev.ctx, &colstore.Scan{Table: t.Data, Filters: fs, Group: group, Aggs: aggs})
	}
	return out, nil
}

// add caches an entry, evicting the oldest ones beyond the bounds.
func (sc *scanCache) add(e *scanEntry) {
	for _, f := range e.filters {
		for _, b := range []*colstore.Bitmap{f.IDs, f.Rows} {
			if b != nil {
				e.size += 8 * len(b.Words())
			}
		}
	}
	e.size += 4 * e.res.Groups * len(e.res.Keys)
	for _, a := range e.res.Aggs {
		e.size += 8 * (len(a.Count) + len(a.Sum) + len(a.ISum) + len(a.Num) + len(a.Dist))
		e.size += 4 * len(a.ID)
	}
	if e.size > maxCachedBytes/4 {
		return
	}
	sc.entries[e.fp] = append(sc.entries[e.fp], e)
	sc.order = append(sc.order, e)
	sc.bytes += e.size
	for len(sc.order) > maxCachedScans || sc.bytes > maxCachedBytes {
		old := sc.order[0]
		sc.order = sc.order[1:]
		sc.bytes -= old.size
		list := sc.entries[old.fp]
		if i := slices.Index(list, old); i >= 0 {
			list = slices.Delete(list, i, i+1)
		}
		if len(list) == 0 {
			delete(sc.entries, old.fp)
		} else {
			sc.entries[old.fp] = list
		}
	}
}

// want announces aggregations of table t that the next scans of t should
// compute too; raw says they will be needed by dates as well.
func (ev *evaluator) want(t *Table, aggs []colstore.Agg, raw bool) {
	sc := ev.cache()
	if sc.wanted == nil {
		sc.wanted = map[*Table][]colstore.Agg{}
	}
	if raw {
		if sc.raw == nil {
			sc.raw = map[*Table]bool{}
		}
		sc.raw[t] = true
	}
	for _, a := range aggs {
		if !slices.ContainsFunc(sc.wanted[t], func(b colstore.Agg) bool { return aggEqual(a, b) }) {
			sc.wanted[t] = append(sc.wanted[t], a)
		}
	}
}

// rawKey returns the foreign key column when every group key maps the
// ids of that one column (attributes of one dimension) and its dictionary
// is small.
func rawKey(t *Table, group []colstore.GroupKey) (int, bool) {
	if len(group) == 0 {
		return 0, false
	}
	col := group[0].Col
	for _, g := range group {
		if g.Map == nil || g.Col != col {
			return 0, false
		}
	}
	return col, t.Data.Columns[col].Dict.Len() <= maxRawCard
}

// print hashes a set of scan filters, independently of their order.
func (sc *scanCache) print(fs []colstore.Filter) uint64 {
	var sum uint64
	var buf [8]byte
	for _, f := range fs {
		var h maphash.Hash
		h.SetSeed(sc.seed)
		binary.LittleEndian.PutUint64(buf[:], uint64(int64(f.Col)))
		h.Write(buf[:])
		b := f.IDs
		if f.Rows != nil {
			b = f.Rows
			h.WriteByte(1)
		}
		if b != nil {
			binary.LittleEndian.PutUint64(buf[:], uint64(b.Cap()))
			h.Write(buf[:])
			for _, w := range b.Words() {
				binary.LittleEndian.PutUint64(buf[:], w)
				h.Write(buf[:])
			}
		}
		sum += h.Sum64()
	}
	return sum + uint64(len(fs))
}

// sameFilters reports whether two filter lists hold the same filters, in
// any order.
func sameFilters(a, b []colstore.Filter) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && filterEqual(x, y) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func filterEqual(a, b colstore.Filter) bool {
	if a.Col != b.Col || (a.Rows == nil) != (b.Rows == nil) || (a.IDs == nil) != (b.IDs == nil) {
		return false
	}
	if a.Rows != nil && !a.Rows.Equal(b.Rows) {
		return false
	}
	return a.IDs == nil || a.IDs.Equal(b.IDs)
}

func mergeable(a colstore.Agg) bool {
	switch a.Op {
	case colstore.CountRows, colstore.CountValues, colstore.Sum, colstore.Min, colstore.Max:
		return true
	}
	return false
}

func allMergeable(aggs []colstore.Agg) bool {
	for _, a := range aggs {
		if !mergeable(a) {
			return false
		}
	}
	return true
}

// aggEqual reports whether two aggregates compute the same thing.
func aggEqual(a, b colstore.Agg) bool {
	if a.Op != b.Op {
		return false
	}
	if (a.Expr == nil) != (b.Expr == nil) {
		return false
	}
	if a.Expr != nil {
		return exprEqual(a.Expr, b.Expr)
	}
	if a.Op == colstore.CountRows {
		return true
	}
	return a.Col == b.Col && a.Card == b.Card && mapEqual(a.Map, b.Map)
}

func exprEqual(a, b *colstore.Expr) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Op != b.Op || a.Col != b.Col || len(a.Args) != len(b.Args) {
		return false
	}
	if math.Float64bits(a.Const) != math.Float64bits(b.Const) || !floatsEqual(a.LUT, b.LUT) {
		return false
	}
	if (a.LUTBlank == nil) != (b.LUTBlank == nil) || (a.LUTBlank != nil && !a.LUTBlank.Equal(b.LUTBlank)) {
		return false
	}
	for i := range a.Args {
		if !exprEqual(a.Args[i], b.Args[i]) {
			return false
		}
	}
	return true
}

func floatsEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func mapEqual(a, b []uint32) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// derive answers a request from the entry's result: ok is false when the
// entry lacks an aggregate or cannot produce the groups.
func (e *scanEntry) derive(group []colstore.GroupKey, aggs []colstore.Agg) (*colstore.Result, bool) {
	aidx := make([]int, len(aggs))
	for i, a := range aggs {
		aidx[i] = slices.IndexFunc(e.aggs, func(b colstore.Agg) bool { return aggEqual(a, b) })
		if aidx[i] < 0 {
			return nil, false
		}
	}
	if len(group) == len(e.group) {
		same := true
		for k := range group {
			same = same && group[k].Col == e.group[k].Col && mapEqual(group[k].Map, e.group[k].Map)
		}
		if same {
			// Callers may reorder the keys (VALUES sorts them): they get
			// copies.
			out := &colstore.Result{Groups: e.res.Groups, Keys: make([][]uint32, len(e.res.Keys)), Aggs: make([]colstore.AggResult, len(aggs))}
			for k, keys := range e.res.Keys {
				out.Keys[k] = slices.Clone(keys)
			}
			for i, j := range aidx {
				out.Aggs[i] = e.res.Aggs[j]
			}
			return out, true
		}
	}
	if !e.complete || !allMergeable(aggs) {
		return nil, false
	}
	// Where each requested key comes from: an entry key, through a map
	// when the entry grouped by the raw ids.
	type source struct {
		key int
		m   []uint32
	}
	src := make([]source, len(group))
	cards := make([]uint64, len(group))
	for k, g := range group {
		found := false
		for j, eg := range e.group {
			if eg.Col != g.Col {
				continue
			}
			if mapEqual(eg.Map, g.Map) {
				src[k], found = source{key: j}, true
				break
			}
			if eg.Map == nil {
				src[k], found = source{key: j, m: g.Map}, true
				break
			}
		}
		if !found {
			return nil, false
		}
		card := g.Card
		if g.Map == nil {
			card = e.table.Data.Columns[g.Col].Dict.Len()
		}
		if card <= 0 {
			return nil, false
		}
		cards[k] = uint64(card)
	}
	strides := make([]uint64, len(group))
	stride := uint64(1)
	for k := len(group) - 1; k >= 0; k-- {
		strides[k] = stride
		if stride > math.MaxUint64/cards[k] {
			return nil, false
		}
		stride *= cards[k]
	}
	// The new group of each entry group (-1: dropped).
	res := e.res
	slot := make(map[uint64]int32)
	var codes []uint64
	of := make([]int32, res.Groups)
	for g := 0; g < res.Groups; g++ {
		var code uint64
		drop := false
		for k, s := range src {
			id := res.Keys[s.key][g]
			if s.m != nil {
				if id = s.m[id]; id == colstore.NoGroup {
					drop = true
					break
				}
			}
			code += uint64(id) * strides[k]
		}
		if drop {
			of[g] = -1
			continue
		}
		n, ok := slot[code]
		if !ok {
			n = int32(len(codes))
			slot[code] = n
			codes = append(codes, code)
		}
		of[g] = n
	}
	// Results come in ascending order of group codes.
	order := make([]int32, len(codes))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		switch {
		case codes[a] < codes[b]:
			return -1
		case codes[a] > codes[b]:
			return 1
		}
		return 0
	})
	pos := make([]int32, len(codes))
	for i, n := range order {
		pos[n] = int32(i)
	}
	ng := len(codes)
	out := &colstore.Result{Groups: ng, Keys: make([][]uint32, len(group)), Aggs: make([]colstore.AggResult, len(aggs))}
	for k := range group {
		keys := make([]uint32, ng)
		for i, n := range order {
			keys[i] = uint32(codes[n] / strides[k] % cards[k])
		}
		out.Keys[k] = keys
	}
	for i, j := range aidx {
		out.Aggs[i] = mergeAgg(e.table, e.aggs[j], res.Aggs[j], of, pos, ng)
	}
	return out, true
}

// mergeAgg rolls the groups of one aggregate up into ng new groups: group
// g goes to pos[of[g]] (of[g] < 0: dropped).
func mergeAgg(t *Table, a colstore.Agg, src colstore.AggResult, of, pos []int32, ng int) colstore.AggResult {
	var dst colstore.AggResult
	dst.Count = make([]int64, ng)
	if src.Sum != nil {
		dst.Sum = make([]float64, ng)
	}
	if src.ISum != nil {
		dst.ISum = make([]int64, ng)
	}
	var rank colstore.Ranking
	if src.ID != nil {
		dst.ID = make([]uint32, ng)
		rank = t.Data.Columns[a.Col].Dict.Ranking()
	}
	if src.Num != nil {
		dst.Num = make([]float64, ng)
	}
	for g, n := range of {
		if n < 0 {
			continue
		}
		d := pos[n]
		c := src.Count[g]
		if c == 0 && a.Op != colstore.CountRows {
			continue
		}
		first := dst.Count[d] == 0
		dst.Count[d] += c
		switch {
		case src.Sum != nil:
			dst.Sum[d] += src.Sum[g]
		case src.ISum != nil:
			dst.ISum[d] += src.ISum[g]
		case src.ID != nil:
			id := src.ID[g]
			if first || (a.Op == colstore.Max && rank.Of(id) > rank.Of(dst.ID[d])) || (a.Op == colstore.Min && rank.Of(id) < rank.Of(dst.ID[d])) {
				dst.ID[d] = id
			}
		case src.Num != nil:
			v := src.Num[g]
			if first || (a.Op == colstore.Max && v > dst.Num[d]) || (a.Op == colstore.Min && v < dst.Num[d]) {
				dst.Num[d] = v
			}
		}
	}
	return dst
}

// announce collects the aggregations that evaluating exprs will compute
// and announces them for the next scans of their tables; the returned
// function withdraws them. Announcing is only a hint: it changes which
// aggregates a scan computes, never a result.
func (ev *evaluator) announce(exprs []dax.Expr, en *env) func() {
	sc := ev.cache()
	saved, savedRaw := sc.wanted, sc.raw
	sc.wanted, sc.raw = maps.Clone(saved), maps.Clone(savedRaw)
	seen := map[measureVisit]bool{}
	for _, e := range exprs {
		ev.collectAggs(e, en, 0, false, seen)
	}
	return func() { sc.wanted, sc.raw = saved, savedRaw }
}

// measureVisit is a measure walked by collectAggs, in or out of date
// sets.
type measureVisit struct {
	ms    *Measure
	dates bool
}

// collectAggs announces the aggregations of e; dates says e is evaluated
// over per-group date sets (time intelligence).
func (ev *evaluator) collectAggs(e dax.Expr, en *env, depth int, dates bool, seen map[measureVisit]bool) {
	if e == nil || depth > 64 {
		return
	}
	switch x := e.(type) {
	case *dax.ColumnRef:
		if ms := ev.measureRef(x); ms != nil && !seen[measureVisit{ms, dates}] {
			seen[measureVisit{ms, dates}] = true
			ev.collectAggs(ms.Expr, en, depth+1, dates, seen)
		}
	case *dax.Unary:
		ev.collectAggs(x.X, en, depth+1, dates, seen)
	case *dax.Binary:
		ev.collectAggs(x.X, en, depth+1, dates, seen)
		ev.collectAggs(x.Y, en, depth+1, dates, seen)
	case *dax.VarExpr:
		for _, v := range x.Vars {
			ev.collectAggs(v.Value, en, depth+1, dates, seen)
		}
		ev.collectAggs(x.Return, en, depth+1, dates, seen)
	case *dax.Call:
		if _, user := ev.funcs[x.Func]; user {
			return
		}
		switch x.Func {
		case "SUM", "AVERAGE", "MIN", "MAX", "MINA", "MAXA", "COUNT", "COUNTA", "COUNTBLANK", "COUNTROWS", "DISTINCTCOUNT", "DISTINCTCOUNTNOBLANK":
			if p, ok := ev.planAggregate(x, en); ok {
				ev.want(p.table, p.aggs, dates)
			}
			return
		case "SUMX", "AVERAGEX", "MINX", "MAXX", "COUNTX":
			// Only over a whole table: FILTER would run a scan of its own
			// just to plan.
			if len(x.Args) == 2 && ev.modelTableRef(x.Args[0], en) != nil {
				if p, ok := ev.planAggregate(x, en); ok {
					ev.want(p.table, p.aggs, dates)
				}
			}
			return
		case "TOTALYTD", "TOTALQTD", "TOTALMTD":
			if len(x.Args) > 0 {
				ev.collectAggs(x.Args[0], en, depth+1, true, seen)
			}
			return
		case "CALCULATE":
			if len(x.Args) == 0 {
				return
			}
			// Filters that depend on the group are date sets (the
			// set-at-a-time evaluator handles no others).
			d := dates
			for _, a := range x.Args[1:] {
				if a != nil && !isModifier(a) && !ev.contextFree(a) {
					d = true
				}
			}
			ev.collectAggs(x.Args[0], en, depth+1, d, seen)
			return
		}
		if b := builtins[x.Func]; b != nil && b.pure {
			for _, a := range x.Args {
				ev.collectAggs(a, en, depth+1, dates, seen)
			}
		}
	}
}
