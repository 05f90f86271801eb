package dax

import (
	"math"
	"strconv"
	"strings"
)

// Layout of printed DAX.
const (
	lineWidth = 100    // lines longer than this are broken where possible
	indentStr = "    " // one level of indentation
	// maxLevel is the deepest indentation. Parts nested deeper are written
	// on one line, however long: indenting every level of a deep tree would
	// make the text grow with the square of the depth.
	maxLevel = 12
)

// Format prints a node as DAX text that parses back to an equal tree
// (positions aside). Function names are upper case, table names are quoted
// only when they must be, and parentheses appear only where precedence
// needs them. What fits in a line stays on one line; longer calls put one
// argument per line, VAR blocks put each VAR and the RETURN on lines of
// their own. Comments are not part of the tree and are not printed.
//
// Parts nested more than a dozen levels deep are written on one line, so
// that the text stays proportional to the tree.
//
// n may be an expression, a *Query, a definition, an *Evaluate, a *VarDecl
// or a *FuncParam.
func Format(n Node) string {
	var p printer
	switch n := n.(type) {
	case nil:
	case Expr:
		p.expr(n, 0)
	case *Query:
		p.query(n)
	case Define:
		p.define(n, 0)
	case *Evaluate:
		p.evaluate(n)
	case *VarDecl:
		p.varDecl(n.Name, n.Value, 0)
	case *FuncParam:
		p.param(n, 0)
	}
	return p.b.String()
}

// precOf is the precedence level of an expression as an operand.
func precOf(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		return e.Op.prec()
	case *Unary:
		return e.Op.prec()
	case *VarExpr:
		return precLowest
	}
	return precPrimary
}

// needsParens reports whether e needs parentheses as an operand in a
// context of precedence ctx. Operators group left to right, so a right
// operand of the same level needs them too. This one rule also covers the
// low-precedence prefix NOT, which swallows everything after it at
// comparison level (so NOT inside a higher operator is bracketed), and
// VAR, whose RETURN expression runs to the end.
func needsParens(e Expr, ctx int, right bool) bool {
	pc := precOf(e)
	return pc < ctx || right && pc == ctx
}

// powRightOK reports whether e can be the right operand of ^ without
// parentheses: a primary expression, possibly with signs in front.
func powRightOK(e Expr) bool {
	for {
		u, ok := e.(*Unary)
		if !ok {
			return precOf(e) == precPrimary
		}
		if u.Op == OpNot {
			return false
		}
		e = u.X
	}
}

// operandParens reports whether child needs parentheses as an operand of
// parent (a *Binary or *Unary).
func operandParens(parent Expr, child Expr, right bool) bool {
	switch p := parent.(type) {
	case *Binary:
		if p.Op == OpPow {
			if right {
				return !powRightOK(child)
			}
			return precOf(child) < precPow
		}
		return needsParens(child, p.Op.prec(), right)
	case *Unary:
		// NOT takes an operand at its own level (NOT NOT x); the signs
		// take a signed operand or a power.
		return needsParens(child, p.Op.prec(), false)
	}
	return false
}

// flatWriter writes an expression on one line. It gives up (ok = false)
// once the text passes limit or when it meets a VAR, which is always laid
// out on several lines; this keeps the layout linear in the size of the
// tree.
type flatWriter struct {
	b        strings.Builder
	limit    int
	allowVar bool // write VAR x = 1 RETURN x on one line rather than give up
	ok       bool
}

func flat(e Expr, limit int) (string, bool) {
	w := &flatWriter{limit: limit, ok: true}
	w.expr(e)
	if !w.ok {
		return "", false
	}
	return w.b.String(), true
}

// oneLine writes e on one line whatever its length.
func oneLine(e Expr) string {
	w := &flatWriter{limit: math.MaxInt, allowVar: true, ok: true}
	w.expr(e)
	return w.b.String()
}

func (w *flatWriter) str(s string) {
	if !w.ok {
		return
	}
	w.b.WriteString(s)
	if w.b.Len() > w.limit {
		w.ok = false
	}
}

func (w *flatWriter) operand(parent, child Expr, right bool) {
	if operandParens(parent, child, right) {
		w.str("(")
		w.expr(child)
		w.str(")")
		return
	}
	w.expr(child)
}

func (w *flatWriter) list(es []Expr) {
	for i, e := range es {
		if i > 0 {
			w.str(", ")
		}
		if e != nil {
			w.expr(e)
		}
	}
}

func (w *flatWriter) expr(e Expr) {
	if !w.ok {
		return
	}
	switch e := e.(type) {
	case *Binary:
		w.operand(e, e.X, false)
		w.str(" " + e.Op.String() + " ")
		w.operand(e, e.Y, true)
	case *Unary:
		w.str(unaryPrefix(e))
		if e.Op == OpNeg && startsWithMinus(e.X) {
			// "--" would start a comment.
			w.str(" ")
		}
		w.operand(e, e.X, false)
	case *Call:
		w.str(e.Func + "(")
		w.list(e.Args)
		w.str(")")
	case *TableCtor:
		w.str("{ ")
		for i, row := range e.Rows {
			if i > 0 {
				w.str(", ")
			}
			w.row(row)
		}
		w.str(" }")
	case *RowCtor:
		w.str("(")
		w.list(e.Values)
		w.str(")")
	case *VarExpr:
		if !w.allowVar {
			w.ok = false
			return
		}
		for _, v := range e.Vars {
			w.str("VAR " + v.Name + " = ")
			w.expr(v.Value)
			w.str(" ")
		}
		w.str("RETURN ")
		w.expr(e.Return)
	default:
		w.str(leaf(e))
	}
}

func (w *flatWriter) row(row []Expr) {
	if len(row) == 1 {
		w.expr(row[0])
		return
	}
	w.str("(")
	w.list(row)
	w.str(")")
}

func unaryPrefix(u *Unary) string {
	if u.Op == OpNot {
		return "NOT "
	}
	return u.Op.String()
}

// startsWithMinus reports whether the printed form of e begins with '-'.
func startsWithMinus(e Expr) bool {
	for {
		switch x := e.(type) {
		case *Unary:
			return x.Op == OpNeg
		case *Binary:
			if operandParens(x, x.X, false) {
				return false
			}
			e = x.X
		default:
			return false
		}
	}
}

// leaf prints an expression without sub-expressions.
func leaf(e Expr) string {
	switch e := e.(type) {
	case *NumberLit:
		if e.Text != "" {
			return e.Text
		}
		if e.IsInt {
			return strconv.FormatInt(e.Int, 10)
		}
		return strconv.FormatFloat(e.Float, 'g', -1, 64)
	case *StringLit:
		return quoteString(e.Value)
	case *BoolLit:
		if e.Value {
			return "TRUE"
		}
		return "FALSE"
	case *DateLit:
		return "dt" + quoteString(e.Text)
	case *ColumnRef:
		if e.Table == "" {
			return QuoteColumn(e.Column)
		}
		return tableName(e.Table, e.Quoted) + QuoteColumn(e.Column)
	case *TableRef:
		return tableName(e.Name, e.Quoted)
	case *Ident:
		return e.Name
	case *Param:
		return "@" + e.Name
	}
	return ""
}

// tableName writes a table name in quotes when it was written so or when it
// needs them. A name written without quotes is printed without them
// whenever the parser allows, so that the text reads back to the same tree.
func tableName(name string, quoted bool) string {
	if quoted || !isBareName(name) {
		return "'" + strings.ReplaceAll(name, "'", "''") + "'"
	}
	return name
}

func quoteString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// printer lays out trees into one buffer, so that deep trees cost time in
// proportion to the text they produce.
type printer struct{ b strings.Builder }

func (p *printer) str(s string) { p.b.WriteString(s) }

func (p *printer) newline(level int) {
	p.b.WriteByte('\n')
	for range level {
		p.b.WriteString(indentStr)
	}
}

// fits writes e on one line if it fits in the rest of a line at the given
// indentation level after used columns, and reports whether it did.
func (p *printer) fits(e Expr, level, used int) bool {
	s, ok := flat(e, lineWidth-len(indentStr)*level-used)
	if ok {
		p.str(s)
	}
	return ok
}

// expr writes e starting at the given indentation level; lines after the
// first carry their own indentation.
func (p *printer) expr(e Expr, level int) {
	if level >= maxLevel {
		p.str(oneLine(e))
		return
	}
	if p.fits(e, level, 0) {
		return
	}
	switch e := e.(type) {
	case *Binary:
		p.operand(e, e.X, false, level)
		p.newline(level + 1)
		p.str(e.Op.String() + " ")
		p.operand(e, e.Y, true, level+1)
	case *Unary:
		p.str(unaryPrefix(e))
		if e.Op == OpNeg && startsWithMinus(e.X) {
			p.str(" ")
		}
		p.operand(e, e.X, false, level)
	case *Call:
		p.str(e.Func + "(")
		for i, a := range e.Args {
			if i > 0 {
				p.str(",")
			}
			if a == nil {
				p.str("\n")
				continue
			}
			p.newline(level + 1)
			p.expr(a, level+1)
		}
		p.newline(level)
		p.str(")")
	case *TableCtor:
		p.str("{")
		for i, row := range e.Rows {
			if i > 0 {
				p.str(",")
			}
			p.newline(level + 1)
			if len(row) == 1 {
				p.expr(row[0], level+1)
			} else {
				p.list(row, level+1)
			}
		}
		p.newline(level)
		p.str("}")
	case *RowCtor:
		p.list(e.Values, level)
	case *VarExpr:
		for i, v := range e.Vars {
			if i > 0 {
				p.newline(level)
			}
			p.varDecl(v.Name, v.Value, level)
		}
		p.newline(level)
		p.str("RETURN")
		p.newline(level + 1)
		p.expr(e.Return, level+1)
	default:
		p.str(leaf(e))
	}
}

// list writes (a, b, c) with each value laid out at level.
func (p *printer) list(es []Expr, level int) {
	p.str("(")
	for i, e := range es {
		if i > 0 {
			p.str(", ")
		}
		if e != nil {
			p.expr(e, level)
		}
	}
	p.str(")")
}

// operand writes an operand, in parentheses if it needs them; a long
// operand in parentheses gets lines of its own.
func (p *printer) operand(parent, child Expr, right bool, level int) {
	if !operandParens(parent, child, right) {
		p.expr(child, level)
		return
	}
	if s, ok := flat(child, lineWidth-len(indentStr)*level-2); ok {
		p.str("(" + s + ")")
		return
	}
	p.str("(")
	p.newline(level + 1)
	p.expr(child, level+1)
	p.newline(level)
	p.str(")")
}

// definition writes "head = value", the value on the same line when it
// fits and on the next, indented, when it does not.
func (p *printer) definition(head string, value Expr, level int) {
	p.str(head)
	if value == nil {
		return
	}
	if s, ok := flat(value, lineWidth-len(indentStr)*level-len(head)-1); ok {
		p.str(" " + s)
		return
	}
	p.newline(level + 1)
	p.expr(value, level+1)
}

func (p *printer) varDecl(name string, value Expr, level int) {
	p.definition("VAR "+name+" =", value, level)
}

func (p *printer) query(q *Query) {
	if len(q.Defines) > 0 {
		p.str("DEFINE")
		for _, d := range q.Defines {
			p.newline(1)
			p.define(d, 1)
		}
		p.str("\n")
	}
	for i, ev := range q.Evaluates {
		if i > 0 || len(q.Defines) > 0 {
			p.str("\n")
		}
		p.evaluate(ev)
		p.str("\n")
	}
}

// define writes one definition; level is the indentation of its first line.
func (p *printer) define(d Define, level int) {
	switch d := d.(type) {
	case *MeasureDef:
		p.definition("MEASURE "+QuoteTable(d.Table)+QuoteColumn(d.Name)+" =", d.Expr, level)
	case *ColumnDef:
		p.definition("COLUMN "+QuoteTable(d.Table)+QuoteColumn(d.Name)+" =", d.Expr, level)
	case *TableDef:
		p.definition("TABLE "+QuoteTable(d.Name)+" =", d.Expr, level)
	case *VarDef:
		p.varDecl(d.Name, d.Expr, level)
	case *FunctionDef:
		var params printer
		for i := range d.Params {
			if i > 0 {
				params.str(", ")
			}
			params.param(&d.Params[i], level+1)
		}
		p.definition("FUNCTION "+d.Name+" = ("+params.b.String()+") =>", d.Body, level)
	}
}

func (p *printer) param(fp *FuncParam, level int) {
	p.str(fp.Name)
	if len(fp.Hints) > 0 {
		p.str(" : " + strings.Join(fp.Hints, " "))
	}
	if fp.Default != nil {
		p.str(" = ")
		p.expr(fp.Default, level)
	}
}

func (p *printer) evaluate(ev *Evaluate) {
	p.str("EVALUATE")
	p.newline(1)
	if ev.Table != nil {
		p.expr(ev.Table, 1)
	}
	if len(ev.OrderBy) > 0 {
		p.str("\nORDER BY")
		for i, k := range ev.OrderBy {
			if i > 0 {
				p.str(",")
			}
			p.newline(1)
			if k.Expr != nil {
				p.expr(k.Expr, 1)
			}
			if k.Desc {
				p.str(" DESC")
			}
		}
	}
	if len(ev.StartAt) > 0 {
		p.str("\nSTART AT")
		for i, v := range ev.StartAt {
			if i > 0 {
				p.str(",")
			}
			p.newline(1)
			if v != nil {
				p.expr(v, 1)
			}
		}
	}
}
