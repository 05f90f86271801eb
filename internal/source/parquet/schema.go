package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/meridian-olap/meridian/internal/source/csv"
	"github.com/meridian-olap/meridian/internal/value"
)

// Errors, wrapped with the file and location.
var (
	// ErrFormat is a file that is not Parquet or is damaged.
	ErrFormat = errors.New("parquet: not a readable Parquet file")
	// ErrColumn is a column that cannot be loaded or converted as asked.
	ErrColumn = errors.New("parquet: column cannot be loaded")
	// ErrValue is a value that does not convert to its column's type.
	ErrValue = errors.New("parquet: bad value")
	// ErrChanged is a file whose columns are not the ones it had when
	// the source was planned.
	ErrChanged = errors.New("parquet: the file changed")
)

// MaxInMemory bounds the bytes read into memory for a file that is not on
// disk (its reader is not an *os.File).
const MaxInMemory = 256 << 20

// Field is a top-level column of a Parquet file.
type Field struct {
	Name string
	// Type is the type of the values Meridian reads from the column
	// (value.Blank when it cannot be loaded).
	Type value.Type
	// Kind is the column's Power Query type as Parquet.Document gives it:
	// Date for DATE, DateTime for TIMESTAMP, Currency for an exact
	// DECIMAL, and so on (csv.Text for text and for unloadable columns).
	Kind csv.Kind
	// Parquet describes the column's Parquet type, for messages:
	// "INT64 DECIMAL(18,4)", "optional BYTE_ARRAY STRING".
	Parquet string
	// Unsupported says why the column cannot be loaded; empty when it can.
	Unsupported string
}

// native is how a leaf column's values are decoded.
type native uint8

const (
	nUnsupported native = iota
	nBool
	nInt       // INT32 or INT64, signed
	nUint32    // INT32 holding an unsigned value
	nUint64    // INT64 holding an unsigned value
	nFloat     // FLOAT
	nDouble    // DOUBLE
	nFloat16   // FIXED_LEN_BYTE_ARRAY(2)
	nDecInt    // DECIMAL on INT32 or INT64
	nDecBytes  // DECIMAL on a byte array, big-endian two's complement
	nDate      // DATE: days since 1970-01-01
	nTimestamp // TIMESTAMP: units since 1970-01-01
	nInt96     // legacy timestamp: nanoseconds of the day, then the Julian day
	nTime      // TIME: units since midnight
	nString
	nUUID
	nNull
)

// leaf is what the reader needs to know of one top-level column.
type leaf struct {
	Field
	index    int    // leaf column index in the file
	native   native //
	scale    int    // DECIMAL scale
	currency bool   // DECIMAL read exactly as Currency
	perDay   int64  // TIMESTAMP and TIME: units per day
	phys     pq.Kind
}

// unixOLE is 1970-01-01 as an OLE date.
const unixOLE = 25569

// leavesOf maps the top-level fields of a schema to leaves.
func leavesOf(s *pq.Schema) []leaf {
	var out []leaf
	next := 0
	for _, f := range s.Fields() {
		l := leaf{Field: Field{Name: f.Name()}, index: next}
		next += countLeaves(f)
		describe(&l, f)
		out = append(out, l)
	}
	return out
}

func countLeaves(n pq.Node) int {
	if n.Leaf() {
		return 1
	}
	c := 0
	for _, f := range n.Fields() {
		c += countLeaves(f)
	}
	return c
}

// describe fills in the type of a top-level column.
func describe(l *leaf, n pq.Node) {
	prefix := ""
	if n.Optional() {
		prefix = "optional "
	}
	if n.Repeated() {
		prefix = "repeated "
	}
	if !n.Leaf() {
		l.Parquet = prefix + "group"
		l.Unsupported = "it is a nested group"
		return
	}
	t := n.Type()
	l.phys = t.Kind()
	phys := t.Kind().String()
	lt := t.LogicalType()
	defer func() { l.Kind = kindOf(l) }()
	l.Parquet = prefix + phys
	if lt != nil && lt.Value != nil {
		l.Parquet += " " + lt.String()
	}
	if n.Repeated() {
		l.Unsupported = "it is repeated (a list)"
		return
	}
	unsupported := func(why string) { l.Unsupported = why }
	var v any
	if lt != nil {
		v = lt.Value
	}
	switch x := v.(type) {
	case *format.StringType, *format.EnumType, *format.JsonType, *format.BsonType:
		if t.Kind() != pq.ByteArray && t.Kind() != pq.FixedLenByteArray {
			unsupported("its text annotation is on a " + phys + " column")
			return
		}
		l.native, l.Type = nString, value.String
	case *format.UUIDType:
		if t.Kind() != pq.FixedLenByteArray || t.Length() != 16 {
			unsupported("a UUID must be 16 bytes")
			return
		}
		l.native, l.Type = nUUID, value.String
	case *format.DateType:
		if t.Kind() != pq.Int32 {
			unsupported("a DATE must be INT32")
			return
		}
		l.native, l.Type = nDate, value.DateTime
	case *format.TimestampType:
		per, ok := unitsPerDay(&x.Unit)
		if !ok || t.Kind() != pq.Int64 {
			unsupported("a TIMESTAMP must be INT64 in ms, us or ns")
			return
		}
		l.native, l.Type, l.perDay = nTimestamp, value.DateTime, per
	case *format.TimeType:
		per, ok := unitsPerDay(&x.Unit)
		if !ok || (t.Kind() != pq.Int32 && t.Kind() != pq.Int64) {
			unsupported("a TIME must be INT32 or INT64 in ms, us or ns")
			return
		}
		l.native, l.Type, l.perDay = nTime, value.DateTime, per
	case *format.DecimalType:
		if x.Scale < 0 || x.Scale > 38 || x.Precision < 1 || x.Precision > 38 {
			unsupported(fmt.Sprintf("DECIMAL(%d,%d) is out of range", x.Precision, x.Scale))
			return
		}
		l.scale = int(x.Scale)
		switch t.Kind() {
		case pq.Int32, pq.Int64:
			l.native = nDecInt
		case pq.ByteArray, pq.FixedLenByteArray:
			l.native = nDecBytes
		default:
			unsupported("a DECIMAL must be INT32, INT64 or a byte array")
			return
		}
		// Fixed decimal numbers hold four places in an int64: a decimal
		// that fits is read exactly, any other as a double.
		if x.Scale <= 4 && x.Precision <= 18 {
			l.currency, l.Type = true, value.Currency
		} else {
			l.Type = value.Decimal
		}
	case *format.IntType:
		if t.Kind() != pq.Int32 && t.Kind() != pq.Int64 {
			unsupported("an INT annotation must be on INT32 or INT64")
			return
		}
		switch {
		case x.IsSigned:
			l.native = nInt
		case t.Kind() == pq.Int32:
			l.native = nUint32
		default:
			l.native = nUint64
		}
		l.Type = value.Integer
	case *format.NullType:
		l.native, l.Type = nNull, value.String
	case *format.Float16Type:
		if t.Kind() != pq.FixedLenByteArray || t.Length() != 2 {
			unsupported("a FLOAT16 must be 2 bytes")
			return
		}
		l.native, l.Type = nFloat16, value.Decimal
	case nil:
		switch t.Kind() {
		case pq.Boolean:
			l.native, l.Type = nBool, value.Boolean
		case pq.Int32, pq.Int64:
			l.native, l.Type = nInt, value.Integer
		case pq.Float:
			l.native, l.Type = nFloat, value.Decimal
		case pq.Double:
			l.native, l.Type = nDouble, value.Decimal
		case pq.Int96:
			l.native, l.Type = nInt96, value.DateTime
		case pq.ByteArray:
			l.native, l.Type = nString, value.String
		default:
			unsupported("a " + phys + " without a logical type is binary data")
		}
	default:
		unsupported("the logical type " + lt.String() + " is not supported")
	}
}

// kindOf is the Power Query type of a column read natively.
func kindOf(l *leaf) csv.Kind {
	switch l.native {
	case nBool:
		return csv.Bool
	case nInt, nUint32, nUint64:
		return csv.Int
	case nFloat, nDouble, nFloat16:
		return csv.Number
	case nDecInt, nDecBytes:
		if l.currency {
			return csv.Currency
		}
		return csv.Number
	case nDate:
		return csv.Date
	case nTimestamp, nInt96:
		return csv.DateTime
	case nTime:
		return csv.Time
	}
	return csv.Text
}

func unitsPerDay(u *format.TimeUnit) (int64, bool) {
	switch u.Value.(type) {
	case *format.MilliSeconds:
		return 86_400_000, true
	case *format.MicroSeconds:
		return 86_400_000_000, true
	case *format.NanoSeconds:
		return 86_400_000_000_000, true
	}
	return 0, false
}

// file is an open Parquet file.
type file struct {
	f      *pq.File
	closer io.Closer
	leaves []leaf
	ra     io.ReaderAt
	size   int64
}

func (f *file) Close() error { return f.closer.Close() }

// openFile opens a file and reads its footer. Panics of the decoder on a
// damaged file become ErrFormat errors.
func openFile(name string, open func() (io.ReadCloser, error)) (pf *file, err error) {
	rc, err := open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	var ra io.ReaderAt
	var size int64
	if f, ok := rc.(*os.File); ok {
		st, err := f.Stat()
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		ra, size = f, st.Size()
	} else {
		b, err := io.ReadAll(io.LimitReader(rc, MaxInMemory+1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if len(b) > MaxInMemory {
			rc.Close()
			return nil, fmt.Errorf("read %s: more than %d bytes to hold in memory; read the file from disk: %w", name, MaxInMemory, ErrFormat)
		}
		ra, size = bytes.NewReader(b), int64(len(b))
	}
	if err := checkTrailer(ra, size); err != nil {
		rc.Close()
		return nil, fmt.Errorf("read %s: %v: %w", name, err, ErrFormat)
	}
	defer func() {
		if r := recover(); r != nil {
			rc.Close()
			pf, err = nil, fmt.Errorf("read %s: damaged footer (%v): %w", name, r, ErrFormat)
		}
	}()
	f, err := pq.OpenFile(ra, size, pq.SkipPageIndex(true), pq.SkipBloomFilters(true), pq.ReadBufferSize(1<<20))
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("read %s: %v: %w", name, err, ErrFormat)
	}
	return &file{f: f, closer: rc, leaves: leavesOf(f.Schema()), ra: ra, size: size}, nil
}

// checkTrailer checks the magic bytes and the footer length before the
// decoder sees them: the decoder allocates whatever length the last eight
// bytes claim, and a damaged file must not make the server allocate
// gigabytes.
func checkTrailer(ra io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes is too short for a Parquet file", size)
	}
	var head [4]byte
	if _, err := ra.ReadAt(head[:], 0); err != nil {
		return err
	}
	var tail [8]byte
	if _, err := ra.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if string(head[:]) != "PAR1" || string(tail[4:]) != "PAR1" {
		if string(head[:]) == "PARE" || string(tail[4:]) == "PARE" {
			return errors.New("the file is encrypted")
		}
		return errors.New("no Parquet magic bytes (PAR1) at the start and end")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("the footer claims %d bytes in a file of %d", n, size)
	}
	return nil
}

// ReadSchema reads the footer of a file and returns its top-level columns
// and its number of rows. open is called once; the file it returns is
// closed before ReadSchema returns.
func ReadSchema(ctx context.Context, name string, open func() (io.ReadCloser, error)) ([]Field, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f, err := openFile(name, open)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fields := make([]Field, len(f.leaves))
	for i, l := range f.leaves {
		fields[i] = l.Field
	}
	return fields, f.f.NumRows(), nil
}
