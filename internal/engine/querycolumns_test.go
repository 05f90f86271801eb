package engine

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// A query column of a table with several partitions has the table's
// segments, and the model the query ran on is left as it was.
func TestQueryColumnOverPartitions(t *testing.T) {
	ctx := context.Background()
	specs := []colstore.ColumnSpec{{Name: "K", Type: value.Integer}, {Name: "V", Type: value.Integer}}
	var parts []colstore.PartitionData
	for p, rows := range [][][2]int64{{{1, 10}, {2, 20}}, {{3, 30}}, {{4, 40}, {5, 50}, {6, 60}}} {
		b := colstore.NewBuilder(specs, colstore.BuilderOptions{})
		for _, r := range rows {
			if err := b.Append([]value.Value{value.Int(r[0]), value.Int(r[1])}); err != nil {
				t.Fatal(err)
			}
		}
		ch, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, colstore.PartitionData{Name: string(rune('a' + p)), Chunk: ch})
	}
	tab, err := colstore.BuildTable(ctx, "T", specs, parts)
	if err != nil {
		t.Fatal(err)
	}
	def := &model.Database{Name: "db", CompatibilityLevel: 1600, Model: model.Model{Tables: []*model.Table{{Name: "T", Columns: []*model.Column{
		{Name: "K", DataType: value.Integer, TMSLDataType: "int64", SourceColumn: "K"},
		{Name: "V", DataType: value.Integer, TMSLDataType: "int64", SourceColumn: "V"},
	}}}}}
	m, err := NewModel(def, &colstore.Database{Tables: []*colstore.Table{tab}})
	if err != nil {
		t.Fatal(err)
	}
	q := `DEFINE COLUMN T[Odd] = IF(MOD(T[K], 2) = 1, "odd", "even")
	      COLUMN T[D] = T[V] * 2
	EVALUATE SUMMARIZECOLUMNS(T[Odd], "d", SUM(T[D]), "v", SUM(T[V]))
	ORDER BY T[Odd]`
	res, err := m.Query(ctx, q, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range res.Tables[0].Rows {
		var row []string
		for _, v := range r {
			row = append(row, v.String())
		}
		got = append(got, row)
	}
	// Odd keys 1, 3, 5: V 90; even keys 2, 4, 6: V 120.
	want := [][]string{{"even", "240", "120"}, {"odd", "180", "90"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	if m.Table("T").Column("D") != nil || len(m.Def.Model.Tables[0].Columns) != 2 || len(m.Data.Tables[0].Columns) != 2 {
		t.Error("the query column was added to the pinned model")
	}
	// The derived model's column has the table's segments.
	dq, err := m.withQueryColumns(ctx, mustParseQuery(t, q), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dt := dq.Table("T")
	if d := cmp.Diff(dt.Data.SegmentBounds(), segmentsOf(dt.Column("D").Data)); d != "" {
		t.Errorf("segments of the query column (-table +column):\n%s", d)
	}
}

func segmentsOf(c *colstore.Column) [][2]int {
	var out [][2]int
	for _, s := range c.Segs {
		out = append(out, [2]int{s.Start, s.N})
	}
	return out
}

func mustParseQuery(t *testing.T, src string) *dax.Query {
	t.Helper()
	q, err := dax.ParseQuery(src)
	if err != nil {
		t.Fatal(err)
	}
	return q
}
