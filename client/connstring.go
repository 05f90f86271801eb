package client

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrConnString is wrapped by every connection string parse error.
var ErrConnString = errors.New("client: bad connection string")

// ConnString is a parsed connection string.
//
// The syntax is that of OLE DB and Analysis Services: key=value pairs
// separated by semicolons. Keys are case-insensitive and may have spaces
// around them; values may be quoted with double or single quotes (a quote
// doubled inside stands for itself), which lets them contain semicolons.
// Empty pairs (";;", a trailing ";") are ignored.
//
// Keys:
//
//	Data Source (or Server)           one server URL or a comma-separated ordered list
//	Initial Catalog (or Catalog, Database)  the default database
//	Timeout (or Connect Timeout)      seconds (30) or a Go duration (1m30s); 0 means none
//
// A string that starts with a URL scheme ("http://...") is taken as a bare
// Data Source, a list of URLs included.
type ConnString struct {
	// Sources are the servers in order of preference: the first is the
	// primary, which takes writes.
	Sources []Source
	// Catalog is the default database, "" when not set.
	Catalog string
	// Timeout bounds each request to a server; 0 when not set.
	Timeout time.Duration
	// TimeoutSet records that Timeout was given, so that an explicit 0 (no
	// timeout) can be told from an absent key.
	TimeoutSet bool
}

// Source is one entry of a Data Source list.
type Source struct {
	// URL is the normalised URL: scheme and host in lower case, no
	// trailing slash.
	URL string
	// Alias is true for link:// and link+http:// sources, whose body names
	// the real server list.
	Alias bool
}

// Keys of a connection string, by their canonical spelling and synonyms
// (lower case, single spaces).
var connKeys = map[string]string{
	"data source":     "Data Source",
	"datasource":      "Data Source",
	"server":          "Data Source",
	"initial catalog": "Initial Catalog",
	"catalog":         "Initial Catalog",
	"database":        "Initial Catalog",
	"timeout":         "Timeout",
	"connect timeout": "Timeout",
}

// maxConnString bounds the input: connection strings are short, and a huge
// one is a mistake (a file passed by accident).
const maxConnString = 64 << 10

// ParseConnectionString parses a connection string or a bare URL list.
func ParseConnectionString(s string) (*ConnString, error) {
	if len(s) > maxConnString {
		return nil, fmt.Errorf("%w: %d bytes is too long (at most %d)", ErrConnString, len(s), maxConnString)
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, fmt.Errorf("%w: empty", ErrConnString)
	}
	cs := &ConnString{}
	if looksLikeURL(t) {
		srcs, err := parseSources(t)
		if err != nil {
			return nil, err
		}
		cs.Sources = srcs
		return cs, nil
	}
	pairs, err := splitPairs(t)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range pairs {
		canon, ok := connKeys[normKey(p.key)]
		if !ok {
			return nil, fmt.Errorf("%w: unknown key %q at offset %d (known: Data Source, Initial Catalog, Timeout)", ErrConnString, p.key, p.at)
		}
		if seen[canon] {
			return nil, fmt.Errorf("%w: %s given twice (key %q at offset %d)", ErrConnString, canon, p.key, p.at)
		}
		seen[canon] = true
		switch canon {
		case "Data Source":
			srcs, err := parseSources(p.val)
			if err != nil {
				return nil, err
			}
			cs.Sources = srcs
		case "Initial Catalog":
			cs.Catalog = p.val
		case "Timeout":
			d, err := parseTimeout(p.val)
			if err != nil {
				return nil, err
			}
			cs.Timeout, cs.TimeoutSet = d, true
		}
	}
	if len(cs.Sources) == 0 {
		return nil, fmt.Errorf("%w: no Data Source", ErrConnString)
	}
	return cs, nil
}

// looksLikeURL reports whether s starts with "scheme://", which no
// key=value pair does (a key has no slashes before its "=").
func looksLikeURL(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

type pair struct {
	key, val string
	at       int // byte offset of the key in the input
}

// splitPairs splits key=value pairs on semicolons outside quotes.
func splitPairs(s string) ([]pair, error) {
	var out []pair
	i := 0
	for i < len(s) {
		// Key: up to "=", or to ";" or the end for a pair without one.
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ';' {
			i++
		}
		key := strings.TrimSpace(s[start:i])
		if i == len(s) || s[i] == ';' {
			if key != "" {
				return nil, fmt.Errorf("%w: %q at offset %d has no \"=\"", ErrConnString, key, start)
			}
			i++
			continue
		}
		if key == "" {
			return nil, fmt.Errorf("%w: empty key before \"=\" at offset %d", ErrConnString, i)
		}
		i++ // "="
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val string
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			qat := i
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				if s[i] == q {
					if i+1 < len(s) && s[i+1] == q {
						b.WriteByte(q)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: value of %q: quote at offset %d is never closed", ErrConnString, key, qat)
			}
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i < len(s) && s[i] != ';' {
				return nil, fmt.Errorf("%w: value of %q: unexpected %q after the closing quote at offset %d", ErrConnString, key, s[i], i)
			}
			val = b.String()
		} else {
			vs := i
			for i < len(s) && s[i] != ';' {
				i++
			}
			val = strings.TrimSpace(s[vs:i])
		}
		out = append(out, pair{key: key, val: val, at: start})
		i++ // ";"
	}
	return out, nil
}

// normKey lower-cases a key and collapses runs of white space, so that
// "Initial  Catalog" and "initial catalog" are the same key.
func normKey(k string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(k, unicode.IsSpace), " "))
}

// parseSources parses a comma-separated list of server URLs.
func parseSources(v string) ([]Source, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: empty Data Source", ErrConnString)
	}
	var out []Source
	seen := map[string]bool{}
	for i, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("%w: Data Source entry %d is empty", ErrConnString, i+1)
		}
		src, err := parseSource(part)
		if err != nil {
			return nil, err
		}
		if seen[src.URL] {
			return nil, fmt.Errorf("%w: Data Source names %s twice", ErrConnString, src.URL)
		}
		seen[src.URL] = true
		out = append(out, src)
	}
	return out, nil
}

func parseSource(s string) (Source, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Source{}, fmt.Errorf("%w: Data Source %q is not a URL", ErrConnString, s)
	}
	scheme := strings.ToLower(u.Scheme)
	var alias bool
	switch scheme {
	case "http", "https":
	case "link", "link+http":
		alias = true
	case "":
		return Source{}, fmt.Errorf("%w: Data Source %q has no scheme (want http://, https://, link:// or link+http://)", ErrConnString, s)
	default:
		return Source{}, fmt.Errorf("%w: Data Source %q: unsupported scheme %q (want http, https, link or link+http)", ErrConnString, s, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return Source{}, fmt.Errorf("%w: Data Source %q has no host", ErrConnString, s)
	}
	if u.User != nil {
		return Source{}, fmt.Errorf("%w: Data Source %q: credentials in the URL are not supported", ErrConnString, s)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return Source{}, fmt.Errorf("%w: Data Source %q: a server URL takes no query or fragment", ErrConnString, s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Source{}, fmt.Errorf("%w: Data Source %q: bad port %q", ErrConnString, s, p)
		}
	}
	if strings.ContainsAny(u.Host, " \t") {
		return Source{}, fmt.Errorf("%w: Data Source %q: bad host", ErrConnString, s)
	}
	// Commas and semicolons stay escaped, so that the list reads back the
	// same from String.
	path := strings.NewReplacer(",", "%2C", ";", "%3B").Replace(strings.TrimRight(u.EscapedPath(), "/"))
	return Source{URL: scheme + "://" + strings.ToLower(u.Host) + path, Alias: alias}, nil
}

// parseTimeout accepts whole seconds, as Analysis Services does, or a Go
// duration.
func parseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, fmt.Errorf("%w: Timeout is empty", ErrConnString)
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%w: Timeout %q is negative", ErrConnString, v)
		}
		if n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%w: Timeout %q is too large", ErrConnString, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%w: Timeout %q is neither seconds nor a duration such as 1m30s", ErrConnString, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%w: Timeout %q is negative", ErrConnString, v)
	}
	return d, nil
}

// String formats the connection string in canonical form; parsing it gives
// back an equal ConnString.
func (cs *ConnString) String() string {
	var b strings.Builder
	urls := make([]string, len(cs.Sources))
	for i, s := range cs.Sources {
		urls[i] = s.URL
	}
	b.WriteString("Data Source=")
	b.WriteString(quoteConnValue(strings.Join(urls, ",")))
	if cs.Catalog != "" {
		b.WriteString(";Initial Catalog=")
		b.WriteString(quoteConnValue(cs.Catalog))
	}
	if cs.TimeoutSet {
		b.WriteString(";Timeout=")
		if cs.Timeout%time.Second == 0 {
			b.WriteString(strconv.FormatInt(int64(cs.Timeout/time.Second), 10))
		} else {
			b.WriteString(cs.Timeout.String())
		}
	}
	return b.String()
}

// quoteConnValue quotes a value when it would not read back as itself.
func quoteConnValue(v string) string {
	if v != strings.TrimSpace(v) || strings.ContainsAny(v, ";\"'") {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}
