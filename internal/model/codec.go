package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON machinery shared by every TMSL object: splitting
// an object into its members, decoding the members Meridian models through
// a table of properties, and writing an object back so that whatever was not
// changed is written exactly as it was read.
//
// Every object keeps the members it was decoded from (raw). When it is
// encoded, each member is written again from its original bytes unless the
// Go field it was decoded into now holds a different value; properties that
// were absent are written only when they differ from their default. Unknown
// members are never interpreted, so they cannot be lost or reformatted.

// member is one member of a JSON object as it appeared in the document.
type member struct {
	key   string
	value []byte // the member's value, a sub-slice of the decoded document
}

// raw is the original form of a decoded object. Objects built in Go have
// none.
type raw struct {
	members []member
}

// object is implemented by every TMSL object type.
type object interface {
	// props lists the modelled properties, bound to the object's fields.
	props() []prop
	rawObject() *raw
}

// prop is one modelled property of an object, bound to a Go field.
type prop interface {
	key() string
	// reset sets the field to the value an absent property means.
	reset()
	// decode sets the field from the property's JSON value.
	decode(d *decoder, v []byte) error
	// same reports whether v decodes to the field's current value, so that
	// v can be written back unchanged.
	same(d *decoder, v []byte) bool
	// omit reports whether the field holds the default value, so that an
	// absent property may stay absent.
	omit() bool
	// encode writes the field's value. orig is the value it replaces, or
	// nil, so that a changed expression keeps the form (string or array of
	// lines) it had.
	encode(e *encoder, orig []byte) error
}

// jsonKind is the kind of a JSON value, from its first byte.
type jsonKind uint8

const (
	kindInvalid jsonKind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

func (k jsonKind) String() string {
	switch k {
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindNull:
		return "null"
	}
	return "nothing"
}

func kindOf(v []byte) jsonKind {
	v = trimSpace(v)
	if len(v) == 0 {
		return kindInvalid
	}
	switch c := v[0]; {
	case c == '{':
		return kindObject
	case c == '[':
		return kindArray
	case c == '"':
		return kindString
	case c == 't' || c == 'f':
		return kindBool
	case c == 'n':
		return kindNull
	case c == '-' || ('0' <= c && c <= '9'):
		return kindNumber
	}
	return kindInvalid
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trimSpace removes JSON white space around a value without copying, so
// that the result still shares the document's backing array.
func trimSpace(v []byte) []byte {
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

// scanString returns the index just past the string that starts at b[i].
// It jumps from quote to quote, which is what keeps splitting large
// documents fast: most of their bytes are inside strings.
func scanString(b []byte, i int) (int, bool) {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, false
		}
		q += j
		// The quote is escaped when an odd number of backslashes precede
		// it.
		n := 0
		for k := q - 1; k > i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
}

// structural marks the bytes that matter when skipping a container.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// scanValue returns the index just past the JSON value that starts at b[i].
// The document has been checked by encoding/json before, so this only has
// to find the end, but it never reads out of bounds on bad input.
func scanValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			c := b[j]
			if !structural[c] {
				continue
			}
			switch c {
			case '"':
				end, ok := scanString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	return j, j > i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// splitObject returns the members of a JSON object in document order. The
// values are sub-slices of v.
func splitObject(v []byte) ([]member, error) {
	v = trimSpace(v)
	if len(v) < 2 || v[0] != '{' {
		return nil, fmt.Errorf("not an object")
	}
	var ms []member
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == '}' {
		return ms, nil
	}
	for {
		if i >= len(v) || v[i] != '"' {
			return nil, fmt.Errorf("malformed object")
		}
		end, ok := scanString(v, i)
		if !ok {
			return nil, fmt.Errorf("malformed object key")
		}
		key, err := unquote(v[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(v, end)
		if i >= len(v) || v[i] != ':' {
			return nil, fmt.Errorf("malformed object")
		}
		i = skipSpace(v, i+1)
		vend, ok := scanValue(v, i)
		if !ok {
			return nil, fmt.Errorf("malformed value")
		}
		ms = append(ms, member{key: key, value: v[i:vend]})
		i = skipSpace(v, vend)
		if i >= len(v) {
			return nil, fmt.Errorf("malformed object")
		}
		if v[i] == '}' {
			return ms, nil
		}
		if v[i] != ',' {
			return nil, fmt.Errorf("malformed object")
		}
		i = skipSpace(v, i+1)
	}
}

// splitArray returns the elements of a JSON array, as sub-slices of v.
func splitArray(v []byte) ([][]byte, error) {
	v = trimSpace(v)
	if len(v) < 2 || v[0] != '[' {
		return nil, fmt.Errorf("not an array")
	}
	var out [][]byte
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return out, nil
	}
	for {
		end, ok := scanValue(v, i)
		if !ok {
			return nil, fmt.Errorf("malformed array")
		}
		out = append(out, v[i:end])
		i = skipSpace(v, end)
		if i >= len(v) {
			return nil, fmt.Errorf("malformed array")
		}
		if v[i] == ']' {
			return out, nil
		}
		if v[i] != ',' {
			return nil, fmt.Errorf("malformed array")
		}
		i = skipSpace(v, i+1)
	}
}

// unquote decodes a JSON string literal. It decodes escapes itself,
// because going through encoding/json for every string of a large model
// costs more than everything else together; strings with invalid UTF-8 are
// left to encoding/json so that they decode exactly as it decodes them.
func unquote(q []byte) (string, error) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", fmt.Errorf("not a string")
	}
	body := q[1 : len(q)-1]
	esc := bytes.IndexByte(body, '\\')
	if esc < 0 && utf8.Valid(body) {
		return string(body), nil
	}
	if esc >= 0 {
		if s, ok := unescape(body, esc); ok && utf8.ValidString(s) {
			return s, nil
		}
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", err
	}
	return s, nil
}

// unescape decodes the escapes of a string body whose first backslash is
// at esc. ok is false for anything unusual, which the caller then leaves
// to encoding/json.
func unescape(body []byte, esc int) (string, bool) {
	out := make([]byte, 0, len(body))
	out = append(out, body[:esc]...)
	for i := esc; i < len(body); {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return "", false
		}
		switch body[i+1] {
		case '"', '\\', '/':
			out = append(out, body[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(body, i+2)
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+1 < len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2, ok = hex4(body, i+2)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// pathElem is one step of a JSON path: a member key, or an array index with
// the element's name when it has one.
type pathElem struct {
	key   string
	index int // -1 for a member key
	name  string
}

// decoder decodes one document and knows where in it it is, for errors.
type decoder struct {
	doc  []byte // the whole document: values are sub-slices of it
	path []pathElem
}

func (d *decoder) pushKey(k string) { d.path = append(d.path, pathElem{key: k, index: -1}) }
func (d *decoder) pushIndex(i int, name string) {
	d.path = append(d.path, pathElem{index: i, name: name})
}
func (d *decoder) pop() { d.path = d.path[:len(d.path)-1] }

// pathString formats the decoder's current path in the scheme of
// Problem.Path.
func (d *decoder) pathString() string {
	var b strings.Builder
	for _, e := range d.path {
		if e.index < 0 {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
			continue
		}
		writeIndex(&b, e.index, e.name)
	}
	return b.String()
}

// writeIndex writes "[3]" or "[3 'Sales']", doubling quotes in the name as
// DAX does.
func writeIndex(b *strings.Builder, i int, name string) {
	b.WriteByte('[')
	b.WriteString(strconv.Itoa(i))
	if name != "" {
		b.WriteString(" '")
		b.WriteString(strings.ReplaceAll(name, "'", "''"))
		b.WriteByte('\'')
	}
	b.WriteByte(']')
}

// offset returns where v starts in the document, or -1 when v is not a
// sub-slice of it. A sub-slice shares the document's backing array, so its
// capacity tells how far from the start it begins.
func (d *decoder) offset(v []byte) int {
	if cap(v) == 0 || cap(v) > cap(d.doc) {
		return -1
	}
	off := cap(d.doc) - cap(v)
	full := d.doc[:cap(d.doc)]
	if off > len(d.doc) || &full[off] != &v[:1][0] {
		return -1
	}
	return off
}

// errorf returns a schema error located at value v.
func (d *decoder) errorf(v []byte, format string, args ...any) error {
	e := &ParseError{Path: d.pathString(), Msg: fmt.Sprintf(format, args...), Err: ErrSchema}
	if off := d.offset(trimSpace(v)); off >= 0 {
		e.Line, e.Column = lineCol(d.doc, off)
	}
	return e
}

// mismatch reports a value of the wrong JSON type.
func (d *decoder) mismatch(v []byte, want string) error {
	return d.errorf(v, "expected %s, got %s", want, describe(v))
}

// describe names a JSON value for an error message, quoting short scalars.
func describe(v []byte) string {
	v = trimSpace(v)
	k := kindOf(v)
	switch k {
	case kindString, kindNumber, kindBool:
		s := string(v)
		if utf8.RuneCountInString(s) > 40 {
			r := []rune(s)
			s = string(r[:37]) + "..."
		}
		return k.String() + " (" + s + ")"
	}
	return k.String()
}

// lineCol returns the 1-based line and column (in characters) of a byte
// offset.
func lineCol(doc []byte, off int) (line, col int) {
	if off > len(doc) {
		off = len(doc)
	}
	line = 1 + bytes.Count(doc[:off], []byte{'\n'})
	start := bytes.LastIndexByte(doc[:off], '\n') + 1
	col = 1 + utf8.RuneCount(doc[start:off])
	return line, col
}

// nameOf returns the value of a member "name" when it is a string, to label
// array elements in paths.
func nameOf(ms []member) string {
	for _, m := range ms {
		if m.key == "name" && kindOf(m.value) == kindString {
			s, err := unquote(trimSpace(m.value))
			if err == nil {
				return s
			}
		}
	}
	return ""
}

// decodeObject decodes a JSON object into o.
func decodeObject(d *decoder, v []byte, o object) error {
	if k := kindOf(v); k != kindObject {
		return d.mismatch(v, "an object")
	}
	ms, err := splitObject(v)
	if err != nil {
		return d.errorf(v, "%v", err)
	}
	return decodeMembers(d, ms, o)
}

// decodeMembers decodes the members of an object already split.
func decodeMembers(d *decoder, ms []member, o object) error {
	ps := o.props()
	for _, p := range ps {
		p.reset()
	}
	if i := duplicate(ms); i >= 0 {
		d.pushKey(ms[i].key)
		err := d.errorf(ms[i].value, "duplicate member %q", ms[i].key)
		d.pop()
		return err
	}
	for _, m := range ms {
		p := findProp(ps, m.key)
		if p == nil {
			continue
		}
		d.pushKey(m.key)
		err := p.decode(d, m.value)
		d.pop()
		if err != nil {
			return err
		}
	}
	o.rawObject().members = ms
	return nil
}

// duplicate returns the index of the first member whose key an earlier
// member has, or -1. Objects with many members (hostile ones) are checked
// through a map so that the check stays linear.
func duplicate(ms []member) int {
	if len(ms) <= 16 {
		for i := 1; i < len(ms); i++ {
			for _, prev := range ms[:i] {
				if prev.key == ms[i].key {
					return i
				}
			}
		}
		return -1
	}
	seen := make(map[string]struct{}, len(ms))
	for i, m := range ms {
		if _, ok := seen[m.key]; ok {
			return i
		}
		seen[m.key] = struct{}{}
	}
	return -1
}

func findProp(ps []prop, key string) prop {
	for _, p := range ps {
		if p.key() == key {
			return p
		}
	}
	return nil
}

// encoder writes JSON.
type encoder struct {
	buf bytes.Buffer
}

// writeString writes s as a JSON string.
func (e *encoder) writeString(s string) {
	e.buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			e.buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				e.buf.WriteByte('\\')
				e.buf.WriteByte(c)
			case '\n':
				e.buf.WriteString(`\n`)
			case '\r':
				e.buf.WriteString(`\r`)
			case '\t':
				e.buf.WriteString(`\t`)
			default:
				fmt.Fprintf(&e.buf, `\u%04x`, c)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			e.buf.WriteString(s[start:i])
			e.buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript; escape
		// them as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			e.buf.WriteString(s[start:i])
			fmt.Fprintf(&e.buf, `\u%04x`, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	e.buf.WriteString(s[start:])
	e.buf.WriteByte('"')
}

// encodeObject writes o: its original members in their original order,
// each from its original bytes unless its field has changed, then the
// modelled properties it did not have that now hold non-default values.
func encodeObject(e *encoder, o object) error {
	ps := o.props()
	done := make([]bool, len(ps))
	e.buf.WriteByte('{')
	first := true
	sep := func(key string) {
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		e.writeString(key)
		e.buf.WriteByte(':')
	}
	d := &decoder{}
	for _, m := range o.rawObject().members {
		i := -1
		for j, p := range ps {
			if p.key() == m.key {
				i = j
				break
			}
		}
		if i < 0 {
			sep(m.key)
			e.buf.Write(trimSpace(m.value))
			continue
		}
		if done[i] {
			continue // a duplicate member: decoding refuses these
		}
		done[i] = true
		sep(m.key)
		if ps[i].same(d, m.value) {
			e.buf.Write(trimSpace(m.value))
			continue
		}
		if err := ps[i].encode(e, m.value); err != nil {
			return err
		}
	}
	for i, p := range ps {
		if done[i] || p.omit() {
			continue
		}
		sep(p.key())
		if err := p.encode(e, nil); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// marshal encodes an object to a fresh byte slice.
func marshal(o object) ([]byte, error) {
	var e encoder
	if err := encodeObject(&e, o); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// unmarshal decodes an object from data handed over by encoding/json (or
// anyone else): data is copied because the object keeps sub-slices of it.
func unmarshal(data []byte, o object) error {
	doc := bytes.Clone(data)
	d := &decoder{doc: doc}
	return decodeObject(d, doc, o)
}
