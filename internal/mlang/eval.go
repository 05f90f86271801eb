package mlang

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Limits that keep a hostile expression from taking the server down.
const (
	maxEvalDepth = 5000    // nested evaluations (deep recursion)
	maxListItems = 1 << 20 // items a range like {1..n} may produce
	maxAlloc     = 4 << 20 // list items and table cells one evaluation may build in all
	ctxEvery     = 256     // evaluations between checks of the context
)

// interp evaluates expressions for one Evaluate call.
type interp struct {
	ctx    context.Context
	env    *Env
	params map[string]*thunk
	depth  int
	steps  int
	alloc  int // list items and cells built so far, against maxAlloc
}

// grow accounts for n list items or table cells about to be built.
func (in *interp) grow(sc *scope, at Pos, n int) error {
	in.alloc += n
	if n < 0 || in.alloc > maxAlloc {
		return limitf(sc, at, "the evaluation builds more than %d list items and table values", maxAlloc)
	}
	return nil
}

// scope is a set of names visible to an expression: a let, a record
// literal, a function's parameters. expr names the model expression the
// code was written in, for error positions.
type scope struct {
	parent *scope
	names  []string
	vals   []*thunk
	expr   string
}

func (s *scope) lookup(name string) *thunk {
	for ; s != nil; s = s.parent {
		for i := len(s.names) - 1; i >= 0; i-- {
			if s.names[i] == name {
				return s.vals[i]
			}
		}
	}
	return nil
}

// thunk is a value evaluated at most once, on first use: let bindings,
// record fields, list items and model expressions are thunks, so that a
// binding nobody reads is never evaluated. Most thunks are born evaluated
// (list items built by functions), so the pending part is kept apart to
// keep them small.
type thunk struct {
	state uint8
	val   Value
	err   error
	p     *pendingExpr // until evaluated
}

type pendingExpr struct {
	in   *interp
	expr Expr
	sc   *scope
	name string // for cycle errors
	at   Pos
}

const (
	pending uint8 = iota
	running
	finished
)

func done(v Value) *thunk { return &thunk{state: finished, val: v} }

func (in *interp) lazy(e Expr, sc *scope, name string) *thunk {
	return &thunk{p: &pendingExpr{in: in, expr: e, sc: sc, name: name, at: e.Pos()}}
}

func (t *thunk) force() (Value, error) {
	switch t.state {
	case finished:
		return t.val, t.err
	case running:
		p := t.p
		return nil, &Error{Pos: p.at, Expr: p.sc.expr, Reason: "Expression.Error",
			Msg: fmt.Sprintf("a cyclic reference was encountered: %q refers to itself", p.name), kind: ErrEvaluation}
	}
	t.state = running
	t.val, t.err = t.p.in.eval(t.p.expr, t.p.sc)
	t.state = finished
	t.p = nil
	return t.val, t.err
}

// errorf returns an M evaluation error at a position of the scope's text.
func errorf(sc *scope, at Pos, reason, format string, args ...any) *Error {
	return &Error{Pos: at, Expr: sc.expr, Reason: reason, Msg: fmt.Sprintf(format, args...), kind: ErrEvaluation}
}

func unsupported(sc *scope, at Pos, format string, args ...any) *Error {
	return &Error{Pos: at, Expr: sc.expr, Reason: "Expression.Error", Msg: fmt.Sprintf(format, args...), kind: ErrUnsupported}
}

func limitf(sc *scope, at Pos, format string, args ...any) *Error {
	return &Error{Pos: at, Expr: sc.expr, Reason: "Expression.Error", Msg: fmt.Sprintf(format, args...), kind: ErrLimit}
}

// eval evaluates an expression in a scope.
func (in *interp) eval(e Expr, sc *scope) (Value, error) {
	in.depth++
	defer func() { in.depth-- }()
	if in.depth > maxEvalDepth {
		return nil, limitf(sc, e.Pos(), "evaluation nests more than %d levels deep (endless recursion?)", maxEvalDepth)
	}
	in.steps++
	if in.steps%ctxEvery == 0 {
		if err := in.ctx.Err(); err != nil {
			return nil, err
		}
	}
	switch e := e.(type) {
	case *Literal:
		return e.Val, nil
	case *Ident:
		return in.ident(e, sc)
	case *ListExpr:
		return in.list(e, sc)
	case *RecordExpr:
		rs := &scope{parent: sc, expr: sc.expr}
		r := &Record{}
		for _, f := range e.Fields {
			t := in.lazy(f.Value, rs, f.Name)
			r.names = append(r.names, f.Name)
			r.vals = append(r.vals, t)
		}
		// Fields see each other, as in M.
		rs.names, rs.vals = r.names, r.vals
		return r, nil
	case *Let:
		ls := &scope{parent: sc, expr: sc.expr}
		for _, v := range e.Vars {
			ls.names = append(ls.names, v.Name)
			ls.vals = append(ls.vals, in.lazy(v.Value, ls, v.Name))
		}
		return in.eval(e.Body, ls)
	case *If:
		c, err := in.eval(e.Cond, sc)
		if err != nil {
			return nil, err
		}
		b, ok := c.(Logical)
		if !ok {
			return nil, errorf(sc, e.Cond.Pos(), "Expression.Error", "the condition of if must be true or false, not %s", Describe(c))
		}
		if b {
			return in.eval(e.Then, sc)
		}
		return in.eval(e.Else, sc)
	case *Func:
		return &Function{def: e, env: sc, in: in, min: minParams(e.Params), max: len(e.Params)}, nil
	case *Call:
		return in.call(e, sc)
	case *FieldAccess:
		return in.fieldAccess(e, sc)
	case *Projection:
		return in.projection(e, sc)
	case *ItemAccess:
		return in.itemAccess(e, sc)
	case *UnaryOp:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		return unaryOp(sc, e, x)
	case *BinaryOp:
		return in.binary(e, sc)
	case *TypeTest:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		t, err := in.typeOf(e.Type, sc)
		if err != nil {
			return nil, err
		}
		ok := conforms(x, t)
		if e.Op == "is" {
			return Logical(ok), nil
		}
		if !ok {
			return nil, errorf(sc, e.At, "Expression.Error", "we cannot convert %s to type %s", Describe(x), t)
		}
		return x, nil
	case *TypeExpr:
		return in.typeOf(e.Type, sc)
	case *Raise:
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		return nil, raise(sc, e.At, x)
	case *Try:
		return in.try(e, sc)
	case *NotImplemented:
		return nil, errorf(sc, e.At, "Expression.Error", "not implemented")
	case *SectionAccess:
		return nil, unsupported(sc, e.At, "section access %s!%s is not supported by Meridian", e.Section, e.Member)
	case *paramExpr:
		return in.evalParam(e)
	}
	return nil, errorf(sc, e.Pos(), "Expression.Error", "cannot evaluate %T", e)
}

func minParams(ps []Param) int {
	n := 0
	for _, p := range ps {
		if !p.Optional {
			n++
		}
	}
	return n
}

// ident resolves a name: local scopes, then the model's expressions, then
// the library.
func (in *interp) ident(e *Ident, sc *scope) (Value, error) {
	if t := sc.lookup(e.Name); t != nil {
		return t.force()
	}
	if t := in.params[e.Name]; t != nil {
		return t.force()
	}
	if v, ok := library[e.Name]; ok {
		return v, nil
	}
	if strings.Contains(e.Name, ".") || strings.HasPrefix(e.Name, "#") {
		return nil, unsupported(sc, e.At, "%s is not supported by Meridian", e.Name)
	}
	return nil, errorf(sc, e.At, "Expression.Error", "the name %q wasn't recognized; make sure it's spelled correctly", e.Name)
}

func (in *interp) list(e *ListExpr, sc *scope) (Value, error) {
	l := &List{}
	for _, it := range e.Items {
		if it.To == nil {
			l.items = append(l.items, in.lazy(it.From, sc, "list item"))
			continue
		}
		from, err := in.evalNumber(it.From, sc)
		if err != nil {
			return nil, err
		}
		to, err := in.evalNumber(it.To, sc)
		if err != nil {
			return nil, err
		}
		if from != math.Trunc(from) || to != math.Trunc(to) {
			return nil, errorf(sc, it.From.Pos(), "Expression.Error", "a range needs whole numbers, not %s..%s", formatNumber(from), formatNumber(to))
		}
		if to-from >= maxListItems || len(l.items)+int(to-from) >= maxListItems {
			return nil, limitf(sc, it.From.Pos(), "range %s..%s has more than %d items", formatNumber(from), formatNumber(to), maxListItems)
		}
		if err := in.grow(sc, it.From.Pos(), int(max(0, to-from+1))); err != nil {
			return nil, err
		}
		for x := from; x <= to; x++ {
			l.items = append(l.items, done(Number(x)))
		}
	}
	return l, nil
}

func (in *interp) evalNumber(e Expr, sc *scope) (float64, error) {
	v, err := in.eval(e, sc)
	if err != nil {
		return 0, err
	}
	n, ok := v.(Number)
	if !ok {
		return 0, errorf(sc, e.Pos(), "Expression.Error", "expected a number, not %s", Describe(v))
	}
	return float64(n), nil
}

func (in *interp) call(e *Call, sc *scope) (Value, error) {
	fv, err := in.eval(e.Fn, sc)
	if err != nil {
		return nil, err
	}
	f, ok := fv.(*Function)
	if !ok {
		return nil, errorf(sc, e.At, "Expression.Error", "%s is not a function and cannot be invoked", Describe(fv))
	}
	// Arguments are evaluated before the body, as M specifies.
	args := make([]Value, len(e.Args))
	for i, a := range e.Args {
		if args[i], err = in.eval(a, sc); err != nil {
			return nil, err
		}
	}
	return in.invoke(f, args, sc, e.At)
}

// invoke calls a function with evaluated arguments; sc and at locate the
// call for errors.
func (in *interp) invoke(f *Function, args []Value, sc *scope, at Pos) (Value, error) {
	if len(args) < f.min || (f.max >= 0 && len(args) > f.max) {
		want := fmt.Sprint(f.min)
		switch {
		case f.max < 0:
			want = "at least " + want
		case f.max != f.min:
			want = fmt.Sprintf("between %d and %d", f.min, f.max)
		}
		name := "a function"
		if f.name != "" {
			name = f.name
		}
		return nil, errorf(sc, at, "Expression.Error", "%d arguments were passed to %s, which expects %s", len(args), name, want)
	}
	if f.native != nil {
		c := &call{in: in, sc: sc, at: at, name: f.name, args: args}
		v, err := f.native(c)
		if err != nil {
			var me *Error
			if errors.As(err, &me) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, errorf(sc, at, "Expression.Error", "%s: %v", f.name, err)
		}
		return v, nil
	}
	fs := &scope{parent: f.env, expr: f.env.expr}
	for i, p := range f.def.Params {
		var v Value = Null{}
		if i < len(args) {
			v = args[i]
		}
		if p.Type != nil {
			t, err := in.typeOf(p.Type, f.env)
			if err != nil {
				return nil, err
			}
			if !conforms(v, t) && !(p.Optional && i >= len(args)) {
				return nil, errorf(sc, at, "Expression.Error", "parameter %s: we cannot convert %s to type %s", p.Name, Describe(v), t)
			}
		}
		fs.names = append(fs.names, p.Name)
		fs.vals = append(fs.vals, done(v))
	}
	v, err := in.eval(f.def.Body, fs)
	if err != nil {
		return nil, err
	}
	if f.def.Return != nil {
		t, err := in.typeOf(f.def.Return, f.env)
		if err != nil {
			return nil, err
		}
		if !conforms(v, t) {
			return nil, errorf(fs, f.def.Body.Pos(), "Expression.Error", "the function returned %s, which is not of type %s", Describe(v), t)
		}
	}
	return v, nil
}

func (in *interp) fieldAccess(e *FieldAccess, sc *scope) (Value, error) {
	var target Value
	var err error
	if e.Target == nil {
		target, err = in.implicit(sc, e.At)
	} else {
		target, err = in.eval(e.Target, sc)
	}
	if err != nil {
		return nil, err
	}
	switch t := target.(type) {
	case *Record:
		v, ok, err := t.Field(e.Name)
		if err != nil {
			return nil, err
		}
		if !ok {
			if e.Optional {
				return Null{}, nil
			}
			return nil, errorf(sc, e.At, "Expression.Error", "the field %q of the record wasn't found", e.Name)
		}
		return v, nil
	case *Table:
		i := t.column(e.Name)
		if i < 0 {
			if e.Optional {
				return Null{}, nil
			}
			return nil, errorf(sc, e.At, "Expression.Error", "the column %q of the table wasn't found", e.Name)
		}
		rows, err := t.materialize(in, sc, e.At)
		if err != nil {
			return nil, err
		}
		vals := make([]Value, len(rows))
		for r, row := range rows {
			vals[r] = row[i]
		}
		return listOf(vals...), nil
	}
	return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply field access to %s", Describe(target))
}

// implicit returns _, the parameter of an each, for [Name] without a
// target.
func (in *interp) implicit(sc *scope, at Pos) (Value, error) {
	t := sc.lookup("_")
	if t == nil {
		return nil, errorf(sc, at, "Expression.Error", "[field] without a record can only be used inside each")
	}
	return t.force()
}

func (in *interp) projection(e *Projection, sc *scope) (Value, error) {
	var target Value
	var err error
	if e.Target == nil {
		target, err = in.implicit(sc, e.At)
	} else {
		target, err = in.eval(e.Target, sc)
	}
	if err != nil {
		return nil, err
	}
	switch t := target.(type) {
	case *Record:
		r := &Record{}
		for _, n := range e.Names {
			i := t.index(n)
			if i < 0 {
				if e.Optional {
					r.names = append(r.names, n)
					r.vals = append(r.vals, done(Null{}))
					continue
				}
				return nil, errorf(sc, e.At, "Expression.Error", "the field %q of the record wasn't found", n)
			}
			r.names = append(r.names, n)
			r.vals = append(r.vals, t.vals[i])
		}
		return r, nil
	case *Table:
		mode := missingError
		if e.Optional {
			mode = missingUseNull
		}
		return t.selectColumns(sc, e.At, e.Names, mode)
	}
	return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply field access to %s", Describe(target))
}

func (in *interp) itemAccess(e *ItemAccess, sc *scope) (Value, error) {
	target, err := in.eval(e.Target, sc)
	if err != nil {
		return nil, err
	}
	idx, err := in.eval(e.Index, sc)
	if err != nil {
		return nil, err
	}
	switch t := target.(type) {
	case *List:
		n, ok := idx.(Number)
		if !ok || n < 0 || n != Number(math.Trunc(float64(n))) {
			return nil, errorf(sc, e.Index.Pos(), "Expression.Error", "a list index must be a whole number from 0, not %s", Describe(idx))
		}
		if float64(n) >= float64(t.Len()) {
			if e.Optional {
				return Null{}, nil
			}
			return nil, errorf(sc, e.At, "Expression.Error", "there weren't enough elements in the enumeration to complete the operation (index %s of a list of %d)", formatNumber(float64(n)), t.Len())
		}
		return t.Item(int(n))
	case *Table:
		return t.item(in, sc, e, idx)
	}
	return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply item access to %s", Describe(target))
}

func (in *interp) try(e *Try, sc *scope) (Value, error) {
	v, err := in.eval(e.X, sc)
	var me *Error
	if err != nil && (!errors.As(err, &me) || me.kind == ErrLimit || me.kind == ErrSyntax) {
		return nil, err // cancellation and limits are not M errors
	}
	switch {
	case e.Otherwise != nil:
		if err != nil {
			return in.eval(e.Otherwise, sc)
		}
		return v, nil
	case e.Catch != nil:
		if err == nil {
			return v, nil
		}
		fv, ferr := in.eval(e.Catch, sc)
		if ferr != nil {
			return nil, ferr
		}
		f := fv.(*Function)
		var args []Value
		if len(e.Catch.Params) == 1 {
			args = []Value{errorRecord(me)}
		}
		return in.invoke(f, args, sc, e.At)
	}
	if err != nil {
		return recordOf([]string{"HasError", "Error"}, []Value{Logical(true), errorRecord(me)}), nil
	}
	return recordOf([]string{"HasError", "Value"}, []Value{Logical(false), v}), nil
}

func errorRecord(e *Error) *Record {
	reason := e.Reason
	if reason == "" {
		reason = "Expression.Error"
	}
	return recordOf([]string{"Reason", "Message", "Detail"}, []Value{Text(reason), Text(e.Msg), Null{}})
}

// raise turns the operand of error into an M error: a text is the
// message; a record gives Reason and Message.
func raise(sc *scope, at Pos, x Value) error {
	switch v := x.(type) {
	case Text:
		return errorf(sc, at, "Expression.Error", "%s", string(v))
	case *Record:
		reason, msg := "Expression.Error", ""
		if r, ok, err := v.Field("Reason"); err != nil {
			return err
		} else if ok {
			if s, ok := r.(Text); ok {
				reason = string(s)
			}
		}
		if m, ok, err := v.Field("Message"); err != nil {
			return err
		} else if ok {
			if s, ok := m.(Text); ok {
				msg = string(s)
			}
		}
		if msg == "" {
			msg = reason
		}
		return errorf(sc, at, reason, "%s", msg)
	}
	return errorf(sc, at, "Expression.Error", "error raised with %s", Describe(x))
}
