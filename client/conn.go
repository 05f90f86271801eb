package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a Conn. The zero value gives the defaults.
type Options struct {
	// HTTPClient sends the requests. Nil gives a client of the Conn's own,
	// closed by Close. Its Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Logger receives failovers and retries at Warn level. Nil discards.
	Logger *slog.Logger
	// Timeout bounds each request to one server (one attempt), so that a
	// server that hangs is given up and the next one tried. A Timeout in
	// the connection string wins. Zero means DefaultTimeout; negative
	// means none.
	Timeout time.Duration
	// UserAgent is sent with every request; "" gives "meridian-client".
	UserAgent string
	// ServerName is the {server} segment of refresh URLs
	// (/servers/{server}/models/...). Meridian accepts any; "" gives
	// "meridian".
	ServerName string
}

// DefaultTimeout bounds each request when neither the options nor the
// connection string set a timeout.
const DefaultTimeout = 60 * time.Second

// downFor is how long a server that failed is skipped by reads before it
// is tried first again.
const downFor = 10 * time.Second

// probeTimeout bounds a health probe: a health check that takes longer
// than this is as good as no answer.
const probeTimeout = 10 * time.Second

// maxBody bounds a successful answer. Query results are held in memory
// whole, so the bound is generous; it exists so that a misbehaving server
// cannot exhaust the caller's memory.
const maxBody = 1 << 30

// Conn is a connection to a Meridian server or an ordered list of them.
// It is safe for concurrent use.
type Conn struct {
	servers    []*server
	catalog    string
	timeout    time.Duration
	hc         *http.Client
	ownHC      bool
	log        *slog.Logger
	ua         string
	serverName string

	mu     sync.Mutex // guards server.downUntil and closed
	closed bool
}

type server struct {
	url       string
	downUntil time.Time
}

// Open parses target (a connection string or a server URL), then probes
// the servers in order until one answers GET /healthz. It fails with an
// unreachable *Error when none does, and with ErrAliasUnsupported for
// link:// sources.
func Open(ctx context.Context, target string, opts Options) (*Conn, error) {
	cs, err := ParseConnectionString(target)
	if err != nil {
		return nil, err
	}
	c, err := newConn(cs, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", timeout: c.probeTimeout()}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// OpenConnString is Open for an already parsed connection string.
func OpenConnString(ctx context.Context, cs *ConnString, opts Options) (*Conn, error) {
	c, err := newConn(cs, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", timeout: c.probeTimeout()}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func newConn(cs *ConnString, opts Options) (*Conn, error) {
	if len(cs.Sources) == 0 {
		return nil, fmt.Errorf("%w: no Data Source", ErrConnString)
	}
	c := &Conn{
		catalog:    cs.Catalog,
		timeout:    opts.Timeout,
		hc:         opts.HTTPClient,
		log:        opts.Logger,
		ua:         opts.UserAgent,
		serverName: opts.ServerName,
	}
	for _, s := range cs.Sources {
		if s.Alias {
			// Resolution needs the alias protocol of server groups; until
			// it exists, say so rather than guess.
			return nil, fmt.Errorf("open %s: %w", s.URL, ErrAliasUnsupported)
		}
		c.servers = append(c.servers, &server{url: s.URL})
	}
	switch {
	case cs.TimeoutSet:
		c.timeout = cs.Timeout
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	case c.timeout < 0:
		c.timeout = 0
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c.ownHC = true
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "meridian-client"
	}
	if c.serverName == "" {
		c.serverName = "meridian"
	}
	return c, nil
}

func (c *Conn) probeTimeout() time.Duration {
	if c.timeout > 0 && c.timeout < probeTimeout {
		return c.timeout
	}
	return probeTimeout
}

// Close releases the Conn's idle connections. Calls after Close fail with
// ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
	return nil
}

// Servers returns the server URLs in order; the first is the primary.
func (c *Conn) Servers() []string {
	out := make([]string, len(c.servers))
	for i, s := range c.servers {
		out[i] = s.url
	}
	return out
}

// Primary returns the URL of the server that takes writes.
func (c *Conn) Primary() string { return c.servers[0].url }

// Catalog returns the connection string's Initial Catalog.
func (c *Conn) Catalog() string { return c.catalog }

// call describes one request.
type call struct {
	method, path string
	body         []byte
	// write sends the call only to the primary, once.
	write bool
	// pin sends the call only to this server, once per try (refresh status
	// lives on the server that runs the refresh).
	pin string
	// timeout overrides the Conn's per-attempt timeout when positive.
	timeout time.Duration
	// decode, when set, reads a successful answer inside the attempt, so
	// that an answer that cannot be decoded counts as that server's
	// failure and a read moves on to the next server.
	decode func(a *answer) error
}

// answer is a successful (2xx) answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
	server string
}

// do runs a call with the failover rules of the package comment.
func (c *Conn) do(ctx context.Context, cl call) (*answer, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var order []*server
	switch {
	case cl.pin != "":
		order = []*server{c.serverByURL(cl.pin)}
	case cl.write:
		order = c.servers[:1]
	default:
		order = c.readOrder()
	}
	var unreachable []string
	var lastHTTP *Error
	var last error
	for i, s := range order {
		a, retry, err := c.attempt(ctx, s, cl)
		if err == nil {
			c.markUp(s)
			return a, nil
		}
		last = err
		if !retry || cl.write || cl.pin != "" {
			if retry {
				c.markDown(s)
			}
			return nil, err
		}
		c.markDown(s)
		if e, ok := asError(err); ok {
			if e.StatusCode == 0 {
				unreachable = append(unreachable, s.url+": "+e.Message)
			} else {
				lastHTTP = e
			}
		}
		if i+1 < len(order) {
			c.log.Warn("meridian server failed; trying the next one", "server", s.url, "next", order[i+1].url, "err", err)
		}
	}
	if len(order) > 1 && lastHTTP == nil && len(unreachable) == len(order) {
		return nil, &Error{Code: CodeUnreachable, Message: "no server answered: " + strings.Join(unreachable, "; "), Err: last}
	}
	if lastHTTP != nil {
		return nil, lastHTTP
	}
	return nil, last
}

func (c *Conn) serverByURL(u string) *server {
	for _, s := range c.servers {
		if s.url == u {
			return s
		}
	}
	return &server{url: u}
}

// readOrder lists the servers for a read: those not known to be down, in
// order, then the ones that are, so that every server is tried before a
// read gives up.
func (c *Conn) readOrder() []*server {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	up := make([]*server, 0, len(c.servers))
	var down []*server
	for _, s := range c.servers {
		if now.Before(s.downUntil) {
			down = append(down, s)
		} else {
			up = append(up, s)
		}
	}
	return append(up, down...)
}

func (c *Conn) markDown(s *server) {
	c.mu.Lock()
	s.downUntil = time.Now().Add(downFor)
	c.mu.Unlock()
}

func (c *Conn) markUp(s *server) {
	c.mu.Lock()
	s.downUntil = time.Time{}
	c.mu.Unlock()
}

// attempt sends one request to one server. retry reports whether the
// failure is the server's (no answer, a cut answer, 5xx, an undecodable
// answer), after which a read may go to the next server.
func (c *Conn) attempt(ctx context.Context, s *server, cl call) (a *answer, retry bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	actx := ctx
	timeout := c.timeout
	if cl.timeout > 0 {
		timeout = cl.timeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, s.url+cl.path, body)
	if err != nil {
		return nil, false, fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up: not the server's fault, nothing to retry.
			return nil, false, ctx.Err()
		}
		return nil, true, &Error{Code: CodeUnreachable, Server: s.url, Message: describeTransport(err, timeout), Err: err}
	}
	defer resp.Body.Close()
	limit := int64(maxBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, true, &Error{Code: CodeUnreachable, Server: s.url,
			Message: fmt.Sprintf("connection dropped after %d bytes of the answer (%s)", len(data), describeTransport(err, timeout)), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// An error body past the bound is cut; the JSON decode then fails
		// and the status text stands in for the message.
		e := errorFromResponse(s.url, resp.StatusCode, data)
		return nil, resp.StatusCode >= 500, e
	}
	if int64(len(data)) > limit {
		return nil, false, &Error{StatusCode: resp.StatusCode, Code: CodeBadResponse, Server: s.url,
			Message: fmt.Sprintf("answer is larger than %d bytes", limit)}
	}
	a = &answer{status: resp.StatusCode, header: resp.Header, body: data, server: s.url}
	if cl.decode != nil {
		if err := cl.decode(a); err != nil {
			var ce *callerError
			if errors.As(err, &ce) {
				return nil, false, ce.err
			}
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{StatusCode: resp.StatusCode, Code: CodeBadResponse, Server: s.url, Message: err.Error(), Err: err}
			}
			return nil, true, e
		}
	}
	return a, false, nil
}

// describeTransport turns a transport error into one short phrase; the
// Error it goes into names the server.
func describeTransport(err error, timeout time.Duration) string {
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		if timeout > 0 {
			return fmt.Sprintf("no answer within %s", timeout)
		}
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the server running?)"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return "the server closed the connection"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve host %q", dnsErr.Name)
	}
	// Strip the `Get "url": ` prefix of url.Error; the URL is said
	// elsewhere.
	msg := err.Error()
	if i := strings.LastIndex(msg, "\": "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}

// callerError marks a decode failure that is the caller's, such as a query
// error reported inside a 200 answer: it is returned as is and not retried
// on another server, which would answer the same.
type callerError struct{ err error }

func (c *callerError) Error() string { return c.err.Error() }
