package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors.
var (
	// ErrNoDatabase is returned when neither the call nor the connection
	// string's Initial Catalog names a database.
	ErrNoDatabase = errors.New("client: no database named (pass one, or set Initial Catalog)")
	// ErrBadInput is wrapped by errors about the caller's input that the
	// client finds before sending anything (a model file that is not
	// JSON, an empty query).
	ErrBadInput = errors.New("client: bad input")
	// ErrClosed is returned by calls on a closed Conn.
	ErrClosed = errors.New("client: connection closed")
)

// Error codes the client itself gives to errors that have no server answer,
// or whose answer was not a Meridian error object.
const (
	// CodeUnreachable: no HTTP answer at all (refused, timed out, dropped).
	CodeUnreachable = "Unreachable"
	// CodeBadResponse: the server answered with a body the client could not
	// decode (cut short, not JSON, unexpected shape).
	CodeBadResponse = "BadResponse"
	// CodeRefreshFailed, CodeRefreshCancelled and CodeRefreshTimedOut: a
	// refresh ended without succeeding.
	CodeRefreshFailed    = "RefreshFailed"
	CodeRefreshCancelled = "RefreshCancelled"
	CodeRefreshTimedOut  = "RefreshTimedOut"
)

// Error is the error of a call that reached, or tried to reach, a server.
type Error struct {
	// StatusCode is the HTTP status, 0 when no server answered.
	StatusCode int
	// Code is the server's error code ("DatabaseNotFound"), or one of the
	// client's Code constants.
	Code string
	// Message is the server's message, or the client's description.
	Message string
	// Server is the base URL of the server that gave the error.
	Server string
	// Err is the underlying transport or decoding error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Server != "" {
		b.WriteString(e.Server)
		b.WriteString(": ")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d ", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		if e.Code != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Message)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err is a 404: an unknown database, refresh or
// path.
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusNotFound
}

// IsConflict reports whether err is a 409, such as a second refresh while
// one runs.
func IsConflict(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusConflict
}

// IsBadRequest reports whether err is a 400: the server refused the
// caller's input (bad JSON, a DAX syntax error, an invalid model).
func IsBadRequest(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusBadRequest
}

// IsUnreachable reports whether err means no server answered at all.
func IsUnreachable(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == 0 && e.Code == CodeUnreachable
}

// IsUnavailable reports whether err means the server could not serve the
// call for now: no answer, 503 (not ready yet), or another 5xx.
func IsUnavailable(err error) bool {
	e, ok := asError(err)
	return ok && (IsUnreachable(err) || e.StatusCode >= 500)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorFromResponse builds the Error of a non-2xx answer. Only a Meridian
// or Power BI error object is believed; anything else gives the status
// text, so that a proxy's HTML page never ends up in a message.
func errorFromResponse(server string, status int, body []byte) *Error {
	e := &Error{StatusCode: status, Server: server}
	var doc struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			// Power BI puts details under "pbi.error".
			PBI *struct {
				Code    string `json:"code"`
				Details []struct {
					Code   string `json:"code"`
					Detail struct {
						Value string `json:"value"`
					} `json:"detail"`
				} `json:"details"`
			} `json:"pbi.error"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.Error != nil {
		e.Code = clean(doc.Error.Code, 200)
		e.Message = clean(doc.Error.Message, 4000)
		if e.Message == "" && doc.Error.PBI != nil {
			for _, d := range doc.Error.PBI.Details {
				if d.Detail.Value != "" {
					e.Message = clean(d.Detail.Value, 4000)
					break
				}
			}
		}
	}
	if e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(status), " ", "")
		if e.Code == "" {
			e.Code = fmt.Sprintf("HTTP%d", status)
		}
	}
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(status))
	}
	return e
}

// clean makes a server-supplied string safe to print on a terminal:
// valid UTF-8, no control characters but newlines and tabs, bounded.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
