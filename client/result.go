package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/value"
)

// Kind is the type of a result value or column.
type Kind uint8

// Kinds. A column's kind is that of all its non-null values; Variant when
// they differ, Null when there are none.
const (
	Null Kind = iota
	Integer
	Decimal
	Text
	Boolean
	DateTime
	Variant
)

var kindNames = [...]string{"null", "integer", "decimal", "text", "boolean", "dateTime", "variant"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's name, as in String.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Value is one cell of a query result.
//
// Numbers keep the exact text the server sent (String returns it), so that
// currency amounts survive without binary rounding; Float gives them as
// float64. Dates and times are OLE Automation dates underneath (days since
// 1899-12-30, as in DAX), available as time.Time (UTC wall clock, rounded
// to the millisecond) through Time.
type Value struct {
	kind Kind
	s    string // Text: the text; Integer, Decimal: the number as sent
	bits uint64 // Integer: int64; Decimal, DateTime: float64 bits; Boolean: 0 or 1
}

// Kind returns the value's kind; Null for BLANK.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether the value is BLANK.
func (v Value) IsNull() bool { return v.kind == Null }

// Int returns an Integer, or a Decimal with no fraction that fits.
func (v Value) Int() (int64, bool) {
	switch v.kind {
	case Integer:
		return int64(v.bits), true
	case Decimal:
		f := math.Float64frombits(v.bits)
		if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return int64(f), true
		}
	}
	return 0, false
}

// Float returns a number as float64.
func (v Value) Float() (float64, bool) {
	switch v.kind {
	case Integer:
		return float64(int64(v.bits)), true
	case Decimal:
		return math.Float64frombits(v.bits), true
	}
	return 0, false
}

// Text returns a Text value.
func (v Value) Text() (string, bool) { return v.s, v.kind == Text }

// Bool returns a Boolean value.
func (v Value) Bool() (bool, bool) { return v.bits == 1, v.kind == Boolean }

// Time returns a DateTime value.
func (v Value) Time() (time.Time, bool) {
	if v.kind != DateTime {
		return time.Time{}, false
	}
	return value.ToTime(math.Float64frombits(v.bits)), true
}

// OLE returns a DateTime value as an OLE Automation date.
func (v Value) OLE() (float64, bool) {
	if v.kind != DateTime {
		return 0, false
	}
	return math.Float64frombits(v.bits), true
}

// Interface returns the value as nil, int64, float64, string, bool or
// time.Time.
func (v Value) Interface() any {
	switch v.kind {
	case Integer:
		return int64(v.bits)
	case Decimal:
		return math.Float64frombits(v.bits)
	case Text:
		return v.s
	case Boolean:
		return v.bits == 1
	case DateTime:
		t, _ := v.Time()
		return t
	}
	return nil
}

// String returns the value as it came on the wire: numbers exactly as
// sent, dates in ISO 8601 without a zone (2019-05-18T00:00:00), booleans
// as true and false, BLANK as "".
func (v Value) String() string {
	switch v.kind {
	case Integer, Decimal, Text:
		return v.s
	case Boolean:
		if v.bits == 1 {
			return "true"
		}
		return "false"
	case DateTime:
		return value.FormatISO(math.Float64frombits(v.bits))
	}
	return ""
}

// MarshalJSON writes the value in the executeQueries form it came in.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case Null:
		return []byte("null"), nil
	case Integer, Decimal:
		if _, ok := specialFloats[v.s]; ok {
			return json.Marshal(v.s) // as the server wrote it: JSON has no NaN
		}
		return []byte(v.s), nil
	case Boolean:
		return []byte(v.String()), nil
	}
	return json.Marshal(v.String())
}

// Column is a column of a result.
type Column struct {
	// Name is the column as the server names it: "Table[Column]" for a
	// model column, "[Name]" for a measure or an added column.
	Name string `json:"name"`
	// Type is the kind of all the column's non-null values.
	Type Kind `json:"type"`
}

// Result is the table of one EVALUATE.
type Result struct {
	Columns []Column
	Rows    [][]Value
	// More holds the tables of further EVALUATE statements of the same
	// query, in order.
	More []*Result
	// Warnings are problems the server reported along with the rows,
	// such as an answer cut at the size limits of executeQueries.
	Warnings []string
}

// Index returns the position of the column named name (case-insensitive),
// or -1.
func (r *Result) Index(name string) int {
	for i, c := range r.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// rawKind is what a cell looked like on the wire, before its column's
// type is known.
const (
	rawNull = iota
	rawInt
	rawDec
	rawString
	rawBool
	rawSpecial // "NaN", "Infinity" or "-Infinity": a decimal JSON cannot hold
)

// specialFloats are the strings executeQueries writes for the decimals
// JSON numbers cannot express.
var specialFloats = map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}

// wireAnswer is the executeQueries answer down to its rows, which are
// read by readRow: they are JSON objects whose key order is the column
// order, which unmarshalling into maps would lose.
type wireAnswer struct {
	Results []struct {
		Tables []struct {
			Rows  []json.RawMessage `json:"rows"`
			Error *wireError        `json:"error"`
		} `json:"tables"`
		Error *wireError `json:"error"`
	} `json:"results"`
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (w *wireError) toError() *Error {
	e := &Error{Code: clean(w.Code, 200), Message: clean(w.Message, 4000)}
	if e.Message == "" {
		e.Message = "the server reported an error with no message"
	}
	return e
}

// decodeQueryResult reads an executeQueries answer.
func decodeQueryResult(body []byte) (*Result, error) {
	var ans wireAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "answer"
			}
			return nil, fmt.Errorf("decode query answer: %s is a JSON %s, want %s", field, te.Value, jsonKind(te.Type))
		}
		return nil, fmt.Errorf("decode query answer: %w", err)
	}
	var tables []*Result
	var warnings []string
	var qerr *Error
	for _, r := range ans.Results {
		for ti, t := range r.Tables {
			res, err := decodeRows(t.Rows)
			if err != nil {
				return nil, fmt.Errorf("decode query answer: tables[%d]: %w", ti, err)
			}
			if t.Error != nil {
				// Data came with the error: executeQueries reports an
				// answer cut at its limits this way, and the rows are
				// still good.
				res.Warnings = append(res.Warnings, t.Error.toError().Message)
			}
			tables = append(tables, res)
		}
		switch {
		case r.Error == nil:
		case len(r.Tables) > 0:
			warnings = append(warnings, r.Error.toError().Message)
		case qerr == nil:
			// Power BI reports some query errors inside a 200 answer;
			// they are the caller's, as a 400 would be.
			qerr = r.Error.toError()
			qerr.StatusCode = 400
		}
	}
	if qerr != nil && len(tables) == 0 {
		return nil, qerr
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("decode query answer: no results[].tables[]")
	}
	first := tables[0]
	first.More = tables[1:]
	first.Warnings = append(first.Warnings, warnings...)
	return first, nil
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

// decodeRows reads the rows of one table.
func decodeRows(rows []json.RawMessage) (*Result, error) {
	res := &Result{}
	index := map[string]int{}
	raws := make([][]rawCell, 0, len(rows))
	for r, raw := range rows {
		var row []rawCell
		err := readRow(raw, func(col string, cell rawCell) {
			c, ok := index[col]
			if !ok {
				c = len(res.Columns)
				index[col] = c
				res.Columns = append(res.Columns, Column{Name: col})
			}
			if row == nil {
				row = make([]rawCell, len(res.Columns))
			}
			for len(row) <= c {
				row = append(row, rawCell{})
			}
			row[c] = cell
		})
		if err != nil {
			return nil, fmt.Errorf("rows[%d]%w", r, err)
		}
		raws = append(raws, row)
	}
	typeColumns(res, raws)
	return res, nil
}

type rawCell struct {
	kind uint8
	s    string
	b    bool
}

// readRow reads one row object, calling f with each column and value in
// order. The row comes from json.Unmarshal, so it is valid JSON; readRow
// checks only that it is a flat object of scalars.
func readRow(b []byte, f func(col string, cell rawCell)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fmt.Errorf(" is %s, want an object", valueName(b, i))
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		key, next, err := readString(b, i)
		if err != nil {
			return err
		}
		i = skipSpace(b, next)
		i = skipSpace(b, i+1) // ':'
		var cell rawCell
		switch c := b[i]; {
		case c == '"':
			var s string
			s, i, err = readString(b, i)
			if err != nil {
				return err
			}
			cell = rawCell{kind: rawString, s: s}
			if _, ok := specialFloats[s]; ok {
				cell.kind = rawSpecial
			}
		case c == 't':
			cell, i = rawCell{kind: rawBool, b: true}, i+4
		case c == 'f':
			cell, i = rawCell{kind: rawBool}, i+5
		case c == 'n':
			cell, i = rawCell{}, i+4
		case c == '-' || c >= '0' && c <= '9':
			j := i
			for j < len(b) && strings.IndexByte("+-.eE0123456789", b[j]) >= 0 {
				j++
			}
			cell = numberCell(string(b[i:j]))
			i = j
		default:
			return fmt.Errorf("[%q]: a value is %s, not a scalar", key, valueName(b, i))
		}
		f(key, cell)
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

func numberCell(s string) rawCell {
	if !strings.ContainsAny(s, ".eE") {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return rawCell{kind: rawInt, s: s}
		}
	}
	return rawCell{kind: rawDec, s: s}
}

// readString reads the JSON string starting at b[i] (a quote) and
// returns it with the index after its closing quote.
func readString(b []byte, i int) (string, int, error) {
	j := i + 1
	plain := true
	for j < len(b) && b[j] != '"' {
		if b[j] == '\\' {
			plain = false
			j++
		} else if b[j] >= 0x80 {
			plain = false
		}
		j++
	}
	if j >= len(b) {
		return "", j, fmt.Errorf(": unterminated string")
	}
	if plain {
		return string(b[i+1 : j]), j + 1, nil
	}
	// Escapes and non-ASCII text go through encoding/json, which also
	// turns invalid UTF-8 into U+FFFD.
	var s string
	if err := json.Unmarshal(b[i:j+1], &s); err != nil {
		return "", j + 1, fmt.Errorf(": %v", err)
	}
	return s, j + 1, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func valueName(b []byte, i int) string {
	if i >= len(b) {
		return "nothing"
	}
	switch b[i] {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// typeColumns settles each column's kind from its cells and builds the
// typed rows.
func typeColumns(res *Result, raws [][]rawCell) {
	n := len(res.Columns)
	for c := 0; c < n; c++ {
		var seen [6]bool
		allDates := true
		for _, row := range raws {
			if c >= len(row) {
				continue
			}
			cell := row[c]
			seen[cell.kind] = true
			if cell.kind == rawString && allDates {
				if _, ok := parseISO(cell.s); !ok {
					allDates = false
				}
			}
		}
		if seen[rawSpecial] {
			if seen[rawString] || seen[rawBool] || !seen[rawInt] && !seen[rawDec] {
				// Among text, or alone, they are text.
				seen[rawString] = true
				allDates = false
			} else {
				seen[rawDec] = true
			}
		}
		k := Null
		switch {
		case seen[rawString] && !seen[rawInt] && !seen[rawDec] && !seen[rawBool]:
			k = Text
			if allDates {
				k = DateTime
			}
		case (seen[rawInt] || seen[rawDec]) && !seen[rawString] && !seen[rawBool]:
			k = Integer
			if seen[rawDec] {
				k = Decimal
			}
		case seen[rawBool] && !seen[rawString] && !seen[rawInt] && !seen[rawDec]:
			k = Boolean
		case seen[rawString] || seen[rawInt] || seen[rawDec] || seen[rawBool]:
			k = Variant
		}
		res.Columns[c].Type = k
	}
	res.Rows = make([][]Value, len(raws))
	cells := make([]Value, len(raws)*n)
	for r, row := range raws {
		out := cells[r*n : (r+1)*n : (r+1)*n]
		for c := range row {
			out[c] = typedValue(row[c], res.Columns[c].Type)
		}
		res.Rows[r] = out
	}
}

func typedValue(cell rawCell, col Kind) Value {
	switch cell.kind {
	case rawBool:
		if cell.b {
			return Value{kind: Boolean, bits: 1}
		}
		return Value{kind: Boolean}
	case rawInt:
		if col == Decimal {
			f, _ := strconv.ParseFloat(cell.s, 64)
			return Value{kind: Decimal, s: cell.s, bits: math.Float64bits(f)}
		}
		n, _ := strconv.ParseInt(cell.s, 10, 64)
		return Value{kind: Integer, s: cell.s, bits: uint64(n)}
	case rawDec:
		// ParseFloat gives ±Inf with ErrRange for huge exponents; keep the
		// value, whose exact text is still there.
		f, _ := strconv.ParseFloat(cell.s, 64)
		return Value{kind: Decimal, s: cell.s, bits: math.Float64bits(f)}
	case rawSpecial:
		if col == Decimal {
			return Value{kind: Decimal, s: cell.s, bits: math.Float64bits(specialFloats[cell.s])}
		}
		return Value{kind: Text, s: cell.s}
	case rawString:
		if col == DateTime {
			ole, _ := parseISO(cell.s)
			return Value{kind: DateTime, bits: math.Float64bits(ole)}
		}
		return Value{kind: Text, s: cell.s}
	}
	return Value{}
}

// parseISO reads an ISO 8601 date and time as executeQueries writes it:
// 2019-05-18T00:00:00, with optional fractional seconds and an optional Z.
// It returns the OLE date.
func parseISO(s string) (float64, bool) {
	if len(s) < 19 || len(s) > 40 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999", strings.TrimSuffix(s, "Z"))
	if err != nil || t.Year() < 100 {
		return 0, false
	}
	return value.FromTime(t), true
}

func skip(d *json.Decoder) error {
	var v json.RawMessage
	return d.Decode(&v)
}
