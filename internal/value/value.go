package value

import (
	"fmt"
	"math"
	"strings"
)

// Type is the data type of a value or a column.
type Type uint8

// The data types. Blank is the type of BLANK only; columns never have it.
const (
	Blank Type = iota
	Integer
	Decimal
	Currency
	Boolean
	String
	DateTime
	// Variant is the type of a column or expression whose values may be of
	// several types (a calculated column mixing text and numbers).
	Variant
)

var typeNames = [...]string{
	Blank:    "Blank",
	Integer:  "Integer",
	Decimal:  "Decimal",
	Currency: "Currency",
	Boolean:  "Boolean",
	String:   "String",
	DateTime: "DateTime",
	Variant:  "Variant",
}

// String returns the DAX name of the type.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// IsNumeric reports whether values of the type take part in arithmetic as
// numbers (DateTime and Boolean included, as DAX converts them).
func (t Type) IsNumeric() bool {
	switch t {
	case Integer, Decimal, Currency, DateTime, Boolean:
		return true
	}
	return false
}

// tmslNames maps TMSL dataType names to types. "automatic" and "unknown"
// mean the type is inferred; "binary" columns hold no data Meridian can
// query and are kept as strings.
var tmslNames = map[string]Type{
	"string":    String,
	"int64":     Integer,
	"double":    Decimal,
	"decimal":   Currency,
	"boolean":   Boolean,
	"dateTime":  DateTime,
	"variant":   Variant,
	"automatic": Variant,
	"unknown":   Variant,
	"binary":    String,
}

// ParseTMSL returns the type named by a TMSL dataType. Names are matched
// exactly, as the TMSL schema spells them.
func ParseTMSL(name string) (Type, bool) {
	t, ok := tmslNames[name]
	return t, ok
}

// TMSLName returns the TMSL dataType name of the type.
func (t Type) TMSLName() string {
	switch t {
	case String:
		return "string"
	case Integer:
		return "int64"
	case Decimal:
		return "double"
	case Currency:
		return "decimal"
	case Boolean:
		return "boolean"
	case DateTime:
		return "dateTime"
	}
	return "variant"
}

// CurrencyScale is the number of Currency units in one: Currency is exact to
// four decimal places.
const CurrencyScale = 10000

// Value is a DAX scalar. The zero Value is BLANK.
type Value struct {
	s    string
	bits uint64 // int64 for Integer, Currency and Boolean; float64 bits for Decimal and DateTime
	t    Type
}

// BlankValue is BLANK.
var BlankValue = Value{}

// Int returns an Integer.
func Int(n int64) Value { return Value{t: Integer, bits: uint64(n)} }

// Float returns a Decimal.
func Float(f float64) Value { return Value{t: Decimal, bits: math.Float64bits(f)} }

// Bool returns a Boolean.
func Bool(b bool) Value {
	if b {
		return Value{t: Boolean, bits: 1}
	}
	return Value{t: Boolean}
}

// Str returns a String.
func Str(s string) Value { return Value{t: String, s: s} }

// CurrencyUnits returns a Currency holding units ten-thousandths.
func CurrencyUnits(units int64) Value { return Value{t: Currency, bits: uint64(units)} }

// CurrencyFromFloat returns the Currency nearest to f, rounding halves away
// from zero as Analysis Services does. ok is false when f does not fit.
func CurrencyFromFloat(f float64) (Value, bool) {
	u, ok := FloatToCurrencyUnits(f)
	return CurrencyUnits(u), ok
}

// FloatToCurrencyUnits converts f to ten-thousandths, rounding halves away
// from zero. ok is false for NaN, infinities and values out of range.
func FloatToCurrencyUnits(f float64) (int64, bool) {
	x := math.Round(f * CurrencyScale)
	if math.IsNaN(x) || x >= math.MaxInt64 || x <= math.MinInt64 {
		return 0, false
	}
	return int64(x), true
}

// Date returns a DateTime from an OLE Automation date.
func Date(oleDays float64) Value { return Value{t: DateTime, bits: math.Float64bits(oleDays)} }

// Type returns the value's type; Blank for BLANK.
func (v Value) Type() Type { return v.t }

// IsBlank reports whether the value is BLANK.
func (v Value) IsBlank() bool { return v.t == Blank }

// AsInt returns the int64 of an Integer or Boolean, the units of a Currency
// (ten-thousandths), and 0 otherwise. Use Float or Int64 for conversions.
func (v Value) AsInt() int64 {
	switch v.t {
	case Integer, Boolean, Currency:
		return int64(v.bits)
	}
	return 0
}

// AsFloat returns the float64 of a Decimal or DateTime and 0 otherwise.
func (v Value) AsFloat() float64 {
	switch v.t {
	case Decimal, DateTime:
		return math.Float64frombits(v.bits)
	}
	return 0
}

// AsString returns the text of a String and "" otherwise.
func (v Value) AsString() string { return v.s }

// AsBool returns the truth of a Boolean and false otherwise.
func (v Value) AsBool() bool { return v.t == Boolean && v.bits != 0 }

// Number converts a numeric value to float64: Integer, Decimal, Currency,
// DateTime (OLE days) and Boolean (0 or 1). BLANK is 0. ok is false for
// strings.
func (v Value) Number() (float64, bool) {
	switch v.t {
	case Blank:
		return 0, true
	case Integer, Boolean:
		return float64(int64(v.bits)), true
	case Currency:
		return float64(int64(v.bits)) / CurrencyScale, true
	case Decimal, DateTime:
		return math.Float64frombits(v.bits), true
	}
	return 0, false
}

// Equal reports whether two values are the same value of the same type,
// strings compared under the collation. It is identity for dictionaries and
// tests, not DAX's = operator, which converts between types.
func (v Value) Equal(w Value) bool {
	if v.t != w.t {
		return false
	}
	if v.t == String {
		return CompareText(v.s, w.s) == 0
	}
	if v.t == Decimal || v.t == DateTime {
		return v.AsFloat() == w.AsFloat() || (math.IsNaN(v.AsFloat()) && math.IsNaN(w.AsFloat()))
	}
	return v.bits == w.bits
}

// GoString shows the type and the value, for test failures.
func (v Value) GoString() string {
	if v.t == Blank {
		return "BLANK"
	}
	return fmt.Sprintf("%s(%s)", v.t, v.String())
}

// String returns the value as text in the invariant format used by tests
// and logs. DAX's own conversion to text, which depends on the culture, is
// Text.
func (v Value) String() string {
	switch v.t {
	case Blank:
		return ""
	case String:
		return v.s
	case Boolean:
		if v.bits != 0 {
			return "TRUE"
		}
		return "FALSE"
	case DateTime:
		return FormatISO(v.AsFloat())
	}
	return v.Text()
}

// Text converts the value to text as DAX does for the & operator and
// CONCATENATE with the en-US culture: numbers in general format, dates as
// M/D/YYYY with the time when there is one, booleans as TRUE/FALSE, BLANK
// as "".
func (v Value) Text() string {
	switch v.t {
	case Blank:
		return ""
	case Integer:
		return fmt.Sprint(int64(v.bits))
	case Currency:
		return FormatCurrencyUnits(int64(v.bits))
	case Decimal:
		return FormatGeneral(v.AsFloat())
	case DateTime:
		return FormatGeneralDate(v.AsFloat())
	}
	return v.String()
}

// FormatCurrencyUnits writes ten-thousandths as a decimal number without
// trailing zeros: 12345 is "1.2345", 20000 is "2".
func FormatCurrencyUnits(u int64) string {
	neg := u < 0
	var mag uint64
	if neg {
		mag = uint64(-u)
	} else {
		mag = uint64(u)
	}
	s := fmt.Sprintf("%d.%04d", mag/CurrencyScale, mag%CurrencyScale)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if neg {
		return "-" + s
	}
	return s
}

// FormatGeneral writes a float as DAX's general number format does: up to 15
// significant digits, no exponent for ordinary magnitudes.
func FormatGeneral(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return fmt.Sprintf("%.0f", f)
	}
	a := math.Abs(f)
	if a >= 1e15 || a < 1e-5 {
		return fmt.Sprintf("%.14E", f)
	}
	s := fmt.Sprintf("%.15g", f)
	if strings.ContainsAny(s, "eE") {
		s = fmt.Sprintf("%.15f", f)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
