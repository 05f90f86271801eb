package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/value"
)

// Power BI's limits on one executeQueries answer: 100,000 rows or
// 1,000,000 values, whichever comes first, and 15 MB of data (the row
// being written when the size is passed is completed).
const (
	pbiMaxRows   = 100_000
	pbiMaxValues = 1_000_000
	pbiMaxBytes  = 15 << 20
)

// executeQueriesRequest is Power BI's request body (Datasets - Execute
// Queries).
type executeQueriesRequest struct {
	Queries []struct {
		Query *string `json:"query"`
	} `json:"queries"`
	SerializerSettings *struct {
		IncludeNulls bool `json:"includeNulls"`
	} `json:"serializerSettings"`
	ImpersonatedUserName string `json:"impersonatedUserName"`
}

// parseQueryRequest decodes and checks a request body: exactly one query
// with a non-empty text.
func parseQueryRequest(body []byte) (query string, includeNulls bool, impersonate string, err error) {
	var req executeQueriesRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return "", false, "", fmt.Errorf("%w: %v", ErrInvalidJSON, jsonError(body, err))
	}
	if dec.More() {
		return "", false, "", fmt.Errorf("%w: unexpected data after the request object", ErrInvalidJSON)
	}
	switch {
	case len(req.Queries) == 0:
		return "", false, "", fmt.Errorf("%w: the request has no query: send {\"queries\":[{\"query\":\"EVALUATE ...\"}]}", ErrBadRequest)
	case len(req.Queries) > 1:
		return "", false, "", fmt.Errorf("%w: the request has %d queries; only one query per request is supported", ErrBadRequest, len(req.Queries))
	case req.Queries[0].Query == nil || strings.TrimSpace(*req.Queries[0].Query) == "":
		return "", false, "", fmt.Errorf("%w: queries[0].query is missing or empty", ErrBadRequest)
	}
	if req.SerializerSettings != nil {
		includeNulls = req.SerializerSettings.IncludeNulls
	}
	return *req.Queries[0].Query, includeNulls, req.ImpersonatedUserName, nil
}

// jsonError describes a JSON decoding error with its line and column.
func jsonError(body []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		off, err = int64(len(body)), errors.New("unexpected end of input")
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
		if te.Field != "" {
			err = fmt.Errorf("%s: expected %s, found a JSON %s", te.Field, te.Type, te.Value)
		}
	}
	if off < 0 || off > int64(len(body)) {
		return err.Error()
	}
	line, col := 1, 1
	for _, c := range body[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

// pbiError is Power BI's error object ("pbi.error").
type pbiError struct {
	Code       string         `json:"code"`
	Parameters map[string]any `json:"parameters"`
	Details    []pbiDetail    `json:"details"`
}

type pbiDetail struct {
	Code   string `json:"code"`
	Detail struct {
		Type  int    `json:"type"`
		Value string `json:"value"`
	} `json:"detail"`
}

// queryError is a DAX query that failed, answered as Power BI does: a 400
// with the code DatasetExecuteQueriesError, the message (with the line and
// column) in "message" and, as Power BI puts it, in pbi.error's details.
type queryError struct {
	status int
	msg    string
}

func (e *queryError) Error() string { return e.msg }

// classifyQueryError turns an engine error into the answer to send.
func classifyQueryError(err error, timeout time.Duration) *queryError {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &queryError{400, fmt.Sprintf("Query: the query ran longer than the server's limit of %s and was stopped", timeout)}
	case strings.HasPrefix(err.Error(), "engine: internal error"):
		// A recovered panic in the engine is the server's fault.
		return &queryError{500, err.Error()}
	}
	var list dax.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		msgs := make([]string, len(list))
		for i, e := range list {
			msgs[i] = fmt.Sprintf("Query (%d, %d) %s", e.Pos.Line, e.Pos.Col, e.Msg)
		}
		return &queryError{400, strings.Join(msgs, "\n")}
	}
	var de *dax.Error
	if errors.As(err, &de) {
		return &queryError{400, fmt.Sprintf("Query (%d, %d) %s", de.Pos.Line, de.Pos.Col, de.Msg)}
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		if ee.Pos.Line > 0 {
			return &queryError{400, fmt.Sprintf("Query (%d, %d) %s", ee.Pos.Line, ee.Pos.Col, ee.Msg)}
		}
		return &queryError{400, "Query: " + ee.Msg}
	}
	return &queryError{400, "Query: " + err.Error()}
}

// body returns the JSON error body of a failed query.
func (e *queryError) body() errorBody {
	code := "DatasetExecuteQueriesError"
	if e.status >= 500 {
		code = "InternalError"
	}
	d := pbiDetail{Code: "DetailsMessage"}
	d.Detail.Type = 1
	d.Detail.Value = e.msg
	return errorBody{Error: errorObject{Code: code, Message: e.msg,
		PBI: &pbiError{Code: code, Parameters: map[string]any{}, Details: []pbiDetail{d}}}}
}

// encodeResult writes a query result in Power BI's shape:
//
//	{"results":[{"tables":[{"rows":[{"Table[Column]":1,"[Measure]":2.5}]}]}]}
//
// Values: integers and decimals as numbers (Currency exact to its four
// decimal places), booleans, text as strings, dates as
// "2019-05-18T00:00:00"; BLANK is left out of the row unless
// includeNulls, then null. Only the first table is returned (Power BI
// answers one table per query), cut at Power BI's row, value and size
// limits; what was cut is reported in an "error" member, and the answer
// is still a 200, as Power BI's is.
func encodeResult(res *engine.Result, includeNulls bool) []byte {
	var b bytes.Buffer
	b.Grow(4096)
	b.WriteString(`{"results":[{"tables":[`)
	var resultErr string
	if len(res.Tables) > 0 {
		t := res.Tables[0]
		keys := make([][]byte, len(t.Columns))
		for i, c := range t.Columns {
			keys[i] = appendJSONString(nil, c.Name)
		}
		maxRows := pbiMaxRows
		if n := len(t.Columns); n > 0 {
			maxRows = min(maxRows, pbiMaxValues/n)
		}
		b.WriteString(`{"rows":[`)
		var tableErr string
		var buf []byte
		for r, row := range t.Rows {
			if r == maxRows {
				tableErr = fmt.Sprintf("More than %d rows in a query result", maxRows)
				break
			}
			if b.Len() > pbiMaxBytes {
				tableErr = fmt.Sprintf("The query result is larger than %d MB; only the first %d rows are returned", pbiMaxBytes>>20, r)
				break
			}
			if r > 0 {
				b.WriteByte(',')
			}
			buf = append(buf[:0], '{')
			first := true
			for i, v := range row {
				if v.IsBlank() && !includeNulls {
					continue
				}
				if !first {
					buf = append(buf, ',')
				}
				first = false
				buf = append(buf, keys[i]...)
				buf = append(buf, ':')
				buf = appendValue(buf, v)
			}
			buf = append(buf, '}')
			b.Write(buf)
		}
		b.WriteByte(']')
		if tableErr != "" {
			b.WriteString(`,"error":{"code":"DatasetExecuteQueriesError","message":`)
			b.Write(appendJSONString(nil, tableErr))
			b.WriteByte('}')
		}
		b.WriteByte('}')
		if len(res.Tables) > 1 {
			resultErr = "More than one result table in a query"
		}
	}
	b.WriteByte(']')
	if resultErr != "" {
		b.WriteString(`,"error":{"code":"DatasetExecuteQueriesError","message":`)
		b.Write(appendJSONString(nil, resultErr))
		b.WriteByte('}')
	}
	b.WriteString(`}]}`)
	return b.Bytes()
}

// appendValue writes one value as JSON.
func appendValue(b []byte, v value.Value) []byte {
	switch v.Type() {
	case value.Blank:
		return append(b, "null"...)
	case value.Integer:
		return strconv.AppendInt(b, v.AsInt(), 10)
	case value.Currency:
		return append(b, value.FormatCurrencyUnits(v.AsInt())...)
	case value.Decimal:
		f := v.AsFloat()
		switch {
		case math.IsNaN(f):
			return append(b, `"NaN"`...)
		case math.IsInf(f, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(f, -1):
			return append(b, `"-Infinity"`...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case value.Boolean:
		return strconv.AppendBool(b, v.AsBool())
	case value.DateTime:
		b = append(b, '"')
		b = append(b, value.FormatISO(v.AsFloat())...)
		return append(b, '"')
	}
	return appendJSONString(b, v.AsString())
}

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\uFFFD' && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
