package mlang

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tQuotedIdent // #"..."
	tHashWord    // #date, #table, ...
	tNumber
	tText
	tKeyword
	tOp
)

// token is one lexical element. For keywords and operators text is the
// spelling; for identifiers the name; for text literals the decoded text;
// for numbers the literal as written.
type token struct {
	kind tokKind
	text string
	num  float64
	pos  Pos
	end  int // byte offset just after the token
}

func (t token) is(kind tokKind, text string) bool { return t.kind == kind && t.text == text }

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of text"
	case tIdent, tHashWord:
		return t.text
	case tQuotedIdent:
		return "#" + strconv.Quote(t.text)
	case tNumber:
		return t.text
	case tText:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

var keywords = map[string]bool{
	"and": true, "as": true, "each": true, "else": true, "error": true, "false": true, "if": true,
	"in": true, "is": true, "let": true, "meta": true, "not": true, "null": true, "or": true,
	"otherwise": true, "section": true, "shared": true, "then": true, "true": true, "try": true,
	"type": true,
}

var hashWords = map[string]bool{
	"#binary": true, "#date": true, "#datetime": true, "#datetimezone": true, "#duration": true,
	"#infinity": true, "#nan": true, "#sections": true, "#shared": true, "#table": true, "#time": true,
}

// operators, longest first so that the lexer takes the longest match.
var operators = []string{"...", "..", "=>", "<=", ">=", "<>", "??",
	",", ";", "=", "<", ">", "+", "-", "*", "/", "&", "(", ")", "[", "]", "{", "}", "@", "!", "?"}

// maxTokens bounds the tokens of one text, so that a hostile expression
// cannot make the parser hold unbounded memory.
const maxTokens = 4 << 20

type lexer struct {
	src  string
	off  int
	line int
	col  int
	errs ErrorList
}

// lex splits src into tokens, ending with tEOF. Lexical errors are
// collected; the tokens up to the first one are returned.
func lex(src string) ([]token, ErrorList) {
	lx := &lexer{src: src, line: 1, col: 1}
	var toks []token
	for {
		tok, ok := lx.next()
		if !ok {
			return append(toks, token{kind: tEOF, pos: lx.pos(), end: lx.off}), lx.errs
		}
		toks = append(toks, tok)
		if tok.kind == tEOF {
			return toks, lx.errs
		}
		if len(toks) > maxTokens {
			lx.errorf(tok.pos, "expression is too long (more than %d tokens)", maxTokens)
			return append(toks, token{kind: tEOF, pos: lx.pos(), end: lx.off}), lx.errs
		}
	}
}

func (lx *lexer) pos() Pos { return Pos{Offset: lx.off, Line: lx.line, Col: lx.col} }

func (lx *lexer) errorf(p Pos, format string, args ...any) {
	lx.errs = append(lx.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, args...), kind: ErrSyntax})
}

// peek returns the rune at the current offset plus k runes' worth of bytes
// (k is in bytes; callers only look ahead over ASCII).
func (lx *lexer) peekAt(k int) rune {
	if lx.off+k >= len(lx.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.off+k:])
	return r
}

// advance moves past one rune, keeping line and column. CR LF is one line
// break; CR, LF, NEL, LS and PS are each one.
func (lx *lexer) advance() rune {
	r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += size
	switch r {
	case '\r':
		if lx.off < len(lx.src) && lx.src[lx.off] == '\n' {
			lx.off++
		}
		lx.line++
		lx.col = 1
	case '\n', 0x85, 0x2028, 0x2029:
		lx.line++
		lx.col = 1
	default:
		lx.col++
	}
	return r
}

func isWhite(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', '\n', 0x85, 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Pc, unicode.Mn, unicode.Mc, unicode.Cf)
}

// next returns the next token; ok is false after a lexical error.
func (lx *lexer) next() (token, bool) {
	// White space and comments.
skip:
	for lx.off < len(lx.src) {
		r := lx.peekAt(0)
		switch {
		case isWhite(r):
			lx.advance()
		case r == '/' && lx.peekAt(1) == '/':
			for lx.off < len(lx.src) {
				r := lx.peekAt(0)
				if r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029 {
					break
				}
				lx.advance()
			}
		case r == '/' && lx.peekAt(1) == '*':
			start := lx.pos()
			lx.advance()
			lx.advance()
			for {
				if lx.off >= len(lx.src) {
					lx.errorf(start, "comment is not closed with */")
					return token{}, false
				}
				if lx.peekAt(0) == '*' && lx.peekAt(1) == '/' {
					lx.advance()
					lx.advance()
					break
				}
				lx.advance()
			}
		case r == 0x1A && lx.off+1 == len(lx.src): // Control-Z at the end
			lx.advance()
		default:
			break skip
		}
	}
	start := lx.pos()
	if lx.off >= len(lx.src) {
		return token{kind: tEOF, pos: start, end: lx.off}, true
	}
	r := lx.peekAt(0)
	switch {
	case r == '"':
		s, ok := lx.text(start)
		if !ok {
			return token{}, false
		}
		return token{kind: tText, text: s, pos: start, end: lx.off}, true
	case r == '#' && lx.peekAt(1) == '"':
		lx.advance()
		s, ok := lx.text(start)
		if !ok {
			return token{}, false
		}
		return token{kind: tQuotedIdent, text: s, pos: start, end: lx.off}, true
	case r == '#':
		lx.advance()
		for lx.off < len(lx.src) && isIdentPart(lx.peekAt(0)) {
			lx.advance()
		}
		w := lx.src[start.Offset:lx.off]
		if !hashWords[w] {
			lx.errorf(start, "unknown keyword %s", w)
			return token{}, false
		}
		return token{kind: tHashWord, text: w, pos: start, end: lx.off}, true
	case r >= '0' && r <= '9' || r == '.' && isDigit(lx.peekAt(1)):
		return lx.number(start)
	case isIdentStart(r):
		return lx.ident(start), true
	}
	for _, op := range operators {
		if strings.HasPrefix(lx.src[lx.off:], op) {
			for range op {
				lx.advance()
			}
			return token{kind: tOp, text: op, pos: start, end: lx.off}, true
		}
	}
	lx.errorf(start, "unexpected character %q", r)
	return token{}, false
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isHex(r rune) bool { return isDigit(r) || (r|0x20) >= 'a' && (r|0x20) <= 'f' }

// ident reads a regular identifier, dotted parts included
// (Table.PromoteHeaders), and tells keywords apart.
func (lx *lexer) ident(start Pos) token {
	for {
		for lx.off < len(lx.src) && isIdentPart(lx.peekAt(0)) {
			lx.advance()
		}
		if lx.peekAt(0) == '.' && isIdentStart(lx.peekAt(1)) {
			lx.advance()
			continue
		}
		break
	}
	w := lx.src[start.Offset:lx.off]
	if keywords[w] {
		return token{kind: tKeyword, text: w, pos: start, end: lx.off}
	}
	return token{kind: tIdent, text: w, pos: start, end: lx.off}
}

// number reads a decimal or hexadecimal number literal. A decimal point
// must be followed by a digit, so 1..3 is 1, .., 3.
func (lx *lexer) number(start Pos) (token, bool) {
	if lx.peekAt(0) == '0' && (lx.peekAt(1) == 'x' || lx.peekAt(1) == 'X') {
		lx.advance()
		lx.advance()
		ds := lx.off
		for isHex(lx.peekAt(0)) {
			lx.advance()
		}
		digits := lx.src[ds:lx.off]
		if digits == "" {
			lx.errorf(start, "hexadecimal number has no digits")
			return token{}, false
		}
		v, err := strconv.ParseUint(digits, 16, 64)
		f := float64(v)
		if err != nil {
			f = math.Inf(1) // more than 64 bits: still a number, like a huge decimal
		}
		return token{kind: tNumber, text: lx.src[start.Offset:lx.off], num: f, pos: start, end: lx.off}, true
	}
	for isDigit(lx.peekAt(0)) {
		lx.advance()
	}
	if lx.peekAt(0) == '.' && isDigit(lx.peekAt(1)) {
		lx.advance()
		for isDigit(lx.peekAt(0)) {
			lx.advance()
		}
	}
	if r := lx.peekAt(0); r == 'e' || r == 'E' {
		k := 1
		if s := lx.peekAt(1); s == '+' || s == '-' {
			k = 2
		}
		if isDigit(lx.peekAt(k)) {
			for range k {
				lx.advance()
			}
			for isDigit(lx.peekAt(0)) {
				lx.advance()
			}
		}
	}
	text := lx.src[start.Offset:lx.off]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRange(err) {
		lx.errorf(start, "bad number %s", text)
		return token{}, false
	}
	return token{kind: tNumber, text: text, num: f, pos: start, end: lx.off}, true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// text reads a text literal starting at the opening quote: "" is a quote
// and #(...) an escape (cr, lf, tab, #, or 4 or 8 hex digits, several
// separated by commas).
func (lx *lexer) text(start Pos) (string, bool) {
	lx.advance() // opening quote
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) {
			lx.errorf(start, "text is not closed with a quote")
			return "", false
		}
		r := lx.peekAt(0)
		switch {
		case r == '"':
			lx.advance()
			if lx.peekAt(0) != '"' {
				return b.String(), true
			}
			lx.advance()
			b.WriteByte('"')
		case r == '#' && lx.peekAt(1) == '(':
			at := lx.pos()
			lx.advance()
			lx.advance()
			if !lx.escapes(&b, at) {
				return "", false
			}
		default:
			s := lx.off
			lx.advance()
			b.WriteString(lx.src[s:lx.off])
		}
	}
}

// escapes reads the body of #( ... ) after the parenthesis.
func (lx *lexer) escapes(b *strings.Builder, at Pos) bool {
	for {
		s := lx.off
		for lx.off < len(lx.src) && lx.peekAt(0) != ',' && lx.peekAt(0) != ')' && lx.off-s < 16 {
			lx.advance()
		}
		code := lx.src[s:lx.off]
		switch {
		case code == "cr":
			b.WriteByte('\r')
		case code == "lf":
			b.WriteByte('\n')
		case code == "tab":
			b.WriteByte('\t')
		case code == "#":
			b.WriteByte('#')
		case (len(code) == 4 || len(code) == 8) && allHex(code):
			v, _ := strconv.ParseUint(code, 16, 32)
			if v > unicode.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
				lx.errorf(at, "escape #(%s) is not a character", code)
				return false
			}
			b.WriteRune(rune(v))
		default:
			lx.errorf(at, "unknown escape #(%s); use cr, lf, tab, # or 4 or 8 hexadecimal digits", code)
			return false
		}
		switch lx.peekAt(0) {
		case ',':
			lx.advance()
		case ')':
			lx.advance()
			return true
		default:
			lx.errorf(at, "escape sequence is not closed with )")
			return false
		}
	}
}

func allHex(s string) bool {
	for _, r := range s {
		if !isHex(r) {
			return false
		}
	}
	return true
}
