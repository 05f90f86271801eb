package colstore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/meridian-olap/meridian/internal/value"
)

// buildRandomTable returns a table with an Integer key column (0..keys),
// a Currency amount, a Decimal and a String column, in several partitions.
func buildRandomTable(t testing.TB, rng *rand.Rand, rows, keys int) *Table {
	specs := []ColumnSpec{{"Key", value.Integer}, {"Amount", value.Currency}, {"Rate", value.Decimal}, {"Name", value.String}}
	var parts []PartitionData
	left := rows
	for p := 0; left > 0; p++ {
		n := min(left, 1+rng.IntN(rows))
		left -= n
		b := NewBuilder(specs, BuilderOptions{})
		for i := 0; i < n; i++ {
			row := []value.Value{value.Int(int64(rng.IntN(keys))), value.CurrencyUnits(int64(rng.IntN(1000)) * 100), value.Float(float64(rng.IntN(100)) / 8), value.Str(fmt.Sprint("n", rng.IntN(7)))}
			for c := range row {
				if rng.IntN(12) == 0 {
					row[c] = value.BlankValue
				}
			}
			if err := b.Append(row); err != nil {
				t.Fatal(err)
			}
		}
		ch, _ := b.Finish()
		parts = append(parts, PartitionData{Name: fmt.Sprint(p), Chunk: ch})
	}
	tab, err := BuildTable(context.Background(), "T", specs, parts)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestScanMatchesNaive runs random scans and compares them with a
// row-by-row computation over decoded values.
func TestScanMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 60; iter++ {
		tab := buildRandomTable(t, rng, 1+rng.IntN(5000), 1+rng.IntN(40))
		s := &Scan{Table: tab}
		// A filter on Name and one on Key.
		if rng.IntN(2) == 0 {
			d := tab.Columns[3].Dict
			ids := NewBitmap(d.Len())
			// Half the time a selective filter, so that few rows of a
			// block pass and the other columns are read row by row.
			odds := []int{2, 20}[rng.IntN(2)]
			for id := 0; id < d.Len(); id++ {
				if rng.IntN(odds) == 0 {
					ids.Set(id)
				}
			}
			s.Filters = append(s.Filters, Filter{Col: 3, IDs: ids})
		}
		if rng.IntN(2) == 0 {
			// A range of Key ids: sometimes every id (no test needed),
			// sometimes one, sometimes none.
			d := tab.Columns[0].Dict
			ids := NewBitmap(d.Len())
			lo := rng.IntN(d.Len())
			hi := lo + rng.IntN(d.Len()-lo)
			switch rng.IntN(4) {
			case 0:
				lo, hi = 0, d.Len()-1
			case 1:
				hi = lo
			case 2:
				hi = lo - 1
			}
			for id := lo; id <= hi; id++ {
				ids.Set(id)
			}
			s.Filters = append(s.Filters, Filter{Col: 0, IDs: ids})
		}
		if rng.IntN(3) == 0 {
			rows := NewBitmap(tab.Rows)
			for r := 0; r < tab.Rows; r++ {
				if rng.IntN(3) > 0 {
					rows.Set(r)
				}
			}
			s.Filters = append(s.Filters, Filter{Col: -1, Rows: rows})
		}
		// Group by Key mapped to key%3 (id 0 = BLANK dropped), and by Name.
		kd := tab.Columns[0].Dict
		keyMap := make([]uint32, kd.Len())
		for id := range keyMap {
			if id == 0 {
				keyMap[id] = NoGroup
				continue
			}
			keyMap[id] = uint32(kd.Value(uint32(id)).AsInt() % 3)
		}
		groupByKey, groupByName := rng.IntN(2) == 0, rng.IntN(2) == 0
		if groupByKey {
			s.Group = append(s.Group, GroupKey{Col: 0, Map: keyMap, Card: 3})
		}
		if groupByName {
			s.Group = append(s.Group, GroupKey{Col: 3})
		}
		expr := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 1}, {Op: ExprAdd, Args: []*Expr{{Op: ExprCol, Col: 2}, {Op: ExprConst, Const: 1}}}}}
		s.Aggs = []Agg{{Op: CountRows}, {Op: Sum, Col: 1}, {Op: Sum, Col: 2}, {Op: Min, Col: 3}, {Op: Max, Col: 1}, {Op: DistinctCount, Col: 0}, {Op: Sum, Expr: expr}, {Op: CountValues, Col: 2}}
		// Every other scan keeps only the aggregates of the fused kernel.
		fused := iter%2 == 1
		if fused {
			mul := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 1}, {Op: ExprCol, Col: 2}}}
			if iter%4 == 3 {
				// The summed column second: totals fold SUM(Amount) into
				// the product's loop either way.
				mul.Args[0], mul.Args[1] = mul.Args[1], mul.Args[0]
			}
			// Key × Amount: two value-encoded integer columns, which
			// totals multiply exactly in integers from the ids.
			mulK := &Expr{Op: ExprMul, Args: []*Expr{{Op: ExprCol, Col: 0}, {Op: ExprCol, Col: 1}}}
			s.Aggs = []Agg{{Op: CountRows}, {Op: Sum, Col: 1}, {Op: Sum, Col: 2}, {Op: CountValues, Col: 2}, {Op: Sum, Expr: expr}, {Op: Sum, Expr: mul}, {Op: Sum, Expr: mulK}}
		}
		res, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		selected, err := s.Select(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Naive.
		type acc struct {
			rows, n1, n2, cnt2 int64
			sum1               int64
			sum2, sumE, sumM   float64
			sumK               float64
			nE, nK             int64
			min3               string
			has3               bool
			max1               int64
			has1               bool
			keys               map[int64]bool
		}
		naive := map[string]*acc{}
		for r := 0; r < tab.Rows; r++ {
			ok := true
			for _, f := range s.Filters {
				if f.Rows != nil {
					ok = ok && f.Rows.Has(r)
				} else {
					ok = ok && f.IDs.Has(int(tab.Columns[f.Col].ID(r)))
				}
			}
			if selected.Has(r) != ok {
				t.Fatalf("iter %d: Select has row %d = %v, want %v", iter, r, selected.Has(r), ok)
			}
			if !ok {
				continue
			}
			k := ""
			if groupByKey {
				c := keyMap[tab.Columns[0].ID(r)]
				if c == NoGroup {
					continue
				}
				k += fmt.Sprint(c, "/")
			}
			if groupByName {
				k += fmt.Sprint(tab.Columns[3].ID(r))
			}
			a := naive[k]
			if a == nil {
				a = &acc{keys: map[int64]bool{}}
				naive[k] = a
			}
			a.rows++
			amt, rate, name, key := tab.Columns[1].Value(r), tab.Columns[2].Value(r), tab.Columns[3].Value(r), tab.Columns[0].Value(r)
			if !amt.IsBlank() {
				a.sum1 += amt.AsInt()
				a.n1++
				if !a.has1 || amt.AsInt() > a.max1 {
					a.max1, a.has1 = amt.AsInt(), true
				}
			}
			if !rate.IsBlank() {
				a.sum2 += rate.AsFloat()
				a.n2++
				a.cnt2++
			}
			if !name.IsBlank() && (!a.has3 || value.CompareText(name.AsString(), a.min3) < 0) {
				a.min3, a.has3 = name.AsString(), true
			}
			if !key.IsBlank() {
				a.keys[key.AsInt()] = true
			}
			if !amt.IsBlank() {
				a.sumE += float64(amt.AsInt()) / 10000 * (rate.AsFloat() + 1)
				a.nE++
			}
			if !amt.IsBlank() && !rate.IsBlank() {
				a.sumM += float64(amt.AsInt()) / 10000 * rate.AsFloat()
			}
			if !amt.IsBlank() && !key.IsBlank() {
				a.sumK += float64(key.AsInt()) * float64(amt.AsInt()) / 10000
				a.nK++
			}
		}
		if res.Groups != len(naive) {
			t.Fatalf("iter %d: %d groups, naive %d", iter, res.Groups, len(naive))
		}
		for g := 0; g < res.Groups; g++ {
			k := ""
			if groupByKey {
				k += fmt.Sprint(res.Keys[0][g], "/")
			}
			if groupByName {
				k += fmt.Sprint(res.Keys[len(res.Keys)-1][g])
			}
			a := naive[k]
			if a == nil {
				t.Fatalf("iter %d: scan has group %q the naive computation lacks", iter, k)
			}
			check := func(name string, got, want any) {
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("iter %d group %q %s = %v, want %v", iter, k, name, got, want)
				}
			}
			check("rows", res.Aggs[0].Count[g], a.rows)
			check("sum amount", res.Aggs[1].ISum[g], a.sum1)
			if math.Abs(res.Aggs[2].Sum[g]-a.sum2) > 1e-9 {
				t.Fatalf("iter %d group %q sum rate = %v, want %v", iter, k, res.Aggs[2].Sum[g], a.sum2)
			}
			if fused {
				check("count rate", res.Aggs[3].Count[g], a.cnt2)
				if math.Abs(res.Aggs[4].Sum[g]-a.sumE) > 1e-6*math.Max(1, math.Abs(a.sumE)) {
					t.Fatalf("iter %d group %q fused sumx = %v, want %v", iter, k, res.Aggs[4].Sum[g], a.sumE)
				}
				if math.Abs(res.Aggs[5].Sum[g]-a.sumM) > 1e-6*math.Max(1, math.Abs(a.sumM)) {
					t.Fatalf("iter %d group %q fused product = %v, want %v", iter, k, res.Aggs[5].Sum[g], a.sumM)
				}
				if math.Abs(res.Aggs[6].Sum[g]-a.sumK) > 1e-9*math.Max(1, math.Abs(a.sumK)) {
					t.Fatalf("iter %d group %q fused product of keys = %v, want %v", iter, k, res.Aggs[6].Sum[g], a.sumK)
				}
				check("count of key products", res.Aggs[6].Count[g], a.nK)
				continue
			}
			if a.has3 {
				check("min name", tab.Columns[3].Dict.Value(res.Aggs[3].ID[g]).AsString(), a.min3)
			}
			if a.has1 {
				check("max amount", tab.Columns[1].Dict.Value(res.Aggs[4].ID[g]).AsInt(), a.max1)
			}
			check("distinct keys", res.Aggs[5].Dist[g], len(a.keys))
			if math.Abs(res.Aggs[6].Sum[g]-a.sumE) > 1e-6*math.Max(1, math.Abs(a.sumE)) {
				t.Fatalf("iter %d group %q sumx = %v, want %v", iter, k, res.Aggs[6].Sum[g], a.sumE)
			}
			check("count rate", res.Aggs[7].Count[g], a.cnt2)
		}
	}
}

func TestScanRefusesMalformedRequests(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tab := buildRandomTable(t, rng, 100, 5)
	bad := []*Scan{
		{Table: tab, Filters: []Filter{{Col: 9, IDs: NewBitmap(1)}}},
		{Table: tab, Filters: []Filter{{Col: 0, IDs: NewBitmap(0)}}},
		{Table: tab, Group: []GroupKey{{Col: -1}}},
		{Table: tab, Group: []GroupKey{{Col: 0, Map: []uint32{0}, Card: 1}}},
		{Table: tab, Aggs: []Agg{{Op: Sum, Col: 12}}},
		{Table: tab, Aggs: []Agg{{Op: Sum, Expr: &Expr{Op: ExprAdd}}}},
	}
	for i, s := range bad {
		if _, err := s.Run(context.Background()); err == nil {
			t.Errorf("malformed scan %d ran without error", i)
		}
	}
}

// TestScanPrunesSegments loads a table in key order, one partition per
// range of keys, so that filters on key ranges settle whole segments from
// their largest id; results must still match a row-by-row count.
func TestScanPrunesSegments(t *testing.T) {
	specs := []ColumnSpec{{"Key", value.Integer}, {"Amount", value.Integer}}
	var parts []PartitionData
	for p := 0; p < 4; p++ {
		b := NewBuilder(specs, BuilderOptions{})
		for i := 0; i < 3000; i++ {
			if err := b.Append([]value.Value{value.Int(int64(p*10 + i%10)), value.Int(int64(i))}); err != nil {
				t.Fatal(err)
			}
		}
		ch, _ := b.Finish()
		parts = append(parts, PartitionData{Name: fmt.Sprint(p), Chunk: ch})
	}
	tab, err := BuildTable(context.Background(), "T", specs, parts)
	if err != nil {
		t.Fatal(err)
	}
	d := tab.Columns[0].Dict
	tests := []struct {
		name   string
		lo, hi int64 // keys kept
	}{
		{"first partition", 0, 9},
		{"last partition", 30, 39},
		{"middle keys", 15, 24},
		{"one key", 17, 17},
		{"every key", 0, 39},
		{"no key", 50, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := NewBitmap(d.Len())
			for id := 1; id < d.Len(); id++ {
				if k := d.Value(uint32(id)).AsInt(); k >= tt.lo && k <= tt.hi {
					ids.Set(id)
				}
			}
			s := &Scan{Table: tab, Filters: []Filter{{Col: 0, IDs: ids}}, Aggs: []Agg{{Op: CountRows}, {Op: Sum, Col: 1}}}
			res, err := s.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var rows, sum int64
			for r := 0; r < tab.Rows; r++ {
				if k := tab.Columns[0].Value(r).AsInt(); k >= tt.lo && k <= tt.hi {
					rows++
					sum += tab.Columns[1].Value(r).AsInt()
				}
			}
			var gotRows, gotSum int64
			if res.Groups == 1 {
				gotRows, gotSum = res.Aggs[0].Count[0], res.Aggs[1].ISum[0]
			}
			if gotRows != rows || gotSum != sum {
				t.Errorf("rows %d sum %d, want rows %d sum %d", gotRows, gotSum, rows, sum)
			}
		})
	}
}

// keyPriceTable builds a table of an Integer Key in [0, keys) and a
// Currency Price (in units, from price) of the given rows: one Price in
// ten BLANK, one Key in blankKeys BLANK.
func keyPriceTable(t *testing.T, rng *rand.Rand, rows, keys, blankKeys int, price func() int64) *Table {
	t.Helper()
	specs := []ColumnSpec{{"Key", value.Integer}, {"Price", value.Currency}}
	b := NewBuilder(specs, BuilderOptions{})
	for range rows {
		row := []value.Value{value.Int(int64(rng.IntN(keys))), value.CurrencyUnits(price())}
		if rng.IntN(10) == 0 {
			row[1] = value.BlankValue
		}
		if rng.IntN(blankKeys) == 0 {
			row[0] = value.BlankValue
		}
		if err := b.Append(row); err != nil {
			t.Fatal(err)
		}
	}
	ch, _ := b.Finish()
	tab, err := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: ch}})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestListSumByMappedKey checks a SUM of a list-encoded currency column
// grouped by a mapped key (the shape of a sum by a dimension attribute)
// against a naive computation, with BLANK prices, BLANK keys and keys
// mapped to no group. Prices are wide (beyond 32 bits) in even
// iterations and narrow in odd ones, and the larger tables are aggregated
// by key id first (see plan.byKey), so every kernel is checked.
func TestListSumByMappedKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	wide, narrow := make([]int64, 40), make([]int64, 40)
	for i := range wide {
		// Sparse values: a list dictionary.
		wide[i] = rng.Int64N(1 << 40)
		narrow[i] = rng.Int64N(1<<31) - 1<<30
	}
	for iter := range 20 {
		prices := wide
		if iter%2 == 1 {
			prices = narrow
		}
		tab := keyPriceTable(t, rng, 1+rng.IntN(20000), 30, 15, func() int64 { return prices[rng.IntN(len(prices))] })
		if tab.Columns[1].Dict.Kind != DictList {
			t.Fatal("the test needs a list-encoded Price")
		}
		if got := tab.Columns[1].Dict.Ints32() != nil; got != (iter%2 == 1) {
			t.Fatalf("iter %d: 32-bit values %v", iter, got)
		}
		kd := tab.Columns[0].Dict
		keyMap := make([]uint32, kd.Len())
		for id := range keyMap {
			k := kd.Value(uint32(id))
			if id == 0 || k.AsInt() == 7 {
				keyMap[id] = NoGroup // BLANK and key 7 belong to no group
				continue
			}
			keyMap[id] = uint32(k.AsInt() % 4)
		}
		s := &Scan{Table: tab, Group: []GroupKey{{Col: 0, Map: keyMap, Card: 4}}, Aggs: []Agg{{Op: Sum, Col: 1}}}
		res, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		type acc struct{ sum, n int64 }
		naive := map[uint32]*acc{}
		for r := 0; r < tab.Rows; r++ {
			k, p := tab.Columns[0].Value(r), tab.Columns[1].Value(r)
			if k.IsBlank() || k.AsInt() == 7 {
				continue
			}
			g := uint32(k.AsInt() % 4)
			a := naive[g]
			if a == nil {
				a = &acc{}
				naive[g] = a
			}
			if !p.IsBlank() {
				a.sum += p.AsInt()
				a.n++
			}
		}
		if res.Groups != len(naive) {
			t.Fatalf("iter %d: %d groups, naive %d", iter, res.Groups, len(naive))
		}
		for g := 0; g < res.Groups; g++ {
			a := naive[res.Keys[0][g]]
			if a == nil {
				t.Fatalf("iter %d: group %d unknown to the naive computation", iter, res.Keys[0][g])
			}
			if res.Aggs[0].ISum[g] != a.sum || res.Aggs[0].Count[g] != a.n {
				t.Fatalf("iter %d group %d: sum %d count %d, want %d %d", iter, res.Keys[0][g], res.Aggs[0].ISum[g], res.Aggs[0].Count[g], a.sum, a.n)
			}
		}
	}
}

// TestSumManyGroups checks the kernels of scans with thousands of groups
// (plan.pairAgg, and plan.byKey above it) against a naive computation: a
// SUM and a row count grouped by a key directly, and by the key mapped to
// fewer codes, over value-encoded, narrow-list and wide-list columns, with
// and without a row filter.
func TestSumManyGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	kinds := []struct {
		name  string
		price func() int64 // currency units
		kind  DictKind
		int32 bool
	}{
		{"range", func() int64 { return rng.Int64N(3000) * value.CurrencyScale }, DictRange, false},
		{"narrow list", func() int64 { return rng.Int64N(1<<31) - 1<<30 }, DictList, true},
		{"wide list", func() int64 { return rng.Int64N(1 << 40) }, DictList, false},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			tab := keyPriceTable(t, rng, 80_000, 4_500, 50, k.price)
			d := tab.Columns[1].Dict
			if d.Kind != k.kind || (d.Kind == DictList && (d.Ints32() != nil) != k.int32) {
				t.Fatalf("Price is encoded as kind %d (32-bit values: %v), the test needs %d", d.Kind, d.Ints32() != nil, k.kind)
			}
			kd := tab.Columns[0].Dict
			const codes = 4_100
			keyMap := make([]uint32, kd.Len())
			for id := range keyMap {
				keyMap[id] = NoGroup // BLANK keys belong to no group
				if id > 0 {
					keyMap[id] = uint32(kd.Value(uint32(id)).AsInt() % codes)
				}
			}
			filter := NewBitmap(tab.Rows)
			for r := 0; r < tab.Rows; r++ {
				if rng.IntN(4) > 0 {
					filter.Set(r)
				}
			}
			for _, c := range []struct {
				name   string
				group  GroupKey
				filter bool
			}{
				{"by key", GroupKey{Col: 0}, false},
				{"by mapped key", GroupKey{Col: 0, Map: keyMap, Card: codes}, false},
				{"by mapped key, filtered", GroupKey{Col: 0, Map: keyMap, Card: codes}, true},
			} {
				s := &Scan{Table: tab, Group: []GroupKey{c.group}, Aggs: []Agg{{Op: CountRows}, {Op: Sum, Col: 1}}}
				if c.filter {
					s.Filters = []Filter{{Col: -1, Rows: filter}}
				}
				res, err := s.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				type acc struct{ rows, sum, n int64 }
				naive := map[uint32]*acc{}
				for r := 0; r < tab.Rows; r++ {
					if c.filter && !filter.Has(r) {
						continue
					}
					id := tab.Columns[0].ID(r)
					g := id
					if c.group.Map != nil {
						if g = keyMap[id]; g == NoGroup {
							continue
						}
					}
					a := naive[g]
					if a == nil {
						a = &acc{}
						naive[g] = a
					}
					a.rows++
					if p := tab.Columns[1].Value(r); !p.IsBlank() {
						a.sum += p.AsInt()
						a.n++
					}
				}
				if res.Groups != len(naive) {
					t.Fatalf("%s: %d groups, naive %d", c.name, res.Groups, len(naive))
				}
				for g := 0; g < res.Groups; g++ {
					a := naive[res.Keys[0][g]]
					if a == nil {
						t.Fatalf("%s: group %d unknown to the naive computation", c.name, res.Keys[0][g])
					}
					got := []int64{res.Aggs[0].Count[g], res.Aggs[1].ISum[g], res.Aggs[1].Count[g]}
					if got[0] != a.rows || got[1] != a.sum || got[2] != a.n {
						t.Fatalf("%s: group %d: rows, sum, count %v, want %d %d %d", c.name, res.Keys[0][g], got, a.rows, a.sum, a.n)
					}
				}
			}
		})
	}
}
