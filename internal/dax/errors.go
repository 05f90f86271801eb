package dax

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is matched by every error the parser returns:
// errors.Is(err, dax.ErrSyntax) tells a mistake in the DAX text (the
// caller's fault) from other failures.
var ErrSyntax = errors.New("dax: syntax error")

// Error is one problem found in the source, with where it is.
type Error struct {
	Pos Pos
	Msg string
}

// Error writes "line 3, column 5: message".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Is makes errors.Is(e, ErrSyntax) true.
func (e *Error) Is(target error) bool { return target == ErrSyntax }

// ErrorList is every problem the parser found, in source order. The parser
// goes on after an error where it can, so one run reports several
// mistakes; it stops after MaxErrors.
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

// errorf adds an error to a list, keeping at most one per line: the second
// complaint on a line is nearly always a consequence of the first.
func (l *ErrorList) add(pos Pos, format string, args ...any) {
	if n := len(*l); n > 0 && (*l)[n-1].Pos.Line == pos.Line {
		return
	}
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}
