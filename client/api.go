package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Query runs a DAX query against database db ("" for the connection
// string's Initial Catalog) and returns its result. It is a read: it goes
// to the first healthy server and moves on to the next when one fails.
// A DAX error is an *Error with status 400 whose message has the line and
// column.
func (c *Conn) Query(ctx context.Context, db, dax string) (*Result, error) {
	db, err := c.database(db)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(dax) == "" {
		return nil, fmt.Errorf("query %s: %w: the query is empty", db, ErrBadInput)
	}
	body, err := json.Marshal(map[string]any{
		"queries": []map[string]string{{"query": dax}},
		// With nulls included every row names every column, which keeps
		// the column list whole even when a column is BLANK throughout.
		"serializerSettings": map[string]bool{"includeNulls": true},
	})
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", db, err)
	}
	var res *Result
	_, err = c.do(ctx, call{
		method: http.MethodPost,
		path:   "/v1.0/myorg/datasets/" + url.PathEscape(db) + "/executeQueries",
		body:   body,
		decode: func(a *answer) error {
			r, err := decodeQueryResult(a.body)
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					e.Server = a.server
					return &callerError{e}
				}
				return err
			}
			res = r
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (c *Conn) database(db string) (string, error) {
	if db == "" {
		db = c.catalog
	}
	if db == "" {
		return "", ErrNoDatabase
	}
	return db, nil
}

// Message is one message of a TMSL command or refresh: an error, a warning
// or information.
type Message struct {
	Type    string `json:"type,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// UnmarshalJSON accepts a bare string or an object with code, message (or
// text or description) and type (or severity).
func (m *Message) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*m = Message{Message: clean(s, 4000)}
		return nil
	}
	var o struct {
		Type        string `json:"type"`
		Severity    string `json:"severity"`
		Code        string `json:"code"`
		Message     string `json:"message"`
		Text        string `json:"text"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("a message is neither a string nor an object")
	}
	*m = Message{Type: firstOf(o.Type, o.Severity), Code: o.Code, Message: firstOf(o.Message, o.Text, o.Description)}
	m.Type, m.Code, m.Message = clean(m.Type, 100), clean(m.Code, 200), clean(m.Message, 4000)
	return nil
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// TMSL sends one TMSL command object to the primary and returns its
// messages. It is a write: never retried, never sent to another server.
func (c *Conn) TMSL(ctx context.Context, command []byte) ([]Message, error) {
	if err := checkJSONObject(command, "TMSL command"); err != nil {
		return nil, err
	}
	msgs, err := c.tmsl(ctx, command)
	if err != nil {
		return nil, fmt.Errorf("tmsl: %w", err)
	}
	return msgs, nil
}

func (c *Conn) tmsl(ctx context.Context, command []byte) ([]Message, error) {
	var out struct {
		Messages []Message `json:"messages"`
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/tmsl", body: command, write: true,
		decode: func(a *answer) error {
			if len(bytes.TrimSpace(a.body)) == 0 {
				return nil
			}
			return json.Unmarshal(a.body, &out)
		}})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// DeployResult is the outcome of Deploy.
type DeployResult struct {
	// Database is the name the database was deployed as.
	Database string    `json:"database"`
	Server   string    `json:"server"`
	Messages []Message `json:"messages"`
}

// Deploy creates or replaces a database from a .bim file's content (a TMSL
// database object). database, when not "", overrides the name in the
// file. The rest of the file is sent byte for byte, so properties the
// server keeps are scripted back as written.
func (c *Conn) Deploy(ctx context.Context, bim []byte, database string) (*DeployResult, error) {
	cmd, name, err := DeployCommand(bim, database)
	if err != nil {
		return nil, err
	}
	msgs, err := c.tmsl(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", name, err)
	}
	return &DeployResult{Database: name, Server: c.Primary(), Messages: msgs}, nil
}

// DeployCommand builds the createOrReplace command that deploys a .bim
// database object under the name database (or its own name when
// database is ""), and returns it with the name used.
func DeployCommand(bim []byte, database string) ([]byte, string, error) {
	bim = bytes.TrimPrefix(bim, []byte("\xef\xbb\xbf")) // editors save .bim files with a BOM
	if err := checkJSONObject(bim, "model file"); err != nil {
		return nil, "", err
	}
	var head struct {
		Name            *string         `json:"name"`
		CreateOrReplace json.RawMessage `json:"createOrReplace"`
		Model           json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(bim, &head); err != nil {
		return nil, "", fmt.Errorf("%w: model file: %v", ErrBadInput, err)
	}
	if head.CreateOrReplace != nil {
		return nil, "", fmt.Errorf("%w: model file: it is a createOrReplace command, not a database object; send it with TMSL (meridian tmsl)", ErrBadInput)
	}
	if head.Model == nil {
		return nil, "", fmt.Errorf("%w: model file: the database object has no \"model\"", ErrBadInput)
	}
	name := database
	if name == "" {
		if head.Name == nil || strings.TrimSpace(*head.Name) == "" {
			return nil, "", fmt.Errorf("%w: model file: the database has no \"name\"; give one (--database NAME)", ErrBadInput)
		}
		name = *head.Name
	}
	db := bim
	if head.Name == nil || *head.Name != name {
		var err error
		if db, err = setTopLevelName(bim, name); err != nil {
			return nil, "", fmt.Errorf("%w: model file: %v", ErrBadInput, err)
		}
	}
	q, _ := json.Marshal(name)
	var b bytes.Buffer
	b.WriteString(`{"createOrReplace":{"object":{"database":`)
	b.Write(q)
	b.WriteString(`},"database":`)
	b.Write(bytes.TrimSpace(db))
	b.WriteString("}}")
	return b.Bytes(), name, nil
}

// setTopLevelName replaces (or adds) the "name" of a JSON object without
// re-encoding the rest, whose key order and spelling are kept.
func setTopLevelName(obj []byte, name string) ([]byte, error) {
	q, _ := json.Marshal(name)
	d := json.NewDecoder(bytes.NewReader(obj))
	if _, err := d.Token(); err != nil { // "{"
		return nil, err
	}
	open := d.InputOffset()
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		afterKey := d.InputOffset()
		if key, _ := tok.(string); key == "name" {
			var v json.RawMessage
			if err := d.Decode(&v); err != nil {
				return nil, err
			}
			end := d.InputOffset()
			var out bytes.Buffer
			out.Write(obj[:afterKey])
			out.WriteByte(':')
			out.Write(q)
			out.Write(obj[end:])
			return out.Bytes(), nil
		}
		if err := skip(d); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	out.Write(obj[:open])
	out.WriteString(`"name":`)
	out.Write(q)
	if bytes.TrimSpace(obj[open:])[0] != '}' {
		out.WriteByte(',')
	}
	out.Write(obj[open:])
	return out.Bytes(), nil
}

// checkJSONObject says where a document stops being JSON, or that it is
// not an object, before anything is sent.
func checkJSONObject(b []byte, what string) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return fmt.Errorf("%w: %s is empty", ErrBadInput, what)
	}
	if !json.Valid(t) {
		var v any
		err := json.Unmarshal(t, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the byte that broke the syntax; point at it.
			off := int(se.Offset) - 1 + (len(b) - len(bytes.TrimLeft(b, " \t\r\n")))
			line, col := lineCol(b, off)
			return fmt.Errorf("%w: %s is not valid JSON: line %d, column %d: %v", ErrBadInput, what, line, col, se)
		}
		return fmt.Errorf("%w: %s is not valid JSON: %v", ErrBadInput, what, err)
	}
	if t[0] != '{' {
		return fmt.Errorf("%w: %s must be a JSON object", ErrBadInput, what)
	}
	return nil
}

// lineCol turns a byte offset into 1-based line and column.
func lineCol(b []byte, off int) (int, int) {
	off = max(0, min(off, len(b)))
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// DatabaseInfo is one entry of the database list.
type DatabaseInfo struct {
	Name          string    `json:"name"`
	Version       int64     `json:"version"`
	State         string    `json:"state"`
	LastProcessed time.Time `json:"lastProcessed"`
	SizeBytes     int64     `json:"sizeBytes"`
	ImageHash     string    `json:"imageHash,omitempty"`
	// Role is primary, follower, standalone or fenced; LagSeconds and
	// VersionsBehind are set on followers.
	Role           string   `json:"role,omitempty"`
	LagSeconds     *float64 `json:"lagSeconds,omitempty"`
	VersionsBehind *int64   `json:"versionsBehind,omitempty"`
}

// UnmarshalJSON reads lastProcessed leniently: a server that never
// processed the database may send null, "" or a zero date.
func (d *DatabaseInfo) UnmarshalJSON(b []byte) error {
	type plain DatabaseInfo
	var v struct {
		plain
		LastProcessed json.RawMessage `json:"lastProcessed"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = DatabaseInfo(v.plain)
	var s string
	if json.Unmarshal(v.LastProcessed, &s) == nil {
		d.LastProcessed = parseTime(s)
	}
	return nil
}

// parseTime reads the timestamps of the API, with or without a zone; a
// time it cannot read is zero.
func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() > 1 {
			return t
		}
	}
	return time.Time{}
}

// Databases lists the databases of the first healthy server.
func (c *Conn) Databases(ctx context.Context) ([]DatabaseInfo, error) {
	var out []DatabaseInfo
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/databases", decode: func(a *answer) error {
		return json.Unmarshal(a.body, &out)
	}})
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return out, nil
}

// Database returns the definition of database name as TMSL JSON.
func (c *Conn) Database(ctx context.Context, name string) (json.RawMessage, error) {
	name, err := c.database(name)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	_, err = c.do(ctx, call{method: http.MethodGet, path: "/databases/" + url.PathEscape(name), decode: func(a *answer) error {
		if err := checkJSONObject(a.body, "database definition"); err != nil {
			return err
		}
		out = json.RawMessage(bytes.TrimSpace(a.body))
		return nil
	}})
	if err != nil {
		return nil, fmt.Errorf("get database %s: %w", name, err)
	}
	return out, nil
}

// ServerHealth is the state of one server of the list.
type ServerHealth struct {
	URL     string
	Healthy bool // GET /healthz answered 200
	Ready   bool // GET /readyz answered 200: databases are loaded
	// Err says why the server is not healthy or not ready.
	Err     error
	Latency time.Duration // of the health check
}

// Health probes every server of the list at once and reports each. The
// error is non-nil only when ctx ends.
func (c *Conn) Health(ctx context.Context) ([]ServerHealth, error) {
	urls := c.Servers()
	out := make([]ServerHealth, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := ServerHealth{URL: u}
			start := time.Now()
			_, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", pin: u, timeout: c.probeTimeout()})
			h.Latency = time.Since(start)
			if err != nil {
				h.Err = err
				out[i] = h
				return
			}
			h.Healthy = true
			_, err = c.do(ctx, call{method: http.MethodGet, path: "/readyz", pin: u, timeout: c.probeTimeout()})
			h.Ready = err == nil
			h.Err = err
			out[i] = h
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return out, err
	}
	return out, nil
}

// Ready returns nil when a server of the list is ready to answer queries
// (GET /readyz answers 200), and the last server's error otherwise: 503
// while databases are still loading.
func (c *Conn) Ready(ctx context.Context) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/readyz", timeout: c.probeTimeout()})
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	return nil
}
