package mlang

import (
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of expressions, so that hostile text
// cannot exhaust the stack.
const maxDepth = 300

// maxSource bounds the length of an expression's text.
const maxSource = 64 << 20

// Parse parses one M expression (an expression document). Errors are an
// ErrorList of positioned problems matching ErrSyntax.
func Parse(src string) (Expr, error) {
	if len(src) > maxSource {
		return nil, ErrorList{{Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("expression is longer than %d bytes", maxSource), kind: ErrSyntax}}
	}
	toks, errs := lex(src)
	if len(errs) > 0 {
		return nil, errs
	}
	p := &parser{src: src, toks: toks}
	e, err := p.parse()
	if err != nil {
		return nil, err
	}
	return e, nil
}

type parser struct {
	src   string
	toks  []token
	p     int
	depth int
}

// bailout carries a syntax error up the recursive descent; parse turns it
// back into an error, so no panic leaves the package.
type bailout struct{ err *Error }

func (p *parser) parse() (e Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			err = ErrorList{b.err}
		}
	}()
	e = p.expression()
	if t := p.tok(); t.kind != tEOF {
		p.failf(t.pos, "unexpected %s after the end of the expression", t)
	}
	return e, nil
}

func (p *parser) failf(at Pos, format string, args ...any) {
	panic(bailout{&Error{Pos: at, Msg: fmt.Sprintf(format, args...), kind: ErrSyntax}})
}

func (p *parser) tok() token { return p.toks[p.p] }

func (p *parser) peek(k int) token {
	if p.p+k < len(p.toks) {
		return p.toks[p.p+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.p]
	if t.kind != tEOF {
		p.p++
	}
	return t
}

func (p *parser) isOp(op string) bool      { return p.tok().is(tOp, op) }
func (p *parser) isKeyword(kw string) bool { return p.tok().is(tKeyword, kw) }

func (p *parser) accept(op string) bool {
	if p.isOp(op) {
		p.p++
		return true
	}
	return false
}

func (p *parser) expect(op string) token {
	t := p.tok()
	if !t.is(tOp, op) {
		p.failf(t.pos, "expected '%s', found %s", op, t)
	}
	return p.next()
}

func (p *parser) expectKeyword(kw string) token {
	t := p.tok()
	if !t.is(tKeyword, kw) {
		p.failf(t.pos, "expected '%s', found %s", kw, t)
	}
	return p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.failf(p.tok().pos, "expression nests more than %d levels deep", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

// expression parses the expression production: each, let, if, error, try
// and function expressions, or an operator expression.
func (p *parser) expression() Expr {
	p.enter()
	defer p.leave()
	t := p.tok()
	switch {
	case t.is(tKeyword, "each"):
		p.next()
		return &Func{At: t.pos, Params: []Param{{Name: "_"}}, Body: p.expression()}
	case t.is(tKeyword, "let"):
		return p.let()
	case t.is(tKeyword, "if"):
		p.next()
		cond := p.expression()
		p.expectKeyword("then")
		then := p.expression()
		p.expectKeyword("else")
		return &If{At: t.pos, Cond: cond, Then: then, Else: p.expression()}
	case t.is(tKeyword, "error"):
		p.next()
		return &Raise{At: t.pos, X: p.expression()}
	case t.is(tKeyword, "try"):
		return p.try()
	case t.is(tOp, "("):
		if f := p.function(); f != nil {
			return f
		}
	}
	return p.coalesce()
}

func (p *parser) let() Expr {
	at := p.next().pos
	var vars []FieldDef
	for {
		name, npos := p.identifier("variable name")
		p.expect("=")
		vars = append(vars, FieldDef{At: npos, Name: name, Value: p.expression()})
		if !p.accept(",") {
			break
		}
	}
	p.expectKeyword("in")
	return &Let{At: at, Vars: vars, Body: p.expression()}
}

func (p *parser) try() Expr {
	at := p.next().pos
	x := p.expression()
	tr := &Try{At: at, X: x}
	switch t := p.tok(); {
	case t.is(tKeyword, "otherwise"):
		p.next()
		tr.Otherwise = p.expression()
	case t.is(tIdent, "catch"):
		p.next()
		f := p.function()
		if f == nil || len(f.Params) > 1 {
			p.failf(t.pos, "catch must be followed by a function of at most one parameter: (e) => ...")
		}
		tr.Catch = f
	}
	return tr
}

// identifier reads a regular or quoted identifier.
func (p *parser) identifier(what string) (string, Pos) {
	t := p.tok()
	if t.kind != tIdent && t.kind != tQuotedIdent {
		p.failf(t.pos, "expected a %s, found %s", what, t)
	}
	p.next()
	return t.text, t.pos
}

// function parses a function expression if one starts here:
// ( [optional] name [as type], ... ) [as type] => body. It returns nil,
// consuming nothing, when the parenthesis opens something else.
func (p *parser) function() *Func {
	save := p.p
	at := p.tok().pos
	if !p.accept("(") {
		return nil
	}
	var params []Param
	if !p.isOp(")") {
		for {
			var prm Param
			t := p.tok()
			if t.is(tIdent, "optional") && (p.peek(1).kind == tIdent || p.peek(1).kind == tQuotedIdent) {
				prm.Optional = true
				p.next()
				t = p.tok()
			}
			if t.kind != tIdent && t.kind != tQuotedIdent {
				p.p = save
				return nil
			}
			p.next()
			prm.Name = t.text
			if p.isKeyword("as") {
				p.next()
				ts, ok := p.primitiveType()
				if !ok {
					p.p = save
					return nil
				}
				prm.Type = ts
			}
			params = append(params, prm)
			if !p.accept(",") {
				break
			}
		}
	}
	if !p.accept(")") {
		p.p = save
		return nil
	}
	var ret *TypeSpec
	if p.isKeyword("as") {
		p.next()
		ts, ok := p.primitiveType()
		if !ok {
			p.p = save
			return nil
		}
		ret = ts
	}
	if !p.accept("=>") {
		p.p = save
		return nil
	}
	seen := map[string]bool{}
	for _, prm := range params {
		if seen[prm.Name] {
			p.failf(at, "parameter %q is declared twice", prm.Name)
		}
		seen[prm.Name] = true
	}
	for i := 1; i < len(params); i++ {
		if params[i-1].Optional && !params[i].Optional {
			p.failf(at, "parameter %q must be optional: it follows an optional one", params[i].Name)
		}
	}
	return &Func{At: at, Params: params, Return: ret, Body: p.expression()}
}

var primitiveTypes = map[string]bool{
	"any": true, "anynonnull": true, "binary": true, "date": true, "datetime": true,
	"datetimezone": true, "duration": true, "function": true, "list": true, "logical": true,
	"none": true, "null": true, "number": true, "record": true, "table": true, "text": true,
	"time": true, "type": true,
}

// primitiveType reads [nullable] primitive-type without failing; ok is
// false (nothing consumed) when there is none.
func (p *parser) primitiveType() (*TypeSpec, bool) {
	save := p.p
	ts := &TypeSpec{At: p.tok().pos}
	if p.tok().is(tIdent, "nullable") {
		ts.Nullable = true
		p.next()
	}
	t := p.tok()
	if (t.kind == tIdent || t.kind == tKeyword) && primitiveTypes[t.text] {
		p.next()
		ts.Prim = t.text
		return ts, true
	}
	p.p = save
	return nil, false
}

func (p *parser) binaryLoop(next func() Expr, match func(token) bool) Expr {
	x := next()
	for match(p.tok()) {
		op := p.next()
		x = &BinaryOp{At: op.pos, Op: op.text, X: x, Y: next()}
	}
	return x
}

func (p *parser) coalesce() Expr {
	x := p.logicalOr()
	if t := p.tok(); t.is(tOp, "??") {
		p.next()
		p.enter()
		defer p.leave()
		return &BinaryOp{At: t.pos, Op: "??", X: x, Y: p.coalesce()}
	}
	return x
}

func (p *parser) logicalOr() Expr {
	return p.binaryLoop(p.logicalAnd, func(t token) bool { return t.is(tKeyword, "or") })
}

func (p *parser) logicalAnd() Expr {
	return p.binaryLoop(p.isAs, func(t token) bool { return t.is(tKeyword, "and") })
}

// isAs parses is and as, which take a primitive type on the right.
func (p *parser) isAs() Expr {
	x := p.equality()
	for p.isKeyword("is") || p.isKeyword("as") {
		op := p.next()
		ts, ok := p.primitiveType()
		if !ok {
			p.failf(p.tok().pos, "expected a primitive type after '%s', found %s", op.text, p.tok())
		}
		x = &TypeTest{At: op.pos, Op: op.text, X: x, Type: ts}
	}
	return x
}

func (p *parser) equality() Expr {
	return p.binaryLoop(p.relational, func(t token) bool { return t.is(tOp, "=") || t.is(tOp, "<>") })
}

func (p *parser) relational() Expr {
	return p.binaryLoop(p.additive, func(t token) bool {
		return t.kind == tOp && (t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")
	})
}

func (p *parser) additive() Expr {
	return p.binaryLoop(p.multiplicative, func(t token) bool {
		return t.kind == tOp && (t.text == "+" || t.text == "-" || t.text == "&")
	})
}

func (p *parser) multiplicative() Expr {
	return p.binaryLoop(p.metadata, func(t token) bool { return t.is(tOp, "*") || t.is(tOp, "/") })
}

func (p *parser) metadata() Expr {
	return p.binaryLoop(p.unary, func(t token) bool { return t.is(tKeyword, "meta") })
}

func (p *parser) unary() Expr {
	p.enter()
	defer p.leave()
	t := p.tok()
	switch {
	case t.is(tOp, "+") || t.is(tOp, "-") || t.is(tKeyword, "not"):
		p.next()
		return &UnaryOp{At: t.pos, Op: t.text, X: p.unary()}
	case t.is(tKeyword, "each") || t.is(tKeyword, "let") || t.is(tKeyword, "if") ||
		t.is(tKeyword, "error") || t.is(tKeyword, "try"):
		// Not allowed here by the grammar, but unambiguous: accept it.
		return p.expression()
	case t.is(tKeyword, "type"):
		p.next()
		return &TypeExpr{At: t.pos, Type: p.typeSpec()}
	}
	return p.primary()
}

func (p *parser) primary() Expr {
	t := p.tok()
	var x Expr
	switch {
	case t.kind == tNumber:
		p.next()
		x = &Literal{At: t.pos, Val: Number(t.num)}
	case t.kind == tText:
		p.next()
		x = &Literal{At: t.pos, Val: Text(t.text)}
	case t.is(tKeyword, "true"), t.is(tKeyword, "false"):
		p.next()
		x = &Literal{At: t.pos, Val: Logical(t.text == "true")}
	case t.is(tKeyword, "null"):
		p.next()
		x = &Literal{At: t.pos, Val: Null{}}
	case t.kind == tIdent || t.kind == tQuotedIdent || t.kind == tHashWord:
		p.next()
		if t.kind == tIdent && p.isOp("!") {
			p.next()
			member, _ := p.identifier("section member name")
			x = &SectionAccess{At: t.pos, Section: t.text, Member: member}
		} else {
			x = &Ident{At: t.pos, Name: t.text}
		}
	case t.is(tOp, "@"):
		p.next()
		name, _ := p.identifier("name after @")
		x = &Ident{At: t.pos, Name: name, Inclusive: true}
	case t.is(tOp, "("):
		if f := p.function(); f != nil {
			return f
		}
		p.next()
		x = p.expression()
		p.expect(")")
	case t.is(tOp, "{"):
		x = p.list()
	case t.is(tOp, "["):
		x = p.bracket(nil)
	case t.is(tOp, "..."):
		p.next()
		x = &NotImplemented{At: t.pos}
	default:
		p.failf(t.pos, "expected an expression, found %s", t)
	}
	// Postfix: calls, item access, field access.
	for {
		t := p.tok()
		switch {
		case t.is(tOp, "("):
			p.next()
			var args []Expr
			if !p.isOp(")") {
				for {
					args = append(args, p.expression())
					if !p.accept(",") {
						break
					}
				}
			}
			p.expect(")")
			x = &Call{At: x.Pos(), Fn: x, Args: args}
		case t.is(tOp, "{"):
			p.next()
			idx := p.expression()
			p.expect("}")
			ia := &ItemAccess{At: t.pos, Target: x, Index: idx}
			ia.Optional = p.accept("?")
			x = ia
		case t.is(tOp, "["):
			x = p.bracket(x)
		default:
			return x
		}
	}
}

func (p *parser) list() Expr {
	at := p.expect("{").pos
	l := &ListExpr{At: at}
	if p.accept("}") {
		return l
	}
	for {
		item := ListItem{From: p.expression()}
		if p.accept("..") {
			item.To = p.expression()
		}
		l.Items = append(l.Items, item)
		if !p.accept(",") {
			break
		}
	}
	p.expect("}")
	return l
}

// bracket parses what a [ opens: with a target, a field access or
// projection; without, a record literal or an implicit field access or
// projection (inside each).
func (p *parser) bracket(target Expr) Expr {
	open := p.expect("[")
	at := open.pos
	if target != nil {
		at = target.Pos()
	}
	if p.isOp("[") { // projection: [[A], [B]]
		var names []string
		for {
			p.expect("[")
			name, _ := p.fieldName()
			names = append(names, name)
			p.expect("]")
			if !p.accept(",") {
				break
			}
		}
		p.expect("]")
		return &Projection{At: at, Target: target, Names: names, Optional: p.accept("?")}
	}
	if target == nil && p.accept("]") {
		return &RecordExpr{At: at}
	}
	name, npos := p.fieldName()
	if p.accept("]") {
		return &FieldAccess{At: at, Target: target, Name: name, Optional: p.accept("?")}
	}
	if target != nil {
		p.failf(p.tok().pos, "expected ']' after the field name, found %s", p.tok())
	}
	// A record literal.
	r := &RecordExpr{At: at}
	seen := map[string]bool{}
	for {
		if seen[name] {
			p.failf(npos, "field %q is defined twice", name)
		}
		seen[name] = true
		p.expect("=")
		r.Fields = append(r.Fields, FieldDef{At: npos, Name: name, Value: p.expression()})
		if !p.accept(",") {
			break
		}
		name, npos = p.fieldName()
	}
	p.expect("]")
	return r
}

// fieldName reads a generalized identifier (words, keywords and numbers
// separated only by spaces: [Base Line]) or a quoted identifier.
func (p *parser) fieldName() (string, Pos) {
	t := p.tok()
	if t.kind == tQuotedIdent {
		p.next()
		return t.text, t.pos
	}
	if !isWordToken(t) {
		p.failf(t.pos, "expected a field name, found %s", t)
	}
	start, end := t.pos.Offset, t.end
	p.next()
	for isWordToken(p.tok()) && strings.Trim(p.src[end:p.tok().pos.Offset], " ") == "" {
		end = p.tok().end
		p.next()
	}
	return p.src[start:end], t.pos
}

func isWordToken(t token) bool {
	return t.kind == tIdent || t.kind == tKeyword || t.kind == tNumber
}

// typeSpec parses what follows the keyword type, or a field's type in a
// record or table type: a primitive type, nullable T, a record type, a
// list type, a table type, a function type, or a primary expression that
// yields a type.
func (p *parser) typeSpec() *TypeSpec {
	p.enter()
	defer p.leave()
	t := p.tok()
	switch {
	case t.is(tIdent, "nullable"):
		p.next()
		inner := p.typeSpec()
		inner.Nullable = true
		return inner
	case t.is(tIdent, "table") && p.peek(1).is(tOp, "["):
		p.next()
		fields, _ := p.fieldSpecs()
		return &TypeSpec{At: t.pos, Table: true, Fields: fields}
	case t.is(tIdent, "function") && p.peek(1).is(tOp, "("):
		p.next()
		p.expect("(")
		for !p.isOp(")") {
			if p.tok().is(tIdent, "optional") {
				p.next()
			}
			p.identifier("parameter name")
			p.expectKeyword("as")
			p.typeSpec()
			if !p.accept(",") {
				break
			}
		}
		p.expect(")")
		p.expectKeyword("as")
		p.typeSpec()
		return &TypeSpec{At: t.pos, Prim: "function", Function: true}
	case (t.kind == tIdent || t.kind == tKeyword) && primitiveTypes[t.text]:
		p.next()
		return &TypeSpec{At: t.pos, Prim: t.text}
	case t.is(tOp, "["):
		fields, open := p.fieldSpecs()
		return &TypeSpec{At: t.pos, Record: true, Fields: fields, Open: open}
	case t.is(tOp, "{"):
		p.next()
		item := p.typeSpec()
		p.expect("}")
		return &TypeSpec{At: t.pos, List: item}
	}
	return &TypeSpec{At: t.pos, Expr: p.primary()}
}

// fieldSpecs parses [ [optional] name [= type], ..., ... ].
func (p *parser) fieldSpecs() (fields []FieldSpec, open bool) {
	p.expect("[")
	if p.accept("]") {
		return nil, false
	}
	for {
		if p.accept("...") {
			open = true
			break
		}
		var f FieldSpec
		if p.tok().is(tIdent, "optional") && !p.peek(1).is(tOp, "=") && !p.peek(1).is(tOp, ",") && !p.peek(1).is(tOp, "]") {
			f.Optional = true
			p.next()
		}
		f.Name, _ = p.fieldName()
		if p.accept("=") {
			f.Type = p.typeSpec()
		}
		fields = append(fields, f)
		if !p.accept(",") {
			break
		}
	}
	p.expect("]")
	return fields, open
}
