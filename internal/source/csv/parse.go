package csv

import (
	"math"
	"strconv"

	"github.com/meridian-olap/meridian/internal/value"
)

// The conversions below read text as Power Query's Int64.From,
// Number.FromText, Currency.From, Logical.FromText and DateTime.FromText do
// with the en-US culture. Each trims surrounding white space (space, tab,
// CR, LF, VT, FF) and reports ok=false for text it cannot read; none
// allocates except on rare slow paths (numbers beyond the 15 digits a
// float64 holds exactly, which go through strconv).

func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func trim(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// IsBlank reports whether b is empty or only white space: such a field is
// BLANK for every type but text.
func IsBlank(b []byte) bool { return len(trim(b)) == 0 }

// ParseInt reads a whole number in plain form: an optional sign and
// decimal digits. Use ParseWhole for the forms Int64.From also accepts.
func ParseInt(b []byte) (int64, bool) {
	b = trim(b)
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	const limit = uint64(1) << 63
	var u uint64
	for _, c := range b {
		d := uint64(c - '0')
		if d > 9 {
			return 0, false
		}
		if u > limit/10 || (u == limit/10 && d > limit%10) {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		return int64(-u), true // -(1<<63) wraps to MinInt64, as wanted
	}
	if u >= limit {
		return 0, false
	}
	return int64(u), true
}

// ParseWhole reads a number and rounds it to a whole number, half to even,
// as Int64.From does: "12" and "12.0" are 12, "12.5" is 12, "1,234" is
// 1234, "1e3" is 1000.
func ParseWhole(b []byte) (int64, bool) {
	if v, ok := ParseInt(b); ok {
		return v, true
	}
	d, ok := scanDecimal(b, false)
	if !ok {
		return 0, false
	}
	return d.scaled(0)
}

// ParseCurrency reads a number as a Currency: ten-thousandths, exact. It
// does not go through float64: digits beyond the fourth decimal place are
// rounded half to even (Currency.From's default: "1.23455" is 1.2346,
// "12.34567" is 123457 units). Out of the Currency range is not ok.
func ParseCurrency(b []byte) (int64, bool) {
	if v, ok := plainCurrency(b); ok {
		return v, true
	}
	d, ok := scanDecimal(b, false)
	if !ok {
		return 0, false
	}
	return d.scaled(4)
}

// ParseFloat reads a number as Number.FromText does in en-US: an optional
// sign, digits with optional "," group separators, an optional decimal
// point and fraction, an optional exponent; also NaN and Infinity.
func ParseFloat(b []byte) (float64, bool) {
	return parseFloat(b, false)
}

// ParsePercent reads a number as Percentage.From does: with a trailing %
// the value is divided by 100 ("12.5%" is 0.125); without, it is the
// number.
func ParsePercent(b []byte) (float64, bool) {
	return parseFloat(b, true)
}

func parseFloat(b []byte, pct bool) (float64, bool) {
	if m, e, neg, ok := plainNumber(b, 15); ok {
		f := float64(m) / float64pow10[e]
		if neg {
			f = -f
		}
		return f, true
	}
	d, ok := scanDecimal(b, pct)
	if !ok {
		return parseSpecial(b)
	}
	exp := d.exp
	if d.pct {
		exp -= 2
	}
	if !d.inexact() && d.mant < 1<<53 && exp >= -22 && exp <= 22 {
		// Both operands are exact, so one operation rounds correctly.
		f := float64(d.mant)
		if exp < 0 {
			f /= float64pow10[-exp]
		} else {
			f *= float64pow10[exp]
		}
		if d.neg {
			f = -f
		}
		return f, true
	}
	// Rare: too many digits or a large exponent. Let strconv round it,
	// on a copy without group separators or percent sign.
	t := trim(b)
	buf := make([]byte, 0, len(t))
	for _, c := range t {
		if c != ',' && c != '%' {
			buf = append(buf, c)
		}
	}
	f, err := strconv.ParseFloat(string(trim(buf)), 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	if d.pct {
		f /= 100
	}
	return f, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseSpecial reads NaN and (signed) Infinity, case-insensitively.
func parseSpecial(b []byte) (float64, bool) {
	b = trim(b)
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	switch {
	case equalFold(b, "infinity"):
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case equalFold(b, "nan"):
		return math.NaN(), true
	}
	return 0, false
}

// plainNumber reads the common form [-]digits[.digits] with at most max
// digits in all, as m / 10^e. Anything else is left to scanDecimal.
func plainNumber(b []byte, max int) (m uint64, e int, neg bool, ok bool) {
	i, n := 0, len(b)
	if n > 0 && b[0] == '-' {
		neg = true
		i = 1
	}
	start := i
	for i < n && '0' <= b[i] && b[i] <= '9' {
		m = m*10 + uint64(b[i]-'0')
		i++
	}
	digits := i - start
	if i < n && b[i] == '.' {
		i++
		fs := i
		for i < n && '0' <= b[i] && b[i] <= '9' {
			m = m*10 + uint64(b[i]-'0')
			i++
		}
		e = i - fs
		digits += e
	}
	if i != n || digits == 0 || digits > max {
		return 0, 0, false, false
	}
	return m, e, neg, true
}

// plainCurrency reads [-]digits[.digits] with at most four decimals, which
// needs no rounding.
func plainCurrency(b []byte) (int64, bool) {
	m, e, neg, ok := plainNumber(b, 19)
	if !ok || e > 4 {
		return 0, false
	}
	mult := uint64pow10[4-e]
	if m > (1<<63-1)/mult {
		return 0, false // perhaps still in range as a negative: the slow path decides
	}
	v := int64(m * mult)
	if neg {
		v = -v
	}
	return v, true
}

var float64pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

var uint64pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// decimal is a number read from text: mant × 10^exp, with up to 19
// significant digits in mant. When there were more (nd > 19), first is the
// first digit dropped and rest says whether any later one was non-zero:
// enough to round exactly.
type decimal struct {
	neg   bool
	pct   bool
	mant  uint64
	exp   int
	nd    int // significant digits read
	first byte
	rest  bool
}

func (d *decimal) digit(c byte, frac bool) {
	v := c - '0'
	if d.nd == 0 && v == 0 {
		if frac {
			d.exp--
		}
		return
	}
	switch {
	case d.nd < 19:
		d.mant = d.mant*10 + uint64(v)
		if frac {
			d.exp--
		}
	case d.nd == 19:
		d.first = v
	case v != 0:
		d.rest = true
	}
	if d.nd >= 19 && !frac {
		d.exp++
	}
	d.nd++
}

// inexact reports whether non-zero digits were dropped.
func (d *decimal) inexact() bool { return d.nd > 19 && (d.first != 0 || d.rest) }

// scanDecimal reads [sign] digits[,digits...][.digits][e[sign]digits][%].
func scanDecimal(b []byte, pct bool) (decimal, bool) {
	var d decimal
	b = trim(b)
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		d.neg = b[i] == '-'
		i++
	}
	digits := false
	for ; i < len(b); i++ {
		c := b[i]
		if '0' <= c && c <= '9' {
			d.digit(c, false)
			digits = true
		} else if c != ',' || !digits {
			break
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			d.digit(b[i], true)
			digits = true
		}
	}
	if !digits {
		return d, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		e := 0
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			if e < 100000 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return d, false
		}
		if eneg {
			e = -e
		}
		d.exp += e
	}
	if pct && i < len(b) && b[i] == '%' {
		d.pct = true
		i++
	}
	return d, i == len(b)
}

// scaled returns the number × 10^scale rounded half to even, if it fits in
// an int64.
func (d decimal) scaled(scale int) (int64, bool) {
	if d.mant == 0 {
		return 0, true
	}
	e := d.exp + scale
	var u uint64
	switch {
	case e >= 0:
		if e > 19 {
			return 0, false
		}
		u = d.mant
		for ; e > 0; e-- {
			if u > math.MaxUint64/10 {
				return 0, false
			}
			u *= 10
		}
		// Dropped digits sit just below the last kept one only when e
		// was 0; with e > 0 the number is out of range anyway.
		if d.nd > 19 && (d.first > 5 || d.first == 5 && (d.rest || u%2 == 1)) {
			u++
		}
	case e < -19:
		return 0, true // below half a unit
	default:
		div := uint64pow10[-e]
		u = d.mant / div
		rem := d.mant % div
		half := div - rem
		// rem and half are whole; div is even, so rem == half is the only
		// case the dropped digits can decide.
		if rem > half || rem == half && (d.inexact() || u%2 == 1) {
			u++
		}
	}
	if d.neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u >= 1<<63 {
		return 0, false
	}
	return int64(u), true
}

// ParseBool reads "true" or "false" in any case, as Logical.FromText does.
// Other text ("1", "yes") is not ok.
func ParseBool(b []byte) (bool, bool) {
	b = trim(b)
	switch {
	case equalFold(b, "true"):
		return true, true
	case equalFold(b, "false"):
		return false, true
	}
	return false, false
}

// equalFold compares ASCII text case-insensitively to a lower-case word.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// ParseDateTime reads a date with an optional time of day and returns it as
// an OLE Automation date (see value.FromTime). Accepted forms, with the
// en-US reading of ambiguous ones:
//
//	2020-01-31    2020/01/31    20200131
//	2020-01-31T10:20:30    2020-01-31 10:20:30.1234567    ...T10:20
//	1/31/2020    1/31/20 (years 00-49 are 20xx, 50-99 19xx)    1-31-2020
//	31-Jan-2020    31 Jan 2020    31-January-2020
//	January 31, 2020    Jan 31 2020    Friday, January 31, 2020
//
// Any of them may be followed by a time: h:mm, h:mm:ss or h:mm:ss.fffffff
// (after T or spaces), with an optional AM or PM, and then an optional zone
// (Z, +hh:mm, -hhmm): a zoned time is converted to UTC. Years must be 100
// to 9999, the range of DAX dates; impossible days (2021-02-29) are not ok.
func ParseDateTime(b []byte) (float64, bool) {
	if len(b) == 10 && b[4] == '-' && b[7] == '-' {
		// The common case, 2020-01-31, without the general reader.
		y, ok1 := digits(b[0:4])
		m, ok2 := digits(b[5:7])
		d, ok3 := digits(b[8:10])
		if ok1 && ok2 && ok3 && y >= 100 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m) {
			return oleDate(y, m, d), true
		}
	}
	c := cursor{b: trim(b)}
	if len(c.b) == 0 {
		return 0, false
	}
	y, m, d, ok := c.date()
	if !ok {
		return 0, false
	}
	if y < 100 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	ole := oleDate(y, m, d)
	if c.done() {
		return ole, true
	}
	if c.peek() == 'T' || c.peek() == 't' {
		c.i++
	} else if !c.spaces() {
		return 0, false
	}
	secs, ok := c.timeOfDay()
	if !ok {
		return 0, false
	}
	off, ok := c.zone()
	if !ok || !c.done() {
		return 0, false
	}
	return ole + (secs-float64(off)*60)/86400, true
}

// digits reads a fixed run of decimal digits.
func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// ParseDate reads what ParseDateTime does and keeps the day only.
func ParseDate(b []byte) (float64, bool) {
	ole, ok := ParseDateTime(b)
	if !ok {
		return 0, false
	}
	return math.Floor(ole), true
}

// ParseTime reads a time of day (h:mm, h:mm:ss[.fffffff], with an optional
// AM or PM) and returns the fraction of a day, which is how a time is
// stored: the OLE date of 1899-12-30 at that time. A full date and time is
// accepted too; its date is dropped.
func ParseTime(b []byte) (float64, bool) {
	c := cursor{b: trim(b)}
	if secs, ok := c.timeOfDay(); ok && c.done() {
		return secs / 86400, true
	}
	ole, ok := ParseDateTime(b)
	if !ok {
		return 0, false
	}
	return ole - math.Floor(ole), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// cursor walks text for the date and time readers.
type cursor struct {
	b []byte
	i int
}

func (c *cursor) done() bool { return c.i == len(c.b) }

func (c *cursor) peek() byte {
	if c.i < len(c.b) {
		return c.b[c.i]
	}
	return 0
}

func (c *cursor) eat(ch byte) bool {
	if c.peek() == ch && c.i < len(c.b) {
		c.i++
		return true
	}
	return false
}

// spaces skips spaces and reports whether there were any.
func (c *cursor) spaces() bool {
	s := c.i
	for c.i < len(c.b) && (c.b[c.i] == ' ' || c.b[c.i] == '\t') {
		c.i++
	}
	return c.i > s
}

// number reads up to max digits and returns the value and the count.
func (c *cursor) number(max int) (v, n int) {
	for n < max && c.i < len(c.b) && '0' <= c.b[c.i] && c.b[c.i] <= '9' {
		v = v*10 + int(c.b[c.i]-'0')
		c.i++
		n++
	}
	return v, n
}

// word reads ASCII letters.
func (c *cursor) word() []byte {
	s := c.i
	for c.i < len(c.b) && isLetter(c.b[c.i]) {
		c.i++
	}
	return c.b[s:c.i]
}

func isLetter(ch byte) bool { ch |= 0x20; return 'a' <= ch && ch <= 'z' }

// year reads a four-digit year, or a two-digit one in the 1950-2049 window.
func (c *cursor) year() (int, bool) {
	v, n := c.number(4)
	switch n {
	case 4:
		return v, true
	case 2:
		if v < 50 {
			return 2000 + v, true
		}
		return 1900 + v, true
	}
	return 0, false
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december"}

var dayNames = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// nameIndex finds w as a full name or a three-letter abbreviation.
func nameIndex(w []byte, names []string) int {
	if len(w) < 3 {
		return -1
	}
	for i, n := range names {
		if equalFold(w, n) || len(w) == 3 && equalFold(w, n[:3]) {
			return i
		}
	}
	return -1
}

func (c *cursor) date() (y, m, d int, ok bool) {
	if isLetter(c.peek()) {
		w := c.word()
		if nameIndex(w, dayNames[:]) >= 0 {
			// "Friday, January 31, 2020": the day name adds nothing.
			c.eat(',')
			c.spaces()
			if !isLetter(c.peek()) {
				v, n := c.number(2)
				if n == 0 {
					return 0, 0, 0, false
				}
				return c.dayMonthYear(v)
			}
			w = c.word()
		}
		// "January 31, 2020", "Jan 31 2020"
		mi := nameIndex(w, monthNames[:])
		if mi < 0 || !c.spaces() {
			return 0, 0, 0, false
		}
		d, n := c.number(2)
		if n == 0 {
			return 0, 0, 0, false
		}
		c.eat(',')
		if !c.spaces() {
			return 0, 0, 0, false
		}
		y, ok = c.year()
		return y, mi + 1, d, ok
	}
	start := c.i
	v, n := c.number(8)
	switch {
	case n == 8:
		if c.peek() >= '0' && c.peek() <= '9' {
			return 0, 0, 0, false
		}
		return v / 10000, v / 100 % 100, v % 100, true
	case n == 4:
		// 2020-01-31, 2020/01/31: the separator must repeat.
		sep := c.peek()
		if sep != '-' && sep != '/' && sep != '.' {
			return 0, 0, 0, false
		}
		c.i++
		m, n1 := c.number(2)
		if n1 == 0 || !c.eat(sep) {
			return 0, 0, 0, false
		}
		d, n2 := c.number(2)
		return v, m, d, n2 > 0
	case n == 1 || n == 2:
		return c.dayMonthYear(v)
	}
	c.i = start
	return 0, 0, 0, false
}

// dayMonthYear continues after a first number of one or two digits:
// 1/31/2020 and 1-31-2020 are month first (en-US); 31-Jan-2020 and
// 31 Jan 2020 name the month.
func (c *cursor) dayMonthYear(first int) (y, m, d int, ok bool) {
	sep := c.peek()
	if sep != '/' && sep != '-' && sep != ' ' {
		return 0, 0, 0, false
	}
	c.i++
	if isLetter(c.peek()) {
		mi := nameIndex(c.word(), monthNames[:])
		if mi < 0 {
			return 0, 0, 0, false
		}
		if !c.eat(sep) {
			if sep != ' ' {
				return 0, 0, 0, false
			}
		}
		c.spaces()
		y, ok = c.year()
		return y, mi + 1, first, ok
	}
	if sep == ' ' {
		return 0, 0, 0, false
	}
	d, n := c.number(2)
	if n == 0 || !c.eat(sep) {
		return 0, 0, 0, false
	}
	y, ok = c.year()
	return y, first, d, ok
}

// timeOfDay reads h:mm[:ss[.fffffff]] [AM|PM] and returns seconds since
// midnight.
func (c *cursor) timeOfDay() (float64, bool) {
	h, n := c.number(2)
	if n == 0 || !c.eat(':') {
		return 0, false
	}
	mi, n := c.number(2)
	if n != 2 {
		return 0, false
	}
	s, frac := 0, 0.0
	if c.eat(':') {
		if s, n = c.number(2); n != 2 {
			return 0, false
		}
		if c.eat('.') {
			f, n := c.number(9)
			if n == 0 {
				return 0, false
			}
			for c.peek() >= '0' && c.peek() <= '9' {
				c.i++ // digits beyond nanoseconds change nothing DAX keeps
			}
			frac = float64(f) / float64pow10[n]
		}
	}
	save := c.i
	c.spaces()
	if w := c.word(); len(w) > 0 {
		switch {
		case equalFold(w, "am") || equalFold(w, "a"):
			if h < 1 || h > 12 {
				return 0, false
			}
			if h == 12 {
				h = 0
			}
		case equalFold(w, "pm") || equalFold(w, "p"):
			if h < 1 || h > 12 {
				return 0, false
			}
			if h != 12 {
				h += 12
			}
		default:
			c.i = save // not AM or PM: perhaps a zone, or junk the caller refuses
		}
	} else {
		c.i = save
	}
	if h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	return float64(h*3600+mi*60+s) + frac, true
}

// zone reads an optional Z or ±hh[:mm] and returns its offset in minutes.
func (c *cursor) zone() (int, bool) {
	save := c.i
	c.spaces()
	switch c.peek() {
	case 'Z', 'z':
		c.i++
		return 0, true
	case '+', '-':
	default:
		c.i = save
		return 0, true
	}
	neg := c.b[c.i] == '-'
	c.i++
	h, n := c.number(2)
	if n != 2 {
		return 0, false
	}
	c.eat(':')
	m, n := c.number(2)
	if n != 0 && n != 2 {
		return 0, false
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	off := h*60 + m
	if neg {
		off = -off
	}
	return off, true
}

// yearDays holds the OLE day number of January 1 of each year from 100 to
// 10000, so that a date costs two table lookups rather than the civil-date
// arithmetic of value.DateOf (with which it agrees; a test checks).
var yearDays = func() []int32 {
	t := make([]int32, 10000-100+1)
	for y := range t {
		t[y] = int32(value.DateOf(y+100, 1, 1))
	}
	return t
}()

// monthDays is the day of the year (from 0) on which each month starts in
// a common year.
var monthDays = [13]int32{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// oleDate returns the OLE day of a valid date with 100 <= y <= 9999.
func oleDate(y, m, d int) float64 {
	n := yearDays[y-100] + monthDays[m] + int32(d-1)
	if m > 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		n++
	}
	return float64(n)
}
