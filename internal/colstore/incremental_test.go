package colstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/value"
)

func TestRebuildKeepsUnchangedSegments(t *testing.T) {
	types := []value.Type{value.Integer, value.Currency, value.Decimal, value.DateTime, value.String, value.Boolean}
	for _, typ := range types {
		for _, wide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/wide=%v", typ, wide), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(typ), 99))
				specs := []ColumnSpec{{Name: "C", Type: typ}}
				gen := func(n int) (*Chunk, []value.Value) {
					b := NewBuilder(specs, BuilderOptions{})
					var vals []value.Value
					for i := 0; i < n; i++ {
						v := genValue(rng, typ, wide)
						vals = append(vals, v)
						if err := b.Append([]value.Value{v}); err != nil {
							t.Fatal(err)
						}
					}
					ch, _ := b.Finish()
					return ch, vals
				}
				ctx := context.Background()
				var parts []PartitionData
				var want [][]value.Value
				for p := 0; p < 3; p++ {
					ch, vals := gen(500 + rng.IntN(500))
					parts = append(parts, PartitionData{Name: fmt.Sprint("p", p), Chunk: ch})
					want = append(want, vals)
				}
				prev, err := BuildTable(ctx, "T", specs, parts)
				if err != nil {
					t.Fatal(err)
				}
				// Refresh the middle partition with new data.
				ch, vals := gen(700)
				want[1] = vals
				next, err := RebuildTable(ctx, prev, "T", specs, []PartitionData{{Name: "p0"}, {Name: "p1", Chunk: ch}, {Name: "p2"}})
				if err != nil {
					t.Fatal(err)
				}
				row := 0
				for p, vals := range want {
					for i, w := range vals {
						if got := next.Columns[0].Value(row); !sameValue(typ, w, got) {
							t.Fatalf("partition %d row %d: %#v, want %#v", p, i, got, w)
						}
						row++
					}
				}
				if next.Rows != row {
					t.Fatalf("%d rows, want %d", next.Rows, row)
				}
				// Unchanged partitions keep their segments byte for byte when
				// the dictionary could be extended.
				if next.Columns[0].Dict.Kind == DictList || next.Columns[0].Dict == prev.Columns[0].Dict {
					ps, ns := prev.Columns[0].Segs, next.Columns[0].Segs
					if !bytes.Equal(encodeSegment(&ps[0]), encodeSegment(&ns[0])) {
						t.Error("the first partition's segment changed")
					}
					if !bytes.Equal(encodeSegment(&ps[len(ps)-1]), encodeSegment(&ns[len(ns)-1])) {
						t.Error("the last partition's segment changed")
					}
				}
			})
		}
	}
}

// TestRebuildShipsOnlyNewDictionaryChunks encodes a table, refreshes one
// partition with a few new values, and checks that the objects the new
// image adds are that partition's segments, the dictionary's header and
// last chunk, and the data root.
func TestRebuildShipsOnlyNewDictionaryChunks(t *testing.T) {
	ctx := context.Background()
	specs := []ColumnSpec{{Name: "K", Type: value.String}}
	chunk := func(lo, hi int) *Chunk {
		b := NewBuilder(specs, BuilderOptions{})
		for i := lo; i < hi; i++ {
			_ = b.Append([]value.Value{value.Str(fmt.Sprintf("key %06d", i))})
		}
		ch, _ := b.Finish()
		return ch
	}
	prev, err := BuildTable(ctx, "T", specs, []PartitionData{{Name: "a", Chunk: chunk(0, 20000)}, {Name: "b", Chunk: chunk(20000, 40000)}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := RebuildTable(ctx, prev, "T", specs, []PartitionData{{Name: "a"}, {Name: "b", Chunk: chunk(20000, 40100)}})
	if err != nil {
		t.Fatal(err)
	}
	store := image.NewMemStore()
	_, before, err := Encode(ctx, &Database{Tables: []*Table{prev}}, store)
	if err != nil {
		t.Fatal(err)
	}
	had := map[image.Hash]bool{}
	for _, r := range before {
		had[r.Hash] = true
	}
	_, after, err := Encode(ctx, &Database{Tables: []*Table{next}}, store)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range after {
		if !had[r.Hash] {
			kinds[r.Kind]++
		}
	}
	// Partition b's one segment; the header, the rewritten last chunk
	// (40000 values fill 9 chunks, the 10th gets the 100 new ones); root.
	if kinds[image.KindSegment] != 1 || kinds[image.KindDict] > 3 || kinds[image.KindData] != 1 {
		t.Errorf("new objects by kind %v, want 1 segment, at most 3 dictionary objects, 1 root", kinds)
	}
}

func TestExtendChunks(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  []int
		n    int
		want []int
	}{
		{"nothing new", []int{4096, 100}, 4196, []int{4096, 100}},
		{"new chunk after a large one", []int{4096, 1904}, 7000, []int{4096, 1904, 1000}},
		{"a small last chunk takes new ids first", []int{4096, 10}, 4116, []int{4096, 20}},
		{"a small last chunk fills up, the rest in new chunks", []int{200}, 200 + 4000 + 5000, []int{4096, 4096, 1008}},
		{"from nothing", nil, 5000, []int{4096, 904}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := extendChunks(tc.old, tc.n)
			if !slices.Equal(got, tc.want) {
				t.Errorf("extendChunks(%v, %d) = %v, want %v", tc.old, tc.n, got, tc.want)
			}
		})
	}
}

// A refresh of one partition writes only its new dictionary values: the
// chunks written before keep their bytes, through a round trip of the
// image in between (as a server restarts between refreshes).
func TestRebuildChunksSurviveRefreshes(t *testing.T) {
	ctx := context.Background()
	specs := []ColumnSpec{{Name: "Amount", Type: value.Currency}}
	part := func(k int) *Chunk {
		b := NewBuilder(specs, BuilderOptions{})
		for i := range 50000 {
			// 1000 distinct values a refresh, new with every k; wide
			// enough that value encoding does not apply.
			_ = b.Append([]value.Value{value.CurrencyUnits(int64((i%1000+1)*k) * 1_000_003)})
		}
		ch, _ := b.Finish()
		return ch
	}
	store := image.NewMemStore()
	tbl, err := BuildTable(ctx, "T", specs, []PartitionData{{Name: "a", Chunk: part(1)}, {Name: "b", Chunk: part(2)}})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Columns[0].Dict.Kind != DictList {
		t.Fatalf("the test needs a list dictionary")
	}
	root, refs, err := Encode(ctx, &Database{Tables: []*Table{tbl}}, store)
	if err != nil {
		t.Fatal(err)
	}
	for k := 3; k < 8; k++ {
		db, err := Decode(ctx, root.Hash, store, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		had := map[image.Hash]bool{}
		for _, r := range refs {
			had[r.Hash] = true
		}
		next, err := RebuildTable(ctx, db.Tables[0], "T", specs, []PartitionData{{Name: "a"}, {Name: "b", Chunk: part(k)}})
		if err != nil {
			t.Fatal(err)
		}
		root, refs, err = Encode(ctx, &Database{Tables: []*Table{next}}, store)
		if err != nil {
			t.Fatal(err)
		}
		var dictBytes int64
		for _, r := range refs {
			if !had[r.Hash] && r.Kind == image.KindDict {
				dictBytes += r.Size
			}
		}
		// 1000 new values of 8 bytes, a chunk's framing and the header.
		if dictBytes > 8000+200 {
			t.Errorf("refresh %d wrote %d bytes of dictionary for 1000 new values", k, dictBytes)
		}
	}
}
