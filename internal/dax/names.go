package dax

import (
	"strings"

	"github.com/meridian-olap/meridian/internal/value"
)

// EqualFold reports whether two names are the same DAX name. Names of
// tables, columns, measures, variables and functions are case-insensitive,
// under the same collation as text values.
func EqualFold(a, b string) bool { return value.EqualText(a, b) }

// reserved are the words the parser never reads as a plain name where an
// expression may start: they begin or end a construct of their own.
var reserved = map[string]bool{
	"VAR": true, "RETURN": true, "DEFINE": true, "EVALUATE": true,
	"ORDER": true, "START": true, "MEASURE": true,
}

// operatorWords are the words that are operators or literals.
var operatorWords = map[string]bool{"NOT": true, "IN": true, "TRUE": true, "FALSE": true}

// quoteWords are the words a table name must be quoted to be: the above,
// and the other keywords of queries, so that printed queries stay readable.
var quoteWords = map[string]bool{
	"TABLE": true, "COLUMN": true, "FUNCTION": true, "BY": true, "AT": true,
	"ASC": true, "DESC": true, "DT": true, "WITH": true,
}

func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

func isReserved(word string) bool     { return reserved[upper(word)] }
func isOperatorWord(word string) bool { return operatorWords[upper(word)] }

// isKeyword reports whether an identifier token is the given upper-case
// keyword.
func isKeyword(t token, kw string) bool {
	return t.kind == tIdent && len(t.val) == len(kw) && strings.EqualFold(t.val, kw)
}

// isBareName reports whether the parser reads s written without quotes as
// a name: ASCII letters, digits and underscores, not starting with a
// digit, and not a keyword that starts or ends an expression.
func isBareName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	u := upper(s)
	return !reserved[u] && !operatorWords[u]
}

// isPlainName reports whether a table name can go without quotes in text
// meant for other tools too: a bare name that is not a keyword of queries
// either.
func isPlainName(s string) bool { return isBareName(s) && !quoteWords[upper(s)] }

// QuoteTable returns a table name as it can be written in DAX: unchanged
// when it is a plain name (Sales), else between apostrophes with any
// apostrophe doubled: 'Sales Territory'. Names that are keywords of DAX
// queries ('Table', 'Order') are quoted too, as other tools expect.
func QuoteTable(name string) string {
	if isPlainName(name) {
		return name
	}
	return "'" + strings.ReplaceAll(name, "'", "''") + "'"
}

// QuoteColumn returns a column or measure name between square brackets,
// with any closing bracket doubled: [Sales Amount], [a]]b].
func QuoteColumn(name string) string {
	return "[" + strings.ReplaceAll(name, "]", "]]") + "]"
}
