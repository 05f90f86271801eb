package csv

import (
	stdcsv "encoding/csv"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var fuzzDelims = []rune{',', ';', '\t', '¦', '|'}

// FuzzReader checks that the reader never panics, gives the same rows
// whatever its buffer size, returns valid UTF-8, and agrees with
// encoding/csv on the inputs where the two dialects coincide.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\r\n\"x,\"\"y\"\"\",z\r\n", "\"a\nb\",c", "\xEF\xBB\xBFh1,h2\n1,2",
		"a\rb\r\n\n", `"ab"cd,e`, "\"unclosed,\n", "a¦b¦\"c¦d\"", "\xff\xfe,\xC3", ",,,\n,,",
		"\"\"\"\"\n\"\"", "x;y\t\"z\"",
	} {
		f.Add([]byte(s), uint8(0), false)
		f.Add([]byte(s), uint8(3), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, delim uint8, none bool) {
		opts := Options{Delimiter: fuzzDelims[int(delim)%len(fuzzDelims)]}
		if none {
			opts.Quotes = QuoteNone
		}
		big, _, bigErr := readAll(string(data), opts, 4096)
		small, _, smallErr := readAll(string(data), opts, 3)
		if (bigErr == nil) != (smallErr == nil) {
			t.Fatalf("buffer sizes disagree on errors: %v vs %v", bigErr, smallErr)
		}
		if diff := cmp.Diff(big, small); diff != "" {
			t.Fatalf("buffer sizes disagree (-big +small):\n%s", diff)
		}
		for _, row := range big {
			for _, f := range row {
				if !utf8.ValidString(f) {
					t.Fatalf("field %q is not valid UTF-8", f)
				}
			}
		}
		checkLines(t, data, opts)
		in := string(data)
		if opts.Delimiter != ',' || none || !utf8.ValidString(in) || strings.ContainsRune(in, '\r') ||
			strings.HasPrefix(in, "\xEF\xBB\xBF") || strings.HasPrefix(in, "\n") || strings.Contains(in, "\n\n") {
			return // where the dialects differ: see doc.go
		}
		r := stdcsv.NewReader(strings.NewReader(in))
		r.FieldsPerRecord = -1
		want, err := r.ReadAll()
		if err != nil {
			return // encoding/csv is stricter about stray quotes
		}
		if bigErr != nil {
			if errors.Is(bigErr, ErrSyntax) && strings.Contains(bigErr.Error(), "fields in a row") {
				return
			}
			t.Fatalf("encoding/csv reads %q, this reader fails: %v", in, bigErr)
		}
		if len(want) == 0 {
			want = nil
		}
		if diff := cmp.Diff(want, big); diff != "" {
			t.Fatalf("differs from encoding/csv on %q (-std +ours):\n%s", in, diff)
		}
	})
}

// FuzzConvert checks that the conversions never panic and that whole
// numbers agree with the plain integer reader where both accept.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{"12", "-3.5", "1,234.5", "1e5", "2020-01-31", "1/31/2020 10:20 PM",
		"January 31, 2020", "true", "12.5%", "922337203685477.5807", "0.00005", "9999999999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i, iok := ParseInt(b)
		w, wok := ParseWhole(b)
		if iok && (!wok || i != w) {
			t.Fatalf("ParseInt(%q) = %d but ParseWhole = %d, %v", b, i, w, wok)
		}
		if c, ok := ParseCurrency(b); ok && iok && i < 1e14 && i > -1e14 && c != i*10000 {
			t.Fatalf("ParseCurrency(%q) = %d, want %d", b, c, i*10000)
		}
		ParseFloat(b)
		ParsePercent(b)
		ParseBool(b)
		if d, ok := ParseDateTime(b); ok && (d < -657434 || d > 2958466) {
			t.Fatalf("ParseDateTime(%q) = %v, outside DAX dates", b, d)
		}
		ParseDate(b)
		ParseTime(b)
	})
}

// checkLines checks the line numbers the reader reports: a row's first
// field is on the row's line, fields never go back, the next row starts
// after the last field, and each line is the count of line breaks before
// the field plus one.
func checkLines(t *testing.T, data []byte, opts Options) {
	rd, err := NewReader(strings.NewReader(string(data)), opts)
	if err != nil {
		return
	}
	rd.bufSize = 7
	last := 1
	for {
		fields, err := rd.Read()
		if err != nil {
			return
		}
		if rd.Line() < last {
			t.Fatalf("row on line %d after a field on line %d", rd.Line(), last)
		}
		if rd.FieldLine(0) != rd.Line() {
			t.Fatalf("first field on line %d, row on line %d", rd.FieldLine(0), rd.Line())
		}
		for i := 1; i < len(fields); i++ {
			if rd.FieldLine(i) < rd.FieldLine(i-1) {
				t.Fatalf("field %d on line %d before field %d on line %d", i, rd.FieldLine(i), i-1, rd.FieldLine(i-1))
			}
		}
		last = rd.FieldLine(len(fields) - 1)
	}
}
