package model

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/value"
)

// The property kinds. Each binds a JSON member to a Go field and knows its
// default, how to decode it, and how to write it back.

// strProp is a string property; absent means def.
type strProp struct {
	k   string
	p   *string
	def string
}

func str(k string, p *string) prop { return &strProp{k: k, p: p} }

func (s *strProp) key() string { return s.k }
func (s *strProp) reset()      { *s.p = s.def }
func (s *strProp) omit() bool  { return *s.p == s.def }

func (s *strProp) decode(d *decoder, v []byte) error {
	x, err := decodeString(d, v)
	if err != nil {
		return err
	}
	if x == nil {
		*s.p = s.def
	} else {
		*s.p = *x
	}
	return nil
}

func (s *strProp) same(d *decoder, v []byte) bool {
	if body, ok := plainString(v); ok {
		return string(body) == *s.p
	}
	x, err := decodeString(d, v)
	if err != nil {
		return false
	}
	if x == nil {
		return *s.p == s.def
	}
	return *x == *s.p
}

func (s *strProp) encode(e *encoder, _ []byte) error {
	e.writeString(*s.p)
	return nil
}

// plainString returns the body of a JSON string that has no escapes, so
// that it can be compared without decoding.
func plainString(v []byte) ([]byte, bool) {
	v = trimSpace(v)
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') >= 0 || !utf8.Valid(body) {
		return nil, false
	}
	return body, true
}

// decodeString decodes a JSON string; nil means null.
func decodeString(d *decoder, v []byte) (*string, error) {
	v = trimSpace(v)
	switch kindOf(v) {
	case kindNull:
		return nil, nil
	case kindString:
		s, err := unquote(v)
		if err != nil {
			return nil, d.errorf(v, "bad string: %v", err)
		}
		return &s, nil
	}
	return nil, d.mismatch(v, "a string")
}

// enumProp is a string property with a fixed set of values, matched without
// regard to case as Analysis Services does and stored in the spelling of
// the TMSL schema. Values outside the set are kept as written, for
// validation to report. An empty field means the default.
type enumProp[T ~string] struct {
	k      string
	p      *T
	def    T
	values []T
}

func enum[T ~string](k string, p *T, def T, values []T) prop {
	return &enumProp[T]{k: k, p: p, def: def, values: values}
}

func (s *enumProp[T]) key() string { return s.k }
func (s *enumProp[T]) reset()      { *s.p = s.def }
func (s *enumProp[T]) omit() bool  { return *s.p == s.def || *s.p == "" }

func (s *enumProp[T]) canonical(x string) T {
	for _, v := range s.values {
		if strings.EqualFold(x, string(v)) {
			return v
		}
	}
	return T(x)
}

func (s *enumProp[T]) decode(d *decoder, v []byte) error {
	x, err := decodeString(d, v)
	if err != nil {
		return err
	}
	if x == nil {
		*s.p = s.def
	} else {
		*s.p = s.canonical(*x)
	}
	return nil
}

func (s *enumProp[T]) same(d *decoder, v []byte) bool {
	x, err := decodeString(d, v)
	if err != nil {
		return false
	}
	if x == nil {
		return *s.p == s.def
	}
	return s.canonical(*x) == *s.p
}

func (s *enumProp[T]) encode(e *encoder, _ []byte) error {
	x := *s.p
	if x == "" {
		x = s.def
	}
	e.writeString(string(x))
	return nil
}

// knownValue reports whether x is one of values; the empty string stands
// for the default and is known too.
func knownValue[T ~string](x T, values []T) bool {
	if x == "" {
		return true
	}
	for _, v := range values {
		if v == x {
			return true
		}
	}
	return false
}

// boolProp is a boolean property; absent means def.
type boolProp struct {
	k   string
	p   *bool
	def bool
}

func boolean(k string, p *bool, def bool) prop { return &boolProp{k: k, p: p, def: def} }

func (b *boolProp) key() string { return b.k }
func (b *boolProp) reset()      { *b.p = b.def }
func (b *boolProp) omit() bool  { return *b.p == b.def }

func decodeBool(d *decoder, v []byte) (*bool, error) {
	v = trimSpace(v)
	switch string(v) {
	case "true":
		t := true
		return &t, nil
	case "false":
		f := false
		return &f, nil
	case "null":
		return nil, nil
	}
	return nil, d.mismatch(v, "true or false")
}

func (b *boolProp) decode(d *decoder, v []byte) error {
	x, err := decodeBool(d, v)
	if err != nil {
		return err
	}
	if x == nil {
		*b.p = b.def
	} else {
		*b.p = *x
	}
	return nil
}

func (b *boolProp) same(d *decoder, v []byte) bool {
	x, err := decodeBool(d, v)
	if err != nil {
		return false
	}
	if x == nil {
		return *b.p == b.def
	}
	return *x == *b.p
}

func (b *boolProp) encode(e *encoder, _ []byte) error {
	e.buf.WriteString(strconv.FormatBool(*b.p))
	return nil
}

// intProp is an integer property; absent means def.
type intProp struct {
	k   string
	p   *int
	def int
}

func integer(k string, p *int, def int) prop { return &intProp{k: k, p: p, def: def} }

func (n *intProp) key() string { return n.k }
func (n *intProp) reset()      { *n.p = n.def }
func (n *intProp) omit() bool  { return *n.p == n.def }

// decodeInt decodes a JSON number that must be an integer (1200.0 is
// accepted, 1200.5 is not).
func decodeInt(d *decoder, v []byte) (*int, error) {
	v = trimSpace(v)
	switch kindOf(v) {
	case kindNull:
		return nil, nil
	case kindNumber:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			x := int(i)
			return &x, nil
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil && f == math.Trunc(f) && f >= math.MinInt32 && f <= math.MaxInt32 {
			x := int(f)
			return &x, nil
		}
		return nil, d.errorf(v, "expected an integer between %d and %d, got %s", math.MinInt32, math.MaxInt32, v)
	}
	return nil, d.mismatch(v, "an integer")
}

func (n *intProp) decode(d *decoder, v []byte) error {
	x, err := decodeInt(d, v)
	if err != nil {
		return err
	}
	if x == nil {
		*n.p = n.def
	} else {
		*n.p = *x
	}
	return nil
}

func (n *intProp) same(d *decoder, v []byte) bool {
	x, err := decodeInt(d, v)
	if err != nil {
		return false
	}
	if x == nil {
		return *n.p == n.def
	}
	return *x == *n.p
}

func (n *intProp) encode(e *encoder, _ []byte) error {
	e.buf.WriteString(strconv.Itoa(*n.p))
	return nil
}

// textProp is a text that TMSL accepts as a string or as an array of lines
// joined with "\n" (expressions, queries, annotation values). A changed
// text is written in the form the original had.
type textProp[T ~string] struct {
	k string
	p *T
}

func text[T ~string](k string, p *T) prop { return &textProp[T]{k: k, p: p} }

func (t *textProp[T]) key() string { return t.k }
func (t *textProp[T]) reset()      { *t.p = "" }
func (t *textProp[T]) omit() bool  { return *t.p == "" }

func decodeText(d *decoder, v []byte) (string, error) {
	v = trimSpace(v)
	switch kindOf(v) {
	case kindNull:
		return "", nil
	case kindString:
		s, err := unquote(v)
		if err != nil {
			return "", d.errorf(v, "bad string: %v", err)
		}
		return s, nil
	case kindArray:
		elems, err := splitArray(v)
		if err != nil {
			return "", d.errorf(v, "%v", err)
		}
		lines := make([]string, len(elems))
		for i, el := range elems {
			if kindOf(el) != kindString {
				d.pushIndex(i, "")
				err := d.mismatch(el, "a string (a line of the text)")
				d.pop()
				return "", err
			}
			s, err := unquote(trimSpace(el))
			if err != nil {
				return "", d.errorf(el, "bad string: %v", err)
			}
			lines[i] = s
		}
		return strings.Join(lines, "\n"), nil
	}
	return "", d.mismatch(v, "a string or an array of strings")
}

func (t *textProp[T]) decode(d *decoder, v []byte) error {
	s, err := decodeText(d, v)
	*t.p = T(s)
	return err
}

func (t *textProp[T]) same(d *decoder, v []byte) bool {
	if body, ok := plainString(v); ok {
		return string(body) == string(*t.p)
	}
	s, err := decodeText(d, v)
	return err == nil && T(s) == *t.p
}

func (t *textProp[T]) encode(e *encoder, orig []byte) error {
	s := string(*t.p)
	if kindOf(orig) != kindArray {
		e.writeString(s)
		return nil
	}
	e.buf.WriteByte('[')
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.writeString(line)
	}
	e.buf.WriteByte(']')
	return nil
}

// dataTypes are the TMSL dataType names, in the schema's spelling.
var dataTypes = []string{"automatic", "string", "int64", "double", "dateTime", "decimal", "boolean", "binary", "unknown", "variant"}

func canonicalDataType(s string) string {
	for _, v := range dataTypes {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return s
}

// dataTypeProp binds "dataType" to a value.Type and keeps the name as
// written, so that "automatic", "unknown" and "variant" (one type to the
// engine) are written back as they were.
type dataTypeProp struct {
	t    *value.Type
	name *string
}

func (p *dataTypeProp) key() string { return "dataType" }
func (p *dataTypeProp) reset()      { *p.t, *p.name = value.Blank, "" }
func (p *dataTypeProp) omit() bool  { return *p.t == value.Blank && *p.name == "" }

func parseDataType(d *decoder, v []byte) (value.Type, string, error) {
	x, err := decodeString(d, v)
	if err != nil || x == nil {
		return value.Blank, "", err
	}
	c := canonicalDataType(*x)
	t, _ := value.ParseTMSL(c)
	return t, c, nil
}

func (p *dataTypeProp) decode(d *decoder, v []byte) error {
	t, name, err := parseDataType(d, v)
	*p.t, *p.name = t, name
	return err
}

func (p *dataTypeProp) same(d *decoder, v []byte) bool {
	t, name, err := parseDataType(d, v)
	return err == nil && t == *p.t && name == *p.name
}

func (p *dataTypeProp) encode(e *encoder, _ []byte) error {
	name := *p.name
	if t, ok := value.ParseTMSL(canonicalDataType(name)); !ok || t != *p.t {
		switch {
		case *p.t != value.Blank:
			name = p.t.TMSLName()
		case !ok && name != "":
			// An unknown name with no type: keep what the user wrote.
		default:
			name = "automatic"
		}
	}
	e.writeString(name)
	return nil
}

// rawProp keeps a property's JSON as is (credentials, options): Meridian
// passes it through without interpreting it.
type rawProp struct {
	k string
	p *json.RawMessage
}

func rawJSON(k string, p *json.RawMessage) prop { return &rawProp{k: k, p: p} }

func (r *rawProp) key() string { return r.k }
func (r *rawProp) reset()      { *r.p = nil }
func (r *rawProp) omit() bool  { return len(*r.p) == 0 }

func (r *rawProp) decode(d *decoder, v []byte) error {
	*r.p = json.RawMessage(trimSpace(v))
	return nil
}

func (r *rawProp) same(d *decoder, v []byte) bool {
	return string(trimSpace(v)) == string(*r.p)
}

func (r *rawProp) encode(e *encoder, _ []byte) error {
	if !json.Valid(*r.p) {
		return &ParseError{Path: r.k, Msg: "property holds invalid JSON", Err: ErrSchema}
	}
	e.buf.Write(*r.p)
	return nil
}

// objPtr constrains a pointer to an object type, so that lists and nested
// objects can be decoded generically.
type objPtr[T any] interface {
	*T
	object
}

// listProp is an array of objects.
type listProp[T any, P objPtr[T]] struct {
	k string
	p *[]P
}

func list[T any, P objPtr[T]](k string, p *[]P) prop { return &listProp[T, P]{k: k, p: p} }

func (l *listProp[T, P]) key() string { return l.k }
func (l *listProp[T, P]) reset()      { *l.p = nil }
func (l *listProp[T, P]) omit() bool  { return len(*l.p) == 0 }

func (l *listProp[T, P]) decode(d *decoder, v []byte) error {
	switch kindOf(v) {
	case kindNull:
		*l.p = nil
		return nil
	case kindArray:
	default:
		return d.mismatch(v, "an array of objects")
	}
	elems, err := splitArray(v)
	if err != nil {
		return d.errorf(v, "%v", err)
	}
	out := make([]P, len(elems))
	for i, el := range elems {
		if kindOf(el) != kindObject {
			d.pushIndex(i, "")
			err := d.mismatch(el, "an object")
			d.pop()
			return err
		}
		ms, err := splitObject(el)
		if err != nil {
			return d.errorf(el, "%v", err)
		}
		x := P(new(T))
		d.pushIndex(i, nameOf(ms))
		err = decodeMembers(d, ms, x)
		d.pop()
		if err != nil {
			return err
		}
		out[i] = x
	}
	*l.p = out
	return nil
}

func (l *listProp[T, P]) same(_ *decoder, v []byte) bool {
	if len(*l.p) != 0 {
		return false
	}
	v = trimSpace(v)
	if kindOf(v) == kindNull {
		return true
	}
	elems, err := splitArray(v)
	return err == nil && len(elems) == 0
}

func (l *listProp[T, P]) encode(e *encoder, _ []byte) error {
	e.buf.WriteByte('[')
	for i, x := range *l.p {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if x == nil {
			e.buf.WriteString("null")
			continue
		}
		if err := encodeObject(e, x); err != nil {
			return err
		}
	}
	e.buf.WriteByte(']')
	return nil
}

// ptrProp is an optional nested object: nil when absent.
type ptrProp[T any, P objPtr[T]] struct {
	k string
	p *P
}

func optional[T any, P objPtr[T]](k string, p *P) prop { return &ptrProp[T, P]{k: k, p: p} }

func (o *ptrProp[T, P]) key() string { return o.k }
func (o *ptrProp[T, P]) reset()      { *o.p = nil }
func (o *ptrProp[T, P]) omit() bool  { return *o.p == nil }

func (o *ptrProp[T, P]) decode(d *decoder, v []byte) error {
	if kindOf(v) == kindNull {
		*o.p = nil
		return nil
	}
	x := P(new(T))
	if err := decodeObject(d, v, x); err != nil {
		return err
	}
	*o.p = x
	return nil
}

func (o *ptrProp[T, P]) same(_ *decoder, v []byte) bool {
	return *o.p == nil && kindOf(v) == kindNull
}

func (o *ptrProp[T, P]) encode(e *encoder, _ []byte) error {
	if *o.p == nil {
		e.buf.WriteString("null")
		return nil
	}
	return encodeObject(e, *o.p)
}

// valProp is a nested object held by value (a database's model, a
// partition's source): absent means the zero object.
type valProp[T any, P objPtr[T]] struct {
	k string
	p P
}

func nested[T any, P objPtr[T]](k string, p P) prop { return &valProp[T, P]{k: k, p: p} }

func (o *valProp[T, P]) key() string { return o.k }
func (o *valProp[T, P]) reset()      { var zero T; *o.p = zero }
func (o *valProp[T, P]) omit() bool  { return isZero(o.p) }

func (o *valProp[T, P]) decode(d *decoder, v []byte) error {
	if kindOf(v) == kindNull {
		o.reset()
		return nil
	}
	return decodeObject(d, v, o.p)
}

func (o *valProp[T, P]) same(_ *decoder, v []byte) bool {
	return kindOf(v) == kindNull && isZero(o.p)
}

func (o *valProp[T, P]) encode(e *encoder, _ []byte) error {
	return encodeObject(e, o.p)
}

// isZero reports whether an object has no original members and every
// property at its default.
func isZero(o object) bool {
	if len(o.rawObject().members) > 0 {
		return false
	}
	for _, p := range o.props() {
		if !p.omit() {
			return false
		}
	}
	return true
}
