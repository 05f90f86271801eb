package process

import (
	"context"
	"fmt"
	"strings"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// node is a calculated object: a calculated table (column "") or a
// calculated column.
type node struct {
	table  *model.Table
	column *model.Column
}

func (n node) String() string {
	if n.column == nil {
		return fmt.Sprintf("calculated table %q", n.table.Name)
	}
	return fmt.Sprintf("calculated column %s%s", dax.QuoteTable(n.table.Name), dax.QuoteColumn(n.column.Name))
}

// calculate computes calculation group tables, calculated tables and
// calculated columns, in an order where every object comes after the
// calculated objects it refers to.
func (p *processor) calculate(ctx context.Context, data *colstore.Database) (*engine.Model, error) {
	// Calculation groups: one row per item.
	for _, t := range p.def.Model.Tables {
		if t.CalculationGroup == nil {
			continue
		}
		tab, err := calcGroupTable(ctx, t)
		if err != nil {
			return nil, err
		}
		data.Tables = append(data.Tables, tab)
	}
	order, err := p.order()
	if err != nil {
		return nil, err
	}
	m, err := p.model(data)
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n.column == nil {
			tab, err := p.calcTable(ctx, m, n.table)
			if err != nil {
				return nil, err
			}
			data.Tables = append(data.Tables, tab)
		} else {
			if err := p.calcColumn(ctx, m, data, n.table, n.column); err != nil {
				return nil, err
			}
		}
		if m, err = p.model(data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// model builds the engine's model over the data so far; relationships
// whose tables are not yet computed are left out until they are.
func (p *processor) model(data *colstore.Database) (*engine.Model, error) {
	def := *p.def
	def.Model.Relationships = nil
	for _, r := range p.def.Model.Relationships {
		if tableReady(data, r.FromTable) && tableReady(data, r.ToTable) {
			def.Model.Relationships = append(def.Model.Relationships, r)
		}
	}
	m, err := engine.NewModel(&def, data)
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	return m, nil
}

func tableReady(data *colstore.Database, name string) bool { return data.Table(name) != nil }

func calcGroupTable(ctx context.Context, t *model.Table) (*colstore.Table, error) {
	var nameCol, ordCol *model.Column
	for _, c := range t.Columns {
		switch {
		case c.DataType == value.String && nameCol == nil:
			nameCol = c
		case c.DataType == value.Integer && ordCol == nil:
			ordCol = c
		}
	}
	specs := specsOf(t.Columns)
	if len(specs) == 0 {
		specs = []colstore.ColumnSpec{{Name: "Name", Type: value.String}}
	}
	b := colstore.NewBuilder(specs, colstore.BuilderOptions{})
	for i, it := range t.CalculationGroup.CalculationItems {
		row := make([]value.Value, len(specs))
		for j, c := range t.Columns {
			switch c {
			case nameCol:
				row[j] = value.Str(it.Name)
			case ordCol:
				ord := it.Ordinal
				if ord < 0 {
					ord = i
				}
				row[j] = value.Int(int64(ord))
			}
		}
		if len(t.Columns) == 0 {
			row[0] = value.Str(it.Name)
		}
		if err := b.Append(row); err != nil {
			return nil, fmt.Errorf("process: calculation group %q: %w", t.Name, err)
		}
	}
	ch, err := b.Finish()
	if err != nil {
		return nil, err
	}
	return colstore.BuildTable(ctx, t.Name, specs, []colstore.PartitionData{{Name: t.Name, Chunk: ch}})
}

// calcTable evaluates a calculated table and encodes it with the model's
// column types; columns map to the expression's by sourceColumn or name.
func (p *processor) calcTable(ctx context.Context, m *engine.Model, t *model.Table) (*colstore.Table, error) {
	var expr string
	var partName string
	for _, part := range t.Partitions {
		if part.Source.Type == model.SourceCalculated {
			expr, partName = part.Source.Expression.Text(), part.Name
		}
	}
	rows, err := m.ComputeTable(ctx, expr)
	if err != nil {
		return nil, fmt.Errorf("process: calculated table %q: %w", t.Name, err)
	}
	var cols []*model.Column
	for _, c := range t.Columns {
		if c.Kind() != model.ColumnCalculated {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		// A model that lists no columns takes the expression's.
		for i, n := range rows.Names {
			cols = append(cols, &model.Column{Name: n, DataType: rows.Types[i]})
		}
	}
	index := make([]int, len(cols))
	for i, c := range cols {
		index[i] = resultColumn(rows.Names, c)
		if index[i] < 0 {
			return nil, fmt.Errorf("process: calculated table %q: the expression has no column %q for column %q (it has %s)",
				t.Name, c.SourceColumn, c.Name, strings.Join(rows.Names, ", "))
		}
	}
	specs := specsOf(cols)
	for i := range specs {
		if specs[i].Type == value.Variant {
			specs[i].Type = rows.Types[index[i]]
		}
	}
	b := colstore.NewBuilder(specs, colstore.BuilderOptions{})
	row := make([]value.Value, len(cols))
	for _, r := range rows.Rows {
		for i := range cols {
			row[i] = r[index[i]]
		}
		if err := b.Append(row); err != nil {
			return nil, fmt.Errorf("process: calculated table %q: %w", t.Name, err)
		}
	}
	ch, err := b.Finish()
	if err != nil {
		return nil, err
	}
	if partName == "" {
		partName = t.Name
	}
	return colstore.BuildTable(ctx, t.Name, specs, []colstore.PartitionData{{Name: partName, Chunk: ch}})
}

// resultColumn finds the expression column a calculated table column
// reads: sourceColumn may be "Name", "[Name]" or "Table[Name]".
func resultColumn(names []string, c *model.Column) int {
	want := c.SourceColumn
	if want == "" {
		want = c.Name
	}
	if i := strings.LastIndex(want, "["); i >= 0 && strings.HasSuffix(want, "]") {
		want = want[i+1 : len(want)-1]
	}
	for i, n := range names {
		if value.EqualText(n, want) {
			return i
		}
	}
	for i, n := range names {
		if value.EqualText(n, c.Name) {
			return i
		}
	}
	return -1
}

// calcColumn computes a calculated column and adds it to its table,
// partition by partition so that it shares the table's segments.
func (p *processor) calcColumn(ctx context.Context, m *engine.Model, data *colstore.Database, t *model.Table, c *model.Column) error {
	et := m.Table(t.Name)
	vals, err := m.ComputeColumn(ctx, et, c.Expression.Text())
	if err != nil {
		return fmt.Errorf("process: calculated column %s%s: %w", dax.QuoteTable(t.Name), dax.QuoteColumn(c.Name), err)
	}
	typ := c.DataType
	if typ == value.Blank || typ == value.Variant {
		typ = inferType(vals)
	}
	spec := []colstore.ColumnSpec{{Name: c.Name, Type: typ}}
	st := data.Table(t.Name)
	var parts []colstore.PartitionData
	for _, part := range st.Partitions {
		b := colstore.NewBuilder(spec, colstore.BuilderOptions{})
		for r := part.Start; r < part.Start+part.Rows; r++ {
			if err := b.Append([]value.Value{vals[r]}); err != nil {
				return fmt.Errorf("process: calculated column %s%s row %d: %w", dax.QuoteTable(t.Name), dax.QuoteColumn(c.Name), r+1, err)
			}
		}
		ch, err := b.Finish()
		if err != nil {
			return err
		}
		parts = append(parts, colstore.PartitionData{Name: part.Name, Chunk: ch})
	}
	col, err := colstore.BuildTable(ctx, t.Name, spec, parts)
	if err != nil {
		return err
	}
	// Replace the table in data with one that has the new column: the
	// previous table may be shared with the previous image.
	nt := *st
	nt.Columns = append(append([]*colstore.Column(nil), st.Columns...), col.Columns[0])
	for i, tab := range data.Tables {
		if tab == st {
			data.Tables[i] = &nt
		}
	}
	return nil
}

// inferType is the type of a calculated column whose model says none.
func inferType(vals []value.Value) value.Type {
	t := value.Blank
	for _, v := range vals {
		switch {
		case v.IsBlank() || v.Type() == t:
		case t == value.Blank:
			t = v.Type()
		default:
			return value.Variant
		}
	}
	if t == value.Blank {
		return value.String
	}
	return t
}

// order sorts the calculated objects so that each comes after those it
// refers to; a cycle is an error naming the objects in it.
func (p *processor) order() ([]node, error) {
	var nodes []node
	for _, t := range p.def.Model.Tables {
		if t.CalculationGroup != nil {
			continue
		}
		if t.IsCalculated() {
			nodes = append(nodes, node{table: t})
		}
		for _, c := range t.Columns {
			if c.Kind() == model.ColumnCalculated {
				nodes = append(nodes, node{table: t, column: c})
			}
		}
	}
	deps := make([][]int, len(nodes))
	for i, n := range nodes {
		var src string
		if n.column != nil {
			src = n.column.Expression.Text()
		} else {
			for _, part := range n.table.Partitions {
				if part.Source.Type == model.SourceCalculated {
					src = part.Source.Expression.Text()
				}
			}
		}
		refs := p.references(src, n.table, map[string]bool{})
		if n.column != nil {
			refs.home[value.FoldText(n.table.Name)] = true
		}
		for j, o := range nodes {
			if i == j {
				continue
			}
			if refs.dependsOn(o) {
				deps[i] = append(deps[i], j)
			}
		}
	}
	var out []node
	state := make([]int, len(nodes)) // 0 new, 1 visiting, 2 done
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case 1:
			return fmt.Errorf("process: circular dependency between %s", strings.Join(append(path, nodes[i].String()), " -> "))
		case 2:
			return nil
		}
		state[i] = 1
		for _, j := range deps[i] {
			if err := visit(j, append(path, nodes[i].String())); err != nil {
				return err
			}
		}
		state[i] = 2
		out = append(out, nodes[i])
		return nil
	}
	for i := range nodes {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refSet is what an expression refers to: whole tables and columns.
type refSet struct {
	// home holds the table of a calculated column: a reference to its
	// own table as a whole does not make it wait for its sibling columns.
	home    map[string]bool
	tables  map[string]bool
	columns map[string]bool // fold(table)+"\x00"+fold(column)
}

func (r refSet) dependsOn(n node) bool {
	t := value.FoldText(n.table.Name)
	if n.column == nil {
		return r.tables[t] || r.anyColumnOf(t)
	}
	return r.columns[t+"\x00"+value.FoldText(n.column.Name)] || (r.tables[t] && !r.home[t])
}

func (r refSet) anyColumnOf(t string) bool {
	for k := range r.columns {
		if strings.HasPrefix(k, t+"\x00") {
			return true
		}
	}
	return false
}

// references collects the tables and columns an expression refers to,
// following measures.
func (p *processor) references(src string, home *model.Table, seen map[string]bool) refSet {
	r := refSet{home: map[string]bool{}, tables: map[string]bool{}, columns: map[string]bool{}}
	e, err := dax.ParseExpr(src)
	if err != nil {
		return r
	}
	var add func(e dax.Node)
	add = func(e dax.Node) {
		dax.Inspect(e, func(n dax.Node) bool {
			switch x := n.(type) {
			case *dax.TableRef:
				r.tables[value.FoldText(x.Name)] = true
			case *dax.Ident:
				if p.def.Model.Table(x.Name) != nil {
					r.tables[value.FoldText(x.Name)] = true
				}
			case *dax.ColumnRef:
				table := x.Table
				if table == "" {
					if ms, _ := p.def.Model.Measure(x.Column); ms != nil {
						if !seen[ms.Name] {
							seen[ms.Name] = true
							if me, err := dax.ParseExpr(ms.Expression.Text()); err == nil {
								add(me)
							}
						}
						return true
					}
					if home != nil {
						table = home.Name
					}
				} else if mt := p.def.Model.Table(table); mt != nil && mt.Column(x.Column) == nil {
					if ms, _ := p.def.Model.Measure(x.Column); ms != nil && !seen[ms.Name] {
						seen[ms.Name] = true
						if me, err := dax.ParseExpr(ms.Expression.Text()); err == nil {
							add(me)
						}
					}
					return true
				}
				r.columns[value.FoldText(table)+"\x00"+value.FoldText(x.Column)] = true
			}
			return true
		})
	}
	add(e)
	return r
}
