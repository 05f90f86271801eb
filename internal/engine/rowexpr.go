package engine

import (
	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// compileRowExpr compiles an expression evaluated in the row context of
// table t into a colstore row expression, so that an iterator like SUMX
// runs inside a scan. It handles numeric literals, numeric columns of t,
// RELATED columns of tables t reaches, and + - * / and negation; ok is
// false for anything else, and the caller iterates rows instead. typ is
// the DAX type of the result; Currency values are in currency units.
func (ev *evaluator) compileRowExpr(e dax.Expr, t *Table, en *env) (x *colstore.Expr, typ value.Type, ok bool) {
	switch n := e.(type) {
	case *dax.NumberLit:
		if n.IsInt {
			return &colstore.Expr{Op: colstore.ExprConst, Const: float64(n.Int)}, value.Integer, true
		}
		return &colstore.Expr{Op: colstore.ExprConst, Const: n.Float}, value.Decimal, true
	case *dax.Ident:
		v := en.lookupVar(n.Name)
		if v == nil || v.isTab {
			return nil, 0, false
		}
		return constExpr(v.val)
	case *dax.ColumnRef:
		c := ev.rowColumn(n, t)
		if c == nil || !numericType(c.Type) {
			return nil, 0, false
		}
		return &colstore.Expr{Op: colstore.ExprCol, Col: c.Index}, c.Type, true
	case *dax.Call:
		if n.Func != "RELATED" || len(n.Args) != 1 {
			return nil, 0, false
		}
		c, err := ev.resolveColumn(n.Args[0], en)
		if err != nil || !numericType(c.Type) || c.Table == t {
			return nil, 0, false
		}
		p := en.filter.path(t, c.Table)
		if len(p) == 0 {
			return nil, 0, false
		}
		rows := keyToRow(p)
		lut := make([]float64, len(rows))
		blank := colstore.NewBitmap(len(rows))
		for id, row := range rows {
			cid := idAt(c, int(row))
			if cid == 0 {
				blank.Set(id)
				continue
			}
			lut[id] = c.Data.Dict.Float(cid)
		}
		return &colstore.Expr{Op: colstore.ExprCol, Col: p[0].From.Index, LUT: lut, LUTBlank: blank}, c.Type, true
	case *dax.Unary:
		if n.Op == dax.OpPlus {
			return ev.compileRowExpr(n.X, t, en)
		}
		if n.Op != dax.OpNeg {
			return nil, 0, false
		}
		x, typ, ok := ev.compileRowExpr(n.X, t, en)
		if !ok {
			return nil, 0, false
		}
		return &colstore.Expr{Op: colstore.ExprNeg, Args: []*colstore.Expr{x}}, typ, true
	case *dax.Binary:
		var op colstore.ExprOp
		switch n.Op {
		case dax.OpAdd:
			op = colstore.ExprAdd
		case dax.OpSub:
			op = colstore.ExprSub
		case dax.OpMul:
			op = colstore.ExprMul
		case dax.OpDiv:
			op = colstore.ExprDiv
		default:
			return nil, 0, false
		}
		x, tx, ok := ev.compileRowExpr(n.X, t, en)
		if !ok {
			return nil, 0, false
		}
		y, ty, ok := ev.compileRowExpr(n.Y, t, en)
		if !ok {
			return nil, 0, false
		}
		return &colstore.Expr{Op: op, Args: []*colstore.Expr{x, y}}, arithType(n.Op, tx, ty), true
	}
	return nil, 0, false
}

func constExpr(v value.Value) (*colstore.Expr, value.Type, bool) {
	switch v.Type() {
	case value.Integer, value.Decimal, value.Currency:
		f, _ := v.Number()
		return &colstore.Expr{Op: colstore.ExprConst, Const: f}, v.Type(), true
	}
	return nil, 0, false
}

func numericType(t value.Type) bool {
	return t == value.Integer || t == value.Decimal || t == value.Currency
}

// rowColumn resolves a column reference in the row context of t.
func (ev *evaluator) rowColumn(n *dax.ColumnRef, t *Table) *Column {
	if n.Table == "" {
		if ev.measure(n.Column) != nil {
			return nil
		}
		return t.Column(n.Column)
	}
	if !value.EqualText(n.Table, t.Name) {
		return nil
	}
	return t.Column(n.Column)
}

// arithType is the result type of an arithmetic operator on two numeric
// types (Data types supported in tabular models, implicit conversions).
func arithType(op dax.Op, a, b value.Type) value.Type {
	switch op {
	case dax.OpAdd, dax.OpSub:
		switch {
		case a == value.Decimal || b == value.Decimal:
			return value.Decimal
		case a == value.Currency || b == value.Currency:
			return value.Currency
		}
		return value.Integer
	case dax.OpMul:
		switch {
		case a == value.Currency && b == value.Currency:
			return value.Decimal
		case a == value.Currency || b == value.Currency:
			return value.Currency
		case a == value.Decimal || b == value.Decimal:
			return value.Decimal
		}
		return value.Integer
	default:
		switch {
		case a == value.Currency && b != value.Currency:
			return value.Currency
		case a == value.Integer && b == value.Currency:
			return value.Currency
		}
		return value.Decimal
	}
}

// typedSum converts a float total to the DAX type of the values summed.
func typedSum(f float64, t value.Type) value.Value {
	switch t {
	case value.Integer:
		return value.Int(int64(f))
	case value.Currency:
		return currency(f)
	}
	return value.Float(f)
}
