package engine

import (
	"fmt"
	"strings"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// Model is a processed database ready for queries. It is immutable and
// safe for concurrent use; every query pins the Model it started on.
type Model struct {
	Def  *model.Database
	Data *colstore.Database

	Tables   []*Table
	Measures []*Measure
	Rels     []*Rel

	tables   map[string]*Table
	measures map[string]*Measure
	// calcGroups in order of precedence, highest first.
	calcGroups []*CalcGroup
}

// Table is a table of the model.
type Table struct {
	Model   *Model
	Index   int
	Name    string
	Def     *model.Table
	Data    *colstore.Table
	Columns []*Column
	// Measures defined in the table (measure names are unique across the
	// model; see Model.Measure).
	Measures []*Measure
	columns  map[string]*Column
	// CalcGroup is set for calculation group tables.
	CalcGroup *CalcGroup
}

// Rows is the number of rows of the table, not counting its blank row.
func (t *Table) Rows() int { return t.Data.Rows }

// BlankRow is the row number of the table's blank row: one past the last.
func (t *Table) BlankRow() int { return t.Data.Rows }

// HasBlankRow reports whether the table shows a blank row: it is on the
// one side of a relationship whose many side has keys that find no row.
func (t *Table) HasBlankRow() bool { return t.Model.Data.HasBlankRow(t.Index) }

// Column returns the column named name (case-insensitive), or nil.
func (t *Table) Column(name string) *Column { return t.columns[fold(name)] }

// Column is a column of a model table.
type Column struct {
	Table  *Table
	Index  int
	Name   string
	Type   value.Type
	Def    *model.Column
	Data   *colstore.Column
	SortBy *Column
}

// String names the column as DAX writes it: 'Table'[Column].
func (c *Column) String() string { return dax.QuoteTable(c.Table.Name) + dax.QuoteColumn(c.Name) }

// Measure is a measure of the model or of a query's DEFINE block.
type Measure struct {
	Table        *Table
	Name         string
	Expr         dax.Expr
	Source       string
	FormatString string
	FormatExpr   dax.Expr // dynamic format string, or nil
	Def          *model.Measure
}

// CalcGroup is a calculation group: a table whose single column selects
// calculation items that rewrite the measures evaluated under them.
type CalcGroup struct {
	Table      *Table
	Column     *Column // the column holding item names
	Precedence int
	Items      []*CalcItem
}

// CalcItem is one calculation item.
type CalcItem struct {
	Group      *CalcGroup
	Name       string
	Ordinal    int
	Expr       dax.Expr
	FormatExpr dax.Expr
}

// CrossFilter says which way filters cross a relationship.
type CrossFilter uint8

const (
	// OneWay: from the one side to the many side.
	OneWay CrossFilter = iota
	// BothWays: also from the many side to the one side.
	BothWays
	// NoFilter: the relationship carries no filters (CROSSFILTER NONE).
	NoFilter
)

// Rel is a relationship of the model: From is the many side (its key is a
// foreign key), To the one side.
type Rel struct {
	Index  int
	Name   string
	From   *Column
	To     *Column
	Active bool
	Cross  CrossFilter
	Data   *colstore.Relationship
}

func fold(s string) string { return value.FoldText(s) }

// Table returns the table named name, or nil.
func (m *Model) Table(name string) *Table { return m.tables[fold(name)] }

// Measure returns the measure named name, or nil.
func (m *Model) Measure(name string) *Measure { return m.measures[fold(name)] }

// CalcGroups returns the calculation groups, highest precedence first.
func (m *Model) CalcGroups() []*CalcGroup { return m.calcGroups }

// NewModel joins a model definition with its encoded data. Tables and
// columns the data lacks (a database deployed but not processed, or a
// calculated column not yet computed) are empty. DAX expressions are
// parsed here, so a model whose measures do not parse is refused with the
// object and position.
func NewModel(def *model.Database, data *colstore.Database) (*Model, error) {
	if data == nil {
		data = &colstore.Database{}
	}
	m := &Model{Def: def, tables: map[string]*Table{}, measures: map[string]*Measure{}}
	// The engine's data: one colstore table per model table, in model
	// order, with every model column.
	out := &colstore.Database{}
	for _, td := range def.Model.Tables {
		st := data.Table(td.Name)
		t := &Table{Model: m, Index: len(m.Tables), Name: td.Name, Def: td, columns: map[string]*Column{}}
		ct := &colstore.Table{Name: td.Name}
		if st != nil {
			ct.Rows, ct.Partitions = st.Rows, st.Partitions
		}
		cols := td.Columns
		if td.CalculationGroup != nil && len(cols) == 0 {
			cols = []*model.Column{{Name: "Name", DataType: value.String}}
		}
		for _, cd := range cols {
			typ := cd.DataType
			if typ == value.Blank {
				typ = value.Variant
			}
			var cc *colstore.Column
			if st != nil {
				cc = st.Column(cd.Name)
			}
			if cc == nil {
				cc = colstore.BlankColumn(cd.Name, typ, ct)
			}
			c := &Column{Table: t, Index: len(t.Columns), Name: cd.Name, Type: cc.Type, Def: cd, Data: cc}
			if c.Type == value.Variant && typ != value.Variant {
				c.Type = typ
			}
			t.Columns = append(t.Columns, c)
			t.columns[fold(cd.Name)] = c
			ct.Columns = append(ct.Columns, cc)
		}
		t.Data = ct
		out.Tables = append(out.Tables, ct)
		m.Tables = append(m.Tables, t)
		m.tables[fold(td.Name)] = t
	}
	for _, t := range m.Tables {
		for _, c := range t.Columns {
			if c.Def != nil && c.Def.SortByColumn != "" {
				c.SortBy = t.Column(c.Def.SortByColumn)
			}
		}
	}
	// Relationships: reuse the data's indexes where they match, else build.
	for _, rd := range def.Model.Relationships {
		from, to := m.Table(rd.FromTable), m.Table(rd.ToTable)
		if from == nil || to == nil || from.Column(rd.FromColumn) == nil || to.Column(rd.ToColumn) == nil {
			return nil, fmt.Errorf("engine: relationship %q names a missing table or column", rd.Name)
		}
		fromCard, toCard := rd.Cardinalities()
		if fromCard == model.CardinalityMany && toCard == model.CardinalityMany {
			return nil, fmt.Errorf("engine: relationship %q: many-to-many relationships are not supported", rd.Name)
		}
		fc, tc := from.Column(rd.FromColumn), to.Column(rd.ToColumn)
		if fromCard == model.CardinalityOne && toCard == model.CardinalityMany {
			fc, tc = tc, fc
			from, to = to, from
		}
		r := &Rel{Index: len(m.Rels), Name: rd.Name, From: fc, To: tc, Active: rd.IsActive}
		if rd.Filter() == model.CrossFilterBoth {
			r.Cross = BothWays
		}
		var sr *colstore.Relationship
		for _, dr := range data.Rels {
			if dr.Name == rd.Name && data.Tables[dr.From].Name == from.Name && data.Tables[dr.To].Name == to.Name &&
				len(dr.ToRow) == fc.Data.Dict.Len() {
				sr = dr
				break
			}
		}
		if sr == nil {
			built, err := out.BuildRelationship(colstore.RelationshipSpec{Name: rd.Name,
				FromTable: from.Name, FromColumn: fc.Name, ToTable: to.Name, ToColumn: tc.Name})
			if err != nil {
				return nil, fmt.Errorf("engine: %w", err)
			}
			sr = built
		}
		idx := *sr
		idx.From, idx.To, idx.FromCol, idx.ToCol = from.Index, to.Index, fc.Index, tc.Index
		r.Data = &idx
		out.Rels = append(out.Rels, &idx)
		m.Rels = append(m.Rels, r)
	}
	m.Data = out
	// Measures.
	for _, t := range m.Tables {
		for _, md := range t.Def.Measures {
			ms, err := newMeasure(t, md.Name, md.Expression.Text())
			if err != nil {
				return nil, err
			}
			ms.Def = md
			ms.FormatString = md.FormatString
			if md.FormatStringDefinition != nil && !md.FormatStringDefinition.Expression.IsEmpty() {
				fe, err := dax.ParseExpr(md.FormatStringDefinition.Expression.Text())
				if err != nil {
					return nil, fmt.Errorf("engine: format string of measure %s: %w", ms.Name, err)
				}
				ms.FormatExpr = fe
			}
			if other := m.measures[fold(ms.Name)]; other != nil {
				return nil, fmt.Errorf("engine: measure %q is defined in tables %q and %q", ms.Name, other.Table.Name, t.Name)
			}
			t.Measures = append(t.Measures, ms)
			m.Measures = append(m.Measures, ms)
			m.measures[fold(ms.Name)] = ms
		}
	}
	// Calculation groups.
	for _, t := range m.Tables {
		cg := t.Def.CalculationGroup
		if cg == nil {
			continue
		}
		g := &CalcGroup{Table: t, Precedence: cg.Precedence}
		for _, c := range t.Columns {
			if c.Type == value.String {
				g.Column = c
				break
			}
		}
		if g.Column == nil {
			return nil, fmt.Errorf("engine: calculation group %q has no text column for its items", t.Name)
		}
		for i, it := range cg.CalculationItems {
			e, err := dax.ParseExpr(it.Expression.Text())
			if err != nil {
				return nil, fmt.Errorf("engine: calculation item %q of %q: %w", it.Name, t.Name, err)
			}
			ci := &CalcItem{Group: g, Name: it.Name, Ordinal: it.Ordinal, Expr: e}
			if ci.Ordinal < 0 {
				ci.Ordinal = i
			}
			if it.FormatStringDefinition != nil && !it.FormatStringDefinition.Expression.IsEmpty() {
				fe, err := dax.ParseExpr(it.FormatStringDefinition.Expression.Text())
				if err != nil {
					return nil, fmt.Errorf("engine: format string of calculation item %q: %w", it.Name, err)
				}
				ci.FormatExpr = fe
			}
			g.Items = append(g.Items, ci)
		}
		t.CalcGroup = g
		m.calcGroups = append(m.calcGroups, g)
	}
	for i := 1; i < len(m.calcGroups); i++ {
		for j := i; j > 0 && m.calcGroups[j].Precedence > m.calcGroups[j-1].Precedence; j-- {
			m.calcGroups[j], m.calcGroups[j-1] = m.calcGroups[j-1], m.calcGroups[j]
		}
	}
	return m, nil
}

func newMeasure(t *Table, name, src string) (*Measure, error) {
	e, err := dax.ParseExpr(src)
	if err != nil {
		return nil, fmt.Errorf("engine: measure %s[%s]: %w", dax.QuoteTable(t.Name), name, err)
	}
	return &Measure{Table: t, Name: name, Expr: e, Source: src}, nil
}

// Item returns the calculation item named name, or nil.
func (g *CalcGroup) Item(name string) *CalcItem {
	for _, it := range g.Items {
		if value.EqualText(it.Name, name) {
			return it
		}
	}
	return nil
}

// describeColumns lists columns for messages.
func describeColumns(cols []*Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}
