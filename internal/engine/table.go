package engine

import (
	"fmt"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// table evaluates a table expression.
func (ev *evaluator) table(e dax.Expr, en *env) (*tableVal, error) {
	if err := ev.enter(e); err != nil {
		return nil, err
	}
	defer ev.leave()
	switch x := e.(type) {
	case *dax.TableRef:
		return ev.namedTable(x, x.Name, en)
	case *dax.Ident:
		if v := en.lookupVar(x.Name); v != nil {
			if !v.isTab {
				return nil, errorf(x, "variable %s holds a value, not a table", x.Name)
			}
			return v.tab, nil
		}
		return ev.namedTable(x, x.Name, en)
	case *dax.TableCtor:
		return ev.tableCtor(x, en)
	case *dax.VarExpr:
		en, err := ev.bindVars(x.Vars, en)
		if err != nil {
			return nil, err
		}
		return ev.table(x.Return, en)
	case *dax.Call:
		if fd, ok := ev.funcs[x.Func]; ok {
			return ev.callUserTable(x, fd, en)
		}
		b := builtins[x.Func]
		if b == nil {
			return nil, unsupported(x, "the function "+x.Func)
		}
		if err := checkArity(x, b); err != nil {
			return nil, err
		}
		if b.table == nil {
			return nil, errorf(x, "%s returns a single value, but a table is expected here", x.Func)
		}
		return b.table(ev, en, x)
	case *dax.ColumnRef:
		return nil, errorf(x, "a column reference %s cannot be used where a table is expected; use VALUES or DISTINCT", refText(x))
	}
	return nil, errorf(e, "a table expression is expected here")
}

func refText(x *dax.ColumnRef) string {
	if x.Table == "" {
		return dax.QuoteColumn(x.Column)
	}
	return dax.QuoteTable(x.Table) + dax.QuoteColumn(x.Column)
}

// namedTable resolves a table name: a query table, then a model table.
func (ev *evaluator) namedTable(n dax.Node, name string, en *env) (*tableVal, error) {
	if t, ok := ev.tables[fold(name)]; ok {
		return t, nil
	}
	t := ev.m.Table(name)
	if t == nil {
		return nil, errorf(n, "cannot find table %s", dax.QuoteTable(name))
	}
	return baseTable(t, en.filter), nil
}

// tableCtor evaluates { ... }: columns Value (one column) or Value1,
// Value2, ...; each column's type is the common type of its values.
func (ev *evaluator) tableCtor(x *dax.TableCtor, en *env) (*tableVal, error) {
	width := 0
	if len(x.Rows) > 0 {
		width = len(x.Rows[0])
	}
	rows := make([][]value.Value, 0, len(x.Rows))
	for _, r := range x.Rows {
		if len(r) != width {
			return nil, errorf(x, "every row of a table constructor must have %d values", width)
		}
		row := make([]value.Value, width)
		for i, e := range r {
			v, err := ev.scalar(e, en)
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	cols := make([]colInfo, width)
	for i := range cols {
		name := "Value"
		if width > 1 {
			name = fmt.Sprintf("Value%d", i+1)
		}
		cols[i] = colInfo{Name: name, Type: commonType(rows, i)}
	}
	normalizeColumns(cols, rows)
	return materialized(cols, rows), nil
}

// commonType returns the type a column of values takes: the widest numeric
// type when all are numbers, String when text is mixed with others.
func commonType(rows [][]value.Value, i int) value.Type {
	t := value.Blank
	for _, r := range rows {
		vt := r[i].Type()
		switch {
		case vt == value.Blank || vt == t:
		case t == value.Blank:
			t = vt
		case t.IsNumeric() && vt.IsNumeric() && t != value.Boolean && vt != value.Boolean:
			t = widerNumber(t, vt)
		default:
			t = value.Variant
		}
	}
	if t == value.Blank {
		return value.Variant
	}
	return t
}

func widerNumber(a, b value.Type) value.Type {
	rank := func(t value.Type) int {
		switch t {
		case value.Integer:
			return 0
		case value.Currency:
			return 1
		case value.DateTime:
			return 2
		}
		return 3
	}
	if rank(a) >= rank(b) {
		return a
	}
	return b
}

// normalizeColumns converts each column's values to the column's type
// (1 in a Decimal column becomes 1.0), so equal values are equal.
func normalizeColumns(cols []colInfo, rows [][]value.Value) {
	for i, c := range cols {
		for _, r := range rows {
			r[i] = convertTo(r[i], c.Type)
		}
	}
}

// convertTo converts a numeric value to another numeric type; other
// values are returned as they are.
func convertTo(v value.Value, t value.Type) value.Value {
	if v.IsBlank() || v.Type() == t || !v.Type().IsNumeric() || v.Type() == value.Boolean {
		return v
	}
	f, _ := v.Number()
	switch t {
	case value.Decimal:
		return value.Float(f)
	case value.Currency:
		return currency(f)
	case value.DateTime:
		return value.Date(f)
	case value.Integer:
		if v.Type() == value.DateTime {
			return value.Int(int64(f))
		}
	}
	return v
}

// isTableExpr reports whether e denotes a table (as opposed to a scalar).
func (ev *evaluator) isTableExpr(e dax.Expr, en *env) bool {
	return ev.isTable(e, func(name string) (bool, bool) {
		if v := en.lookupVar(name); v != nil {
			return v.isTab, true
		}
		return false, false
	})
}

func (ev *evaluator) isTable(e dax.Expr, lookup func(string) (bool, bool)) bool {
	switch x := e.(type) {
	case *dax.TableRef, *dax.TableCtor:
		return true
	case *dax.Ident:
		if isTab, ok := lookup(x.Name); ok {
			return isTab
		}
		_, def := ev.tables[fold(x.Name)]
		return def || ev.m.Table(x.Name) != nil
	case *dax.VarExpr:
		scope := map[string]bool{}
		inner := func(name string) (bool, bool) {
			if t, ok := scope[fold(name)]; ok {
				return t, true
			}
			return lookup(name)
		}
		for _, v := range x.Vars {
			scope[fold(v.Name)] = ev.isTable(v.Value, inner)
		}
		return ev.isTable(x.Return, inner)
	case *dax.Call:
		if fd, ok := ev.funcs[x.Func]; ok {
			return ev.isTable(fd.Body, func(string) (bool, bool) { return false, false })
		}
		b := builtins[x.Func]
		return b != nil && b.table != nil && b.scalar == nil
	}
	return false
}

// checkArity verifies the number of arguments of a built-in call.
func checkArity(c *dax.Call, b *builtin) error {
	n := len(c.Args)
	if n < b.min || (b.max >= 0 && n > b.max) {
		switch {
		case b.max < 0:
			return errorf(c, "%s takes at least %d arguments, not %d", c.Func, b.min, n)
		case b.min == b.max:
			return errorf(c, "%s takes %d arguments, not %d", c.Func, b.min, n)
		default:
			return errorf(c, "%s takes %d to %d arguments, not %d", c.Func, b.min, b.max, n)
		}
	}
	for i, a := range c.Args {
		if a == nil && !b.optional(i) {
			return errorf(c, "argument %d of %s cannot be empty", i+1, c.Func)
		}
	}
	return nil
}
