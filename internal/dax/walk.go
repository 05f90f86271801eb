package dax

// Visitor is called by Walk for each node. If Visit returns a non-nil
// visitor w, Walk visits the children of n with w, then calls
// w.Visit(nil).
type Visitor interface {
	Visit(n Node) (w Visitor)
}

// Walk traverses the tree rooted at n depth-first, in source order:
// children after their parent. Empty (nil) call arguments are skipped.
// VarDecl and FuncParam children are visited as *VarDecl and *FuncParam.
func Walk(v Visitor, n Node) {
	if n == nil {
		return
	}
	if v = v.Visit(n); v == nil {
		return
	}
	walkExpr := func(e Expr) {
		if e != nil {
			Walk(v, e)
		}
	}
	switch n := n.(type) {
	case *Call:
		for _, a := range n.Args {
			walkExpr(a)
		}
	case *Unary:
		walkExpr(n.X)
	case *Binary:
		walkExpr(n.X)
		walkExpr(n.Y)
	case *VarExpr:
		for i := range n.Vars {
			Walk(v, &n.Vars[i])
		}
		walkExpr(n.Return)
	case *VarDecl:
		walkExpr(n.Value)
	case *TableCtor:
		for _, row := range n.Rows {
			for _, e := range row {
				walkExpr(e)
			}
		}
	case *RowCtor:
		for _, e := range n.Values {
			walkExpr(e)
		}
	case *Query:
		for _, d := range n.Defines {
			Walk(v, d)
		}
		for _, ev := range n.Evaluates {
			Walk(v, ev)
		}
	case *MeasureDef:
		walkExpr(n.Expr)
	case *VarDef:
		walkExpr(n.Expr)
	case *TableDef:
		walkExpr(n.Expr)
	case *ColumnDef:
		walkExpr(n.Expr)
	case *FunctionDef:
		for i := range n.Params {
			Walk(v, &n.Params[i])
		}
		walkExpr(n.Body)
	case *FuncParam:
		walkExpr(n.Default)
	case *Evaluate:
		walkExpr(n.Table)
		for _, k := range n.OrderBy {
			walkExpr(k.Expr)
		}
		for _, e := range n.StartAt {
			walkExpr(e)
		}
	}
	v.Visit(nil)
}

type inspector func(Node) bool

func (f inspector) Visit(n Node) Visitor {
	if f(n) {
		return f
	}
	return nil
}

// Inspect traverses the tree rooted at n like Walk, calling f for each
// node; when f returns false the node's children are skipped. After the
// children of a node, f is called with nil.
func Inspect(n Node, f func(Node) bool) {
	Walk(inspector(f), n)
}
