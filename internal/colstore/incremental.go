package colstore

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/value"
)

// RebuildTable re-encodes a table of which only some partitions changed,
// as Analysis Services processes one partition: the partitions in parts
// whose Chunk is nil keep their rows from prev, with their segments
// unchanged byte for byte (so content-addressed objects, and what
// replication ships, stay the same); the others are encoded against
// prev's dictionaries, which only grow — new values get new ids, values no
// longer used keep theirs until a full rebuild. When a column cannot be
// extended (a new column, another type, values outside a value-encoded
// range), the kept partitions are decoded and the column is rebuilt from
// scratch; the table is still correct, only larger to ship.
func RebuildTable(ctx context.Context, prev *Table, name string, specs []ColumnSpec, parts []PartitionData) (*Table, error) {
	if prev == nil {
		return BuildTable(ctx, name, specs, parts)
	}
	kept := map[string]Partition{}
	for _, p := range prev.Partitions {
		kept[value.FoldText(p.Name)] = p
	}
	t := &Table{Name: name}
	type source struct {
		old  Partition // kept partition of prev
		keep bool
	}
	srcs := make([]source, len(parts))
	for i, p := range parts {
		if p.Chunk == nil {
			old, ok := kept[value.FoldText(p.Name)]
			if !ok {
				return nil, fmt.Errorf("colstore: table %q has no partition %q to keep", name, p.Name)
			}
			srcs[i] = source{old: old, keep: true}
			t.Partitions = append(t.Partitions, Partition{Name: p.Name, Start: t.Rows, Rows: old.Rows})
			t.Rows += old.Rows
			continue
		}
		if len(p.Chunk.cols) != len(specs) {
			return nil, fmt.Errorf("colstore: table %q partition %q has %d columns, want %d", name, p.Name, len(p.Chunk.cols), len(specs))
		}
		t.Partitions = append(t.Partitions, Partition{Name: p.Name, Start: t.Rows, Rows: p.Chunk.Rows})
		t.Rows += p.Chunk.Rows
	}
	t.Columns = make([]*Column, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for ci, spec := range specs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			old := prev.Column(spec.Name)
			var c *Column
			if old != nil && old.Type == spec.Type {
				c = extendColumn(spec, old, prev, t, parts, func(i int) (bool, Partition) { return srcs[i].keep, srcs[i].old }, ci)
			}
			if c == nil {
				// Rebuild: decode kept partitions back into raw rows.
				raws := make([]*rawColumn, len(parts))
				for i, p := range parts {
					if srcs[i].keep {
						raws[i] = decodeRaw(old, spec.Type, srcs[i].old)
					} else {
						raws[i] = p.Chunk.cols[ci]
					}
				}
				var err error
				if c, err = encodeColumn(spec, raws); err != nil {
					return fmt.Errorf("encode column %q: %w", spec.Name, err)
				}
			}
			t.Columns[ci] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("colstore: table %q: %w", name, err)
	}
	return t, nil
}

// decodeRaw turns a partition of an encoded column back into raw values;
// a missing column gives BLANKs.
func decodeRaw(c *Column, typ value.Type, p Partition) *rawColumn {
	r := newRawColumn(typ)
	b := NewBuilder([]ColumnSpec{{Name: "c", Type: typ}}, BuilderOptions{})
	b.cols[0] = r
	for row := p.Start; row < p.Start+p.Rows; row++ {
		if c == nil {
			b.Blank(0)
		} else {
			b.storeValue(0, c.Value(row))
		}
		b.rows++
	}
	return r
}

// extendColumn encodes the changed partitions of a column against the
// previous dictionary and reuses the kept partitions' segments. It
// returns nil when the dictionary cannot be extended.
func extendColumn(spec ColumnSpec, old *Column, prev, t *Table, parts []PartitionData, keep func(int) (bool, Partition), ci int) *Column {
	d := old.Dict
	var lookup func(r *rawColumn, i int) (uint32, bool)
	var nd *Dict
	switch d.Kind {
	case DictRange:
		// Value encoding extends only when every new value falls inside
		// the range.
		nd = d
		lookup = func(r *rawColumn, i int) (uint32, bool) {
			v, ok := rawValue(r, i)
			if !ok {
				return 0, true
			}
			id, found := d.findRange(v)
			return id, found
		}
	default:
		nd = &Dict{Type: d.Type, Kind: DictList, N: d.N,
			Ints: append([]int64(nil), d.Ints...), Floats: append([]float64(nil), d.Floats...),
			Strs: append([]string(nil), d.Strs...), Vals: append([]value.Value(nil), d.Vals...)}
		index := map[any]uint32{}
		for id := uint32(1); int(id) <= d.N; id++ {
			k, _ := d.key(d.Value(id))
			if _, dup := index[k]; !dup {
				index[k] = id
			}
		}
		lookup = func(r *rawColumn, i int) (uint32, bool) {
			v, ok := rawValue(r, i)
			if !ok {
				return 0, true
			}
			k, _ := nd.key(v)
			if id, ok := index[k]; ok {
				return id, true
			}
			switch nd.Type {
			case value.Integer, value.Currency, value.Boolean:
				nd.Ints = append(nd.Ints, v.AsInt())
			case value.Decimal, value.DateTime:
				nd.Floats = append(nd.Floats, v.AsFloat())
			case value.String:
				nd.Strs = append(nd.Strs, v.AsString())
			default:
				nd.Vals = append(nd.Vals, v)
			}
			nd.N++
			index[k] = uint32(nd.N)
			return uint32(nd.N), true
		}
	}
	c := &Column{Name: spec.Name, Type: spec.Type, Dict: nd}
	buf := make([]uint32, SegmentRows)
	for i, p := range parts {
		start := t.Partitions[i].Start
		if k, oldPart := keep(i); k {
			for _, s := range old.Segs {
				if s.Start >= oldPart.Start && s.Start < oldPart.Start+oldPart.Rows {
					s.Start = start + (s.Start - oldPart.Start)
					c.Segs = append(c.Segs, s)
				}
			}
			continue
		}
		r := p.Chunk.cols[ci]
		for off := 0; off < r.n; off += SegmentRows {
			out := buf[:min(SegmentRows, r.n-off)]
			var maxID uint32
			for j := range out {
				id, ok := lookup(r, off+j)
				if !ok {
					return nil
				}
				out[j] = id
				maxID = max(maxID, id)
			}
			c.Segs = append(c.Segs, Segment{Start: start + off, Packed: Pack(out, BitsFor(maxID)), MaxID: maxID})
		}
	}
	if nd.Kind == DictList {
		if nd.N > math.MaxUint32-1 {
			return nil
		}
		nd.chunks = extendChunks(d.chunkCounts(), nd.N)
	}
	return c
}

// rawValue returns row i of a raw column as a value; ok is false for
// BLANK.
func rawValue(r *rawColumn, i int) (value.Value, bool) {
	if r.isBlank(i) {
		return value.BlankValue, false
	}
	switch r.typ {
	case value.Integer:
		return value.Int(r.ints[i]), true
	case value.Currency:
		return value.CurrencyUnits(r.ints[i]), true
	case value.Boolean:
		return value.Bool(r.ints[i] != 0), true
	case value.Decimal:
		return value.Float(r.floats[i]), true
	case value.DateTime:
		return value.Date(r.floats[i]), true
	case value.String:
		return value.Str(r.strs[r.strIDs[i]-1]), true
	}
	return r.vals[i], true
}
