package engine

import (
	"errors"
	"fmt"

	"github.com/meridian-olap/meridian/internal/dax"
)

// Error is a DAX evaluation error: what went wrong and where in the query.
// Pos is the zero Pos when the error has no place in the text (a limit
// reached, an error in a model object).
type Error struct {
	Pos dax.Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// errorf returns an Error at the position of node n (which may be nil).
func errorf(n dax.Node, format string, args ...any) error {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = n.Pos()
	}
	return e
}

// Sentinel errors.
var (
	// ErrUnsupported is wrapped by errors for functions and forms Meridian
	// does not implement. It is never a wrong answer.
	ErrUnsupported = errors.New("engine: not supported")
	// ErrLimit is wrapped when a query exceeds a resource limit.
	ErrLimit = errors.New("engine: resource limit exceeded")
)

// unsupported returns an error naming what is not supported, at n.
func unsupported(n dax.Node, what string) error {
	e := &Error{Msg: what + " is not supported by Meridian"}
	if n != nil {
		e.Pos = n.Pos()
	}
	return &wrapped{e, ErrUnsupported}
}

// wrapped is an Error that also matches a sentinel with errors.Is.
type wrapped struct {
	err      *Error
	sentinel error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.err, w.sentinel} }
