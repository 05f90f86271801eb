package mlang

import (
	"cmp"
	"math"
	"strings"
)

func unaryOp(sc *scope, e *UnaryOp, x Value) (Value, error) {
	if _, ok := x.(Null); ok {
		return Null{}, nil
	}
	switch e.Op {
	case "not":
		if b, ok := x.(Logical); ok {
			return !b, nil
		}
	case "-":
		switch v := x.(type) {
		case Number:
			return -v, nil
		case Duration:
			return -v, nil
		}
	case "+":
		switch x.(type) {
		case Number, Duration:
			return x, nil
		}
	}
	return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply operator %s to %s", e.Op, Describe(x))
}

func (in *interp) binary(e *BinaryOp, sc *scope) (Value, error) {
	switch e.Op {
	case "and", "or":
		return in.logical(e, sc)
	case "meta":
		// Metadata is parsed but ignored: the value is the left operand,
		// and the metadata record is not even evaluated.
		return in.eval(e.X, sc)
	case "??":
		x, err := in.eval(e.X, sc)
		if err != nil {
			return nil, err
		}
		if _, ok := x.(Null); !ok {
			return x, nil
		}
		return in.eval(e.Y, sc)
	}
	x, err := in.eval(e.X, sc)
	if err != nil {
		return nil, err
	}
	y, err := in.eval(e.Y, sc)
	if err != nil {
		return nil, err
	}
	switch e.Op {
	case "=", "<>":
		eq, err := equal(x, y)
		if err != nil {
			return nil, errorf(sc, e.At, "Expression.Error", "%v", err)
		}
		return Logical(eq == (e.Op == "=")), nil
	case "<", "<=", ">", ">=":
		return compareOp(sc, e, x, y)
	case "&":
		return in.concat(sc, e, x, y)
	}
	return arith(sc, e, x, y)
}

// logical evaluates and and or, short-circuiting as M does: the right
// operand is evaluated only when the left one does not decide.
func (in *interp) logical(e *BinaryOp, sc *scope) (Value, error) {
	x, err := in.eval(e.X, sc)
	if err != nil {
		return nil, err
	}
	lx, isLogical := x.(Logical)
	_, isNull := x.(Null)
	if !isLogical && !isNull {
		return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply operator %s to %s", e.Op, Describe(x))
	}
	if isLogical && (e.Op == "and" && !bool(lx) || e.Op == "or" && bool(lx)) {
		return lx, nil
	}
	y, err := in.eval(e.Y, sc)
	if err != nil {
		return nil, err
	}
	ly, ok := y.(Logical)
	if _, yNull := y.(Null); !ok && !yNull {
		return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply operator %s to %s", e.Op, Describe(y))
	}
	_, yNull := y.(Null)
	switch {
	case !isNull && !yNull:
		return ly, nil
	case e.Op == "and" && !yNull && !bool(ly):
		return Logical(false), nil
	case e.Op == "or" && !yNull && bool(ly):
		return Logical(true), nil
	}
	return Null{}, nil
}

// equal implements = : values of different kinds are not equal; null
// equals only null; lists and records compare item by item.
func equal(x, y Value) (bool, error) {
	if x.Kind() != y.Kind() {
		return false, nil
	}
	switch a := x.(type) {
	case Null:
		return true, nil
	case Logical:
		return a == y.(Logical), nil
	case Number:
		return a == y.(Number), nil
	case Text:
		return a == y.(Text), nil
	case DateTime:
		b := y.(DateTime)
		return a.OLE-float64(a.Offset)/1440 == b.OLE-float64(b.Offset)/1440, nil
	case Duration:
		return a == y.(Duration), nil
	case *List:
		b := y.(*List)
		if a.Len() != b.Len() {
			return false, nil
		}
		for i := range a.items {
			va, err := a.Item(i)
			if err != nil {
				return false, err
			}
			vb, err := b.Item(i)
			if err != nil {
				return false, err
			}
			if eq, err := equal(va, vb); err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case *Record:
		b := y.(*Record)
		if len(a.names) != len(b.names) {
			return false, nil
		}
		for i, n := range a.names {
			j := b.index(n)
			if j < 0 {
				return false, nil
			}
			va, err := a.vals[i].force()
			if err != nil {
				return false, err
			}
			vb, err := b.vals[j].force()
			if err != nil {
				return false, err
			}
			if eq, err := equal(va, vb); err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case *Type:
		return a.String() == y.(*Type).String(), nil
	}
	return x == y, nil
}

func compareOp(sc *scope, e *BinaryOp, x, y Value) (Value, error) {
	_, xn := x.(Null)
	_, yn := y.(Null)
	if xn || yn {
		return Null{}, nil
	}
	c, ok := order(x, y)
	if !ok {
		return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply operator %s to %s and %s", e.Op, Describe(x), Describe(y))
	}
	switch e.Op {
	case "<":
		return Logical(c < 0), nil
	case "<=":
		return Logical(c <= 0), nil
	case ">":
		return Logical(c > 0), nil
	}
	return Logical(c >= 0), nil
}

// order compares two values of the same ordered kind; text compares by
// code point, as M's default comparer does.
func order(x, y Value) (int, bool) {
	if x.Kind() != y.Kind() {
		return 0, false
	}
	switch a := x.(type) {
	case Number:
		return cmp.Compare(float64(a), float64(y.(Number))), true
	case Text:
		return strings.Compare(string(a), string(y.(Text))), true
	case Logical:
		return cmp.Compare(boolInt(bool(a)), boolInt(bool(y.(Logical)))), true
	case DateTime:
		b := y.(DateTime)
		return cmp.Compare(a.OLE-float64(a.Offset)/1440, b.OLE-float64(b.Offset)/1440), true
	case Duration:
		return cmp.Compare(float64(a), float64(y.(Duration))), true
	}
	return 0, false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// concat implements &: text, lists, records (the right operand's fields
// win), and date & time.
func (in *interp) concat(sc *scope, e *BinaryOp, x, y Value) (Value, error) {
	switch a := x.(type) {
	case Text:
		switch b := y.(type) {
		case Text:
			if len(a)+len(b) > maxText {
				return nil, limitf(sc, e.At, "text longer than %d bytes", maxText)
			}
			return a + b, nil
		case Null:
			return Null{}, nil
		}
	case Null:
		switch y.(type) {
		case Text, Null, DateTime:
			return Null{}, nil
		}
	case *List:
		if b, ok := y.(*List); ok {
			if a.Len()+b.Len() > maxListItems {
				return nil, limitf(sc, e.At, "list longer than %d items", maxListItems)
			}
			if err := in.grow(sc, e.At, a.Len()+b.Len()); err != nil {
				return nil, err
			}
			items := append(append([]*thunk(nil), a.items...), b.items...)
			return &List{items: items}, nil
		}
	case *Record:
		if b, ok := y.(*Record); ok {
			r := &Record{names: append([]string(nil), a.names...), vals: append([]*thunk(nil), a.vals...)}
			for i, n := range b.names {
				if j := r.index(n); j >= 0 {
					r.vals[j] = b.vals[i]
				} else {
					r.names = append(r.names, n)
					r.vals = append(r.vals, b.vals[i])
				}
			}
			return r, nil
		}
	case DateTime:
		if b, ok := y.(DateTime); ok && a.K == KindDate && b.K == KindTime {
			return DateTime{K: KindDateTime, OLE: a.OLE + b.OLE}, nil
		}
		if _, ok := y.(Null); ok {
			return Null{}, nil
		}
	}
	return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply operator & to %s and %s", Describe(x), Describe(y))
}

// maxText bounds text built by &, so that doubling in a loop cannot
// exhaust memory.
const maxText = 64 << 20

// arith implements + - * / on numbers, and the date and duration
// arithmetic M defines. null on either side gives null.
func arith(sc *scope, e *BinaryOp, x, y Value) (Value, error) {
	_, xn := x.(Null)
	_, yn := y.(Null)
	if xn || yn {
		return Null{}, nil
	}
	switch a := x.(type) {
	case Number:
		switch b := y.(type) {
		case Number:
			switch e.Op {
			case "+":
				return a + b, nil
			case "-":
				return a - b, nil
			case "*":
				return a * b, nil
			case "/":
				return a / b, nil
			}
		case Duration:
			if e.Op == "*" {
				return Duration(float64(a) * float64(b)), nil
			}
		}
	case Duration:
		switch b := y.(type) {
		case Duration:
			switch e.Op {
			case "+":
				return a + b, nil
			case "-":
				return a - b, nil
			case "/":
				return Number(float64(a) / float64(b)), nil
			}
		case Number:
			switch e.Op {
			case "*":
				return Duration(float64(a) * float64(b)), nil
			case "/":
				return Duration(float64(a) / float64(b)), nil
			}
		case DateTime:
			if e.Op == "+" {
				return addDuration(b, float64(a)), nil
			}
		}
	case DateTime:
		switch b := y.(type) {
		case Duration:
			switch e.Op {
			case "+":
				return addDuration(a, float64(b)), nil
			case "-":
				return addDuration(a, -float64(b)), nil
			}
		case DateTime:
			if e.Op == "-" && a.K == b.K {
				return Duration((a.OLE - float64(a.Offset)/1440) - (b.OLE - float64(b.Offset)/1440)), nil
			}
		}
	}
	return nil, errorf(sc, e.At, "Expression.Error", "we cannot apply operator %s to %s and %s", e.Op, Describe(x), Describe(y))
}

// addDuration adds days to a date or time; a date keeps whole days, a
// time wraps around midnight.
func addDuration(d DateTime, days float64) DateTime {
	switch d.K {
	case KindDate:
		d.OLE = math.Floor(d.OLE + days)
	case KindTime:
		t := math.Mod(d.OLE+days, 1)
		if t < 0 {
			t++
		}
		d.OLE = t
	default:
		d.OLE += days
	}
	return d
}

// conforms reports whether a value is compatible with a type (is, as, and
// parameter types). Facets (Int64.Type) are not checked, as in M.
func conforms(v Value, t *Type) bool {
	if _, ok := v.(Null); ok {
		return t.Nullable || t.Prim == "any" || t.Prim == "null"
	}
	switch t.Prim {
	case "any", "anynonnull":
		return true
	case "none", "null":
		return false
	case "type":
		return v.Kind() == KindType
	}
	return v.Kind().String() == t.Prim
}

// typeOf evaluates a written type.
func (in *interp) typeOf(ts *TypeSpec, sc *scope) (*Type, error) {
	switch {
	case ts == nil:
		return primType("any"), nil
	case ts.Expr != nil:
		v, err := in.eval(ts.Expr, sc)
		if err != nil {
			return nil, err
		}
		t, ok := v.(*Type)
		if !ok {
			return nil, errorf(sc, ts.At, "Expression.Error", "expected a type, not %s", Describe(v))
		}
		if ts.Nullable && !t.Nullable {
			c := *t
			c.Nullable = true
			t = &c
		}
		return t, nil
	case ts.Record || ts.Table:
		t := &Type{Prim: "record", Nullable: ts.Nullable}
		if ts.Table {
			t.Prim = "table"
		}
		t.Fields = []TypeField{}
		for _, f := range ts.Fields {
			ft, err := in.typeOf(f.Type, sc)
			if err != nil {
				return nil, err
			}
			t.Fields = append(t.Fields, TypeField{Name: f.Name, Type: ft})
		}
		return t, nil
	case ts.List != nil:
		item, err := in.typeOf(ts.List, sc)
		if err != nil {
			return nil, err
		}
		return &Type{Prim: "list", Nullable: ts.Nullable, Item: item}, nil
	}
	return &Type{Prim: ts.Prim, Nullable: ts.Nullable}, nil
}
