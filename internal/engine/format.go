package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// FORMAT and format strings, en-US (DAX reference: FORMAT). Format
// strings are those of Visual Basic: named formats ("Currency", "Short
// Date"...), custom numeric formats of up to three sections
// (positive;negative;zero) and custom date/time formats.
//
// A format is parsed once and kept in a bounded cache, since a measure's
// format string is applied to every cell of a result.

func init() {
	register("FORMAT", &builtin{min: 2, max: 3, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		v, err := ev.arg(c, 0, en)
		if err != nil {
			return v, err
		}
		f, err := ev.arg(c, 1, en)
		if err != nil {
			return f, err
		}
		loc, err := ev.arg(c, 2, en)
		if err != nil {
			return loc, err
		}
		if l := loc.Text(); l != "" && !strings.EqualFold(l, "en-US") && !strings.EqualFold(l, "en") {
			return value.BlankValue, unsupported(argNode(c, 2), "the locale "+strconv.Quote(l)+" (FORMAT formats for en-US only)")
		}
		s, err := formatValue(v, f.Text())
		if err != nil {
			return value.BlankValue, errorf(c, "FORMAT: %v", err)
		}
		return value.Str(s), nil
	}})
}

// formatValue formats a value with a format string as FORMAT does in
// en-US: BLANK is "", an empty format is "General Number" for numbers
// and "General Date" for dates. Text that reads as a number (or, for a
// date format, as a date) is formatted as one; other text is returned as
// it is. The error is for dates out of range.
func formatValue(v value.Value, format string) (string, error) {
	if v.IsBlank() {
		return "", nil
	}
	if format == "" {
		switch v.Type() {
		case value.DateTime:
			return generalDate(v.AsFloat())
		case value.Boolean:
			if v.AsBool() {
				return "True", nil
			}
			return "False", nil
		case value.String:
			return v.AsString(), nil
		}
		return generalNumber(v), nil
	}
	pf := parseFormat(format)
	if pf.date {
		ole, ok := dateOfValue(v)
		if !ok {
			return v.Text(), nil
		}
		return formatDate(ole, pf)
	}
	n, ok := numberOfValue(v)
	if !ok {
		return v.Text(), nil
	}
	return formatNumber(n, pf), nil
}

// numberOfValue converts a value to the number a numeric format shows.
func numberOfValue(v value.Value) (value.Value, bool) {
	switch v.Type() {
	case value.String:
		if f, ok := parseNumberText(v.AsString()); ok {
			return value.Float(f), true
		}
		return v, false
	case value.Boolean:
		return value.Int(v.AsInt()), true
	case value.DateTime:
		return value.Float(v.AsFloat()), true
	case value.Variant:
		return v, false
	}
	return v, true
}

// dateOfValue converts a value to the OLE date a date format shows. Text
// without a year takes the current year of the clock: formatValue has no
// query, and so no query clock, to ask.
func dateOfValue(v value.Value) (float64, bool) {
	if v.Type() == value.String {
		return parseDateTimeText(v.AsString(), time.Now().Year())
	}
	f, ok := v.Number()
	return f, ok && v.Type() != value.Variant
}

// generalNumber is the "General Number" format: exact for integers and
// Currency, 15 significant digits for doubles.
func generalNumber(v value.Value) string {
	switch v.Type() {
	case value.Integer:
		return strconv.FormatInt(v.AsInt(), 10)
	case value.Currency:
		return value.FormatCurrencyUnits(v.AsInt())
	}
	f, _ := v.Number()
	s := value.FormatGeneral(f)
	// Visual Basic writes the exponent form without trailing zeros in
	// the mantissa: 1E+20, 1.5E-07.
	if i := strings.IndexByte(s, 'E'); i > 0 && strings.Contains(s[:i], ".") {
		s = strings.TrimRight(strings.TrimRight(s[:i], "0"), ".") + s[i:]
	}
	return s
}

// A parsed format: a named format, or the sections of a custom one.
type parsedFormat struct {
	named    string // the named format in lower case, or ""
	date     bool   // a date/time format
	sections []*numSection
	dtoks    []dateCode
}

var (
	formatCache  sync.Map // string -> *parsedFormat
	formatCached atomic.Int64
)

// maxCachedFormats and maxCachedFormatLen bound the cache (format strings
// come from queries); other formats are parsed at each use.
const (
	maxCachedFormats   = 4096
	maxCachedFormatLen = 256
)

func parseFormat(format string) *parsedFormat {
	if pf, ok := formatCache.Load(format); ok {
		return pf.(*parsedFormat)
	}
	pf := parseFormatUncached(format)
	if len(format) <= maxCachedFormatLen && formatCached.Load() < maxCachedFormats {
		if _, loaded := formatCache.LoadOrStore(format, pf); !loaded {
			formatCached.Add(1)
		}
	}
	return pf
}

// Named formats and the custom formats they stand for.
var namedNumber = map[string]string{
	"general number": "",
	"currency":       "$#,##0.00;($#,##0.00)",
	"fixed":          "0.00",
	"standard":       "#,##0.00",
	"percent":        "0.00%",
	"scientific":     "0.00E+00",
	"yes/no":         "",
	"true/false":     "",
	"on/off":         "",
}

var namedDate = map[string]string{
	"general date": "",
	"long date":    "dddd, mmmm d, yyyy",
	"medium date":  "dddd, mmmm d, yyyy",
	"short date":   "m/d/yyyy",
	"long time":    "h:nn:ss AMPM",
	"medium time":  "hh:nn AMPM",
	"short time":   "hh:nn",
}

func parseFormatUncached(format string) *parsedFormat {
	key := strings.ToLower(format)
	if custom, ok := namedNumber[key]; ok {
		pf := &parsedFormat{named: key}
		if custom != "" {
			pf.sections = parseNumSections(custom)
		}
		return pf
	}
	if custom, ok := namedDate[key]; ok {
		pf := &parsedFormat{named: key, date: true}
		if custom != "" {
			pf.dtoks = parseDateFormat(custom)
		}
		return pf
	}
	secs := splitSections(format)
	if !hasDigitPlaceholder(secs[0]) && hasDateToken(secs[0]) {
		return &parsedFormat{date: true, dtoks: parseDateFormat(secs[0])}
	}
	return &parsedFormat{sections: parseNumSections(format)}
}

// splitSections splits a format at the semicolons outside quotes and
// escapes.
func splitSections(format string) []string {
	var out []string
	start := 0
	quoted := false
	for i := 0; i < len(format); i++ {
		switch ch := format[i]; {
		case ch == '"':
			quoted = !quoted
		case ch == '\\' && !quoted:
			i++
		case ch == ';' && !quoted:
			out = append(out, format[start:i])
			start = i + 1
		}
	}
	return append(out, format[start:])
}

// eachUnquoted calls fn with every byte of a section outside quotes and
// escapes, with its index.
func eachUnquoted(s string, fn func(i int, ch byte) bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"':
			quoted = !quoted
		case quoted:
		case ch == '\\':
			i++
		default:
			if !fn(i, ch) {
				return
			}
		}
	}
}

func hasDigitPlaceholder(s string) bool {
	found := false
	eachUnquoted(s, func(_ int, ch byte) bool {
		found = ch == '0' || ch == '#'
		return !found
	})
	return found
}

func hasDateToken(s string) bool {
	found := false
	eachUnquoted(s, func(i int, ch byte) bool {
		switch ch | 0x20 {
		case 'd', 'm', 'y', 'h', 'n', 's', 'q', 'w', 'c':
			found = true
		case 't':
			found = strings.HasPrefix(strings.ToLower(s[i:]), "ttttt")
		case 'a':
			l := strings.ToLower(s[i:])
			found = strings.HasPrefix(l, "am/pm") || strings.HasPrefix(l, "a/p") || strings.HasPrefix(l, "ampm")
		}
		return !found
	})
	return found
}

// Numeric formats.

type numTokKind uint8

const (
	ntLit numTokKind = iota
	ntDigit
	ntPoint
	ntPercent
	ntExp
)

type numTok struct {
	kind numTokKind
	lit  string
	zero bool // '0' rather than '#'
	part uint8
	// ntExp: the letter and whether a + is shown for positive exponents.
	plus bool
}

// Digit placeholder parts.
const (
	partInt uint8 = iota
	partFrac
	partExp
)

// numSection is one section of a numeric format.
type numSection struct {
	toks     []numTok
	empty    bool
	group    bool // thousands separators
	scale    int  // divide by 1000 this many times
	percent  int  // multiply by 100 this many times
	exp      bool
	intPH    int // integer digit placeholders
	minInt   int // integer digits always shown (from the leftmost 0)
	fracPH   int
	fracZero []bool // per fraction placeholder, whether it is a 0
	expZeros int    // exponent digits always shown
}

func parseNumSections(format string) []*numSection {
	var out []*numSection
	for i, s := range splitSections(format) {
		if i == 3 {
			break
		}
		out = append(out, parseNumSection(s))
	}
	return out
}

func parseNumSection(s string) *numSection {
	sec := &numSection{empty: s == ""}
	part := partInt
	point := false
	lit := func(text string) {
		if n := len(sec.toks); n > 0 && sec.toks[n-1].kind == ntLit {
			sec.toks[n-1].lit += text
			return
		}
		sec.toks = append(sec.toks, numTok{kind: ntLit, lit: text})
	}
	isDigit := func(i int) bool { return i < len(s) && (s[i] == '0' || s[i] == '#') }
	digitsSeen := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				lit(s[i+1:])
				i = len(s)
				break
			}
			lit(s[i+1 : i+1+j])
			i += j + 1
		case ch == '\\':
			if i+1 < len(s) {
				_, size := utf8.DecodeRuneInString(s[i+1:])
				lit(s[i+1 : i+1+size])
				i += size
			}
		case ch == '0' || ch == '#':
			sec.toks = append(sec.toks, numTok{kind: ntDigit, zero: ch == '0', part: part})
			digitsSeen++
		case ch == '.' && !point && part == partInt:
			point = true
			part = partFrac
			sec.toks = append(sec.toks, numTok{kind: ntPoint})
		case ch == ',' && part != partExp:
			j := i
			for j < len(s) && s[j] == ',' {
				j++
			}
			switch {
			case isDigit(j) && digitsSeen > 0:
				if part == partInt {
					sec.group = true
				}
			case digitsSeen > 0:
				sec.scale += j - i
			default:
				lit(s[i:j])
			}
			i = j - 1
		case ch == '%':
			sec.percent++
			sec.toks = append(sec.toks, numTok{kind: ntPercent})
		case (ch == 'E' || ch == 'e') && i+2 < len(s) && (s[i+1] == '+' || s[i+1] == '-') && isDigit(i+2) && !sec.exp:
			sec.exp = true
			part = partExp
			sec.toks = append(sec.toks, numTok{kind: ntExp, lit: string(ch), plus: s[i+1] == '+'})
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			lit(s[i : i+size])
			i += size - 1
		}
	}
	leftmostZero := -1
	for _, t := range sec.toks {
		if t.kind != ntDigit {
			continue
		}
		switch t.part {
		case partInt:
			if t.zero && leftmostZero < 0 {
				leftmostZero = sec.intPH
			}
			sec.intPH++
		case partFrac:
			sec.fracPH++
			sec.fracZero = append(sec.fracZero, t.zero)
		case partExp:
			if t.zero {
				sec.expZeros++
			}
		}
	}
	if leftmostZero >= 0 {
		sec.minInt = sec.intPH - leftmostZero
	}
	return sec
}

// formatNumber formats a number (Integer, Currency or Decimal) with a
// parsed numeric format.
func formatNumber(v value.Value, pf *parsedFormat) string {
	x, _ := v.Number()
	switch pf.named {
	case "general number":
		return generalNumber(v)
	case "yes/no":
		return pick(x != 0, "Yes", "No")
	case "true/false":
		return pick(x != 0, "True", "False")
	case "on/off":
		return pick(x != 0, "On", "Off")
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return value.FormatGeneral(x)
	}
	secs := pf.sections
	sec, auto := secs[0], true
	switch {
	case x < 0 && len(secs) >= 2 && !secs[1].empty:
		sec, auto = secs[1], false
	case x == 0 && len(secs) >= 3 && !secs[2].empty:
		sec = secs[2]
	}
	if sec.empty {
		return generalNumber(v)
	}
	d := decOf(v)
	neg := d.neg
	d.neg = false
	return sec.format(d, neg && auto)
}

func pick(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// format writes the magnitude d with the section, with a minus sign in
// front when neg and the number shown is not zero.
func (sec *numSection) format(d dec, neg bool) string {
	d.exp += 2*sec.percent - 3*sec.scale
	if d.isZero() {
		d.exp = 0
	}
	e := 0
	if sec.exp {
		if !d.isZero() {
			e = d.exp - sec.intPH
			d.exp = sec.intPH
			d.round(sec.fracPH, roundNearest)
			if d.exp > sec.intPH {
				d.exp--
				e++
			}
		}
	} else {
		d.round(sec.fracPH, roundNearest)
	}
	intDigits := d.intDigits()
	if len(intDigits) < sec.minInt {
		intDigits = strings.Repeat("0", sec.minInt-len(intDigits)) + intDigits
	}
	frac := []byte(d.fracDigits(sec.fracPH))
	for len(frac) > 0 && frac[len(frac)-1] == '0' && !sec.fracZero[len(frac)-1] {
		frac = frac[:len(frac)-1]
	}
	var b strings.Builder
	if neg && !d.isZero() {
		b.WriteByte('-')
	}
	L := len(intDigits)
	writeDigit := func(idx int) {
		b.WriteByte(intDigits[idx])
		if rest := L - 1 - idx; sec.group && rest > 0 && rest%3 == 0 {
			b.WriteByte(',')
		}
	}
	j, fj := 0, 0
	expDone := false
	for _, t := range sec.toks {
		switch t.kind {
		case ntLit:
			b.WriteString(t.lit)
		case ntPoint:
			b.WriteByte('.')
		case ntPercent:
			b.WriteByte('%')
		case ntExp:
			b.WriteString(t.lit)
			switch {
			case e < 0:
				b.WriteByte('-')
			case t.plus:
				b.WriteByte('+')
			}
		case ntDigit:
			switch t.part {
			case partInt:
				// Placeholder j shows the digit at position intPH-1-j
				// from the right; the first also shows any digits the
				// format has no placeholder for.
				idx := L - sec.intPH + j
				if j == 0 {
					for k := 0; k < idx; k++ {
						writeDigit(k)
					}
				}
				if idx >= 0 {
					writeDigit(idx)
				}
				j++
			case partFrac:
				if fj < len(frac) {
					b.WriteByte(frac[fj])
				}
				fj++
			case partExp:
				if !expDone {
					ed := strconv.Itoa(max(e, -e))
					if len(ed) < sec.expZeros {
						ed = strings.Repeat("0", sec.expZeros-len(ed)) + ed
					}
					b.WriteString(ed)
					expDone = true
				}
			}
		}
	}
	return b.String()
}

// Date and time formats.

type dateCode struct {
	code string // "d", "dd", ..., "ampm", or "" for a literal
	lit  string
}

// parseDateFormat splits a custom date/time format into its codes:
// d dd ddd dddd ddddd dddddd w ww m mm mmm mmmm q y yy yyyy h hh n nn s
// ss ttttt c AM/PM am/pm A/P a/p AMPM, with m and mm as minutes right
// after h or hh or right before s or ss. Other characters are literal.
func parseDateFormat(s string) []dateCode {
	var out []dateCode
	lit := func(text string) {
		if n := len(out); n > 0 && out[n-1].code == "" {
			out[n-1].lit += text
			return
		}
		out = append(out, dateCode{lit: text})
	}
	run := func(i int, ch byte, limit int) int {
		n := 0
		for i+n < len(s) && s[i+n]|0x20 == ch && n < limit {
			n++
		}
		return n
	}
	for i := 0; i < len(s); {
		ch := s[i]
		lower := ch | 0x20
		rest := strings.ToLower(s[i:])
		switch {
		case ch == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				lit(s[i+1:])
				i = len(s)
				continue
			}
			lit(s[i+1 : i+1+j])
			i += j + 2
		case ch == '\\':
			if i+1 < len(s) {
				_, size := utf8.DecodeRuneInString(s[i+1:])
				lit(s[i+1 : i+1+size])
				i += 1 + size
			} else {
				i++
			}
		case strings.HasPrefix(rest, "am/pm"):
			out = append(out, dateCode{code: pick(ch == 'a', "am/pm", "AM/PM")})
			i += 5
		case strings.HasPrefix(rest, "a/p"):
			out = append(out, dateCode{code: pick(ch == 'a', "a/p", "A/P")})
			i += 3
		case strings.HasPrefix(rest, "ampm"):
			out = append(out, dateCode{code: "AMPM"})
			i += 4
		case strings.HasPrefix(rest, "ttttt"):
			out = append(out, dateCode{code: "ttttt"})
			i += 5
		case lower == 'd':
			n := run(i, 'd', 6)
			out = append(out, dateCode{code: strings.Repeat("d", n)})
			i += n
		case lower == 'm':
			n := run(i, 'm', 4)
			out = append(out, dateCode{code: strings.Repeat("m", n)})
			i += n
		case lower == 'y':
			n := run(i, 'y', 4)
			code := map[int]string{1: "y", 2: "yy", 3: "yyyy", 4: "yyyy"}[n]
			out = append(out, dateCode{code: code})
			i += n
		case lower == 'h' || lower == 'n' || lower == 's' || lower == 'w':
			n := run(i, lower, 2)
			out = append(out, dateCode{code: strings.Repeat(string(lower), n)})
			i += n
		case lower == 'q' || lower == 'c':
			out = append(out, dateCode{code: string(lower)})
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			lit(s[i : i+size])
			i += size
		}
	}
	// m and mm next to hours or seconds are minutes.
	for k, t := range out {
		if t.code != "m" && t.code != "mm" {
			continue
		}
		prev, next := "", ""
		for p := k - 1; p >= 0; p-- {
			if out[p].code != "" {
				prev = out[p].code
				break
			}
		}
		for p := k + 1; p < len(out); p++ {
			if out[p].code != "" {
				next = out[p].code
				break
			}
		}
		if prev == "h" || prev == "hh" || next == "s" || next == "ss" {
			out[k].code = strings.Replace(t.code, "m", "n", -1)
		}
	}
	return out
}

var (
	monthShort = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	dayShort   = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
)

// generalDate is the "General Date" format: the date as 1/31/2020 when
// there is no time, the time alone (1:05:00 PM) on day zero, else both.
func generalDate(ole float64) (string, error) {
	if !value.ValidDate(ole) {
		return "", fmt.Errorf("%s is not a date DAX supports", value.FormatGeneral(ole))
	}
	t := value.ToTime(ole)
	hasTime := t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0
	switch {
	case !hasTime:
		return t.Format("1/2/2006"), nil
	case math.Floor(ole) == 0 && ole >= 0:
		return t.Format("3:04:05 PM"), nil
	}
	return t.Format("1/2/2006 3:04:05 PM"), nil
}

// formatDate formats an OLE date with a parsed date format.
func formatDate(ole float64, pf *parsedFormat) (string, error) {
	if pf.named == "general date" {
		return generalDate(ole)
	}
	if !value.ValidDate(ole) {
		return "", fmt.Errorf("%s is not a date DAX supports", value.FormatGeneral(ole))
	}
	t := value.ToTime(ole)
	twelve := false
	for _, tk := range pf.dtoks {
		switch tk.code {
		case "AM/PM", "am/pm", "A/P", "a/p", "AMPM":
			twelve = true
		}
	}
	var b strings.Builder
	hour := func() int {
		h := t.Hour()
		if twelve {
			h %= 12
			if h == 0 {
				h = 12
			}
		}
		return h
	}
	pm := t.Hour() >= 12
	for _, tk := range pf.dtoks {
		switch tk.code {
		case "":
			b.WriteString(tk.lit)
		case "d":
			b.WriteString(strconv.Itoa(t.Day()))
		case "dd":
			fmt.Fprintf(&b, "%02d", t.Day())
		case "ddd":
			b.WriteString(dayShort[t.Weekday()])
		case "dddd":
			b.WriteString(t.Weekday().String())
		case "ddddd":
			b.WriteString(t.Format("01/02/2006"))
		case "dddddd":
			b.WriteString(t.Format("Monday, January 2, 2006"))
		case "w":
			b.WriteString(strconv.Itoa(int(t.Weekday()) + 1))
		case "ww":
			jan1 := value.DateOf(t.Year(), 1, 1)
			b.WriteString(strconv.Itoa((t.YearDay()-1+weekday(jan1))/7 + 1))
		case "m":
			b.WriteString(strconv.Itoa(int(t.Month())))
		case "mm":
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case "mmm":
			b.WriteString(monthShort[t.Month()-1])
		case "mmmm":
			b.WriteString(t.Month().String())
		case "q":
			b.WriteString(strconv.Itoa((int(t.Month())-1)/3 + 1))
		case "y":
			b.WriteString(strconv.Itoa(t.YearDay()))
		case "yy":
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case "yyyy":
			b.WriteString(strconv.Itoa(t.Year()))
		case "h":
			b.WriteString(strconv.Itoa(hour()))
		case "hh":
			fmt.Fprintf(&b, "%02d", hour())
		case "n":
			b.WriteString(strconv.Itoa(t.Minute()))
		case "nn":
			fmt.Fprintf(&b, "%02d", t.Minute())
		case "s":
			b.WriteString(strconv.Itoa(t.Second()))
		case "ss":
			fmt.Fprintf(&b, "%02d", t.Second())
		case "ttttt":
			fmt.Fprintf(&b, "%d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
		case "c":
			day, hasTime := math.Floor(ole) != 0, t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0
			if day || !hasTime {
				b.WriteString(t.Format("01/02/2006"))
			}
			if hasTime {
				if day {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
			}
		case "AM/PM", "AMPM":
			b.WriteString(pick(pm, "PM", "AM"))
		case "am/pm":
			b.WriteString(pick(pm, "pm", "am"))
		case "A/P":
			b.WriteString(pick(pm, "P", "A"))
		case "a/p":
			b.WriteString(pick(pm, "p", "a"))
		}
	}
	return b.String(), nil
}
