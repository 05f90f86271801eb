package mlang

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/source/csv"
	"github.com/meridian-olap/meridian/internal/source/parquet"
	"github.com/meridian-olap/meridian/internal/value"
)

// library holds the standard library Meridian implements, by name. A
// dotted name that is not here is reported as not supported when an
// evaluation reaches it.
var library = map[string]Value{}

// call is the context of a library function call.
type call struct {
	in   *interp
	sc   *scope
	at   Pos
	name string
	args []Value
}

func fn(name string, min, max int, f func(c *call) (Value, error)) {
	library[name] = &Function{name: name, min: min, max: max, native: f}
}

// errorf returns an Expression.Error at the call, prefixed with the
// function's name.
func (c *call) errorf(format string, args ...any) error {
	return errorf(c.sc, c.at, "Expression.Error", "%s: %s", c.name, fmt.Sprintf(format, args...))
}

func (c *call) reasonf(reason, format string, args ...any) error {
	return errorf(c.sc, c.at, reason, "%s: %s", c.name, fmt.Sprintf(format, args...))
}

func (c *call) unsupported(format string, args ...any) error {
	return unsupported(c.sc, c.at, "%s: %s", c.name, fmt.Sprintf(format, args...))
}

// arg returns argument i, or null when it was not given.
func (c *call) arg(i int) Value {
	if i < len(c.args) {
		return c.args[i]
	}
	return Null{}
}

func isNull(v Value) bool { _, ok := v.(Null); return ok }

func (c *call) text(i int) (string, error) {
	s, ok := c.arg(i).(Text)
	if !ok {
		return "", c.errorf("argument %d must be text, not %s", i+1, Describe(c.arg(i)))
	}
	return string(s), nil
}

func (c *call) number(i int) (float64, error) {
	n, ok := c.arg(i).(Number)
	if !ok {
		return 0, c.errorf("argument %d must be a number, not %s", i+1, Describe(c.arg(i)))
	}
	return float64(n), nil
}

func (c *call) int(i int) (int, error) {
	n, err := c.number(i)
	if err != nil {
		return 0, err
	}
	if n != math.Trunc(n) || math.Abs(n) > 1<<40 {
		return 0, c.errorf("argument %d must be a whole number, not %s", i+1, formatNumber(n))
	}
	return int(n), nil
}

func (c *call) list(i int) (*List, error) {
	l, ok := c.arg(i).(*List)
	if !ok {
		return nil, c.errorf("argument %d must be a list, not %s", i+1, Describe(c.arg(i)))
	}
	return l, nil
}

func (c *call) table(i int) (*Table, error) {
	t, ok := c.arg(i).(*Table)
	if !ok {
		return nil, c.errorf("argument %d must be a table, not %s", i+1, Describe(c.arg(i)))
	}
	return t, nil
}

func (c *call) function(i int) (*Function, error) {
	f, ok := c.arg(i).(*Function)
	if !ok {
		return nil, c.errorf("argument %d must be a function, not %s", i+1, Describe(c.arg(i)))
	}
	return f, nil
}

// texts reads a list of text (or one text) as names.
func (c *call) texts(i int) ([]string, error) {
	switch v := c.arg(i).(type) {
	case Text:
		return []string{string(v)}, nil
	case *List:
		vals, err := v.Items()
		if err != nil {
			return nil, err
		}
		out := make([]string, len(vals))
		for k, x := range vals {
			s, ok := x.(Text)
			if !ok {
				return nil, c.errorf("argument %d must be a list of text, but item %d is %s", i+1, k+1, Describe(x))
			}
			out[k] = string(s)
		}
		return out, nil
	}
	return nil, c.errorf("argument %d must be text or a list of text, not %s", i+1, Describe(c.arg(i)))
}

// tableColumnsArgs decodes the arguments (table, column names, optional
// MissingField) that the column-choosing Table functions share.
func (c *call) tableColumnsArgs() (*Table, []string, int, error) {
	t, err := c.table(0)
	if err != nil {
		return nil, nil, 0, err
	}
	names, err := c.texts(1)
	if err != nil {
		return nil, nil, 0, err
	}
	mode, err := c.missingField(2)
	if err != nil {
		return nil, nil, 0, err
	}
	return t, names, mode, nil
}

// missingField reads a MissingField.* argument (null is MissingField.Error).
func (c *call) missingField(i int) (int, error) {
	v := c.arg(i)
	if r, ok := v.(*Record); ok { // an options record, as TransformColumnTypes takes
		f, ok, err := r.Field("MissingField")
		if err != nil || !ok {
			return missingError, err
		}
		v = f
	}
	if isNull(v) {
		return missingError, nil
	}
	n, ok := v.(Number)
	if !ok || n < 0 || n > 2 || n != Number(math.Trunc(float64(n))) {
		return 0, c.errorf("argument %d must be a MissingField value, not %s", i+1, Describe(v))
	}
	return int(n), nil
}

// field reads an optional field of an options record; null when absent.
func field(r *Record, name string) (Value, error) {
	v, ok, err := r.Field(name)
	if err != nil || !ok {
		return Null{}, err
	}
	return v, nil
}

func typeConst(name, prim, facet string) {
	library[name] = &Type{Prim: prim, Facet: facet}
}

func init() {
	// Enumerations.
	for name, v := range map[string]float64{
		"QuoteStyle.None": 0, "QuoteStyle.Csv": 1,
		"CsvStyle.QuoteAfterDelimiter": 0, "CsvStyle.QuoteAlways": 1,
		"ExtraValues.List": 0, "ExtraValues.Error": 1, "ExtraValues.Ignore": 2,
		"MissingField.Error": 0, "MissingField.Ignore": 1, "MissingField.UseNull": 2,
		"TextEncoding.Utf16": 1200, "TextEncoding.Unicode": 1200, "TextEncoding.BigEndianUnicode": 1201,
		"TextEncoding.Windows": 1252, "TextEncoding.Ascii": 20127, "TextEncoding.Utf8": 65001,
		"RoundingMode.Up": 0, "RoundingMode.Down": 1, "RoundingMode.AwayFromZero": 2,
		"RoundingMode.TowardZero": 3, "RoundingMode.ToEven": 4,
		"Occurrence.First": 0, "Occurrence.Last": 1, "Occurrence.All": 2,
	} {
		library[name] = Number(v)
	}
	library["#infinity"] = Number(math.Inf(1))
	library["#nan"] = Number(math.NaN())

	// Types written as Name.Type.
	for _, f := range []string{"Int64", "Int32", "Int16", "Int8", "Byte", "Single", "Double", "Decimal", "Currency", "Percentage"} {
		typeConst(f+".Type", "number", f)
	}
	typeConst("Guid.Type", "text", "Guid")
	typeConst("Character.Type", "text", "Character")
	for name, prim := range map[string]string{
		"Number.Type": "number", "Text.Type": "text", "Logical.Type": "logical", "Date.Type": "date",
		"DateTime.Type": "datetime", "DateTimeZone.Type": "datetimezone", "Time.Type": "time",
		"Duration.Type": "duration", "Binary.Type": "binary", "List.Type": "list", "Record.Type": "record",
		"Table.Type": "table", "Function.Type": "function", "Type.Type": "type", "Any.Type": "any",
		"None.Type": "none", "Null.Type": "null", "AnyNonNull.Type": "anynonnull",
	} {
		typeConst(name, prim, "")
	}

	// Files and CSV.
	fn("File.Contents", 1, 2, fileContents)
	fn("Folder.Files", 1, 2, folderFiles)
	fn("Csv.Document", 1, 5, csvDocument)
	fn("Parquet.Document", 1, 2, parquetDocument)

	// Tables.
	fn("Table.PromoteHeaders", 1, 2, func(c *call) (Value, error) {
		t, err := c.table(0)
		if err != nil {
			return nil, err
		}
		if o, ok := c.arg(1).(*Record); ok {
			if cu, err := field(o, "Culture"); err != nil {
				return nil, err
			} else if err := c.checkCulture(cu); err != nil {
				return nil, err
			}
		}
		return t.promoteHeaders(c.in, c.sc, c.at)
	})
	fn("Table.TransformColumnTypes", 2, 3, transformColumnTypes)
	fn("Table.RenameColumns", 2, 3, func(c *call) (Value, error) {
		t, err := c.table(0)
		if err != nil {
			return nil, err
		}
		pairs, err := c.pairs(1, func(v Value) (string, bool) { s, ok := v.(Text); return string(s), ok })
		if err != nil {
			return nil, err
		}
		mode, err := c.missingField(2)
		if err != nil {
			return nil, err
		}
		ren := make([][2]string, len(pairs))
		for i, p := range pairs {
			ren[i] = [2]string{p.name, string(p.val.(Text))}
		}
		return t.renameColumns(c.sc, c.at, ren, mode)
	})
	fn("Table.SelectColumns", 2, 3, func(c *call) (Value, error) {
		t, names, mode, err := c.tableColumnsArgs()
		if err != nil {
			return nil, err
		}
		return t.selectColumns(c.sc, c.at, names, mode)
	})
	fn("Table.RemoveColumns", 2, 3, func(c *call) (Value, error) {
		t, names, mode, err := c.tableColumnsArgs()
		if err != nil {
			return nil, err
		}
		return t.removeColumns(c.sc, c.at, names, mode)
	})
	fn("Table.ColumnNames", 1, 1, func(c *call) (Value, error) {
		t, err := c.table(0)
		if err != nil {
			return nil, err
		}
		names := t.Columns()
		vals := make([]Value, len(names))
		for i, n := range names {
			vals[i] = Text(n)
		}
		return listOf(vals...), nil
	})
	fn("Table.RowCount", 1, 1, func(c *call) (Value, error) {
		t, err := c.table(0)
		if err != nil {
			return nil, err
		}
		if !t.planned() {
			return Number(len(t.rows)), nil
		}
		src, err := t.Source()
		if err != nil {
			return nil, c.reasonf("DataFormat.Error", "%v", err)
		}
		n := &rowCounter{}
		if err := src.Scan(c.in.ctx, n); err != nil {
			if c.in.ctx.Err() != nil {
				return nil, c.in.ctx.Err()
			}
			return nil, c.reasonf("DataFormat.Error", "%v", err)
		}
		return Number(n.rows), nil
	})
	fn("Table.Skip", 1, 2, func(c *call) (Value, error) {
		t, err := c.table(0)
		if err != nil {
			return nil, err
		}
		n := 1
		if !isNull(c.arg(1)) {
			if n, err = c.int(1); err != nil {
				return nil, c.unsupported("only a count of rows is supported")
			}
		}
		if n < 0 {
			return nil, c.errorf("the count must not be negative")
		}
		if t.plan != nil {
			plan := *t.plan
			plan.skip += n
			return &Table{cols: t.cols, plan: &plan}, nil
		}
		if t.pq != nil {
			plan := *t.pq
			plan.skip += int64(n)
			return &Table{cols: t.cols, pq: &plan}, nil
		}
		return &Table{cols: t.cols, rows: t.rows[min(n, len(t.rows)):]}, nil
	})
	fn("Table.FromRows", 1, 2, func(c *call) (Value, error) {
		rows, err := c.rows(0)
		if err != nil {
			return nil, err
		}
		return c.memTable(c.arg(1), rows)
	})
	fn("#table", 2, 2, func(c *call) (Value, error) {
		rows, err := c.rows(1)
		if err != nil {
			return nil, err
		}
		return c.memTable(c.arg(0), rows)
	})
	fn("Table.FromRecords", 1, 3, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		recs, err := l.Items()
		if err != nil {
			return nil, err
		}
		var names []string
		var rows [][]Value
		for i, v := range recs {
			r, ok := v.(*Record)
			if !ok {
				return nil, c.errorf("item %d is %s, not a record", i+1, Describe(v))
			}
			if i == 0 {
				names = r.Names()
			}
			row := make([]Value, len(names))
			for k, n := range names {
				fv, ok, err := r.Field(n)
				if err != nil {
					return nil, err
				}
				if !ok {
					fv = Null{}
				}
				row[k] = fv
			}
			rows = append(rows, row)
		}
		if !isNull(c.arg(1)) {
			return c.memTable(c.arg(1), rows)
		}
		return newMemTable(names, rows), nil
	})

	// Text.
	fn("Text.Combine", 1, 2, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		sep := ""
		if !isNull(c.arg(1)) {
			if sep, err = c.text(1); err != nil {
				return nil, err
			}
		}
		vals, err := l.Items()
		if err != nil {
			return nil, err
		}
		var parts []string
		size := 0
		for i, v := range vals {
			switch s := v.(type) {
			case Text:
				parts = append(parts, string(s))
				if size += len(s) + len(sep); size > maxText {
					return nil, limitf(c.sc, c.at, "%s: text longer than %d bytes", c.name, maxText)
				}
			case Null: // skipped, as in Power Query
			default:
				return nil, c.errorf("item %d is %s, not text", i+1, Describe(v))
			}
		}
		return Text(strings.Join(parts, sep)), nil
	})
	textFn := func(name string, f func(string) Value) {
		fn(name, 1, 2, func(c *call) (Value, error) {
			if isNull(c.arg(0)) {
				return Null{}, nil
			}
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			return f(s), nil
		})
	}
	textFn("Text.Upper", func(s string) Value { return Text(strings.ToUpper(s)) })
	textFn("Text.Lower", func(s string) Value { return Text(strings.ToLower(s)) })
	textFn("Text.Trim", func(s string) Value { return Text(strings.TrimSpace(s)) })
	textFn("Text.Length", func(s string) Value { return Number(utf8.RuneCountInString(s)) })
	fn("Text.From", 1, 2, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		switch c.arg(0).(type) {
		case *List, *Record, *Table, *Function, *Binary, *Type:
			return nil, c.errorf("we cannot convert %s to text", Describe(c.arg(0)))
		}
		return Text(textFrom(c.arg(0))), nil
	})
	textPred := func(name string, f func(s, sub string) bool) {
		fn(name, 2, 3, func(c *call) (Value, error) {
			if isNull(c.arg(0)) {
				return Null{}, nil
			}
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			sub, err := c.text(1)
			if err != nil {
				return nil, err
			}
			return Logical(f(s, sub)), nil
		})
	}
	textPred("Text.Contains", strings.Contains)
	textPred("Text.StartsWith", strings.HasPrefix)
	textPred("Text.EndsWith", strings.HasSuffix)
	fn("Text.Replace", 3, 3, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		old, err := c.text(1)
		if err != nil {
			return nil, err
		}
		repl, err := c.text(2)
		if err != nil {
			return nil, err
		}
		if old == "" {
			return Text(s), nil
		}
		if n := strings.Count(s, old); len(s)+n*(len(repl)-len(old)) > maxText {
			return nil, limitf(c.sc, c.at, "%s: text longer than %d bytes", c.name, maxText)
		}
		return Text(strings.ReplaceAll(s, old, repl)), nil
	})
	fn("Text.Split", 2, 2, func(c *call) (Value, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		sep, err := c.text(1)
		if err != nil {
			return nil, err
		}
		parts := strings.Split(s, sep)
		if err := c.in.grow(c.sc, c.at, len(parts)); err != nil {
			return nil, err
		}
		var vals []Value
		for _, p := range parts {
			vals = append(vals, Text(p))
		}
		return listOf(vals...), nil
	})

	// Numbers and conversions.
	fn("Number.From", 1, 2, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		f, err := numberFrom(c.arg(0))
		if err != nil {
			return nil, c.reasonf("DataFormat.Error", "%v", err)
		}
		return Number(f), nil
	})
	fn("Number.FromText", 1, 2, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		f, err := numberFrom(Text(s))
		if err != nil {
			return nil, c.reasonf("DataFormat.Error", "%v", err)
		}
		return Number(f), nil
	})
	fn("Number.ToText", 1, 3, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		n, err := c.number(0)
		if err != nil {
			return nil, err
		}
		if !isNull(c.arg(1)) {
			return nil, c.unsupported("number formats are not supported")
		}
		return Text(formatNumber(n)), nil
	})
	fn("Number.Round", 1, 3, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		n, err := c.number(0)
		if err != nil {
			return nil, err
		}
		digits := 0
		if !isNull(c.arg(1)) {
			if digits, err = c.int(1); err != nil {
				return nil, err
			}
		}
		p := math.Pow(10, float64(digits))
		return Number(math.RoundToEven(n*p) / p), nil
	})
	fn("Number.Abs", 1, 1, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		n, err := c.number(0)
		if err != nil {
			return nil, err
		}
		return Number(math.Abs(n)), nil
	})
	convFn := func(name string, k csv.Kind) {
		fn(name, 1, 3, func(c *call) (Value, error) {
			v, err := convertValue(c.arg(0), k)
			if err != nil {
				return nil, c.reasonf("DataFormat.Error", "%v", err)
			}
			return v, nil
		})
	}
	convFn("Int64.From", csv.Int)
	convFn("Int32.From", csv.Int)
	convFn("Currency.From", csv.Currency)
	convFn("Decimal.From", csv.Number)
	convFn("Double.From", csv.Number)
	convFn("Percentage.From", csv.Percentage)
	convFn("Logical.From", csv.Bool)
	convFn("Date.From", csv.Date)
	convFn("DateTime.From", csv.DateTime)
	convFn("DateTimeZone.From", csv.DateTimeZone)
	convFn("Time.From", csv.Time)
	convFn("Date.FromText", csv.Date)
	convFn("DateTime.FromText", csv.DateTime)
	fn("Logical.FromText", 1, 1, func(c *call) (Value, error) {
		if isNull(c.arg(0)) {
			return Null{}, nil
		}
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		b, ok := csv.ParseBool([]byte(s))
		if !ok {
			return nil, c.reasonf("DataFormat.Error", "could not convert %s to a logical", Describe(Text(s)))
		}
		return Logical(b), nil
	})

	// Dates.
	fn("#date", 3, 3, func(c *call) (Value, error) {
		y, m, d, err := c.ymd()
		if err != nil {
			return nil, err
		}
		return DateTime{K: KindDate, OLE: value.DateOf(y, m, d)}, nil
	})
	fn("#datetime", 6, 6, func(c *call) (Value, error) {
		ole, err := c.datetime()
		if err != nil {
			return nil, err
		}
		return DateTime{K: KindDateTime, OLE: ole}, nil
	})
	fn("#datetimezone", 8, 8, func(c *call) (Value, error) {
		ole, err := c.datetime()
		if err != nil {
			return nil, err
		}
		oh, err := c.int(6)
		if err != nil {
			return nil, err
		}
		om, err := c.int(7)
		if err != nil {
			return nil, err
		}
		if oh < -14 || oh > 14 || om < -59 || om > 59 {
			return nil, c.errorf("the offset %d:%d is out of range", oh, om)
		}
		return DateTime{K: KindDateTimeZone, OLE: ole, Offset: oh*60 + om}, nil
	})
	fn("#time", 3, 3, func(c *call) (Value, error) {
		secs, err := c.hms(0)
		if err != nil {
			return nil, err
		}
		if secs > 86400 {
			return nil, c.errorf("the time is out of range")
		}
		return DateTime{K: KindTime, OLE: secs / 86400}, nil
	})
	fn("#duration", 4, 4, func(c *call) (Value, error) {
		var parts [4]float64
		for i := range parts {
			n, err := c.number(i)
			if err != nil {
				return nil, err
			}
			parts[i] = n
		}
		return Duration(parts[0] + parts[1]/24 + parts[2]/1440 + parts[3]/86400), nil
	})
	fn("DateTime.LocalNow", 0, 0, func(c *call) (Value, error) {
		return DateTime{K: KindDateTime, OLE: value.FromTime(time.Now())}, nil
	})
	fn("DateTime.FixedLocalNow", 0, 0, func(c *call) (Value, error) {
		return DateTime{K: KindDateTime, OLE: value.FromTime(time.Now())}, nil
	})

	// Lists.
	fn("List.Count", 1, 1, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		return Number(l.Len()), nil
	})
	fn("List.IsEmpty", 1, 1, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		return Logical(l.Len() == 0), nil
	})
	fn("List.First", 1, 2, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		if l.Len() == 0 {
			return c.arg(1), nil
		}
		return l.Item(0)
	})
	fn("List.Last", 1, 2, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		if l.Len() == 0 {
			return c.arg(1), nil
		}
		return l.Item(l.Len() - 1)
	})
	fn("List.Contains", 2, 3, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		if !isNull(c.arg(2)) {
			return nil, c.unsupported("equation criteria are not supported")
		}
		for i := range l.items {
			v, err := l.Item(i)
			if err != nil {
				return nil, err
			}
			if eq, err := equal(v, c.arg(1)); err != nil {
				return nil, err
			} else if eq {
				return Logical(true), nil
			}
		}
		return Logical(false), nil
	})
	fn("List.Transform", 2, 2, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		f, err := c.function(1)
		if err != nil {
			return nil, err
		}
		if err := c.in.grow(c.sc, c.at, l.Len()); err != nil {
			return nil, err
		}
		out := &List{items: make([]*thunk, l.Len())}
		for i := range l.items {
			v, err := l.Item(i)
			if err != nil {
				return nil, err
			}
			r, err := c.in.invoke(f, []Value{v}, c.sc, c.at)
			if err != nil {
				return nil, err
			}
			out.items[i] = done(r)
		}
		return out, nil
	})
	fn("List.Select", 2, 2, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		f, err := c.function(1)
		if err != nil {
			return nil, err
		}
		if err := c.in.grow(c.sc, c.at, l.Len()); err != nil {
			return nil, err
		}
		out := &List{}
		for i := range l.items {
			v, err := l.Item(i)
			if err != nil {
				return nil, err
			}
			r, err := c.in.invoke(f, []Value{v}, c.sc, c.at)
			if err != nil {
				return nil, err
			}
			if b, ok := r.(Logical); ok && bool(b) {
				out.items = append(out.items, done(v))
			}
		}
		return out, nil
	})
	fn("List.Sum", 1, 2, func(c *call) (Value, error) {
		l, err := c.list(0)
		if err != nil {
			return nil, err
		}
		vals, err := l.Items()
		if err != nil {
			return nil, err
		}
		var sum float64
		any := false
		for i, v := range vals {
			switch n := v.(type) {
			case Number:
				sum += float64(n)
				any = true
			case Null:
			default:
				return nil, c.errorf("item %d is %s, not a number", i+1, Describe(v))
			}
		}
		if !any {
			return Null{}, nil
		}
		return Number(sum), nil
	})

	// Records.
	fn("Record.Field", 2, 2, func(c *call) (Value, error) {
		r, ok := c.arg(0).(*Record)
		if !ok {
			return nil, c.errorf("argument 1 must be a record, not %s", Describe(c.arg(0)))
		}
		name, err := c.text(1)
		if err != nil {
			return nil, err
		}
		v, ok, err := r.Field(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, c.errorf("the field %q of the record wasn't found", name)
		}
		return v, nil
	})
	fn("Record.FieldOrDefault", 2, 3, func(c *call) (Value, error) {
		r, ok := c.arg(0).(*Record)
		if !ok {
			return nil, c.errorf("argument 1 must be a record, not %s", Describe(c.arg(0)))
		}
		name, err := c.text(1)
		if err != nil {
			return nil, err
		}
		v, ok, err := r.Field(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return c.arg(2), nil
		}
		return v, nil
	})
	fn("Record.FieldNames", 1, 1, func(c *call) (Value, error) {
		r, ok := c.arg(0).(*Record)
		if !ok {
			return nil, c.errorf("argument 1 must be a record, not %s", Describe(c.arg(0)))
		}
		var vals []Value
		for _, n := range r.names {
			vals = append(vals, Text(n))
		}
		return listOf(vals...), nil
	})
	fn("Record.HasFields", 2, 2, func(c *call) (Value, error) {
		r, ok := c.arg(0).(*Record)
		if !ok {
			return nil, c.errorf("argument 1 must be a record, not %s", Describe(c.arg(0)))
		}
		names, err := c.texts(1)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if r.index(n) < 0 {
				return Logical(false), nil
			}
		}
		return Logical(true), nil
	})

	// Values and errors.
	fn("Value.RemoveMetadata", 1, 2, func(c *call) (Value, error) { return c.arg(0), nil })
	fn("Value.Metadata", 1, 1, func(c *call) (Value, error) { return &Record{}, nil })
	fn("Error.Record", 1, 3, func(c *call) (Value, error) {
		reason, err := c.text(0)
		if err != nil {
			return nil, err
		}
		return recordOf([]string{"Reason", "Message", "Detail"}, []Value{Text(reason), c.arg(1), c.arg(2)}), nil
	})
}

type pair struct {
	name string
	val  Value
}

// pairs reads {"a", x} or {{"a", x}, {"b", y}}; second says whether a
// second element is acceptable.
func (c *call) pairs(i int, second func(Value) (string, bool)) ([]pair, error) {
	l, err := c.list(i)
	if err != nil {
		return nil, err
	}
	items, err := l.Items()
	if err != nil {
		return nil, err
	}
	if len(items) == 2 {
		if _, ok := items[0].(Text); ok {
			items = []Value{l} // a single pair
		}
	}
	var out []pair
	for k, it := range items {
		pl, ok := it.(*List)
		if !ok || pl.Len() != 2 {
			return nil, c.errorf("item %d of argument %d must be a list of two items, not %s", k+1, i+1, Describe(it))
		}
		vals, err := pl.Items()
		if err != nil {
			return nil, err
		}
		name, ok := vals[0].(Text)
		if !ok {
			return nil, c.errorf("item %d of argument %d must start with a column name, not %s", k+1, i+1, Describe(vals[0]))
		}
		if _, ok := second(vals[1]); !ok {
			return nil, c.errorf("item %d of argument %d has %s where it expects another value", k+1, i+1, Describe(vals[1]))
		}
		out = append(out, pair{name: string(name), val: vals[1]})
	}
	return out, nil
}

// checkCulture accepts the cultures whose number and date formats are
// those Meridian reads (en-US and the invariant culture).
func (c *call) checkCulture(v Value) error {
	switch x := v.(type) {
	case Null:
		return nil
	case Text:
		switch strings.ToLower(string(x)) {
		case "", "en-us", "en", "iv", "invariant":
			return nil
		}
		return c.unsupported("culture %q is not supported by Meridian: only en-US number and date formats are read", string(x))
	}
	return c.errorf("the culture must be text, not %s", Describe(v))
}

func transformColumnTypes(c *call) (Value, error) {
	t, err := c.table(0)
	if err != nil {
		return nil, err
	}
	pairs, err := c.pairs(1, func(v Value) (string, bool) { _, ok := v.(*Type); return "", ok })
	if err != nil {
		return nil, err
	}
	mode := missingError
	switch o := c.arg(2).(type) {
	case *Record:
		cu, err := field(o, "Culture")
		if err != nil {
			return nil, err
		}
		if err := c.checkCulture(cu); err != nil {
			return nil, err
		}
		if mode, err = c.missingField(2); err != nil {
			return nil, err
		}
	default:
		if err := c.checkCulture(o); err != nil {
			return nil, err
		}
	}
	changes := make([]typeChange, len(pairs))
	for i, p := range pairs {
		typ := p.val.(*Type)
		k, keep, ok := kindOfType(typ)
		if !ok {
			return nil, c.unsupported("column %q: type %s cannot be loaded by Meridian", p.name, typ)
		}
		changes[i] = typeChange{name: p.name, kind: k, keep: keep}
	}
	return t.setTypes(c.sc, c.at, changes, mode)
}

// fileContents is File.Contents(path): a binary read through the source
// roots. The path is checked now, so that a path outside the roots fails
// where it is written; the file is opened only when read.
func fileContents(c *call) (Value, error) {
	path, err := c.text(0)
	if err != nil {
		return nil, err
	}
	roots := c.in.env.Roots
	if roots == nil {
		return nil, c.reasonf("DataSource.Error", "no source roots are configured, so no file can be read")
	}
	if _, err := roots.Resolve(path); err != nil {
		return nil, c.reasonf("DataSource.Error", "%v", err)
	}
	return &Binary{Name: path, Open: func() (io.ReadCloser, error) { return roots.Open(path) }}, nil
}

// folderFiles is Folder.Files(path): a table of the files below a folder
// inside the source roots, with Power Query's columns.
func folderFiles(c *call) (Value, error) {
	dir, err := c.text(0)
	if err != nil {
		return nil, err
	}
	roots := c.in.env.Roots
	if roots == nil {
		return nil, c.reasonf("DataSource.Error", "no source roots are configured, so no folder can be read")
	}
	real, err := roots.Resolve(dir)
	if err != nil {
		return nil, c.reasonf("DataSource.Error", "%v", err)
	}
	names := []string{"Content", "Name", "Extension", "Date accessed", "Date modified", "Date created", "Folder Path"}
	var rows [][]Value
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := c.in.ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		// The path the model sees, and the one opened through the roots.
		shown := filepath.Join(dir, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		mod := DateTime{K: KindDateTime, OLE: value.FromTime(info.ModTime())}
		folder := filepath.Dir(shown) + string(os.PathSeparator)
		bin := &Binary{Name: shown, Open: func() (io.ReadCloser, error) { return roots.Open(shown) }}
		rows = append(rows, []Value{bin, Text(d.Name()), Text(strings.ToLower(filepath.Ext(d.Name()))),
			mod, mod, mod, Text(folder)})
		if len(rows)*len(names) > maxCells {
			return fmt.Errorf("more than %d files", maxCells/len(names))
		}
		return nil
	})
	if err != nil {
		if c.in.ctx.Err() != nil {
			return nil, c.in.ctx.Err()
		}
		return nil, c.reasonf("DataSource.Error", "%v", err)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][6].(Text)+rows[i][1].(Text) < rows[j][6].(Text)+rows[j][1].(Text) })
	return newMemTable(names, rows), nil
}

// csvDocument is Csv.Document(source, columns, delimiter, extraValues,
// encoding), or Csv.Document(source, [Delimiter, Columns, Encoding,
// CsvStyle, QuoteStyle, ExtraValues]).
func csvDocument(c *call) (Value, error) {
	var bin *Binary
	switch s := c.arg(0).(type) {
	case *Binary:
		bin = s
	case Text:
		text := string(s)
		bin = &Binary{Name: "text", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }}
	default:
		return nil, c.errorf("argument 1 must be a binary or text, not %s", Describe(c.arg(0)))
	}
	var columns, delim, extra, enc, quote, style Value = Null{}, Null{}, Null{}, Null{}, Null{}, Null{}
	if o, ok := c.arg(1).(*Record); ok && isNull(c.arg(2)) && isNull(c.arg(3)) && isNull(c.arg(4)) {
		for _, f := range []struct {
			name string
			dst  *Value
		}{{"Columns", &columns}, {"Delimiter", &delim}, {"ExtraValues", &extra}, {"Encoding", &enc},
			{"QuoteStyle", &quote}, {"CsvStyle", &style}} {
			v, err := field(o, f.name)
			if err != nil {
				return nil, err
			}
			*f.dst = v
		}
	} else {
		columns, delim, extra, enc = c.arg(1), c.arg(2), c.arg(3), c.arg(4)
	}
	var opts csv.Options
	switch d := delim.(type) {
	case Null:
	case Text:
		r, size := utf8.DecodeRuneInString(string(d))
		if size == 0 {
			return nil, c.unsupported("splitting on runs of white space (Delimiter \"\") is not supported")
		}
		if size != len(d) {
			return nil, c.unsupported("delimiter %q has more than one character, which is not supported", string(d))
		}
		if r == '"' || r == '\r' || r == '\n' {
			return nil, c.errorf("delimiter %q cannot be used", string(d))
		}
		opts.Delimiter = r
	default:
		return nil, c.unsupported("the delimiter must be one character, not %s", Describe(delim))
	}
	switch q := quote.(type) {
	case Null:
	case Number:
		switch q {
		case 0:
			opts.Quotes = csv.QuoteNone
		case 1:
			opts.Quotes = csv.QuoteCSV
		default:
			return nil, c.errorf("QuoteStyle %s is not a QuoteStyle value", Describe(q))
		}
	default:
		return nil, c.errorf("QuoteStyle must be a QuoteStyle value, not %s", Describe(quote))
	}
	if !isNull(style) {
		if n, ok := style.(Number); !ok || n != 0 {
			return nil, c.unsupported("CsvStyle %s is not supported; only CsvStyle.QuoteAfterDelimiter is", Describe(style))
		}
	}
	if !isNull(enc) {
		n, ok := enc.(Number)
		if !ok || n != Number(math.Trunc(float64(n))) {
			return nil, c.errorf("the encoding must be a code page number, not %s", Describe(enc))
		}
		if !csv.SupportedEncoding(int(n)) {
			return nil, c.unsupported("encoding %d is not supported", int(n))
		}
		opts.Encoding = int(n)
	}
	extraError := false
	if !isNull(extra) {
		switch extra {
		case Number(1):
			extraError = true
		case Number(2):
		case Number(0):
			return nil, c.unsupported("ExtraValues.List is not supported")
		default:
			return nil, c.errorf("%s is not an ExtraValues value", Describe(extra))
		}
	}
	var names []string
	switch cv := columns.(type) {
	case Null:
		row, err := readRow(c.in.ctx, bin, opts, 0)
		if err != nil {
			if c.in.ctx.Err() != nil {
				return nil, c.in.ctx.Err()
			}
			return nil, c.reasonf("DataFormat.Error", "%v", err)
		}
		names = defaultNames(len(row))
	case Number:
		n := float64(cv)
		if n < 0 || n != math.Trunc(n) || n > csv.DefaultMaxFields {
			return nil, c.errorf("Columns must be a whole number from 0 to %d, not %s", csv.DefaultMaxFields, Describe(cv))
		}
		names = defaultNames(int(n))
	case *List:
		vals, err := cv.Items()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			s, ok := v.(Text)
			if !ok {
				return nil, c.errorf("column name %d is %s, not text", i+1, Describe(v))
			}
			names = append(names, string(s))
		}
	case *Type:
		if cv.Prim != "table" {
			return nil, c.errorf("Columns must be a number, a list of names or a table type, not %s", Describe(cv))
		}
		for _, f := range cv.Fields {
			names = append(names, f.Name)
		}
	default:
		return nil, c.errorf("Columns must be a number, a list of names or a table type, not %s", Describe(columns))
	}
	seen := map[string]bool{}
	t := &Table{plan: &csvPlan{bin: bin, opts: opts}}
	for i, n := range names {
		if seen[n] {
			return nil, c.errorf("the column %q appears twice", n)
		}
		seen[n] = true
		t.cols = append(t.cols, column{name: n, field: i, kind: csv.Text})
	}
	if extraError {
		t.plan.maxFields = len(names)
	}
	if ct, ok := columns.(*Type); ok {
		for i, f := range ct.Fields {
			if k, keep, ok := kindOfType(f.Type); ok && !keep && k != csv.Text {
				t.cols[i].kind, t.cols[i].typed = k, true
			}
		}
	}
	return t, nil
}

// parquetDocument is Parquet.Document(source, options): the file's footer
// is read now for its columns; the rows are streamed when the table is
// scanned. Options other than null are refused rather than ignored.
func parquetDocument(c *call) (Value, error) {
	bin, ok := c.arg(0).(*Binary)
	if !ok {
		return nil, c.errorf("argument 1 must be a binary, not %s", Describe(c.arg(0)))
	}
	if !isNull(c.arg(1)) {
		if r, ok := c.arg(1).(*Record); !ok || len(r.names) > 0 {
			return nil, c.unsupported("options %s are not supported", Describe(c.arg(1)))
		}
	}
	fields, _, err := parquet.ReadSchema(c.in.ctx, bin.Name, bin.Open)
	if err != nil {
		if c.in.ctx.Err() != nil {
			return nil, c.in.ctx.Err()
		}
		return nil, c.reasonf("DataFormat.Error", "%v", err)
	}
	t := &Table{pq: &parquetPlan{bin: bin, schema: fields}}
	seen := map[string]bool{}
	for i, f := range fields {
		if seen[f.Name] {
			return nil, c.reasonf("DataFormat.Error", "%s: the column %q appears twice", bin.Name, f.Name)
		}
		seen[f.Name] = true
		t.cols = append(t.cols, column{name: f.Name, field: i, kind: f.Kind})
	}
	return t, nil
}

func defaultNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("Column%d", i+1)
	}
	return names
}

// rows reads a list of lists (the rows of #table and Table.FromRows).
func (c *call) rows(i int) ([][]Value, error) {
	l, err := c.list(i)
	if err != nil {
		return nil, err
	}
	items, err := l.Items()
	if err != nil {
		return nil, err
	}
	if len(items) > maxCells {
		return nil, limitf(c.sc, c.at, "%s: more than %d rows", c.name, maxCells)
	}
	rows := make([][]Value, len(items))
	cells := 0
	for r, it := range items {
		rl, ok := it.(*List)
		if !ok {
			return nil, c.errorf("row %d is %s, not a list", r+1, Describe(it))
		}
		if rows[r], err = rl.Items(); err != nil {
			return nil, err
		}
		if cells += len(rows[r]); cells > maxCells {
			return nil, limitf(c.sc, c.at, "%s: more than %d values", c.name, maxCells)
		}
		if err := c.in.grow(c.sc, c.at, len(rows[r])); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// memTable builds a table held in memory; columns is null, a count, a
// list of names or a table type.
func (c *call) memTable(columns Value, rows [][]Value) (Value, error) {
	var names []string
	var types []*Type
	switch cv := columns.(type) {
	case Null:
		n := 0
		for _, r := range rows {
			n = max(n, len(r))
		}
		names = defaultNames(n)
	case Number:
		names = defaultNames(int(cv))
	case *List:
		vals, err := cv.Items()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			s, ok := v.(Text)
			if !ok {
				return nil, c.errorf("column names must be text, not %s", Describe(v))
			}
			names = append(names, string(s))
		}
	case *Type:
		for _, f := range cv.Fields {
			names = append(names, f.Name)
			types = append(types, f.Type)
		}
	default:
		return nil, c.errorf("columns must be a list of names or a table type, not %s", Describe(columns))
	}
	for r, row := range rows {
		if len(row) != len(names) {
			return nil, c.errorf("row %d has %d values for %d columns", r+1, len(row), len(names))
		}
	}
	t := newMemTable(names, rows)
	for i, typ := range types {
		if k, keep, ok := kindOfType(typ); ok && !keep {
			t.cols[i].kind, t.cols[i].typed = k, true
		}
	}
	return t, nil
}

func (c *call) ymd() (y, m, d int, err error) {
	if y, err = c.int(0); err != nil {
		return
	}
	if m, err = c.int(1); err != nil {
		return
	}
	if d, err = c.int(2); err != nil {
		return
	}
	if y < 100 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, c.errorf("%d-%d-%d is not a date Meridian can hold (years 100 to 9999)", y, m, d)
	}
	return y, m, d, nil
}

func (c *call) hms(from int) (float64, error) {
	h, err := c.int(from)
	if err != nil {
		return 0, err
	}
	m, err := c.int(from + 1)
	if err != nil {
		return 0, err
	}
	s, err := c.number(from + 2)
	if err != nil {
		return 0, err
	}
	if h < 0 || h > 24 || m < 0 || m > 59 || s < 0 || s >= 60 {
		return 0, c.errorf("%d:%d:%s is not a time", h, m, formatNumber(s))
	}
	return float64(h*3600+m*60) + s, nil
}

func (c *call) datetime() (float64, error) {
	y, m, d, err := c.ymd()
	if err != nil {
		return 0, err
	}
	secs, err := c.hms(3)
	if err != nil {
		return 0, err
	}
	return value.DateOf(y, m, d) + secs/86400, nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// textFrom converts a scalar to text as Text.From does in en-US.
func textFrom(v Value) string {
	switch x := v.(type) {
	case Text:
		return string(x)
	case Number:
		return formatNumber(float64(x))
	case Logical:
		if x {
			return "true"
		}
		return "false"
	case DateTime:
		switch x.K {
		case KindDate:
			y, m, d := value.Civil(x.OLE)
			return fmt.Sprintf("%d/%d/%d", m, d, y)
		case KindTime:
			return value.ToTime(x.OLE).Format("3:04:05 PM")
		case KindDateTimeZone:
			off := fmt.Sprintf("%+03d:%02d", x.Offset/60, abs(x.Offset%60))
			return value.ToTime(x.OLE).Format("1/2/2006 3:04:05 PM") + " " + off
		}
		return value.ToTime(x.OLE).Format("1/2/2006 3:04:05 PM")
	case Duration:
		d := time.Duration(float64(x) * 24 * float64(time.Hour))
		days := int(d / (24 * time.Hour))
		d -= time.Duration(days) * 24 * time.Hour
		return fmt.Sprintf("%d.%02d:%02d:%02d", days, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return ""
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// numberFrom converts a value to a number as Number.From does.
func numberFrom(v Value) (float64, error) {
	switch x := v.(type) {
	case Number:
		return float64(x), nil
	case Logical:
		if x {
			return 1, nil
		}
		return 0, nil
	case Text:
		if f, ok := csv.ParsePercent([]byte(x)); ok {
			return f, nil
		}
		return 0, fmt.Errorf("we couldn't convert %s to a number", Describe(x))
	case DateTime:
		return x.OLE, nil
	case Duration:
		return float64(x), nil
	}
	return 0, fmt.Errorf("we cannot convert %s to a number", Describe(v))
}

// rowCounter is a sink that counts rows.
type rowCounter struct{ rows int }

func (*rowCounter) Blank(int)           {}
func (*rowCounter) Int(int, int64)      {}
func (*rowCounter) Float(int, float64)  {}
func (*rowCounter) Currency(int, int64) {}
func (*rowCounter) Bool(int, bool)      {}
func (*rowCounter) Date(int, float64)   {}
func (*rowCounter) String(int, []byte)  {}
func (r *rowCounter) EndRow() error     { r.rows++; return nil }
