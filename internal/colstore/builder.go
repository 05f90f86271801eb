package colstore

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/meridian-olap/meridian/internal/value"
)

// ColumnSpec names a column to build and its type.
type ColumnSpec struct {
	Name string
	Type value.Type
}

// TextParser converts source text to a column's type. It returns BLANK for
// text that means no value.
type TextParser func(t value.Type, text []byte) (value.Value, error)

// BuilderOptions configure a Builder; the zero value is the defaults.
type BuilderOptions struct {
	// ParseText converts text delivered for a non-text column. The
	// default understands numbers and booleans; processing supplies one
	// that knows dates too.
	ParseText TextParser
	// EmptyTextIsBlank stores an empty string as BLANK, as Analysis
	// Services does for a null text value.
	EmptyTextIsBlank bool
}

// Builder accumulates the rows of one partition. It implements
// source.Sink: values arrive column by column, converted to each
// column's type; conversion problems are reported by EndRow. A Builder is
// used by one goroutine.
type Builder struct {
	specs []ColumnSpec
	cols  []*rawColumn
	rows  int
	err   error
	opts  BuilderOptions
}

// NewBuilder returns a builder for the given columns.
func NewBuilder(specs []ColumnSpec, opts BuilderOptions) *Builder {
	b := &Builder{specs: specs, opts: opts}
	if b.opts.ParseText == nil {
		b.opts.ParseText = ParseTextDefault
	}
	for _, s := range specs {
		b.cols = append(b.cols, newRawColumn(s.Type))
	}
	return b
}

// Rows is the number of complete rows so far.
func (b *Builder) Rows() int { return b.rows }

// ErrConvert is wrapped by errors converting a value to a column's type.
var ErrConvert = errors.New("colstore: cannot convert value")

func (b *Builder) fail(col int, format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("column %q: %w: %s", b.specs[col].Name, ErrConvert, fmt.Sprintf(format, args...))
	}
}

// Blank stores BLANK.
func (b *Builder) Blank(col int) { b.cols[col].appendBlank() }

// Int stores an integer.
func (b *Builder) Int(col int, v int64) {
	c := b.cols[col]
	switch c.typ {
	case value.Integer, value.Boolean:
		c.appendInt(v)
	case value.Currency:
		if v > math.MaxInt64/value.CurrencyScale || v < math.MinInt64/value.CurrencyScale {
			b.fail(col, "%d is out of the range of a fixed decimal", v)
			c.appendBlank()
			return
		}
		c.appendInt(v * value.CurrencyScale)
	case value.Decimal, value.DateTime:
		c.appendFloat(float64(v))
	default:
		b.storeValue(col, value.Int(v))
	}
}

// Float stores a number.
func (b *Builder) Float(col int, v float64) {
	c := b.cols[col]
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if c.typ != value.Decimal && c.typ != value.Variant && c.typ != value.String {
			b.fail(col, "%v is not a finite number", v)
			c.appendBlank()
			return
		}
	}
	switch c.typ {
	case value.Decimal, value.DateTime:
		c.appendFloat(v)
	case value.Integer:
		// Analysis Services rounds a number loaded into a whole-number column.
		r := math.Round(v)
		if math.Abs(r) >= 1<<63 {
			b.fail(col, "%v is out of the range of a whole number", v)
			c.appendBlank()
			return
		}
		c.appendInt(int64(r))
	case value.Currency:
		u, ok := value.FloatToCurrencyUnits(v)
		if !ok {
			b.fail(col, "%v is out of the range of a fixed decimal", v)
			c.appendBlank()
			return
		}
		c.appendInt(u)
	case value.Boolean:
		c.appendInt(boolInt(v != 0))
	default:
		b.storeValue(col, value.Float(v))
	}
}

// Currency stores a fixed decimal given in ten-thousandths.
func (b *Builder) Currency(col int, units int64) {
	c := b.cols[col]
	switch c.typ {
	case value.Currency:
		c.appendInt(units)
	default:
		b.storeValue(col, value.CurrencyUnits(units))
	}
}

// Bool stores a boolean.
func (b *Builder) Bool(col int, v bool) {
	c := b.cols[col]
	switch c.typ {
	case value.Boolean, value.Integer:
		c.appendInt(boolInt(v))
	default:
		b.storeValue(col, value.Bool(v))
	}
}

// Date stores a datetime (OLE days).
func (b *Builder) Date(col int, ole float64) {
	c := b.cols[col]
	switch c.typ {
	case value.DateTime, value.Decimal:
		c.appendFloat(ole)
	default:
		b.storeValue(col, value.Date(ole))
	}
}

// String stores text, converting it for non-text columns.
func (b *Builder) String(col int, text []byte) {
	c := b.cols[col]
	switch c.typ {
	case value.String:
		if len(text) == 0 && b.opts.EmptyTextIsBlank {
			c.appendBlank()
			return
		}
		c.appendString(text)
	case value.Variant:
		c.appendValue(value.Str(string(text)))
	default:
		v, err := b.opts.ParseText(c.typ, text)
		if err != nil {
			b.fail(col, "%v", err)
			c.appendBlank()
			return
		}
		b.storeValue(col, v)
	}
}

// storeValue stores a value of any type into a column, converting it.
func (b *Builder) storeValue(col int, v value.Value) {
	c := b.cols[col]
	if v.IsBlank() {
		c.appendBlank()
		return
	}
	switch c.typ {
	case value.String:
		c.appendString([]byte(v.Text()))
		return
	case value.Variant:
		c.appendValue(v)
		return
	}
	switch v.Type() {
	case value.Integer, value.Boolean:
		b.Int(col, v.AsInt())
	case value.Currency:
		if c.typ == value.Currency {
			c.appendInt(v.AsInt())
		} else {
			f, _ := v.Number()
			b.Float(col, f)
		}
	case value.Decimal, value.DateTime:
		b.Float(col, v.AsFloat())
	case value.String:
		b.String(col, []byte(v.AsString()))
	default:
		b.fail(col, "unsupported value %v", v.GoString())
		c.appendBlank()
	}
}

// Append stores a whole row of values; it is the entry point for rows
// computed by the engine (calculated tables). It returns the conversion
// error of the row, if any.
func (b *Builder) Append(row []value.Value) error {
	for i, v := range row {
		b.storeValue(i, v)
	}
	return b.EndRow()
}

// EndRow completes a row and returns the first conversion error so far.
func (b *Builder) EndRow() error {
	b.rows++
	for _, c := range b.cols {
		if c.n < b.rows {
			c.appendBlank()
		}
	}
	return b.err
}

// Finish returns the partition's raw data. The builder must not be used
// afterwards.
func (b *Builder) Finish() (*Chunk, error) {
	if b.err != nil {
		return nil, b.err
	}
	return &Chunk{Rows: b.rows, cols: b.cols}, nil
}

// Chunk is the raw, not yet encoded data of one partition.
type Chunk struct {
	Rows int
	cols []*rawColumn
}

// ParseTextDefault converts text to numbers and booleans with Go's parsers,
// trimming spaces. Empty text is BLANK. Dates are not understood.
func ParseTextDefault(t value.Type, text []byte) (value.Value, error) {
	s := strings.TrimSpace(string(text))
	if s == "" {
		return value.BlankValue, nil
	}
	switch t {
	case value.Integer:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil {
				return value.BlankValue, fmt.Errorf("%q is not a whole number", s)
			}
			return value.Float(f), nil
		}
		return value.Int(n), nil
	case value.Decimal, value.Currency:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return value.BlankValue, fmt.Errorf("%q is not a number", s)
		}
		return value.Float(f), nil
	case value.Boolean:
		switch strings.ToLower(s) {
		case "true", "1":
			return value.Bool(true), nil
		case "false", "0":
			return value.Bool(false), nil
		}
		return value.BlankValue, fmt.Errorf("%q is not true or false", s)
	}
	return value.BlankValue, fmt.Errorf("%q cannot be converted to %s", s, t)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rawColumn accumulates one column's values before encoding.
type rawColumn struct {
	typ    value.Type
	n      int
	blank  []uint64 // bit i set: row i is BLANK
	nblank int
	ints   []int64
	floats []float64
	// Text is interned as it arrives: ids in first-seen order.
	strIDs []uint32
	strs   []string
	strMap map[string]uint32 // folded text -> id (1-based)
	fold   []byte
	vals   []value.Value
}

func newRawColumn(t value.Type) *rawColumn {
	c := &rawColumn{typ: t}
	if t == value.String {
		c.strMap = make(map[string]uint32)
	}
	return c
}

func (c *rawColumn) markRow(blank bool) {
	if c.n%64 == 0 {
		c.blank = append(c.blank, 0)
	}
	if blank {
		c.blank[c.n/64] |= 1 << uint(c.n%64)
		c.nblank++
	}
	c.n++
}

func (c *rawColumn) isBlank(i int) bool { return c.blank[i/64]&(1<<uint(i%64)) != 0 }

func (c *rawColumn) appendBlank() {
	switch c.typ {
	case value.Integer, value.Currency, value.Boolean:
		c.ints = append(c.ints, 0)
	case value.Decimal, value.DateTime:
		c.floats = append(c.floats, 0)
	case value.String:
		c.strIDs = append(c.strIDs, 0)
	default:
		c.vals = append(c.vals, value.BlankValue)
	}
	c.markRow(true)
}

func (c *rawColumn) appendInt(v int64) {
	c.ints = append(c.ints, v)
	c.markRow(false)
}

func (c *rawColumn) appendFloat(v float64) {
	c.floats = append(c.floats, v)
	c.markRow(false)
}

func (c *rawColumn) appendString(b []byte) {
	var key []byte
	if isASCII(b) {
		// ASCII text folds byte by byte into a reused buffer, and a map
		// lookup keyed by string(bytes) does not allocate.
		c.fold = append(c.fold[:0], b...)
		for i, ch := range c.fold {
			if 'a' <= ch && ch <= 'z' {
				c.fold[i] = ch - ('a' - 'A')
			}
		}
		key = c.fold
	} else {
		key = []byte(value.FoldText(string(b)))
	}
	if id, ok := c.strMap[string(key)]; ok {
		c.strIDs = append(c.strIDs, id)
		c.markRow(false)
		return
	}
	c.strs = append(c.strs, string(b))
	id := uint32(len(c.strs))
	c.strMap[string(key)] = id
	c.strIDs = append(c.strIDs, id)
	c.markRow(false)
}

func (c *rawColumn) appendValue(v value.Value) {
	c.vals = append(c.vals, v)
	c.markRow(v.IsBlank())
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// MergeChunks concatenates chunks of the same columns, in order, into one:
// the rows of a partition read in parallel pieces. Text keeps the first
// spelling seen across the pieces, as a sequential read would.
func MergeChunks(chunks []*Chunk) (*Chunk, error) {
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	if len(chunks) == 0 {
		return nil, fmt.Errorf("colstore: no chunks to merge")
	}
	out := &Chunk{}
	ncol := len(chunks[0].cols)
	for _, ch := range chunks {
		if len(ch.cols) != ncol {
			return nil, fmt.Errorf("colstore: merge chunks of %d and %d columns", ncol, len(ch.cols))
		}
		out.Rows += ch.Rows
	}
	out.cols = make([]*rawColumn, ncol)
	for c := 0; c < ncol; c++ {
		parts := make([]*rawColumn, len(chunks))
		for i, ch := range chunks {
			parts[i] = ch.cols[c]
		}
		out.cols[c] = mergeRaw(parts)
	}
	return out, nil
}

func mergeRaw(parts []*rawColumn) *rawColumn {
	m := newRawColumn(parts[0].typ)
	total := 0
	for _, p := range parts {
		total += p.n
	}
	m.blank = make([]uint64, (total+63)/64)
	switch m.typ {
	case value.Integer, value.Currency, value.Boolean:
		m.ints = make([]int64, 0, total)
	case value.Decimal, value.DateTime:
		m.floats = make([]float64, 0, total)
	case value.String:
		m.strIDs = make([]uint32, 0, total)
	default:
		m.vals = make([]value.Value, 0, total)
	}
	for _, p := range parts {
		for i := 0; i < p.n; i++ {
			if p.isBlank(i) {
				m.blank[(m.n+i)/64] |= 1 << uint((m.n+i)%64)
				m.nblank++
			}
		}
		switch m.typ {
		case value.Integer, value.Currency, value.Boolean:
			m.ints = append(m.ints, p.ints...)
		case value.Decimal, value.DateTime:
			m.floats = append(m.floats, p.floats...)
		case value.String:
			remap := make([]uint32, len(p.strs)+1)
			for j, s := range p.strs {
				key := value.FoldText(s)
				id, ok := m.strMap[key]
				if !ok {
					m.strs = append(m.strs, s)
					id = uint32(len(m.strs))
					m.strMap[key] = id
				}
				remap[j+1] = id
			}
			for _, id := range p.strIDs {
				m.strIDs = append(m.strIDs, remap[id])
			}
		default:
			m.vals = append(m.vals, p.vals...)
		}
		m.n += p.n
	}
	return m
}
