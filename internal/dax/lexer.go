package dax

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/value"
)

// tokenKind is the kind of a token.
type tokenKind uint8

const (
	tEOF      tokenKind = iota
	tIllegal            // a lexical error, already reported
	tNumber             // 12, 1.5, .5, 1e3
	tString             // "text"
	tDate               // dt"2020-01-31"
	tIdent              // Name, PERCENTILE.INC, and keywords
	tQuoted             // 'Table Name'
	tBracket            // [Column]
	tParam              // @name
	tLParen             // (
	tRParen             // )
	tLBrace             // {
	tRBrace             // }
	tComma              // ,
	tColon              // :
	tArrow              // =>
	tEq                 // =
	tStrictEq           // ==
	tNe                 // <>
	tLt                 // <
	tLe                 // <=
	tGt                 // >
	tGe                 // >=
	tPlus               // +
	tMinus              // -
	tStar               // *
	tSlash              // /
	tCaret              // ^
	tAmp                // &
	tAndAnd             // &&
	tOrOr               // ||
)

var punctText = map[tokenKind]string{
	tLParen: "(", tRParen: ")", tLBrace: "{", tRBrace: "}", tComma: ",",
	tColon: ":", tArrow: "=>", tEq: "=", tStrictEq: "==", tNe: "<>",
	tLt: "<", tLe: "<=", tGt: ">", tGe: ">=", tPlus: "+", tMinus: "-",
	tStar: "*", tSlash: "/", tCaret: "^", tAmp: "&", tAndAnd: "&&",
	tOrOr: "||",
}

// token is one lexical token. text is the source spelling; val is the
// decoded value for strings, quoted names, brackets, identifiers and
// parameters.
type token struct {
	kind tokenKind
	pos  Pos
	text string
	val  string
	// For numbers and dates.
	num    float64
	isInt  bool
	intVal int64
}

// describe names a token for an error message: "end of input", "'+'",
// "name Sales", "keyword RETURN", "number 12", "string \"a\"".
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIllegal:
		return "an invalid token"
	case tNumber:
		return "number " + t.text
	case tString:
		return "string " + clip(t.text)
	case tDate:
		return "datetime " + clip(t.text)
	case tIdent:
		if isReserved(t.val) || isOperatorWord(t.val) {
			return "keyword " + strings.ToUpper(t.val)
		}
		return "name " + t.text
	case tQuoted:
		return "table " + clip(t.text)
	case tBracket:
		return "column " + clip(t.text)
	case tParam:
		return "parameter " + t.text
	}
	if s, ok := punctText[t.kind]; ok {
		return "'" + s + "'"
	}
	return fmt.Sprintf("token %d", t.kind)
}

// clip shortens long token text in messages.
func clip(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// lexer splits source text into tokens on demand, tracking line and column
// as it goes so that positions cost nothing extra on long lines.
type lexer struct {
	src  string
	off  int // byte offset of the next rune
	line int
	col  int
	errs *ErrorList
}

func newLexer(src string, errs *ErrorList) *lexer {
	l := &lexer{src: src, line: 1, col: 1, errs: errs}
	// A byte order mark at the start is an encoding artefact, not text.
	if strings.HasPrefix(src, "\uFEFF") {
		l.off = len("\uFEFF")
	}
	return l
}

func (l *lexer) pos() Pos { return Pos{Offset: l.off, Line: l.line, Col: l.col} }

// peekByte returns the byte at off+i, or 0 past the end.
func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

// advance moves past one rune and returns it. A line ends at \n, at \r\n
// and at a lone \r.
func (l *lexer) advance() rune {
	r, n := rune(l.src[l.off]), 1
	if r >= utf8.RuneSelf {
		r, n = utf8.DecodeRuneInString(l.src[l.off:])
	}
	l.off += n
	switch {
	case r == '\n', r == '\r' && l.peekByte(0) != '\n':
		l.line++
		l.col = 1
	default:
		l.col++
	}
	return r
}

func (l *lexer) errorf(pos Pos, format string, args ...any) {
	l.errs.add(pos, format, args...)
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isIdentByte(c byte) bool {
	return isLetter(c) || isDigit(c)
}

// skipSpace skips white space and comments. It reports an unterminated
// block comment.
func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance()
		case c == '/' && l.peekByte(1) == '/', c == '-' && l.peekByte(1) == '-':
			for l.off < len(l.src) && l.src[l.off] != '\n' && l.src[l.off] != '\r' {
				l.advance()
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			l.advance()
			l.advance()
			for {
				if l.off >= len(l.src) {
					l.errorf(start, "unterminated comment: /* has no matching */")
					return
				}
				if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					l.advance()
					l.advance()
					break
				}
				l.advance()
			}
		case c >= utf8.RuneSelf:
			r, _ := utf8.DecodeRuneInString(l.src[l.off:])
			// Non-breaking and other Unicode spaces come in with text
			// pasted from documents; treat them as the spaces they look like.
			if r == '\u00a0' || r == '\u2007' || r == '\u202f' || r == '\u2028' || r == '\u2029' || r == '\u3000' || (r >= '\u2000' && r <= '\u200a') {
				l.advance()
				continue
			}
			return
		default:
			return
		}
	}
}

// next returns the next token.
func (l *lexer) next() token {
	l.skipSpace()
	start := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: start}
	}
	c := l.src[l.off]
	switch {
	case isLetter(c):
		return l.ident(start)
	case isDigit(c), c == '.' && isDigit(l.peekByte(1)):
		return l.number(start)
	case c == '"':
		return l.str(start, start)
	case c == '\'':
		return l.quoted(start)
	case c == '[':
		return l.bracket(start)
	case c == '@':
		l.advance()
		for l.off < len(l.src) && isIdentByte(l.src[l.off]) {
			l.advance()
		}
		name := l.src[start.Offset+1 : l.off]
		if name == "" {
			l.errorf(start, "expected a parameter name after '@'")
			return token{kind: tIllegal, pos: start, text: "@"}
		}
		return token{kind: tParam, pos: start, text: l.src[start.Offset:l.off], val: name}
	}
	// Operators and punctuation.
	two := ""
	if l.off+1 < len(l.src) {
		two = l.src[l.off : l.off+2]
	}
	var kind tokenKind
	n := 1
	switch two {
	case "==":
		kind, n = tStrictEq, 2
	case "<>":
		kind, n = tNe, 2
	case "<=":
		kind, n = tLe, 2
	case ">=":
		kind, n = tGe, 2
	case "&&":
		kind, n = tAndAnd, 2
	case "||":
		kind, n = tOrOr, 2
	case "=>":
		kind, n = tArrow, 2
	case "!=":
		l.advance()
		l.advance()
		l.errorf(start, "'!=' is not a DAX operator; use <> for 'not equal'")
		return token{kind: tIllegal, pos: start, text: "!="}
	}
	if n == 1 {
		switch c {
		case '(':
			kind = tLParen
		case ')':
			kind = tRParen
		case '{':
			kind = tLBrace
		case '}':
			kind = tRBrace
		case ',':
			kind = tComma
		case ':':
			kind = tColon
		case '=':
			kind = tEq
		case '<':
			kind = tLt
		case '>':
			kind = tGt
		case '+':
			kind = tPlus
		case '-':
			kind = tMinus
		case '*':
			kind = tStar
		case '/':
			kind = tSlash
		case '^':
			kind = tCaret
		case '&':
			kind = tAmp
		default:
			return l.unknown(start)
		}
	}
	for range n {
		l.advance()
	}
	return token{kind: kind, pos: start, text: l.src[start.Offset:l.off]}
}

// unknown reports a character that starts no token, with a hint for the
// usual suspects.
func (l *lexer) unknown(start Pos) token {
	r := l.advance()
	text := l.src[start.Offset:l.off]
	switch {
	case r == ';':
		l.errorf(start, "unknown character ';' (DAX separates arguments with ',')")
	case r == '|' || r == '!':
		l.errorf(start, "unknown character '%c' (DAX writes 'or' as || and 'not' as NOT)", r)
	case r == '‘' || r == '’':
		l.errorf(start, "typographic quote '%c': quote table names with the ASCII apostrophe '", r)
	case r == '“' || r == '”':
		l.errorf(start, "typographic quote '%c': write strings between ASCII double quotes \"", r)
	case r == utf8.RuneError:
		l.errorf(start, "invalid UTF-8 encoding")
	case r < ' ' || r == 0x7f:
		l.errorf(start, "unknown control character %U", r)
	case r >= utf8.RuneSelf && isUnicodeLetter(r):
		// Skip the rest of the word so that it gives one error.
		for l.off < len(l.src) {
			r2, _ := utf8.DecodeRuneInString(l.src[l.off:])
			if !(isUnicodeLetter(r2) || r2 < utf8.RuneSelf && isIdentByte(byte(r2))) {
				break
			}
			l.advance()
		}
		word := l.src[start.Offset:l.off]
		l.errorf(start, "unknown character '%c': names with characters outside A-Z, 0-9 and _ must be quoted, as in '%s' or [%s]", r, word, word)
		text = word
	default:
		l.errorf(start, "unknown character '%c'", r)
	}
	return token{kind: tIllegal, pos: start, text: text}
}

// ident reads a name. Names are ASCII letters, digits and underscores,
// starting with a letter or underscore; function names may have dotted
// parts (PERCENTILE.INC, INFO.VIEW.TABLES). dt"..." is a datetime literal.
func (l *lexer) ident(start Pos) token {
	for l.off < len(l.src) {
		c := l.src[l.off]
		if isIdentByte(c) {
			l.advance()
			continue
		}
		if c == '.' && isIdentByte(l.peekByte(1)) {
			l.advance()
			continue
		}
		break
	}
	text := l.src[start.Offset:l.off]
	if l.peekByte(0) == '"' && strings.EqualFold(text, "dt") {
		return l.date(start)
	}
	return token{kind: tIdent, pos: start, text: text, val: text}
}

// number reads 12, 1.5, .5, 1., 1e3, 1.5E-3. A number running into letters
// or a second '.' is reported whole rather than split into confusing parts.
func (l *lexer) number(start Pos) token {
	isInt := true
	for isDigit(l.peekByte(0)) {
		l.advance()
	}
	if l.peekByte(0) == '.' {
		isInt = false
		l.advance()
		for isDigit(l.peekByte(0)) {
			l.advance()
		}
	}
	if c := l.peekByte(0); c == 'e' || c == 'E' {
		d := l.peekByte(1)
		if isDigit(d) || (d == '+' || d == '-') && isDigit(l.peekByte(2)) {
			isInt = false
			l.advance()
			l.advance()
			for isDigit(l.peekByte(0)) {
				l.advance()
			}
		}
	}
	if c := l.peekByte(0); isIdentByte(c) || c == '.' {
		for l.off < len(l.src) && (isIdentByte(l.src[l.off]) || l.src[l.off] == '.') {
			l.advance()
		}
		text := l.src[start.Offset:l.off]
		l.errorf(start, "invalid number %q", text)
		return token{kind: tIllegal, pos: start, text: text}
	}
	text := l.src[start.Offset:l.off]
	t := token{kind: tNumber, pos: start, text: text}
	if isInt {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			t.isInt, t.intVal, t.num = true, n, float64(n)
			return t
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		l.errorf(start, "number %s is too large", clip(text))
		return token{kind: tIllegal, pos: start, text: text}
	}
	t.num = f
	return t
}

// str reads a string literal starting at the opening quote; "" inside is
// one quote. at is where the token starts (before dt for datetimes).
func (l *lexer) str(at, quote Pos) token {
	l.advance() // opening "
	var b strings.Builder
	segStart := l.off
	for {
		if l.off >= len(l.src) {
			l.errorf(quote, "unterminated string: missing closing \"")
			return token{kind: tIllegal, pos: at, text: l.src[at.Offset:]}
		}
		if l.src[l.off] == '"' {
			if l.peekByte(1) == '"' {
				b.WriteString(l.src[segStart : l.off+1])
				l.advance()
				l.advance()
				segStart = l.off
				continue
			}
			b.WriteString(l.src[segStart:l.off])
			l.advance()
			break
		}
		l.advance()
	}
	val := b.String()
	if !utf8.ValidString(val) {
		l.errorf(quote, "invalid UTF-8 encoding in string")
		return token{kind: tIllegal, pos: at, text: l.src[at.Offset:l.off]}
	}
	return token{kind: tString, pos: at, text: l.src[at.Offset:l.off], val: val}
}

// date reads the string part of dt"..." and converts it.
func (l *lexer) date(start Pos) token {
	t := l.str(start, l.pos())
	if t.kind != tString {
		return t
	}
	ole, ok := parseDateLit(t.val)
	if !ok {
		l.errorf(start, "invalid datetime %s: write dt\"YYYY-MM-DD\", dt\"YYYY-MM-DDThh:mm:ss\" or dt\"YYYY-MM-DD hh:mm:ss\" with a real date between years 100 and 9999", clip(t.text))
		return token{kind: tIllegal, pos: start, text: t.text}
	}
	t.kind = tDate
	t.num = ole
	return t
}

// quoted reads 'Table Name', where a doubled apostrophe is one. Names do not span
// lines: a missing closing quote is reported on its own line rather than
// swallowing the rest of the text.
func (l *lexer) quoted(start Pos) token {
	val, ok := l.delimited(start, '\'', "table name", "'")
	if !ok {
		return token{kind: tIllegal, pos: start, text: l.src[start.Offset:l.off]}
	}
	return token{kind: tQuoted, pos: start, text: l.src[start.Offset:l.off], val: val}
}

// bracket reads [Column Name], where ]] is one closing bracket.
func (l *lexer) bracket(start Pos) token {
	val, ok := l.delimited(start, ']', "column or measure name", "]")
	if !ok {
		return token{kind: tIllegal, pos: start, text: l.src[start.Offset:l.off]}
	}
	return token{kind: tBracket, pos: start, text: l.src[start.Offset:l.off], val: val}
}

// delimited reads a name between an opening character and close, where a
// doubled close stands for itself.
func (l *lexer) delimited(start Pos, close byte, what, closeText string) (string, bool) {
	l.advance() // opening ' or [
	var b strings.Builder
	segStart := l.off
	for {
		if l.off >= len(l.src) || l.src[l.off] == '\n' || l.src[l.off] == '\r' {
			l.errorf(start, "unterminated %s: missing %s before the end of the line", what, closeText)
			return "", false
		}
		if l.src[l.off] == close {
			if l.peekByte(1) == close {
				b.WriteString(l.src[segStart : l.off+1])
				l.advance()
				l.advance()
				segStart = l.off
				continue
			}
			b.WriteString(l.src[segStart:l.off])
			l.advance()
			break
		}
		l.advance()
	}
	val := b.String()
	switch {
	case val == "":
		l.errorf(start, "empty %s", what)
		return "", false
	case !utf8.ValidString(val):
		l.errorf(start, "invalid UTF-8 encoding in %s", what)
		return "", false
	}
	return val, true
}

func isUnicodeLetter(r rune) bool {
	return r >= utf8.RuneSelf && unicode.IsLetter(r)
}

// parseDateLit converts the text of a datetime literal to an OLE date.
// It accepts YYYY-M-D, optionally followed by T or a space and
// h:mm[:ss[.fff]].
func parseDateLit(s string) (float64, bool) {
	num := func(s string, minDigits, maxDigits int) (int, string, bool) {
		i := 0
		for i < len(s) && i < maxDigits && isDigit(s[i]) {
			i++
		}
		if i < minDigits {
			return 0, s, false
		}
		n, _ := strconv.Atoi(s[:i])
		return n, s[i:], true
	}
	lit := func(s string, c byte) (string, bool) {
		if s == "" || s[0] != c {
			return s, false
		}
		return s[1:], true
	}
	var y, mo, d, h, mi int
	var sec float64
	var ok bool
	rest := s
	if y, rest, ok = num(rest, 4, 4); !ok {
		return 0, false
	}
	if rest, ok = lit(rest, '-'); !ok {
		return 0, false
	}
	if mo, rest, ok = num(rest, 1, 2); !ok {
		return 0, false
	}
	if rest, ok = lit(rest, '-'); !ok {
		return 0, false
	}
	if d, rest, ok = num(rest, 1, 2); !ok {
		return 0, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || y < 100 {
		return 0, false
	}
	if rest != "" {
		if rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ' {
			return 0, false
		}
		rest = rest[1:]
		if h, rest, ok = num(rest, 1, 2); !ok {
			return 0, false
		}
		if rest, ok = lit(rest, ':'); !ok {
			return 0, false
		}
		if mi, rest, ok = num(rest, 2, 2); !ok {
			return 0, false
		}
		if r2, ok2 := lit(rest, ':'); ok2 {
			var s int
			if s, rest, ok = num(r2, 2, 2); !ok {
				return 0, false
			}
			sec = float64(s)
			if r3, ok3 := lit(rest, '.'); ok3 {
				var frac int
				digits := len(r3)
				if frac, rest, ok = num(r3, 1, 7); !ok {
					return 0, false
				}
				digits -= len(rest)
				sec += float64(frac) / math.Pow10(digits)
			}
		}
		if rest != "" || h > 23 || mi > 59 || sec >= 60 {
			return 0, false
		}
	}
	ole := value.DateOf(y, mo, d) + (float64(h)*3600+float64(mi)*60+sec)/86400
	if !value.ValidDate(ole) {
		return 0, false
	}
	return ole, true
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
