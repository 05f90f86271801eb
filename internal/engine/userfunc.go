package engine

import (
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// callUser evaluates a call to a function of the query's DEFINE block:
// the arguments bind the parameters as variables (evaluated in the
// caller's context), then the body is evaluated.
func (ev *evaluator) callUser(c *dax.Call, fd *dax.FunctionDef, en *env) (value.Value, error) {
	inner, err := ev.bindParams(c, fd, en)
	if err != nil {
		return value.BlankValue, err
	}
	return ev.scalar(fd.Body, inner)
}

func (ev *evaluator) callUserTable(c *dax.Call, fd *dax.FunctionDef, en *env) (*tableVal, error) {
	inner, err := ev.bindParams(c, fd, en)
	if err != nil {
		return nil, err
	}
	return ev.table(fd.Body, inner)
}

func (ev *evaluator) bindParams(c *dax.Call, fd *dax.FunctionDef, en *env) (*env, error) {
	if len(c.Args) > len(fd.Params) {
		return nil, errorf(c, "%s takes at most %d arguments, not %d", fd.Name, len(fd.Params), len(c.Args))
	}
	inner := &env{filter: en.filter, row: en.row, calc: en.calc}
	for i, p := range fd.Params {
		var a dax.Expr
		if i < len(c.Args) {
			a = c.Args[i]
		}
		if a == nil {
			a = p.Default
		}
		if a == nil {
			return nil, errorf(c, "%s needs a value for parameter %s", fd.Name, p.Name)
		}
		if ev.isTableExpr(a, en) {
			t, err := ev.table(a, en)
			if err != nil {
				return nil, err
			}
			inner = inner.withTableVar(p.Name, t)
			continue
		}
		v, err := ev.scalar(a, en)
		if err != nil {
			return nil, err
		}
		inner = inner.withVar(p.Name, v)
	}
	return inner, nil
}
