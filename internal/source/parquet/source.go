package parquet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/source/csv"
	"github.com/meridian-olap/meridian/internal/value"
)

// Column is one column a Source produces.
type Column struct {
	Name string
	// Field is the index of the file's column in the schema ReadSchema
	// returned; a negative Field means the column has no field behind it
	// and is always BLANK.
	Field int
	// Kind is the Power Query type the column is converted to when Typed
	// (Table.TransformColumnTypes); otherwise the file's own type is kept.
	Kind  csv.Kind
	Typed bool
}

// Config describes a Parquet source.
type Config struct {
	// Name names the file in errors.
	Name string
	// Open opens the file; it is called once per Scan and the file is
	// closed by the Scan. An *os.File is read in place; any other reader
	// is read into memory (at most MaxInMemory bytes).
	Open func() (io.ReadCloser, error)
	// Schema is the file's columns as ReadSchema returned them. A Scan
	// checks that the file still has them.
	Schema []Field
	// Columns are the columns produced, in order.
	Columns []Column
	// Skip is the number of rows skipped before data (Table.Skip).
	Skip int64
}

// Source streams a Parquet file into a sink. It implements source.Source.
type Source struct {
	cfg    Config
	fields []source.Field
}

// NewSource checks a configuration and returns its source: every column
// must name a loadable field and a conversion Meridian supports.
func NewSource(cfg Config) (*Source, error) {
	if cfg.Open == nil {
		return nil, fmt.Errorf("parquet source %s: no open function", cfg.Name)
	}
	if cfg.Skip < 0 {
		return nil, fmt.Errorf("parquet source %s: negative skip", cfg.Name)
	}
	s := &Source{cfg: cfg}
	s.cfg.Columns = append([]Column(nil), cfg.Columns...)
	s.cfg.Schema = append([]Field(nil), cfg.Schema...)
	for i, c := range s.cfg.Columns {
		if c.Field >= len(cfg.Schema) {
			return nil, fmt.Errorf("parquet source %s: column %q: field %d of %d: %w", cfg.Name, c.Name, c.Field, len(cfg.Schema), ErrColumn)
		}
		if c.Field < 0 {
			s.cfg.Columns[i].Kind, s.cfg.Columns[i].Typed = csv.Null, true
			s.fields = append(s.fields, source.Field{Name: c.Name, Type: value.String})
			continue
		}
		f := cfg.Schema[c.Field]
		if f.Unsupported != "" {
			return nil, fmt.Errorf("parquet source %s: column %q (%s) cannot be loaded: %s: %w", cfg.Name, f.Name, f.Parquet, f.Unsupported, ErrColumn)
		}
		typ := f.Type
		if c.Typed {
			if c.Kind > csv.Null {
				return nil, fmt.Errorf("parquet source %s: column %q: kind %d: %w", cfg.Name, c.Name, c.Kind, ErrColumn)
			}
			if !convertible(f.Type, c.Kind) {
				return nil, fmt.Errorf("parquet source %s: column %q holds %s values (%s), which do not convert to %s: %w",
					cfg.Name, c.Name, typeNoun(f.Type), f.Parquet, c.Kind, ErrColumn)
			}
			typ = c.Kind.ValueType()
		}
		s.fields = append(s.fields, source.Field{Name: c.Name, Type: typ})
	}
	return s, nil
}

// Fields returns the columns the source produces.
func (s *Source) Fields() []source.Field { return append([]source.Field(nil), s.fields...) }

// Config returns the configuration the source was made from.
func (s *Source) Config() Config {
	c := s.cfg
	c.Columns = append([]Column(nil), c.Columns...)
	c.Schema = append([]Field(nil), c.Schema...)
	return c
}

func typeNoun(t value.Type) string {
	switch t {
	case value.Integer:
		return "whole number"
	case value.Decimal:
		return "decimal number"
	case value.Currency:
		return "fixed decimal number"
	case value.Boolean:
		return "true/false"
	case value.DateTime:
		return "date/time"
	}
	return "text"
}

// CanConvert reports whether a column whose values are of type t (a
// Field's Type) can be converted to kind k.
func CanConvert(t value.Type, k csv.Kind) bool { return convertible(t, k) }

// convertible reports whether values of type t convert to kind k.
func convertible(t value.Type, k csv.Kind) bool {
	switch k {
	case csv.Text, csv.Null:
		return true
	case csv.Int, csv.Number, csv.Currency, csv.Percentage:
		return t == value.Integer || t == value.Decimal || t == value.Currency || t == value.Boolean || t == value.String
	case csv.Bool:
		return t == value.Boolean || t == value.Integer || t == value.Decimal || t == value.Currency || t == value.String
	case csv.Date, csv.DateTime, csv.DateTimeZone, csv.Time:
		return t == value.DateTime || t == value.String
	}
	return false
}

// batch is the most values of one column decoded at a time.
const batch = 1024

// Scan reads the file and pushes every row (after Skip) into sink.
func (s *Source) Scan(ctx context.Context, sink source.Sink) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := openFile(s.cfg.Name, s.cfg.Open)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.checkSchema(f); err != nil {
		return err
	}
	sc := &scan{s: s, f: f, sink: sink, last: -1}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s%s: damaged data (%v): %w", s.cfg.Name, sc.where(), r, ErrFormat)
		}
	}()
	return sc.run(ctx)
}

// ScanParallel reads the file in up to n pieces at once, each a run of
// whole row groups, piece i into sink(i), the pieces in file order. A file
// of one row group, one not on disk, or a source that skips rows, is not
// cut: it returns
// source.ErrNotParallel at once. Any error of a piece also gives
// ErrNotParallel, so that the caller reads the file with Scan, which
// reports the first error in file order.
func (s *Source) ScanParallel(ctx context.Context, n int, sink func(i int) source.Sink) (int, error) {
	if n < 2 || s.cfg.Skip > 0 {
		return 0, source.ErrNotParallel
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f, err := openFile(s.cfg.Name, s.cfg.Open)
	if err != nil {
		return 0, source.ErrNotParallel
	}
	if _, onDisk := f.ra.(*os.File); !onDisk {
		// A file held in memory would be held once per piece.
		f.Close()
		return 0, source.ErrNotParallel
	}
	groups := f.f.RowGroups()
	total := int64(0)
	for _, rg := range groups {
		total += max(rg.NumRows(), 0)
	}
	f.Close()
	if len(groups) < 2 {
		return 0, source.ErrNotParallel
	}
	// Cut where the rows so far pass each piece's share.
	n = min(n, len(groups))
	starts := []int{0}
	seen := int64(0)
	for g, rg := range groups[:len(groups)-1] {
		seen += max(rg.NumRows(), 0)
		if len(starts) < n && seen*int64(n) >= total*int64(len(starts)) {
			starts = append(starts, g+1)
		}
	}
	starts = append(starts, len(groups))
	pieces := len(starts) - 1
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < pieces; i++ {
		sk := sink(i)
		g.Go(func() (err error) {
			f, err := openFile(s.cfg.Name, s.cfg.Open)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := s.checkSchema(f); err != nil {
				return err
			}
			if len(f.f.RowGroups()) != len(groups) {
				return fmt.Errorf("read %s: the file changed while read: %w", s.cfg.Name, ErrChanged)
			}
			sc := &scan{s: s, f: f, sink: sk, first: starts[i], last: starts[i+1]}
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("read %s%s: damaged data (%v): %w", s.cfg.Name, sc.where(), r, ErrFormat)
				}
			}()
			return sc.run(gctx)
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, source.ErrNotParallel
	}
	return pieces, nil
}

func (s *Source) checkSchema(f *file) error {
	for _, c := range s.cfg.Columns {
		if c.Field < 0 {
			continue
		}
		want := s.cfg.Schema[c.Field]
		if c.Field >= len(f.leaves) {
			return fmt.Errorf("read %s: column %q is gone: %w", s.cfg.Name, want.Name, ErrChanged)
		}
		got := f.leaves[c.Field]
		if got.Name != want.Name || got.Type != want.Type || got.Kind != want.Kind || got.Unsupported != "" {
			return fmt.Errorf("read %s: column %d was %q (%s) and is now %q (%s): %w",
				s.cfg.Name, c.Field+1, want.Name, want.Parquet, got.Name, got.Parquet, ErrChanged)
		}
	}
	return nil
}

// scan is one Scan in progress.
type scan struct {
	s    *Source
	f    *file
	sink source.Sink
	// where the scan is, for errors.
	group int
	row   int64 // row within the group, from 0
	cols  []*colReader
	// first and last bound the row groups read: [first, last), or from
	// first to the end when last is negative.
	first, last int
}

func (sc *scan) where() string {
	return fmt.Sprintf(" row group %d, row %d", sc.group+1, sc.row+1)
}

// colReader reads the values of one selected column of a row group, one
// page at a time.
type colReader struct {
	col   *Column
	leaf  *leaf
	pages pq.Pages
	page  pq.Page
	vals  pq.ValueReader
	buf   []pq.Value
	n     int // values in buf
	pos   int // next value in buf
	done  bool
	fast  fastPath
	mul   int64 // fastCurrency: the factor from the file's scale to four places
	// A page of a column on a fast path without nulls is decoded whole
	// into ints (Int and Currency paths) or floats (Double and Date) and
	// passed on in runs: typed is set while such a page is read.
	typed  bool
	ints   []int64
	floats []float64
	i32    []int32
}

// fastPath is a direct way to deliver the values of a column read with
// the file's own type, the common case, without the general decoding.
type fastPath uint8

const (
	fastNone fastPath = iota
	fastInt32
	fastInt64
	fastDouble
	fastDate
	fastString
	fastCurrency32
	fastCurrency64
)

func fastPathOf(c *Column, l *leaf) (fastPath, int64) {
	if c.Typed && c.Kind != l.Kind {
		return fastNone, 0
	}
	switch {
	case l.native == nInt && l.phys == pq.Int32:
		return fastInt32, 0
	case l.native == nInt && l.phys == pq.Int64:
		return fastInt64, 0
	case l.native == nDouble:
		return fastDouble, 0
	case l.native == nDate:
		return fastDate, 0
	case l.native == nString:
		return fastString, 0
	case l.native == nDecInt && l.currency && l.phys == pq.Int32:
		return fastCurrency32, pow10[4-l.scale]
	case l.native == nDecInt && l.currency && l.phys == pq.Int64:
		return fastCurrency64, pow10[4-l.scale]
	}
	return fastNone, 0
}

// fill makes sure buf holds unread values, reading the next page when the
// current one is used up; done is set at the end of the chunk. Values in
// buf stay valid until the next fill: pages are released only once every
// value read from them has been delivered.
func (r *colReader) fill() error {
	for r.pos >= r.n && !r.done {
		if r.vals != nil {
			n, err := r.vals.ReadValues(r.buf)
			r.n, r.pos = n, 0
			if err == io.EOF {
				r.vals = nil
				if n > 0 {
					return nil
				}
				continue
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return errors.New("a page gave no values")
			}
			continue
		}
		if r.page != nil {
			pq.Release(r.page)
			r.page = nil
		}
		p, err := r.pages.ReadPage()
		if err == io.EOF {
			r.done = true
			return nil
		}
		if err != nil {
			return err
		}
		r.page = p
		if n, ok := r.decodeTyped(p); ok {
			r.typed, r.n, r.pos = true, n, 0
			continue
		}
		r.typed = false
		r.vals = p.Values()
	}
	return nil
}

// gather appends to out the values of a page: src itself, or with idx
// (a dictionary-encoded page) the dictionary values src[idx[i]]. It fails
// on an index outside the dictionary.
func gather[T any](out, src []T, idx []int32, dict bool) ([]T, bool) {
	if !dict {
		return append(out, src...), true
	}
	out = slices.Grow(out, len(idx))[:len(out)+len(idx)]
	at := out[len(out)-len(idx):]
	for j, i := range idx {
		if uint32(i) >= uint32(len(src)) {
			return out, false
		}
		at[j] = src[i]
	}
	return out, true
}

// decodeTyped decodes a page of a fast-path column into ints or floats.
// It declines (false) pages with nulls, values it would not deliver as
// they are (a currency out of range, a date outside DAX's range; the
// value path reports them), and anything unexpected, which the value
// path then reads and checks.
func (r *colReader) decodeTyped(p pq.Page) (int, bool) {
	switch r.fast {
	case fastInt32, fastInt64, fastCurrency32, fastCurrency64, fastDate, fastDouble:
	default:
		return 0, false
	}
	if p.NumNulls() != 0 || len(p.DefinitionLevels()) != 0 || len(p.RepetitionLevels()) != 0 {
		return 0, false
	}
	data := p.Data()
	var idx []int32
	d := p.Dictionary()
	if d != nil {
		if data.Kind() != encoding.Int32 {
			return 0, false
		}
		idx = data.Int32()
		data = d.Page().Data()
	}
	dict := d != nil
	var ok bool
	switch r.fast {
	case fastInt64, fastCurrency64:
		if data.Kind() != encoding.Int64 {
			return 0, false
		}
		if r.ints, ok = gather(r.ints[:0], data.Int64(), idx, dict); !ok {
			return 0, false
		}
		if r.fast == fastCurrency64 {
			lo, hi := math.MinInt64/r.mul, math.MaxInt64/r.mul
			for i, u := range r.ints {
				if u > hi || u < lo {
					return 0, false
				}
				r.ints[i] = u * r.mul
			}
		}
		return len(r.ints), true
	case fastInt32, fastCurrency32, fastDate:
		if data.Kind() != encoding.Int32 {
			return 0, false
		}
		if r.i32, ok = gather(r.i32[:0], data.Int32(), idx, dict); !ok {
			return 0, false
		}
		if r.fast == fastDate {
			r.floats = r.floats[:0]
			for _, v := range r.i32 {
				d := unixOLE + float64(v)
				if !value.ValidDate(d) {
					return 0, false
				}
				r.floats = append(r.floats, d)
			}
			return len(r.floats), true
		}
		mul := int64(1)
		if r.fast == fastCurrency32 {
			mul = r.mul // at most 2^31 * 10^4: no overflow
		}
		r.ints = r.ints[:0]
		for _, v := range r.i32 {
			r.ints = append(r.ints, int64(v)*mul)
		}
		return len(r.ints), true
	case fastDouble:
		if data.Kind() != encoding.Double {
			return 0, false
		}
		if r.floats, ok = gather(r.floats[:0], data.Double(), idx, dict); !ok {
			return 0, false
		}
		return len(r.floats), true
	}
	return 0, false
}

// deliverTyped pushes the next value of a typed page.
func deliverTyped(sink source.Sink, ci int, r *colReader) {
	switch r.fast {
	case fastInt32, fastInt64:
		sink.Int(ci, r.ints[r.pos])
	case fastCurrency32, fastCurrency64:
		sink.Currency(ci, r.ints[r.pos])
	case fastDate:
		sink.Date(ci, r.floats[r.pos])
	case fastDouble:
		sink.Float(ci, r.floats[r.pos])
	}
	r.pos++
}

// deliverRun pushes the next n values of a typed page as one run.
func deliverRun(sink source.RunSink, ci int, r *colReader, n int) {
	switch r.fast {
	case fastInt32, fastInt64:
		sink.Ints(ci, r.ints[r.pos:r.pos+n])
	case fastCurrency32, fastCurrency64:
		sink.Currencies(ci, r.ints[r.pos:r.pos+n])
	case fastDate:
		sink.Dates(ci, r.floats[r.pos:r.pos+n])
	case fastDouble:
		sink.Floats(ci, r.floats[r.pos:r.pos+n])
	}
	r.pos += n
}

func (r *colReader) close() {
	if r.page != nil {
		pq.Release(r.page)
		r.page = nil
	}
	if r.pages != nil {
		r.pages.Close()
	}
}

func (sc *scan) run(ctx context.Context) error {
	skip := sc.s.cfg.Skip
	cols := sc.s.cfg.Columns
	chk := &checker{ra: sc.f.ra, size: sc.f.size}
	defer chk.close()
	meta := sc.f.f.Metadata()
	for g, rg := range sc.f.f.RowGroups() {
		if g < sc.first || (sc.last >= 0 && g >= sc.last) {
			continue
		}
		sc.group, sc.row = g, 0
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := rg.NumRows()
		if rows < 0 {
			return fmt.Errorf("read %s row group %d: %d rows: %w", sc.s.cfg.Name, g+1, rows, ErrFormat)
		}
		if skip >= rows {
			skip -= rows
			continue
		}
		chunks := rg.ColumnChunks()
		sc.cols = sc.cols[:0]
		for i := range cols {
			c := &cols[i]
			if c.Field < 0 {
				sc.cols = append(sc.cols, nil)
				continue
			}
			l := &sc.f.leaves[c.Field]
			if l.index >= len(chunks) || g >= len(meta.RowGroups) || l.index >= len(meta.RowGroups[g].Columns) {
				return fmt.Errorf("read %s row group %d: no data for column %q: %w", sc.s.cfg.Name, g+1, l.Name, ErrFormat)
			}
			values, err := chk.checkChunk(&meta.RowGroups[g].Columns[l.index].MetaData, rows)
			if err == nil && values < rows {
				err = fmt.Errorf("%d values for %d rows", values, rows)
			}
			if err != nil {
				return fmt.Errorf("read %s row group %d, column %q: %v: %w", sc.s.cfg.Name, g+1, l.Name, err, ErrFormat)
			}
			r := &colReader{col: c, leaf: l, pages: chunks[l.index].Pages(), buf: make([]pq.Value, batch)}
			r.fast, r.mul = fastPathOf(c, l)
			sc.cols = append(sc.cols, r)
		}
		if err := checkRowCount(chk, &meta.RowGroups[g], rows, sc.cols); err != nil {
			return fmt.Errorf("read %s row group %d: %v: %w", sc.s.cfg.Name, g+1, err, ErrFormat)
		}
		err := sc.group1(ctx, rows, skip)
		for _, r := range sc.cols {
			if r != nil {
				r.close()
			}
		}
		if err != nil {
			return err
		}
		skip = 0
	}
	return nil
}

// checkRowCount checks a row group's count of rows against its data when
// no selected column does: rows made of BLANKs only would otherwise be
// delivered for as long as a damaged footer claims.
func checkRowCount(chk *checker, rg *format.RowGroup, rows int64, cols []*colReader) error {
	for _, r := range cols {
		if r != nil {
			return nil // the selected columns' pages were checked against rows
		}
	}
	if len(rg.Columns) == 0 {
		if rows > 0 {
			return fmt.Errorf("%d rows and no column", rows)
		}
		return nil
	}
	values, err := chk.checkChunk(&rg.Columns[0].MetaData, rows)
	if err != nil {
		return err
	}
	if values < rows {
		return fmt.Errorf("%d rows, but its first column holds %d values", rows, values)
	}
	return nil
}

// group1 reads one row group of rows rows, skipping the first skip.
func (sc *scan) group1(ctx context.Context, rows, skip int64) error {
	name := sc.s.cfg.Name
	if skip > 0 {
		for _, r := range sc.cols {
			if r == nil {
				continue
			}
			if err := r.pages.SeekToRow(skip); err != nil {
				return fmt.Errorf("read %s row group %d: seek to row %d: %v: %w", name, sc.group+1, skip+1, err, ErrFormat)
			}
		}
		sc.row = skip
	}
	for sc.row < rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Deliver as many rows as every column has decoded.
		n := min(int64(batch), rows-sc.row)
		for _, r := range sc.cols {
			if r == nil {
				continue
			}
			if err := r.fill(); err != nil {
				return fmt.Errorf("read %s%s, column %q: %v: %w", name, sc.where(), r.leaf.Name, err, ErrFormat)
			}
			if r.pos >= r.n {
				return fmt.Errorf("read %s%s, column %q: the column ends before the row group's %d rows: %w",
					name, sc.where(), r.leaf.Name, rows, ErrFormat)
			}
			n = min(n, int64(r.n-r.pos))
		}
		if rs, ok := sc.sink.(source.RunSink); ok {
			if err := sc.runOf(rs, int(n)); err != nil {
				return err
			}
			continue
		}
		for range n {
			for ci, r := range sc.cols {
				if r == nil {
					sc.sink.Blank(ci)
					continue
				}
				if r.typed {
					deliverTyped(sc.sink, ci, r)
					continue
				}
				v := r.buf[r.pos]
				r.pos++
				if err := deliver(sc.sink, ci, r, v); err != nil {
					return fmt.Errorf("read %s%s, column %q: %w", name, sc.where(), r.leaf.Name, err)
				}
			}
			if err := sc.sink.EndRow(); err != nil {
				return fmt.Errorf("read %s%s: %w", name, sc.where(), err)
			}
			sc.row++
		}
	}
	return nil
}

// runOf pushes the next n rows into a RunSink a column at a time.
func (sc *scan) runOf(sink source.RunSink, n int) error {
	name := sc.s.cfg.Name
	first := sc.row
	for ci, r := range sc.cols {
		switch {
		case r == nil:
			for range n {
				sink.Blank(ci)
			}
		case r.typed:
			deliverRun(sink, ci, r, n)
		default:
			for j := range n {
				sc.row = first + int64(j)
				v := r.buf[r.pos]
				r.pos++
				if err := deliver(sink, ci, r, v); err != nil {
					return fmt.Errorf("read %s%s, column %q: %w", name, sc.where(), r.leaf.Name, err)
				}
			}
		}
	}
	sc.row = first
	if err := sink.EndRows(n); err != nil {
		return fmt.Errorf("read %s row group %d, rows %d to %d: %w", name, sc.group+1, first+1, first+int64(n), err)
	}
	sc.row = first + int64(n)
	return nil
}

// cell is a value decoded from the file before conversion.
type cell struct {
	t value.Type // Blank, Boolean, Integer, Decimal, Currency, DateTime, String
	i int64      // Integer, Currency units, Boolean (0 or 1)
	f float64    // Decimal, DateTime (OLE)
	b []byte     // String
}

// deliver decodes one value and pushes it into the sink, converted.
func deliver(sink source.Sink, ci int, r *colReader, v pq.Value) error {
	if v.IsNull() {
		sink.Blank(ci)
		return nil
	}
	switch r.fast {
	case fastInt32:
		sink.Int(ci, int64(v.Int32()))
		return nil
	case fastInt64:
		sink.Int(ci, v.Int64())
		return nil
	case fastDouble:
		sink.Float(ci, v.Double())
		return nil
	case fastDate:
		if d := unixOLE + float64(v.Int32()); value.ValidDate(d) {
			sink.Date(ci, d)
			return nil
		}
	case fastString:
		sink.String(ci, v.ByteArray())
		return nil
	case fastCurrency32:
		sink.Currency(ci, int64(v.Int32())*r.mul) // at most 2^31 * 10^4: no overflow
		return nil
	case fastCurrency64:
		if u := v.Int64(); u <= math.MaxInt64/r.mul && u >= math.MinInt64/r.mul {
			sink.Currency(ci, u*r.mul)
			return nil
		}
	}
	c, err := decode(r.leaf, v)
	if err != nil {
		return err
	}
	if !r.col.Typed {
		push(sink, ci, c)
		return nil
	}
	return convert(sink, ci, r.col.Kind, c)
}

func push(sink source.Sink, ci int, c cell) {
	switch c.t {
	case value.Boolean:
		sink.Bool(ci, c.i != 0)
	case value.Integer:
		sink.Int(ci, c.i)
	case value.Currency:
		sink.Currency(ci, c.i)
	case value.Decimal:
		sink.Float(ci, c.f)
	case value.DateTime:
		sink.Date(ci, c.f)
	case value.String:
		sink.String(ci, c.b)
	default:
		sink.Blank(ci)
	}
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// decode reads a non-null value as the column's native type.
func decode(l *leaf, v pq.Value) (cell, error) {
	switch l.native {
	case nBool:
		if v.Boolean() {
			return cell{t: value.Boolean, i: 1}, nil
		}
		return cell{t: value.Boolean}, nil
	case nInt:
		if v.Kind() == pq.Int32 {
			return cell{t: value.Integer, i: int64(v.Int32())}, nil
		}
		return cell{t: value.Integer, i: v.Int64()}, nil
	case nUint32:
		return cell{t: value.Integer, i: int64(v.Uint32())}, nil
	case nUint64:
		u := v.Uint64()
		if u > math.MaxInt64 {
			return cell{}, fmt.Errorf("%d does not fit a whole number: %w", u, ErrValue)
		}
		return cell{t: value.Integer, i: int64(u)}, nil
	case nFloat:
		return cell{t: value.Decimal, f: float64(v.Float())}, nil
	case nDouble:
		return cell{t: value.Decimal, f: v.Double()}, nil
	case nFloat16:
		b := v.ByteArray()
		if len(b) != 2 {
			return cell{}, fmt.Errorf("a FLOAT16 of %d bytes: %w", len(b), ErrValue)
		}
		return cell{t: value.Decimal, f: float16(binary.LittleEndian.Uint16(b))}, nil
	case nDecInt, nDecBytes:
		return decodeDecimal(l, v)
	case nDate:
		return dateCell(unixOLE + float64(v.Int32()))
	case nTimestamp:
		n := v.Int64()
		days, rem := n/l.perDay, n%l.perDay
		if rem < 0 {
			days--
			rem += l.perDay
		}
		return dateCell(unixOLE + float64(days) + float64(rem)/float64(l.perDay))
	case nInt96:
		x := v.Int96()
		nanos := int64(x[1])<<32 | int64(x[0])
		julian := int64(int32(x[2]))
		const julianUnix = 2440588
		return dateCell(unixOLE + float64(julian-julianUnix) + float64(nanos)/86_400e9)
	case nTime:
		n := v.Int64()
		if v.Kind() == pq.Int32 {
			n = int64(v.Int32())
		}
		if n < 0 || n > l.perDay {
			return cell{}, fmt.Errorf("a time of %d units is not within a day: %w", n, ErrValue)
		}
		return cell{t: value.DateTime, f: float64(n) / float64(l.perDay)}, nil
	case nString:
		return cell{t: value.String, b: v.ByteArray()}, nil
	case nUUID:
		b := v.ByteArray()
		if len(b) != 16 {
			return cell{}, fmt.Errorf("a UUID of %d bytes: %w", len(b), ErrValue)
		}
		return cell{t: value.String, b: []byte(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))}, nil
	case nNull:
		return cell{}, nil
	}
	return cell{}, fmt.Errorf("unsupported column: %w", ErrColumn)
}

func dateCell(ole float64) (cell, error) {
	if !value.ValidDate(ole) {
		return cell{}, fmt.Errorf("the date is outside the years 100 to 9999: %w", ErrValue)
	}
	return cell{t: value.DateTime, f: ole}, nil
}

func decodeDecimal(l *leaf, v pq.Value) (cell, error) {
	var unscaled int64
	fits := true
	var bigv *big.Int
	if l.native == nDecInt {
		if v.Kind() == pq.Int32 {
			unscaled = int64(v.Int32())
		} else {
			unscaled = v.Int64()
		}
	} else {
		b := v.ByteArray()
		if len(b) == 0 || len(b) > 32 {
			return cell{}, fmt.Errorf("a DECIMAL of %d bytes: %w", len(b), ErrValue)
		}
		if len(b) <= 8 {
			// Sign-extend the big-endian two's complement.
			var x int64
			if b[0]&0x80 != 0 {
				x = -1
			}
			for _, c := range b {
				x = x<<8 | int64(c)
			}
			unscaled = x
		} else {
			bigv = new(big.Int).SetBytes(b)
			if b[0]&0x80 != 0 {
				bigv.Sub(bigv, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
			}
			if bigv.IsInt64() {
				unscaled = bigv.Int64()
			} else {
				fits = false
			}
		}
	}
	if l.currency && fits {
		m := pow10[4-l.scale]
		if unscaled > math.MaxInt64/m || unscaled < math.MinInt64/m {
			return cell{}, fmt.Errorf("%s does not fit a fixed decimal number: %w", decimalText(unscaled, l.scale), ErrValue)
		}
		return cell{t: value.Currency, i: unscaled * m}, nil
	}
	var f float64
	if fits {
		f = float64(unscaled)
	} else {
		f, _ = new(big.Float).SetInt(bigv).Float64()
	}
	if l.currency {
		return cell{}, fmt.Errorf("%g does not fit a fixed decimal number: %w", f/math.Pow10(l.scale), ErrValue)
	}
	return cell{t: value.Decimal, f: f / math.Pow10(l.scale)}, nil
}

func decimalText(unscaled int64, scale int) string {
	s := strconv.FormatInt(unscaled, 10)
	if scale == 0 {
		return s
	}
	return s[:max(0, len(s)-scale)] + "." + s[max(0, len(s)-scale):]
}

// float16 converts IEEE 754 half-precision bits.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * frac / 1024 * math.Pow(2, -14)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + frac/1024) * math.Pow(2, float64(exp-15))
}

// convert pushes a decoded value converted to kind k, as Power Query's
// Table.TransformColumnTypes does.
func convert(sink source.Sink, ci int, k csv.Kind, c cell) error {
	if c.t == value.Blank || k == csv.Null {
		sink.Blank(ci)
		return nil
	}
	if c.t == value.String && k != csv.Text {
		if csv.IsBlank(c.b) {
			sink.Blank(ci)
			return nil
		}
		if csv.ConvertText(sink, ci, k, c.b) {
			return nil
		}
		return fmt.Errorf("%q is not %s: %w", shorten(c.b), k, ErrValue)
	}
	switch k {
	case csv.Text:
		sink.String(ci, textOf(c))
		return nil
	case csv.Int, csv.Number, csv.Percentage, csv.Currency:
		var f float64
		switch c.t {
		case value.Integer, value.Boolean:
			if k == csv.Int {
				sink.Int(ci, c.i)
				return nil
			}
			if k == csv.Currency {
				if c.i > math.MaxInt64/value.CurrencyScale || c.i < math.MinInt64/value.CurrencyScale {
					return fmt.Errorf("%d does not fit a fixed decimal number: %w", c.i, ErrValue)
				}
				sink.Currency(ci, c.i*value.CurrencyScale)
				return nil
			}
			f = float64(c.i)
		case value.Currency:
			if k == csv.Currency {
				sink.Currency(ci, c.i)
				return nil
			}
			if k == csv.Int {
				// Round half to even on the units, exactly.
				q, r := c.i/value.CurrencyScale, c.i%value.CurrencyScale
				switch {
				case r > value.CurrencyScale/2 || (r == value.CurrencyScale/2 && q%2 != 0):
					q++
				case r < -value.CurrencyScale/2 || (r == -value.CurrencyScale/2 && q%2 != 0):
					q--
				}
				sink.Int(ci, q)
				return nil
			}
			f = float64(c.i) / value.CurrencyScale
		case value.Decimal:
			f = c.f
		}
		switch k {
		case csv.Int:
			r := math.RoundToEven(f)
			if math.IsNaN(r) || r >= math.MaxInt64 || r < math.MinInt64 {
				return fmt.Errorf("%g does not fit a whole number: %w", f, ErrValue)
			}
			sink.Int(ci, int64(r))
		case csv.Currency:
			u, ok := value.FloatToCurrencyUnits(f)
			if !ok {
				return fmt.Errorf("%g does not fit a fixed decimal number: %w", f, ErrValue)
			}
			sink.Currency(ci, u)
		default:
			sink.Float(ci, f)
		}
		return nil
	case csv.Bool:
		switch c.t {
		case value.Decimal:
			sink.Bool(ci, c.f != 0)
		default:
			sink.Bool(ci, c.i != 0)
		}
		return nil
	case csv.Date:
		sink.Date(ci, math.Floor(c.f))
		return nil
	case csv.Time:
		sink.Date(ci, c.f-math.Floor(c.f))
		return nil
	case csv.DateTime, csv.DateTimeZone:
		sink.Date(ci, c.f)
		return nil
	}
	return fmt.Errorf("no conversion to %s: %w", k, ErrColumn)
}

// textOf formats a value as text: numbers in DAX's general format, dates
// as en-US general dates, true/false in lower case as Power Query's
// Text.From writes them.
func textOf(c cell) []byte {
	switch c.t {
	case value.String:
		return c.b
	case value.Boolean:
		if c.i != 0 {
			return []byte("true")
		}
		return []byte("false")
	case value.Integer:
		return strconv.AppendInt(nil, c.i, 10)
	case value.Currency:
		return []byte(value.FormatCurrencyUnits(c.i))
	case value.Decimal:
		return []byte(value.FormatGeneral(c.f))
	case value.DateTime:
		return []byte(value.FormatGeneralDate(c.f))
	}
	return nil
}

// shorten bounds the bytes of a bad value quoted in an error.
func shorten(b []byte) string {
	const maxShown = 40
	if len(b) <= maxShown {
		return string(b)
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}
