package dax

import (
	"fmt"
	"strings"
)

// dump writes a tree in a compact prefix notation for tests:
// (+ 1 (* 2 3)), (call SUM 'Sales'[Amount]), (var (x 1) (+ x 1)),
// {[1 "a"] [2 "b"]}, (row a b), (not x), (neg x), _ for an empty argument.
func dump(n Node) string {
	var b strings.Builder
	dumpTo(&b, n)
	return b.String()
}

func dumpTo(b *strings.Builder, n Node) {
	list := func(es []Expr) {
		for _, e := range es {
			b.WriteByte(' ')
			if e == nil {
				b.WriteString("_")
			} else {
				dumpTo(b, e)
			}
		}
	}
	switch n := n.(type) {
	case nil:
		b.WriteString("_")
	case *NumberLit:
		b.WriteString(n.Text)
	case *StringLit:
		fmt.Fprintf(b, "%q", n.Value)
	case *BoolLit:
		if n.Value {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case *DateLit:
		fmt.Fprintf(b, "dt%q", n.Text)
	case *ColumnRef:
		if n.Table != "" {
			b.WriteString("'" + n.Table + "'")
		}
		b.WriteString("[" + n.Column + "]")
	case *TableRef:
		b.WriteString("(table '" + n.Name + "')")
	case *Ident:
		b.WriteString(n.Name)
	case *Param:
		b.WriteString("@" + n.Name)
	case *Call:
		b.WriteString("(call " + n.Func)
		list(n.Args)
		b.WriteString(")")
	case *Unary:
		name := map[Op]string{OpNeg: "neg", OpPlus: "plus", OpNot: "not"}[n.Op]
		b.WriteString("(" + name + " ")
		dumpTo(b, n.X)
		b.WriteString(")")
	case *Binary:
		b.WriteString("(" + n.Op.String() + " ")
		dumpTo(b, n.X)
		b.WriteString(" ")
		dumpTo(b, n.Y)
		b.WriteString(")")
	case *VarExpr:
		b.WriteString("(var")
		for _, v := range n.Vars {
			b.WriteString(" (" + v.Name + " ")
			dumpTo(b, v.Value)
			b.WriteString(")")
		}
		b.WriteString(" ")
		dumpTo(b, n.Return)
		b.WriteString(")")
	case *TableCtor:
		b.WriteString("{")
		for i, row := range n.Rows {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("[")
			for j, e := range row {
				if j > 0 {
					b.WriteByte(' ')
				}
				dumpTo(b, e)
			}
			b.WriteString("]")
		}
		b.WriteString("}")
	case *RowCtor:
		b.WriteString("(row")
		list(n.Values)
		b.WriteString(")")
	case *Query:
		for _, d := range n.Defines {
			dumpTo(b, d)
			b.WriteByte('\n')
		}
		for _, ev := range n.Evaluates {
			dumpTo(b, ev)
			b.WriteByte('\n')
		}
	case *MeasureDef:
		fmt.Fprintf(b, "MEASURE '%s'[%s] = ", n.Table, n.Name)
		dumpTo(b, n.Expr)
	case *ColumnDef:
		fmt.Fprintf(b, "COLUMN '%s'[%s] = ", n.Table, n.Name)
		dumpTo(b, n.Expr)
	case *TableDef:
		fmt.Fprintf(b, "TABLE '%s' = ", n.Name)
		dumpTo(b, n.Expr)
	case *VarDef:
		fmt.Fprintf(b, "VAR %s = ", n.Name)
		dumpTo(b, n.Expr)
	case *FunctionDef:
		fmt.Fprintf(b, "FUNCTION %s", n.Name)
		for _, p := range n.Params {
			b.WriteString(" (" + p.Name)
			if len(p.Hints) > 0 {
				b.WriteString(": " + strings.Join(p.Hints, " "))
			}
			if p.Default != nil {
				b.WriteString(" = ")
				dumpTo(b, p.Default)
			}
			b.WriteString(")")
		}
		b.WriteString(" => ")
		dumpTo(b, n.Body)
	case *Evaluate:
		b.WriteString("EVALUATE ")
		dumpTo(b, n.Table)
		for i, k := range n.OrderBy {
			if i == 0 {
				b.WriteString(" ORDER BY ")
			} else {
				b.WriteString(", ")
			}
			dumpTo(b, k.Expr)
			if k.Desc {
				b.WriteString(" DESC")
			}
		}
		for i, v := range n.StartAt {
			if i == 0 {
				b.WriteString(" START AT ")
			} else {
				b.WriteString(", ")
			}
			dumpTo(b, v)
		}
	default:
		fmt.Fprintf(b, "<%T>", n)
	}
}
