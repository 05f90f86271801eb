package engine

import (
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/value"
)

// Edge cases of format strings that the script tests (testdata/format.test)
// cannot reach easily: odd formats, extreme numbers, exact types.
func TestFormatValue(t *testing.T) {
	tests := []struct {
		name   string
		v      value.Value
		format string
		want   string
	}{
		{"NaN", value.Float(math.NaN()), "0.00", "NaN"},
		{"infinity", value.Float(math.Inf(1)), "#,##0", "Infinity"},
		{"unterminated quote", value.Int(5), `0 "abc`, "5 abc"},
		{"trailing backslash", value.Int(5), `0\`, "5"},
		{"non-ASCII literal", value.Int(5), "0 €", "5 €"},
		{"escaped non-ASCII", value.Int(5), `0\€`, "5€"},
		{"fourth section ignored", value.Int(-5), "0;(0);z;x", "(5)"},
		{"empty first section", value.Int(5), ";(0)", "5"},
		{"negative section without digits", value.Int(-5), `0;\n\e\g`, "neg"},
		{"sign chosen before rounding", value.Float(-0.04), "0.0;(0.0)", "(0.0)"},
		{"minus dropped on a rounded zero", value.Float(-0.04), "0.0", "0.0"},
		{"min int64", value.Int(math.MinInt64), "0", "-9223372036854775808"},
		{"min int64 grouped", value.Int(math.MinInt64), "#,##0", "-9,223,372,036,854,775,808"},
		{"currency exact", value.CurrencyUnits(12345), "0.0000", "1.2345"},
		{"currency rounded", value.CurrencyUnits(12355), "0.000", "1.236"},
		{"many decimals", value.Float(0.1), "0.00000000000000000000", "0.10000000000000000000"},
		{"largest double", value.Float(math.MaxFloat64), "0.00E+00", "1.80E+308"},
		{"smallest double", value.Float(5e-324), "0.00E+00", "4.94E-324"},
		{"exponent of zero", value.Int(0), "0.0E+00", "0.0E+00"},
		{"exponent with no integer placeholder", value.Float(1234), ".00E+0", ".12E+4"},
		{"percent twice", value.Float(0.5), "0%%", "5000%%"},
		{"letters are literal in numbers", value.Int(5), "0 d", "5 d"},
		{"general number exponent", value.Float(1e20), "General Number", "1E+20"},
		{"general number small", value.Float(1.5e-7), "General Number", "1.5E-07"},
		{"general number currency", value.CurrencyUnits(15000), "General Number", "1.5"},
		{"yes/no of text", value.Str("0"), "Yes/No", "No"},
		{"text kept", value.Str("n/a"), "#,##0", "n/a"},
		{"date before 1899", value.Date(-1), "yyyy-mm-dd", "1899-12-29"},
		{"first DAX date", value.Date(value.DateOf(100, 1, 1)), "yyyy-m-d", "100-1-1"},
		{"boolean as a date", value.Bool(true), "yyyy-mm-dd", "1899-12-31"},
		{"text not a date", value.Str("soon"), "yyyy", "soon"},
		{"eight d", value.Date(value.DateOf(2020, 6, 25)), "dddddddd", "Thursday, June 25, 202025"},
		{"three y", value.Date(value.DateOf(2020, 6, 25)), "yyy", "2020"},
		{"short t is literal", value.Date(value.DateOf(2020, 6, 25)), "d tt", "25 tt"},
		{"w of a Sunday", value.Date(value.DateOf(2020, 6, 28)), "w", "1"},
		{"ww of January 1", value.Date(value.DateOf(2022, 1, 1)), "ww", "1"},
		{"ww of January 2", value.Date(value.DateOf(2022, 1, 2)), "ww", "2"},
		{"mm between hh and ss", value.Date(value.DateOf(2020, 6, 25) + 0.5 + 7.0/1440), "hh mm ss", "12 07 00"},
		{"mmm after h is the month", value.Date(value.DateOf(2020, 6, 25) + 0.5), "h mmm", "12 Jun"},
		{"quoted date letters", value.Date(value.DateOf(2020, 6, 25)), `"d m y" d`, "d m y 25"},
		{"case of AM/PM", value.Date(0.75), "h:nn Am/pM", "6:00 PM"},
		{"midnight in 12-hour clock", value.Date(0), "hh AMPM", "12 AM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := formatValue(tt.v, tt.format)
			if err != nil {
				t.Fatalf("formatValue(%#v, %q): %v", tt.v, tt.format, err)
			}
			if got != tt.want {
				t.Errorf("formatValue(%#v, %q) = %q, want %q", tt.v, tt.format, got, tt.want)
			}
		})
	}
}

func TestFormatValueErrors(t *testing.T) {
	tests := []struct {
		name   string
		v      value.Value
		format string
	}{
		{"date past 9999", value.Float(3e6), "yyyy"},
		{"general date of NaN", value.Date(math.NaN()), ""},
		{"named date format", value.Float(-1e7), "Short Date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := formatValue(tt.v, tt.format); err == nil {
				t.Errorf("formatValue(%#v, %q) = %q, want an error", tt.v, tt.format, got)
			}
		})
	}
}

// The format cache is shared by every query: formatting from many
// goroutines must agree with formatting alone (run with -race).
func TestFormatConcurrent(t *testing.T) {
	formats := []string{"#,##0.00", "yyyy-mm-dd", "Currency", "0.0%;(0.0%);-", "General Date"}
	want := make([]string, len(formats))
	for i, f := range formats {
		want[i], _ = formatValue(value.Float(44007.25), f)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				i := n % len(formats)
				if got, _ := formatValue(value.Float(44007.25), formats[i]); got != want[i] {
					t.Errorf("format %q: %q, want %q", formats[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDecRound(t *testing.T) {
	tests := []struct {
		x      float64
		digits int
		mode   roundMode
		want   float64
	}{
		{0.5, 0, roundNearest, 1},
		{-0.5, 0, roundNearest, -1},
		{0.49999999999999994, 0, roundNearest, 1}, // 15 significant digits: 0.5
		{1e-20, 2, roundNearest, 0},
		{1e-20, 2, roundUp, 0.01},
		{-1e-20, 2, roundUp, -0.01},
		{123.456, -5, roundNearest, 0},
		{123.456, -5, roundUp, 100000},
		{123.456, -3, roundNearest, 0},
		{523.456, -3, roundNearest, 1000},
		{999.5, 0, roundNearest, 1000},
		{9.99, 1, roundDown, 9.9},
		{1.1, 20, roundUp, 1.1},
		{4.35, 1, roundNearest, 4.4},
		{1e300, -299, roundNearest, 1e300},
	}
	for _, tt := range tests {
		d := decFromFloat(tt.x)
		d.round(tt.digits, tt.mode)
		if got := d.float(); got != tt.want {
			t.Errorf("round(%v, %d, mode %d) = %v, want %v", tt.x, tt.digits, tt.mode, got, tt.want)
		}
	}
}

func TestScanDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // ISO, "" when the text is not a date
	}{
		{"1/31/2020", "2020-01-31T00:00:00"},
		{"2020-01-31T10:00:00", "2020-01-31T10:00:00"},
		{"2020/1/31 1:05 PM", "2020-01-31T13:05:00"},
		{"31-Jan-2020", "2020-01-31T00:00:00"},
		{"January 31, 2020", "2020-01-31T00:00:00"},
		{"Sept 1 2020", "2020-09-01T00:00:00"},
		{"Tue, Mar 3 2020", "2020-03-03T00:00:00"},
		{"3/2008", "2008-03-01T00:00:00"},
		{"1/31/29", "2029-01-31T00:00:00"},
		{"1/31/30", "1930-01-31T00:00:00"},
		{"3 PM", "1899-12-30T15:00:00"},
		{"12:30 AM", "1899-12-30T00:30:00"},
		{"2/29/2021", ""},
		{"13/1/2020", ""},
		{"1/1/99999", ""},
		{"24:00", ""},
		{"10:60", ""},
		{"13 PM", ""},
		{"1:00 2:00", ""},
		{"March", ""},
		{"Smarch 3, 2020", ""},
		{"1/2/3/4", ""},
		{"12345678901", ""},
		{"", ""},
		{"1/1/2020 #", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ole, ok := parseDateTimeText(tt.in, 2024)
			got := ""
			if ok {
				got = value.FormatISO(ole)
			}
			if got != tt.want {
				t.Errorf("parseDateTimeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzFormatValue(f *testing.F) {
	for _, s := range []string{"0.00", "#,##0.00;(#,##0.00);\"zero\"", "0.0E+00", "##0,,", "yyyy-mm-dd hh:nn:ss AM/PM", "c", `"lit" \d 0%`, "General Date", "dddddd ttttt", ";;;", "\"", `\`, "0.0e-0,"} {
		f.Add(s, 1234.5678)
		f.Add(s, -0.001)
	}
	f.Fuzz(func(t *testing.T, format string, x float64) {
		for _, v := range []value.Value{value.Float(x), value.Int(int64(x)), value.Date(x), value.Str(format)} {
			a, errA := formatValue(v, format)
			b, errB := formatValue(v, format)
			if a != b || (errA == nil) != (errB == nil) {
				t.Fatalf("formatValue(%#v, %q) is not deterministic: %q, %q", v, format, a, b)
			}
			if errA == nil && !utf8.ValidString(a) && utf8.ValidString(format) {
				t.Fatalf("formatValue(%#v, %q) = %q is not valid UTF-8", v, format, a)
			}
		}
	})
}

func FuzzScanDateTime(f *testing.F) {
	for _, s := range []string{"1/31/2020", "2020-01-31T10:00:00.5", "March 3, 2008 3:45 PM", "25-Jun-20", "Thursday, June 25, 2020", "12:00 AM", "3 PM", "1/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dt, ok := scanDateTime(s, 2024)
		if !ok {
			return
		}
		if !value.ValidDate(dt.ole()) {
			t.Fatalf("scanDateTime(%q) = %v, outside the DAX date range", s, dt.ole())
		}
		if dt.secs < 0 || dt.secs >= 86400 {
			t.Fatalf("scanDateTime(%q) has %v seconds", s, dt.secs)
		}
		if dt.hasDate {
			// The date written back month first reads as the same day.
			y, m, d := value.Civil(dt.day)
			text, _ := formatValue(value.Date(value.DateOf(y, m, d)), "m/d/yyyy")
			back, ok := scanDateTime(text, 2024)
			if !ok || back.day != dt.day {
				t.Fatalf("scanDateTime(%q) = day %v, written %q, read back %v", s, dt.day, text, back.day)
			}
		}
	})
}

func FuzzParseNumberText(f *testing.F) {
	for _, s := range []string{"1,234.5", "$12", "(5)", "50%", "1e3", "-0.5", "Inf", "0x10", "1_000", "1e999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, ok := parseNumberText(s)
		if ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			t.Fatalf("parseNumberText(%q) = %v", s, x)
		}
	})
}

// FuzzSearch checks SEARCH's wildcard matcher against regular expressions
// on ASCII text, where its case folding is ASCII's.
func FuzzSearch(f *testing.F) {
	for _, p := range [][2]string{{"b?d", "abcd"}, {"a*d", "xxabcd"}, {"~?", "why?"}, {"*", "abc"}, {"a*b*c", "aXbYbc"}, {"~~", "a~b"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 12 || len(s) > 40 {
			return
		}
		for _, r := range pat + s {
			if r >= utf8.RuneSelf || r < ' ' {
				return
			}
		}
		var re strings.Builder
		re.WriteString(`(?is)^(?:`)
		r := []rune(pat)
		for i := 0; i < len(r); i++ {
			switch {
			case r[i] == '~' && i+1 < len(r):
				i++
				re.WriteString(regexp.QuoteMeta(string(r[i])))
			case r[i] == '?':
				re.WriteString(".")
			case r[i] == '*':
				re.WriteString(".*")
			default:
				re.WriteString(regexp.QuoteMeta(string(r[i])))
			}
		}
		re.WriteString(`)`)
		rx := regexp.MustCompile(re.String())
		want := -1
		for i := 0; i <= len(s); i++ {
			if rx.MatchString(s[i:]) {
				want = i
				break
			}
		}
		if got := searchRunes(compileWildcard(pat), []rune(s), 0); got != want {
			t.Fatalf("search %q in %q = %d, want %d", pat, s, got, want)
		}
	})
}

func BenchmarkFormatValue(b *testing.B) {
	cases := []struct {
		name   string
		v      value.Value
		format string
	}{
		{"number", value.Float(1234567.891), "#,##0.00;(#,##0.00)"},
		{"currency", value.Float(-1234.5), "Currency"},
		{"percent", value.Float(0.1234), "0.0%"},
		{"date", value.Date(44007.5), "yyyy-mm-dd hh:nn"},
		{"general", value.Float(12345.678), ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := formatValue(c.v, c.format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSearch(b *testing.B) {
	within := []rune(strings.Repeat("the quick brown fox jumps over the lazy dog ", 20) + "needle")
	p := compileWildcard("ne?d*e")
	for b.Loop() {
		if searchRunes(p, within, 0) < 0 {
			b.Fatal("not found")
		}
	}
}

// BenchmarkSearchWorstCase is a pattern whose head matches everywhere and
// whose tail matches nowhere: linear, not quadratic, in the text.
func BenchmarkSearchWorstCase(b *testing.B) {
	within := []rune(strings.Repeat("a", 32767))
	p := compileWildcard("a*b")
	for b.Loop() {
		if searchRunes(p, within, 0) >= 0 {
			b.Fatal("found")
		}
	}
}
