package engine

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Arithmetic, comparison and logic on DAX values, with DAX's conversions
// (Data types supported in tabular models: implicit conversion tables) and
// its rules for BLANK (BLANK + 5 is 5, BLANK × 5 is BLANK, 5 / BLANK is
// Infinity, BLANK / BLANK is BLANK).

// numKind ranks numeric types for the conversion tables.
type numKind uint8

const (
	kInt numKind = iota
	kCur
	kReal
	kDate
)

// toNumber converts an operand of arithmetic: numbers as they are,
// booleans as 1 and 0, text parsed as a number (DAX accepts "22" + 22).
func toNumber(n dax.Node, v value.Value) (value.Value, error) {
	switch v.Type() {
	case value.Boolean:
		if v.AsBool() {
			return value.Int(1), nil
		}
		return value.Int(0), nil
	case value.String:
		s := strings.TrimSpace(v.AsString())
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return value.Int(i), nil
		}
		if f, ok := parseNumberText(s); ok {
			return value.Float(f), nil
		}
		if d, ok := parseDateTimeText(s, time.Now().Year()); ok {
			return value.Date(d), nil
		}
		return value.BlankValue, errorf(n, "cannot convert value '%s' of type Text to type Number", v.AsString())
	case value.Variant:
		return value.BlankValue, errorf(n, "cannot use a value of type Variant in arithmetic")
	}
	return v, nil
}

func kindOf(v value.Value) numKind {
	switch v.Type() {
	case value.Currency:
		return kCur
	case value.Decimal:
		return kReal
	case value.DateTime:
		return kDate
	}
	return kInt
}

// arith applies + - * / to two values.
func arith(n dax.Node, op dax.Op, a, b value.Value) (value.Value, error) {
	if a.IsBlank() && b.IsBlank() {
		return value.BlankValue, nil
	}
	var err error
	if !a.IsBlank() {
		if a, err = toNumber(n, a); err != nil {
			return a, err
		}
	}
	if !b.IsBlank() {
		if b, err = toNumber(n, b); err != nil {
			return b, err
		}
	}
	switch op {
	case dax.OpMul:
		if a.IsBlank() || b.IsBlank() {
			return value.BlankValue, nil
		}
	case dax.OpDiv:
		if a.IsBlank() {
			return value.BlankValue, nil
		}
	case dax.OpAdd, dax.OpSub:
		// BLANK acts as zero of the other operand's type.
		if a.IsBlank() {
			a = zeroLike(b)
		}
		if b.IsBlank() {
			b = zeroLike(a)
		}
	}
	if b.IsBlank() {
		b = zeroLike(a)
	}
	ka, kb := kindOf(a), kindOf(b)
	fa, _ := a.Number()
	fb, _ := b.Number()
	switch op {
	case dax.OpAdd, dax.OpSub:
		sign := int64(1)
		if op == dax.OpSub {
			sign = -1
		}
		switch {
		case ka == kDate || (kb == kDate && op == dax.OpAdd):
			return value.Date(fa + float64(sign)*fb), nil
		case kb == kDate: // number - date
			return value.Float(fa - fb), nil
		case ka == kReal || kb == kReal:
			return value.Float(fa + float64(sign)*fb), nil
		case ka == kCur || kb == kCur:
			return value.CurrencyUnits(units(a) + sign*units(b)), nil
		default:
			return value.Int(a.AsInt() + sign*b.AsInt()), nil
		}
	case dax.OpMul:
		switch {
		case ka == kCur && kb == kCur:
			return value.Float(fa * fb), nil
		case ka == kCur && kb == kInt:
			return value.CurrencyUnits(a.AsInt() * b.AsInt()), nil
		case ka == kInt && kb == kCur:
			return value.CurrencyUnits(a.AsInt() * b.AsInt()), nil
		case ka == kCur || kb == kCur:
			return currency(fa * fb), nil
		case ka == kInt && kb == kInt:
			return value.Int(a.AsInt() * b.AsInt()), nil
		case (ka == kInt && kb == kDate) || (ka == kDate && kb == kInt):
			return value.Int(int64(fa * fb)), nil
		default:
			return value.Float(fa * fb), nil
		}
	default: // division
		if fb == 0 {
			return value.Float(divZero(fa)), nil
		}
		switch {
		case ka == kCur && (kb == kInt || kb == kReal):
			return currency(fa / fb), nil
		case ka == kInt && kb == kCur:
			return currency(fa / fb), nil
		default:
			return value.Float(fa / fb), nil
		}
	}
}

// units returns a numeric value in ten-thousandths, for Currency sums.
func units(v value.Value) int64 {
	if v.Type() == value.Currency {
		return v.AsInt()
	}
	return v.AsInt() * value.CurrencyScale
}

func currency(f float64) value.Value {
	if v, ok := value.CurrencyFromFloat(f); ok {
		return v
	}
	return value.Float(f)
}

func zeroLike(v value.Value) value.Value {
	switch v.Type() {
	case value.Currency:
		return value.CurrencyUnits(0)
	case value.Decimal:
		return value.Float(0)
	case value.DateTime:
		return value.Int(0)
	}
	return value.Int(0)
}

func divZero(x float64) float64 {
	switch {
	case x > 0:
		return math.Inf(1)
	case x < 0:
		return math.Inf(-1)
	}
	return math.NaN()
}

// power computes a ^ b.
func power(n dax.Node, a, b value.Value) (value.Value, error) {
	if a.IsBlank() && b.IsBlank() {
		return value.BlankValue, nil
	}
	var err error
	if a, err = toNumber(n, a); err != nil {
		return a, err
	}
	if b, err = toNumber(n, b); err != nil {
		return b, err
	}
	fa, _ := a.Number()
	fb, _ := b.Number()
	r := math.Pow(fa, fb)
	if math.IsNaN(r) && !math.IsNaN(fa) && !math.IsNaN(fb) {
		return value.BlankValue, errorf(n, "the result of %v ^ %v is not a real number", fa, fb)
	}
	return value.Float(r), nil
}

// negate computes -a.
func negate(n dax.Node, a value.Value) (value.Value, error) {
	if a.IsBlank() {
		return a, nil
	}
	a, err := toNumber(n, a)
	if err != nil {
		return a, err
	}
	switch a.Type() {
	case value.Integer:
		return value.Int(-a.AsInt()), nil
	case value.Currency:
		return value.CurrencyUnits(-a.AsInt()), nil
	case value.DateTime:
		return value.Date(-a.AsFloat()), nil
	}
	return value.Float(-a.AsFloat()), nil
}

// concat is the & operator: both sides as text, BLANK as "".
func concat(a, b value.Value) value.Value { return value.Str(a.Text() + b.Text()) }

// compare applies a comparison operator. strict is ==, which tells BLANK
// from 0 and "".
func compare(n dax.Node, op dax.Op, a, b value.Value) (value.Value, error) {
	c, err := cmpValues(n, a, b, op == dax.OpStrictEq)
	if err != nil {
		return value.BlankValue, err
	}
	var r bool
	switch op {
	case dax.OpEq, dax.OpStrictEq:
		r = c == 0
	case dax.OpNe:
		r = c != 0
	case dax.OpLt:
		r = c < 0
	case dax.OpLe:
		r = c <= 0
	case dax.OpGt:
		r = c > 0
	case dax.OpGe:
		r = c >= 0
	}
	return value.Bool(r), nil
}

// cmpValues orders two values for comparison operators. Outside strict
// equality BLANK equals 0, "" and FALSE. Text compares with text, numbers
// with numbers, booleans with booleans; other pairs are an error.
func cmpValues(n dax.Node, a, b value.Value, strict bool) (int, error) {
	if strict {
		if a.IsBlank() || b.IsBlank() {
			if a.IsBlank() && b.IsBlank() {
				return 0, nil
			}
			return 1, nil // unequal; == only asks for equality
		}
	}
	if a.IsBlank() && b.IsBlank() {
		return 0, nil
	}
	if a.IsBlank() {
		a = blankLike(b)
	}
	if b.IsBlank() {
		b = blankLike(a)
	}
	ta, tb := a.Type(), b.Type()
	switch {
	case ta == value.String && tb == value.String:
		return value.CompareText(a.AsString(), b.AsString()), nil
	case ta == value.Boolean && tb == value.Boolean:
		return int(a.AsInt() - b.AsInt()), nil
	case ta.IsNumeric() && tb.IsNumeric() && ta != value.Boolean && tb != value.Boolean:
		if ta == tb && (ta == value.Integer || ta == value.Currency) {
			x, y := a.AsInt(), b.AsInt()
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			}
			return 0, nil
		}
		fa, _ := a.Number()
		fb, _ := b.Number()
		switch {
		case fa < fb:
			return -1, nil
		case fa > fb:
			return 1, nil
		case fa == fb:
			return 0, nil
		}
		return 1, nil // NaN
	}
	return 0, errorf(n, "DAX comparison operations do not support comparing values of type %s with values of type %s", typeName(ta), typeName(tb))
}

// blankLike is what BLANK becomes when compared with v.
func blankLike(v value.Value) value.Value {
	switch v.Type() {
	case value.String:
		return value.Str("")
	case value.Boolean:
		return value.Bool(false)
	case value.Currency:
		return value.CurrencyUnits(0)
	case value.Decimal:
		return value.Float(0)
	case value.DateTime:
		return value.Date(0)
	}
	return value.Int(0)
}

// typeName is the type's name in DAX error messages.
func typeName(t value.Type) string {
	switch t {
	case value.String:
		return "Text"
	case value.Decimal:
		return "Number"
	case value.Currency:
		return "Currency"
	case value.DateTime:
		return "Date"
	case value.Boolean:
		return "True/False"
	case value.Integer:
		return "Integer"
	}
	return t.String()
}

// truth converts a value to a boolean condition: BLANK is false, numbers
// are true when not zero, text is an error unless "TRUE"/"FALSE".
func truth(n dax.Node, v value.Value) (bool, error) {
	switch v.Type() {
	case value.Blank:
		return false, nil
	case value.Boolean:
		return v.AsBool(), nil
	case value.String:
		switch strings.ToUpper(strings.TrimSpace(v.AsString())) {
		case "TRUE":
			return true, nil
		case "FALSE", "":
			return false, nil
		}
		return false, errorf(n, "cannot convert value '%s' of type Text to type True/False", v.AsString())
	}
	f, _ := v.Number()
	return f != 0, nil
}

// logic applies && and ||: TRUE && BLANK is FALSE, BLANK && BLANK is
// BLANK, TRUE || BLANK is TRUE, BLANK || BLANK is BLANK.
func logic(n dax.Node, op dax.Op, a, b value.Value) (value.Value, error) {
	if a.IsBlank() && b.IsBlank() {
		return value.BlankValue, nil
	}
	x, err := truth(n, a)
	if err != nil {
		return value.BlankValue, err
	}
	y, err := truth(n, b)
	if err != nil {
		return value.BlankValue, err
	}
	if op == dax.OpAnd {
		return value.Bool(x && y), nil
	}
	return value.Bool(x || y), nil
}
