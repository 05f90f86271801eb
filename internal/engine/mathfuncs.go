package engine

import (
	"math"
	"strconv"
	"strings"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Math functions (DAX reference: Math and Trig functions).
//
// BLANK: where the reference is silent, a BLANK number gives BLANK (ABS,
// ROUND, INT, SQRT...), so that measures built on them stay empty where
// there is no data; a BLANK in a second argument counts as 0 (a BLANK
// divisor is a division by zero, a BLANK digit count rounds to units).
//
// Rounding works on the decimal digits of a number, as Excel and Analysis
// Services do, not on its binary value: ROUND(2.15, 1) is 2.2 although
// the double nearest 2.15 is a little below it. A double is first taken
// to 15 significant digits, the precision DAX shows.

func init() {
	register("DIVIDE", &builtin{min: 2, max: 3, pure: true, scalar: divideFunc})
	unaryMath := func(name string, fn func(c *dax.Call, v value.Value, x float64) (value.Value, error)) {
		register(name, &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			v, x, blank, err := ev.numArg(c, 0, en)
			if err != nil || blank {
				return value.BlankValue, err
			}
			return fn(c, v, x)
		}})
	}
	unaryMath("ABS", absValue)
	unaryMath("SIGN", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		switch {
		case math.IsNaN(x):
			return value.BlankValue, errorf(c, "SIGN of a value that is not a number")
		case x > 0:
			return value.Int(1), nil
		case x < 0:
			return value.Int(-1), nil
		}
		return value.Int(0), nil
	})
	unaryMath("INT", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		switch v.Type() {
		case value.Integer:
			return v, nil
		case value.Currency:
			u := v.AsInt()
			q := u / value.CurrencyScale
			if u%value.CurrencyScale < 0 {
				q--
			}
			return value.Int(q), nil
		}
		return wholeNumber(c, math.Floor(x))
	})
	unaryMath("SQRT", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		if x < 0 {
			return value.BlankValue, errorf(c, "SQRT of the negative number %s", value.FormatGeneral(x))
		}
		return value.Float(math.Sqrt(x)), nil
	})
	unaryMath("EXP", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		return value.Float(math.Exp(x)), nil
	})
	unaryMath("LN", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		if !(x > 0) {
			return value.BlankValue, errorf(c, "LN needs a positive number, not %s", value.FormatGeneral(x))
		}
		return value.Float(math.Log(x)), nil
	})
	unaryMath("LOG10", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		if !(x > 0) {
			return value.BlankValue, errorf(c, "LOG10 needs a positive number, not %s", value.FormatGeneral(x))
		}
		return value.Float(math.Log10(x)), nil
	})
	unaryMath("EVEN", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		// Away from zero to the next even integer.
		if x >= 0 {
			return wholeNumber(c, math.Ceil(sig15(x/2))*2)
		}
		return wholeNumber(c, math.Floor(sig15(x/2))*2)
	})
	unaryMath("ODD", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		// Away from zero to the next odd integer; ODD(0) is 1.
		var r float64
		if x >= 0 {
			r = math.Ceil(sig15(x))
			if math.Mod(r, 2) == 0 {
				r++
			}
		} else {
			r = math.Floor(sig15(x))
			if math.Mod(r, 2) == 0 {
				r--
			}
		}
		return wholeNumber(c, r)
	})
	unaryMath("FACT", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		n := math.Trunc(x)
		switch {
		case math.IsNaN(x) || n < 0:
			return value.BlankValue, errorf(c, "FACT needs a number that is not negative, not %s", value.FormatGeneral(x))
		case n > 170:
			return value.BlankValue, errorf(c, "the factorial of %s is too large", value.FormatGeneral(n))
		}
		r := 1.0
		for i := 2.0; i <= n; i++ {
			r *= i
		}
		return value.Float(r), nil
	})
	unaryMath("CURRENCY", func(c *dax.Call, v value.Value, x float64) (value.Value, error) {
		if v.Type() == value.Currency {
			return v, nil
		}
		return toCurrency(c, x)
	})

	register("ROUND", &builtin{min: 2, max: 2, pure: true, scalar: roundFunc(roundNearest)})
	register("ROUNDUP", &builtin{min: 1, max: 2, pure: true, scalar: roundFunc(roundUp)})
	register("ROUNDDOWN", &builtin{min: 1, max: 2, pure: true, scalar: roundFunc(roundDown)})
	register("TRUNC", &builtin{min: 1, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, _, blank, err := ev.numArg(c, 0, en)
		if err != nil || blank {
			return value.BlankValue, err
		}
		digits, _, err := ev.countArg(c, 1, en, 0)
		if err != nil {
			return value.BlankValue, err
		}
		r, err := roundValue(c, v, int(digits), roundDown)
		if err != nil || digits > 0 || r.Type() != value.Decimal {
			return r, err
		}
		return wholeNumber(c, r.AsFloat())
	}})
	register("MOD", &builtin{min: 2, max: 2, pure: true, scalar: modFunc})
	register("QUOTIENT", &builtin{min: 2, max: 2, pure: true, scalar: quotientFunc})
	register("POWER", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		a, err := ev.arg(c, 0, en)
		if err != nil {
			return a, err
		}
		b, err := ev.arg(c, 1, en)
		if err != nil {
			return b, err
		}
		return power(c, a, b)
	}})
	register("LOG", &builtin{min: 1, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		_, x, blank, err := ev.numArg(c, 0, en)
		if err != nil || blank {
			return value.BlankValue, err
		}
		_, base, noBase, err := ev.numArg(c, 1, en)
		if err != nil {
			return value.BlankValue, err
		}
		if noBase {
			base = 10
		}
		if !(x > 0) {
			return value.BlankValue, errorf(c, "LOG needs a positive number, not %s", value.FormatGeneral(x))
		}
		if !(base > 0) || base == 1 {
			return value.BlankValue, errorf(c, "LOG cannot use %s as a base", value.FormatGeneral(base))
		}
		return value.Float(math.Log(x) / math.Log(base)), nil
	}})
	register("CEILING", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return multipleFunc(ev, en, c, "CEILING")
	}})
	register("FLOOR", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return multipleFunc(ev, en, c, "FLOOR")
	}})
	register("ISO.CEILING", &builtin{min: 1, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return multipleFunc(ev, en, c, "ISO.CEILING")
	}})
	register("MROUND", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return multipleFunc(ev, en, c, "MROUND")
	}})
	register("PI", &builtin{min: 0, max: 0, pure: true, scalar: func(*evaluator, *env, *dax.Call) (value.Value, error) {
		return value.Float(math.Pi), nil
	}})
	register("RAND", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		// RAND never returns 0 (the reference says so, to spare divisions).
		for {
			if f := ev.rng.Float64(); f != 0 {
				return value.Float(f), nil
			}
		}
	}})
	register("RANDBETWEEN", &builtin{min: 2, max: 2, scalar: randBetween})
	register("GCD", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return gcdLcm(ev, en, c, false)
	}})
	register("LCM", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return gcdLcm(ev, en, c, true)
	}})
	register("CONVERT", &builtin{min: 2, max: 2, pure: true, scalar: convertFunc})
	register("VALUE", &builtin{min: 1, max: 1, pure: true, scalar: valueFunc})
	register("FIXED", &builtin{min: 1, max: 3, pure: true, scalar: fixedFunc})
}

// argNode is argument i of a call, or the call when it is absent, for
// error positions.
func argNode(c *dax.Call, i int) dax.Node {
	if i < len(c.Args) && c.Args[i] != nil {
		return c.Args[i]
	}
	return c
}

// numArg evaluates argument i as a number, converting text and booleans
// as DAX arithmetic does. blank reports a BLANK (or absent) argument.
func (ev *evaluator) numArg(c *dax.Call, i int, en *env) (v value.Value, x float64, blank bool, err error) {
	v, err = ev.arg(c, i, en)
	if err != nil || v.IsBlank() {
		return v, 0, err == nil, err
	}
	if v, err = toNumber(argNode(c, i), v); err != nil {
		return v, 0, false, err
	}
	x, _ = v.Number()
	return v, x, false, nil
}

// maxCount bounds the whole numbers counts are read as, so that a huge
// count never overflows the arithmetic done with it.
const maxCount = 1 << 53

// countArg evaluates argument i as a whole number (truncated toward
// zero): def when the argument is absent, 0 when it is BLANK (blank is then
// true).
func (ev *evaluator) countArg(c *dax.Call, i int, en *env, def int64) (n int64, blank bool, err error) {
	if i >= len(c.Args) || c.Args[i] == nil {
		return def, false, nil
	}
	_, x, blank, err := ev.numArg(c, i, en)
	if err != nil || blank {
		return 0, blank, err
	}
	if math.IsNaN(x) {
		return 0, false, errorf(argNode(c, i), "%s needs a number as argument %d, not NaN", c.Func, i+1)
	}
	x = math.Trunc(math.Max(-maxCount, math.Min(maxCount, x)))
	return int64(x), false, nil
}

// wholeNumber returns an integral float as an Integer, or an error when
// it is not finite; integers beyond int64 stay doubles.
func wholeNumber(n dax.Node, f float64) (value.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value.BlankValue, errorf(n, "%s is not a finite number", value.FormatGeneral(f))
	}
	if f >= -9.2e18 && f <= 9.2e18 {
		return value.Int(int64(f)), nil
	}
	return value.Float(f), nil
}

func absValue(c *dax.Call, v value.Value, x float64) (value.Value, error) {
	switch v.Type() {
	case value.Integer:
		if n := v.AsInt(); n != math.MinInt64 {
			if n < 0 {
				n = -n
			}
			return value.Int(n), nil
		}
	case value.Currency:
		if n := v.AsInt(); n != math.MinInt64 {
			if n < 0 {
				n = -n
			}
			return value.CurrencyUnits(n), nil
		}
	}
	return value.Float(math.Abs(x)), nil
}

// divideFunc is DIVIDE(numerator, denominator, [alternate]): the alternate
// result (BLANK when absent) when the denominator is 0 or BLANK, which is
// evaluated only then.
func divideFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	num, err := ev.arg(c, 0, en)
	if err != nil {
		return num, err
	}
	den, err := ev.arg(c, 1, en)
	if err != nil {
		return den, err
	}
	if !den.IsBlank() {
		if den, err = toNumber(c.Args[1], den); err != nil {
			return den, err
		}
	}
	if f, _ := den.Number(); den.IsBlank() || f == 0 {
		return ev.arg(c, 2, en)
	}
	return arith(c, dax.OpDiv, num, den)
}

type roundMode uint8

const (
	roundNearest roundMode = iota // half away from zero
	roundUp                       // away from zero
	roundDown                     // toward zero
)

// roundFunc implements ROUND, ROUNDUP and ROUNDDOWN(number, digits). A
// fractional digit count is truncated (ROUNDUP(1.3, 0.2) rounds to units).
func roundFunc(mode roundMode) func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	return func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, _, blank, err := ev.numArg(c, 0, en)
		if err != nil || blank {
			return value.BlankValue, err
		}
		digits, _, err := ev.countArg(c, 1, en, 0)
		if err != nil {
			return value.BlankValue, err
		}
		return roundValue(c, v, int(digits), mode)
	}
}

// roundValue rounds a number to digits decimal places (to the left of the
// point when negative), keeping Integer and Currency exact.
func roundValue(n dax.Node, v value.Value, digits int, mode roundMode) (value.Value, error) {
	digits = max(-400, min(400, digits))
	switch v.Type() {
	case value.Integer:
		if digits >= 0 {
			return v, nil
		}
		d := decFromInt(v.AsInt())
		d.round(digits, mode)
		if i, ok := d.int64(); ok {
			return value.Int(i), nil
		}
		return value.Float(d.float()), nil
	case value.Currency:
		if digits >= 4 {
			return v, nil
		}
		d := decFromUnits(v.AsInt())
		d.round(digits, mode)
		d.exp += 4
		if u, ok := d.int64(); ok {
			return value.CurrencyUnits(u), nil
		}
		return value.BlankValue, errorf(n, "the result is too large for a Currency")
	}
	x, _ := v.Number()
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return value.Float(x), nil
	}
	d := decFromFloat(x)
	d.round(digits, mode)
	return value.Float(d.float()), nil
}

// modFunc is MOD(number, divisor): the remainder with the sign of the
// divisor, number - divisor*INT(number/divisor).
func modFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	a, x, blank, err := ev.numArg(c, 0, en)
	if err != nil || blank {
		return value.BlankValue, err
	}
	b, y, _, err := ev.numArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	if y == 0 {
		return value.BlankValue, errorf(c, "MOD cannot divide by zero")
	}
	if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) {
		return value.BlankValue, errorf(c, "MOD of %s by %s is not a number", value.FormatGeneral(x), value.FormatGeneral(y))
	}
	ta, tb := a.Type(), b.Type()
	if (ta == value.Integer || ta == value.Currency) && ta == tb {
		p, q := a.AsInt(), b.AsInt()
		r := p % q
		if r != 0 && (r < 0) != (q < 0) {
			r += q
		}
		if ta == value.Currency {
			return value.CurrencyUnits(r), nil
		}
		return value.Int(r), nil
	}
	if math.IsInf(y, 0) {
		// The quotient rounds to 0 or -1: the number itself, or the
		// divisor's infinity when the signs differ.
		if x == 0 || (x < 0) == (y < 0) {
			return value.Float(x), nil
		}
		return value.Float(y), nil
	}
	r := math.Mod(x, y)
	if r != 0 && (r < 0) != (y < 0) {
		r += y
	}
	return value.Float(sig15(r)), nil
}

// quotientFunc is QUOTIENT(numerator, denominator): the integer part of
// the quotient.
func quotientFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	a, x, blank, err := ev.numArg(c, 0, en)
	if err != nil || blank {
		return value.BlankValue, err
	}
	b, y, _, err := ev.numArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	if y == 0 {
		return value.BlankValue, errorf(c, "QUOTIENT cannot divide by zero")
	}
	if a.Type() == value.Integer && b.Type() == value.Integer && !(a.AsInt() == math.MinInt64 && b.AsInt() == -1) {
		return value.Int(a.AsInt() / b.AsInt()), nil
	}
	return wholeNumber(c, math.Trunc(sig15(x/y)))
}

// multipleFunc implements CEILING, FLOOR, ISO.CEILING and MROUND: number
// rounded to a multiple of a significance.
func multipleFunc(ev *evaluator, en *env, c *dax.Call, fn string) (value.Value, error) {
	a, x, blank, err := ev.numArg(c, 0, en)
	if err != nil || blank {
		return value.BlankValue, err
	}
	b, s, _, err := ev.numArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	omitted := len(c.Args) < 2 || c.Args[1] == nil
	if fn == "ISO.CEILING" {
		if omitted {
			s = 1
		}
		s = math.Abs(s)
	}
	if math.IsNaN(x) || math.IsNaN(s) || math.IsInf(x, 0) || math.IsInf(s, 0) {
		return value.BlankValue, errorf(c, "%s of %s to a multiple of %s is not a number", fn, value.FormatGeneral(x), value.FormatGeneral(s))
	}
	var r float64
	switch fn {
	case "CEILING", "ISO.CEILING":
		if s == 0 {
			break
		}
		if fn == "CEILING" && x > 0 && s < 0 {
			return value.BlankValue, errorf(c, "CEILING cannot round the positive number %s to a negative multiple", value.FormatGeneral(x))
		}
		r = math.Ceil(sig15(x/s)) * s
	case "FLOOR":
		if s == 0 {
			return value.BlankValue, errorf(c, "FLOOR cannot round to a multiple of zero")
		}
		if x != 0 && (x < 0) != (s < 0) {
			return value.BlankValue, errorf(c, "FLOOR needs a number and a significance of the same sign, not %s and %s", value.FormatGeneral(x), value.FormatGeneral(s))
		}
		r = math.Floor(sig15(x/s)) * s
	case "MROUND":
		if s == 0 {
			break
		}
		if x != 0 && (x < 0) != (s < 0) {
			return value.BlankValue, errorf(c, "MROUND needs a number and a multiple of the same sign, not %s and %s", value.FormatGeneral(x), value.FormatGeneral(s))
		}
		if math.IsInf(x/s, 0) {
			return value.BlankValue, errorf(c, "MROUND of %s to a multiple of %s is too large", value.FormatGeneral(x), value.FormatGeneral(s))
		}
		q := decFromFloat(x / s)
		q.round(0, roundNearest)
		r = q.float() * s
	}
	r = sig15(r)
	// The type follows the significance, except that a Currency number
	// stays Currency and a whole significance gives a whole number.
	switch {
	case a.Type() == value.Currency:
		return toCurrency(c, r)
	case omitted && fn == "ISO.CEILING", b.Type() == value.Integer:
		return wholeNumber(c, r)
	case b.Type() == value.Currency:
		return toCurrency(c, r)
	}
	return value.Float(r), nil
}

func randBetween(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	_, lo, _, err := ev.numArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	_, hi, _, err := ev.numArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	lo, hi = math.Ceil(lo), math.Floor(hi)
	if !(math.Abs(lo) <= maxCount && math.Abs(hi) <= maxCount) {
		return value.BlankValue, errorf(c, "RANDBETWEEN needs bounds between -2^53 and 2^53")
	}
	if lo > hi {
		return value.BlankValue, errorf(c, "RANDBETWEEN needs a bottom that is not above the top")
	}
	return value.Int(int64(lo) + ev.rng.Int64N(int64(hi)-int64(lo)+1)), nil
}

// gcdLcm implements GCD and LCM of two whole numbers (truncated), which
// must not be negative nor reach 2^53; BLANK is 0.
func gcdLcm(ev *evaluator, en *env, c *dax.Call, lcm bool) (value.Value, error) {
	var n [2]int64
	for i := range n {
		_, x, _, err := ev.numArg(c, i, en)
		if err != nil {
			return value.BlankValue, err
		}
		x = math.Trunc(x)
		if !(x >= 0) || x >= maxCount {
			return value.BlankValue, errorf(argNode(c, i), "%s needs whole numbers from 0 to 2^53, not %s", c.Func, value.FormatGeneral(x))
		}
		n[i] = int64(x)
	}
	a, b := n[0], n[1]
	for b != 0 {
		a, b = b, a%b
	}
	if !lcm {
		return value.Int(a), nil
	}
	if a == 0 {
		return value.Int(0), nil
	}
	if float64(n[0]/a)*float64(n[1]) >= maxCount {
		return value.BlankValue, errorf(c, "the least common multiple of %d and %d is 2^53 or more", n[0], n[1])
	}
	return value.Int(n[0] / a * n[1]), nil
}

// toCurrency converts a number to Currency, rounding the fifth decimal
// half away from zero.
func toCurrency(n dax.Node, f float64) (value.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value.BlankValue, errorf(n, "%s cannot be converted to Currency", value.FormatGeneral(f))
	}
	d := decFromFloat(f)
	d.round(4, roundNearest)
	d.exp += 4
	u, ok := d.int64()
	if !ok {
		return value.BlankValue, errorf(n, "%s is too large for a Currency", value.FormatGeneral(f))
	}
	return value.CurrencyUnits(u), nil
}

// convertFunc is CONVERT(expression, datatype).
func convertFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	id, ok := c.Args[1].(*dax.Ident)
	if !ok {
		return value.BlankValue, errorf(c.Args[1], "CONVERT needs a data type: INTEGER, DOUBLE, STRING, BOOLEAN, CURRENCY or DATETIME")
	}
	target := strings.ToUpper(id.Name)
	switch target {
	case "INTEGER", "INT64", "DOUBLE", "STRING", "TEXT", "BOOLEAN", "LOGICAL", "CURRENCY", "DECIMAL", "DATETIME":
	default:
		return value.BlankValue, errorf(id, "CONVERT cannot convert to %s; the data types are INTEGER, DOUBLE, STRING, BOOLEAN, CURRENCY and DATETIME", id.Name)
	}
	v, err := ev.arg(c, 0, en)
	if err != nil || v.IsBlank() {
		return value.BlankValue, err
	}
	fail := func() (value.Value, error) {
		return value.BlankValue, errorf(c, "cannot convert value '%s' of type %s to type %s", v.Text(), typeName(v.Type()), strings.ToUpper(id.Name))
	}
	switch target {
	case "STRING", "TEXT":
		return value.Str(v.Text()), nil
	case "BOOLEAN", "LOGICAL":
		t, err := truth(c, v)
		if err != nil {
			return fail()
		}
		return value.Bool(t), nil
	case "DATETIME":
		if v.Type() == value.String {
			ole, ok := parseDateTimeText(v.AsString(), ev.now.Year())
			if !ok {
				return fail()
			}
			return value.Date(ole), nil
		}
		x, _ := v.Number()
		if !value.ValidDate(x) {
			return fail()
		}
		return value.Date(x), nil
	}
	n, err := toNumber(c, v)
	if err != nil {
		return fail()
	}
	x, _ := n.Number()
	switch target {
	case "INTEGER", "INT64":
		if n.Type() == value.Integer {
			return n, nil
		}
		d := decFromFloat(x)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fail()
		}
		d.round(0, roundNearest)
		i, ok := d.int64()
		if !ok {
			return fail()
		}
		return value.Int(i), nil
	case "DOUBLE":
		return value.Float(x), nil
	}
	if n.Type() == value.Currency {
		return n, nil
	}
	return toCurrency(c, x)
}

// valueFunc is VALUE(text): a number from text in any form DAX reads
// (1234.5, "1,234.50", "$12", "(5)", "50%", a date or a time), as a
// Decimal.
func valueFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	v, err := ev.arg(c, 0, en)
	if err != nil || v.IsBlank() {
		return value.BlankValue, err
	}
	if v.Type() != value.String {
		n, err := toNumber(c, v)
		if err != nil {
			return n, err
		}
		x, _ := n.Number()
		return value.Float(x), nil
	}
	s := v.AsString()
	if x, ok := parseNumberText(s); ok {
		return value.Float(x), nil
	}
	if ole, ok := parseDateTimeText(s, ev.now.Year()); ok {
		return value.Float(ole), nil
	}
	return value.BlankValue, errorf(c, "cannot convert value '%s' of type Text to type Number", s)
}

// parseNumberText reads a number written as text, en-US: an optional
// sign or parentheses for negatives, an optional $ and % and thousands
// separators in the integer part.
func parseNumberText(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, strings.TrimSpace(s[1:len(s)-1])
	}
	if strings.HasPrefix(s, "-") {
		neg, s = !neg, strings.TrimSpace(s[1:])
	} else if strings.HasPrefix(s, "+") {
		s = strings.TrimSpace(s[1:])
	}
	s = strings.TrimPrefix(s, "$")
	pct := false
	if strings.HasSuffix(s, "%") {
		pct, s = true, strings.TrimSpace(s[:len(s)-1])
	}
	if s == "" {
		return 0, false
	}
	// Only digits, one point, commas before the point and an exponent:
	// strconv alone would accept "Inf", "NaN", hex and underscores.
	var b strings.Builder
	point, exp, digits := false, false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			digits = true
			b.WriteByte(ch)
		case ch == ',' && !point && !exp && digits:
		case ch == '.' && !point && !exp:
			point = true
			b.WriteByte(ch)
		case (ch == 'e' || ch == 'E') && digits && !exp:
			exp = true
			b.WriteByte(ch)
			if i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-') {
				i++
				b.WriteByte(s[i])
			}
			if i+1 >= len(s) {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if !digits {
		return 0, false
	}
	f, err := strconv.ParseFloat(b.String(), 64)
	if err != nil {
		return 0, false
	}
	if neg {
		f = -f
	}
	if pct {
		f /= 100
	}
	return f, true
}

// fixedFunc is FIXED(number, [decimals], [no_commas]): the number rounded
// to decimals places as text, with thousands separators unless no_commas.
func fixedFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	v, x, blank, err := ev.numArg(c, 0, en)
	if err != nil || blank {
		return value.BlankValue, err
	}
	decimals, _, err := ev.countArg(c, 1, en, 2)
	if err != nil {
		return value.BlankValue, err
	}
	if decimals > 127 {
		return value.BlankValue, errorf(c, "FIXED shows at most 127 decimals, not %d", decimals)
	}
	nc, err := ev.arg(c, 2, en)
	if err != nil {
		return nc, err
	}
	noCommas, err := truth(argNode(c, 2), nc)
	if err != nil {
		return value.BlankValue, err
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return value.BlankValue, errorf(c, "FIXED cannot show %s", value.FormatGeneral(x))
	}
	d := decOf(v)
	d.round(int(max(decimals, -400)), roundNearest)
	var b strings.Builder
	if d.neg && !d.isZero() {
		b.WriteByte('-')
	}
	writeGrouped(&b, d.intDigits(), !noCommas)
	if decimals > 0 {
		b.WriteByte('.')
		b.WriteString(d.fracDigits(int(decimals)))
	}
	return value.Str(b.String()), nil
}

// writeGrouped writes integer digits ("" for zero) with a comma between
// groups of three when group is set.
func writeGrouped(b *strings.Builder, digits string, group bool) {
	if digits == "" {
		digits = "0"
	}
	for i := 0; i < len(digits); i++ {
		if group && i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(digits[i])
	}
}

// dec is a decimal number, 0.d1d2d3... × 10^exp, for rounding and
// formatting by decimal digits. digits has no leading or trailing zeros;
// it is empty for zero.
type dec struct {
	neg    bool
	digits []byte
	exp    int
}

// decFromFloat returns f to 15 significant digits. f must be finite.
func decFromFloat(f float64) dec {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return dec{}
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', 14, 64) // d.dddddddddddddde±x
	e, _ := strconv.Atoi(s[strings.IndexByte(s, 'e')+1:])
	d := dec{neg: f < 0, digits: []byte(s[:1] + s[2:16]), exp: e + 1}
	d.trim()
	return d
}

func decFromInt(n int64) dec {
	mag := uint64(n)
	if n < 0 {
		mag = -mag
	}
	s := strconv.FormatUint(mag, 10)
	d := dec{neg: n < 0, digits: []byte(s), exp: len(s)}
	d.trim()
	return d
}

// decFromUnits returns a Currency amount given in ten-thousandths.
func decFromUnits(u int64) dec {
	d := decFromInt(u)
	d.exp -= 4
	return d
}

// decOf returns the decimal of a numeric value, exact for Integer and
// Currency.
func decOf(v value.Value) dec {
	switch v.Type() {
	case value.Integer, value.Boolean:
		return decFromInt(v.AsInt())
	case value.Currency:
		return decFromUnits(v.AsInt())
	}
	x, _ := v.Number()
	return decFromFloat(x)
}

func (d *dec) trim() {
	i := 0
	for i < len(d.digits) && d.digits[i] == '0' {
		i++
	}
	d.digits = d.digits[i:]
	d.exp -= i
	j := len(d.digits)
	for j > 0 && d.digits[j-1] == '0' {
		j--
	}
	d.digits = d.digits[:j]
	if len(d.digits) == 0 {
		d.exp = 0
	}
}

func (d *dec) isZero() bool { return len(d.digits) == 0 }

// round keeps n digits after the decimal point (n < 0 rounds to tens,
// hundreds...).
func (d *dec) round(n int, mode roundMode) {
	k := d.exp + n // digits kept
	if k >= len(d.digits) || d.isZero() {
		return
	}
	up := false
	switch mode {
	case roundNearest:
		up = k >= 0 && d.digits[k] >= '5'
	case roundUp:
		up = true // digits[k:] is not all zeros: trailing zeros are trimmed
	}
	if k < 0 {
		k = 0
		d.exp = -n
	}
	kept := append([]byte(nil), d.digits[:k]...)
	if up {
		i := len(kept) - 1
		for ; i >= 0; i-- {
			if kept[i] < '9' {
				kept[i]++
				break
			}
			kept[i] = '0'
		}
		if i < 0 {
			kept = append([]byte{'1'}, kept...)
			d.exp++
		}
	}
	d.digits = kept
	d.trim()
}

// intDigits returns the digits of the integer part, "" for zero.
func (d *dec) intDigits() string {
	if d.exp <= 0 {
		return ""
	}
	if d.exp <= len(d.digits) {
		return string(d.digits[:d.exp])
	}
	return string(d.digits) + strings.Repeat("0", d.exp-len(d.digits))
}

// fracDigits returns the first n digits after the decimal point.
func (d *dec) fracDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		j := d.exp + i
		if j >= 0 && j < len(d.digits) {
			b[i] = d.digits[j]
		} else {
			b[i] = '0'
		}
	}
	return string(b)
}

// int64 returns the integer part when it fits.
func (d *dec) int64() (int64, bool) {
	s := d.intDigits()
	if s == "" {
		return 0, true
	}
	if d.neg {
		s = "-" + s
	}
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
}

func (d *dec) float() float64 {
	if d.isZero() {
		return 0
	}
	s := "0." + string(d.digits) + "e" + strconv.Itoa(d.exp)
	if d.neg {
		s = "-" + s
	}
	f, _ := strconv.ParseFloat(s, 64) // out of range gives ±Inf or 0
	return f
}

// sig15 rounds f to 15 significant digits, which removes the noise of
// binary arithmetic (4.42/0.05 is 88.39999999999999) before a ceiling or
// a floor.
func sig15(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	d := decFromFloat(f)
	return d.float()
}
