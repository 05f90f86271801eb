package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/meridian-olap/meridian/internal/colstore"
)

// The cache holds a bounded number of scans: a measure evaluated row by
// row over a large table must not keep every row's scan alive.
func TestScanCacheBounds(t *testing.T) {
	tests := []struct {
		name      string
		entries   int
		filterLen int // bits of each entry's filter
		wantKept  int
	}{
		{name: "few small scans are all kept", entries: 10, filterLen: 64, wantKept: 10},
		{name: "many small scans keep the newest", entries: maxCachedScans + 100, filterLen: 64, wantKept: maxCachedScans},
		{name: "large filters keep fewer", entries: 40, filterLen: 8 * (maxCachedBytes / 32), wantKept: 32},
		{name: "a scan larger than a quarter of the bound is not kept", entries: 3, filterLen: 8 * (maxCachedBytes/4 + 64), wantKept: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := &scanCache{entries: map[uint64][]*scanEntry{}}
			var all []*scanEntry
			for i := 0; i < tc.entries; i++ {
				b := colstore.NewBitmap(tc.filterLen)
				e := &scanEntry{fp: uint64(i % 7), filters: []colstore.Filter{{Col: 0, IDs: b}}, res: &colstore.Result{}}
				sc.add(e)
				all = append(all, e)
			}
			if len(sc.order) != tc.wantKept {
				t.Fatalf("kept %d scans, want %d", len(sc.order), tc.wantKept)
			}
			if sc.bytes > maxCachedBytes {
				t.Errorf("kept %d bytes, more than %d", sc.bytes, maxCachedBytes)
			}
			// The index holds exactly the kept entries, the newest ones.
			n := 0
			for _, list := range sc.entries {
				n += len(list)
			}
			if n != len(sc.order) {
				t.Errorf("index holds %d entries, order %d", n, len(sc.order))
			}
			if diff := cmp.Diff(all[len(all)-tc.wantKept:], sc.order, cmp.Comparer(func(a, b *scanEntry) bool { return a == b }), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("kept entries (-want +got):\n%s", diff)
			}
		})
	}
}

// A scan whose group key drops rows (NoGroup) cannot give totals: the
// dropped rows are missing from its groups.
func TestScanCacheIncompleteEntry(t *testing.T) {
	e := &scanEntry{
		group:    []colstore.GroupKey{{Col: 0, Map: []uint32{0, colstore.NoGroup, 1}, Card: 2}},
		aggs:     []colstore.Agg{{Op: colstore.CountRows}},
		res:      &colstore.Result{Groups: 1, Keys: [][]uint32{{1}}, Aggs: []colstore.AggResult{{Count: []int64{3}}}},
		complete: false,
	}
	if _, ok := e.derive(nil, []colstore.Agg{{Op: colstore.CountRows}}); ok {
		t.Error("a total was derived from a scan that dropped rows")
	}
	// The same grouping is still answered.
	res, ok := e.derive([]colstore.GroupKey{{Col: 0, Map: []uint32{0, colstore.NoGroup, 1}, Card: 2}}, []colstore.Agg{{Op: colstore.CountRows}})
	if !ok || res.Groups != 1 || res.Aggs[0].Count[0] != 3 {
		t.Errorf("the same grouping: %+v, %v", res, ok)
	}
	// An aggregate the scan did not compute is not answered.
	if _, ok := e.derive(e.group, []colstore.Agg{{Op: colstore.Sum, Col: 1}}); ok {
		t.Error("derived an aggregate the scan did not compute")
	}
}

// The measures of a query share scans of the fact table: the storage
// requests a query issues, counted by QueryStats.
func TestScanCacheSharesScans(t *testing.T) {
	m := parseScript(t, "testdata/scancache.test").build(t)
	tests := []struct {
		name  string
		query string
		sales int // scans of Sales
	}{
		{
			name: "a visual with a total: one scan for every measure and level",
			query: `EVALUATE SUMMARIZECOLUMNS(ROLLUPADDISSUBTOTAL(Product[Category], "IsTotal"), TREATAS({"Red"}, Product[Color]),
				"Amount", [Amount], "Per unit", DIVIDE([Amount], [Units]), "Lines", [Lines])`,
			sales: 1,
		},
		{
			name:  "a measure and the same measure last year by month: one scan",
			query: `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Date'[Month], "Amount", [Amount], "LY", [Amount LY], "Growth", DIVIDE([Amount] - [Amount LY], [Amount LY]))`,
			sales: 1,
		},
		{
			name:  "grand totals in one row: one scan",
			query: `EVALUATE ROW("Amount", [Amount], "Units", [Units], "Lines", [Lines], "Channels", [Channels])`,
			sales: 1,
		},
		{
			name:  "a distinct count next to a sum: one scan",
			query: `EVALUATE SUMMARIZECOLUMNS(Product[Category], "Amount", [Amount], "Channels", [Channels])`,
			sales: 1,
		},
		{
			name:  "a distinct count and its total cannot roll up: two scans",
			query: `EVALUATE SUMMARIZECOLUMNS(ROLLUPADDISSUBTOTAL(Product[Category], "IsTotal"), "Channels", [Channels])`,
			sales: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &QueryStats{}
			if _, err := m.Query(t.Context(), tc.query, QueryOptions{Stats: st}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, l := range st.Log {
				if strings.HasPrefix(l, "scan Sales:") {
					n++
				}
			}
			if n != tc.sales {
				t.Errorf("%d scans of Sales, want %d:\n%s", n, tc.sales, strings.Join(st.Log, "\n"))
			}
		})
	}
}
