package mlang

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/source/csv"
	"github.com/meridian-olap/meridian/internal/source/parquet"
	"github.com/meridian-olap/meridian/internal/value"
)

// Table is an M table. A table that comes from Csv.Document, and every
// table derived from it by the supported Table functions, is a plan: the
// file, its dialect, the rows to skip and, per column, the field it comes
// from and its conversion. Nothing is read until the table is scanned (or
// a function needs its rows), and then the file is streamed once. Other
// tables (#table, Table.FromRows, Folder.Files) hold their rows.
type Table struct {
	cols []column
	plan *csvPlan
	pq   *parquetPlan
	rows [][]Value // rows[r][col.field] for tables held in memory
}

// column is one column of a table.
type column struct {
	name  string
	field int      // plan: position of the field in a CSV row, -1 for none; memory: index in a row
	kind  csv.Kind // the conversion (plan) or declared type (memory); Text for text or any
	typed bool     // a type was given (TransformColumnTypes or a table type)
}

// csvPlan is the file side of a planned table.
type csvPlan struct {
	bin       *Binary
	opts      csv.Options
	skip      int // rows before the data: the promoted header, Table.Skip
	maxFields int // ExtraValues.Error: more fields than this is an error
}

// parquetPlan is the file side of a table read by Parquet.Document: the
// file, its columns as its footer gave them, and the rows to skip. A
// column's field is its index in schema; an untyped column keeps the
// file's type (its kind is the Power Query type the file gives).
type parquetPlan struct {
	bin    *Binary
	schema []parquet.Field
	skip   int64
}

// planned reports whether the table is read from a file when scanned.
func (t *Table) planned() bool { return t.plan != nil || t.pq != nil }

// fileName names the file of a planned table.
func (t *Table) fileName() string {
	if t.pq != nil {
		return t.pq.bin.Name
	}
	return t.plan.bin.Name
}

// Kind returns KindTable.
func (*Table) Kind() Kind { return KindTable }

// Columns returns the column names in order.
func (t *Table) Columns() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

func (t *Table) column(name string) int {
	for i, c := range t.cols {
		if c.name == name {
			return i
		}
	}
	return -1
}

func (t *Table) derive(cols []column) *Table {
	return &Table{cols: cols, plan: t.plan, pq: t.pq, rows: t.rows}
}

func (t *Table) copyCols() []column { return append([]column(nil), t.cols...) }

// Source returns the table as a source.Source: a streaming CSV or Parquet
// source for a planned table, or the rows of a table held in memory.
func (t *Table) Source() (source.Source, error) {
	if t.pq != nil {
		cfg := parquet.Config{Name: t.pq.bin.Name, Open: t.pq.bin.Open, Schema: t.pq.schema, Skip: t.pq.skip}
		for _, c := range t.cols {
			cfg.Columns = append(cfg.Columns, parquet.Column{Name: c.name, Field: c.field, Kind: c.kind, Typed: c.typed})
		}
		return parquet.NewSource(cfg)
	}
	if t.plan != nil {
		cfg := csv.Config{
			Name:      t.plan.bin.Name,
			Open:      t.plan.bin.Open,
			Options:   t.plan.opts,
			Skip:      t.plan.skip,
			MaxFields: t.plan.maxFields,
		}
		for _, c := range t.cols {
			cfg.Columns = append(cfg.Columns, csv.Column{Name: c.name, Field: c.field, Kind: c.kind})
		}
		return csv.NewSource(cfg)
	}
	return newMemSource(t)
}

// maxCells bounds the values a table may hold in memory when a function
// needs its rows (item access, a column as a list, Table.RowCount does
// not): a big file should be streamed, not held.
const maxCells = 4 << 20

// materialize returns the rows of the table as M values, in column order.
func (t *Table) materialize(in *interp, sc *scope, at Pos) ([][]Value, error) {
	if !t.planned() {
		out := make([][]Value, len(t.rows))
		for r, row := range t.rows {
			vals := make([]Value, len(t.cols))
			for i, c := range t.cols {
				vals[i] = Null{}
				if c.field >= 0 && c.field < len(row) {
					vals[i] = row[c.field]
				}
			}
			out[r] = vals
		}
		return out, nil
	}
	src, err := t.Source()
	if err != nil {
		return nil, errorf(sc, at, "DataFormat.Error", "%v", err)
	}
	sink := &valueSink{cols: t.cols, limit: min(maxCells, maxAlloc-in.alloc)}
	err = src.Scan(in.ctx, sink)
	in.alloc += sink.cells
	if err != nil {
		if in.ctx.Err() != nil {
			return nil, in.ctx.Err()
		}
		if sink.full {
			return nil, limitf(sc, at, "the table %s has more than %d values to hold in memory; only whole tables can be streamed", t.fileName(), maxCells)
		}
		return nil, errorf(sc, at, "DataFormat.Error", "%v", err)
	}
	return sink.rows, nil
}

var errFull = errors.New("mlang: table too large to hold")

// valueSink collects rows as M values.
type valueSink struct {
	cols  []column
	rows  [][]Value
	cur   []Value
	cells int
	limit int
	full  bool
}

func (s *valueSink) put(v Value) { s.cur = append(s.cur, v) }

func (s *valueSink) Blank(int)               { s.put(Null{}) }
func (s *valueSink) Int(_ int, v int64)      { s.put(Number(v)) }
func (s *valueSink) Float(_ int, v float64)  { s.put(Number(v)) }
func (s *valueSink) Currency(_ int, u int64) { s.put(Number(float64(u) / value.CurrencyScale)) }
func (s *valueSink) Bool(_ int, v bool)      { s.put(Logical(v)) }
func (s *valueSink) String(_ int, b []byte)  { s.put(Text(b)) }
func (s *valueSink) Date(col int, ole float64) {
	k := KindDateTime
	switch s.cols[col].kind {
	case csv.Date:
		k = KindDate
	case csv.Time:
		k = KindTime
	case csv.DateTimeZone:
		k = KindDateTimeZone
	}
	s.put(DateTime{K: k, OLE: ole})
}

func (s *valueSink) EndRow() error {
	s.cells += len(s.cur)
	if s.cells > s.limit {
		s.full = true
		return errFull
	}
	s.rows = append(s.rows, s.cur)
	s.cur = make([]Value, 0, len(s.cols))
	return nil
}

// record returns a row as a record of the table's columns.
func (t *Table) record(row []Value) *Record {
	return recordOf(t.Columns(), row)
}

// item implements t{i} (a row by position) and t{[A = x]} (the one row
// whose fields match).
func (t *Table) item(in *interp, sc *scope, e *ItemAccess, idx Value) (Value, error) {
	rows, err := t.materialize(in, sc, e.At)
	if err != nil {
		return nil, err
	}
	switch k := idx.(type) {
	case Number:
		if k < 0 || k != Number(math.Trunc(float64(k))) {
			return nil, errorf(sc, e.Index.Pos(), "Expression.Error", "a row index must be a whole number from 0, not %s", Describe(idx))
		}
		if float64(k) >= float64(len(rows)) {
			if e.Optional {
				return Null{}, nil
			}
			return nil, errorf(sc, e.At, "Expression.Error", "there weren't enough elements in the enumeration to complete the operation (row %s of a table of %d)", formatNumber(float64(k)), len(rows))
		}
		return t.record(rows[int(k)]), nil
	case *Record:
		cols := make([]int, len(k.names))
		for i, n := range k.names {
			if cols[i] = t.column(n); cols[i] < 0 {
				return nil, errorf(sc, e.Index.Pos(), "Expression.Error", "the column %q of the table wasn't found", n)
			}
		}
		var found []Value
		for _, row := range rows {
			match := true
			for i := range k.names {
				want, err := k.vals[i].force()
				if err != nil {
					return nil, err
				}
				eq, err := equal(row[cols[i]], want)
				if err != nil {
					return nil, err
				}
				if !eq {
					match = false
					break
				}
			}
			if match {
				if found != nil {
					return nil, errorf(sc, e.At, "Expression.Error", "the key matched more than one row in the table")
				}
				found = row
			}
		}
		if found == nil {
			if e.Optional {
				return Null{}, nil
			}
			return nil, errorf(sc, e.At, "Expression.Error", "the key didn't match any rows in the table")
		}
		return t.record(found), nil
	}
	return nil, errorf(sc, e.Index.Pos(), "Expression.Error", "a table can be indexed by a row number or a record, not %s", Describe(idx))
}

// missing-field modes (MissingField.Error, .Ignore, .UseNull).
const (
	missingError   = 0
	missingIgnore  = 1
	missingUseNull = 2
)

func (t *Table) selectColumns(sc *scope, at Pos, names []string, mode int) (*Table, error) {
	var cols []column
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		i := t.column(n)
		switch {
		case i >= 0:
			cols = append(cols, t.cols[i])
		case mode == missingIgnore:
		case mode == missingUseNull:
			cols = append(cols, column{name: n, field: -1, kind: csv.Null})
		default:
			return nil, errorf(sc, at, "Expression.Error", "the column %q of the table wasn't found", n)
		}
	}
	return t.derive(cols), nil
}

func (t *Table) removeColumns(sc *scope, at Pos, names []string, mode int) (*Table, error) {
	drop := map[string]bool{}
	for _, n := range names {
		if t.column(n) < 0 && mode == missingError {
			return nil, errorf(sc, at, "Expression.Error", "the column %q of the table wasn't found", n)
		}
		drop[n] = true
	}
	var cols []column
	for _, c := range t.cols {
		if !drop[c.name] {
			cols = append(cols, c)
		}
	}
	return t.derive(cols), nil
}

func (t *Table) renameColumns(sc *scope, at Pos, pairs [][2]string, mode int) (*Table, error) {
	cols := t.copyCols()
	for _, p := range pairs {
		i := t.column(p[0])
		if i < 0 {
			if mode == missingError {
				return nil, errorf(sc, at, "Expression.Error", "the column %q of the table wasn't found", p[0])
			}
			continue
		}
		cols[i].name = p[1]
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.name] {
			return nil, errorf(sc, at, "Expression.Error", "the column %q already exists in the table", c.name)
		}
		seen[c.name] = true
	}
	return t.derive(cols), nil
}

// uniqueNames turns promoted header values into column names: an empty
// one becomes ColumnN (N its position from 1), and a repeated one gets _1,
// _2, ... appended.
func uniqueNames(names []string) []string {
	out := make([]string, len(names))
	used := map[string]bool{}
	for i, n := range names {
		if n == "" {
			n = "Column" + strconv.Itoa(i+1)
		}
		base := n
		for k := 1; used[n]; k++ {
			n = base + "_" + strconv.Itoa(k)
		}
		used[n] = true
		out[i] = n
	}
	return out
}

// promoteHeaders makes the first row the column names.
func (t *Table) promoteHeaders(in *interp, sc *scope, at Pos) (*Table, error) {
	if t.pq != nil {
		// A Parquet file names its columns; its first row is data.
		return nil, unsupported(sc, at, "Table.PromoteHeaders on a Parquet file (%s), whose columns are already named, is not supported by Meridian", t.pq.bin.Name)
	}
	if t.plan != nil {
		for _, c := range t.cols {
			if c.typed && c.kind != csv.Text {
				return nil, unsupported(sc, at, "Table.PromoteHeaders after a column was given a type (%q) is not supported by Meridian", c.name)
			}
		}
		row, err := readRow(in.ctx, t.plan.bin, t.plan.opts, t.plan.skip)
		if err != nil {
			if in.ctx.Err() != nil {
				return nil, in.ctx.Err()
			}
			return nil, errorf(sc, at, "DataFormat.Error", "%v", err)
		}
		names := make([]string, len(t.cols))
		for i, c := range t.cols {
			if c.field >= 0 && c.field < len(row) {
				names[i] = row[c.field]
			}
		}
		names = uniqueNames(names)
		cols := t.copyCols()
		for i := range cols {
			cols[i].name = names[i]
		}
		plan := *t.plan
		if row != nil {
			plan.skip++
		}
		return &Table{cols: cols, plan: &plan}, nil
	}
	if len(t.rows) == 0 {
		return t, nil
	}
	first := t.rows[0]
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		if c.field >= 0 && c.field < len(first) {
			switch v := first[c.field].(type) {
			case Text:
				names[i] = string(v)
			case Null:
			default:
				names[i] = textFrom(v)
			}
		}
	}
	names = uniqueNames(names)
	cols := t.copyCols()
	for i := range cols {
		cols[i].name = names[i]
	}
	return &Table{cols: cols, rows: t.rows[1:]}, nil
}

// readRow reads row n (from 0) of a file as text; nil when the file has
// fewer rows.
func readRow(ctx context.Context, bin *Binary, opts csv.Options, n int) ([]string, error) {
	row, err := csv.ReadRow(ctx, bin.Open, opts, n)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("read %s: %w", bin.Name, err)
	}
	return row, err
}

// setTypes applies Table.TransformColumnTypes.
func (t *Table) setTypes(sc *scope, at Pos, changes []typeChange, mode int) (*Table, error) {
	cols := t.copyCols()
	var rows [][]Value
	for _, ch := range changes {
		i := t.column(ch.name)
		if i < 0 {
			switch mode {
			case missingError:
				return nil, errorf(sc, at, "Expression.Error", "the column %q of the table wasn't found", ch.name)
			case missingUseNull:
				cols = append(cols, column{name: ch.name, field: -1, kind: csv.Null})
			}
			continue
		}
		if ch.keep {
			continue
		}
		c := &cols[i]
		if t.planned() {
			if c.kind == csv.Null {
				continue
			}
			if c.typed && c.kind != ch.kind {
				return nil, unsupported(sc, at, "changing the type of column %q a second time (from %s to %s) is not supported by Meridian",
					c.name, c.kind, ch.kind)
			}
			if t.pq != nil && c.field >= 0 && c.field < len(t.pq.schema) {
				f := t.pq.schema[c.field]
				if f.Unsupported == "" && !parquet.CanConvert(f.Type, ch.kind) {
					return nil, errorf(sc, at, "DataFormat.Error", "the column %q of %s holds %s values (%s), which cannot be converted to %s",
						c.name, t.pq.bin.Name, f.Kind, f.Parquet, ch.kind)
				}
			}
			c.kind, c.typed = ch.kind, true
			continue
		}
		// A table in memory converts its values now.
		if rows == nil {
			rows = make([][]Value, len(t.rows))
			for r, row := range t.rows {
				rows[r] = append([]Value(nil), row...)
			}
		}
		for r := range rows {
			if c.field < 0 || c.field >= len(rows[r]) {
				continue
			}
			v, err := convertValue(rows[r][c.field], ch.kind)
			if err != nil {
				return nil, errorf(sc, at, "DataFormat.Error", "column %q, row %d: %v", c.name, r+1, err)
			}
			rows[r][c.field] = v
		}
		c.kind, c.typed = ch.kind, true
	}
	nt := t.derive(cols)
	if rows != nil {
		nt.rows = rows
	}
	return nt, nil
}

type typeChange struct {
	name string
	kind csv.Kind
	keep bool // type any: leave the column as it is
}

// kindOfType maps an M type to the conversion Table.TransformColumnTypes
// applies. ok is false for types that cannot be loaded.
func kindOfType(t *Type) (k csv.Kind, keep bool, ok bool) {
	switch t.Facet {
	case "Int64", "Int32", "Int16", "Int8", "Byte":
		return csv.Int, false, true
	case "Currency":
		return csv.Currency, false, true
	case "Percentage":
		return csv.Percentage, false, true
	case "Decimal", "Double", "Single":
		return csv.Number, false, true
	case "Guid", "Character", "Uri", "Password":
		return csv.Text, false, true
	}
	switch t.Prim {
	case "number":
		return csv.Number, false, true
	case "text":
		return csv.Text, false, true
	case "logical":
		return csv.Bool, false, true
	case "date":
		return csv.Date, false, true
	case "datetime":
		return csv.DateTime, false, true
	case "datetimezone":
		return csv.DateTimeZone, false, true
	case "time":
		return csv.Time, false, true
	case "any", "anynonnull":
		return csv.Text, true, true
	}
	return 0, false, false
}

// convertValue converts a value held in memory as the .From function of
// the kind does.
func convertValue(v Value, k csv.Kind) (Value, error) {
	if _, ok := v.(Null); ok {
		return v, nil
	}
	if s, ok := v.(Text); ok {
		b := []byte(s)
		if k != csv.Text && csv.IsBlank(b) {
			return Null{}, nil
		}
		var out Value
		ok := true
		switch k {
		case csv.Text:
			return v, nil
		case csv.Int:
			var n int64
			n, ok = csv.ParseWhole(b)
			out = Number(n)
		case csv.Number:
			var f float64
			f, ok = csv.ParseFloat(b)
			out = Number(f)
		case csv.Percentage:
			var f float64
			f, ok = csv.ParsePercent(b)
			out = Number(f)
		case csv.Currency:
			var u int64
			u, ok = csv.ParseCurrency(b)
			out = Number(float64(u) / value.CurrencyScale)
		case csv.Bool:
			var x bool
			x, ok = csv.ParseBool(b)
			out = Logical(x)
		case csv.Date, csv.DateTime, csv.DateTimeZone, csv.Time:
			var ole float64
			switch k {
			case csv.Date:
				ole, ok = csv.ParseDate(b)
			case csv.Time:
				ole, ok = csv.ParseTime(b)
			default:
				ole, ok = csv.ParseDateTime(b)
			}
			out = DateTime{K: dateKind(k), OLE: ole}
		}
		if !ok {
			return nil, fmt.Errorf("%s is not a %s", Describe(v), k)
		}
		return out, nil
	}
	switch k {
	case csv.Text:
		return Text(textFrom(v)), nil
	case csv.Int, csv.Number, csv.Percentage, csv.Currency:
		f, err := numberFrom(v)
		if err != nil {
			return nil, err
		}
		switch k {
		case csv.Int:
			f = math.RoundToEven(f)
		case csv.Currency:
			f = math.RoundToEven(f*value.CurrencyScale) / value.CurrencyScale
		}
		return Number(f), nil
	case csv.Bool:
		switch x := v.(type) {
		case Logical:
			return x, nil
		case Number:
			return Logical(x != 0), nil
		}
	case csv.Date, csv.DateTime, csv.DateTimeZone, csv.Time:
		var ole float64
		switch x := v.(type) {
		case DateTime:
			ole = x.OLE - float64(x.Offset)/1440
			if x.K == KindTime {
				ole = x.OLE
			}
		case Number:
			ole = float64(x)
		default:
			return nil, fmt.Errorf("%s is not a %s", Describe(v), k)
		}
		switch k {
		case csv.Date:
			ole = math.Floor(ole)
		case csv.Time:
			ole -= math.Floor(ole)
		}
		return DateTime{K: dateKind(k), OLE: ole}, nil
	}
	return nil, fmt.Errorf("%s is not a %s", Describe(v), k)
}

func dateKind(k csv.Kind) Kind {
	switch k {
	case csv.Date:
		return KindDate
	case csv.Time:
		return KindTime
	case csv.DateTimeZone:
		return KindDateTimeZone
	}
	return KindDateTime
}

// memSource streams a table held in memory into a sink.
type memSource struct {
	t      *Table
	fields []source.Field
}

func newMemSource(t *Table) (*memSource, error) {
	s := &memSource{t: t}
	for i, c := range t.cols {
		typ := c.kind.ValueType()
		if !c.typed {
			typ = inferType(t, i)
		}
		s.fields = append(s.fields, source.Field{Name: c.name, Type: typ})
	}
	return s, nil
}

// inferType finds the type of an untyped column from its values: the one
// type they all share, String for none, Variant for a mix.
func inferType(t *Table, col int) value.Type {
	c := t.cols[col]
	typ := value.Blank
	for _, row := range t.rows {
		if c.field < 0 || c.field >= len(row) {
			continue
		}
		var vt value.Type
		switch row[c.field].(type) {
		case Null:
			continue
		case Number:
			vt = value.Decimal
		case Text:
			vt = value.String
		case Logical:
			vt = value.Boolean
		case DateTime:
			vt = value.DateTime
		case Duration:
			vt = value.Decimal
		default:
			vt = value.Variant
		}
		if typ == value.Blank {
			typ = vt
		} else if typ != vt {
			return value.Variant
		}
	}
	if typ == value.Blank {
		return value.String
	}
	return typ
}

func (s *memSource) Fields() []source.Field { return append([]source.Field(nil), s.fields...) }

func (s *memSource) Scan(ctx context.Context, sink source.Sink) error {
	for r, row := range s.t.rows {
		if r%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for i, c := range s.t.cols {
			var v Value = Null{}
			if c.field >= 0 && c.field < len(row) {
				v = row[c.field]
			}
			switch x := v.(type) {
			case Null:
				sink.Blank(i)
			case Text:
				sink.String(i, []byte(x))
			case Logical:
				sink.Bool(i, bool(x))
			case Number:
				switch s.fields[i].Type {
				case value.Integer:
					sink.Int(i, int64(math.RoundToEven(float64(x))))
				case value.Currency:
					u, ok := value.FloatToCurrencyUnits(float64(x))
					if !ok {
						return fmt.Errorf("row %d, column %q: %s does not fit a fixed decimal number", r+1, c.name, Describe(x))
					}
					sink.Currency(i, u)
				default:
					sink.Float(i, float64(x))
				}
			case DateTime:
				ole := x.OLE
				if x.K == KindDateTimeZone {
					ole -= float64(x.Offset) / 1440
				}
				sink.Date(i, ole)
			case Duration:
				sink.Float(i, float64(x))
			default:
				return fmt.Errorf("row %d, column %q holds %s, which cannot be loaded into a column", r+1, c.name, Describe(v))
			}
		}
		if err := sink.EndRow(); err != nil {
			return fmt.Errorf("row %d: %w", r+1, err)
		}
	}
	return nil
}

// newMemTable builds a table held in memory from column names and rows.
func newMemTable(names []string, rows [][]Value) *Table {
	t := &Table{rows: rows}
	for i, n := range names {
		t.cols = append(t.cols, column{name: n, field: i})
	}
	return t
}
