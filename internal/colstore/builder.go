package colstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

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
		b.cols = append(b.cols, newBlockedColumn(s.Type))
	}
	return b
}

// Columns is the number of columns.
func (b *Builder) Columns() int { return len(b.cols) }

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

// Ints stores a run of integers, as many calls of Int would.
func (b *Builder) Ints(col int, vs []int64) {
	c := b.cols[col]
	if c.typ != value.Integer {
		for _, v := range vs {
			b.Int(col, v)
		}
		return
	}
	c.appendInts(vs)
}

// Currencies stores a run of fixed decimals, as many calls of Currency
// would.
func (b *Builder) Currencies(col int, units []int64) {
	c := b.cols[col]
	if c.typ != value.Currency {
		for _, u := range units {
			b.Currency(col, u)
		}
		return
	}
	c.appendInts(units)
}

// Floats stores a run of numbers, as many calls of Float would.
func (b *Builder) Floats(col int, vs []float64) {
	c := b.cols[col]
	if c.typ != value.Decimal {
		for _, v := range vs {
			b.Float(col, v)
		}
		return
	}
	c.appendFloats(vs)
}

// Dates stores a run of datetimes, as many calls of Date would.
func (b *Builder) Dates(col int, ole []float64) {
	c := b.cols[col]
	if c.typ != value.DateTime && c.typ != value.Decimal {
		for _, v := range ole {
			b.Date(col, v)
		}
		return
	}
	c.appendFloats(ole)
}

// EndRows completes n rows given a column at a time and returns the first
// conversion error so far.
func (b *Builder) EndRows(n int) error {
	b.rows += n
	for _, c := range b.cols {
		for c.n < b.rows {
			c.appendBlank()
		}
	}
	return b.err
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
	for _, c := range b.cols {
		c.flatten()
	}
	return &Chunk{Rows: b.rows, cols: b.cols}, nil
}

// FinishPieces returns the raw data of a partition read in pieces, one
// builder per piece in row order: the pieces' rows concatenated, as
// MergeChunks would give from their chunks, with one copy of the values
// instead of two. The builders must not be used afterwards.
func FinishPieces(ctx context.Context, pieces []*Builder) (*Chunk, error) {
	if len(pieces) == 0 {
		return nil, fmt.Errorf("colstore: no pieces to finish")
	}
	for _, b := range pieces {
		if b.err != nil {
			return nil, b.err
		}
	}
	if len(pieces) == 1 {
		return pieces[0].Finish()
	}
	out := &Chunk{}
	ncol := len(pieces[0].cols)
	for _, b := range pieces {
		if len(b.cols) != ncol {
			return nil, fmt.Errorf("colstore: merge pieces of %d and %d columns", ncol, len(b.cols))
		}
		out.Rows += b.rows
	}
	out.cols = make([]*rawColumn, ncol)
	// Merging is copying; columns are independent, so they go in parallel.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for c := 0; c < ncol; c++ {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			parts := make([]*rawColumn, len(pieces))
			for i, b := range pieces {
				parts[i] = b.cols[c]
			}
			out.cols[c] = mergeRaw(parts)
			// The pieces' copies can go while other columns merge.
			for i, b := range pieces {
				b.cols[c] = nil
				parts[i] = nil
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
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
	// A column being built keeps its ints, floats or strIDs in blocks of
	// blockLen once it outgrows one: the last block is the slice itself,
	// the full ones wait here. Appending to one ever-growing slice copies
	// every value several times over as it grows, and a merge of pieces
	// or a flatten copies each value once.
	blocked bool
	iblk    [][]int64
	fblk    [][]float64
	sblk    [][]uint32
}

// blockLen is the number of values in a full block of a column being
// built.
const blockLen = 1 << 16

// newBlockedColumn returns a column for a builder: blocked once it grows.
func newBlockedColumn(t value.Type) *rawColumn {
	c := newRawColumn(t)
	c.blocked = true
	return c
}

// full reports whether the current block of a blocked column of length n
// and capacity cp must be put aside before an append.
func (c *rawColumn) full(n, cp int) bool { return c.blocked && n == cp && cp >= blockLen }

func (c *rawColumn) pushInt(v int64) {
	if c.full(len(c.ints), cap(c.ints)) {
		c.iblk = append(c.iblk, c.ints)
		c.ints = make([]int64, 0, blockLen)
	}
	c.ints = append(c.ints, v)
}

func (c *rawColumn) pushFloat(v float64) {
	if c.full(len(c.floats), cap(c.floats)) {
		c.fblk = append(c.fblk, c.floats)
		c.floats = make([]float64, 0, blockLen)
	}
	c.floats = append(c.floats, v)
}

func (c *rawColumn) pushStrID(id uint32) {
	if c.full(len(c.strIDs), cap(c.strIDs)) {
		c.sblk = append(c.sblk, c.strIDs)
		c.strIDs = make([]uint32, 0, blockLen)
	}
	c.strIDs = append(c.strIDs, id)
}

// flatten turns a blocked column into a plain one.
func (c *rawColumn) flatten() {
	c.ints = concatBlocks(nil, c.iblk, c.ints)
	c.floats = concatBlocks(nil, c.fblk, c.floats)
	c.strIDs = concatBlocks(nil, c.sblk, c.strIDs)
	c.iblk, c.fblk, c.sblk = nil, nil, nil
	c.blocked = false
}

// concatBlocks appends the values of blocks and then of last to dst. With
// no blocks and no dst it returns last itself.
func concatBlocks[T any](dst []T, blocks [][]T, last []T) []T {
	if dst == nil && len(blocks) == 0 {
		return last
	}
	if dst == nil {
		n := len(last)
		for _, b := range blocks {
			n += len(b)
		}
		dst = make([]T, 0, n)
	}
	for _, b := range blocks {
		dst = append(dst, b...)
	}
	return append(dst, last...)
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
		c.pushInt(0)
	case value.Decimal, value.DateTime:
		c.pushFloat(0)
	case value.String:
		c.pushStrID(0)
	default:
		c.vals = append(c.vals, value.BlankValue)
	}
	c.markRow(true)
}

func (c *rawColumn) appendInt(v int64) {
	c.pushInt(v)
	c.markRow(false)
}

// appendInts appends a run of values, none BLANK.
func (c *rawColumn) appendInts(vs []int64) {
	n := len(vs)
	for len(vs) > 0 {
		if c.full(len(c.ints), cap(c.ints)) {
			c.iblk = append(c.iblk, c.ints)
			c.ints = make([]int64, 0, blockLen)
		}
		k := len(vs)
		if c.blocked && cap(c.ints) >= blockLen {
			k = min(k, cap(c.ints)-len(c.ints))
		}
		c.ints = append(c.ints, vs[:k]...)
		vs = vs[k:]
	}
	c.markRows(n)
}

// appendFloats appends a run of values, none BLANK.
func (c *rawColumn) appendFloats(vs []float64) {
	n := len(vs)
	for len(vs) > 0 {
		if c.full(len(c.floats), cap(c.floats)) {
			c.fblk = append(c.fblk, c.floats)
			c.floats = make([]float64, 0, blockLen)
		}
		k := len(vs)
		if c.blocked && cap(c.floats) >= blockLen {
			k = min(k, cap(c.floats)-len(c.floats))
		}
		c.floats = append(c.floats, vs[:k]...)
		vs = vs[k:]
	}
	c.markRows(n)
}

// markRows counts n rows that are not BLANK.
func (c *rawColumn) markRows(n int) {
	c.n += n
	for len(c.blank)*64 < c.n {
		c.blank = append(c.blank, 0)
	}
}

func (c *rawColumn) appendFloat(v float64) {
	c.pushFloat(v)
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
		c.pushStrID(id)
		c.markRow(false)
		return
	}
	c.strs = append(c.strs, string(b))
	id := uint32(len(c.strs))
	c.strMap[string(key)] = id
	c.pushStrID(id)
	c.markRow(false)
}

func (c *rawColumn) appendValue(v value.Value) {
	c.vals = append(c.vals, v)
	c.markRow(v.IsBlank())
}

// orBits sets in dst, from bit at on, the first n bits of src. Bits of
// src past n are zero, as markRow leaves them.
func orBits(dst []uint64, at int, src []uint64, n int) {
	words := (n + 63) / 64
	base, sh := at/64, uint(at%64)
	for j, w := range src[:words] {
		if w == 0 {
			continue
		}
		dst[base+j] |= w << sh
		if sh > 0 && base+j+1 < len(dst) {
			dst[base+j+1] |= w >> (64 - sh)
		}
	}
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
		orBits(m.blank, m.n, p.blank, p.n)
		m.nblank += p.nblank
		switch m.typ {
		case value.Integer, value.Currency, value.Boolean:
			m.ints = concatBlocks(m.ints, p.iblk, p.ints)
		case value.Decimal, value.DateTime:
			m.floats = concatBlocks(m.floats, p.fblk, p.floats)
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
			for _, blk := range append(p.sblk, p.strIDs) {
				for _, id := range blk {
					m.strIDs = append(m.strIDs, remap[id])
				}
			}
		default:
			m.vals = append(m.vals, p.vals...)
		}
		m.n += p.n
	}
	return m
}
