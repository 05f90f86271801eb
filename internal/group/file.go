package group

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/blob"
)

// ErrInvalid is wrapped by every error about a group file's content.
var ErrInvalid = errors.New("group: invalid group file")

// MaxFileBytes bounds a group file: it lists a few servers.
const MaxFileBytes = 1 << 20

// maxServers bounds the servers of one group.
const maxServers = 64

// Group is a parsed, valid group file.
type Group struct {
	// File is where the group was read from ("" when parsed from memory);
	// errors and messages name it.
	File string
	// Name names the group.
	Name string
	// Store is the URL of the blob store the group replicates through.
	Store string
	// Alias is the link:// or link+http:// URL clients resolve, "" when
	// the group has none.
	Alias string
	// AliasObject is where failover writes the alias text; zero when the
	// group file gives no aliasObject.
	AliasObject ObjectRef
	// Servers are the servers in file order.
	Servers []Server
}

// ObjectRef names one object of a blob store.
type ObjectRef struct {
	// Store is the store's URL; Name the object's name in it.
	Store, Name string
}

// IsZero reports whether the reference names nothing.
func (o ObjectRef) IsZero() bool { return o.Name == "" }

func (o ObjectRef) String() string {
	if o.IsZero() {
		return ""
	}
	return o.Name + " in " + o.Store
}

// Server is one server of a group.
type Server struct {
	Name string
	// URL is the server's base URL, normalised as the client normalises
	// it (lower-case scheme and host, no trailing slash).
	URL     string
	Region  string
	Primary bool
	// Line is the line of the server's entry in the group file.
	Line int
}

// Primary returns the server the group file marks primary.
func (g *Group) Primary() *Server {
	for i := range g.Servers {
		if g.Servers[i].Primary {
			return &g.Servers[i]
		}
	}
	return nil
}

// Server returns the server named name (case-insensitive), or nil.
func (g *Group) Server(name string) *Server {
	for i := range g.Servers {
		if strings.EqualFold(g.Servers[i].Name, name) {
			return &g.Servers[i]
		}
	}
	return nil
}

// ServerByURL returns the server whose URL is u (normalised), or nil.
func (g *Group) ServerByURL(u string) *Server {
	n, err := normServerURL(u)
	if err != nil {
		return nil
	}
	for i := range g.Servers {
		if g.Servers[i].URL == n {
			return &g.Servers[i]
		}
	}
	return nil
}

// Names lists the servers' names, for messages.
func (g *Group) Names() string {
	names := make([]string, len(g.Servers))
	for i, s := range g.Servers {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// Load reads and checks a group file.
func Load(path string) (*Group, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read group file: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read group file: %s is a directory", path)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than %d", ErrInvalid, path, st.Size(), MaxFileBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read group file: %w", err)
	}
	return Parse(data, path)
}

// fileError is an error at a line of the file.
func fileError(file string, line int, format string, args ...any) error {
	where := file
	if where == "" {
		where = "group file"
	}
	if line > 0 {
		where = fmt.Sprintf("%s:%d", where, line)
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalid, where, fmt.Sprintf(format, args...))
}

// Keys of the group file.
var (
	groupKeys  = []string{"name", "store", "alias", "aliasObject", "servers"}
	serverKeys = []string{"name", "url", "region", "primary"}
)

// Parse checks a group file's content; file names it in errors. See the
// package documentation for the format and the rules.
func Parse(data []byte, file string) (*Group, error) {
	if len(data) > MaxFileBytes {
		return nil, fileError(file, 0, "%d bytes, more than %d", len(data), MaxFileBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fileError(file, 0, "the file is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, fileError(file, 0, "not YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fileError(file, extra.Line, "a second YAML document; a group file holds one")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fileError(file, doc.Line, "not a YAML mapping")
	}
	root := doc.Content[0]
	if err := noAliases(file, root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, fileError(file, root.Line, "the top level must be a mapping (name:, store:, servers:, ...)")
	}
	g := &Group{File: file}
	fields, err := mapping(file, root, groupKeys, "the group")
	if err != nil {
		return nil, err
	}
	if g.Name, err = scalar(file, fields, "name", root, true); err != nil {
		return nil, err
	}
	if !validGroupName(g.Name) {
		return nil, fileError(file, fields["name"].Line, "name %q: use letters, digits, '.', '_' and '-' (at most 63)", g.Name)
	}
	if g.Store, err = scalar(file, fields, "store", root, true); err != nil {
		return nil, err
	}
	if err := checkStoreURL(g.Store); err != nil {
		return nil, fileError(file, fields["store"].Line, "store %q: %v", g.Store, err)
	}
	if g.Alias, err = scalar(file, fields, "alias", root, false); err != nil {
		return nil, err
	}
	if g.Alias != "" {
		cs, err := client.ParseConnectionString(g.Alias)
		if err != nil || len(cs.Sources) != 1 || !cs.Sources[0].Alias || cs.Catalog != "" || cs.TimeoutSet {
			return nil, fileError(file, fields["alias"].Line, "alias %q: want one link://host/path or link+http://host/path URL", g.Alias)
		}
		g.Alias = cs.Sources[0].URL
	}
	obj, err := scalar(file, fields, "aliasObject", root, false)
	if err != nil {
		return nil, err
	}
	if obj != "" {
		if g.Alias == "" {
			return nil, fileError(file, fields["aliasObject"].Line, "aliasObject without alias: give the link:// URL clients read the alias from")
		}
		if g.AliasObject, err = parseObjectRef(obj, g.Store); err != nil {
			return nil, fileError(file, fields["aliasObject"].Line, "aliasObject %q: %v", obj, err)
		}
	}
	srvs, ok := fields["servers"]
	if !ok {
		return nil, fileError(file, root.Line, "no servers: list them under servers: (name, url, region, primary)")
	}
	if srvs.Kind != yaml.SequenceNode {
		return nil, fileError(file, srvs.Line, "servers must be a list of servers")
	}
	if len(srvs.Content) == 0 {
		return nil, fileError(file, srvs.Line, "servers is empty")
	}
	if len(srvs.Content) > maxServers {
		return nil, fileError(file, srvs.Content[maxServers].Line, "more than %d servers", maxServers)
	}
	names, urls := map[string]int{}, map[string]int{}
	var primaries []*Server
	for i, n := range srvs.Content {
		if n.Kind != yaml.MappingNode {
			return nil, fileError(file, n.Line, "server %d must be a mapping (name:, url:, region:, primary:)", i+1)
		}
		what := fmt.Sprintf("server %d", i+1)
		f, err := mapping(file, n, serverKeys, what)
		if err != nil {
			return nil, err
		}
		s := Server{Line: n.Line}
		if s.Name, err = scalar(file, f, "name", n, true); err != nil {
			return nil, err
		}
		if !validServerName(s.Name) {
			return nil, fileError(file, f["name"].Line, "server name %q: use letters, digits, '.', '_' and '-' (at most 63)", s.Name)
		}
		key := strings.ToLower(s.Name)
		if at, dup := names[key]; dup {
			return nil, fileError(file, f["name"].Line, "server name %q is already used on line %d", s.Name, at)
		}
		names[key] = f["name"].Line
		raw, err := scalar(file, f, "url", n, true)
		if err != nil {
			return nil, err
		}
		if s.URL, err = normServerURL(raw); err != nil {
			return nil, fileError(file, f["url"].Line, "server %s: url %q: %v", s.Name, raw, err)
		}
		if at, dup := urls[s.URL]; dup {
			return nil, fileError(file, f["url"].Line, "server %s: url %s is already used on line %d", s.Name, s.URL, at)
		}
		urls[s.URL] = f["url"].Line
		if s.Region, err = scalar(file, f, "region", n, false); err != nil {
			return nil, err
		}
		if p, ok := f["primary"]; ok {
			var b bool
			if p.Kind != yaml.ScalarNode || p.Decode(&b) != nil {
				return nil, fileError(file, p.Line, "server %s: primary must be true or false, not %q", s.Name, p.Value)
			}
			s.Primary = b
		}
		g.Servers = append(g.Servers, s)
	}
	for i := range g.Servers {
		if g.Servers[i].Primary {
			primaries = append(primaries, &g.Servers[i])
		}
	}
	switch len(primaries) {
	case 0:
		return nil, fileError(file, srvs.Line, "no server is the primary: mark exactly one with primary: true")
	case 1:
	default:
		var list []string
		for _, p := range primaries {
			list = append(list, fmt.Sprintf("%s (line %d)", p.Name, p.Line))
		}
		return nil, fileError(file, primaries[1].Line, "%d servers are marked primary: %s; a group has exactly one", len(primaries), strings.Join(list, ", "))
	}
	return g, nil
}

// noAliases refuses YAML anchors and aliases: a group file is small and
// plain, and aliases are how a hostile file makes a parser do unbounded
// work.
func noAliases(file string, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fileError(file, n.Line, "YAML anchors and aliases (&, *) are not supported in a group file")
	}
	for _, c := range n.Content {
		if err := noAliases(file, c); err != nil {
			return err
		}
	}
	return nil
}

// mapping reads a mapping's keys, refusing unknown and repeated ones.
func mapping(file string, n *yaml.Node, known []string, what string) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fileError(file, k.Line, "%s: keys must be plain words", what)
		}
		ok := false
		for _, kn := range known {
			if k.Value == kn {
				ok = true
			}
		}
		if !ok {
			hint := ""
			for _, kn := range known {
				if strings.EqualFold(k.Value, kn) {
					hint = fmt.Sprintf(" (did you mean %q? keys are case-sensitive)", kn)
				}
			}
			return nil, fileError(file, k.Line, "%s: unknown key %q%s; known keys: %s", what, k.Value, hint, strings.Join(known, ", "))
		}
		if prev, dup := out[k.Value]; dup {
			return nil, fileError(file, k.Line, "%s: %s is given twice (first on line %d)", what, k.Value, prev.Line)
		}
		out[k.Value] = v
	}
	return out, nil
}

// scalar reads a string value; required ones must be present and not
// empty.
func scalar(file string, fields map[string]*yaml.Node, key string, parent *yaml.Node, required bool) (string, error) {
	n, ok := fields[key]
	if !ok || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		if required {
			line := parent.Line
			if ok {
				line = n.Line
			}
			return "", fileError(file, line, "%s is required", key)
		}
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fileError(file, n.Line, "%s must be a single value, not a list or mapping", key)
	}
	v := strings.TrimSpace(n.Value)
	if required && v == "" {
		return "", fileError(file, n.Line, "%s is empty", key)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fileError(file, n.Line, "%s holds a control character", key)
	}
	return v, nil
}

func validGroupName(s string) bool { return validServerName(s) }

func validServerName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// normServerURL checks a server URL the way the client does and returns
// it normalised.
func normServerURL(raw string) (string, error) {
	if !strings.HasPrefix(strings.ToLower(raw), "http://") && !strings.HasPrefix(strings.ToLower(raw), "https://") {
		return "", errors.New("want an http:// or https:// URL")
	}
	cs, err := client.ParseConnectionString(raw)
	if err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), client.ErrConnString.Error()+": "))
	}
	if len(cs.Sources) != 1 {
		return "", errors.New("want one URL")
	}
	return cs.Sources[0].URL, nil
}

// checkStoreURL checks the form of a blob store URL; the store itself
// checks its parameters when opened.
func checkStoreURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || strings.Trim(u.Path, "/") == "" {
			return errors.New("want file:///absolute/directory")
		}
	case "azblob", "s3", "mem":
		if u.Host == "" {
			return fmt.Errorf("want %s://container-or-bucket (a host after %s://)", u.Scheme, u.Scheme)
		}
	default:
		return errors.New("want file:///dir, azblob://container, s3://bucket?... or mem://name")
	}
	if u.User != nil {
		return errors.New("credentials do not belong in the URL (use the AZURE_STORAGE_* or AWS variables)")
	}
	return nil
}

// parseObjectRef reads an aliasObject: an object name in the group's
// store, or a store URL whose last path segment is the object's name.
func parseObjectRef(raw, store string) (ObjectRef, error) {
	if !strings.Contains(raw, "://") {
		if err := blob.ValidName(raw); err != nil {
			return ObjectRef{}, err
		}
		return ObjectRef{Store: store, Name: raw}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ObjectRef{}, errors.New("not a URL")
	}
	p := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndex(p, "/")
	if i < 0 || p[i+1:] == "" || u.Scheme == "file" && i == 0 {
		return ObjectRef{}, errors.New("the URL names no object: put the object's name after the store's (file:///dir/alias, azblob://container/aliases/sales)")
	}
	name := p[i+1:]
	if err := blob.ValidName(name); err != nil {
		return ObjectRef{}, err
	}
	su := *u
	su.Path = p[:i]
	su.RawPath = ""
	if err := checkStoreURL(su.String()); err != nil {
		return ObjectRef{}, err
	}
	return ObjectRef{Store: su.String(), Name: name}, nil
}
