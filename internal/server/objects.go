package server

import (
	"fmt"

	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// applyChild stages createOrReplace, create, alter or delete of an object
// inside a database: the model, a data source, table, role,
// relationship, expression, perspective or culture, or a partition,
// column, measure or hierarchy of a table. The edit is made on a copy of
// the staged model, which is then validated and staged like a deploy:
// when the data shape is unchanged (a measure, a role, a description)
// the processed data stays; otherwise the database becomes unprocessed
// and needs a refresh (Analysis Services would mark only the objects
// touched; Meridian processes databases as a whole).
//
// As in TMSL, alter changes an object's own properties, not its
// children: the columns, measures, partitions and hierarchies of a table,
// the tables and relationships of a model, a role's members and
// permissions are kept unless the definition gives them.
func (t *txn) applyChild(op *model.Command) error {
	oc := op.Object
	c := t.get(oc.Path.Database)
	if err := c.usable(); err != nil {
		return err
	}
	def, err := cloneDef(c.def)
	if err != nil {
		return err
	}
	kind := oc.Type
	if op.Kind == model.CommandDelete {
		kind = oc.Path.Type()
	}
	p := oc.Path
	var tab *model.Table
	switch kind {
	case "partition", "column", "measure", "hierarchy":
		if tab = def.Model.Table(p.Table); tab == nil {
			return fmt.Errorf("%w: database %q has no table %q", ErrObjectNotFound, c.name, p.Table)
		}
	}
	e := edit{op: op.Kind, db: c.name}
	switch kind {
	case "model":
		if op.Kind == model.CommandDelete || op.Kind == model.CommandCreate {
			return fmt.Errorf("%w: %s of a model; a database has exactly one", ErrBadRequest, op.Kind)
		}
		x := oc.Value.(*model.Model)
		if op.Kind == model.CommandAlter {
			old := def.Model
			x.Tables, x.Relationships, x.Roles, x.Expressions = old.Tables, old.Relationships, old.Roles, old.Expressions
			x.DataSources, x.Perspectives, x.Cultures = old.DataSources, old.Perspectives, old.Cultures
		}
		def.Model = *x
	case "dataSource":
		err = editList(e, &def.Model.DataSources, p.DataSource, defOf(oc, (*model.DataSource)(nil)),
			func(x *model.DataSource) *string { return &x.Name }, nil)
	case "table":
		err = editList(e, &def.Model.Tables, p.Table, defOf(oc, (*model.Table)(nil)),
			func(x *model.Table) *string { return &x.Name }, func(old, x *model.Table) {
				keep(&x.Columns, old.Columns)
				keep(&x.Measures, old.Measures)
				keep(&x.Partitions, old.Partitions)
				keep(&x.Hierarchies, old.Hierarchies)
				if x.CalculationGroup == nil {
					x.CalculationGroup = old.CalculationGroup
				}
			})
	case "role":
		err = editList(e, &def.Model.Roles, p.Role, defOf(oc, (*model.Role)(nil)),
			func(x *model.Role) *string { return &x.Name }, func(old, x *model.Role) {
				keep(&x.Members, old.Members)
				keep(&x.TablePermissions, old.TablePermissions)
			})
	case "relationship":
		err = editList(e, &def.Model.Relationships, p.Relationship, defOf(oc, (*model.Relationship)(nil)),
			func(x *model.Relationship) *string { return &x.Name }, nil)
	case "expression":
		err = editList(e, &def.Model.Expressions, p.Expression, defOf(oc, (*model.NamedExpression)(nil)),
			func(x *model.NamedExpression) *string { return &x.Name }, nil)
	case "perspective":
		err = editList(e, &def.Model.Perspectives, p.Perspective, defOf(oc, (*model.Perspective)(nil)),
			func(x *model.Perspective) *string { return &x.Name }, func(old, x *model.Perspective) {
				keep(&x.Tables, old.Tables)
			})
	case "culture":
		err = editList(e, &def.Model.Cultures, p.Culture, defOf(oc, (*model.Culture)(nil)),
			func(x *model.Culture) *string { return &x.Name }, nil)
	case "partition":
		err = editList(e, &tab.Partitions, p.Partition, defOf(oc, (*model.Partition)(nil)),
			func(x *model.Partition) *string { return &x.Name }, nil)
	case "column":
		err = editList(e, &tab.Columns, p.Column, defOf(oc, (*model.Column)(nil)),
			func(x *model.Column) *string { return &x.Name }, nil)
	case "measure":
		err = editList(e, &tab.Measures, p.Measure, defOf(oc, (*model.Measure)(nil)),
			func(x *model.Measure) *string { return &x.Name }, nil)
	case "hierarchy":
		err = editList(e, &tab.Hierarchies, p.Hierarchy, defOf(oc, (*model.Hierarchy)(nil)),
			func(x *model.Hierarchy) *string { return &x.Name }, func(old, x *model.Hierarchy) {
				keep(&x.Levels, old.Levels)
			})
	default:
		return fmt.Errorf("%w: %s of a %s", ErrNotSupported, op.Kind, kind)
	}
	if err != nil {
		return err
	}
	return c.setModel(def)
}

// edit is the operation editList performs.
type edit struct {
	op string // createOrReplace, create, alter or delete
	db string
}

// defOf returns the command's parsed definition as a *T (nil for delete).
func defOf[T any](oc *model.ObjectCommand, _ *T) *T {
	x, _ := oc.Value.(*T)
	return x
}

// keep gives a list the old one's elements when the definition has none.
func keep[T any](list *[]*T, old []*T) {
	if len(*list) == 0 {
		*list = old
	}
}

// editList applies an edit to the object named name in a list (names
// compared as Analysis Services does). create names the object by its
// definition; the others by the path, and a definition carrying another
// name renames it.
func editList[T any](e edit, list *[]*T, name string, x *T, nameOf func(*T) *string, keepChildren func(old, x *T)) error {
	find := func(n string) int {
		for i, o := range *list {
			if o != nil && value.EqualText(*nameOf(o), n) {
				return i
			}
		}
		return -1
	}
	if x != nil && *nameOf(x) == "" {
		*nameOf(x) = name
	}
	switch e.op {
	case model.CommandCreate:
		if find(*nameOf(x)) >= 0 {
			return fmt.Errorf("%w: %q already has %q; use createOrReplace to replace it", ErrExists, e.db, *nameOf(x))
		}
		*list = append(*list, x)
		return nil
	case model.CommandCreateOrReplace:
		if i := find(name); i >= 0 {
			(*list)[i] = x
		} else {
			*list = append(*list, x)
		}
		return nil
	}
	i := find(name)
	if i < 0 {
		return fmt.Errorf("%w: %q has no %q", ErrObjectNotFound, e.db, name)
	}
	if e.op == model.CommandDelete {
		*list = append((*list)[:i:i], (*list)[i+1:]...)
		return nil
	}
	if keepChildren != nil {
		keepChildren((*list)[i], x)
	}
	(*list)[i] = x
	return nil
}
