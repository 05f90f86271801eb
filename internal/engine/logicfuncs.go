package engine

import (
	"context"
	"errors"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

func init() {
	register("IF", &builtin{min: 2, max: 3, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		cond, err := ev.arg(c, 0, en)
		if err != nil {
			return cond, err
		}
		t, err := truth(c.Args[0], cond)
		if err != nil {
			return value.BlankValue, err
		}
		if t {
			return ev.arg(c, 1, en)
		}
		return ev.arg(c, 2, en)
	}})
	register("IF.EAGER", builtins["IF"])
	register("SWITCH", &builtin{min: 3, max: -1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		x, err := ev.arg(c, 0, en)
		if err != nil {
			return x, err
		}
		i := 1
		for ; i+1 < len(c.Args); i += 2 {
			v, err := ev.arg(c, i, en)
			if err != nil {
				return v, err
			}
			var match bool
			if x.Type() == value.Boolean && v.Type() == value.Boolean {
				match = x.AsBool() == v.AsBool()
			} else if cmp, err := cmpValues(c.Args[i], x, v, false); err == nil {
				match = cmp == 0
			} else {
				return value.BlankValue, err
			}
			if match {
				return ev.arg(c, i+1, en)
			}
		}
		if i < len(c.Args) {
			return ev.arg(c, i, en)
		}
		return value.BlankValue, nil
	}})
	register("AND", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return ev.binary(&dax.Binary{At: c.At, Op: dax.OpAnd, X: c.Args[0], Y: c.Args[1]}, en)
	}})
	register("OR", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return ev.binary(&dax.Binary{At: c.At, Op: dax.OpOr, X: c.Args[0], Y: c.Args[1]}, en)
	}})
	register("NOT", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		if err != nil {
			return v, err
		}
		t, err := truth(c, v)
		return value.Bool(!t), err
	}})
	register("TRUE", &builtin{min: 0, max: 0, pure: true, scalar: func(*evaluator, *env, *dax.Call) (value.Value, error) {
		return value.Bool(true), nil
	}})
	register("FALSE", &builtin{min: 0, max: 0, pure: true, scalar: func(*evaluator, *env, *dax.Call) (value.Value, error) {
		return value.Bool(false), nil
	}})
	register("BLANK", &builtin{min: 0, max: 0, pure: true, scalar: func(*evaluator, *env, *dax.Call) (value.Value, error) {
		return value.BlankValue, nil
	}})
	register("ISBLANK", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		return value.Bool(v.IsBlank()), err
	}})
	register("ISNUMBER", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		t := v.Type()
		return value.Bool(t == value.Integer || t == value.Decimal || t == value.Currency), err
	}})
	register("ISTEXT", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		return value.Bool(v.Type() == value.String), err
	}})
	register("ISNONTEXT", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		return value.Bool(v.Type() != value.String), err
	}})
	register("ISLOGICAL", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		return value.Bool(v.Type() == value.Boolean), err
	}})
	register("ISERROR", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		_, err := ev.arg(c, 0, en)
		if err != nil && !isFatal(err) {
			return value.Bool(true), nil
		}
		return value.Bool(false), err
	}})
	register("IFERROR", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		if err != nil && !isFatal(err) {
			return ev.arg(c, 1, en)
		}
		return v, err
	}})
	register("COALESCE", &builtin{min: 2, max: -1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		for i := range c.Args {
			v, err := ev.arg(c, i, en)
			if err != nil || !v.IsBlank() {
				return v, err
			}
		}
		return value.BlankValue, nil
	}})
	register("ERROR", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		if err != nil {
			return v, err
		}
		return value.BlankValue, errorf(c, "%s", v.Text())
	}})
	register("SELECTEDMEASURE", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		if en.calc == nil || en.calc.measure == nil {
			return value.BlankValue, errorf(c, "SELECTEDMEASURE can only be used in a calculation item")
		}
		// SELECTEDMEASURE is the measure in the current filter context,
		// rewritten by the items it selects that are not being applied
		// already: the lower-precedence ones, or another item of a group
		// that CALCULATE selected (sideways recursion).
		cs := en.calc
		items := ev.calcItems(en.filter, func(_ *CalcGroup, it *CalcItem) bool { return cs.entered[it] })
		if len(items) > 0 {
			return ev.scalar(items[0].Expr, &env{filter: en.filter, calc: cs.enter(cs.measure, items[0], items)})
		}
		ms := cs.measure
		if ev.active[ms] {
			return value.BlankValue, errorf(c, "measure [%s] refers to itself", ms.Name)
		}
		ev.active[ms] = true
		defer delete(ev.active, ms)
		return ev.scalar(ms.Expr, &env{filter: en.filter, calc: cs.inner()})
	}})
	register("SELECTEDMEASURENAME", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		if en.calc == nil || en.calc.measure == nil {
			return value.BlankValue, nil
		}
		return value.Str(en.calc.measure.Name), nil
	}})
	register("SELECTEDMEASUREFORMATSTRING", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		if en.calc == nil || en.calc.measure == nil {
			return value.BlankValue, nil
		}
		cs := en.calc
		if fe := cs.measure.FormatExpr; fe != nil {
			// A dynamic format string is the measure's format string in
			// this context; its SELECTEDMEASURE is the measure.
			v, err := ev.scalar(fe, &env{filter: en.filter, calc: &calcState{measure: cs.measure, applied: cs.applied, entered: cs.entered}})
			if err != nil {
				return value.BlankValue, err
			}
			return value.Str(v.Text()), nil
		}
		return value.Str(cs.measure.FormatString), nil
	}})
	register("ISSELECTEDMEASURE", &builtin{min: 1, max: -1, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		if en.calc == nil || en.calc.measure == nil {
			return value.Bool(false), nil
		}
		for _, a := range c.Args {
			ref, ok := a.(*dax.ColumnRef)
			if !ok {
				return value.BlankValue, errorf(a, "ISSELECTEDMEASURE takes measure references")
			}
			if ms := ev.measure(ref.Column); ms != nil && ms.Name == en.calc.measure.Name {
				return value.Bool(true), nil
			}
		}
		return value.Bool(false), nil
	}})
}

// isFatal reports whether an error must not be caught by IFERROR or
// ISERROR: cancellation and resource limits.
func isFatal(err error) bool {
	return errors.Is(err, ErrLimit) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
