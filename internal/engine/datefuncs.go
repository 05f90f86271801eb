package engine

import (
	"math"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Date and time functions (DAX reference: Date and time functions).
// Dates are OLE Automation dates (internal/value); dates given as text
// are read in the en-US forms (month before day).
//
// BLANK: YEAR, MONTH, DAY, HOUR, MINUTE, SECOND, WEEKDAY and WEEKNUM read
// a BLANK date as day zero, 1899-12-30 00:00, as Analysis Services does
// (a BLANK date is 0 in date arithmetic); QUARTER gives BLANK, as its
// reference page says, and so do EDATE, EOMONTH, DATEDIFF, YEARFRAC,
// DATEVALUE and TIMEVALUE, where day zero would only give a misleading
// answer. A BLANK part of DATE or TIME is 0.

func init() {
	register("DATE", &builtin{min: 3, max: 3, pure: true, scalar: dateFunc})
	register("TIME", &builtin{min: 3, max: 3, pure: true, scalar: timeFunc})
	part := func(name string, fn func(t time.Time) int) {
		register(name, &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			ole, _, err := ev.dateArg(c, 0, en)
			if err != nil {
				return value.BlankValue, err
			}
			return value.Int(int64(fn(value.ToTime(ole)))), nil
		}})
	}
	part("YEAR", func(t time.Time) int { return t.Year() })
	part("MONTH", func(t time.Time) int { return int(t.Month()) })
	part("DAY", func(t time.Time) int { return t.Day() })
	part("HOUR", func(t time.Time) int { return t.Hour() })
	part("MINUTE", func(t time.Time) int { return t.Minute() })
	part("SECOND", func(t time.Time) int { return t.Second() })
	register("QUARTER", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		ole, blank, err := ev.dateArg(c, 0, en)
		if err != nil || blank {
			return value.BlankValue, err
		}
		return value.Int(int64(value.ToTime(ole).Month()-1)/3 + 1), nil
	}})
	register("WEEKDAY", &builtin{min: 1, max: 2, pure: true, scalar: weekdayFunc})
	register("WEEKNUM", &builtin{min: 1, max: 2, pure: true, scalar: weeknumFunc})
	register("EOMONTH", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return addMonths(ev, en, c, true)
	}})
	register("EDATE", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return addMonths(ev, en, c, false)
	}})
	register("DATEDIFF", &builtin{min: 3, max: 3, pure: true, scalar: dateDiff})
	register("DATEVALUE", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return dateTimeValue(ev, en, c, true)
	}})
	register("TIMEVALUE", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return dateTimeValue(ev, en, c, false)
	}})
	// The clock functions read the query's clock (QueryOptions.Now), so
	// that every call in a query sees the same instant.
	register("NOW", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return value.Date(value.FromTime(ev.now)), nil
	}})
	register("TODAY", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return value.Date(math.Floor(value.FromTime(ev.now))), nil
	}})
	register("UTCNOW", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return value.Date(value.FromTime(ev.now.UTC())), nil
	}})
	register("UTCTODAY", &builtin{min: 0, max: 0, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return value.Date(math.Floor(value.FromTime(ev.now.UTC()))), nil
	}})
	register("YEARFRAC", &builtin{min: 2, max: 3, pure: true, scalar: yearFracFunc})
}

// dateArg evaluates argument i as a date: a DateTime, a number of OLE
// days or a date written as text. BLANK is day zero (blank is true).
func (ev *evaluator) dateArg(c *dax.Call, i int, en *env) (ole float64, blank bool, err error) {
	v, err := ev.arg(c, i, en)
	if err != nil {
		return 0, false, err
	}
	switch v.Type() {
	case value.Blank:
		return 0, true, nil
	case value.String:
		d, ok := parseDateTimeText(v.AsString(), ev.now.Year())
		if !ok {
			return 0, false, errorf(argNode(c, i), "cannot convert value '%s' of type Text to type Date", v.AsString())
		}
		return d, false, nil
	case value.Variant:
		return 0, false, errorf(argNode(c, i), "%s needs a date as argument %d", c.Func, i+1)
	}
	x, _ := v.Number()
	if !value.ValidDate(x) {
		return 0, false, errorf(argNode(c, i), "%s is not a date DAX supports (years 100 to 9999)", value.FormatGeneral(x))
	}
	return x, false, nil
}

// roundedArg evaluates argument i as a whole number rounded half away
// from zero, bounded by ±limit (beyond which any date is out of range);
// BLANK is 0.
func (ev *evaluator) roundedArg(c *dax.Call, i int, en *env, limit float64) (int, error) {
	_, x, _, err := ev.numArg(c, i, en)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(x) {
		return 0, errorf(argNode(c, i), "%s needs a number as argument %d, not NaN", c.Func, i+1)
	}
	x = math.Max(-limit, math.Min(limit, x))
	d := decFromFloat(x)
	d.round(0, roundNearest)
	n, _ := d.int64()
	return int(n), nil
}

// dateFunc is DATE(year, month, day). Years 0 to 49 are 2000 to 2049 and
// 50 to 99 are 1950 to 1999 (the reference); months and days out of range
// roll over into the next or previous months and years.
func dateFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	var p [3]int
	for i := range p {
		n, err := ev.roundedArg(c, i, en, 1e7)
		if err != nil {
			return value.BlankValue, err
		}
		p[i] = n
	}
	y, m, d := p[0], p[1], p[2]
	switch {
	case y < 0 || y > 9999:
		return value.BlankValue, errorf(c, "DATE needs a year from 0 to 9999, not %d", y)
	case y < 50:
		y += 2000
	case y < 100:
		y += 1900
	}
	ole := value.DateOf(y, m, d)
	if !value.ValidDate(ole) {
		return value.BlankValue, errorf(c, "DATE(%d, %d, %d) is outside the dates DAX supports", p[0], m, d)
	}
	return value.Date(ole), nil
}

// timeFunc is TIME(hour, minute, second), each from 0 to 32767 and
// truncated; the time wraps at 24 hours.
func timeFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	var secs int64
	for i, unit := range []int64{3600, 60, 1} {
		_, x, _, err := ev.numArg(c, i, en)
		if err != nil {
			return value.BlankValue, err
		}
		x = math.Trunc(x)
		if !(x >= 0 && x <= 32767) {
			return value.BlankValue, errorf(argNode(c, i), "TIME needs hours, minutes and seconds from 0 to 32767, not %s", value.FormatGeneral(x))
		}
		secs += int64(x) * unit
	}
	return value.Date(float64(secs%86400) / 86400), nil
}

// weekday returns the day of the week of an OLE date, Sunday 0.
func weekday(ole float64) int { return int(value.ToTime(ole).Weekday()) }

// weekdayFunc is WEEKDAY(date, [return_type]): 1 Sunday=1..Saturday=7,
// 2 Monday=1..Sunday=7, 3 Monday=0..Sunday=6.
func weekdayFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	ole, _, err := ev.dateArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	rt, _, err := ev.countArg(c, 1, en, 1)
	if err != nil {
		return value.BlankValue, err
	}
	w := weekday(ole)
	switch rt {
	case 0, 1:
		return value.Int(int64(w + 1)), nil
	case 2:
		return value.Int(int64((w+6)%7 + 1)), nil
	case 3:
		return value.Int(int64((w + 6) % 7)), nil
	}
	return value.BlankValue, errorf(c, "WEEKDAY's return type must be 1, 2 or 3, not %d", rt)
}

// weeknumFunc is WEEKNUM(date, [return_type]): the week containing
// January 1 is week 1 and weeks start on the day the return type names
// (1 or 17 Sunday, 2 or 11 Monday, 12 Tuesday ... 16 Saturday), or ISO
// 8601 weeks for 21.
func weeknumFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	ole, _, err := ev.dateArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	rt, _, err := ev.countArg(c, 1, en, 1)
	if err != nil {
		return value.BlankValue, err
	}
	var first int // first day of the week, Sunday 0
	switch {
	case rt == 0 || rt == 1 || rt == 17:
		first = 0
	case rt == 2:
		first = 1
	case rt >= 11 && rt <= 16:
		first = int(rt-11+1) % 7
	case rt == 21:
		_, w := value.ToTime(ole).ISOWeek()
		return value.Int(int64(w)), nil
	default:
		return value.BlankValue, errorf(c, "WEEKNUM's return type must be 1, 2, 11 to 17 or 21, not %d", rt)
	}
	t := value.ToTime(ole)
	jan1 := value.DateOf(t.Year(), 1, 1)
	offset := (weekday(jan1) - first + 7) % 7
	return value.Int(int64((t.YearDay()-1+offset)/7 + 1)), nil
}

// daysIn returns the number of days of a month.
func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMonths is EOMONTH(start_date, months) (the last day of the month,
// months rounded) and EDATE(start_date, months) (the same day, or the
// last day of a shorter month; months truncated). The time of day is
// dropped, as Excel does.
func addMonths(ev *evaluator, en *env, c *dax.Call, eom bool) (value.Value, error) {
	ole, blank, err := ev.dateArg(c, 0, en)
	if err != nil || blank {
		return value.BlankValue, err
	}
	var months int
	if eom {
		if months, err = ev.roundedArg(c, 1, en, 1e6); err != nil {
			return value.BlankValue, err
		}
	} else {
		n, _, err := ev.countArg(c, 1, en, 0)
		if err != nil {
			return value.BlankValue, err
		}
		months = int(max(-1e6, min(1e6, n)))
	}
	t := value.ToTime(ole)
	total := t.Year()*12 + int(t.Month()) - 1 + months
	y, m := floorDiv(total, 12), total-floorDiv(total, 12)*12+1
	d := t.Day()
	if eom || d > daysIn(y, m) {
		d = daysIn(y, m)
	}
	r := value.DateOf(y, m, d)
	if !value.ValidDate(r) {
		return value.BlankValue, errorf(c, "%s gives a date outside the dates DAX supports", c.Func)
	}
	return value.Date(r), nil
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// dateDiff is DATEDIFF(date1, date2, interval): the number of interval
// boundaries crossed from date1 to date2, negative when date1 is later.
// Weeks start on Sunday.
func dateDiff(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	id, ok := c.Args[2].(*dax.Ident)
	interval := ""
	if ok {
		interval = strings.ToUpper(id.Name)
	}
	switch interval {
	case "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR":
	default:
		return value.BlankValue, errorf(c.Args[2], "DATEDIFF needs an interval: SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR")
	}
	a, blankA, err := ev.dateArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	b, blankB, err := ev.dateArg(c, 1, en)
	if err != nil || blankA || blankB {
		return value.BlankValue, err
	}
	ms := func(ole float64) int64 { return int64(math.Round(ole * 86400000)) }
	unit := func(size int64) value.Value {
		return value.Int(floorDiv64(ms(b), size) - floorDiv64(ms(a), size))
	}
	ta, tb := value.ToTime(a), value.ToTime(b)
	switch interval {
	case "SECOND":
		return unit(1000), nil
	case "MINUTE":
		return unit(60000), nil
	case "HOUR":
		return unit(3600000), nil
	case "DAY":
		return unit(86400000), nil
	case "WEEK":
		// OLE day 1 (1899-12-31) is a Sunday.
		day := func(ole float64) int64 { return floorDiv64(ms(ole), 86400000) }
		return value.Int(floorDiv64(day(b)-1, 7) - floorDiv64(day(a)-1, 7)), nil
	case "MONTH":
		return value.Int(int64((tb.Year()*12 + int(tb.Month())) - (ta.Year()*12 + int(ta.Month())))), nil
	case "QUARTER":
		return value.Int(int64((tb.Year()*4 + (int(tb.Month())-1)/3) - (ta.Year()*4 + (int(ta.Month())-1)/3))), nil
	}
	return value.Int(int64(tb.Year() - ta.Year())), nil
}

// dateTimeValue is DATEVALUE (the date, time dropped) and TIMEVALUE (the
// time of day, date dropped) of a date written as text; a DateTime or a
// number is taken as it is.
func dateTimeValue(ev *evaluator, en *env, c *dax.Call, date bool) (value.Value, error) {
	v, err := ev.arg(c, 0, en)
	if err != nil || v.IsBlank() {
		return value.BlankValue, err
	}
	var dt dateTime
	if v.Type() == value.String {
		var ok bool
		if dt, ok = scanDateTime(v.AsString(), ev.now.Year()); !ok || (date && !dt.hasDate) || (!date && !dt.hasTime && !dt.hasDate) {
			what := "Date"
			if !date {
				what = "Time"
			}
			return value.BlankValue, errorf(c, "cannot convert value '%s' of type Text to type %s", v.AsString(), what)
		}
	} else {
		ole, _, err := ev.dateArg(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		dt.day = math.Floor(ole)
		dt.secs = (ole - dt.day) * 86400
	}
	if date {
		return value.Date(dt.day), nil
	}
	return value.Date(dt.secs / 86400), nil
}

// yearFracFunc is YEARFRAC(start_date, end_date, [basis]), Excel's day
// count conventions: 0 US 30/360, 1 actual/actual, 2 actual/360, 3
// actual/365, 4 European 30/360. Dates are truncated to days.
func yearFracFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	a, blankA, err := ev.dateArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	b, blankB, err := ev.dateArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	basis, _, err := ev.countArg(c, 2, en, 0)
	if err != nil || blankA || blankB {
		return value.BlankValue, err
	}
	if basis < 0 || basis > 4 {
		return value.BlankValue, errorf(c, "YEARFRAC's basis must be 0 to 4, not %d", basis)
	}
	return value.Float(yearFrac(math.Floor(a), math.Floor(b), int(basis))), nil
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func yearFrac(a, b float64, basis int) float64 {
	if a > b {
		a, b = b, a
	}
	y1, m1, d1 := value.Civil(a)
	y2, m2, d2 := value.Civil(b)
	switch basis {
	case 0:
		lastFeb := func(y, m, d int) bool { return m == 2 && d == daysIn(y, 2) }
		switch {
		case d1 == 31 && d2 == 31:
			d1, d2 = 30, 30
		case d1 == 31:
			d1 = 30
		case d1 == 30 && d2 == 31:
			d2 = 30
		case lastFeb(y1, m1, d1) && lastFeb(y2, m2, d2):
			d1, d2 = 30, 30
		case lastFeb(y1, m1, d1):
			d1 = 30
		}
		return float64((y2-y1)*360+(m2-m1)*30+(d2-d1)) / 360
	case 1:
		days := b - a
		if y1 == y2 || (y2 == y1+1 && (m1 > m2 || (m1 == m2 && d1 >= d2))) {
			length := 365.0
			if y1 == y2 && isLeap(y1) {
				length = 366
			} else if y1 != y2 {
				mar1 := value.DateOf(y1, 3, 1)
				mar2 := value.DateOf(y2, 3, 1)
				if (isLeap(y1) && a < mar1 && b >= mar1) || (isLeap(y2) && b >= mar2 && a < mar2) || (m2 == 2 && d2 == 29) {
					length = 366
				}
			}
			return days / length
		}
		span := value.DateOf(y2+1, 1, 1) - value.DateOf(y1, 1, 1)
		return days / (span / float64(y2-y1+1))
	case 2:
		return (b - a) / 360
	case 3:
		return (b - a) / 365
	}
	if d1 == 31 {
		d1 = 30
	}
	if d2 == 31 {
		d2 = 30
	}
	return float64((y2-y1)*360+(m2-m1)*30+(d2-d1)) / 360
}

// dateTime is a date, a time of day or both read from text.
type dateTime struct {
	hasDate, hasTime bool
	day              float64 // OLE day of the date
	secs             float64 // seconds since midnight
}

func (dt dateTime) ole() float64 { return dt.day + dt.secs/86400 }

// parseDateTimeText reads a date and/or time written as text and returns
// it as an OLE date. year is the year of dates written without one.
func parseDateTimeText(s string, year int) (float64, bool) {
	dt, ok := scanDateTime(s, year)
	return dt.ole(), ok
}

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

var dayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// monthOf recognises a month name or its abbreviation (three letters, or
// "Sept").
func monthOf(w string) int {
	w = strings.ToLower(strings.TrimSuffix(w, "."))
	for i, m := range monthNames {
		if w == m || (len(w) == 3 && strings.HasPrefix(m, w)) || (w == "sept" && i == 8) {
			return i + 1
		}
	}
	return 0
}

func isDayName(w string) bool {
	w = strings.ToLower(strings.TrimSuffix(w, "."))
	for _, d := range dayNames {
		if w == d || (len(w) == 3 && strings.HasPrefix(d, w)) {
			return true
		}
	}
	return false
}

type dateTok struct {
	kind   byte // 'n' number, 'w' word, or the punctuation character
	text   string
	num    int
	digits int
}

// scanDateTime reads the en-US forms of dates and times: 1/31/2020,
// 1-31-2020, 2020-01-31, 2020/1/31, 31-Jan-2020, January 31, 2020,
// Jan 31 2020, March 2007 (the first of the month), 1/31 (the given year),
// optionally with a weekday name, followed or preceded by a time
// 13:45, 1:45 PM, 13:45:30.250 or 1 PM; or a time alone. Two-digit years
// are 1930 to 2029.
func scanDateTime(s string, year int) (dateTime, bool) {
	var toks []dateTok
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j-i > 9 {
				return dateTime{}, false
			}
			n := 0
			for _, d := range s[i:j] {
				n = n*10 + int(d-'0')
			}
			toks = append(toks, dateTok{kind: 'n', text: s[i:j], num: n, digits: j - i})
			i = j
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			j := i
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			toks = append(toks, dateTok{kind: 'w', text: s[i:j]})
			i = j
		case ch == ' ' || ch == '\t':
			i++
		case strings.IndexByte("/-,.:", ch) >= 0:
			toks = append(toks, dateTok{kind: ch})
			i++
		default:
			return dateTime{}, false
		}
	}
	var dt dateTime
	// The time: h:mm[:ss[.fff]] [AM|PM], or h AM|PM.
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != 'n' {
			continue
		}
		j := i + 1
		var parts []dateTok
		parts = append(parts, toks[i])
		for len(parts) < 3 && j+1 < len(toks) && toks[j].kind == ':' && toks[j+1].kind == 'n' {
			parts = append(parts, toks[j+1])
			j += 2
		}
		frac := 0.0
		if len(parts) == 3 && j+1 < len(toks) && toks[j].kind == '.' && toks[j+1].kind == 'n' {
			frac = float64(toks[j+1].num) / math.Pow(10, float64(toks[j+1].digits))
			j += 2
		}
		ampm := ""
		if j < len(toks) && toks[j].kind == 'w' {
			switch w := strings.ToUpper(toks[j].text); w {
			case "AM", "PM", "A", "P":
				ampm = w[:1]
				j++
			}
		}
		if len(parts) == 1 && ampm == "" {
			continue
		}
		if dt.hasTime {
			return dateTime{}, false
		}
		h, m, sec := parts[0].num, 0, 0
		if len(parts) > 1 {
			m = parts[1].num
		}
		if len(parts) > 2 {
			sec = parts[2].num
		}
		if m > 59 || sec > 59 {
			return dateTime{}, false
		}
		switch ampm {
		case "":
			if h > 23 {
				return dateTime{}, false
			}
		case "A", "P":
			if h > 12 {
				return dateTime{}, false
			}
			if h == 12 {
				h = 0
			}
			if ampm == "P" {
				h += 12
			}
		}
		dt.hasTime = true
		dt.secs = float64(h*3600+m*60+sec) + frac
		toks = append(toks[:i], toks[j:]...)
		i--
	}
	// The date: numbers and at most one month name.
	var nums []dateTok
	month := 0
	for _, t := range toks {
		switch t.kind {
		case 'n':
			nums = append(nums, t)
		case 'w':
			switch m := monthOf(t.text); {
			case m > 0 && month == 0:
				month = m
			case isDayName(t.text), strings.EqualFold(t.text, "T"):
			default:
				return dateTime{}, false
			}
		}
	}
	if len(nums) == 0 && month == 0 {
		return dt, dt.hasTime
	}
	yearOf := func(t dateTok) int {
		if t.digits <= 2 {
			if t.num < 30 {
				return 2000 + t.num
			}
			return 1900 + t.num
		}
		return t.num
	}
	isYear := func(t dateTok) bool { return t.digits >= 3 || t.num > 31 }
	var y, m, d int
	switch {
	case month > 0 && len(nums) == 1:
		m = month
		if isYear(nums[0]) {
			y, d = yearOf(nums[0]), 1
		} else {
			y, d = year, nums[0].num
		}
	case month > 0 && len(nums) == 2:
		m = month
		if isYear(nums[0]) {
			y, d = yearOf(nums[0]), nums[1].num
		} else {
			y, d = yearOf(nums[1]), nums[0].num
		}
	case month == 0 && len(nums) == 3:
		if nums[0].digits >= 3 {
			y, m, d = nums[0].num, nums[1].num, nums[2].num
		} else {
			y, m, d = yearOf(nums[2]), nums[0].num, nums[1].num
		}
	case month == 0 && len(nums) == 2:
		switch {
		case nums[0].digits >= 3:
			y, m, d = nums[0].num, nums[1].num, 1
		case nums[1].digits >= 3:
			y, m, d = nums[1].num, nums[0].num, 1
		default:
			y, m, d = year, nums[0].num, nums[1].num
		}
	default:
		return dateTime{}, false
	}
	if y < 100 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return dateTime{}, false
	}
	dt.hasDate = true
	dt.day = value.DateOf(y, m, d)
	return dt, true
}
