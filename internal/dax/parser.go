package dax

import (
	"fmt"
	"slices"
	"strings"
)

// Limits on what the parser accepts, so that hostile or careless input
// gives an error rather than exhausting memory or the stack.
const (
	// DefaultMaxBytes is the largest source text parsed by default (1 MiB).
	// Real measures are a few kilobytes; generated queries with long
	// filter lists reach a few hundred.
	DefaultMaxBytes = 1 << 20
	// DefaultMaxDepth is the deepest nesting of parentheses, calls,
	// constructors, VARs and prefix operators accepted by default. A chain
	// of binary operators (1 + 1 + ...) counts one level per operator, as
	// it nests as deeply in the tree. Trees are at most about twice this
	// deep, so code that walks them recursively is safe.
	DefaultMaxDepth = 1000
	// MaxErrors is the number of errors after which the parser gives up.
	MaxErrors = 10
)

// Options tune the parser. The zero value gives the defaults.
type Options struct {
	MaxBytes int // largest source in bytes; 0 means DefaultMaxBytes
	MaxDepth int // deepest nesting; 0 means DefaultMaxDepth
}

// ParseExpr parses one DAX expression, such as a measure, calculated
// column, calculated table or row filter. On failure the error is an
// ErrorList and the expression is nil.
func ParseExpr(src string) (Expr, error) { return Options{}.ParseExpr(src) }

// ParseQuery parses a DAX query: an optional DEFINE block and one EVALUATE
// or more. On failure the error is an ErrorList and the query is nil.
func ParseQuery(src string) (*Query, error) { return Options{}.ParseQuery(src) }

// ParseExpr parses one DAX expression with these options.
func (o Options) ParseExpr(src string) (Expr, error) {
	p, err := o.newParser(src)
	if err != nil {
		return nil, err
	}
	var e Expr
	p.run(func() {
		e = p.parseExpr()
		if p.tok.kind != tEOF {
			p.unexpectedAfter("the end of the expression")
		}
		p.checkRowCtors(e)
	})
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return e, nil
}

// ParseQuery parses a DAX query with these options.
func (o Options) ParseQuery(src string) (*Query, error) {
	p, err := o.newParser(src)
	if err != nil {
		return nil, err
	}
	var q *Query
	p.run(func() {
		q = p.parseQuery()
		for _, d := range q.Defines {
			p.checkRowCtors(d)
		}
		for _, ev := range q.Evaluates {
			p.checkRowCtors(ev)
		}
	})
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return q, nil
}

// bailout is panicked to stop parsing (too many errors, nesting too
// deep) and recovered in run; it never leaves the package.
type bailout struct{}

type parser struct {
	lex      *lexer
	errs     ErrorList
	tok      token   // the current token
	ahead    []token // tokens read past tok, for lookahead
	depth    int
	maxDepth int
}

func (o Options) newParser(src string) (*parser, error) {
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(src) > maxBytes {
		return nil, ErrorList{{Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("the DAX text is %d bytes long, more than the limit of %d", len(src), maxBytes)}}
	}
	p := &parser{maxDepth: o.MaxDepth}
	if p.maxDepth <= 0 {
		p.maxDepth = DefaultMaxDepth
	}
	p.lex = newLexer(src, &p.errs)
	return p, nil
}

// run calls f, stopping early on a bailout, and leaves the errors sorted.
func (p *parser) run(f func()) {
	tooMany := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(bailout); !ok {
					panic(r)
				}
				tooMany = len(p.errs) >= MaxErrors
			}
		}()
		p.next()
		f()
	}()
	// Lexer errors for lookahead tokens can be reported before parser
	// errors for earlier ones.
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Pos.Offset - b.Pos.Offset })
	if tooMany {
		p.errs = append(p.errs, &Error{Pos: p.tok.pos, Msg: fmt.Sprintf("too many errors (stopped after %d)", MaxErrors)})
	}
}

// next moves to the next token.
func (p *parser) next() {
	if len(p.ahead) > 0 {
		p.tok = p.ahead[0]
		p.ahead = append(p.ahead[:0], p.ahead[1:]...)
	} else {
		p.tok = p.lex.next()
	}
	if len(p.errs) >= MaxErrors {
		panic(bailout{})
	}
}

// peek returns the token n places after the current one (n >= 1).
func (p *parser) peek(n int) token {
	for len(p.ahead) < n {
		p.ahead = append(p.ahead, p.lex.next())
	}
	return p.ahead[n-1]
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	p.errs.add(pos, format, args...)
	if len(p.errs) >= MaxErrors {
		panic(bailout{})
	}
}

// enter counts one level of nesting; leave undoes it.
func (p *parser) enter(pos Pos) {
	p.depth++
	if p.depth > p.maxDepth {
		p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf("expression nested too deeply (more than %d levels)", p.maxDepth)})
		panic(bailout{})
	}
}

func (p *parser) leave() { p.depth-- }

// chain checks the nesting that n operators of one chain add.
func (p *parser) chain(n int, pos Pos) {
	if p.depth+n > p.maxDepth {
		p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf("expression nested too deeply (a chain of more than %d operators)", p.maxDepth)})
		panic(bailout{})
	}
}

// badExpr stands in for an expression that could not be parsed. It never
// appears in a tree returned to callers, since parsing then fails.
type badExpr struct{ At Pos }

func (b *badExpr) Pos() Pos     { return b.At }
func (*badExpr) exprNode()      {}
func (p *parser) bad() *badExpr { return &badExpr{At: p.tok.pos} }

// atStop reports whether the current token ends every expression: the end
// of input or a keyword of the query syntax. Lists stop there and report
// what is missing rather than skipping the next statement.
func (p *parser) atStop() bool {
	t := p.tok
	switch {
	case t.kind == tEOF:
		return true
	case t.kind != tIdent:
		return false
	case isKeyword(t, "EVALUATE"), isKeyword(t, "DEFINE"), isKeyword(t, "RETURN"), isKeyword(t, "MEASURE"):
		return true
	case isKeyword(t, "ORDER"):
		return isKeyword(p.peek(1), "BY")
	case isKeyword(t, "START"):
		return isKeyword(p.peek(1), "AT")
	}
	return false
}

// unexpectedAfter reports the current token where an expression should
// have ended.
func (p *parser) unexpectedAfter(what string) {
	t := p.tok
	hint := ""
	switch {
	case isKeyword(t, "AND"):
		hint = " (DAX writes && for 'and', or the function AND(a, b))"
	case isKeyword(t, "OR"):
		hint = " (DAX writes || for 'or', or the function OR(a, b))"
	case t.kind == tIllegal:
		return // the lexer reported it
	}
	p.errorf(t.pos, "unexpected %s after %s%s", t.describe(), what, hint)
}

// sync skips tokens until stop says to stop, the current token is a
// statement keyword, or the input ends. Brackets are skipped as wholes:
// stop is only asked about tokens outside any brackets opened while
// skipping, and a closing bracket that was not opened here ends the skip.
func (p *parser) sync(stop func(token) bool) {
	depth := 0
	for !p.atStop() {
		switch p.tok.kind {
		case tLParen, tLBrace:
			depth++
		case tRParen, tRBrace:
			if depth == 0 {
				if stop(p.tok) {
					return
				}
				return // a bracket of an enclosing construct
			}
			depth--
			p.next()
			continue
		}
		if depth == 0 && stop(p.tok) {
			return
		}
		p.next()
	}
}

func (p *parser) parseExpr() Expr { return p.parseLevel(precOr) }

// binaryOp returns the operator of the current token if it is a binary
// operator of the given level.
func (p *parser) binaryOp(level int) (Op, bool) {
	t := p.tok
	switch level {
	case precOr:
		return OpOr, t.kind == tOrOr
	case precAnd:
		return OpAnd, t.kind == tAndAnd
	case precCompare:
		switch t.kind {
		case tEq:
			return OpEq, true
		case tStrictEq:
			return OpStrictEq, true
		case tNe:
			return OpNe, true
		case tLt:
			return OpLt, true
		case tLe:
			return OpLe, true
		case tGt:
			return OpGt, true
		case tGe:
			return OpGe, true
		case tIdent:
			return OpIn, isKeyword(t, "IN")
		}
	case precConcat:
		return OpConcat, t.kind == tAmp
	case precAdd:
		switch t.kind {
		case tPlus:
			return OpAdd, true
		case tMinus:
			return OpSub, true
		}
	case precMul:
		switch t.kind {
		case tStar:
			return OpMul, true
		case tSlash:
			return OpDiv, true
		}
	}
	return OpInvalid, false
}

// parseLevel parses the operators of one precedence level and above.
// Binary operators group left to right.
func (p *parser) parseLevel(level int) Expr {
	switch level {
	case precNot:
		return p.parseNot()
	case precSign:
		return p.parseUnary()
	}
	x := p.parseLevel(level + 1)
	for n := 1; ; n++ {
		op, ok := p.binaryOp(level)
		if !ok {
			if level == precCompare && isKeyword(p.tok, "NOT") && isKeyword(p.peek(1), "IN") {
				// x NOT IN t: say what DAX wants instead, and read it as
				// NOT (x IN t) to go on.
				at := p.tok.pos
				p.errorf(at, "DAX has no NOT IN operator: write NOT x IN { ... }, which means NOT (x IN { ... })")
				p.next()
				p.next()
				y := p.parseLevel(level + 1)
				x = &Unary{At: at, Op: OpNot, X: &Binary{At: at, Op: OpIn, X: x, Y: y}}
				continue
			}
			return x
		}
		at := p.tok.pos
		p.chain(n, at)
		p.next()
		y := p.parseLevel(level + 1)
		x = &Binary{At: at, Op: op, X: x, Y: y}
	}
}

// parseNot parses NOT, which binds more loosely than comparisons: NOT a = b
// is NOT (a = b). Wherever NOT appears it takes such an operand, even after
// an operator of higher precedence: "" & NOT a = b is "" & NOT (a = b).
func (p *parser) parseNot() Expr {
	if !isKeyword(p.tok, "NOT") {
		return p.parseLevel(precCompare)
	}
	at := p.tok.pos
	p.next()
	p.enter(at)
	x := p.parseNot()
	p.leave()
	return &Unary{At: at, Op: OpNot, X: x}
}

// parseUnary parses the sign operators, which bind more loosely than ^:
// -2^2 is -(2^2).
func (p *parser) parseUnary() Expr {
	var op Op
	switch p.tok.kind {
	case tMinus:
		op = OpNeg
	case tPlus:
		op = OpPlus
	default:
		return p.parsePower()
	}
	at := p.tok.pos
	p.next()
	p.enter(at)
	x := p.parseUnary()
	p.leave()
	return &Unary{At: at, Op: op, X: x}
}

// parsePower parses ^, which groups left to right like every DAX operator:
// 2^3^2 is (2^3)^2. Its right operand may carry a sign: 2^-1.
func (p *parser) parsePower() Expr {
	x := p.parsePrimary()
	for n := 1; p.tok.kind == tCaret; n++ {
		at := p.tok.pos
		p.chain(n, at)
		p.next()
		y := p.parsePowerOperand()
		x = &Binary{At: at, Op: OpPow, X: x, Y: y}
	}
	return x
}

func (p *parser) parsePowerOperand() Expr {
	var op Op
	switch p.tok.kind {
	case tMinus:
		op = OpNeg
	case tPlus:
		op = OpPlus
	default:
		return p.parsePrimary()
	}
	at := p.tok.pos
	p.next()
	p.enter(at)
	x := p.parsePowerOperand()
	p.leave()
	return &Unary{At: at, Op: op, X: x}
}

func (p *parser) parsePrimary() Expr {
	t := p.tok
	switch t.kind {
	case tNumber:
		p.next()
		return &NumberLit{At: t.pos, Text: t.text, IsInt: t.isInt, Int: t.intVal, Float: t.num}
	case tString:
		p.next()
		return &StringLit{At: t.pos, Value: t.val}
	case tDate:
		p.next()
		return &DateLit{At: t.pos, Text: t.val, OLE: t.num}
	case tParam:
		p.next()
		return &Param{At: t.pos, Name: t.val}
	case tBracket:
		p.next()
		return &ColumnRef{At: t.pos, Column: t.val}
	case tQuoted:
		p.next()
		if p.tok.kind == tBracket {
			c := p.tok
			p.next()
			return &ColumnRef{At: t.pos, Table: t.val, Column: c.val, Quoted: true}
		}
		return &TableRef{At: t.pos, Name: t.val, Quoted: true}
	case tLParen:
		return p.parseParen()
	case tLBrace:
		return p.parseTableCtor()
	case tIllegal:
		p.next() // already reported by the lexer
		return &badExpr{At: t.pos}
	case tIdent:
		return p.parseName()
	}
	p.errorf(t.pos, "expected an expression, found %s", t.describe())
	return p.bad()
}

// parseName parses what starts with a bare name: a call, a keyword
// literal, VAR, NOT, a column of an unquoted table, or an identifier.
func (p *parser) parseName() Expr {
	t := p.tok
	switch word := upper(t.val); word {
	case "TRUE", "FALSE":
		if p.peek(1).kind == tLParen {
			p.next()
			return p.parseCall(t)
		}
		p.next()
		return &BoolLit{At: t.pos, Value: word == "TRUE"}
	case "VAR":
		return p.parseVar()
	case "NOT":
		return p.parseNot()
	case "IN":
		p.errorf(t.pos, "expected an expression before IN")
		return p.bad()
	default:
		if reserved[word] {
			p.errorf(t.pos, "expected an expression, found keyword %s", word)
			return p.bad()
		}
	}
	p.next()
	if p.tok.kind == tLParen {
		return p.parseCall(t)
	}
	if strings.Contains(t.val, ".") {
		p.errorf(p.tok.pos, "expected '(' after the function name %s, found %s", t.val, p.tok.describe())
		return &badExpr{At: t.pos}
	}
	if p.tok.kind == tBracket {
		c := p.tok
		p.next()
		return &ColumnRef{At: t.pos, Table: t.val, Column: c.val}
	}
	return &Ident{At: t.pos, Name: t.val}
}

// parseCall parses the arguments of a call; the current token is the '('
// after the name.
func (p *parser) parseCall(name token) Expr {
	lp := p.tok.pos
	p.next()
	p.enter(lp)
	defer p.leave()
	call := &Call{At: name.pos, Func: upper(name.val)}
	if p.tok.kind == tRParen {
		p.next()
		return call
	}
	unclosed := func() {
		p.errorf(p.tok.pos, "expected ')' to close the call to %s opened at %s", call.Func, lp)
	}
	for {
		if p.atStop() {
			unclosed()
			return call
		}
		var arg Expr
		if p.tok.kind != tComma && p.tok.kind != tRParen {
			arg = p.parseExpr()
		}
		call.Args = append(call.Args, arg)
		switch p.tok.kind {
		case tComma:
			p.next()
			continue
		case tRParen:
			p.next()
			return call
		}
		if p.atStop() {
			unclosed()
			return call
		}
		if p.tok.kind != tIllegal {
			p.unexpectedAfter(fmt.Sprintf("argument %d of %s (expected ',' or ')')", len(call.Args), call.Func))
		}
		p.sync(func(t token) bool { return t.kind == tComma || t.kind == tRParen })
		switch p.tok.kind {
		case tComma:
			p.next()
		case tRParen:
			p.next()
			return call
		default:
			return call
		}
	}
}

// parseParen parses ( expr ) and the row constructor ( a, b, ... ).
func (p *parser) parseParen() Expr {
	lp := p.tok.pos
	p.next()
	p.enter(lp)
	defer p.leave()
	if p.tok.kind == tRParen {
		p.errorf(p.tok.pos, "expected an expression between '(' and ')'")
		p.next()
		return &badExpr{At: lp}
	}
	x := p.parseExpr()
	if p.tok.kind == tComma {
		row := &RowCtor{At: lp, Values: []Expr{x}}
		for p.tok.kind == tComma {
			p.next()
			row.Values = append(row.Values, p.parseExpr())
		}
		x = row
	}
	if p.tok.kind == tRParen {
		p.next()
		return x
	}
	p.closeError(')', "the '(' opened at "+lp.String())
	return x
}

// closeError reports a missing closing bracket.
func (p *parser) closeError(close rune, what string) {
	if p.atStop() {
		p.errorf(p.tok.pos, "expected '%c' to close %s", close, what)
	} else if p.tok.kind != tIllegal {
		p.errorf(p.tok.pos, "expected '%c' to close %s, found %s", close, what, p.tok.describe())
	}
}

// parseTableCtor parses { a, b } and { (a, b), (c, d) }.
func (p *parser) parseTableCtor() Expr {
	lb := p.tok.pos
	p.next()
	p.enter(lb)
	defer p.leave()
	ctor := &TableCtor{At: lb}
	if p.tok.kind == tRBrace {
		p.errorf(p.tok.pos, "empty table constructor: write at least one value between { and }")
		p.next()
		return ctor
	}
	what := "the table constructor opened at " + lb.String()
	for {
		if p.atStop() {
			p.closeError('}', what)
			return ctor
		}
		if p.tok.kind == tComma || p.tok.kind == tRBrace {
			p.errorf(p.tok.pos, "expected a value in the table constructor, found %s", p.tok.describe())
		} else {
			e := p.parseExpr()
			if row, ok := e.(*RowCtor); ok {
				ctor.Rows = append(ctor.Rows, row.Values)
			} else {
				ctor.Rows = append(ctor.Rows, []Expr{e})
			}
		}
		switch p.tok.kind {
		case tComma:
			p.next()
			continue
		case tRBrace:
			p.next()
			p.checkRowLengths(ctor)
			return ctor
		}
		if p.atStop() {
			p.closeError('}', what)
			return ctor
		}
		if p.tok.kind != tIllegal {
			p.unexpectedAfter("a value of the table constructor (expected ',' or '}')")
		}
		p.sync(func(t token) bool { return t.kind == tComma || t.kind == tRBrace })
		switch p.tok.kind {
		case tComma:
			p.next()
		case tRBrace:
			p.next()
			return ctor
		default:
			return ctor
		}
	}
}

func (p *parser) checkRowLengths(ctor *TableCtor) {
	if len(ctor.Rows) == 0 {
		return
	}
	want := len(ctor.Rows[0])
	for i, row := range ctor.Rows[1:] {
		if len(row) != want {
			p.errorf(row[0].Pos(), "row %d of the table constructor has %s, but the first row has %d", i+2, plural(len(row), "value"), want)
			return
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// parseVar parses VAR name = expr ... RETURN expr.
func (p *parser) parseVar() Expr {
	ve := &VarExpr{At: p.tok.pos}
	p.enter(ve.At)
	defer p.leave()
	for isKeyword(p.tok, "VAR") {
		at := p.tok.pos
		p.next()
		name := p.parseVarName()
		p.expectEq("VAR " + name)
		ve.Vars = append(ve.Vars, VarDecl{At: at, Name: name, Value: p.parseExpr()})
	}
	if !isKeyword(p.tok, "RETURN") {
		last := ve.Vars[len(ve.Vars)-1]
		if p.tok.kind != tIllegal {
			p.errorf(p.tok.pos, "expected RETURN or another VAR after VAR %s (at %s), found %s", last.Name, last.At, p.tok.describe())
		}
		ve.Return = p.bad()
		return ve
	}
	p.next()
	ve.Return = p.parseExpr()
	return ve
}

// parseVarName reads the name after VAR: a plain name, not a keyword.
func (p *parser) parseVarName() string {
	t := p.tok
	switch {
	case isNameToken(t):
		p.next()
		return t.val
	case t.kind == tQuoted || t.kind == tBracket:
		p.errorf(t.pos, "a variable name is a plain name, without quotes or brackets: found %s", t.describe())
		p.next()
		return t.val
	case t.kind == tIllegal:
		p.next()
		return ""
	}
	p.errorf(t.pos, "expected a variable name after VAR, found %s", t.describe())
	return ""
}

// expectEq consumes the '=' of a definition.
func (p *parser) expectEq(what string) {
	if p.tok.kind == tEq {
		p.next()
		return
	}
	if p.tok.kind != tIllegal {
		p.errorf(p.tok.pos, "expected '=' after %s, found %s", what, p.tok.describe())
	}
}

// checkRowCtors reports row constructors anywhere but before IN.
func (p *parser) checkRowCtors(n Node) {
	if n == nil {
		return
	}
	allowed := map[*RowCtor]bool{}
	Inspect(n, func(n Node) bool {
		switch n := n.(type) {
		case *Binary:
			if r, ok := n.X.(*RowCtor); ok && n.Op == OpIn {
				allowed[r] = true
			}
		case *RowCtor:
			if !allowed[n] {
				p.errorf(n.At, "a list of values in parentheses is only allowed before IN or as a row of a table constructor { (a, b) }")
			}
		}
		return true
	})
}

// isNameToken reports whether t is a plain name that can name a variable,
// parameter or table: no dots, not a keyword.
func isNameToken(t token) bool {
	return t.kind == tIdent && !strings.Contains(t.val, ".") && !isReserved(t.val) && !isOperatorWord(t.val)
}

// The query syntax.

// isDefineStart reports whether t starts a definition of a DEFINE block.
func isDefineStart(t token) bool {
	return isKeyword(t, "MEASURE") || isKeyword(t, "VAR") || isKeyword(t, "TABLE") ||
		isKeyword(t, "COLUMN") || isKeyword(t, "FUNCTION")
}

func (p *parser) parseQuery() *Query {
	q := &Query{}
	sawDefine := false
	for p.tok.kind != tEOF {
		switch {
		case isKeyword(p.tok, "DEFINE"):
			switch {
			case len(q.Evaluates) > 0:
				p.errorf(p.tok.pos, "DEFINE must come before the first EVALUATE")
			case sawDefine:
				p.errorf(p.tok.pos, "a query has only one DEFINE block; put all definitions in it")
			}
			sawDefine = true
			q.Defines = append(q.Defines, p.parseDefine()...)
		case isKeyword(p.tok, "EVALUATE"):
			q.Evaluates = append(q.Evaluates, p.parseEvaluate())
		default:
			t := p.tok
			switch {
			case isDefineStart(t):
				p.errorf(t.pos, "%s must be inside a DEFINE block, before the first EVALUATE", upper(t.val))
			case isKeyword(t, "ORDER"), isKeyword(t, "START"):
				p.errorf(t.pos, "%s must follow the table expression of an EVALUATE", upper(t.val))
			case t.kind != tIllegal:
				p.errorf(t.pos, "expected DEFINE or EVALUATE, found %s", t.describe())
			}
			p.next()
			p.sync(func(t token) bool { return false })
		}
	}
	if len(q.Evaluates) == 0 {
		p.errorf(p.tok.pos, "a query needs at least one EVALUATE")
	}
	return q
}

func (p *parser) parseDefine() []Define {
	at := p.tok.pos
	p.next()
	var defs []Define
	for {
		t := p.tok
		var d Define
		switch {
		case isKeyword(t, "MEASURE"):
			d = p.parseQualifiedDef("MEASURE")
		case isKeyword(t, "COLUMN"):
			d = p.parseQualifiedDef("COLUMN")
		case isKeyword(t, "VAR"):
			p.next()
			name := p.parseVarName()
			p.expectEq("VAR " + name)
			d = &VarDef{At: t.pos, Name: name, Expr: p.parseExpr()}
		case isKeyword(t, "TABLE"):
			d = p.parseTableDef()
		case isKeyword(t, "FUNCTION"):
			d = p.parseFunctionDef()
		case t.kind == tEOF, isKeyword(t, "EVALUATE"), isKeyword(t, "DEFINE"):
			if len(defs) == 0 {
				p.errorf(at, "DEFINE needs at least one definition: MEASURE, VAR, TABLE, COLUMN or FUNCTION")
			}
			return defs
		default:
			if t.kind != tIllegal {
				p.errorf(t.pos, "expected MEASURE, VAR, TABLE, COLUMN or FUNCTION in DEFINE, found %s", t.describe())
			}
			p.next()
			p.sync(isDefineStart)
			continue
		}
		defs = append(defs, d)
		if !isDefineStart(p.tok) && !p.atStop() {
			p.unexpectedAfter("the definition (expected an operator, another definition or EVALUATE)")
			p.sync(isDefineStart)
		}
	}
}

// parseQualifiedDef parses MEASURE 'Table'[Name] = expr and
// COLUMN 'Table'[Name] = expr.
func (p *parser) parseQualifiedDef(kw string) Define {
	at := p.tok.pos
	p.next()
	var table, name string
	t := p.tok
	switch {
	case t.kind == tQuoted || isNameToken(t):
		table = t.val
		p.next()
		if p.tok.kind == tBracket {
			name = p.tok.val
			p.next()
		} else if p.tok.kind != tIllegal {
			p.errorf(p.tok.pos, "expected the %s name in brackets after %s %s, found %s", strings.ToLower(kw), kw, t.text, p.tok.describe())
		}
	case t.kind == tBracket:
		p.errorf(t.pos, "%s needs the table it belongs to: %s 'Table'%s = ...", kw, kw, t.text)
		name = t.val
		p.next()
	case t.kind == tIllegal:
		p.next()
	default:
		p.errorf(t.pos, "expected 'Table'[Name] after %s, found %s", kw, t.describe())
	}
	p.expectEq(kw + " " + QuoteTable(table) + QuoteColumn(name))
	e := p.parseExpr()
	if kw == "MEASURE" {
		return &MeasureDef{At: at, Table: table, Name: name, Expr: e}
	}
	return &ColumnDef{At: at, Table: table, Name: name, Expr: e}
}

// parseTableDef parses TABLE name = expr.
func (p *parser) parseTableDef() Define {
	at := p.tok.pos
	p.next()
	var name string
	t := p.tok
	switch {
	case t.kind == tQuoted || isNameToken(t):
		name = t.val
		p.next()
	case t.kind == tIllegal:
		p.next()
	default:
		p.errorf(t.pos, "expected a table name after TABLE, found %s", t.describe())
	}
	p.expectEq("TABLE " + QuoteTable(name))
	d := &TableDef{At: at, Name: name, Expr: p.parseExpr()}
	if isKeyword(p.tok, "WITH") {
		p.errorf(p.tok.pos, "WITH VISUAL SHAPE is not supported")
		p.sync(isDefineStart)
	}
	return d
}

// Type words of function parameters.
var paramHints = map[string]bool{
	"ANYVAL": true, "SCALAR": true, "TABLE": true, "ANYREF": true,
	"CALENDARREF": true, "COLUMNREF": true, "MEASUREREF": true, "TABLEREF": true,
	"BOOLEAN": true, "DATETIME": true, "DECIMAL": true, "DOUBLE": true,
	"INT64": true, "NUMERIC": true, "STRING": true, "VARIANT": true,
	"VAL": true, "EXPR": true,
}

// parseFunctionDef parses FUNCTION Name = (params) => body.
func (p *parser) parseFunctionDef() Define {
	d := &FunctionDef{At: p.tok.pos}
	p.next()
	t := p.tok
	if t.kind == tIdent && !isReserved(t.val) && !isOperatorWord(t.val) {
		d.Name = t.val
		p.next()
	} else if t.kind != tIllegal {
		p.errorf(t.pos, "expected a function name after FUNCTION, found %s", t.describe())
	}
	p.expectEq("FUNCTION " + d.Name)
	if p.tok.kind != tLParen {
		p.errorf(p.tok.pos, "expected '(' and the parameters of %s, found %s", d.Name, p.tok.describe())
		p.sync(isDefineStart)
		return d
	}
	lp := p.tok.pos
	p.next()
	for p.tok.kind != tRParen {
		if p.atStop() {
			p.closeError(')', "the parameters of "+d.Name+" opened at "+lp.String())
			return d
		}
		d.Params = append(d.Params, p.parseFuncParam())
		if p.tok.kind == tComma {
			p.next()
			continue
		}
		if p.tok.kind != tRParen {
			p.closeError(')', "the parameters of "+d.Name+" opened at "+lp.String())
			p.sync(isDefineStart)
			return d
		}
	}
	p.next()
	if p.tok.kind != tArrow {
		p.errorf(p.tok.pos, "expected => and the body of %s after its parameters, found %s", d.Name, p.tok.describe())
		p.sync(isDefineStart)
		return d
	}
	p.next()
	d.Body = p.parseExpr()
	return d
}

func (p *parser) parseFuncParam() FuncParam {
	t := p.tok
	fp := FuncParam{At: t.pos}
	if isNameToken(t) {
		fp.Name = t.val
		p.next()
	} else {
		p.errorf(t.pos, "expected a parameter name, found %s", t.describe())
		p.sync(func(t token) bool { return t.kind == tComma || t.kind == tRParen })
		return fp
	}
	if p.tok.kind == tColon {
		p.next()
		for p.tok.kind == tIdent {
			h := upper(p.tok.val)
			if !paramHints[h] {
				p.errorf(p.tok.pos, "unknown parameter type %s (expected one of ANYVAL, SCALAR, TABLE, ANYREF, COLUMNREF, MEASUREREF, TABLEREF, CALENDARREF, a scalar type such as NUMERIC or STRING, or VAL or EXPR)", p.tok.text)
			}
			fp.Hints = append(fp.Hints, h)
			p.next()
		}
		if len(fp.Hints) == 0 {
			p.errorf(p.tok.pos, "expected the type of parameter %s after ':', found %s", fp.Name, p.tok.describe())
		}
	}
	if p.tok.kind == tEq {
		p.next()
		fp.Default = p.parseExpr()
	}
	return fp
}

// parseEvaluate parses EVALUATE table [ORDER BY ...] [START AT ...].
func (p *parser) parseEvaluate() *Evaluate {
	ev := &Evaluate{At: p.tok.pos}
	p.next()
	if p.atStop() {
		p.errorf(p.tok.pos, "expected a table expression after EVALUATE, found %s", p.tok.describe())
		ev.Table = p.bad()
	} else {
		ev.Table = p.parseExpr()
	}
	orderOrStart := func(t token) bool { return isKeyword(t, "ORDER") || isKeyword(t, "START") }
	if !p.atStop() && !orderOrStart(p.tok) {
		p.unexpectedAfter("the table expression of EVALUATE")
		p.sync(orderOrStart)
	}
	if isKeyword(p.tok, "ORDER") {
		p.next()
		if isKeyword(p.tok, "BY") {
			p.next()
		} else {
			p.errorf(p.tok.pos, "expected BY after ORDER, found %s", p.tok.describe())
		}
		for {
			key := OrderKey{Expr: p.parseExpr()}
			if isKeyword(p.tok, "DESC") {
				key.Desc = true
				p.next()
			} else if isKeyword(p.tok, "ASC") {
				p.next()
			}
			ev.OrderBy = append(ev.OrderBy, key)
			if p.tok.kind != tComma {
				break
			}
			p.next()
		}
		if !p.atStop() && !isKeyword(p.tok, "START") {
			p.unexpectedAfter("a key of ORDER BY (expected ASC, DESC, ',' or the next statement)")
			p.sync(orderOrStart)
		}
	}
	if isKeyword(p.tok, "START") {
		at := p.tok.pos
		p.next()
		if isKeyword(p.tok, "AT") {
			p.next()
		} else {
			p.errorf(p.tok.pos, "expected AT after START, found %s", p.tok.describe())
		}
		for {
			v := p.parseExpr()
			if !isConstant(v) {
				p.errorf(v.Pos(), "START AT takes constant values or @parameters, not expressions")
			}
			ev.StartAt = append(ev.StartAt, v)
			if p.tok.kind != tComma {
				break
			}
			p.next()
		}
		switch {
		case len(ev.OrderBy) == 0:
			p.errorf(at, "START AT needs an ORDER BY before it")
		case len(ev.StartAt) > len(ev.OrderBy):
			p.errorf(at, "START AT has %s but ORDER BY has only %s", plural(len(ev.StartAt), "value"), plural(len(ev.OrderBy), "key"))
		}
		if !p.atStop() {
			p.unexpectedAfter("the values of START AT (expected ',' or the next statement)")
			p.sync(func(token) bool { return false })
		}
	}
	return ev
}

// isConstant reports whether e is a value START AT accepts.
func isConstant(e Expr) bool {
	switch e := e.(type) {
	case *NumberLit, *StringLit, *BoolLit, *DateLit, *Param, *badExpr:
		return true
	case *Unary:
		_, ok := e.X.(*NumberLit)
		return ok && (e.Op == OpNeg || e.Op == OpPlus)
	case *Call:
		return len(e.Args) == 0 && (e.Func == "TRUE" || e.Func == "FALSE" || e.Func == "BLANK")
	}
	return false
}
