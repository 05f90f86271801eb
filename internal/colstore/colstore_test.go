package colstore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/value"
)

func TestPackUnpackEveryWidth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for width := uint8(0); width <= 32; width++ {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			n := 1000 + rng.IntN(200)
			vals := make([]uint32, n)
			for i := range vals {
				if width > 0 {
					vals[i] = uint32(rng.Uint64() & (1<<width - 1))
				}
			}
			p := Pack(vals, width)
			for i, v := range vals {
				if got := p.Get(i); got != v {
					t.Fatalf("Get(%d) = %d, want %d", i, got, v)
				}
			}
			for _, start := range []int{0, 1, 7, 63, 64, 65, 500} {
				out := make([]uint32, n-start)
				p.Unpack(start, out)
				for i, v := range out {
					if v != vals[start+i] {
						t.Fatalf("Unpack(%d)[%d] = %d, want %d", start, i, v, vals[start+i])
					}
				}
			}
		})
	}
}

// genValue returns a random value of type t, BLANK about one time in ten.
// Each generator draws from a pool so that columns have repeats, like real
// data, or from a wide range to force list dictionaries.
func genValue(rng *rand.Rand, t value.Type, wide bool) value.Value {
	if rng.IntN(10) == 0 {
		return value.BlankValue
	}
	pool := 50
	if wide {
		pool = 1 << 30
	}
	switch t {
	case value.Integer:
		if wide {
			return value.Int(int64(rng.Uint64()))
		}
		return value.Int(int64(rng.IntN(pool)) - 20)
	case value.Currency:
		return value.CurrencyUnits(int64(rng.IntN(pool)) * 100)
	case value.Boolean:
		return value.Bool(rng.IntN(2) == 0)
	case value.Decimal:
		if wide {
			return value.Float(rng.NormFloat64() * 1e6)
		}
		return value.Float(float64(rng.IntN(pool)) / 100)
	case value.DateTime:
		return value.Date(43000 + float64(rng.IntN(pool)))
	case value.String:
		words := []string{"red", "Red", "RED", "blue", "green", "", "ünïcode", "Ünïcode", "x y", "tab\tbed"}
		if wide {
			return value.Str(fmt.Sprintf("s%d", rng.IntN(pool)))
		}
		return value.Str(words[rng.IntN(len(words))])
	}
	if rng.IntN(2) == 0 {
		return value.Int(int64(rng.IntN(pool)))
	}
	return value.Str(fmt.Sprint("v", rng.IntN(pool)))
}

// expect returns what the column store must give back for v stored in a
// column of type t: strings that differ only by case come back as the first
// spelling seen.
func sameValue(t value.Type, want, got value.Value) bool {
	if want.IsBlank() || got.IsBlank() {
		return want.IsBlank() && got.IsBlank()
	}
	if t == value.String {
		return value.EqualText(want.AsString(), got.AsString())
	}
	return want.Equal(got)
}

func TestRoundTripRandomColumns(t *testing.T) {
	types := []value.Type{value.Integer, value.Currency, value.Boolean, value.Decimal, value.DateTime, value.String, value.Variant}
	for _, typ := range types {
		for _, wide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/wide=%v", typ, wide), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(typ), 7))
				specs := []ColumnSpec{{Name: "C", Type: typ}}
				var parts []PartitionData
				var want []value.Value
				for p := 0; p < 3; p++ {
					b := NewBuilder(specs, BuilderOptions{})
					n := rng.IntN(3000)
					for i := 0; i < n; i++ {
						v := genValue(rng, typ, wide)
						want = append(want, v)
						if err := b.Append([]value.Value{v}); err != nil {
							t.Fatal(err)
						}
					}
					ch, err := b.Finish()
					if err != nil {
						t.Fatal(err)
					}
					parts = append(parts, PartitionData{Name: fmt.Sprint("p", p), Chunk: ch})
				}
				tab, err := BuildTable(context.Background(), "T", specs, parts)
				if err != nil {
					t.Fatal(err)
				}
				check := func(tab *Table) {
					t.Helper()
					c := tab.Columns[0]
					if c.Rows() != len(want) && len(want) > 0 {
						t.Fatalf("rows = %d, want %d", c.Rows(), len(want))
					}
					first := map[string]string{}
					for i, w := range want {
						got := c.Value(i)
						if !sameValue(typ, w, got) {
							t.Fatalf("row %d: got %#v, want %#v (dict %v)", i, got, w, c.Dict)
						}
						if typ == value.String && !w.IsBlank() {
							k := value.FoldText(w.AsString())
							if f, ok := first[k]; ok && got.AsString() != f {
								t.Fatalf("row %d: %q, but the first spelling was %q", i, got.AsString(), f)
							} else if !ok {
								first[k] = w.AsString()
								if got.AsString() != f && got.AsString() != w.AsString() {
									t.Fatalf("row %d: first spelling %q came back as %q", i, w.AsString(), got.AsString())
								}
							}
						}
						if id, ok := c.Dict.Find(w); !ok || id != c.ID(i) {
							t.Fatalf("row %d: Find(%#v) = %d, %v; row id %d", i, w, id, ok, c.ID(i))
						}
					}
					// Ranks order values, and Of and ID are inverses.
					rank := c.Dict.Ranking()
					for r := uint32(0); int(r) < c.Dict.Len(); r++ {
						if got := rank.Of(rank.ID(r)); got != r {
							t.Fatalf("rank %d: id %d has rank %d", r, rank.ID(r), got)
						}
						if r >= 2 && value.Compare(c.Dict.Value(rank.ID(r-1)), c.Dict.Value(rank.ID(r))) > 0 {
							t.Fatalf("rank order broken at %d: %#v > %#v", r, c.Dict.Value(rank.ID(r-1)), c.Dict.Value(rank.ID(r)))
						}
					}
				}
				check(tab)
				store := image.NewMemStore()
				db := &Database{Tables: []*Table{tab}}
				root, _, err := Encode(context.Background(), db, store)
				if err != nil {
					t.Fatal(err)
				}
				// Both the default readers and one per object.
				back, err := Decode(context.Background(), root.Hash, store, DecodeOptions{Readers: []int{0, 1000}[rng.IntN(2)]})
				if err != nil {
					t.Fatal(err)
				}
				check(back.Tables[0])
				root2, _, err := Encode(context.Background(), back, store)
				if err != nil {
					t.Fatal(err)
				}
				if root2.Hash != root.Hash {
					t.Fatalf("re-encoding changed the root: %s != %s", root2.Hash, root.Hash)
				}
			})
		}
	}
}

func TestCurrencyIsExact(t *testing.T) {
	specs := []ColumnSpec{{Name: "Price", Type: value.Currency}}
	b := NewBuilder(specs, BuilderOptions{})
	in := []float64{0.1, 0.2, 12.3456, -5.5, 1e9}
	for _, f := range in {
		b.Float(0, f)
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	ch, _ := b.Finish()
	tab, err := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: ch}})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range in {
		u, _ := value.FloatToCurrencyUnits(f)
		if got := tab.Columns[0].Value(i); got.AsInt() != u {
			t.Errorf("row %d: %d units, want %d", i, got.AsInt(), u)
		}
	}
}

func TestRelationshipIndexAndBlankRow(t *testing.T) {
	build := func(name string, specs []ColumnSpec, rows [][]value.Value) *Table {
		b := NewBuilder(specs, BuilderOptions{})
		for _, r := range rows {
			if err := b.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		ch, _ := b.Finish()
		tab, err := BuildTable(context.Background(), name, specs, []PartitionData{{Name: name, Chunk: ch}})
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	dim := build("Product", []ColumnSpec{{"Key", value.Integer}, {"Color", value.String}},
		[][]value.Value{{value.Int(1), value.Str("Red")}, {value.Int(2), value.Str("Blue")}})
	fact := build("Sales", []ColumnSpec{{"ProductKey", value.Integer}, {"Qty", value.Integer}},
		[][]value.Value{{value.Int(2), value.Int(5)}, {value.Int(1), value.Int(3)}, {value.Int(9), value.Int(1)}})
	db := &Database{Tables: []*Table{dim, fact}}
	r, err := db.BuildRelationship(RelationshipSpec{Name: "r", FromTable: "Sales", FromColumn: "ProductKey", ToTable: "Product", ToColumn: "Key", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Unmatched {
		t.Error("key 9 finds no product, but the relationship says every key matched")
	}
	fk := fact.Columns[0]
	for row, want := range []int32{1, 0, -1} {
		if got := r.ToRow[fk.ID(row)]; got != want {
			t.Errorf("sales row %d maps to product row %d, want %d", row, got, want)
		}
	}
	dup := build("Dup", []ColumnSpec{{"Key", value.Integer}}, [][]value.Value{{value.Int(1)}, {value.Int(1)}})
	db.Tables = append(db.Tables, dup)
	if _, err := db.BuildRelationship(RelationshipSpec{Name: "d", FromTable: "Sales", FromColumn: "ProductKey", ToTable: "Dup", ToColumn: "Key"}); err == nil {
		t.Error("a duplicate key on the one side was accepted")
	}
}

func TestDecodeRefusesDamage(t *testing.T) {
	specs := []ColumnSpec{{Name: "S", Type: value.String}, {Name: "N", Type: value.Decimal}}
	b := NewBuilder(specs, BuilderOptions{})
	for i := 0; i < 100; i++ {
		_ = b.Append([]value.Value{value.Str(fmt.Sprint("v", i%7)), value.Float(math.Sqrt(float64(i)))})
	}
	ch, _ := b.Finish()
	tab, _ := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: ch}})
	store := image.NewMemStore()
	root, refs, err := Encode(context.Background(), &Database{Tables: []*Table{tab}}, store)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		if ref.Hash == root.Hash {
			continue
		}
		data, _ := store.ReadObject(context.Background(), ref.Hash)
		for i := 0; i < len(data); i += max(1, len(data)/50) {
			bad := append([]byte(nil), data...)
			bad[i] ^= 0x5a
			var err error
			switch ref.Kind {
			case image.KindSegment:
				_, err = decodeSegment(bad)
			case image.KindDict:
				_, err = decodeDict(bad)
			}
			_ = err // a flipped byte may still decode to a valid object; it must not panic
		}
		for n := 0; n < len(data); n++ {
			var err error
			switch ref.Kind {
			case image.KindSegment:
				_, err = decodeSegment(data[:n])
			case image.KindDict:
				_, err = decodeDict(data[:n])
			default:
				continue
			}
			if err == nil {
				t.Fatalf("%s object truncated to %d of %d bytes decoded without error", ref.Kind, n, len(data))
			}
		}
	}
}

func FuzzDecodeObjects(f *testing.F) {
	f.Add(encodeSegment(&Segment{Packed: Pack([]uint32{1, 2, 3}, 2), MaxID: 3}))
	f.Add(encodeDict(&Dict{Type: value.String, Kind: DictList, N: 2, Strs: []string{"a", "b"}}))
	f.Add(encodeIndex([]int32{-1, 0, 1}))
	f.Add(encodeDictChunk(&Dict{Type: value.String, Kind: DictList, N: 2, Strs: []string{"a", "b"}}, 1, 2))
	// A segment of format 1 (no padding before the words).
	seg := encodeSegment(&Segment{Packed: Pack([]uint32{5, 0, 7, 1}, 3), MaxID: 7})
	old := append(append([]byte{}, seg[:14]...), seg[16:]...)
	old[4] = formatByte
	f.Add(old)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSegment(b); err == nil {
			// Every id of a segment that decodes is readable and bounded.
			ids := make([]uint32, s.N)
			s.Unpack(0, ids)
			for i, id := range ids {
				if id > s.MaxID || s.Get(i) != id {
					t.Fatalf("row %d: id %d (Get %d), max %d", i, id, s.Get(i), s.MaxID)
				}
			}
		}
		if d, err := decodeDict(b); err == nil {
			for id := uint32(0); int(id) < min(d.Len(), 100); id++ {
				_ = d.Value(id)
				_ = d.Float(id)
			}
			_ = d.Ranking().Of(uint32(d.Len() - 1))
		}
		_, _ = decodeIndex(b)
		_ = decodeDictChunk(b, &Dict{Type: value.String, Kind: DictList})
		_ = decodeDictChunk(b, &Dict{Type: value.Integer, Kind: DictList})
	})
}

func TestMergeChunksEqualsOneRead(t *testing.T) {
	for _, typ := range []value.Type{value.Integer, value.Decimal, value.String, value.Currency, value.DateTime, value.Variant} {
		rng := rand.New(rand.NewPCG(uint64(typ), 5))
		specs := []ColumnSpec{{Name: "C", Type: typ}}
		var all []value.Value
		whole := NewBuilder(specs, BuilderOptions{})
		var pieces []*Chunk
		for p := 0; p < 4; p++ {
			b := NewBuilder(specs, BuilderOptions{})
			for i := 0; i < rng.IntN(300); i++ {
				v := genValue(rng, typ, false)
				all = append(all, v)
				_ = b.Append([]value.Value{v})
				_ = whole.Append([]value.Value{v})
			}
			ch, _ := b.Finish()
			pieces = append(pieces, ch)
		}
		merged, err := MergeChunks(pieces)
		if err != nil {
			t.Fatal(err)
		}
		one, _ := whole.Finish()
		a, _ := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: merged}})
		b, _ := BuildTable(context.Background(), "T", specs, []PartitionData{{Name: "p", Chunk: one}})
		if len(all) > 0 && !bytesEqualSegments(a.Columns[0], b.Columns[0]) {
			t.Errorf("%s: merged pieces encode differently from one read", typ)
		}
	}
}

func bytesEqualSegments(a, b *Column) bool {
	if len(a.Segs) != len(b.Segs) || string(encodeDict(a.Dict)) != string(encodeDict(b.Dict)) {
		return false
	}
	for i := range a.Segs {
		if string(encodeSegment(&a.Segs[i])) != string(encodeSegment(&b.Segs[i])) {
			return false
		}
	}
	return true
}
