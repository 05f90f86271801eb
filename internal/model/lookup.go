package model

import "github.com/meridian-olap/meridian/internal/value"

// Lookups compare names as Analysis Services does: without regard to case
// (value.EqualText). They return nil when nothing matches and the first
// match when a model that has not been validated holds duplicates. Nil
// entries in the lists are skipped.

func find[T any](xs []*T, name string, nameOf func(*T) string) *T {
	for _, x := range xs {
		if x != nil && value.EqualText(nameOf(x), name) {
			return x
		}
	}
	return nil
}

// Table returns the table with the given name.
func (m *Model) Table(name string) *Table {
	return find(m.Tables, name, func(t *Table) string { return t.Name })
}

// Measure returns the measure with the given name from any table, and the
// table that holds it. Measure names are unique across a model.
func (m *Model) Measure(name string) (*Measure, *Table) {
	for _, t := range m.Tables {
		if t == nil {
			continue
		}
		if ms := t.Measure(name); ms != nil {
			return ms, t
		}
	}
	return nil, nil
}

// Relationship returns the relationship with the given name.
func (m *Model) Relationship(name string) *Relationship {
	return find(m.Relationships, name, func(r *Relationship) string { return r.Name })
}

// Role returns the role with the given name.
func (m *Model) Role(name string) *Role {
	return find(m.Roles, name, func(r *Role) string { return r.Name })
}

// Expression returns the named expression with the given name.
func (m *Model) Expression(name string) *NamedExpression {
	return find(m.Expressions, name, func(e *NamedExpression) string { return e.Name })
}

// DataSource returns the data source with the given name.
func (m *Model) DataSource(name string) *DataSource {
	return find(m.DataSources, name, func(s *DataSource) string { return s.Name })
}

// Perspective returns the perspective with the given name.
func (m *Model) Perspective(name string) *Perspective {
	return find(m.Perspectives, name, func(p *Perspective) string { return p.Name })
}

// Column returns the column with the given name.
func (t *Table) Column(name string) *Column {
	return find(t.Columns, name, func(c *Column) string { return c.Name })
}

// Measure returns the measure with the given name.
func (t *Table) Measure(name string) *Measure {
	return find(t.Measures, name, func(m *Measure) string { return m.Name })
}

// Partition returns the partition with the given name.
func (t *Table) Partition(name string) *Partition {
	return find(t.Partitions, name, func(p *Partition) string { return p.Name })
}

// Hierarchy returns the hierarchy with the given name.
func (t *Table) Hierarchy(name string) *Hierarchy {
	return find(t.Hierarchies, name, func(h *Hierarchy) string { return h.Name })
}

// Item returns the calculation item with the given name.
func (g *CalculationGroup) Item(name string) *CalculationItem {
	return find(g.CalculationItems, name, func(c *CalculationItem) string { return c.Name })
}

// AnnotationValue returns the value of the annotation with the given name,
// and whether there is one. Annotation names are matched exactly.
func AnnotationValue(as []*Annotation, name string) (string, bool) {
	for _, a := range as {
		if a != nil && a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}
