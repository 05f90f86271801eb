package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/model"
)

// compiled is a model definition checked and joined with its data.
type compiled struct {
	engDef   *model.Database
	eng      *engine.Model
	engErr   error
	warnings []string
	problems []model.Problem
}

// compile checks def and builds the engine model over data (nil for none).
//
// With strict set (a deploy), every problem is collected: the model's
// validation (model.Validate), DAX that does not parse, and names DAX
// refers to that the model lacks (engine.Model.CheckExpression). Uses of
// functions the engine does not implement are only warnings: the model
// deploys and scripts out, and a query reaching them gets a clear error.
// Without strict (loading a committed image), nothing is refused.
//
// Analysis Services accepts measures and calculation items with an empty
// expression (Tabular Editor writes them); the engine cannot parse them,
// so its copy of the model gives them an expression that fails with a
// clear error when a query uses them, and the deploy gets a warning.
func compile(def *model.Database, data *colstore.Database, strict bool) compiled {
	var c compiled
	if strict {
		c.problems = def.Validate()
	}
	exprs := expressions(def)
	var empty []daxExpr
	syntaxOK := true
	for _, e := range exprs {
		if strings.TrimSpace(e.text) == "" {
			if e.droppable {
				empty = append(empty, e)
				c.warnings = append(c.warnings, fmt.Sprintf("%s: the expression is empty; queries cannot use this object", e.path))
			}
			continue
		}
		if _, err := dax.ParseExpr(e.text); err != nil {
			syntaxOK = false
			c.problems = append(c.problems, model.Problem{Path: e.path, Message: "DAX syntax: " + err.Error()})
		}
	}
	c.engDef = def
	if len(empty) > 0 {
		c.engDef = withPlaceholders(def)
	}
	if strict && (len(c.problems) > 0 || !syntaxOK) {
		return c
	}
	eng, err := engine.NewModel(c.engDef, data)
	if err != nil {
		// A model the engine cannot take (a many-to-many relationship,
		// say) deploys and scripts out; queries get a 501 naming why.
		c.engErr = fmt.Errorf("%w: queries on this model: %w", ErrNotSupported, err)
		c.warnings = append(c.warnings, "queries are not available on this model: "+err.Error())
		return c
	}
	c.eng = eng
	if !strict {
		return c
	}
	for _, e := range exprs {
		if strings.TrimSpace(e.text) == "" {
			continue
		}
		var table *engine.Table
		if e.table != nil {
			table = eng.Table(e.table.Name)
		}
		err := eng.CheckExpression(e.text, table)
		switch {
		case err == nil:
		case errors.Is(err, engine.ErrUnsupported):
			c.warnings = append(c.warnings, e.path+": "+err.Error())
		default:
			c.problems = append(c.problems, model.Problem{Path: e.path, Message: err.Error()})
		}
	}
	return c
}

// err returns the problems as a *model.ValidationError, or nil.
func (c *compiled) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &model.ValidationError{Problems: c.problems}
}

// daxExpr is one DAX expression of a model, with its JSON path.
type daxExpr struct {
	path  string
	text  string
	table *model.Table // the table it is evaluated in, if any
	// droppable: an empty expression is replaced in the engine's model
	// instead of failing it.
	droppable bool
}

// expressions lists the DAX expressions of a model in document order.
func expressions(def *model.Database) []daxExpr {
	var out []daxExpr
	add := func(path string, e model.Expr, t *model.Table, droppable bool) {
		out = append(out, daxExpr{path: path, text: e.Text(), table: t, droppable: droppable})
	}
	for ti, t := range def.Model.Tables {
		if t == nil {
			continue
		}
		tp := elemPath("model.tables", ti, t.Name)
		for ci, c := range t.Columns {
			if c != nil && c.Kind() == model.ColumnCalculated {
				add(elemPath(tp+".columns", ci, c.Name)+".expression", c.Expression, t, false)
			}
		}
		for mi, ms := range t.Measures {
			if ms == nil {
				continue
			}
			mp := elemPath(tp+".measures", mi, ms.Name)
			add(mp+".expression", ms.Expression, t, true)
			if f := ms.FormatStringDefinition; f != nil && !f.Expression.IsEmpty() {
				add(mp+".formatStringDefinition.expression", f.Expression, t, false)
			}
			// KPI expressions are not checked: the engine does not use
			// them, and models written in locales with a decimal comma
			// hold targets like "1,1" that Analysis Services takes.
		}
		for pi, p := range t.Partitions {
			if p != nil && p.Source.Type == model.SourceCalculated {
				add(elemPath(tp+".partitions", pi, p.Name)+".source.expression", p.Source.Expression, nil, false)
			}
		}
		if cg := t.CalculationGroup; cg != nil {
			for ii, it := range cg.CalculationItems {
				if it == nil {
					continue
				}
				ip := elemPath(tp+".calculationGroup.calculationItems", ii, it.Name)
				add(ip+".expression", it.Expression, nil, true)
				if f := it.FormatStringDefinition; f != nil && !f.Expression.IsEmpty() {
					add(ip+".formatStringDefinition.expression", f.Expression, nil, false)
				}
			}
		}
	}
	for ri, r := range def.Model.Roles {
		if r == nil {
			continue
		}
		rp := elemPath("model.roles", ri, r.Name)
		for pi, tp := range r.TablePermissions {
			if tp == nil || tp.FilterExpression.IsEmpty() {
				continue
			}
			add(elemPath(rp+".tablePermissions", pi, tp.Name)+".filterExpression", tp.FilterExpression, def.Model.Table(tp.Name), false)
		}
	}
	return out
}

// elemPath writes an array element in the path scheme of package model:
// tables[3 'Sales'].
func elemPath(parent string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", parent, i)
	}
	return fmt.Sprintf("%s[%d '%s']", parent, i, strings.ReplaceAll(name, "'", "''"))
}

// withPlaceholders returns a copy of def in which measures and
// calculation items with an empty expression raise an error instead.
func withPlaceholders(def *model.Database) *model.Database {
	cp, err := cloneDef(def)
	if err != nil {
		return def // cannot happen for a parsed model; the engine reports it
	}
	fail := func(what, name string) model.Expr {
		msg := fmt.Sprintf("the %s %s has no expression", what, name)
		return model.Expr(`ERROR("` + strings.ReplaceAll(msg, `"`, `""`) + `")`)
	}
	for _, t := range cp.Model.Tables {
		if t == nil {
			continue
		}
		for _, m := range t.Measures {
			if m != nil && m.Expression.IsEmpty() {
				m.Expression = fail("measure", "["+m.Name+"]")
			}
		}
		if cg := t.CalculationGroup; cg != nil {
			for _, it := range cg.CalculationItems {
				if it != nil && it.Expression.IsEmpty() {
					it.Expression = fail("calculation item", "'"+strings.ReplaceAll(it.Name, "'", "''")+"'")
				}
			}
		}
	}
	return cp
}

// cloneDef copies a database definition the way package model documents:
// marshal and parse.
func cloneDef(def *model.Database) (*model.Database, error) {
	b, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("copy model: %w", err)
	}
	cp, err := model.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("copy model: %w", err)
	}
	return cp, nil
}

// dataShape describes what of a model the column data depends on: the
// tables with their data and calculated columns and partitions, the
// calculation groups, the relationships and the parameters partition
// sources read. Two models with the same shape can share data, so a
// deploy that changes only measures, formats, descriptions, roles,
// perspectives or annotations keeps the processed data.
func dataShape(def *model.Database) string {
	var b strings.Builder
	w := func(parts ...any) {
		for _, p := range parts {
			fmt.Fprintf(&b, "%q\x1f", fmt.Sprint(p))
		}
		b.WriteByte('\x1e')
	}
	for _, t := range def.Model.Tables {
		if t == nil {
			continue
		}
		w("table", t.Name)
		for _, c := range t.Columns {
			if c != nil {
				w("column", c.Name, c.Kind(), c.DataType, c.SourceColumn, c.Expression.Text(), c.SortByColumn)
			}
		}
		for _, p := range t.Partitions {
			if p != nil {
				w("partition", p.Name, p.Mode, p.Source.Type, p.Source.Expression.Text(), p.Source.Query.Text(), p.Source.DataSource)
			}
		}
		if cg := t.CalculationGroup; cg != nil {
			w("calculationGroup", cg.Precedence)
			for _, it := range cg.CalculationItems {
				if it != nil {
					w("item", it.Name, it.Ordinal)
				}
			}
		}
	}
	for _, r := range def.Model.Relationships {
		if r != nil {
			from, to := r.Cardinalities()
			w("relationship", r.Name, r.FromTable, r.FromColumn, r.ToTable, r.ToColumn, r.IsActive, r.Filter(), from, to)
		}
	}
	for _, e := range def.Model.Expressions {
		if e != nil {
			w("expression", e.Name, e.Expression.Text())
		}
	}
	for _, d := range def.Model.DataSources {
		if d != nil {
			j, _ := json.Marshal(d)
			w("dataSource", string(j))
		}
	}
	return b.String()
}
