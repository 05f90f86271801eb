package value

import (
	"testing"
	"time"
)

func TestTextCollation(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"red", "RED", 0},
		{"Red", "rEd", 0},
		{"a", "b", -1},
		{"B", "a", 1},
		{"straße", "STRASSE", 1}, // simple folding: ß has no single-rune upper case
		{"Ünïcode", "üNÏCODE", 0},
		{"abc", "ab", 1},
		{"", "", 0},
		{"K", "\u212a", 0}, // Kelvin sign folds with K
	}
	for _, tt := range tests {
		if got := CompareText(tt.a, tt.b); sign(got) != tt.want {
			t.Errorf("CompareText(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if eq := FoldText(tt.a) == FoldText(tt.b); eq != (tt.want == 0) {
			t.Errorf("FoldText(%q) == FoldText(%q) is %v, CompareText says %d", tt.a, tt.b, eq, tt.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestOLEDates(t *testing.T) {
	tests := []struct {
		y, m, d int
		ole     float64
	}{
		{1899, 12, 30, 0},
		{1900, 1, 1, 2},
		{2020, 1, 31, 43861},
		{2019, 5, 18, 43603},
		{2021, 13, 1, 44562}, // month 13 rolls into January 2022
	}
	for _, tt := range tests {
		if got := DateOf(tt.y, tt.m, tt.d); got != tt.ole {
			t.Errorf("DateOf(%d, %d, %d) = %v, want %v", tt.y, tt.m, tt.d, got, tt.ole)
		}
	}
	tm := time.Date(2019, 5, 18, 13, 30, 0, 0, time.UTC)
	ole := FromTime(tm)
	if back := ToTime(ole); !back.Equal(tm) {
		t.Errorf("ToTime(FromTime(%v)) = %v", tm, back)
	}
	if got := FormatISO(DateOf(2019, 5, 18)); got != "2019-05-18T00:00:00" {
		t.Errorf("FormatISO = %q", got)
	}
	if got := FormatGeneralDate(ole); got != "5/18/2019 1:30:00 PM" {
		t.Errorf("FormatGeneralDate = %q", got)
	}
	if y, m, d := Civil(43861); y != 2020 || m != 1 || d != 31 {
		t.Errorf("Civil(43861) = %d-%d-%d", y, m, d)
	}
}

func TestNumbersAsText(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Int(-42), "-42"},
		{Float(1.5), "1.5"},
		{Float(0.1 + 0.2), "0.3"},
		{Float(1e20), "1.00000000000000E+20"},
		{CurrencyUnits(12345), "1.2345"},
		{CurrencyUnits(-20000), "-2"},
		{Bool(true), "TRUE"},
		{BlankValue, ""},
	}
	for _, tt := range tests {
		if got := tt.v.Text(); got != tt.want {
			t.Errorf("%#v.Text() = %q, want %q", tt.v, got, tt.want)
		}
	}
	if u, ok := FloatToCurrencyUnits(1.00005); !ok || u != 10001 {
		t.Errorf("1.00005 to currency = %d, %v; want 10001 (half away from zero)", u, ok)
	}
}

func TestCompareOrdersTypes(t *testing.T) {
	ordered := []Value{BlankValue, Int(-1), Float(0.5), CurrencyUnits(10000), Date(2), Str("a"), Str("B"), Bool(false), Bool(true)}
	for i := 1; i < len(ordered); i++ {
		if Compare(ordered[i-1], ordered[i]) >= 0 {
			t.Errorf("Compare(%#v, %#v) >= 0", ordered[i-1], ordered[i])
		}
	}
}
