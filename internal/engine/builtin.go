package engine

import (
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// builtin is a DAX function. A function implements scalar, table or both
// (VALUES is a table that converts to its single value in scalar context).
type builtin struct {
	min, max int // argument counts; max < 0 for any number
	scalar   func(ev *evaluator, en *env, c *dax.Call) (value.Value, error)
	table    func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error)
	// pure marks scalar functions of their arguments only (ABS, LEFT,
	// IF...): a boolean filter looks through them for the columns it
	// filters, and the vector evaluator applies them element by element.
	pure bool
	// emptyOK lists the arguments that may be left empty (RANKX's value).
	emptyOK []int
}

func (b *builtin) optional(i int) bool {
	for _, j := range b.emptyOK {
		if j == i {
			return true
		}
	}
	return false
}

var builtins = map[string]*builtin{}

func register(name string, b *builtin) {
	if _, dup := builtins[name]; dup {
		panic("engine: function " + name + " registered twice")
	}
	builtins[name] = b
}

// Functions reports whether name is a built-in DAX function Meridian
// implements.
func Functions() []string {
	out := make([]string, 0, len(builtins))
	for name := range builtins {
		out = append(out, name)
	}
	return out
}

// call evaluates a function call in scalar context.
func (ev *evaluator) call(c *dax.Call, en *env) (value.Value, error) {
	if fd, ok := ev.funcs[c.Func]; ok {
		return ev.callUser(c, fd, en)
	}
	b := builtins[c.Func]
	if b == nil {
		return value.BlankValue, unsupported(c, "the function "+c.Func)
	}
	if err := checkArity(c, b); err != nil {
		return value.BlankValue, err
	}
	if b.scalar != nil {
		return b.scalar(ev, en, c)
	}
	t, err := b.table(ev, en, c)
	if err != nil {
		return value.BlankValue, err
	}
	return ev.tableToScalar(c, t)
}

// arg evaluates argument i as a value; a missing or empty argument is
// BLANK.
func (ev *evaluator) arg(c *dax.Call, i int, en *env) (value.Value, error) {
	if i >= len(c.Args) || c.Args[i] == nil {
		return value.BlankValue, nil
	}
	return ev.scalar(c.Args[i], en)
}

// args evaluates every argument as a value.
func (ev *evaluator) args(c *dax.Call, en *env) ([]value.Value, error) {
	out := make([]value.Value, len(c.Args))
	for i := range c.Args {
		v, err := ev.arg(c, i, en)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// colArg resolves argument i as a column of the model.
func (ev *evaluator) colArg(c *dax.Call, i int, en *env) (*Column, error) {
	if i >= len(c.Args) {
		return nil, errorf(c, "%s needs a column as argument %d", c.Func, i+1)
	}
	return ev.resolveColumn(c.Args[i], en)
}

// resolveColumn resolves a column reference to a model column.
func (ev *evaluator) resolveColumn(e dax.Expr, en *env) (*Column, error) {
	x, ok := e.(*dax.ColumnRef)
	if !ok {
		return nil, errorf(e, "a column reference is expected here")
	}
	if x.Table == "" {
		// [Col] names a column of a table in the row context.
		for r := en.row; r != nil; r = r.parent {
			if r.table != nil {
				if col := r.table.Column(x.Column); col != nil {
					return col, nil
				}
			}
		}
		return nil, errorf(x, "a column reference needs its table: %s", dax.QuoteColumn(x.Column))
	}
	t := ev.m.Table(x.Table)
	if t == nil {
		return nil, errorf(x, "cannot find table %s", dax.QuoteTable(x.Table))
	}
	col := t.Column(x.Column)
	if col == nil {
		return nil, errorf(x, "cannot find column %s in table %s", dax.QuoteColumn(x.Column), dax.QuoteTable(t.Name))
	}
	return col, nil
}

// tableArg resolves argument i as a model table name.
func (ev *evaluator) tableArg(c *dax.Call, i int) (*Table, error) {
	if i >= len(c.Args) {
		return nil, errorf(c, "%s needs a table as argument %d", c.Func, i+1)
	}
	var name string
	switch x := c.Args[i].(type) {
	case *dax.TableRef:
		name = x.Name
	case *dax.Ident:
		name = x.Name
	default:
		return nil, errorf(c.Args[i], "%s needs a table name as argument %d", c.Func, i+1)
	}
	t := ev.m.Table(name)
	if t == nil {
		return nil, errorf(c.Args[i], "cannot find table %s", dax.QuoteTable(name))
	}
	return t, nil
}

// isColumnRef reports whether e is a reference to a model column (not a
// measure).
func (ev *evaluator) isColumnRef(e dax.Expr) bool {
	x, ok := e.(*dax.ColumnRef)
	if !ok || x.Table == "" {
		return false
	}
	t := ev.m.Table(x.Table)
	return t != nil && t.Column(x.Column) != nil
}
