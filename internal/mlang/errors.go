package mlang

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrSyntax is matched by every syntax error.
	ErrSyntax = errors.New("mlang: syntax error")
	// ErrUnsupported is matched by an error that names a library function
	// or a language feature Meridian does not implement.
	ErrUnsupported = errors.New("mlang: not supported")
	// ErrEvaluation is matched by every error raised while evaluating: M's
	// own errors (error "...", a missing field, a bad conversion) and
	// the unsupported ones.
	ErrEvaluation = errors.New("mlang: evaluation error")
	// ErrLimit is matched when an expression exceeds a limit that protects
	// the server (nesting, recursion, list size). try cannot catch it.
	ErrLimit = errors.New("mlang: limit exceeded")
)

// Pos is a position in M text: line and column from 1, the column
// counting characters (a tab is one).
type Pos struct {
	Offset int // byte offset
	Line   int
	Col    int
}

// String writes the position as people read it: "line 3, column 5".
func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

// Error is a positioned problem in M text: a syntax error from Parse, or
// an error raised by evaluation.
type Error struct {
	Pos Pos
	// Expr names the model expression (parameter) the position is in;
	// empty for the expression being evaluated.
	Expr string
	// Reason is M's error reason for evaluation errors
	// ("Expression.Error", "DataFormat.Error", ...); empty for syntax
	// errors.
	Reason string
	Msg    string
	kind   error // ErrSyntax, ErrUnsupported, ErrEvaluation or ErrLimit
}

// Error writes "line 3, column 5: message", with the expression's name
// when the problem is in a model expression.
func (e *Error) Error() string {
	if e.Expr != "" {
		return fmt.Sprintf("expression %q %s: %s", e.Expr, e.Pos, e.Msg)
	}
	return e.Pos.String() + ": " + e.Msg
}

// Is makes errors.Is(e, ErrSyntax) (or the error's own kind) true; every
// evaluation error, unsupported ones included, is also ErrEvaluation.
func (e *Error) Is(target error) bool {
	if target == e.kind {
		return true
	}
	return target == ErrEvaluation && (e.kind == ErrUnsupported || e.kind == ErrLimit)
}

// ErrorList is the list of syntax errors found in one text.
type ErrorList []*Error

// Error writes one problem per line.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Is makes errors.Is(list, ErrSyntax) true.
func (l ErrorList) Is(target error) bool { return target == ErrSyntax }

// Unwrap gives the individual errors to errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
