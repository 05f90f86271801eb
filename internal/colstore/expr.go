package colstore

import (
	"fmt"
	"math"
)

// ExprOp is an operation of a row expression.
type ExprOp uint8

// Row expression operations.
const (
	ExprCol   ExprOp = iota // a column's value (or a lookup through its ids)
	ExprConst               // a constant
	ExprAdd
	ExprSub
	ExprMul
	ExprDiv
	ExprNeg
)

// Expr is a numeric expression evaluated for every row a scan keeps: the
// row expression of iterators such as SUMX. Values are float64 with a
// BLANK flag, and follow DAX's rules for BLANK: BLANK+x is x, BLANK×x is
// BLANK, x/BLANK is ±Infinity (NaN for 0), BLANK op BLANK is BLANK.
//
// ExprCol reads column Col of the scanned table. With LUT set, the value
// is LUT[id] and BLANK when LUTBlank has id: the formula engine uses this
// for RELATED columns (the lookup goes from the foreign key's ids to the
// related column's values) and for columns it converts (Currency in
// units). Without LUT the value is the dictionary's Float.
type Expr struct {
	Op       ExprOp
	Col      int
	LUT      []float64
	LUTBlank *Bitmap
	Const    float64
	Args     []*Expr
}

// compiledExpr is an Expr checked against a table.
type compiledExpr struct {
	e     *Expr
	luts  map[*Expr][]float64
	nodes int
	mul   *mulPair // set when e is a product of two columns
}

func compileExpr(t *Table, e *Expr, used map[int]bool) (*compiledExpr, error) {
	ce := &compiledExpr{e: e, luts: map[*Expr][]float64{}}
	var walk func(e *Expr, depth int) error
	walk = func(e *Expr, depth int) error {
		if e == nil {
			return fmt.Errorf("nil expression")
		}
		if depth > 200 {
			return fmt.Errorf("expression nested too deeply")
		}
		ce.nodes++
		switch e.Op {
		case ExprCol:
			if e.Col < 0 || e.Col >= len(t.Columns) {
				return fmt.Errorf("expression names column %d of %d", e.Col, len(t.Columns))
			}
			used[e.Col] = true
			d := t.Columns[e.Col].Dict
			if e.LUT != nil {
				if len(e.LUT) < d.Len() {
					return fmt.Errorf("lookup of column %q has %d entries, its dictionary %d", t.Columns[e.Col].Name, len(e.LUT), d.Len())
				}
				if e.LUTBlank != nil && e.LUTBlank.Cap() < d.Len() {
					return fmt.Errorf("blank set of column %q is too small", t.Columns[e.Col].Name)
				}
				ce.luts[e] = e.LUT
			} else {
				ce.luts[e] = d.Floats64()
			}
		case ExprConst:
		case ExprAdd, ExprSub, ExprMul, ExprDiv:
			if len(e.Args) != 2 {
				return fmt.Errorf("operation %d takes 2 operands, has %d", e.Op, len(e.Args))
			}
		case ExprNeg:
			if len(e.Args) != 1 {
				return fmt.Errorf("negation takes 1 operand, has %d", len(e.Args))
			}
		default:
			return fmt.Errorf("unknown operation %d", e.Op)
		}
		for _, a := range e.Args {
			if err := walk(a, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(e, 0); err != nil {
		return nil, err
	}
	if e.Op == ExprMul && e.Args[0].Op == ExprCol && e.Args[1].Op == ExprCol {
		ce.mul = &mulPair{e.Args[0], e.Args[1]}
	}
	return ce, nil
}

// exprState holds one worker's buffers for evaluating an expression.
type exprState struct {
	ce   *compiledExpr
	bufs [][]float64
	blks [][]bool
	next int
}

func (ce *compiledExpr) newState() *exprState {
	es := &exprState{ce: ce}
	for i := 0; i < ce.nodes; i++ {
		es.bufs = append(es.bufs, make([]float64, blockRows))
		es.blks = append(es.blks, make([]bool, blockRows))
	}
	return es
}

// eval evaluates the expression for the selected rows of a block; the
// results are in selection order.
func (es *exprState) eval(ids [][]uint32, sel []uint16) ([]float64, []bool) {
	es.next = 0
	return es.node(es.ce.e, ids, sel)
}

func (es *exprState) node(e *Expr, ids [][]uint32, sel []uint16) ([]float64, []bool) {
	out, blank := es.bufs[es.next][:len(sel)], es.blks[es.next][:len(sel)]
	es.next++
	switch e.Op {
	case ExprCol:
		lut := es.ce.luts[e]
		col := ids[e.Col]
		if e.LUT != nil && e.LUTBlank != nil {
			for j, i := range sel {
				id := col[i]
				out[j] = lut[id]
				blank[j] = e.LUTBlank.Has(int(id))
			}
		} else {
			for j, i := range sel {
				id := col[i]
				out[j] = lut[id]
				blank[j] = id == 0
			}
		}
	case ExprConst:
		for j := range out {
			out[j] = e.Const
			blank[j] = false
		}
	case ExprNeg:
		x, xb := es.node(e.Args[0], ids, sel)
		for j := range out {
			out[j], blank[j] = -x[j], xb[j]
		}
	default:
		x, xb := es.node(e.Args[0], ids, sel)
		y, yb := es.node(e.Args[1], ids, sel)
		switch e.Op {
		case ExprAdd:
			for j := range out {
				out[j], blank[j] = x[j]+y[j], xb[j] && yb[j]
			}
		case ExprSub:
			for j := range out {
				out[j], blank[j] = x[j]-y[j], xb[j] && yb[j]
			}
		case ExprMul:
			for j := range out {
				out[j], blank[j] = x[j]*y[j], xb[j] || yb[j]
			}
		case ExprDiv:
			for j := range out {
				switch {
				case xb[j] && yb[j], xb[j]:
					out[j], blank[j] = 0, true
				case yb[j] || y[j] == 0:
					out[j], blank[j] = divByZero(x[j]), false
				default:
					out[j], blank[j] = x[j]/y[j], false
				}
			}
		}
	}
	return out, blank
}

// divByZero is DAX's x/0: Infinity with the sign of x, NaN for 0/0.
func divByZero(x float64) float64 {
	switch {
	case x > 0:
		return math.Inf(1)
	case x < 0:
		return math.Inf(-1)
	}
	return math.NaN()
}

// mulPair is a product of two columns.
type mulPair struct{ a, b *Expr }

// mulCols returns the two column operands when the expression is a
// product of two columns, nil otherwise (or for a nil expression).
func (ce *compiledExpr) mulCols() *mulPair {
	if ce == nil {
		return nil
	}
	return ce.mul
}

// idBlanks says which ids of a column operand are BLANK: id 0, or the ids
// of a lookup's blank set.
type idBlanks struct{ set *Bitmap }

func blankSet(e *Expr) idBlanks { return idBlanks{e.LUTBlank} }

func (b idBlanks) has(id uint32) bool {
	if b.set == nil {
		return id == 0
	}
	return b.set.Has(int(id))
}
