package parquet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/meridian-olap/meridian/internal/source/csv"
	"github.com/meridian-olap/meridian/internal/source/sourcetest"
	"github.com/meridian-olap/meridian/internal/value"
)

// col is a column of a test file: its node and its values, one per row
// (nil for a null).
type col struct {
	name string
	node pq.Node
	vals []any
}

// pv converts a Go value to a Parquet value of the node's physical type.
func pv(t testing.TB, n pq.Node, v any) pq.Value {
	switch x := v.(type) {
	case nil:
		return pq.NullValue()
	case bool:
		return pq.BooleanValue(x)
	case int:
		if n.Type().Kind() == pq.Int32 {
			return pq.Int32Value(int32(x))
		}
		return pq.Int64Value(int64(x))
	case int64:
		return pq.Int64Value(x)
	case float32:
		return pq.FloatValue(x)
	case float64:
		return pq.DoubleValue(x)
	case string:
		if n.Type().Kind() == pq.FixedLenByteArray {
			return pq.FixedLenByteArrayValue([]byte(x))
		}
		return pq.ByteArrayValue([]byte(x))
	case []byte:
		if n.Type().Kind() == pq.FixedLenByteArray {
			return pq.FixedLenByteArrayValue(x)
		}
		return pq.ByteArrayValue(x)
	case deprecated.Int96:
		return pq.Int96Value(x)
	}
	t.Fatalf("no Parquet value for %T", v)
	return pq.Value{}
}

// writeFile writes a flat file of the given columns in tiny pages;
// groupRows > 0 cuts row groups of that many rows.
func writeFile(t testing.TB, cols []col, groupRows int64) []byte {
	t.Helper()
	return writeFileSized(t, cols, groupRows, 64)
}

// writeFileSized writes a flat file with pages of about pageBytes.
func writeFileSized(t testing.TB, cols []col, groupRows int64, pageBytes int) []byte {
	t.Helper()
	g := pq.Group{}
	byName := map[string]col{}
	for _, c := range cols {
		g[c.name] = c.node
		byName[c.name] = c
	}
	schema := pq.NewSchema("test", g)
	opts := []pq.WriterOption{schema, pq.Compression(&pq.Zstd), pq.PageBufferSize(pageBytes)}
	if groupRows > 0 {
		opts = append(opts, pq.MaxRowsPerRowGroup(groupRows))
	}
	var buf bytes.Buffer
	w := pq.NewWriter(&buf, opts...)
	nrows := len(cols[0].vals)
	for r := 0; r < nrows; r++ {
		var row pq.Row
		for i, f := range schema.Fields() {
			c := byName[f.Name()]
			v := pv(t, c.node, c.vals[r])
			def := 0
			if c.node.Optional() && c.vals[r] != nil {
				def = 1
			}
			row = append(row, v.Level(0, def, i))
		}
		if _, err := w.WriteRows([]pq.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func osOpen(path string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

func bytesOpen(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// all selects every column of a schema with its own type.
func all(fields []Field) []Column {
	var cols []Column
	for i, f := range fields {
		cols = append(cols, Column{Name: f.Name, Field: i})
	}
	return cols
}

func read(t testing.TB, data []byte, cols func([]Field) []Column, skip int64) ([][]value.Value, error) {
	t.Helper()
	ctx := context.Background()
	fields, _, err := ReadSchema(ctx, "test.parquet", bytesOpen(data))
	if err != nil {
		return nil, err
	}
	src, err := NewSource(Config{Name: "test.parquet", Open: bytesOpen(data), Schema: fields, Columns: cols(fields), Skip: skip})
	if err != nil {
		return nil, err
	}
	rec := &sourcetest.Recorder{T: t}
	err = src.Scan(ctx, rec)
	return rec.Rows, err
}

// epoch is 1970-01-01, where Parquet counts dates from.
var epoch = value.DateOf(1970, 1, 1)

func date(y, m, d int) value.Value { return value.Date(value.DateOf(y, m, d)) }

func TestReadSchemaTypes(t *testing.T) {
	tests := []struct {
		name        string
		node        pq.Node
		want        value.Type
		unsupported string
	}{
		{"boolean", pq.Leaf(pq.BooleanType), value.Boolean, ""},
		{"int32", pq.Leaf(pq.Int32Type), value.Integer, ""},
		{"int64", pq.Leaf(pq.Int64Type), value.Integer, ""},
		{"int8", pq.Int(8), value.Integer, ""},
		{"uint64", pq.Uint(64), value.Integer, ""},
		{"float", pq.Leaf(pq.FloatType), value.Decimal, ""},
		{"double", pq.Leaf(pq.DoubleType), value.Decimal, ""},
		{"decimal 18,4", pq.Decimal(4, 18, pq.Int64Type), value.Currency, ""},
		{"decimal 9,2", pq.Decimal(2, 9, pq.Int32Type), value.Currency, ""},
		{"decimal 18,6", pq.Decimal(6, 18, pq.Int64Type), value.Decimal, ""},
		{"decimal 30,2", pq.Decimal(2, 30, pq.FixedLenByteArrayType(13)), value.Decimal, ""},
		{"date", pq.Date(), value.DateTime, ""},
		{"timestamp", pq.Timestamp(pq.Microsecond), value.DateTime, ""},
		{"time", pq.Time(pq.Millisecond), value.DateTime, ""},
		{"int96", pq.Leaf(pq.Int96Type), value.DateTime, ""},
		{"string", pq.String(), value.String, ""},
		{"optional string", pq.Optional(pq.String()), value.String, ""},
		{"plain byte array", pq.Leaf(pq.ByteArrayType), value.String, ""},
		{"uuid", pq.UUID(), value.String, ""},
		{"json", pq.JSON(), value.String, ""},
		{"enum", pq.Enum(), value.String, ""},
		{"fixed bytes", pq.Leaf(pq.FixedLenByteArrayType(4)), value.Blank, "binary data"},
		{"list", pq.List(pq.String()), value.Blank, "nested group"},
		{"repeated", pq.Repeated(pq.String()), value.Blank, "repeated"},
		{"group", pq.Group{"a": pq.String()}, value.Blank, "nested group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := pq.NewWriter(&buf, pq.NewSchema("t", pq.Group{"c": tt.node, "z": pq.String()}))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			fields, rows, err := ReadSchema(context.Background(), "t.parquet", bytesOpen(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if rows != 0 || len(fields) != 2 {
				t.Fatalf("got %d rows and fields %+v", rows, fields)
			}
			f := fields[0]
			if f.Name != "c" || f.Type != tt.want || !strings.Contains(f.Unsupported, tt.unsupported) ||
				(tt.unsupported == "") != (f.Unsupported == "") {
				t.Errorf("got %+v, want type %v unsupported %q", f, tt.want, tt.unsupported)
			}
			// The column after a nested one is still found.
			if fields[1].Name != "z" || fields[1].Type != value.String {
				t.Errorf("second column %+v", fields[1])
			}
		})
	}
}

func TestScanNativeTypes(t *testing.T) {
	const hourNanos = uint64(3600e9)
	day := int(value.DateOf(2024, 2, 29) - epoch)
	ts := (int64(day)*86400 + 13*3600 + 30*60) * 1_000_000 // 13:30 in microseconds
	cols := []col{
		{"a bool", pq.Leaf(pq.BooleanType), []any{true, false, true}},
		{"b int", pq.Leaf(pq.Int64Type), []any{1, -2, 1 << 40}},
		{"c int32", pq.Optional(pq.Leaf(pq.Int32Type)), []any{7, nil, -7}},
		{"d uint32", pq.Uint(32), []any{int(int32(-1)), 0, 5}},
		{"e double", pq.Leaf(pq.DoubleType), []any{1.5, -0.25, 1e300}},
		{"f float", pq.Leaf(pq.FloatType), []any{float32(0.5), float32(2), float32(-8)}},
		{"g money", pq.Decimal(2, 18, pq.Int64Type), []any{12345, -1, 0}},
		{"h wide decimal", pq.Decimal(6, 30, pq.FixedLenByteArrayType(13)),
			[]any{append(make([]byte, 9), 0, 0x0f, 0x42, 0x40), bytes.Repeat([]byte{0xff}, 13), make([]byte, 13)}},
		{"i date", pq.Date(), []any{day, 0, -25569}},
		{"j timestamp", pq.Timestamp(pq.Microsecond), []any{ts, 0, int64(-1_000_000)}},
		{"k time", pq.Time(pq.Millisecond), []any{12 * 3600 * 1000, 0, 6 * 3600 * 1000}},
		{"l text", pq.Optional(pq.String()), []any{"héllo", nil, ""}},
		{"m uuid", pq.UUID(), []any{string(bytes.Repeat([]byte{0xab}, 16)), string(make([]byte, 16)), string(bytes.Repeat([]byte{1}, 16))}},
		{"n int96", pq.Leaf(pq.Int96Type), []any{deprecated.Int96{0, 0, 2440588 + uint32(day)}, deprecated.Int96{uint32(hourNanos & 0xffffffff), uint32(hourNanos >> 32), 2440588}, deprecated.Int96{0, 0, 2440589}}},
	}
	data := writeFile(t, cols, 2)
	got, err := read(t, data, all, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := value.DateOf(2024, 2, 29)
	want := [][]value.Value{
		{value.Bool(true), value.Int(1), value.Int(7), value.Int(4294967295), value.Float(1.5), value.Float(0.5),
			value.CurrencyUnits(1234500), value.Float(1), value.Date(d), value.Date(d + 13.5/24), value.Date(0.5),
			value.Str("héllo"), value.Str("abababab-abab-abab-abab-abababababab"), value.Date(d)},
		{value.Bool(false), value.Int(-2), value.BlankValue, value.Int(0), value.Float(-0.25), value.Float(2),
			value.CurrencyUnits(-100), value.Float(-1e-6), value.Date(epoch), value.Date(epoch), value.Date(0),
			value.BlankValue, value.Str("00000000-0000-0000-0000-000000000000"), value.Date(epoch + 1.0/24)},
		{value.Bool(true), value.Int(1 << 40), value.Int(-7), value.Int(5), value.Float(1e300), value.Float(-8),
			value.CurrencyUnits(0), value.Float(0), value.Date(0), value.Date(epoch - 1.0/86400), value.Date(0.25),
			value.Str(""), value.Str("01010101-0101-0101-0101-010101010101"), value.Date(epoch + 1)},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(sameValue)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// sameValue compares values, dates within a millisecond (DAX's
// precision).
func sameValue(a, b value.Value) bool {
	if a.Type() == value.DateTime && b.Type() == value.DateTime {
		x, y := a.AsFloat(), b.AsFloat()
		return x-y < 1.0/86_400_000 && y-x < 1.0/86_400_000
	}
	return a.Type() == b.Type() && a.Equal(b)
}

func TestScanConversions(t *testing.T) {
	cols := []col{
		{"int", pq.Leaf(pq.Int64Type), []any{3, nil}},
		{"money", pq.Decimal(4, 18, pq.Int64Type), []any{25000, 35000}},
		{"double", pq.Leaf(pq.DoubleType), []any{2.5, 0.0}},
		{"text", pq.String(), []any{"2021-03-04", " "}},
		{"num text", pq.String(), []any{"12.5", "x"}},
		{"ts", pq.Timestamp(pq.Millisecond), []any{int64(86_400_000*3 + 43_200_000), int64(0)}},
		{"bool", pq.Leaf(pq.BooleanType), []any{true, false}},
	}
	cols[0].node = pq.Optional(cols[0].node)
	data := writeFile(t, cols, 0)
	fields, _, err := ReadSchema(context.Background(), "t", bytesOpen(data))
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) int {
		for i, f := range fields {
			if f.Name == name {
				return i
			}
		}
		t.Fatalf("no field %q", name)
		return -1
	}
	tests := []struct {
		name string
		from string
		kind csv.Kind
		want []value.Value
		err  string // error from the scan, for the second row
	}{
		{"int to currency", "int", csv.Currency, []value.Value{value.CurrencyUnits(30000), value.BlankValue}, ""},
		{"int to text", "int", csv.Text, []value.Value{value.Str("3"), value.BlankValue}, ""},
		{"int to number", "int", csv.Number, []value.Value{value.Float(3), value.BlankValue}, ""},
		{"currency to int rounds half to even", "money", csv.Int, []value.Value{value.Int(2), value.Int(4)}, ""},
		{"currency to number", "money", csv.Number, []value.Value{value.Float(2.5), value.Float(3.5)}, ""},
		{"currency to text", "money", csv.Text, []value.Value{value.Str("2.5"), value.Str("3.5")}, ""},
		{"double to int", "double", csv.Int, []value.Value{value.Int(2), value.Int(0)}, ""},
		{"double to bool", "double", csv.Bool, []value.Value{value.Bool(true), value.Bool(false)}, ""},
		{"text to date", "text", csv.Date, []value.Value{date(2021, 3, 4), value.BlankValue}, ""},
		{"text to number fails", "num text", csv.Number, nil, `"x" is not number`},
		{"timestamp to date", "ts", csv.Date, []value.Value{value.Date(epoch + 3), value.Date(epoch)}, ""},
		{"timestamp to time", "ts", csv.Time, []value.Value{value.Date(0.5), value.Date(0)}, ""},
		{"bool to int", "bool", csv.Int, []value.Value{value.Int(1), value.Int(0)}, ""},
		{"bool to text", "bool", csv.Text, []value.Value{value.Str("true"), value.Str("false")}, ""},
		{"null kind", "bool", csv.Null, []value.Value{value.BlankValue, value.BlankValue}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := read(t, data, func([]Field) []Column {
				return []Column{{Name: "x", Field: field(tt.from), Kind: tt.kind, Typed: true}}
			}, 0)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrValue) {
					t.Fatalf("got error %v, want one with %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), "row group 1, row 2") || !strings.Contains(err.Error(), `column "num text"`) {
					t.Errorf("error %q does not say where", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var col []value.Value
			for _, r := range got {
				col = append(col, r[0])
			}
			if diff := cmp.Diff(tt.want, col, cmp.Comparer(sameValue)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewSourceErrors(t *testing.T) {
	fields := []Field{
		{Name: "d", Type: value.DateTime, Parquet: "INT32 DATE"},
		{Name: "l", Type: value.Blank, Parquet: "optional group", Unsupported: "it is a nested group"},
	}
	open := bytesOpen(nil)
	tests := []struct {
		name string
		cols []Column
		want string
	}{
		{"date to number", []Column{{Name: "d", Field: 0, Kind: csv.Number, Typed: true}}, `column "d" holds date/time values (INT32 DATE), which do not convert to number`},
		{"nested group", []Column{{Name: "l", Field: 1}}, `column "l" (optional group) cannot be loaded: it is a nested group`},
		{"field out of range", []Column{{Name: "x", Field: 2}}, `column "x": field 2 of 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource(Config{Name: "f.parquet", Open: open, Schema: fields, Columns: tt.cols})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrColumn) {
				t.Fatalf("got %v, want an ErrColumn with %q", err, tt.want)
			}
		})
	}
}

func TestScanSkipAndRowGroups(t *testing.T) {
	var ids, names []any
	for i := 0; i < 25; i++ {
		ids = append(ids, i)
		if i%3 == 0 {
			names = append(names, nil)
		} else {
			names = append(names, strings.Repeat("n", i))
		}
	}
	data := writeFile(t, []col{{"id", pq.Leaf(pq.Int64Type), ids}, {"name", pq.Optional(pq.String()), names}}, 7)
	for _, skip := range []int64{0, 1, 6, 7, 8, 20, 24, 25, 40} {
		got, err := read(t, data, func(fs []Field) []Column {
			// A column without a field, between two real ones.
			return []Column{{Name: "name", Field: 1}, {Name: "none", Field: -1}, {Name: "id", Field: 0}}
		}, skip)
		if err != nil {
			t.Fatal(err)
		}
		var want [][]value.Value
		for i := skip; i < 25; i++ {
			n := value.BlankValue
			if i%3 != 0 {
				n = value.Str(strings.Repeat("n", int(i)))
			}
			want = append(want, []value.Value{n, value.BlankValue, value.Int(i)})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("skip %d (-want +got):\n%s", skip, diff)
		}
	}
}

func TestScanNoColumns(t *testing.T) {
	data := writeFile(t, []col{{"id", pq.Leaf(pq.Int64Type), []any{1, 2, 3}}}, 2)
	got, err := read(t, data, func([]Field) []Column { return []Column{{Name: "x", Field: -1}} }, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("got %d rows, want 2", len(got))
	}
}

func TestScanBadFiles(t *testing.T) {
	good := writeFile(t, []col{{"id", pq.Leaf(pq.Int64Type), []any{1, 2, 3}}, {"s", pq.String(), []any{"a", "b", "c"}}}, 0)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not parquet", []byte("id,s\n1,a\n")},
		{"truncated", good[:len(good)-10]},
		{"no head", good[4:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadSchema(context.Background(), "bad.parquet", bytesOpen(tt.data))
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "bad.parquet") {
				t.Fatalf("got %v, want an ErrFormat naming the file", err)
			}
		})
	}
	t.Run("damaged pages", func(t *testing.T) {
		// Overwrite the column data (between the magic and the footer)
		// with noise: the footer still reads, the pages do not.
		bad := bytes.Clone(good)
		for i := 4; i < len(bad)/2; i++ {
			bad[i] ^= 0x5a
		}
		_, err := read(t, bad, all, 0)
		if err == nil {
			t.Fatal("a damaged file was read without an error")
		}
	})
	t.Run("changed file", func(t *testing.T) {
		fields, _, err := ReadSchema(context.Background(), "f", bytesOpen(good))
		if err != nil {
			t.Fatal(err)
		}
		other := writeFile(t, []col{{"id", pq.String(), []any{"x"}}, {"s", pq.String(), []any{"a"}}}, 0)
		src, err := NewSource(Config{Name: "f", Open: bytesOpen(other), Schema: fields, Columns: all(fields)})
		if err != nil {
			t.Fatal(err)
		}
		err = src.Scan(context.Background(), &sourcetest.Recorder{T: t})
		if !errors.Is(err, ErrChanged) {
			t.Fatalf("got %v, want ErrChanged", err)
		}
	})
}

func TestScanFromDiskAndCancel(t *testing.T) {
	var ids []any
	for i := 0; i < 5000; i++ {
		ids = append(ids, i)
	}
	data := writeFile(t, []col{{"id", pq.Leaf(pq.Int64Type), ids}}, 0)
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	fields, rows, err := ReadSchema(context.Background(), "f.parquet", open)
	if err != nil || rows != 5000 {
		t.Fatalf("ReadSchema: %v, %d rows", err, rows)
	}
	src, err := NewSource(Config{Name: "f.parquet", Open: open, Schema: fields, Columns: all(fields)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &sourcetest.Recorder{T: t}
	if err := src.Scan(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Rows) != 5000 || rec.Rows[4999][0].AsInt() != 4999 {
		t.Fatalf("read %d rows", len(rec.Rows))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := src.Scan(ctx, &sourcetest.Recorder{T: t}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scan: %v", err)
	}
	// The sink's error stops the scan and comes back with the place.
	stop := errors.New("stop here")
	err = src.Scan(context.Background(), &sourcetest.Recorder{T: t, Fail: stop})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "row group 1, row 1") {
		t.Fatalf("got %v", err)
	}
}

func TestReadSchemaKinds(t *testing.T) {
	cols := map[string]struct {
		node pq.Node
		kind csv.Kind
	}{
		"bool": {pq.Leaf(pq.BooleanType), csv.Bool}, "int": {pq.Int(16), csv.Int},
		"double": {pq.Leaf(pq.DoubleType), csv.Number}, "money": {pq.Decimal(2, 10, pq.Int64Type), csv.Currency},
		"wide": {pq.Decimal(8, 18, pq.Int64Type), csv.Number}, "date": {pq.Date(), csv.Date},
		"ts": {pq.Timestamp(pq.Nanosecond), csv.DateTime}, "time": {pq.Time(pq.Microsecond), csv.Time},
		"text": {pq.String(), csv.Text}, "bytes": {pq.Leaf(pq.FixedLenByteArrayType(3)), csv.Text},
	}
	g := pq.Group{}
	for name, c := range cols {
		g[name] = c.node
	}
	var buf bytes.Buffer
	if err := pq.NewWriter(&buf, pq.NewSchema("t", g)).Close(); err != nil {
		t.Fatal(err)
	}
	fields, _, err := ReadSchema(context.Background(), "t", bytesOpen(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if want := cols[f.Name].kind; f.Kind != want {
			t.Errorf("column %q (%s): kind %v, want %v", f.Name, f.Parquet, f.Kind, want)
		}
	}
}
