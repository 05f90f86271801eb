package csv

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAll reads every row of input with a buffer of bufSize bytes (0 for
// the default) and returns the rows and the line each started on.
func readAll(input string, opts Options, bufSize int) (rows [][]string, lines []int, err error) {
	rd, err := NewReader(strings.NewReader(input), opts)
	if err != nil {
		return nil, nil, err
	}
	rd.bufSize = bufSize
	for {
		fields, err := rd.Read()
		if err == io.EOF {
			return rows, lines, nil
		}
		if err != nil {
			return rows, lines, err
		}
		row := make([]string, len(fields))
		for i, f := range fields {
			row[i] = string(f)
		}
		rows = append(rows, row)
		lines = append(lines, rd.Line())
	}
}

// bufSizes are the buffer sizes every reader case runs with: tiny ones
// split rows, quotes, CRLFs and multi-byte delimiters across refills.
var bufSizes = []int{0, 1, 2, 3, 5, 8, 64}

func TestReader(t *testing.T) {
	type rows = [][]string
	tests := []struct {
		name  string
		in    string
		opts  Options
		want  rows
		lines []int // line of each row; nil to skip the check
		err   string
	}{
		{name: "simple", in: "a,b\n1,2\n", want: rows{{"a", "b"}, {"1", "2"}}, lines: []int{1, 2}},
		{name: "no final newline", in: "a,b\n1,2", want: rows{{"a", "b"}, {"1", "2"}}},
		{name: "crlf", in: "a,b\r\n1,2\r\n", want: rows{{"a", "b"}, {"1", "2"}}, lines: []int{1, 2}},
		{name: "lone cr", in: "a\rb\r", want: rows{{"a"}, {"b"}}, lines: []int{1, 2}},
		{name: "mixed breaks", in: "a\r\nb\nc\rd", want: rows{{"a"}, {"b"}, {"c"}, {"d"}}, lines: []int{1, 2, 3, 4}},
		{name: "empty input", in: "", want: nil},
		{name: "only a newline", in: "\n", want: rows{{""}}},
		{name: "empty lines are rows", in: "a\n\nb\n\n", want: rows{{"a"}, {""}, {"b"}, {""}}, lines: []int{1, 2, 3, 4}},
		{name: "empty crlf lines", in: "a\r\n\r\nb", want: rows{{"a"}, {""}, {"b"}}},
		{name: "trailing empty field", in: "a,\n", want: rows{{"a", ""}}},
		{name: "leading empty field", in: ",a", want: rows{{"", "a"}}},
		{name: "only delimiters", in: ",,\n", want: rows{{"", "", ""}}},
		{name: "ragged", in: "a,b,c\n1\n1,2,3,4\n", want: rows{{"a", "b", "c"}, {"1"}, {"1", "2", "3", "4"}}},
		{name: "quoted delimiter", in: `"a,b",c`, want: rows{{"a,b", "c"}}},
		{name: "doubled quotes", in: `"a""b",""""`, want: rows{{`a"b`, `"`}}},
		{name: "empty quoted", in: `"",x` + "\n" + `""`, want: rows{{"", "x"}, {""}}},
		{name: "quoted crlf", in: "\"a\r\nb\",c\r\nd,e\r\n", want: rows{{"a\r\nb", "c"}, {"d", "e"}}, lines: []int{1, 3}},
		{name: "quoted lf and cr", in: "\"1\n2\r3\r\n4\",x\ny", want: rows{{"1\n2\r3\r\n4", "x"}, {"y"}}, lines: []int{1, 5}},
		{name: "quoted at end without newline", in: `a,"b"`, want: rows{{"a", "b"}}},
		{name: "quote inside field is data", in: `a"b,c"`, want: rows{{`a"b`, `c"`}}},
		{name: "space before quote", in: ` "a",b`, want: rows{{` "a"`, "b"}}},
		{name: "text after closing quote", in: `"ab"cd,e`, want: rows{{"abcd", "e"}}},
		{name: "text after doubled quote", in: `"a""b"cd`, want: rows{{`a"bcd`}}},
		{name: "unicode", in: "é,日本\n", want: rows{{"é", "日本"}}},
		{name: "bom", in: "\xEF\xBB\xBFa,b\n1,2", want: rows{{"a", "b"}, {"1", "2"}}},
		{name: "bom only", in: "\xEF\xBB\xBF", want: nil},
		{name: "bom then quote", in: "\xEF\xBB\xBF\"a\",b", want: rows{{"a", "b"}}},
		{name: "tab", in: "a\tb\n\"x\ty\"\tz", opts: Options{Delimiter: '\t'}, want: rows{{"a", "b"}, {"x\ty", "z"}}},
		{name: "semicolon", in: "a;b,c\n", opts: Options{Delimiter: ';'}, want: rows{{"a", "b,c"}}},
		{name: "multibyte delimiter", in: "a¦b¦\"c¦d\"\n", opts: Options{Delimiter: '¦'}, want: rows{{"a", "b", "c¦d"}}},
		{name: "multibyte delimiter prefix is data", in: "a\xC2,b¦c", opts: Options{Delimiter: '¦'}, want: rows{{"a\uFFFD,b", "c"}}},
		{name: "multibyte delimiter prefix at end", in: "a¦b\xC2", opts: Options{Delimiter: '¦'}, want: rows{{"a", "b\uFFFD"}}},
		{name: "quote none", in: "\"a,b\"\n\"c\nd\"", opts: Options{Quotes: QuoteNone}, want: rows{{`"a`, `b"`}, {`"c`}, {`d"`}}},
		{name: "invalid utf8 replaced", in: "a\xffb,\xC3\n", want: rows{{"a\uFFFDb", "\uFFFD"}}},
		{name: "invalid utf8 in quoted", in: "\"\xff\"\"\",x", want: rows{{"\uFFFD\"", "x"}}},
		{name: "windows-1252", in: "caf\xe9,\x80 \x93q\x94\n", opts: Options{Encoding: 1252}, want: rows{{"café", "€ “q”"}}},
		{name: "windows-1252 with utf-8 bom", in: "\xEF\xBB\xBFcafé", opts: Options{Encoding: 1252}, want: rows{{"café"}}},
		{name: "latin-1", in: "\xe9", opts: Options{Encoding: 28591}, want: rows{{"é"}}},
		{name: "ascii", in: "ab\x80", opts: Options{Encoding: 20127}, want: rows{{"ab\uFFFD"}}},
		{name: "utf-16le with bom", in: "\xFF\xFEa\x00,\x00\xE9\x00\n\x00", opts: Options{Encoding: 1200}, want: rows{{"a", "é"}}},
		{name: "utf-16be", in: "\x00a\x00,\x00b", opts: Options{Encoding: 1201}, want: rows{{"a", "b"}}},
		{name: "unterminated quote", in: "a\n\"bc\nd", err: "line 2: quoted field is never closed"},
		{name: "unterminated quote later field", in: "x\ny,\"\n\n", err: "line 2: quoted field is never closed"},
		{name: "too many fields", in: "a,b,c,d", opts: Options{MaxFields: 3}, err: "line 1: more than 3 fields"},
		{name: "row too long", in: "ab\n\"cdefghijklmnop", opts: Options{MaxRowBytes: 8}, err: "line 2: row is longer than 8 bytes"},
		{name: "long rows within limit", in: "abcdefgh\nijklmnop\n", opts: Options{MaxRowBytes: 9}, want: rows{{"abcdefgh"}, {"ijklmnop"}}},
		{name: "bad delimiter", in: "", opts: Options{Delimiter: '"'}, err: "delimiter"},
		{name: "bad encoding", in: "", opts: Options{Encoding: 932}, err: "code page 932"},
	}
	for _, tt := range tests {
		for _, size := range bufSizes {
			if tt.opts.MaxRowBytes != 0 && size != 0 && size < 3 {
				continue
			}
			t.Run(tt.name+"/buf"+itoa(size), func(t *testing.T) {
				got, lines, err := readAll(tt.in, tt.opts, size)
				if tt.err != "" {
					if err == nil {
						t.Fatalf("read %q: no error, want %q (rows %q)", tt.in, tt.err, got)
					}
					if !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("read %q: error %q, want %q", tt.in, err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("read %q: %v", tt.in, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("read %q: rows differ (-want +got):\n%s", tt.in, diff)
				}
				if tt.lines != nil {
					if diff := cmp.Diff(tt.lines, lines); diff != "" {
						t.Errorf("read %q: lines differ (-want +got):\n%s", tt.in, diff)
					}
				}
			})
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "default"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestReaderFieldLine(t *testing.T) {
	rd, err := NewReader(strings.NewReader("h\n\"a\nb\",c,\"d\r\n\re\",f\ng"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Read(); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Read(); err != nil {
		t.Fatal(err)
	}
	var got []int
	for i := range 4 {
		got = append(got, rd.FieldLine(i))
	}
	if diff := cmp.Diff([]int{2, 3, 3, 5}, got); diff != "" {
		t.Errorf("field lines (-want +got):\n%s", diff)
	}
	if _, err := rd.Read(); err != nil {
		t.Fatal(err)
	}
	if rd.Line() != 6 {
		t.Errorf("last row on line %d, want 6", rd.Line())
	}
}

// A reader error is reported with the line being read, and is not EOF.
func TestReaderReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	rd, err := NewReader(io.MultiReader(strings.NewReader("a\nb"), errReader{boom}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rd.bufSize = 2
	var got error
	for got == nil {
		_, got = rd.Read()
	}
	if !errors.Is(got, boom) {
		t.Fatalf("error %v, want %v", got, boom)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Fields are reused: a steady-state Read allocates nothing.
func TestReaderAllocs(t *testing.T) {
	row := "12345,\"quoted, with \"\"escapes\"\"\",plain text,2020-01-31\n"
	input := strings.Repeat(row, 20000)
	rd, err := NewReader(strings.NewReader(input), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := rd.Read(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := rd.Read(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Read allocates %.1f times per row, want 0", allocs)
	}
}
