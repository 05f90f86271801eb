// Package dax reads DAX, the formula and query language of tabular models:
// a lexer, a parser producing a syntax tree with positions, and a printer
// that writes a tree back as DAX.
//
// ParseExpr reads one expression (a measure, a calculated column or table,
// a calculation item, a row filter); ParseQuery reads a query (DEFINE ...
// EVALUATE ...). Errors are an ErrorList with every problem found, each at
// its line and column ("line 3, column 5: unterminated string"); the
// parser carries on after an error where it can and stops after MaxErrors.
// Every error matches ErrSyntax under errors.Is. Format prints any node;
// Walk and Inspect traverse trees; EqualFold compares names, which DAX
// treats without regard to case.
//
// # Lexical structure
//
//   - White space separates tokens. Comments run from // or -- to the end
//     of the line, or from /* to */. So 5--3 is 5 followed by a comment.
//   - Numbers: 12, 1.5, .5, 1., 1e3, 2.5E-3. A number has no sign; -1 is
//     the operator - applied to 1.
//   - Strings: "text", with "" for a quote inside. They may span lines.
//     A backslash is an ordinary character.
//   - Datetimes: dt"2020-01-31", dt"2020-01-31T10:00:00" or
//     dt"2020-01-31 10:00:00" (month, day and hour may have one digit,
//     seconds a fraction), a real date in years 100 to 9999.
//   - 'Table Name': a quoted table name, with a doubled apostrophe for one.
//   - [Name]: a column or measure name, with ]] for a closing bracket.
//     Quoted and bracketed names do not span lines.
//   - Names: ASCII letters, digits and _, not starting with a digit.
//     Function names may have dotted parts (PERCENTILE.INC,
//     INFO.VIEW.TABLES). Any other name must be quoted or bracketed:
//     'Таблица'[Колонка].
//   - @name: a query parameter.
//   - Operators and punctuation: ( ) { } , = == <> < <= > >= + - * / ^ &
//     && || and, in FUNCTION definitions, : and =>.
//
// Keywords are case-insensitive. VAR, RETURN, DEFINE, EVALUATE, ORDER,
// START and MEASURE cannot be used as names where an expression starts; NOT,
// IN, TRUE and FALSE are operators and literals. Other words (ASC, DESC,
// DAY, MONTH, INTEGER, SKIP, DENSE, TABLE, ...) are plain names, read as
// Ident, and the function they are passed to gives them their meaning.
//
// # Expressions
//
//	expr      = "VAR" name "=" expr { "VAR" name "=" expr } "RETURN" expr
//	          | expr binop expr | "NOT" expr | ("-" | "+") expr | primary
//	primary   = number | string | datetime | "TRUE" | "FALSE" | @param
//	          | name "(" [args] ")"                  function call
//	          | table "[" column "]" | "[" name "]"  column or measure
//	          | 'table' | name                       table, variable, keyword
//	          | "(" expr ")"
//	          | "(" expr "," expr {"," expr} ")"     row, only before IN
//	          | "{" row {"," row} "}"                table constructor
//	args      = [expr] {"," [expr]}                  empty arguments allowed
//	row       = expr | "(" expr {"," expr} ")"
//
// VAR ... RETURN may appear wherever an expression may, nested too; its
// RETURN expression extends as far as an expression can.
//
// Operator precedence, from the loosest to the tightest binding:
//
//	level  operators                       notes
//	1      ||                              logical or
//	2      &&                              logical and
//	3      NOT                             prefix
//	4      = == <> < <= > >= IN            comparison and membership
//	5      &                               text concatenation
//	6      + -                             addition, subtraction
//	7      * /                             multiplication, division
//	8      + -                             prefix sign
//	9      ^                               exponentiation
//
// This is the order of Microsoft's DAX operator reference, where IN ranks
// with the comparisons (some third-party references rank it above the
// arithmetic operators; the Microsoft reference is followed here). Binary
// operators of one level group from left to right, as the reference says,
// including ^: 2^3^2 is (2^3)^2 = 64. The sign binds more loosely than ^:
// -2^2 is -(2^2) = -4; the right operand of ^ may itself carry a sign, as
// in 2^-1. NOT takes everything up to the next && or || (a comparison-level
// expression), wherever it appears: NOT a = b is NOT (a = b), NOT (a) * b
// is NOT ((a) * b), and "" & NOT a = b is "" & NOT (a = b). There is no
// NOT IN operator: NOT x IN t means NOT (x IN t).
//
// TRUE and FALSE without parentheses are BoolLit; TRUE() and FALSE() are
// calls. A table constructor's rows must all have the same number of
// values. DATATABLE's rows ({ { 1, "a" }, { 2, "b" } }) are table
// constructors inside a table constructor; the parser keeps them as such.
//
// # Queries
//
//	query      = [ "DEFINE" definition { definition } ] evaluate { evaluate }
//	definition = "MEASURE" table "[" name "]" "=" expr
//	           | "VAR" name "=" expr
//	           | "TABLE" tablename "=" expr
//	           | "COLUMN" table "[" name "]" "=" expr
//	           | "FUNCTION" name "=" "(" [param {"," param}] ")" "=>" expr
//	param      = name [ ":" typeword { typeword } ] [ "=" expr ]
//	evaluate   = "EVALUATE" expr
//	             [ "ORDER" "BY" expr ["ASC" | "DESC"] { "," expr ["ASC" | "DESC"] }
//	               [ "START" "AT" value { "," value } ] ]
//
// Definitions come in any order; there is one DEFINE block at most, before
// the first EVALUATE. START AT values are constants (possibly negative
// numbers, TRUE(), FALSE(), BLANK()) or @parameters, no more of them than
// ORDER BY keys. The table of TABLE definitions WITH VISUAL SHAPE is not
// supported.
//
// # The tree
//
// Every node records where it starts (Binary records its operator's
// position, the place to point at when the operation fails). Parentheses
// are not kept: the tree's shape says how operators group, and Format
// puts back those that grouping needs. Names keep their spelling, with
// quotes and escapes removed, except function names, which are upper-cased
// in Call.Func. An unquoted table name and a variable are both Ident; a
// quoted table name alone is a TableRef. ColumnRef and TableRef record
// whether the table name was quoted, so that Format keeps the author's
// choice (and adds quotes to unquoted names only where they are needed).
// Comments are not kept.
//
// # Limits
//
// Input over DefaultMaxBytes, and nesting deeper than DefaultMaxDepth, are
// errors rather than a risk to memory or the stack; Options changes both.
package dax
