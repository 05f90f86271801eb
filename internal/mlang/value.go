package mlang

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/meridian-olap/meridian/internal/value"
)

// Kind is the kind of an M value.
type Kind uint8

// The kinds of M values.
const (
	KindNull Kind = iota
	KindLogical
	KindNumber
	KindText
	KindDate
	KindDateTime
	KindDateTimeZone
	KindTime
	KindDuration
	KindBinary
	KindList
	KindRecord
	KindTable
	KindFunction
	KindType
)

var kindNames = [...]string{"null", "logical", "number", "text", "date", "datetime", "datetimezone",
	"time", "duration", "binary", "list", "record", "table", "function", "type"}

// String is the M name of the kind (as in type text).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Value is an M value: Null, Logical, Number, Text, DateTime (dates and
// times of every kind), Duration, *Binary, *List, *Record, *Table,
// *Function or *Type. Lists and records are lazy: their items are
// evaluated when first read.
type Value interface {
	Kind() Kind
}

// Null is M's null.
type Null struct{}

// Logical is true or false.
type Logical bool

// Number is an M number (a float64: M numbers are IEEE doubles).
type Number float64

// Text is an M text value.
type Text string

// DateTime is a date, datetime, datetimezone or time: an OLE Automation
// date (days since 1899-12-30, the fraction being the time of day; only
// the fraction for a time) and, for a datetimezone, its offset in minutes.
type DateTime struct {
	K      Kind // KindDate, KindDateTime, KindDateTimeZone or KindTime
	OLE    float64
	Offset int
}

// Duration is a length of time in days.
type Duration float64

func (Null) Kind() Kind       { return KindNull }
func (Logical) Kind() Kind    { return KindLogical }
func (Number) Kind() Kind     { return KindNumber }
func (Text) Kind() Kind       { return KindText }
func (d DateTime) Kind() Kind { return d.K }
func (Duration) Kind() Kind   { return KindDuration }

// Binary is the contents of a file (or of text), opened on demand: a
// binary value never holds the bytes.
type Binary struct {
	Name string // shown in errors: the path as the expression gave it
	Open func() (io.ReadCloser, error)
}

// Kind returns KindBinary.
func (*Binary) Kind() Kind { return KindBinary }

// List is a list of lazily evaluated items.
type List struct{ items []*thunk }

// Kind returns KindList.
func (*List) Kind() Kind { return KindList }

// Len returns the number of items.
func (l *List) Len() int { return len(l.items) }

// Item evaluates and returns item i.
func (l *List) Item(i int) (Value, error) { return l.items[i].force() }

// Items evaluates every item.
func (l *List) Items() ([]Value, error) {
	out := make([]Value, len(l.items))
	for i, t := range l.items {
		v, err := t.force()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func listOf(vals ...Value) *List {
	l := &List{items: make([]*thunk, len(vals))}
	for i, v := range vals {
		l.items[i] = done(v)
	}
	return l
}

// Record is an ordered set of named, lazily evaluated fields.
type Record struct {
	names []string
	vals  []*thunk
}

// Kind returns KindRecord.
func (*Record) Kind() Kind { return KindRecord }

// Names returns the field names in order.
func (r *Record) Names() []string { return append([]string(nil), r.names...) }

// index returns the position of a field, or -1.
func (r *Record) index(name string) int {
	for i, n := range r.names {
		if n == name {
			return i
		}
	}
	return -1
}

// Field evaluates and returns a field; ok is false when there is none.
func (r *Record) Field(name string) (v Value, ok bool, err error) {
	i := r.index(name)
	if i < 0 {
		return nil, false, nil
	}
	v, err = r.vals[i].force()
	return v, true, err
}

func recordOf(names []string, vals []Value) *Record {
	r := &Record{names: names, vals: make([]*thunk, len(vals))}
	for i, v := range vals {
		r.vals[i] = done(v)
	}
	return r
}

// Function is a function value: a closure over an M function expression,
// or a library function.
type Function struct {
	name   string // library functions, for messages
	min    int    // required parameters
	max    int    // all parameters; -1 for any number
	native func(c *call) (Value, error)
	def    *Func
	env    *scope
	in     *interp
}

// Kind returns KindFunction.
func (*Function) Kind() Kind { return KindFunction }

// Type is an M type value. Prim is the primitive type (number, text,
// ...); Facet refines a number or text type (Int64.Type is number with
// facet "Int64"); Fields and Item describe record, table and list types.
type Type struct {
	Prim     string
	Nullable bool
	Facet    string
	Fields   []TypeField // of a record or table type
	Item     *Type       // of a list type
}

// TypeField is a field of a record or table type.
type TypeField struct {
	Name string
	Type *Type
}

// Kind returns KindType.
func (*Type) Kind() Kind { return KindType }

// String writes the type as M would (roughly): "nullable number",
// "Int64.Type", "table [A = text]".
func (t *Type) String() string {
	var b strings.Builder
	if t.Nullable {
		b.WriteString("nullable ")
	}
	switch {
	case t.Facet != "":
		b.WriteString(t.Facet + ".Type")
	case t.Prim == "table" || t.Prim == "record":
		b.WriteString(t.Prim)
		if t.Fields != nil {
			b.WriteString(" [")
			for i, f := range t.Fields {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(f.Name + " = " + f.Type.String())
			}
			b.WriteString("]")
		}
	case t.Prim == "list" && t.Item != nil:
		b.WriteString("{" + t.Item.String() + "}")
	default:
		b.WriteString(t.Prim)
	}
	return b.String()
}

func primType(name string) *Type { return &Type{Prim: name} }

// Describe writes a value briefly for messages: text quoted and
// shortened, numbers as M writes them, other values by kind.
func Describe(v Value) string {
	switch x := v.(type) {
	case Null:
		return "null"
	case Logical:
		if x {
			return "true"
		}
		return "false"
	case Number:
		return formatNumber(float64(x))
	case Text:
		s := string(x)
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return strconv.Quote(s)
	case DateTime:
		switch x.K {
		case KindDate:
			y, m, d := value.Civil(x.OLE)
			return fmt.Sprintf("#date(%d, %d, %d)", y, m, d)
		case KindTime:
			return "#time(" + strings.ReplaceAll(value.FormatISO(x.OLE)[11:], ":", ", ") + ")"
		}
		return value.FormatISO(x.OLE)
	case Duration:
		return fmt.Sprintf("#duration(%g)", float64(x))
	case *Type:
		return "type " + x.String()
	case *Function:
		if x.name != "" {
			return "the function " + x.name
		}
		return "a function"
	}
	return "a " + v.Kind().String()
}

// formatNumber writes a number as Number.ToText does in general format.
func formatNumber(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "#infinity"
	case math.IsInf(f, -1):
		return "-#infinity"
	case math.IsNaN(f):
		return "#nan"
	}
	return strconv.FormatFloat(f, 'G', 15, 64)
}
