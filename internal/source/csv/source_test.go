package csv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/source/sourcetest"
	"github.com/meridian-olap/meridian/internal/value"
)

func textOpen(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

func TestSourceScan(t *testing.T) {
	type row = []value.Value
	b := value.BlankValue
	s := value.Str
	tests := []struct {
		name string
		in   string
		cfg  Config
		want []row
	}{
		{
			name: "header skipped and types converted",
			in:   "Qty,Price,When,Name,Ok,Rate\r\n3,12.34567,2020-01-31,Ann,TRUE,12.5%\r\n,,,,,\r\n",
			cfg: Config{Skip: 1, Columns: []Column{
				{Name: "Qty", Field: 0, Kind: Int}, {Name: "Price", Field: 1, Kind: Currency},
				{Name: "When", Field: 2, Kind: Date}, {Name: "Name", Field: 3, Kind: Text},
				{Name: "Ok", Field: 4, Kind: Bool}, {Name: "Rate", Field: 5, Kind: Percentage},
			}},
			want: []row{
				{value.Int(3), value.CurrencyUnits(123457), value.Date(value.DateOf(2020, 1, 31)), s("Ann"), value.Bool(true), value.Float(0.125)},
				{b, b, b, s(""), b, b},
			},
		},
		{
			name: "columns reordered, extra fields dropped, missing blank",
			in:   "9,b,c,d\n1\n1,2\n",
			cfg: Config{Columns: []Column{
				{Name: "C", Field: 2, Kind: Text}, {Name: "A", Field: 0, Kind: Number}, {Name: "None", Field: -1},
			}},
			want: []row{{s("c"), value.Float(9), b}, {b, value.Float(1), b}, {b, value.Float(1), b}},
		},
		{
			name: "white space is blank for numbers, kept for text",
			in:   " , \n",
			cfg:  Config{Columns: []Column{{Name: "N", Field: 0, Kind: Int}, {Name: "T", Field: 1, Kind: Text}}},
			want: []row{{b, s(" ")}},
		},
		{
			name: "empty line is a row of blanks",
			in:   "1,x\n\n2,y\n",
			cfg:  Config{Columns: []Column{{Name: "N", Field: 0, Kind: Int}, {Name: "T", Field: 1, Kind: Text}}},
			want: []row{{value.Int(1), s("x")}, {b, b}, {value.Int(2), s("y")}},
		},
		{
			name: "datetime time and datetimezone",
			in:   "2020-01-31 06:00,18:00,2020-01-31T12:00:00+06:00\n",
			cfg: Config{Columns: []Column{{Name: "A", Field: 0, Kind: DateTime}, {Name: "B", Field: 1, Kind: Time},
				{Name: "C", Field: 2, Kind: DateTimeZone}}},
			want: []row{{value.Date(value.DateOf(2020, 1, 31) + 0.25), value.Date(0.75), value.Date(value.DateOf(2020, 1, 31) + 0.25)}},
		},
		{
			name: "semicolons and 1252",
			in:   "Caf\xe9;\"1,5\"\n",
			cfg: Config{Options: Options{Delimiter: ';', Encoding: 1252},
				Columns: []Column{{Name: "T", Field: 0}, {Name: "N", Field: 1}}},
			want: []row{{s("Café"), s("1,5")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Name = "test.csv"
			cfg.Open = textOpen(tt.in)
			src, err := NewSource(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for pass := range 2 { // Scan starts over each time
				rec := &sourcetest.Recorder{T: t}
				if err := src.Scan(context.Background(), rec); err != nil {
					t.Fatalf("pass %d: %v", pass, err)
				}
				if diff := cmp.Diff(tt.want, rec.Rows, cmp.Comparer(func(a, b value.Value) bool {
					return a.Type() == b.Type() && (a.Equal(b) && a.String() == b.String())
				})); diff != "" {
					t.Errorf("pass %d: rows differ (-want +got):\n%s", pass, diff)
				}
			}
		})
	}
}

func TestSourceFields(t *testing.T) {
	src, err := NewSource(Config{Name: "x", Open: textOpen(""), Columns: []Column{
		{Name: "A", Field: 0, Kind: Int}, {Name: "B", Field: 1, Kind: Currency}, {Name: "C", Field: 2},
		{Name: "D", Field: 3, Kind: Date}, {Name: "E", Field: -1, Kind: Int},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []source.Field{{Name: "A", Type: value.Integer}, {Name: "B", Type: value.Currency},
		{Name: "C", Type: value.String}, {Name: "D", Type: value.DateTime}, {Name: "E", Type: value.String}}
	if diff := cmp.Diff(want, src.Fields()); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestSourceErrors(t *testing.T) {
	cols := []Column{{Name: "Order", Field: 0, Kind: Int}, {Name: "Quantity", Field: 1, Kind: Int},
		{Name: "Note", Field: 2}, {Name: "When", Field: 3, Kind: Date}, {Name: "Price", Field: 4, Kind: Currency}}
	tests := []struct {
		name string
		in   string
		cfg  Config
		err  string
		is   error
	}{
		{
			name: "bad whole number",
			in:   "Order,Quantity\n1,2\n2,12x\n",
			err:  `Sales.csv line 3, column "Quantity" (field 2): "12x" is not a whole number`,
			is:   ErrValue,
		},
		{
			name: "line counts quoted line breaks",
			in:   "Order,Quantity,Note\n1,2,\"a\nb\nc\"\n2,x\n",
			err:  `Sales.csv line 5, column "Quantity" (field 2): "x" is not a whole number`,
		},
		{
			name: "field after a multi-line field",
			in:   "h\n1,2,\"a\nb\",31/31/2020\n",
			err:  `Sales.csv line 3, column "When" (field 4): "31/31/2020" is not a date`,
		},
		{
			name: "long value shortened",
			in:   "h\n1,2,,2020-01-01," + strings.Repeat("9", 100) + "\n",
			err:  `Sales.csv line 2, column "Price" (field 5): "` + strings.Repeat("9", 40) + `…" is not a fixed decimal number`,
		},
		{
			name: "control characters quoted",
			in:   "h\n\"1\x00\"\n",
			err:  `Sales.csv line 2, column "Order" (field 1): "1\x00" is not a whole number`,
		},
		{
			name: "unclosed quote",
			in:   "h\n1,\"2\n",
			err:  `read Sales.csv: line 2: quoted field is never closed`,
			is:   ErrSyntax,
		},
		{
			name: "extra values error",
			in:   "h\n1,2,3,2020-01-01,5,6\n",
			cfg:  Config{MaxFields: 5},
			err:  `Sales.csv line 2: 6 fields where 5 are expected`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Name = "Sales.csv"
			cfg.Open = textOpen(tt.in)
			cfg.Skip = 1
			cfg.Columns = cols
			src, err := NewSource(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = src.Scan(context.Background(), &sourcetest.Recorder{T: t})
			if err == nil {
				t.Fatalf("Scan: no error, want %q", tt.err)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Scan error:\n  %s\nwant:\n  %s", err, tt.err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Scan error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestSourceSinkError(t *testing.T) {
	src, err := NewSource(Config{Name: "s.csv", Open: textOpen("a\nb\n"), Columns: []Column{{Name: "A"}}})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("dictionary full")
	err = src.Scan(context.Background(), &sourcetest.Recorder{T: t, Fail: boom})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "s.csv line 1: dictionary full") {
		t.Errorf("Scan = %v, want the sink's error at line 1", err)
	}
}

func TestSourceOpenError(t *testing.T) {
	boom := errors.New("no such file")
	src, err := NewSource(Config{Name: "s.csv", Open: func() (io.ReadCloser, error) { return nil, boom }})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Scan(context.Background(), &sourcetest.Recorder{T: t}); !errors.Is(err, boom) {
		t.Errorf("Scan = %v, want %v", err, boom)
	}
}

func TestSourceBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no open":       {Name: "x"},
		"bad delimiter": {Name: "x", Open: textOpen(""), Options: Options{Delimiter: '\n'}},
		"bad encoding":  {Name: "x", Open: textOpen(""), Options: Options{Encoding: 12345}},
		"bad kind":      {Name: "x", Open: textOpen(""), Columns: []Column{{Name: "A", Kind: 99}}},
		"negative skip": {Name: "x", Open: textOpen(""), Skip: -1},
	} {
		if _, err := NewSource(cfg); err == nil {
			t.Errorf("%s: NewSource succeeded", name)
		}
	}
}

// countSink counts rows and cancels its context after a number of them.
type countSink struct {
	rows   int
	cancel func()
	after  int
}

func (c *countSink) Blank(int)           {}
func (c *countSink) Int(int, int64)      {}
func (c *countSink) Float(int, float64)  {}
func (c *countSink) Currency(int, int64) {}
func (c *countSink) Bool(int, bool)      {}
func (c *countSink) Date(int, float64)   {}
func (c *countSink) String(int, []byte)  {}
func (c *countSink) EndRow() error {
	c.rows++
	if c.rows == c.after && c.cancel != nil {
		c.cancel()
	}
	return nil
}

func TestSourceCancel(t *testing.T) {
	var buf bytes.Buffer
	for range 100000 {
		buf.WriteString("1,2\n")
	}
	src, err := NewSource(Config{Name: "big.csv", Open: textOpen(buf.String()),
		Columns: []Column{{Name: "A", Field: 0, Kind: Int}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &countSink{cancel: cancel, after: 10}
	err = src.Scan(ctx, sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan = %v, want context.Canceled", err)
	}
	if sink.rows > 10+ctxEvery {
		t.Errorf("Scan went on for %d rows after cancellation", sink.rows-10)
	}
}

func TestReadRow(t *testing.T) {
	open := textOpen("\xEF\xBB\xBF\"A,1\",B\n1,2\n\n")
	tests := []struct {
		n    int
		want []string
	}{
		{0, []string{"A,1", "B"}},
		{1, []string{"1", "2"}},
		{2, []string{""}},
		{3, nil},
	}
	for _, tt := range tests {
		got, err := ReadRow(context.Background(), open, Options{}, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ReadRow(%d) (-want +got):\n%s", tt.n, diff)
		}
	}
}
