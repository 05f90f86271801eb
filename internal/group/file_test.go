package group

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goodFile = `name: sales
store: azblob://meridian-ha   # the store
alias: link+http://127.0.0.1:9000/aliases/sales
aliasObject: aliases/sales
servers:
  - name: west
    url: http://127.0.0.1:8484/
    region: westeurope
    primary: true
  - name: north
    url: HTTP://127.0.0.1:8485
    region: northeurope
  - name: south
    url: https://south.example.com
`

func TestParse(t *testing.T) {
	g, err := Parse([]byte(goodFile), "sales.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Group{
		File: "sales.yaml", Name: "sales", Store: "azblob://meridian-ha",
		Alias:       "link+http://127.0.0.1:9000/aliases/sales",
		AliasObject: ObjectRef{Store: "azblob://meridian-ha", Name: "aliases/sales"},
		Servers: []Server{
			{Name: "west", URL: "http://127.0.0.1:8484", Region: "westeurope", Primary: true, Line: 6},
			{Name: "north", URL: "http://127.0.0.1:8485", Region: "northeurope", Line: 10},
			{Name: "south", URL: "https://south.example.com", Line: 13},
		},
	}
	if d := cmp.Diff(want, g); d != "" {
		t.Errorf("group (-want +got):\n%s", d)
	}
	if g.Primary().Name != "west" || g.Server("NORTH") == nil || g.Server("east") != nil {
		t.Error("lookups")
	}
	if s := g.ServerByURL("http://127.0.0.1:8485/"); s == nil || s.Name != "north" {
		t.Errorf("ServerByURL = %v", s)
	}
}

func TestParseAliasObject(t *testing.T) {
	tests := []struct {
		obj  string
		want ObjectRef
	}{
		{"aliases/sales", ObjectRef{"mem://ha", "aliases/sales"}},
		{"file:///srv/www/aliases/sales", ObjectRef{"file:///srv/www/aliases", "sales"}},
		{"azblob://web/sales", ObjectRef{"azblob://web", "sales"}},
		{"azblob://web/a/b/sales?localemu=true", ObjectRef{"azblob://web/a/b?localemu=true", "sales"}},
	}
	for _, tt := range tests {
		t.Run(tt.obj, func(t *testing.T) {
			g, err := Parse([]byte("name: g\nstore: mem://ha\nalias: link://h/a\naliasObject: "+tt.obj+"\nservers:\n  - {name: a, url: 'http://a:1', primary: true}\n"), "")
			if err != nil {
				t.Fatal(err)
			}
			if g.AliasObject != tt.want {
				t.Errorf("got %+v, want %+v", g.AliasObject, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	base := "name: sales\nstore: mem://ha\nservers:\n"
	one := "  - name: west\n    url: http://a:1\n    primary: true\n"
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "empty"},
		{"not YAML", "name: [unclosed", "not YAML"},
		{"not a mapping", "- a\n- b\n", "top level must be a mapping"},
		{"two documents", base + one + "---\nname: other\n", "second YAML document"},
		{"unknown key", base + one + "stroe: x\n", `:7: the group: unknown key "stroe"`},
		{"wrong case key", "Name: sales\nstore: mem://ha\nservers:\n" + one, `did you mean "name"`},
		{"unknown server key", base + one + "    weight: 3\n", `:7: server 1: unknown key "weight"`},
		{"key twice", base + one + "store: mem://other\n", ":7: the group: store is given twice (first on line 2)"},
		{"no name", "store: mem://ha\nservers:\n" + one, "name is required"},
		{"bad name", "name: sales group\nstore: mem://ha\nservers:\n" + one, `name "sales group"`},
		{"no store", "name: s\nservers:\n" + one, "store is required"},
		{"bad store", "name: s\nstore: ftp://x\nservers:\n" + one, `:2: store "ftp://x"`},
		{"store with credentials", "name: s\nstore: azblob://user:pw@c\nservers:\n" + one, "credentials"},
		{"no servers", "name: s\nstore: mem://ha\n", "no servers"},
		{"servers empty", base + "  []\n", "servers is empty"},
		{"servers not a list", "name: s\nstore: mem://ha\nservers: west\n", "servers must be a list"},
		{"server not a mapping", base + "  - west\n", "server 1 must be a mapping"},
		{"no primary", base + "  - {name: a, url: 'http://a:1'}\n  - {name: b, url: 'http://b:1'}\n", "no server is the primary"},
		{"two primaries", base + "  - {name: a, url: 'http://a:1', primary: true}\n  - {name: b, url: 'http://b:1', primary: true}\n",
			"2 servers are marked primary: a (line 4), b (line 5)"},
		{"primary not a bool", base + "  - {name: a, url: 'http://a:1', primary: maybe}\n", `primary must be true or false, not "maybe"`},
		{"duplicate names", base + one + "  - {name: WEST, url: 'http://b:1'}\n", `:7: server name "WEST" is already used on line 4`},
		{"duplicate URLs", base + one + "  - {name: b, url: 'http://A:1/'}\n", "url http://a:1 is already used on line 5"},
		{"no URL", base + "  - {name: a, primary: true}\n", "url is required"},
		{"URL without scheme", base + "  - {name: a, url: 'a:1', primary: true}\n", `url "a:1": want an http:// or https:// URL`},
		{"alias URL as server", base + "  - {name: a, url: 'link://a/b', primary: true}\n", "want an http:// or https:// URL"},
		{"URL with query", base + "  - {name: a, url: 'http://a:1/?x=1', primary: true}\n", "takes no query"},
		{"URL bad port", base + "  - {name: a, url: 'http://a:99999', primary: true}\n", "bad port"},
		{"URL list", base + "  - {name: a, url: 'http://a:1,http://b:2', primary: true}\n", "url"},
		{"bad alias", "name: s\nstore: mem://ha\nalias: http://a/x\nservers:\n" + one, `:3: alias "http://a/x"`},
		{"aliasObject without alias", "name: s\nstore: mem://ha\naliasObject: a\nservers:\n" + one, "aliasObject without alias"},
		{"aliasObject escapes", "name: s\nstore: mem://ha\nalias: link://h/a\naliasObject: ../x\nservers:\n" + one, "aliasObject"},
		{"aliasObject URL without object", "name: s\nstore: mem://ha\nalias: link://h/a\naliasObject: azblob://web\nservers:\n" + one, "names no object"},
		{"anchors", "name: &n sales\nstore: mem://ha\nservers:\n" + one, "anchors and aliases"},
		{"name is a list", "name: [a]\nstore: mem://ha\nservers:\n" + one, "name must be a single value"},
		{"control character", "name: \"a\\x01\"\nstore: mem://ha\nservers:\n" + one, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.text), "g.yaml")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "g.yaml") {
				t.Errorf("err = %q, want it to name g.yaml and say %q", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "g.yaml")
	if err := os.WriteFile(p, []byte(goodFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if g, err := Load(p); err != nil || g.File != p {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("name: s\nstore: mem://ha\nservers:\n  - {name: a, url: 'http://a:1', primary: true}\n"))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data, "f.yaml")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// A valid group has exactly one primary and unique names.
		n := 0
		seen := map[string]bool{}
		for _, s := range g.Servers {
			if s.Primary {
				n++
			}
			if seen[strings.ToLower(s.Name)] {
				t.Fatalf("duplicate name %s", s.Name)
			}
			seen[strings.ToLower(s.Name)] = true
		}
		if n != 1 {
			t.Fatalf("%d primaries", n)
		}
	})
}
