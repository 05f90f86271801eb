package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrAlias is wrapped by every error of an alias: one that does not
// answer, answers with an error status, or whose text is malformed. When
// the alias did not answer at all, the error also wraps an unreachable
// *Error (IsUnreachable reports true).
var ErrAlias = errors.New("client: alias")

// MaxAliasBytes bounds an alias's text. An alias names a few servers; a
// larger answer is not an alias (a web page served by mistake, say).
const MaxAliasBytes = 64 << 10

// maxAliasServers bounds the servers one alias may name.
const maxAliasServers = 64

// Alias is the parsed text of an alias object.
type Alias struct {
	// Sources are the servers the alias names, in order: the first is the
	// primary. They are never aliases themselves.
	Sources []Source
	// Catalog and Timeout are set when the alias is written as a
	// connection string that gives them; they apply when the caller's
	// own connection string does not.
	Catalog    string
	Timeout    time.Duration
	TimeoutSet bool
}

// ParseAlias parses the text of an alias object. The format:
//
//   - UTF-8 text of at most MaxAliasBytes; a byte order mark is ignored.
//   - "#" starts a comment that runs to the end of its line (server URLs
//     carry no fragments, so "#" is never part of one). Blank lines and
//     white space around items are ignored.
//   - Either a server list: http:// or https:// URLs separated by
//     newlines, commas or white space, in order of preference, the
//     primary first;
//   - or a connection string (its first item starts with a key and "="),
//     one or more key=value pairs per line, lines joined as if by ";":
//     Data Source (required; a comma-separated list), and optionally
//     Initial Catalog and Timeout.
//   - An alias never names another alias (no link:// or link+http://
//     URLs), so resolution needs one request and cannot loop.
//
// For example, as `meridian failover` writes it:
//
//	# alias of group sales, written by meridian failover
//	http://10.0.1.5:8484    # north, primary
//	http://10.0.0.5:8484    # west
//
// Errors wrap ErrAlias and give the line.
func ParseAlias(text []byte) (*Alias, error) {
	if len(text) > MaxAliasBytes {
		return nil, fmt.Errorf("%w: %d bytes is too long for an alias (at most %d)", ErrAlias, len(text), MaxAliasBytes)
	}
	text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(text) {
		return nil, fmt.Errorf("%w: the text is not valid UTF-8", ErrAlias)
	}
	if t := bytes.TrimSpace(text); len(t) > 0 && t[0] == '<' {
		return nil, fmt.Errorf("%w: the answer is an HTML or XML document, not an alias (check the alias URL)", ErrAlias)
	}
	type line struct {
		n    int
		text string
	}
	var lines []line
	for i, l := range strings.Split(string(text), "\n") {
		if j := strings.IndexByte(l, '#'); j >= 0 {
			l = l[:j]
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		for _, r := range l {
			if r < 0x20 && r != '\t' || r == 0x7f {
				return nil, fmt.Errorf("%w: line %d: control character %q", ErrAlias, i+1, r)
			}
		}
		lines = append(lines, line{i + 1, l})
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: the alias is empty (it names no server)", ErrAlias)
	}
	a := &Alias{}
	seen := map[string]int{}
	add := func(n int, item string) error {
		src, err := parseSource(item)
		if err != nil {
			// parseSource wraps ErrConnString; say it is the alias's
			// fault and where.
			return fmt.Errorf("%w: line %d: %v", ErrAlias, n, strings.TrimPrefix(err.Error(), ErrConnString.Error()+": "))
		}
		if src.Alias {
			return fmt.Errorf("%w: line %d: %s is an alias; an alias must name servers (http:// or https://), not another alias", ErrAlias, n, item)
		}
		if at, dup := seen[src.URL]; dup {
			return fmt.Errorf("%w: line %d: %s is already named on line %d", ErrAlias, n, src.URL, at)
		}
		if len(a.Sources) == maxAliasServers {
			return fmt.Errorf("%w: line %d: more than %d servers", ErrAlias, n, maxAliasServers)
		}
		seen[src.URL] = n
		a.Sources = append(a.Sources, src)
		return nil
	}
	if looksLikeURL(lines[0].text) {
		for _, l := range lines {
			for _, item := range strings.FieldsFunc(l.text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
				if !looksLikeURL(item) {
					return nil, fmt.Errorf("%w: line %d: %q is not a server URL (an alias is a list of URLs or a connection string, not both)", ErrAlias, l.n, item)
				}
				if err := add(l.n, item); err != nil {
					return nil, err
				}
			}
		}
		return a, nil
	}
	keys := map[string]int{}
	for _, l := range lines {
		pairs, err := splitPairs(l.text)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrAlias, l.n, strings.TrimPrefix(err.Error(), ErrConnString.Error()+": "))
		}
		for _, p := range pairs {
			canon, ok := connKeys[normKey(p.key)]
			if !ok {
				return nil, fmt.Errorf("%w: line %d: unknown key %q (known: Data Source, Initial Catalog, Timeout)", ErrAlias, l.n, p.key)
			}
			if at, dup := keys[canon]; dup {
				return nil, fmt.Errorf("%w: line %d: %s is already given on line %d", ErrAlias, l.n, canon, at)
			}
			keys[canon] = l.n
			switch canon {
			case "Data Source":
				if strings.TrimSpace(p.val) == "" {
					return nil, fmt.Errorf("%w: line %d: empty Data Source", ErrAlias, l.n)
				}
				for _, item := range strings.Split(p.val, ",") {
					item = strings.TrimSpace(item)
					if item == "" {
						return nil, fmt.Errorf("%w: line %d: Data Source has an empty entry", ErrAlias, l.n)
					}
					if err := add(l.n, item); err != nil {
						return nil, err
					}
				}
			case "Initial Catalog":
				a.Catalog = p.val
			case "Timeout":
				d, err := parseTimeout(p.val)
				if err != nil {
					return nil, fmt.Errorf("%w: line %d: %v", ErrAlias, l.n, strings.TrimPrefix(err.Error(), ErrConnString.Error()+": "))
				}
				a.Timeout, a.TimeoutSet = d, true
			}
		}
	}
	if len(a.Sources) == 0 {
		return nil, fmt.Errorf("%w: the connection string has no Data Source", ErrAlias)
	}
	return a, nil
}

// FormatAlias writes the text of an alias naming servers in order (the
// primary first), each on its own line, with comment lines above them
// and an optional comment after each server. ParseAlias reads it back.
func FormatAlias(header []string, servers []string, notes []string) []byte {
	var b bytes.Buffer
	for _, h := range header {
		for _, l := range strings.Split(h, "\n") {
			b.WriteString("# ")
			b.WriteString(strings.TrimSpace(l))
			b.WriteByte('\n')
		}
	}
	for i, s := range servers {
		b.WriteString(s)
		if i < len(notes) && strings.TrimSpace(notes[i]) != "" {
			b.WriteString("    # ")
			b.WriteString(strings.ReplaceAll(strings.TrimSpace(notes[i]), "\n", " "))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// AliasURL returns the URL an alias source is read from: https:// for
// link://, http:// for link+http://.
func AliasURL(src string) (string, error) {
	switch {
	case strings.HasPrefix(src, "link://"):
		return "https://" + strings.TrimPrefix(src, "link://"), nil
	case strings.HasPrefix(src, "link+http://"):
		return "http://" + strings.TrimPrefix(src, "link+http://"), nil
	}
	return "", fmt.Errorf("%w: %s is not a link:// or link+http:// URL", ErrAlias, src)
}

// ResolveAlias reads the alias src (link://host/path or
// link+http://host/path) with hc and parses it. Each failure wraps
// ErrAlias and names the alias; when the alias does not answer, it wraps
// an unreachable *Error too.
func ResolveAlias(ctx context.Context, hc *http.Client, src string) (*Alias, error) {
	return resolveAlias(ctx, hc, src, "meridian-client", 0)
}

func resolveAlias(ctx context.Context, hc *http.Client, src, ua string, timeout time.Duration) (*Alias, error) {
	u, err := AliasURL(src)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrAlias, src, err)
	}
	req.Header.Set("Accept", "text/plain, */*")
	req.Header.Set("User-Agent", ua)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("%w %s: %w", ErrAlias, src, ctx.Err())
		}
		e := &Error{Code: CodeUnreachable, Message: describeTransport(err, timeout), Err: err}
		return nil, fmt.Errorf("%w %s does not answer (GET %s): %w", ErrAlias, src, u, e)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAliasBytes+1))
	if err != nil {
		e := &Error{Code: CodeUnreachable, Message: describeTransport(err, timeout), Err: err}
		return nil, fmt.Errorf("%w %s: its answer was cut short (GET %s): %w", ErrAlias, src, u, e)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{StatusCode: resp.StatusCode, Code: strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", ""),
			Message: "the alias location answered with an error, not the alias"}
		if e.Code == "" {
			e.Code = fmt.Sprintf("HTTP%d", resp.StatusCode)
		}
		return nil, fmt.Errorf("%w %s (GET %s): %w", ErrAlias, src, u, e)
	}
	a, err := ParseAlias(data)
	if err != nil {
		// Keep ErrAlias once, with the alias named.
		return nil, fmt.Errorf("%w %s (read from %s): %s", ErrAlias, src, u, strings.TrimPrefix(err.Error(), ErrAlias.Error()+": "))
	}
	return a, nil
}
