package csv

import (
	"math"
	"strconv"
	"testing"

	"github.com/meridian-olap/meridian/internal/value"
)

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{" -42\t", -42, true},
		{"+7", 7, true},
		{"007", 7, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"12x", 0, false},
		{"1 2", 0, false},
		{"1.0", 0, false},
		{"1,000", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseInt([]byte(tt.in))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseWhole(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"42", 42, true},
		{"12.0", 12, true},
		{"12.5", 12, true}, // half to even, as Int64.From
		{"13.5", 14, true},
		{"-12.5", -12, true},
		{"12.5000000000000000000001", 13, true}, // beyond 19 digits, still above half
		{"2.4999999999999999999999", 2, true},
		{"1,234", 1234, true},
		{"1,234,567.4", 1234567, true},
		{"1e3", 1000, true},
		{"1.5E1", 15, true},
		{"0.4", 0, true},
		{"-0.5", 0, true},
		{".5", 0, true},
		{"1.", 1, true},
		{"9223372036854775807.4", math.MaxInt64, true},
		{"9223372036854775807.5", 0, false},
		{"1e19", 0, false},
		{"1e-30", 0, true},
		{",1", 0, false},
		{"12x", 0, false},
		{"1e", 0, false},
		{".", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseWhole([]byte(tt.in))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParseWhole(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // ten-thousandths
		ok   bool
	}{
		{"12.34", 123400, true},
		{"12.34567", 123457, true},
		{"1.23455", 12346, true}, // tie: to even (Currency.From's documented example)
		{"1.23445", 12344, true}, // tie: to even, downwards
		{"1.234450001", 12345, true},
		{"-1.23455", -12346, true},
		{"0.00005", 0, true},
		{"0.00015", 2, true},
		{"0.000051", 1, true},
		{"23.7860", 237860, true},
		{" 6.6200 ", 66200, true},
		{"1", 10000, true},
		{"1,000.5", 10005000, true},
		{"1.5e2", 1500000, true},
		{"12e-4", 12, true},
		{"922337203685477.5807", math.MaxInt64, true},
		{"-922337203685477.5808", math.MinInt64, true},
		{"922337203685477.5808", 0, false},
		{"922337203685477.58074999999", math.MaxInt64, true},
		{"0.1000000000000000000000000005", 1000, true},
		{"0.00004999999999999999999999", 0, true},
		{"0.00005000000000000000000001", 1, true},
		{"1e400", 0, false},
		{"abc", 0, false},
		{"$1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseCurrency([]byte(tt.in))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParseCurrency(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseFloat(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"3.14", 3.14, true},
		{"-2.5", -2.5, true},
		{"3,423.10", 3423.1, true},
		{"5.0E-10", 5e-10, true},
		{"1e22", 1e22, true},
		{"1e23", 1e23, true},
		{"123456789012345678901234567890", 123456789012345678901234567890, true},
		{"0.1", 0.1, true},
		{"0.30000000000000004", 0.30000000000000004, true},
		{"1e400", math.Inf(1), true},
		{"Infinity", math.Inf(1), true},
		{"-infinity", math.Inf(-1), true},
		{"12%", 0, false},
		{"12x", 0, false},
		{"", 0, false},
		{"--1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseFloat([]byte(tt.in))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParseFloat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	if f, ok := ParseFloat([]byte("NaN")); !ok || !math.IsNaN(f) {
		t.Errorf("ParseFloat(NaN) = %v, %v", f, ok)
	}
}

// The fast path agrees with strconv on every plain decimal it takes.
func TestParseFloatMatchesStrconv(t *testing.T) {
	for _, s := range []string{"1.7976931348623157", "9007199254740993", "0.000000000000000000001",
		"123456.789", "4.35", "2.675", "9999999999999999", "0.1234567890123456789"} {
		want, _ := strconv.ParseFloat(s, 64)
		got, ok := ParseFloat([]byte(s))
		if !ok || got != want {
			t.Errorf("ParseFloat(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]float64{"12.5%": 0.125, "50": 50, "-3%": -0.03, "0.5": 0.5} {
		got, ok := ParsePercent([]byte(in))
		if !ok || got != want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if _, ok := ParsePercent([]byte("%")); ok {
		t.Error(`ParsePercent("%") is ok`)
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		in       string
		want, ok bool
	}{
		{"true", true, true},
		{"TRUE", true, true},
		{" False ", false, true},
		{"1", false, false},
		{"0", false, false},
		{"yes", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		got, ok := ParseBool([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	day := value.DateOf(2020, 1, 31)
	at := func(h, m, s int) float64 { return day + float64(h*3600+m*60+s)/86400 }
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"2020-01-31", day, true},
		{"2020/01/31", day, true},
		{"2020-1-31", day, true},
		{"20200131", day, true},
		{"2020-01-31T10:20:30", at(10, 20, 30), true},
		{"2020-01-31t10:20", at(10, 20, 0), true},
		{"2020-01-31 10:20:30", at(10, 20, 30), true},
		{"2020-01-31 10:20:30.5", at(10, 20, 30) + 0.5/86400, true},
		{"1989-04-06 00:00:00.0000000", value.DateOf(1989, 4, 6), true},
		{"2020-01-31T10:20:30Z", at(10, 20, 30), true},
		{"2020-01-31T10:20:30+02:00", at(8, 20, 30), true},
		{"2020-01-31T10:20:30-0130", at(11, 50, 30), true},
		{"1/31/2020", day, true},
		{"01/31/2020", day, true},
		{"1/31/20", day, true},
		{"1/31/99", value.DateOf(1999, 1, 31), true},
		{"1-31-2020", day, true},
		{"1/31/2020 10:20 AM", at(10, 20, 0), true},
		{"1/31/2020 10:20:30 PM", at(22, 20, 30), true},
		{"1/31/2020 12:05 AM", at(0, 5, 0), true},
		{"1/31/2020 12:05 pm", at(12, 5, 0), true},
		{"1/31/2020 13:20", at(13, 20, 0), true},
		{"31-Jan-2020", day, true},
		{"31 Jan 2020", day, true},
		{"31-January-2020", day, true},
		{"January 31, 2020", day, true},
		{"Jan 31 2020", day, true},
		{"Friday, January 31, 2020", day, true},
		{"  2020-01-31  ", day, true},
		{"2020-02-29", value.DateOf(2020, 2, 29), true},
		{"1900-01-01", 2, true},
		{"2021-02-29", 0, false},
		{"2020-13-01", 0, false},
		{"2020-00-10", 0, false},
		{"2020-01-32", 0, false},
		{"0099-01-01", 0, false},
		{"31/1/2020", 0, false}, // en-US reads month first
		{"2020-01-31 25:00", 0, false},
		{"2020-01-31 10:60", 0, false},
		{"1/31/2020 13:20 PM", 0, false},
		{"2020-01-31T", 0, false},
		{"2020-01-31x", 0, false},
		{"2020-01/31", 0, false},
		{"202001311", 0, false},
		{"Jan 2020", 0, false},
		{"Foo 31, 2020", 0, false},
		{"31-Foo-2020", 0, false},
		{"", 0, false},
		{"today", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseDateTime([]byte(tt.in))
			if ok != tt.ok || (ok && math.Abs(got-tt.want) > 1e-9) {
				t.Errorf("ParseDateTime(%q) = %v (%s), %v; want %v (%s), %v", tt.in, got, value.FormatISO(got), ok,
					tt.want, value.FormatISO(tt.want), tt.ok)
			}
		})
	}
}

func TestParseDateAndTime(t *testing.T) {
	if got, ok := ParseDate([]byte("2020-01-31 23:59:59")); !ok || got != value.DateOf(2020, 1, 31) {
		t.Errorf("ParseDate = %v, %v", got, ok)
	}
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"10:20", (10*60 + 20) / 1440.0, true},
		{"10:20:30", (10*3600 + 20*60 + 30) / 86400.0, true},
		{"6:00 PM", 0.75, true},
		{"2020-01-31 06:00", 0.25, true},
		{"25:00", 0, false},
		{"x", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseTime([]byte(tt.in))
		if ok != tt.ok || (ok && math.Abs(got-tt.want) > 1e-12) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	inputs := [][]byte{[]byte("123456"), []byte("12.5"), []byte("2020-01-31 10:20:30"), []byte("23.7860")}
	allocs := testing.AllocsPerRun(100, func() {
		ParseWhole(inputs[0])
		ParseWhole(inputs[1])
		ParseFloat(inputs[1])
		ParseCurrency(inputs[3])
		ParseDateTime(inputs[2])
	})
	if allocs != 0 {
		t.Errorf("conversions allocate %.1f times, want 0", allocs)
	}
}

// The table-driven day numbers agree with value.DateOf on every day DAX
// can hold.
func TestOLEDateAgrees(t *testing.T) {
	for y := 100; y <= 9999; y++ {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{1, 15, daysIn(y, m)} {
				if got, want := oleDate(y, m, d), value.DateOf(y, m, d); got != want {
					t.Fatalf("oleDate(%d, %d, %d) = %v, want %v", y, m, d, got, want)
				}
			}
		}
	}
}
