package mlang

import (
	"context"
	"errors"
	"fmt"

	"github.com/meridian-olap/meridian/internal/source"
)

// Env is what an expression can see besides the library.
type Env struct {
	// Parameters are the model's expressions (TMSL "expressions"), by
	// name, as M text. An expression refers to one by name (#"My
	// Param" when the name needs quoting). Each is parsed and evaluated
	// only when first referenced, at most once per evaluation; they may
	// refer to each other, and a cycle is an error.
	Parameters map[string]string
	// Roots confines File.Contents and Folder.Files; nil means no file
	// can be read.
	Roots *source.Roots
}

// Evaluate parses and evaluates an expression. Lists, records and tables
// in the result are lazy: their items, fields and rows are evaluated (and
// their files read) when used. Errors are *Error values with positions
// (syntax errors come as an ErrorList), or the context's error.
func Evaluate(ctx context.Context, expr string, env *Env) (Value, error) {
	e, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	in := newInterp(ctx, env)
	return in.eval(e, &scope{})
}

// EvaluateTable evaluates an expression that gives a table (a partition's
// source) and returns it as a source.Source. A table read from a CSV file
// streams the file once per Scan, converting fields as the expression's
// Table.TransformColumnTypes says.
func EvaluateTable(ctx context.Context, expr string, env *Env) (source.Source, error) {
	e, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	v, err := newInterp(ctx, env).eval(e, &scope{})
	if err != nil {
		return nil, err
	}
	t, ok := v.(*Table)
	if !ok {
		return nil, &Error{Pos: e.Pos(), Reason: "Expression.Error",
			Msg: fmt.Sprintf("the expression gives %s, not a table", Describe(v)), kind: ErrEvaluation}
	}
	src, err := t.Source()
	if err != nil {
		return nil, fmt.Errorf("mlang: %w", err)
	}
	return src, nil
}

func newInterp(ctx context.Context, env *Env) *interp {
	if env == nil {
		env = &Env{}
	}
	in := &interp{ctx: ctx, env: env, params: map[string]*thunk{}}
	for name, text := range env.Parameters {
		in.params[name] = in.lazy(&paramExpr{name: name, text: text}, &scope{expr: name}, name)
	}
	return in
}

// paramExpr is a model expression not parsed yet: it is parsed when first
// evaluated, so that a broken expression nobody uses does no harm.
type paramExpr struct {
	name, text string
}

func (p *paramExpr) Pos() Pos { return Pos{Line: 1, Col: 1} }

// evalParam parses and evaluates a model expression in its own scope.
func (in *interp) evalParam(p *paramExpr) (Value, error) {
	e, err := Parse(p.text)
	if err != nil {
		var list ErrorList
		if errors.As(err, &list) {
			for _, le := range list {
				le.Expr = p.name
			}
		}
		return nil, err
	}
	return in.eval(e, &scope{expr: p.name})
}
