package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Limits on input. A model larger or deeper than this is not a model a
// person wrote; refusing it early keeps a careless or hostile request from
// costing memory or stack.
const (
	// MaxSize is the largest document Parse and ParseCommand accept.
	MaxSize = 256 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted. Real
	// models, linguistic metadata included, stay under 20.
	MaxDepth = 128
)

// Sentinel errors. Every error of Parse and ParseCommand is a *ParseError
// that wraps one of ErrSyntax, ErrSchema, ErrTooLarge or ErrTooDeep.
var (
	// ErrSyntax is malformed JSON.
	ErrSyntax = errors.New("model: malformed JSON")
	// ErrSchema is well-formed JSON that is not valid TMSL: a member of the
	// wrong type, a duplicate member, an unknown command, a missing
	// required member.
	ErrSchema = errors.New("model: invalid TMSL")
	// ErrTooLarge is input over MaxSize.
	ErrTooLarge = errors.New("model: input too large")
	// ErrTooDeep is input nested deeper than MaxDepth.
	ErrTooDeep = errors.New("model: input nested too deeply")
	// ErrInvalid is a model that parses but does not validate; see
	// ValidationError.
	ErrInvalid = errors.New("model: invalid model")
)

// ParseError is an error in a TMSL document, with its location: a line
// and column (1-based, counted in characters) when known, and the JSON path
// of the offending value when known.
type ParseError struct {
	Line, Column int
	Path         string
	Msg          string
	Err          error // ErrSyntax, ErrSchema, ErrTooLarge or ErrTooDeep
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// prepare checks a document's size, nesting and syntax, and returns a
// private copy without a byte order mark for decoding.
func prepare(data []byte) ([]byte, error) {
	if len(data) > MaxSize {
		return nil, &ParseError{Msg: fmt.Sprintf("input is %d bytes; the limit is %d", len(data), MaxSize), Err: ErrTooLarge}
	}
	// Editors on Windows often save .bim files with a UTF-8 byte order
	// mark, which JSON does not allow.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{Line: 1, Column: 1, Msg: "empty input: expected a JSON object", Err: ErrSyntax}
	}
	if off := tooDeep(data); off >= 0 {
		line, col := lineCol(data, off)
		return nil, &ParseError{Line: line, Column: col, Msg: fmt.Sprintf("nesting deeper than %d levels", MaxDepth), Err: ErrTooDeep}
	}
	if !json.Valid(data) {
		return nil, syntaxError(data)
	}
	return bytes.Clone(data), nil
}

// tooDeep returns the offset at which nesting first exceeds MaxDepth, or
// -1.
func tooDeep(data []byte) int {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			end, ok := scanString(data, i)
			if !ok {
				return -1 // unterminated: the syntax check reports it
			}
			i = end - 1
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return i
			}
		case '}', ']':
			depth--
		}
	}
	return -1
}

// syntaxError locates the first syntax error of an invalid document.
func syntaxError(data []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		msg := "malformed JSON"
		if err != nil {
			msg = err.Error()
		}
		line, col := lineCol(data, len(data))
		return &ParseError{Line: line, Column: col, Msg: msg, Err: ErrSyntax}
	}
	// Offset counts the bytes read, the offending one included.
	off := int(se.Offset) - 1
	if off < 0 {
		off = 0
	}
	line, col := lineCol(data, off)
	msg := se.Error()
	if msg == "unexpected end of JSON input" {
		msg = "unexpected end of input: an object or array is not closed"
	}
	return &ParseError{Line: line, Column: col, Msg: msg, Err: ErrSyntax}
}

// Parse reads a TMSL database: a .bim file, or a database definition as a
// user would paste it. It accepts a bare database object and the
// createOrReplace and create commands whose definition is a database.
// Unknown properties are kept and written back by json.Marshal.
//
// Parse checks only the shape of the JSON; call Validate for the rules of
// the model.
func Parse(data []byte) (*Database, error) {
	doc, err := prepare(data)
	if err != nil {
		return nil, err
	}
	d := &decoder{doc: doc}
	if kindOf(doc) != kindObject {
		return nil, d.mismatch(doc, "a database object")
	}
	v := trimSpace(doc)
	ms, err := splitObject(v)
	if err != nil {
		return nil, d.errorf(v, "%v", err)
	}
	if len(ms) == 1 && (ms[0].key == "createOrReplace" || ms[0].key == "create") {
		d.pushKey(ms[0].key)
		if kindOf(ms[0].value) != kindObject {
			return nil, d.mismatch(ms[0].value, "an object")
		}
		inner, err := splitObject(ms[0].value)
		if err != nil {
			return nil, d.errorf(ms[0].value, "%v", err)
		}
		var def []byte
		for _, m := range inner {
			if m.key == "database" {
				def = m.value
			}
		}
		if def == nil {
			return nil, d.errorf(ms[0].value, "expected a member \"database\" holding the database definition")
		}
		d.pushKey("database")
		if kindOf(def) != kindObject {
			return nil, d.mismatch(def, "a database object")
		}
		if ms, err = splitObject(def); err != nil {
			return nil, d.errorf(def, "%v", err)
		}
	}
	db := new(Database)
	if err := decodeMembers(d, ms, db); err != nil {
		return nil, err
	}
	return db, nil
}
