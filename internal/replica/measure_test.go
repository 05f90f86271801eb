package replica

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/value"
)

// salesImage encodes the retail Sales table split into partitions of
// rows each, into objs, and returns the manifest. seeds[i] is the data
// seed of partition i: a refreshed partition gets a new seed. With
// orderNumbers the table also has a unique text column, whose dictionary
// spans every partition.
//
// With prev (the previous version's table), only the partitions named in
// changed are built and the table is rebuilt from prev as a refresh of
// those partitions does; without it the whole table is built.
func salesImage(b testing.TB, objs *image.MemStore, version int64, rows int, seeds []uint64, orderNumbers bool, prev *colstore.Table, changed ...int) (*image.Manifest, *colstore.Table) {
	b.Helper()
	ctx := context.Background()
	var sales *retail.Table
	for _, t := range retail.Tables(retail.Options{Rows: int64(rows * len(seeds))}) {
		if t.Name == "Sales" {
			sales = t
		}
	}
	var specs []colstore.ColumnSpec
	for _, c := range sales.Columns {
		specs = append(specs, colstore.ColumnSpec{Name: c.Name, Type: c.Type})
	}
	if orderNumbers {
		specs = append(specs, colstore.ColumnSpec{Name: "Order Number", Type: value.String})
	}
	var parts []colstore.PartitionData
	for p, seed := range seeds {
		if prev != nil && !slices.Contains(changed, p) {
			parts = append(parts, colstore.PartitionData{Name: fmt.Sprintf("P%d", p)})
			continue
		}
		gen := sales.Row
		if seed != 0 {
			for _, t := range retail.Tables(retail.Options{Rows: int64(rows * len(seeds)), Seed: seed}) {
				if t.Name == "Sales" {
					gen = t.Row
				}
			}
		}
		bld := colstore.NewBuilder(specs, colstore.BuilderOptions{})
		row := make([]value.Value, len(specs))
		for i := range rows {
			n := int64(p*rows + i)
			gen(n, row)
			if orderNumbers {
				row[len(row)-1] = value.Str(fmt.Sprintf("SO-%d-%09d", seed, n))
			}
			if err := bld.Append(row); err != nil {
				b.Fatal(err)
			}
		}
		chunk, err := bld.Finish()
		if err != nil {
			b.Fatal(err)
		}
		parts = append(parts, colstore.PartitionData{Name: fmt.Sprintf("P%d", p), Chunk: chunk})
	}
	var tbl *colstore.Table
	var err error
	if prev != nil {
		tbl, err = colstore.RebuildTable(ctx, prev, "Sales", specs, parts)
	} else {
		tbl, err = colstore.BuildTable(ctx, "Sales", specs, parts)
	}
	if err != nil {
		b.Fatal(err)
	}
	root, refs, err := colstore.Encode(ctx, &colstore.Database{Tables: []*colstore.Table{tbl}}, objs)
	if err != nil {
		b.Fatal(err)
	}
	model, err := objs.WriteObject(ctx, image.KindModel, []byte(`{"name":"Sales"}`))
	if err != nil {
		b.Fatal(err)
	}
	m := &image.Manifest{Database: "Sales", Version: version, CommitTime: time.Now().UTC(), State: image.StateReady,
		Model: model.Hash, Data: root.Hash, Objects: append(refs, model)}
	if err := m.Check(); err != nil {
		b.Fatal(err)
	}
	return m, tbl
}

// newBytesByKind sums the sizes of the objects of m2 that m1 lacks, by
// what they are: segments of the partition of rows [start, start+rows),
// segments of other partitions, dictionaries, and the rest (data root,
// model). It also returns the segment bytes of that partition in m2.
func newBytesByKind(b testing.TB, objs *image.MemStore, m1, m2 *image.Manifest, start, rows int) (part, other, dicts, rest, partTotal int64) {
	b.Helper()
	data, err := objs.ReadObject(context.Background(), m2.Data)
	if err != nil {
		b.Fatal(err)
	}
	var root struct {
		Tables []struct {
			Columns []struct {
				Dict       image.Hash   `json:"dictionary"`
				DictChunks []image.Hash `json:"dictionaryChunks"`
				Segments   []struct {
					Start  int        `json:"start"`
					Object image.Hash `json:"object"`
				} `json:"segments"`
			} `json:"columns"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(data, &root); err != nil {
		b.Fatal(err)
	}
	kind := map[image.Hash]string{}
	for _, t := range root.Tables {
		for _, c := range t.Columns {
			kind[c.Dict] = "dict"
			for _, h := range c.DictChunks {
				kind[h] = "dict"
			}
			for _, s := range c.Segments {
				if s.Start >= start && s.Start < start+rows {
					kind[s.Object] = "part"
				} else {
					kind[s.Object] = "other"
				}
			}
		}
	}
	for _, o := range m2.Objects {
		if kind[o.Hash] == "part" {
			partTotal += o.Size
		}
		if m1.Has(o.Hash) {
			continue
		}
		switch kind[o.Hash] {
		case "part":
			part += o.Size
		case "other":
			other += o.Size
		case "dict":
			dicts += o.Size
		default:
			rest += o.Size
		}
	}
	return part, other, dicts, rest, partTotal
}

// BenchmarkRefreshUpload measures what a one-partition refresh ships: the
// Sales table in four partitions of a million rows (one segment per
// column each), published, then published again with one partition's
// data replaced. Reported: bytes and objects uploaded by the second
// publish, the refreshed partition's segment bytes, and the image size.
//
//	go test -run '^$' -bench RefreshUpload -benchtime 1x ./internal/replica/
func BenchmarkRefreshUpload(b *testing.B) {
	const rows = 1 << 20
	for _, tc := range []struct {
		name   string
		part   int
		orders bool
	}{
		{"last-partition", 3, false},
		{"first-partition", 0, false},
		{"last-partition+text-column", 3, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			objs := image.NewMemStore()
			seeds := []uint64{0, 0, 0, 0}
			v1, t1 := salesImage(b, objs, 1, rows, seeds, tc.orders, nil)
			seeds[tc.part] = 99
			v2, _ := salesImage(b, objs, 2, rows, seeds, tc.orders, t1, tc.part)
			part, other, dicts, rest, partBytes := newBytesByKind(b, objs, v1, v2, tc.part*rows, rows)
			var st Stats
			b.ResetTimer()
			for range b.N {
				r := newRig(b, memBackend().open(b), Options{})
				r.prim.objects = objs
				ctx := context.Background()
				if _, err := r.pub.Publish(ctx, v1, objs); err != nil {
					b.Fatal(err)
				}
				var err error
				if st, err = r.pub.Publish(ctx, v2, objs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Bytes), "uploaded-bytes")
			b.ReportMetric(float64(st.Uploaded), "uploaded-objects")
			b.ReportMetric(float64(len(v2.Objects)), "image-objects")
			b.ReportMetric(float64(partBytes), "partition-segment-bytes")
			b.ReportMetric(float64(v2.Size()), "image-bytes")
			b.ReportMetric(float64(part), "new-partition-segment-bytes")
			b.ReportMetric(float64(other), "new-other-segment-bytes")
			b.ReportMetric(float64(dicts), "new-dictionary-bytes")
			b.ReportMetric(float64(rest), "new-other-bytes")
		})
	}
}

// BenchmarkLag measures replication lag: the time from Publish returning
// (the pointer written) to the follower's local commit of that version,
// with a follower polling a file:// store every 2 s and every 100 ms and
// committing into a catalog on disk. Each version changes one 1 MiB
// segment of a 16-segment image; publishes start at a random point of
// the poll cycle.
//
//	go test -run '^$' -bench Lag -benchtime 10x ./internal/replica/
func BenchmarkLag(b *testing.B) {
	for _, poll := range []time.Duration{2 * time.Second, 100 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			r := newRig(b, mustOpen(b, "file://"+dir+"/store", blob.Options{}), Options{})
			r.local = newCatLocal(b, dir+"/local")
			f, err := NewFollower(r.s, r.local, FollowerOptions{Interval: poll})
			if err != nil {
				b.Fatal(err)
			}
			committed := make(chan time.Time, 1)
			r.local.onCommit = func(*image.Manifest) { committed <- time.Now() }
			go f.Run(ctx)
			defer f.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			seg := func(i, v int) string {
				buf := make([]byte, 1<<20)
				for j := range buf {
					buf[j] = byte(i*31 + v*7 + j)
				}
				return string(buf)
			}
			base := make([]string, 16)
			for i := range base {
				base[i] = seg(i, 0)
			}
			var total, publish time.Duration
			b.ResetTimer()
			for v := 1; v <= b.N; v++ {
				b.StopTimer()
				time.Sleep(time.Duration(rng.Int64N(int64(poll))))
				base[v%16] = seg(v%16, v)
				m := r.prim.image(b, "Sales", int64(v), "model", base...)
				b.StartTimer()
				start := time.Now()
				if _, err := r.pub.Publish(ctx, m, r.prim.objects); err != nil {
					b.Fatal(err)
				}
				published := time.Now()
				select {
				case at := <-committed:
					total += at.Sub(published)
					publish += published.Sub(start)
				case <-time.After(time.Minute):
					b.Fatalf("version %d not followed within a minute", v)
				}
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "lag-ms")
			b.ReportMetric(float64(publish.Milliseconds())/float64(b.N), "publish-ms")
		})
	}
}
