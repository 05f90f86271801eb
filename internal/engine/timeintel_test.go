package engine

import (
	"context"
	"testing"

	"github.com/meridian-olap/meridian/internal/value"
)

// The DAX semantics of the time intelligence functions are tested by
// testdata/timeintel.test; these tests pin the calendar arithmetic under
// them.

func tiDay(y, m, d int) int { return tiDayOf(y, m, d) }

func tiText(day int) string { return value.ToTime(float64(day)).Format("2006-01-02") }

func TestTIAddMonths(t *testing.T) {
	tests := []struct {
		name string
		day  int
		k    int
		want int
	}{
		{"same day next month", tiDay(2023, 3, 15), 1, tiDay(2023, 4, 15)},
		{"january 31 to february 28", tiDay(2023, 1, 31), 1, tiDay(2023, 2, 28)},
		{"january 31 to february 29 in a leap year", tiDay(2024, 1, 31), 1, tiDay(2024, 2, 29)},
		{"march 31 back to february 29", tiDay(2024, 3, 31), -1, tiDay(2024, 2, 29)},
		{"leap day back a year", tiDay(2024, 2, 29), -12, tiDay(2023, 2, 28)},
		{"across the year forward", tiDay(2023, 11, 30), 3, tiDay(2024, 2, 29)},
		{"across the year back", tiDay(2023, 1, 15), -1, tiDay(2022, 12, 15)},
		{"many years back", tiDay(2024, 5, 31), -12 * 30, tiDay(1994, 5, 31)},
		{"zero", tiDay(2024, 5, 31), 0, tiDay(2024, 5, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tiAddMonths(tt.day, tt.k); got != tt.want {
				t.Errorf("tiAddMonths(%s, %d) = %s, want %s", tiText(tt.day), tt.k, tiText(got), tiText(tt.want))
			}
		})
	}
}

func TestTIPeriodBounds(t *testing.T) {
	june := tiYearEnd{6, 30}
	feb := tiYearEnd{2, 29}
	tests := []struct {
		name       string
		p          tiPeriod
		day        int
		ye         tiYearEnd
		start, end int
	}{
		{"day", tiPDay, tiDay(2024, 2, 29), tiCalendarYear, tiDay(2024, 2, 29), tiDay(2024, 2, 29)},
		{"month of a leap february", tiPMonth, tiDay(2024, 2, 10), tiCalendarYear, tiDay(2024, 2, 1), tiDay(2024, 2, 29)},
		{"fourth quarter", tiPQuarter, tiDay(2023, 11, 5), tiCalendarYear, tiDay(2023, 10, 1), tiDay(2023, 12, 31)},
		{"calendar year", tiPYear, tiDay(2023, 6, 30), tiCalendarYear, tiDay(2023, 1, 1), tiDay(2023, 12, 31)},
		{"fiscal year on its last day", tiPYear, tiDay(2023, 6, 30), june, tiDay(2022, 7, 1), tiDay(2023, 6, 30)},
		{"fiscal year on its first day", tiPYear, tiDay(2023, 7, 1), june, tiDay(2023, 7, 1), tiDay(2024, 6, 30)},
		{"year ending february 29 in a common year", tiPYear, tiDay(2023, 3, 1), feb, tiDay(2023, 3, 1), tiDay(2024, 2, 29)},
		{"year ending february 29 on february 28", tiPYear, tiDay(2023, 2, 28), feb, tiDay(2022, 3, 1), tiDay(2023, 2, 28)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e := tiPeriodStart(tt.p, tt.day, tt.ye), tiPeriodEnd(tt.p, tt.day, tt.ye)
			if s != tt.start || e != tt.end {
				t.Errorf("period of %s = %s..%s, want %s..%s", tiText(tt.day), tiText(s), tiText(e), tiText(tt.start), tiText(tt.end))
			}
		})
	}
}

func TestTIParseYearEnd(t *testing.T) {
	tests := []struct {
		in   string
		want tiYearEnd
		ok   bool
	}{
		{"6/30", tiYearEnd{6, 30}, true},
		{"06/30", tiYearEnd{6, 30}, true},
		{"6-30", tiYearEnd{6, 30}, true},
		{"06/30/2004", tiYearEnd{6, 30}, true},
		{"2004-06-30", tiYearEnd{6, 30}, true},
		{" Jun 30 ", tiYearEnd{6, 30}, true},
		{"June 30", tiYearEnd{6, 30}, true},
		{"30 June", tiYearEnd{6, 30}, true},
		{"2/29", tiYearEnd{2, 29}, true},
		{"3/31", tiYearEnd{3, 31}, true},
		{"6/31", tiYearEnd{}, false},
		{"13/1", tiYearEnd{}, false},
		{"", tiYearEnd{}, false},
		{"June", tiYearEnd{}, false},
		{"30/6", tiYearEnd{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := tiParseYearEnd(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("tiParseYearEnd(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzTIParseYearEnd(f *testing.F) {
	for _, s := range []string{"6/30", "June 30", "2/29", "12-31-1999", "31 December", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ye, ok := tiParseYearEnd(s)
		if !ok {
			return
		}
		// Whatever was accepted must be a day of a (leap) year, so that
		// every year has an end.
		if ye.month < 1 || ye.month > 12 || ye.day < 1 || ye.day > tiDaysInMonth(2024, ye.month) {
			t.Fatalf("tiParseYearEnd(%q) = %v, not a day of the year", s, ye)
		}
		for _, y := range []int{2023, 2024} {
			end := ye.endIn(y)
			if ey, _, _ := tiCivilDay(end); ey != y {
				t.Fatalf("year %d under %v ends in %d", y, ye, ey)
			}
		}
	})
}

func FuzzTIAddMonths(f *testing.F) {
	f.Add(2024, 1, 31, 1)
	f.Add(2023, 3, 31, -1)
	f.Add(2000, 2, 29, -1200)
	f.Fuzz(func(t *testing.T, y, m, d, k int) {
		y = 100 + tiAbs(y)%9800
		m = 1 + tiAbs(m)%12
		d = 1 + tiAbs(d)%tiDaysInMonth(y, m)
		k = k % (12 * 50)
		got := tiAddMonths(tiDay(y, m, d), k)
		gy, gm, gd := tiCivilDay(got)
		total := y*12 + m - 1 + k
		if gy*12+gm-1 != total {
			t.Fatalf("%d-%d-%d plus %d months = %d-%d-%d: wrong month", y, m, d, k, gy, gm, gd)
		}
		if want := min(d, tiDaysInMonth(gy, gm)); gd != want {
			t.Fatalf("%d-%d-%d plus %d months = %d-%d-%d, want day %d", y, m, d, k, gy, gm, gd, want)
		}
	})
}

func tiAbs(n int) int {
	if n < 0 {
		if n == -n { // the smallest int
			return 0
		}
		return -n
	}
	return n
}

// BenchmarkTimeIntel measures time intelligence measures evaluated per
// group over the calendar of testdata/timeintel.test.
func BenchmarkTimeIntel(b *testing.B) {
	// The script helpers report to a *testing.T; the script is known good.
	t := &testing.T{}
	m := parseScript(t, "testdata/timeintel.test").build(t)
	cases := []struct{ name, query string }{
		{"ytd by month", `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Date'[MonthNumber], "YTD", [YTD])`},
		{"same period last year by month", `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Date'[MonthNumber], "PY", [PYAll])`},
		{"same period last year by date", `EVALUATE SUMMARIZECOLUMNS('Date'[Date], "PY", [PY])`},
		{"rolling twelve months by date", `EVALUATE SUMMARIZECOLUMNS('Date'[Date], "R12", CALCULATE([Sales], DATESINPERIOD('Date'[Date], MAX('Date'[Date]), -12, MONTH)))`},
		{"sales by date, for comparison", `EVALUATE SUMMARIZECOLUMNS('Date'[Date], "S", CALCULATE([Sales]))`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Query(context.Background(), c.query, QueryOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
