package csv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/value"
)

// Kind is the conversion a column applies to its text: Power Query's type
// in Table.TransformColumnTypes.
type Kind uint8

// The kinds. Text delivers the field as it is.
const (
	Text         Kind = iota
	Int               // Int64.Type and the other integer types: ParseWhole
	Number            // type number, Double.Type, Decimal.Type: ParseFloat
	Currency          // Currency.Type: ParseCurrency
	Percentage        // Percentage.Type: ParsePercent
	Bool              // type logical: ParseBool
	Date              // type date: ParseDate
	DateTime          // type datetime: ParseDateTime
	DateTimeZone      // type datetimezone: ParseDateTime, converted to UTC
	Time              // type time: ParseTime
	Null              // a column with no field behind it: always BLANK
)

var kindNames = [...]string{
	Text: "text", Int: "whole number", Number: "number", Currency: "fixed decimal number",
	Percentage: "percentage", Bool: "true/false", Date: "date", DateTime: "date/time",
	DateTimeZone: "date/time/timezone", Time: "time", Null: "null",
}

// String names the kind as Power Query's user interface does.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ValueType is the type of the values a column of this kind delivers.
func (k Kind) ValueType() value.Type {
	switch k {
	case Int:
		return value.Integer
	case Number, Percentage:
		return value.Decimal
	case Currency:
		return value.Currency
	case Bool:
		return value.Boolean
	case Date, DateTime, DateTimeZone, Time:
		return value.DateTime
	}
	return value.String
}

// what a bad value is not, for error messages.
var kindNouns = [...]string{
	Int: "a whole number", Number: "a number", Currency: "a fixed decimal number",
	Percentage: "a percentage", Bool: "true or false", Date: "a date", DateTime: "a date and time",
	DateTimeZone: "a date and time", Time: "a time",
}

// ErrValue is wrapped by every ValueError.
var ErrValue = errors.New("csv: bad value")

// ValueError reports a field that does not convert to its column's kind.
type ValueError struct {
	File   string // as given in Config.Name
	Line   int    // line of the field in the file, from 1
	Column string // column name
	Field  int    // position of the field in its row, from 1
	Value  string // the field, shortened when long
	Kind   Kind
}

func (e *ValueError) Error() string {
	noun := "a " + e.Kind.String()
	if int(e.Kind) < len(kindNouns) && kindNouns[e.Kind] != "" {
		noun = kindNouns[e.Kind]
	}
	return fmt.Sprintf("%s line %d, column %q (field %d): %s is not %s",
		e.File, e.Line, e.Column, e.Field, strconv.Quote(e.Value), noun)
}

func (e *ValueError) Unwrap() error { return ErrValue }

// maxShown bounds the bytes of a bad value quoted in an error.
const maxShown = 40

func shorten(b []byte) string {
	if len(b) <= maxShown {
		return string(b)
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}

// Column is one column a Source produces.
type Column struct {
	Name string
	// Field is the position of the column's field in each row, from 0. A
	// row with fewer fields gives BLANK; a negative Field means the column
	// has no field at all (Kind should be Null).
	Field int
	Kind  Kind
}

// Config describes a CSV source.
type Config struct {
	// Name names the file in errors ("Sales.csv line 12, ...").
	Name string
	// Open opens the file from its start. It is called once per Scan and
	// once per FirstRow; the caller closes nothing. Going through a
	// function lets the caller apply source.Roots at each open.
	Open func() (io.ReadCloser, error)
	// Options is the dialect.
	Options Options
	// Skip is the number of rows skipped before data: 1 when the first
	// row was promoted to headers.
	Skip int
	// Columns are the columns produced, in order. Fields of a row not
	// named by any column are ignored (Power Query's Columns option and
	// ExtraValues.Ignore).
	Columns []Column
	// MaxFields, when positive, makes a row with more fields than this an
	// error (ExtraValues.Error).
	MaxFields int
}

// Source streams a CSV file into a sink, converting fields to their
// columns' kinds. It implements source.Source.
type Source struct {
	cfg    Config
	fields []source.Field
}

// NewSource checks a configuration and returns its source.
func NewSource(cfg Config) (*Source, error) {
	if cfg.Open == nil {
		return nil, fmt.Errorf("csv source %s: no open function: %w", cfg.Name, ErrOptions)
	}
	if cfg.Skip < 0 {
		return nil, fmt.Errorf("csv source %s: negative skip: %w", cfg.Name, ErrOptions)
	}
	if _, err := NewReader(eofReader{}, cfg.Options); err != nil {
		return nil, fmt.Errorf("csv source %s: %w", cfg.Name, err)
	}
	s := &Source{cfg: cfg}
	s.cfg.Columns = append([]Column(nil), cfg.Columns...)
	for i, c := range s.cfg.Columns {
		if c.Kind > Null {
			return nil, fmt.Errorf("csv source %s: column %q: kind %d: %w", cfg.Name, c.Name, c.Kind, ErrOptions)
		}
		if c.Field < 0 {
			s.cfg.Columns[i].Kind = Null
		}
		s.fields = append(s.fields, source.Field{Name: c.Name, Type: s.cfg.Columns[i].Kind.ValueType()})
	}
	return s, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Fields returns the columns the source produces.
func (s *Source) Fields() []source.Field { return append([]source.Field(nil), s.fields...) }

// Config returns the configuration the source was made from.
func (s *Source) Config() Config {
	c := s.cfg
	c.Columns = append([]Column(nil), c.Columns...)
	return c
}

// ctxEvery is how many rows pass between checks of the context.
const ctxEvery = 1024

// Scan reads the file from the start and pushes every row into sink.
// Empty or white-space fields are BLANK for every kind but Text, which
// delivers them as empty strings; a missing field (a short row) is BLANK.
func (s *Source) Scan(ctx context.Context, sink source.Sink) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := s.cfg.Open()
	if err != nil {
		return fmt.Errorf("open %s: %w", s.cfg.Name, err)
	}
	defer f.Close()
	rd, err := NewReader(f, s.cfg.Options)
	if err != nil {
		return fmt.Errorf("read %s: %w", s.cfg.Name, err)
	}
	return s.scanRows(ctx, rd, sink, s.cfg.Skip)
}

// scanRows pushes the rows of a reader into sink, skipping the first skip.
func (s *Source) scanRows(ctx context.Context, rd *Reader, sink source.Sink, skip int) error {
	if rs, ok := sink.(source.RunSink); ok && s.runnable() {
		return s.scanRuns(ctx, rd, rs, skip)
	}
	cols := s.cfg.Columns
	for row := 0; ; row++ {
		if row%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fields, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", s.cfg.Name, err)
		}
		if row < skip {
			continue
		}
		if s.cfg.MaxFields > 0 && len(fields) > s.cfg.MaxFields {
			return fmt.Errorf("%s line %d: %d fields where %d are expected: %w",
				s.cfg.Name, rd.Line(), len(fields), s.cfg.MaxFields, ErrValue)
		}
		for ci := range cols {
			c := &cols[ci]
			if uint(c.Field) >= uint(len(fields)) {
				sink.Blank(ci)
				continue
			}
			b := fields[c.Field]
			if c.Kind == Text {
				sink.String(ci, b)
				continue
			}
			if !ConvertText(sink, ci, c.Kind, b) {
				if IsBlank(b) {
					sink.Blank(ci)
					continue
				}
				return &ValueError{File: s.cfg.Name, Line: rd.FieldLine(c.Field), Column: c.Name,
					Field: c.Field + 1, Value: shorten(b), Kind: c.Kind}
			}
		}
		if err := sink.EndRow(); err != nil {
			return fmt.Errorf("%s line %d: %w", s.cfg.Name, rd.Line(), err)
		}
	}
}

// ConvertText pushes text b converted to kind k (not Text) with the
// parsers of Power Query's type conversions, and reports whether it
// converts. The Parquet source converts its text columns with it too.
func ConvertText(sink source.Sink, ci int, k Kind, b []byte) bool {
	if k == Null {
		sink.Blank(ci)
		return true
	}
	i, f, ok := parse(k, b)
	if !ok {
		return false
	}
	switch k {
	case Int:
		sink.Int(ci, i)
	case Currency:
		sink.Currency(ci, i)
	case Bool:
		sink.Bool(ci, i != 0)
	case Number, Percentage:
		sink.Float(ci, f)
	default: // the dates and times
		sink.Date(ci, f)
	}
	return true
}

// parse converts field b to kind k: Int, Currency (in units) and Bool (0
// or 1) into i, the numbers, dates and times into f; ok is false when b
// does not convert, or k is Text or Null.
func parse(k Kind, b []byte) (i int64, f float64, ok bool) {
	switch k {
	case Int:
		i, ok = ParseWhole(b)
	case Currency:
		i, ok = ParseCurrency(b)
	case Bool:
		var v bool
		if v, ok = ParseBool(b); v {
			i = 1
		}
	case Number:
		f, ok = ParseFloat(b)
	case Percentage:
		f, ok = ParsePercent(b)
	case Date:
		f, ok = ParseDate(b)
	case DateTime, DateTimeZone:
		f, ok = ParseDateTime(b)
	case Time:
		f, ok = ParseTime(b)
	}
	return i, f, ok
}

// ReadRow reads row n (from 0) of a file as text, for header promotion
// and for counting columns; nil when the file has fewer rows.
func ReadRow(ctx context.Context, open func() (io.ReadCloser, error), opts Options, n int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := NewReader(f, opts)
	if err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		if i%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		fields, err := rd.Read()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if i == n {
			row := make([]string, len(fields))
			for j, f := range fields {
				row[j] = string(f)
			}
			return row, nil
		}
	}
}
