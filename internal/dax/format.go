package dax

import (
	"strconv"
	"strings"
)

// Layout of printed DAX.
const (
	lineWidth = 100    // lines longer than this are broken where possible
	indentStr = "    " // one level of indentation
)

// Format prints a node as DAX text that parses back to an equal tree
// (positions aside). Function names are upper case, table names are quoted
// only when they must be, and parentheses appear only where precedence
// needs them. What fits in a line stays on one line; longer calls put one
// argument per line, VAR blocks put each VAR and the RETURN on lines of
// their own. Comments are not part of the tree and are not printed.
//
// n may be an expression, a *Query, a definition, an *Evaluate, a *VarDecl
// or a *FuncParam.
func Format(n Node) string {
	switch n := n.(type) {
	case nil:
		return ""
	case Expr:
		return pretty(n, 0)
	case *Query:
		return formatQuery(n)
	case Define:
		return formatDefine(n, 0)
	case *Evaluate:
		return formatEvaluate(n)
	case *VarDecl:
		return formatVarDecl(n.Name, n.Value, 0)
	case *FuncParam:
		return formatParam(n)
	}
	return ""
}

func indent(level int) string { return strings.Repeat(indentStr, level) }

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
	b     strings.Builder
	limit int
	ok    bool
}

func flat(e Expr, limit int) (string, bool) {
	w := &flatWriter{limit: limit, ok: true}
	w.expr(e)
	if !w.ok {
		return "", false
	}
	return w.b.String(), true
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
		w.ok = false
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
// needs them.
func tableName(name string, quoted bool) string {
	if quoted {
		return "'" + strings.ReplaceAll(name, "'", "''") + "'"
	}
	return QuoteTable(name)
}

func quoteString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// pretty prints e starting at the given indentation level; lines after the
// first carry their own indentation.
func pretty(e Expr, level int) string {
	if s, ok := flat(e, lineWidth-len(indentStr)*level); ok {
		return s
	}
	switch e := e.(type) {
	case *Binary:
		x := prettyOperand(e, e.X, false, level)
		y := prettyOperand(e, e.Y, true, level+1)
		return x + "\n" + indent(level+1) + e.Op.String() + " " + y
	case *Unary:
		sep := ""
		if e.Op == OpNeg && startsWithMinus(e.X) {
			sep = " "
		}
		return unaryPrefix(e) + sep + prettyOperand(e, e.X, false, level)
	case *Call:
		if len(e.Args) == 0 {
			return e.Func + "()"
		}
		var b strings.Builder
		b.WriteString(e.Func + "(")
		for i, a := range e.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n")
			if a != nil {
				b.WriteString(indent(level+1) + pretty(a, level+1))
			}
		}
		b.WriteString("\n" + indent(level) + ")")
		return b.String()
	case *TableCtor:
		var b strings.Builder
		b.WriteString("{")
		for i, row := range e.Rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + indent(level+1))
			if len(row) == 1 {
				b.WriteString(pretty(row[0], level+1))
			} else {
				b.WriteString(prettyList(row, level+1))
			}
		}
		b.WriteString("\n" + indent(level) + "}")
		return b.String()
	case *RowCtor:
		return prettyList(e.Values, level)
	case *VarExpr:
		var b strings.Builder
		for i, v := range e.Vars {
			if i > 0 {
				b.WriteString("\n" + indent(level))
			}
			b.WriteString(formatVarDecl(v.Name, v.Value, level))
		}
		b.WriteString("\n" + indent(level) + "RETURN\n" + indent(level+1) + pretty(e.Return, level+1))
		return b.String()
	}
	return leaf(e)
}

// prettyList prints (a, b, c) with each value laid out at level.
func prettyList(es []Expr, level int) string {
	parts := make([]string, len(es))
	for i, e := range es {
		if e != nil {
			parts[i] = pretty(e, level)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func prettyOperand(parent, child Expr, right bool, level int) string {
	if !operandParens(parent, child, right) {
		return pretty(child, level)
	}
	s := pretty(child, level+1)
	if strings.Contains(s, "\n") {
		return "(\n" + indent(level+1) + s + "\n" + indent(level) + ")"
	}
	return "(" + s + ")"
}

// formatVarDecl prints VAR name = value, the value on the same line when it
// fits and on the next, indented, when it does not.
func formatVarDecl(name string, value Expr, level int) string {
	head := "VAR " + name + " ="
	if value == nil {
		return head
	}
	if s, ok := flat(value, lineWidth-len(indentStr)*level-len(head)-1); ok {
		return head + " " + s
	}
	return head + "\n" + indent(level+1) + pretty(value, level+1)
}

func formatQuery(q *Query) string {
	var b strings.Builder
	if len(q.Defines) > 0 {
		b.WriteString("DEFINE")
		for _, d := range q.Defines {
			b.WriteString("\n" + indentStr + formatDefine(d, 1))
		}
		b.WriteString("\n")
	}
	for i, ev := range q.Evaluates {
		if i > 0 || len(q.Defines) > 0 {
			b.WriteString("\n")
		}
		b.WriteString(formatEvaluate(ev))
		b.WriteString("\n")
	}
	return b.String()
}

// formatDefine prints one definition; level is the indentation of its first
// line.
func formatDefine(d Define, level int) string {
	defn := func(head string, e Expr) string {
		head += " ="
		if e == nil {
			return head
		}
		if s, ok := flat(e, lineWidth-len(indentStr)*level-len(head)-1); ok {
			return head + " " + s
		}
		return head + "\n" + indent(level+1) + pretty(e, level+1)
	}
	switch d := d.(type) {
	case *MeasureDef:
		return defn("MEASURE "+QuoteTable(d.Table)+QuoteColumn(d.Name), d.Expr)
	case *ColumnDef:
		return defn("COLUMN "+QuoteTable(d.Table)+QuoteColumn(d.Name), d.Expr)
	case *TableDef:
		return defn("TABLE "+QuoteTable(d.Name), d.Expr)
	case *VarDef:
		return formatVarDecl(d.Name, d.Expr, level)
	case *FunctionDef:
		params := make([]string, len(d.Params))
		for i := range d.Params {
			params[i] = formatParam(&d.Params[i])
		}
		head := "FUNCTION " + d.Name + " = (" + strings.Join(params, ", ") + ") =>"
		if d.Body == nil {
			return head
		}
		if s, ok := flat(d.Body, lineWidth-len(indentStr)*level-len(head)-1); ok {
			return head + " " + s
		}
		return head + "\n" + indent(level+1) + pretty(d.Body, level+1)
	}
	return ""
}

func formatParam(p *FuncParam) string {
	s := p.Name
	if len(p.Hints) > 0 {
		s += " : " + strings.Join(p.Hints, " ")
	}
	if p.Default != nil {
		if f, ok := flat(p.Default, lineWidth); ok {
			s += " = " + f
		} else {
			s += " = " + pretty(p.Default, 1)
		}
	}
	return s
}

func formatEvaluate(ev *Evaluate) string {
	var b strings.Builder
	b.WriteString("EVALUATE\n" + indentStr)
	if ev.Table != nil {
		b.WriteString(pretty(ev.Table, 1))
	}
	if len(ev.OrderBy) > 0 {
		b.WriteString("\nORDER BY")
		for i, k := range ev.OrderBy {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + indentStr)
			if k.Expr != nil {
				b.WriteString(pretty(k.Expr, 1))
			}
			if k.Desc {
				b.WriteString(" DESC")
			}
		}
	}
	if len(ev.StartAt) > 0 {
		b.WriteString("\nSTART AT")
		for i, v := range ev.StartAt {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + indentStr)
			if v != nil {
				b.WriteString(pretty(v, 1))
			}
		}
	}
	return b.String()
}
