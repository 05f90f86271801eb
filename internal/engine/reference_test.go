package engine_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/engine/enginetest"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// randomModel builds a fact table F with keys to dimensions A and B:
// dimension keys with gaps, text attributes that differ only by case,
// numbers and keys with BLANKs, fact keys that find no dimension row.
func randomModel(t *testing.T, rng *rand.Rand) *engine.Model {
	words := []string{"red", "Red", "blue", "green", "GREEN", "x"}
	type table struct {
		name  string
		cols  []string
		types []value.Type
		rows  [][]value.Value
	}
	dim := func(name string, n int) *table {
		tb := &table{name: name, cols: []string{name + "Key", "Cat", "Num"}, types: []value.Type{value.Integer, value.String, value.Integer}}
		for i := 0; i < n; i++ {
			cat := value.Str(words[rng.IntN(len(words))])
			if rng.IntN(8) == 0 {
				cat = value.BlankValue
			}
			tb.rows = append(tb.rows, []value.Value{value.Int(int64(i*2 + 1)), cat, value.Int(int64(rng.IntN(4)))})
		}
		return tb
	}
	a, b := dim("A", 1+rng.IntN(8)), dim("B", 1+rng.IntN(6))
	f := &table{name: "F", cols: []string{"AKey", "BKey", "Qty", "Amt", "Code"},
		types: []value.Type{value.Integer, value.Integer, value.Integer, value.Decimal, value.Integer}}
	for i := 0; i < 1+rng.IntN(60); i++ {
		r := []value.Value{
			value.Int(int64(rng.IntN(2*len(a.rows) + 2))), // even and high keys find no row
			value.Int(int64(rng.IntN(2*len(b.rows) + 2))),
			value.Int(int64(rng.IntN(10))),
			value.Float(float64(rng.IntN(1000)) / 4),
			value.Int(int64(rng.IntN(5))),
		}
		for c := range r {
			if rng.IntN(10) == 0 {
				r[c] = value.BlankValue
			}
		}
		f.rows = append(f.rows, r)
	}
	def := &model.Database{Name: "ref", CompatibilityLevel: 1600}
	data := &colstore.Database{}
	for _, tb := range []*table{a, b, f} {
		mt := &model.Table{Name: tb.name}
		specs := make([]colstore.ColumnSpec, len(tb.cols))
		for i, c := range tb.cols {
			mt.Columns = append(mt.Columns, &model.Column{Name: c, DataType: tb.types[i], TMSLDataType: tb.types[i].TMSLName(), SourceColumn: c})
			specs[i] = colstore.ColumnSpec{Name: c, Type: tb.types[i]}
		}
		def.Model.Tables = append(def.Model.Tables, mt)
		bl := colstore.NewBuilder(specs, colstore.BuilderOptions{})
		for _, r := range tb.rows {
			if err := bl.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		ch, _ := bl.Finish()
		tab, err := colstore.BuildTable(context.Background(), tb.name, specs, []colstore.PartitionData{{Name: tb.name, Chunk: ch}})
		if err != nil {
			t.Fatal(err)
		}
		data.Tables = append(data.Tables, tab)
	}
	def.Model.Relationships = []*model.Relationship{
		{Name: "FA", FromTable: "F", FromColumn: "AKey", ToTable: "A", ToColumn: "AKey", IsActive: true},
		{Name: "FB", FromTable: "F", FromColumn: "BKey", ToTable: "B", ToColumn: "BKey", IsActive: true},
	}
	m, err := engine.NewModel(def, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDifferentialAgainstReference runs random SUMMARIZECOLUMNS queries
// over random models through the engine (set at a time and group by
// group) and through the reference evaluator.
func TestDifferentialAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 17))
	iters := 300
	if testing.Short() {
		iters = 40
	}
	for it := 0; it < iters; it++ {
		m := randomModel(t, rng)
		q, ok := enginetest.RandomQuery(rng, m)
		if !ok {
			continue
		}
		if err := CompareWithReference(m, enginetest.NewReference(m), q); err != nil {
			t.Fatalf("iter %d: %v", it, err)
		}
	}
}

// CompareWithReference runs a query through the engine both ways and
// through the reference and reports the first difference.
func CompareWithReference(m *engine.Model, ref *enginetest.Reference, q enginetest.Query) error {
	want := ref.Answer(q)
	for _, scalarOnly := range []bool{false, true} {
		res, err := m.Query(context.Background(), q.DAX(), engine.QueryOptions{ScalarOnly: scalarOnly})
		if err != nil {
			return fmt.Errorf("%s\n%w", q.DAX(), err)
		}
		got := map[string]value.Value{}
		n := len(q.Group)
		for _, r := range res.Tables[0].Rows {
			got[enginetest.Key(r[:n])] = r[n]
		}
		if len(got) != len(want) {
			return fmt.Errorf("(ScalarOnly=%v) %s\n%d groups, the reference has %d\ngot %v\nwant %v", scalarOnly, q.DAX(), len(got), len(want), got, want)
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				return fmt.Errorf("(ScalarOnly=%v) %s\nmissing group %s (want %v)", scalarOnly, q.DAX(), k, w)
			}
			x, _ := w.Number()
			y, _ := g.Number()
			if math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
				return fmt.Errorf("(ScalarOnly=%v) %s\ngroup %s = %v, the reference says %v", scalarOnly, q.DAX(), k, g, w)
			}
		}
	}
	return nil
}
