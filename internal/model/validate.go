package model

import (
	"fmt"
	"strings"

	"github.com/meridian-olap/meridian/internal/value"
)

// Problem is one thing wrong with a model.
type Problem struct {
	// Path locates the offending value, in the scheme described in the
	// package documentation: model.tables[3 'Sales'].columns[2 'Amount'].
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// ValidationError is the error form of a non-empty list of problems. It
// matches ErrInvalid.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	switch n := len(e.Problems); n {
	case 0:
		return "invalid model"
	case 1:
		b.WriteString("invalid model: ")
	default:
		fmt.Fprintf(&b, "invalid model: %d problems: ", n)
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// MinCompatibilityLevel is the first compatibility level of tabular
// metadata (TMSL); earlier levels use the multidimensional metadata
// engine.
const MinCompatibilityLevel = 1200

// Check validates the database and returns nil or a *ValidationError
// holding every problem.
func (d *Database) Check() error {
	if ps := d.Validate(); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// Validate returns every problem of the database, in document order: names
// that are missing or not unique, references to objects that do not exist,
// values outside the TMSL enumerations, and the rules of calculated
// columns, calculated tables and calculation groups. DAX expressions are
// not parsed here.
func (d *Database) Validate() []Problem {
	v := &validator{}
	if strings.TrimSpace(d.Name) == "" {
		v.add("name", "the database has no name")
	}
	switch {
	case d.CompatibilityLevel == 0:
		v.add("compatibilityLevel", "compatibilityLevel is missing; tabular models need %d or later", MinCompatibilityLevel)
	case d.CompatibilityLevel < MinCompatibilityLevel:
		v.add("compatibilityLevel", "compatibility level %d is not a tabular (TMSL) level; it must be %d or later", d.CompatibilityLevel, MinCompatibilityLevel)
	}
	v.model(&d.Model)
	return v.problems
}

type validator struct {
	problems []Problem
	// Indexes by folded name, so that validating a large (or hostile)
	// model stays linear: the first table of each name, every table's
	// columns, measures and hierarchies, and the data sources.
	tables  map[string]*Table
	index   map[*Table]*tableIndex
	sources map[string]bool
}

type tableIndex struct {
	columns               map[string]*Column
	measures, hierarchies map[string]bool
}

func (v *validator) buildIndex(m *Model) {
	v.tables = make(map[string]*Table, len(m.Tables))
	v.index = make(map[*Table]*tableIndex, len(m.Tables))
	for _, t := range m.Tables {
		if t == nil {
			continue
		}
		k := value.FoldText(t.Name)
		if _, ok := v.tables[k]; !ok {
			v.tables[k] = t
		}
		ix := &tableIndex{
			columns:     make(map[string]*Column, len(t.Columns)),
			measures:    make(map[string]bool, len(t.Measures)),
			hierarchies: make(map[string]bool, len(t.Hierarchies)),
		}
		for _, c := range t.Columns {
			if c == nil {
				continue
			}
			if k := value.FoldText(c.Name); ix.columns[k] == nil {
				ix.columns[k] = c
			}
		}
		for _, x := range t.Measures {
			if x != nil {
				ix.measures[value.FoldText(x.Name)] = true
			}
		}
		for _, h := range t.Hierarchies {
			if h != nil {
				ix.hierarchies[value.FoldText(h.Name)] = true
			}
		}
		v.index[t] = ix
	}
	v.sources = make(map[string]bool, len(m.DataSources))
	for _, s := range m.DataSources {
		if s != nil {
			v.sources[value.FoldText(s.Name)] = true
		}
	}
}

func (v *validator) table(name string) *Table { return v.tables[value.FoldText(name)] }

func (v *validator) hasColumn(t *Table, name string) bool {
	return v.column(t, name) != nil
}

func (v *validator) column(t *Table, name string) *Column {
	return v.index[t].columns[value.FoldText(name)]
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// elem returns the path of element i of a list.
func elem(parent string, i int, name string) string {
	var b strings.Builder
	b.WriteString(parent)
	writeIndex(&b, i, name)
	return b.String()
}

// quote writes a name as DAX quotes a table name.
func quote(name string) string { return "'" + strings.ReplaceAll(name, "'", "''") + "'" }

// bracket writes a name as DAX brackets a column or measure name.
func bracket(name string) string { return "[" + strings.ReplaceAll(name, "]", "]]") + "]" }

// names records the first path of each name of a namespace, to report
// duplicates and missing names.
type names struct {
	kind  string // "table", "column or measure", ...
	first map[string]string
}

func newNames(kind string) *names { return &names{kind: kind, first: map[string]string{}} }

// check reports a missing name or a name used before.
func (n *names) check(v *validator, path, name string) {
	if strings.TrimSpace(name) == "" {
		v.add(path+".name", "the %s has no name", n.kind)
		return
	}
	k := value.FoldText(name)
	if prev, ok := n.first[k]; ok {
		v.add(path+".name", "duplicate %s name %s (names are compared without regard to case; first used at %s)", n.kind, quote(name), prev)
		return
	}
	n.first[k] = path
}

func (v *validator) model(m *Model) {
	v.buildIndex(m)
	tables := newNames("table")
	measures := newNames("measure")
	for i, t := range m.Tables {
		p := elem("model.tables", i, nameFor(t))
		if t == nil {
			v.add(p, "the table is null")
			continue
		}
		tables.check(v, p, t.Name)
		v.checkTable(m, t, p, measures)
	}

	rels := newNames("relationship")
	for i, r := range m.Relationships {
		p := elem("model.relationships", i, nameFor(r))
		if r == nil {
			v.add(p, "the relationship is null")
			continue
		}
		rels.check(v, p, r.Name)
		v.relationship(m, r, p)
	}

	roles := newNames("role")
	for i, r := range m.Roles {
		p := elem("model.roles", i, nameFor(r))
		if r == nil {
			v.add(p, "the role is null")
			continue
		}
		roles.check(v, p, r.Name)
		v.role(m, r, p)
	}

	exprs := newNames("expression")
	for i, e := range m.Expressions {
		p := elem("model.expressions", i, nameFor(e))
		if e == nil {
			v.add(p, "the expression is null")
			continue
		}
		exprs.check(v, p, e.Name)
	}

	sources := newNames("data source")
	for i, s := range m.DataSources {
		p := elem("model.dataSources", i, nameFor(s))
		if s == nil {
			v.add(p, "the data source is null")
			continue
		}
		sources.check(v, p, s.Name)
		if s.Type != "" && s.Type != DataSourceProvider && s.Type != DataSourceStructured {
			v.add(p+".type", "unknown data source type %q; expected %q or %q", s.Type, DataSourceProvider, DataSourceStructured)
		}
	}

	persp := newNames("perspective")
	for i, ps := range m.Perspectives {
		p := elem("model.perspectives", i, nameFor(ps))
		if ps == nil {
			v.add(p, "the perspective is null")
			continue
		}
		persp.check(v, p, ps.Name)
		v.perspective(m, ps, p)
	}

	cultures := newNames("culture")
	for i, c := range m.Cultures {
		p := elem("model.cultures", i, nameFor(c))
		if c == nil {
			v.add(p, "the culture is null")
			continue
		}
		cultures.check(v, p, c.Name)
	}
}

func (v *validator) checkTable(m *Model, t *Table, tp string, measures *names) {
	// Columns and measures of a table share one namespace; measures are
	// also unique across the model.
	local := newNames("column or measure")
	for i, c := range t.Columns {
		p := elem(tp+".columns", i, nameFor(c))
		if c == nil {
			v.add(p, "the column is null")
			continue
		}
		local.check(v, p, c.Name)
		v.checkColumn(t, c, p)
	}
	for i, ms := range t.Measures {
		p := elem(tp+".measures", i, nameFor(ms))
		if ms == nil {
			v.add(p, "the measure is null")
			continue
		}
		local.check(v, p, ms.Name)
		if strings.TrimSpace(ms.Name) != "" {
			if prev, ok := measures.first[value.FoldText(ms.Name)]; ok {
				v.add(p+".name", "duplicate measure name %s: measure names are unique across the model (first used at %s)", bracket(ms.Name), prev)
			} else {
				measures.first[value.FoldText(ms.Name)] = p
			}
		}
	}

	parts := newNames("partition")
	calculated := 0
	for i, pt := range t.Partitions {
		p := elem(tp+".partitions", i, nameFor(pt))
		if pt == nil {
			v.add(p, "the partition is null")
			continue
		}
		parts.check(v, p, pt.Name)
		v.partition(m, t, pt, p)
		if pt.Source.Type == SourceCalculated {
			calculated++
		}
	}
	if calculated > 0 && len(t.Partitions) > 1 {
		v.add(tp+".partitions", "a calculated table has exactly one partition; this one has %d", len(t.Partitions))
	}

	hiers := newNames("hierarchy")
	for i, h := range t.Hierarchies {
		p := elem(tp+".hierarchies", i, nameFor(h))
		if h == nil {
			v.add(p, "the hierarchy is null")
			continue
		}
		hiers.check(v, p, h.Name)
		levels := newNames("level")
		for j, l := range h.Levels {
			lp := elem(p+".levels", j, nameFor(l))
			if l == nil {
				v.add(lp, "the level is null")
				continue
			}
			levels.check(v, lp, l.Name)
			switch {
			case strings.TrimSpace(l.Column) == "":
				v.add(lp+".column", "the level names no column")
			case !v.hasColumn(t, l.Column):
				v.add(lp+".column", "column %s%s does not exist", quote(t.Name), bracket(l.Column))
			}
		}
	}

	if t.CalculationGroup != nil {
		v.calculationGroup(t, tp)
	}
}

func (v *validator) checkColumn(t *Table, c *Column, p string) {
	if !knownValue(c.Type, columnTypes) {
		v.add(p+".type", "unknown column type %q; expected one of %s", c.Type, list2(columnTypes))
	}
	if c.TMSLDataType != "" {
		if _, ok := value.ParseTMSL(canonicalDataType(c.TMSLDataType)); !ok {
			v.add(p+".dataType", "unknown dataType %q; expected one of %s", c.TMSLDataType, list2(dataTypes))
		}
	}
	if c.Kind() == ColumnCalculated && c.Expression.IsEmpty() {
		v.add(p+".expression", "the calculated column %s has no expression", bracket(c.Name))
	}
	if c.SortByColumn != "" {
		switch {
		case value.EqualText(c.SortByColumn, c.Name):
			v.add(p+".sortByColumn", "the column %s is sorted by itself", bracket(c.Name))
		case !v.hasColumn(t, c.SortByColumn):
			v.add(p+".sortByColumn", "sort-by column %s%s does not exist", quote(t.Name), bracket(c.SortByColumn))
		}
	}
}

func (v *validator) partition(m *Model, t *Table, pt *Partition, p string) {
	s := &pt.Source
	if !knownValue(s.Type, sourceTypes) {
		v.add(p+".source.type", "unknown partition source type %q; expected one of %s", s.Type, list2(sourceTypes))
		return
	}
	switch s.Kind() {
	case SourceCalculated:
		if s.Expression.IsEmpty() {
			v.add(p+".source.expression", "the calculated table %s has no expression", quote(t.Name))
		}
	case SourceQuery:
		if s.DataSource != "" && !v.sources[value.FoldText(s.DataSource)] {
			v.add(p+".source.dataSource", "data source %s does not exist", quote(s.DataSource))
		}
	case SourceCalculationGroup:
		if t.CalculationGroup == nil {
			v.add(p+".source.type", "a partition of source type calculationGroup belongs to a calculation group table; %s has no calculationGroup", quote(t.Name))
		}
	}
}

// calculationGroup checks the shape Analysis Services requires of a
// calculation group table: one partition of source type calculationGroup,
// one text column bound to the item names (sourceColumn Name) and at most
// one whole-number column bound to their ordinals (sourceColumn Ordinal).
func (v *validator) calculationGroup(t *Table, tp string) {
	g := t.CalculationGroup
	items := newNames("calculation item")
	for i, it := range g.CalculationItems {
		p := elem(tp+".calculationGroup.calculationItems", i, nameFor(it))
		if it == nil {
			v.add(p, "the calculation item is null")
			continue
		}
		items.check(v, p, it.Name)
	}

	if n := len(t.Partitions); n != 1 || t.Partitions[0] == nil || t.Partitions[0].Source.Type != SourceCalculationGroup {
		v.add(tp+".partitions", "a calculation group table has exactly one partition, of source type calculationGroup")
	}

	var nameCols, ordinalCols int
	for i, c := range t.Columns {
		if c == nil || c.Kind() == ColumnRowNumber {
			continue
		}
		p := elem(tp+".columns", i, c.Name)
		switch {
		case c.Kind() == ColumnData && value.EqualText(c.SourceColumn, "Name"):
			nameCols++
			if c.DataType != value.String && c.TMSLDataType != "" {
				v.add(p+".dataType", "the name column of a calculation group is of type string, not %s", c.TMSLDataType)
			}
		case c.Kind() == ColumnData && value.EqualText(c.SourceColumn, "Ordinal"):
			ordinalCols++
			if c.DataType != value.Integer && c.TMSLDataType != "" {
				v.add(p+".dataType", "the ordinal column of a calculation group is of type int64, not %s", c.TMSLDataType)
			}
		default:
			v.add(p, "a calculation group table has only a column with sourceColumn \"Name\" and optionally one with sourceColumn \"Ordinal\"")
		}
	}
	if nameCols != 1 {
		v.add(tp+".columns", "a calculation group table has exactly one column with sourceColumn \"Name\"; this one has %d", nameCols)
	}
	if ordinalCols > 1 {
		v.add(tp+".columns", "a calculation group table has at most one column with sourceColumn \"Ordinal\"; this one has %d", ordinalCols)
	}
}

func (v *validator) relationship(m *Model, r *Relationship, p string) {
	from := v.endpoint(m, p, "from", r.FromTable, r.FromColumn)
	to := v.endpoint(m, p, "to", r.ToTable, r.ToColumn)
	if from != nil && from == to {
		v.add(p, "the relationship relates column %s%s to itself", quote(r.FromTable), bracket(r.FromColumn))
	}
	if !knownValue(r.CrossFilteringBehavior, crossFilters) {
		v.add(p+".crossFilteringBehavior", "unknown crossFilteringBehavior %q; expected one of %s", r.CrossFilteringBehavior, list2(crossFilters))
	}
	if !knownValue(r.SecurityFilteringBehavior, securityFilters) {
		v.add(p+".securityFilteringBehavior", "unknown securityFilteringBehavior %q; expected one of %s", r.SecurityFilteringBehavior, list2(securityFilters))
	}
	if !knownValue(r.FromCardinality, cardinalities) {
		v.add(p+".fromCardinality", "unknown cardinality %q; expected one of %s", r.FromCardinality, list2(cardinalities))
	}
	if !knownValue(r.ToCardinality, cardinalities) {
		v.add(p+".toCardinality", "unknown cardinality %q; expected one of %s", r.ToCardinality, list2(cardinalities))
	}
}

// endpoint checks one end of a relationship and returns its column.
func (v *validator) endpoint(m *Model, p, end, table, column string) *Column {
	if strings.TrimSpace(table) == "" {
		v.add(p+"."+end+"Table", "the relationship has no %sTable", end)
		return nil
	}
	t := v.table(table)
	if t == nil {
		v.add(p+"."+end+"Table", "table %s does not exist", quote(table))
		return nil
	}
	if strings.TrimSpace(column) == "" {
		v.add(p+"."+end+"Column", "the relationship has no %sColumn", end)
		return nil
	}
	c := v.column(t, column)
	if c == nil {
		v.add(p+"."+end+"Column", "column %s%s does not exist", quote(table), bracket(column))
	}
	return c
}

func (v *validator) role(m *Model, r *Role, p string) {
	if !knownValue(r.ModelPermission, modelPermissions) {
		v.add(p+".modelPermission", "unknown modelPermission %q; expected one of %s", r.ModelPermission, list2(modelPermissions))
	}
	perms := newNames("table permission")
	for i, tp := range r.TablePermissions {
		pp := elem(p+".tablePermissions", i, nameFor(tp))
		if tp == nil {
			v.add(pp, "the table permission is null")
			continue
		}
		perms.check(v, pp, tp.Name)
		if strings.TrimSpace(tp.Name) == "" {
			continue
		}
		t := v.table(tp.Name)
		if t == nil {
			v.add(pp+".name", "table %s does not exist", quote(tp.Name))
			continue
		}
		for j, cp := range tp.ColumnPermissions {
			cpp := elem(pp+".columnPermissions", j, nameFor(cp))
			switch {
			case cp == nil:
				v.add(cpp, "the column permission is null")
			case !v.hasColumn(t, cp.Name):
				v.add(cpp+".name", "column %s%s does not exist", quote(t.Name), bracket(cp.Name))
			}
		}
	}
}

func (v *validator) perspective(m *Model, ps *Perspective, p string) {
	for i, pt := range ps.Tables {
		tp := elem(p+".tables", i, nameFor(pt))
		if pt == nil {
			v.add(tp, "the perspective table is null")
			continue
		}
		t := v.table(pt.Name)
		if t == nil {
			v.add(tp+".name", "table %s does not exist", quote(pt.Name))
			continue
		}
		check := func(key, kind string, objs []*PerspectiveObject, exists func(string) bool) {
			for j, o := range objs {
				op := elem(tp+"."+key, j, nameFor(o))
				switch {
				case o == nil:
					v.add(op, "the perspective entry is null")
				case !exists(o.Name):
					v.add(op+".name", "%s %s%s does not exist", kind, quote(t.Name), bracket(o.Name))
				}
			}
		}
		ix := v.index[t]
		check("columns", "column", pt.Columns, func(n string) bool { return ix.columns[value.FoldText(n)] != nil })
		check("measures", "measure", pt.Measures, func(n string) bool { return ix.measures[value.FoldText(n)] })
		check("hierarchies", "hierarchy", pt.Hierarchies, func(n string) bool { return ix.hierarchies[value.FoldText(n)] })
	}
}

func list2[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// nameFor returns an object's name for a path, or "" for a nil entry.
func nameFor[T any, P objPtr[T]](x P) string {
	if x == nil {
		return ""
	}
	for _, p := range x.props() {
		if s, ok := p.(*strProp); ok && s.k == "name" {
			return *s.p
		}
	}
	return ""
}
