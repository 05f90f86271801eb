package engine

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Text functions (DAX reference: Text functions).
//
// Positions and lengths count characters (Unicode code points), from 1,
// as a model with UnicodeCharacterBehavior CodePoints does. Values of
// other types are converted to text as the & operator converts them.
//
// BLANK: where the reference is silent, a BLANK text gives BLANK from the
// functions that return text (LEFT, UPPER, SUBSTITUTE...), and counts as
// "" in the functions that return a number or a truth value (LEN,
// SEARCH, EXACT, CONTAINSSTRING), as the reference says of SEARCH's
// within_text.

// maxTextLen bounds the text one function may build (CONCATENATEX over a
// large table, COMBINEVALUES): past it the query fails with ErrLimit
// rather than exhausting memory.
const maxTextLen = 64 << 20

// maxReptLen is REPT's limit, from the reference.
const maxReptLen = 32767

func init() {
	register("CONCATENATE", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		a, err := ev.arg(c, 0, en)
		if err != nil {
			return a, err
		}
		b, err := ev.arg(c, 1, en)
		if err != nil {
			return b, err
		}
		return concat(a, b), nil
	}})
	register("CONCATENATEX", &builtin{min: 2, max: -1, scalar: concatenateX, emptyOK: []int{2}})
	register("COMBINEVALUES", &builtin{min: 3, max: -1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		vals, err := ev.args(c, en)
		if err != nil {
			return value.BlankValue, err
		}
		var b strings.Builder
		for i, v := range vals[1:] {
			if i > 0 {
				b.WriteString(vals[0].Text())
			}
			b.WriteString(v.Text())
			if b.Len() > maxTextLen {
				return value.BlankValue, textLimit(c)
			}
		}
		return value.Str(b.String()), nil
	}})
	register("LEFT", &builtin{min: 1, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return leftRight(ev, en, c, true)
	}})
	register("RIGHT", &builtin{min: 1, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return leftRight(ev, en, c, false)
	}})
	register("MID", &builtin{min: 3, max: 3, pure: true, scalar: midFunc})
	register("LEN", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		s, _, err := ev.textArg(c, 0, en)
		return value.Int(int64(utf8.RuneCountInString(s))), err
	}})
	textMap := func(name string, fn func(string) string) {
		register(name, &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			s, blank, err := ev.textArg(c, 0, en)
			if err != nil || blank {
				return value.BlankValue, err
			}
			return value.Str(fn(s)), nil
		}})
	}
	textMap("UPPER", strings.ToUpper)
	textMap("LOWER", strings.ToLower)
	textMap("TRIM", trimSpaces)
	register("SUBSTITUTE", &builtin{min: 3, max: 4, pure: true, scalar: substituteFunc})
	register("REPLACE", &builtin{min: 4, max: 4, pure: true, scalar: replaceFunc})
	register("REPT", &builtin{min: 2, max: 2, pure: true, scalar: reptFunc})
	register("SEARCH", &builtin{min: 2, max: 4, pure: true, emptyOK: []int{2, 3}, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return findText(ev, en, c, true)
	}})
	register("FIND", &builtin{min: 2, max: 4, pure: true, emptyOK: []int{2, 3}, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return findText(ev, en, c, false)
	}})
	register("EXACT", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		a, _, err := ev.textArg(c, 0, en)
		if err != nil {
			return value.BlankValue, err
		}
		b, _, err := ev.textArg(c, 1, en)
		return value.Bool(a == b), err
	}})
	register("UNICHAR", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		n, blank, err := ev.countArg(c, 0, en, 0)
		if err != nil || blank {
			return value.BlankValue, err
		}
		if n < 1 || n > unicode.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
			return value.BlankValue, errorf(c, "UNICHAR needs a Unicode code point from 1 to 1114111 outside the surrogates, not %d", n)
		}
		return value.Str(string(rune(n))), nil
	}})
	register("UNICODE", &builtin{min: 1, max: 1, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		s, blank, err := ev.textArg(c, 0, en)
		if err != nil || blank {
			return value.BlankValue, err
		}
		if s == "" {
			return value.BlankValue, errorf(c, "UNICODE needs a text of at least one character")
		}
		r, _ := utf8.DecodeRuneInString(s)
		return value.Int(int64(r)), nil
	}})
	register("CONTAINSSTRING", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return containsString(ev, en, c, true)
	}})
	register("CONTAINSSTRINGEXACT", &builtin{min: 2, max: 2, pure: true, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
		return containsString(ev, en, c, false)
	}})
}

// textArg evaluates argument i as text; blank reports BLANK (text "").
func (ev *evaluator) textArg(c *dax.Call, i int, en *env) (s string, blank bool, err error) {
	v, err := ev.arg(c, i, en)
	if err != nil {
		return "", false, err
	}
	return v.Text(), v.IsBlank(), nil
}

func textLimit(n dax.Node) error {
	return &wrapped{&Error{Pos: posOf(n), Msg: fmt.Sprintf("the text built is longer than the %d bytes a value may hold", maxTextLen)}, ErrLimit}
}

// leftRight is LEFT and RIGHT(text, [num_chars]): num_chars defaults to 1;
// a BLANK num_chars gives BLANK, as the reference says of RIGHT.
func leftRight(ev *evaluator, en *env, c *dax.Call, left bool) (value.Value, error) {
	s, blank, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	n, nBlank, err := ev.countArg(c, 1, en, 1)
	if err != nil || blank || nBlank {
		return value.BlankValue, err
	}
	if n < 0 {
		return value.BlankValue, errorf(c, "%s needs a number of characters that is not negative, not %d", c.Func, n)
	}
	r := []rune(s)
	if n >= int64(len(r)) {
		return value.Str(s), nil
	}
	if left {
		return value.Str(string(r[:n])), nil
	}
	return value.Str(string(r[int64(len(r))-n:])), nil
}

// midFunc is MID(text, start_num, num_chars).
func midFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	s, blank, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	start, _, err := ev.countArg(c, 1, en, 1)
	if err != nil {
		return value.BlankValue, err
	}
	n, _, err := ev.countArg(c, 2, en, 0)
	if err != nil || blank {
		return value.BlankValue, err
	}
	if start < 1 {
		return value.BlankValue, errorf(c, "MID needs a start position of 1 or more, not %d", start)
	}
	if n < 0 {
		return value.BlankValue, errorf(c, "MID needs a number of characters that is not negative, not %d", n)
	}
	r := []rune(s)
	if start > int64(len(r)) {
		return value.Str(""), nil
	}
	end := min(int64(len(r)), start-1+n)
	return value.Str(string(r[start-1 : end])), nil
}

// trimSpaces removes spaces (U+0020 only, as Excel's TRIM) at both ends
// and reduces runs of spaces between words to one.
func trimSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(s[i])
	}
	return b.String()
}

// substituteFunc is SUBSTITUTE(text, old_text, new_text, [instance_num]),
// case-sensitive: every occurrence, or only the instance_num-th.
func substituteFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	s, blank, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	old, _, err := ev.textArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	repl, _, err := ev.textArg(c, 2, en)
	if err != nil {
		return value.BlankValue, err
	}
	inst, _, err := ev.countArg(c, 3, en, 0)
	if err != nil || blank {
		return value.BlankValue, err
	}
	hasInst := len(c.Args) > 3
	if hasInst && inst < 1 {
		return value.BlankValue, errorf(c, "SUBSTITUTE needs an instance number of 1 or more, not %d", inst)
	}
	if old == "" {
		return value.Str(s), nil
	}
	if !hasInst {
		if n := strings.Count(s, old); n > 0 && len(s)+n*(len(repl)-len(old)) > maxTextLen {
			return value.BlankValue, textLimit(c)
		}
		return value.Str(strings.ReplaceAll(s, old, repl)), nil
	}
	at := 0
	for k := int64(1); ; k++ {
		i := strings.Index(s[at:], old)
		if i < 0 {
			return value.Str(s), nil
		}
		if k == inst {
			return value.Str(s[:at+i] + repl + s[at+i+len(old):]), nil
		}
		at += i + len(old)
	}
}

// replaceFunc is REPLACE(old_text, start_num, num_chars, new_text): a
// BLANK num_chars inserts new_text without replacing (the reference).
func replaceFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	s, blank, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	start, _, err := ev.countArg(c, 1, en, 1)
	if err != nil {
		return value.BlankValue, err
	}
	n, _, err := ev.countArg(c, 2, en, 0)
	if err != nil {
		return value.BlankValue, err
	}
	repl, _, err := ev.textArg(c, 3, en)
	if err != nil {
		return value.BlankValue, err
	}
	if start < 1 {
		return value.BlankValue, errorf(c, "REPLACE needs a start position of 1 or more, not %d", start)
	}
	if n < 0 {
		return value.BlankValue, errorf(c, "REPLACE needs a number of characters that is not negative, not %d", n)
	}
	r := []rune(s)
	from := min(start-1, int64(len(r)))
	to := min(from+n, int64(len(r)))
	out := string(r[:from]) + repl + string(r[to:])
	if out == "" && blank {
		return value.BlankValue, nil
	}
	return value.Str(out), nil
}

// reptFunc is REPT(text, num_times): BLANK for 0 times (the reference),
// an error past 32,767 characters.
func reptFunc(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	s, blank, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	n, _, err := ev.countArg(c, 1, en, 0)
	if err != nil || blank {
		return value.BlankValue, err
	}
	if n < 0 {
		return value.BlankValue, errorf(c, "REPT needs a number of times that is not negative, not %d", n)
	}
	if n == 0 || s == "" {
		return value.BlankValue, nil
	}
	if l := int64(utf8.RuneCountInString(s)); n > maxReptLen || l*n > maxReptLen {
		return value.BlankValue, errorf(c, "the result of REPT would be longer than %d characters", maxReptLen)
	}
	return value.Str(strings.Repeat(s, int(n))), nil
}

// findText is SEARCH (fold true: case-insensitive, wildcards) and FIND
// (case-sensitive, literal): (find_text, within_text, [start_num],
// [NotFoundValue]). Without a NotFoundValue a missing text is an error.
func findText(ev *evaluator, en *env, c *dax.Call, fold bool) (value.Value, error) {
	find, _, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	within, _, err := ev.textArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	start, startBlank, err := ev.countArg(c, 2, en, 1)
	if err != nil {
		return value.BlankValue, err
	}
	if startBlank {
		start = 1
	}
	if start < 1 {
		return value.BlankValue, errorf(c, "%s needs a start position of 1 or more, not %d", c.Func, start)
	}
	w := []rune(within)
	pos := -1
	if start <= int64(len(w))+1 {
		if fold {
			pos = searchRunes(compileWildcard(find), w, int(start-1))
		} else {
			pos = indexRunes(within, find, int(start-1))
		}
	}
	if pos >= 0 {
		return value.Int(int64(pos) + 1), nil
	}
	if len(c.Args) > 3 && c.Args[3] != nil {
		return ev.arg(c, 3, en)
	}
	return value.BlankValue, errorf(c, "%s cannot find '%s' in '%s'", c.Func, find, within)
}

// containsString is CONTAINSSTRING (fold: case-insensitive, wildcards)
// and CONTAINSSTRINGEXACT(within_text, find_text).
func containsString(ev *evaluator, en *env, c *dax.Call, fold bool) (value.Value, error) {
	within, _, err := ev.textArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	find, _, err := ev.textArg(c, 1, en)
	if err != nil {
		return value.BlankValue, err
	}
	if !fold {
		return value.Bool(strings.Contains(within, find)), nil
	}
	return value.Bool(searchRunes(compileWildcard(find), []rune(within), 0) >= 0), nil
}

// indexRunes returns the character index of the first occurrence of find
// in s at or after character from, or -1.
func indexRunes(s, find string, from int) int {
	off := 0
	for n := 0; n < from && off < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	i := strings.Index(s[off:], find)
	if i < 0 {
		return -1
	}
	return from + utf8.RuneCountInString(s[off:off+i])
}

// A wildcard pattern of SEARCH: literal characters, ? for one character,
// * for any run; ~ makes the next character literal.
type wildTok struct {
	r    rune
	kind uint8
}

const (
	wildLit uint8 = iota
	wildOne
	wildAny
)

func compileWildcard(s string) []wildTok {
	var out []wildTok
	r := []rune(s)
	for i := 0; i < len(r); i++ {
		switch {
		case r[i] == '~' && i+1 < len(r):
			i++
			out = append(out, wildTok{r: foldKey(r[i])})
		case r[i] == '?':
			out = append(out, wildTok{kind: wildOne})
		case r[i] == '*':
			if len(out) == 0 || out[len(out)-1].kind != wildAny {
				out = append(out, wildTok{kind: wildAny})
			}
		default:
			out = append(out, wildTok{r: foldKey(r[i])})
		}
	}
	return out
}

// searchRunes returns the first index at or after from where the pattern
// matches, or -1. Matching is case-, width- and kana-insensitive and
// accent-sensitive, as SEARCH is.
//
// The tokens before the first * match a fixed number of characters.
// Whether the rest (which starts with *) matches after a position can
// only become false as the position moves right, so the first start where
// the fixed head matches decides: the search is linear in the text for a
// given pattern, not quadratic.
func searchRunes(p []wildTok, s []rune, from int) int {
	if from > len(s) {
		return -1
	}
	head := 0
	for head < len(p) && p[head].kind != wildAny {
		head++
	}
	for i := from; i+head <= len(s); i++ {
		if !wildPrefix(p[:head], s[i:i+head]) {
			continue
		}
		if head == len(p) || wildPrefix(p[head:], s[i+head:]) {
			return i
		}
		return -1
	}
	return -1
}

// wildPrefix reports whether the pattern matches a prefix of s, that is
// whether the pattern followed by * matches s: the usual backtracking to
// the last * seen, which is linear for patterns with one *.
func wildPrefix(p []wildTok, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for pi < len(p) {
		switch {
		case p[pi].kind == wildAny:
			star, mark = pi, si
			pi++
		case si < len(s) && (p[pi].kind == wildOne || p[pi].r == foldKey(s[si])):
			pi++
			si++
		case star >= 0 && mark < len(s):
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	return true
}

// foldKey maps a character to its key for case-, width- and
// kana-insensitive comparison: full-width ASCII to ASCII, katakana to
// hiragana, letters to lower case.
func foldKey(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	case r >= 0x30A1 && r <= 0x30F6:
		r -= 0x60
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// concatenateX is CONCATENATEX(table, expression, [delimiter],
// [orderBy_expression, [order]]...). Rows are in the table's order unless
// order-by expressions are given. A missing order is ascending, as
// Analysis Services does (the reference's table says descending, but its
// engine and dax.guide agree on ascending). An empty table gives BLANK.
func concatenateX(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	t, err := ev.table(c.Args[0], en)
	if err != nil {
		return value.BlankValue, err
	}
	delim := ""
	if len(c.Args) > 2 && c.Args[2] != nil {
		d, err := ev.scalar(c.Args[2], en)
		if err != nil {
			return value.BlankValue, err
		}
		delim = d.Text()
	}
	var orders []dax.Expr
	var desc []bool
	for i := 3; i < len(c.Args); i++ {
		orders = append(orders, c.Args[i])
		d := false
		if i+1 < len(c.Args) {
			if o, ok := orderWord(c.Args[i+1]); ok {
				d = o
				i++
			}
		}
		desc = append(desc, d)
	}
	type item struct {
		text string
		keys []value.Value
	}
	var items []item
	size := 0
	err = ev.eachRow(t, en, func(inner *env) error {
		v, err := ev.scalar(c.Args[1], inner)
		if err != nil {
			return err
		}
		it := item{text: v.Text()}
		if size += len(it.text) + len(delim); size > maxTextLen {
			return textLimit(c)
		}
		for _, o := range orders {
			k, err := ev.scalar(o, inner)
			if err != nil {
				return err
			}
			it.keys = append(it.keys, k)
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return value.BlankValue, err
	}
	if len(items) == 0 {
		return value.BlankValue, nil
	}
	if len(orders) > 0 {
		slices.SortStableFunc(items, func(a, b item) int {
			for j := range orders {
				c := value.Compare(a.keys[j], b.keys[j])
				if desc[j] {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	var b strings.Builder
	b.Grow(size)
	for i, it := range items {
		if i > 0 {
			b.WriteString(delim)
		}
		b.WriteString(it.text)
	}
	return value.Str(b.String()), nil
}
