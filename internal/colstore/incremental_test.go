package colstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

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
