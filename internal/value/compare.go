package value

import (
	"cmp"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CompareText compares two strings under the default collation of
// Analysis Services: case-insensitive (Unicode simple case folding), then by
// code point. It returns 0 for strings that differ only by case.
func CompareText(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			fa, fb := foldRune(ra), foldRune(rb)
			if fa != fb {
				return cmp.Compare(fa, fb)
			}
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// EqualText reports whether two strings are the same under the collation.
func EqualText(a, b string) bool {
	return len(a) == len(b) && a == b || CompareText(a, b) == 0
}

// FoldText returns the key under which the collation considers strings
// equal: two strings are equal exactly when their keys are. Use it to hash
// text.
func FoldText(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('a' <= c && c <= 'z') {
			return strings.Map(foldRune, s)
		}
	}
	return s
}

// foldRune maps a rune to the smallest rune of its case-folding orbit, so
// that 'K', 'k' and the Kelvin sign fold together, and lower-case ASCII
// letters fold to upper case consistently with the rest.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

// Compare orders values for sorting (ORDER BY, TOPN, dictionaries): BLANK
// first, then numbers of every numeric type (DateTime and Currency compared
// by magnitude), then strings under the collation, then booleans, FALSE
// before TRUE. It is a total order; NaN sorts before every other number.
func Compare(a, b Value) int {
	ra, rb := rank(a.t), rank(b.t)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch ra {
	case 0:
		return 0
	case 1:
		if a.t == b.t && (a.t == Integer || a.t == Currency) {
			return cmp.Compare(int64(a.bits), int64(b.bits))
		}
		fa, _ := a.Number()
		fb, _ := b.Number()
		if math.IsNaN(fa) || math.IsNaN(fb) {
			return cmp.Compare(boolInt(!math.IsNaN(fa)), boolInt(!math.IsNaN(fb)))
		}
		return cmp.Compare(fa, fb)
	case 2:
		return CompareText(a.s, b.s)
	}
	return cmp.Compare(a.bits, b.bits)
}

func rank(t Type) int {
	switch t {
	case Blank:
		return 0
	case Integer, Decimal, Currency, DateTime:
		return 1
	case String:
		return 2
	}
	return 3
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
