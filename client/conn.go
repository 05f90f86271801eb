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
	"slices"
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
	// Logger receives failovers, retries and alias changes at Warn level.
	// Nil discards.
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
	// AliasInterval is the least time between two reads of the aliases
	// of the connection string after a failure; zero means
	// DefaultAliasInterval. Aliases are read once by Open and again only
	// when a server fails, at most this often, so that a dead region does
	// not turn every request into a read of the alias.
	AliasInterval time.Duration
	// ProbeInterval is the first wait before a server that failed is
	// probed again (GET /readyz) in the background; the wait doubles up
	// to eight times this between probes that fail. Zero means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
}

// DefaultTimeout bounds each request when neither the options nor the
// connection string set a timeout.
const DefaultTimeout = 60 * time.Second

// DefaultAliasInterval is the least time between two reads of an alias
// after failures.
const DefaultAliasInterval = 2 * time.Second

// DefaultProbeInterval is the first wait before a failed server is probed
// again.
const DefaultProbeInterval = 500 * time.Millisecond

// probeTimeout bounds a health probe: a health check that takes longer
// than this is as good as no answer.
const probeTimeout = 10 * time.Second

// maxBody bounds a successful answer. Query results are held in memory
// whole, so the bound is generous; it exists so that a misbehaving server
// cannot exhaust the caller's memory.
const maxBody = 1 << 30

// Conn is a connection to a Meridian server or an ordered list of them,
// given directly or through aliases. It is safe for concurrent use.
type Conn struct {
	sources       []Source // as the connection string gives them
	catalog       string
	timeout       time.Duration
	hc            *http.Client
	ownHC         bool
	log           *slog.Logger
	ua            string
	serverName    string
	aliasInterval time.Duration
	probeInterval time.Duration

	// bg is the context of the Conn's background work (alias re-reads,
	// health probes), cancelled by Close, which then waits for wg.
	bg       context.Context
	bgCancel context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex // guards everything below
	servers []*server  // the effective list; servers[0] takes writes
	closed  bool
	// aliasLists holds the last list each alias source gave, by source
	// URL; an alias that fails to answer keeps its last list.
	aliasLists map[string][]string
	aliasRead  time.Time     // when the aliases were last read
	aliasBusy  chan struct{} // closed when the running re-read ends; nil when none runs
}

type server struct {
	url string
	// down is set when a request to the server failed for the server's
	// own reason, and cleared when a request or a background probe
	// succeeds. Reads try the servers that are not down first.
	down bool
	// probing is true while a background probe loop runs for the server.
	probing bool
}

// Open parses target (a connection string or a server URL), reads the
// aliases it names, then probes the servers in order until one answers
// GET /healthz. It fails with an unreachable *Error when none does, and
// with an error wrapping ErrAlias when no alias could be read and the
// connection string names no other server.
func Open(ctx context.Context, target string, opts Options) (*Conn, error) {
	cs, err := ParseConnectionString(target)
	if err != nil {
		return nil, err
	}
	return OpenConnString(ctx, cs, opts)
}

// OpenConnString is Open for an already parsed connection string.
func OpenConnString(ctx context.Context, cs *ConnString, opts Options) (*Conn, error) {
	c, err := newConn(ctx, cs, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", timeout: c.probeTimeout()}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func newConn(ctx context.Context, cs *ConnString, opts Options) (*Conn, error) {
	if len(cs.Sources) == 0 {
		return nil, fmt.Errorf("%w: no Data Source", ErrConnString)
	}
	c := &Conn{
		sources:       append([]Source(nil), cs.Sources...),
		catalog:       cs.Catalog,
		timeout:       opts.Timeout,
		hc:            opts.HTTPClient,
		log:           opts.Logger,
		ua:            opts.UserAgent,
		serverName:    opts.ServerName,
		aliasInterval: opts.AliasInterval,
		probeInterval: opts.ProbeInterval,
		aliasLists:    map[string][]string{},
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
	if c.aliasInterval <= 0 {
		c.aliasInterval = DefaultAliasInterval
	}
	if c.probeInterval <= 0 {
		c.probeInterval = DefaultProbeInterval
	}
	c.bg, c.bgCancel = context.WithCancel(context.Background())
	if c.hasAliases() {
		alias, err := c.readAliases(ctx)
		if err != nil {
			c.Close()
			return nil, err
		}
		// The alias's catalog and timeout fill in what the connection
		// string leaves out.
		if c.catalog == "" && alias.Catalog != "" {
			c.catalog = alias.Catalog
		}
		if !cs.TimeoutSet && opts.Timeout == 0 && alias.TimeoutSet {
			c.timeout = alias.Timeout
		}
	} else {
		for _, s := range c.sources {
			c.servers = append(c.servers, &server{url: s.URL})
		}
	}
	return c, nil
}

func (c *Conn) hasAliases() bool {
	for _, s := range c.sources {
		if s.Alias {
			return true
		}
	}
	return false
}

// readAliases reads every alias of the connection string and rebuilds the
// server list. An alias that fails keeps the list it gave last; the error
// is returned only when the list would be empty. The returned Alias
// carries the catalog and timeout of the first alias that gave them.
func (c *Conn) readAliases(ctx context.Context) (*Alias, error) {
	first := &Alias{}
	var errs []error
	for _, s := range c.sources {
		if !s.Alias {
			continue
		}
		a, err := resolveAlias(ctx, c.hc, s.URL, c.ua, c.probeTimeout())
		if err != nil {
			errs = append(errs, err)
			c.log.Warn("meridian alias could not be read; keeping the servers it named last", "alias", s.URL, "err", err)
			continue
		}
		urls := make([]string, len(a.Sources))
		for i, src := range a.Sources {
			urls[i] = src.URL
		}
		if first.Catalog == "" {
			first.Catalog = a.Catalog
		}
		if !first.TimeoutSet && a.TimeoutSet {
			first.Timeout, first.TimeoutSet = a.Timeout, true
		}
		c.mu.Lock()
		old := c.aliasLists[s.URL]
		c.aliasLists[s.URL] = urls
		c.mu.Unlock()
		if old != nil && !slices.Equal(old, urls) {
			c.log.Warn("meridian alias changed", "alias", s.URL, "servers", strings.Join(urls, ","), "before", strings.Join(old, ","))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aliasRead = time.Now()
	var urls []string
	seen := map[string]bool{}
	for _, s := range c.sources {
		list := []string{s.URL}
		if s.Alias {
			list = c.aliasLists[s.URL]
		}
		for _, u := range list {
			if !seen[u] {
				seen[u] = true
				urls = append(urls, u)
			}
		}
	}
	if len(urls) == 0 {
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, errors.Join(errs...)
	}
	// Servers named before keep their state (down, probing).
	byURL := map[string]*server{}
	for _, s := range c.servers {
		byURL[s.url] = s
	}
	servers := make([]*server, len(urls))
	for i, u := range urls {
		if s := byURL[u]; s != nil {
			servers[i] = s
		} else {
			servers[i] = &server{url: u}
		}
	}
	c.servers = servers
	return first, nil
}

// rereadAliases starts a re-read of the aliases in the background, unless
// one runs already or the last ended less than AliasInterval ago. It
// returns a channel closed when the running re-read ends, or nil when
// none runs.
func (c *Conn) rereadAliases() <-chan struct{} {
	if !c.hasAliases() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aliasBusy != nil {
		return c.aliasBusy
	}
	if c.closed || time.Since(c.aliasRead) < c.aliasInterval {
		return nil
	}
	done := make(chan struct{})
	c.aliasBusy = done
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.readAliases(c.bg)
		c.mu.Lock()
		c.aliasBusy = nil
		c.mu.Unlock()
		close(done)
	}()
	return done
}

// waitAliases re-reads the aliases (see rereadAliases) and waits for the
// re-read to end. It reports whether one ran.
func (c *Conn) waitAliases(ctx context.Context) bool {
	ch := c.rereadAliases()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Conn) probeTimeout() time.Duration {
	if c.timeout > 0 && c.timeout < probeTimeout {
		return c.timeout
	}
	return probeTimeout
}

// Close stops the Conn's background work and releases its idle
// connections. Calls after Close fail with ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.bgCancel()
	c.wg.Wait()
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
	return nil
}

// Servers returns the server URLs in order, aliases resolved; the first
// is the primary.
func (c *Conn) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.servers))
	for i, s := range c.servers {
		out[i] = s.url
	}
	return out
}

// Primary returns the URL of the server that takes writes: the first of
// the list, as the aliases gave it when last read.
func (c *Conn) Primary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[0].url
}

// Catalog returns the connection string's Initial Catalog (or the
// alias's, when the connection string has none).
func (c *Conn) Catalog() string { return c.catalog }

// call describes one request.
type call struct {
	method, path string
	body         []byte
	// write sends the call only to the primary, once (see do for the one
	// exception).
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
	switch {
	case cl.pin != "":
		s := c.serverByURL(cl.pin)
		a, retry, err := c.attempt(ctx, s, cl)
		c.note(s, err, retry)
		return a, err
	case cl.write:
		return c.write(ctx, cl)
	}
	return c.read(ctx, cl)
}

// note records the outcome of an attempt on s.
func (c *Conn) note(s *server, err error, retry bool) {
	switch {
	case err == nil:
		c.markUp(s)
	case retry:
		c.markDown(s)
		c.rereadAliases()
	}
}

// write sends a write to the primary. It is never sent twice, with one
// exception that cannot apply it twice: when the primary refused the
// connection (nothing was sent) or refused the write for its role (a
// follower, a fenced former primary), and a fresh read of the aliases
// names another primary, the write goes once to that one.
func (c *Conn) write(ctx context.Context, cl call) (*answer, error) {
	s := c.primaryServer()
	a, retry, err := c.attempt(ctx, s, cl)
	c.note(s, err, retry)
	if err == nil || !c.hasAliases() || !(notSent(err) || refusedForRole(err)) {
		return a, err
	}
	if !c.waitAliases(ctx) {
		return nil, err
	}
	next := c.primaryServer()
	if next.url == s.url {
		return nil, err
	}
	c.log.Warn("meridian primary refused the write before applying it; the alias names another primary, sending it there", "server", s.url, "primary", next.url, "err", err)
	a, retry, err = c.attempt(ctx, next, cl)
	c.note(next, err, retry)
	return a, err
}

// read sends a read to the first server that is not known to be down,
// moving on to the next when one fails for its own reason, and reading
// the aliases again before giving up.
func (c *Conn) read(ctx context.Context, cl call) (*answer, error) {
	tried := map[string]bool{}
	var unreachable []string
	var lastHTTP *Error
	var last error
	reread := false
	var failed *server
	for {
		var s *server
		for _, x := range c.readOrder() {
			if !tried[x.url] {
				s = x
				break
			}
		}
		if s == nil {
			// Every server named has failed this call. A fresh read of
			// the aliases may name others (a failover); try those once.
			if reread || !c.waitAliases(ctx) {
				break
			}
			reread = true
			continue
		}
		tried[s.url] = true
		if failed != nil {
			c.log.Warn("meridian server failed; trying the next one", "server", failed.url, "next", s.url, "err", last)
		}
		a, retry, err := c.attempt(ctx, s, cl)
		c.note(s, err, retry)
		if err == nil {
			return a, nil
		}
		last = err
		if !retry {
			return nil, err
		}
		if e, ok := asError(err); ok {
			if e.StatusCode == 0 {
				unreachable = append(unreachable, s.url+": "+e.Message)
			} else {
				lastHTTP = e
			}
		}
		failed = s
	}
	if len(tried) > 1 && lastHTTP == nil && len(unreachable) == len(tried) {
		return nil, &Error{Code: CodeUnreachable, Message: "no server answered: " + strings.Join(unreachable, "; "), Err: last}
	}
	if lastHTTP != nil {
		return nil, lastHTTP
	}
	return nil, last
}

// notSent reports whether err means the request never reached the
// server: the connection could not be made.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// refusedForRole reports whether the server refused a write for its role
// in replication, without applying it: a follower (ReadOnlyReplica) or a
// primary that lost its lease (Fenced).
func refusedForRole(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusConflict && (e.Code == "ReadOnlyReplica" || e.Code == "Fenced")
}

func (c *Conn) primaryServer() *server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[0]
}

func (c *Conn) serverByURL(u string) *server {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	up := make([]*server, 0, len(c.servers))
	var down []*server
	for _, s := range c.servers {
		if s.down {
			down = append(down, s)
		} else {
			up = append(up, s)
		}
	}
	return append(up, down...)
}

// markDown notes that s failed and starts probing it in the background,
// so that it is used again once it answers GET /readyz.
func (c *Conn) markDown(s *server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.down = true
	if s.probing || c.closed {
		return
	}
	s.probing = true
	c.wg.Add(1)
	go c.probeLoop(s)
}

func (c *Conn) markUp(s *server) {
	c.mu.Lock()
	s.down = false
	c.mu.Unlock()
}

// probeLoop probes a failed server until it is ready again, it is no
// longer in the list, it came back by a request's success, or the Conn
// closes. The wait between probes doubles from ProbeInterval up to
// eight times it.
func (c *Conn) probeLoop(s *server) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		s.probing = false
		c.mu.Unlock()
	}()
	wait := c.probeInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-c.bg.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		listed := slices.Contains(c.servers, s)
		down := s.down
		c.mu.Unlock()
		if !listed || !down {
			return
		}
		_, _, err := c.attempt(c.bg, s, call{method: http.MethodGet, path: "/readyz", timeout: c.probeTimeout()})
		if err == nil {
			c.markUp(s)
			c.log.Warn("meridian server is ready again", "server", s.url)
			return
		}
		// A server that stays down may have been failed over from: the
		// aliases may name a new primary by now.
		c.rereadAliases()
		wait = min(2*wait, 8*c.probeInterval)
		t.Reset(wait)
	}
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
