package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConnectionString(t *testing.T) {
	h1 := Source{URL: "http://h1:8484"}
	h2 := Source{URL: "http://h2:8484"}
	tests := []struct {
		name string
		in   string
		want *ConnString
	}{
		{"full", "Data Source=http://h1:8484,http://h2:8484;Initial Catalog=Sales;Timeout=30",
			&ConnString{Sources: []Source{h1, h2}, Catalog: "Sales", Timeout: 30 * time.Second, TimeoutSet: true}},
		{"bare URL", "http://h1:8484", &ConnString{Sources: []Source{h1}}},
		{"bare URL list with spaces", " http://h1:8484 , http://h2:8484 ", &ConnString{Sources: []Source{h1, h2}}},
		{"bare URL trailing slash", "http://h1:8484/", &ConnString{Sources: []Source{h1}}},
		{"case-insensitive keys", "data source=http://h1:8484;INITIAL CATALOG=Sales",
			&ConnString{Sources: []Source{h1}, Catalog: "Sales"}},
		{"spaces around keys and values", "  Data  Source = http://h1:8484 ;  Initial Catalog =  Sales  ",
			&ConnString{Sources: []Source{h1}, Catalog: "Sales"}},
		{"synonyms", "Server=http://h1:8484;Database=Sales;Connect Timeout=5",
			&ConnString{Sources: []Source{h1}, Catalog: "Sales", Timeout: 5 * time.Second, TimeoutSet: true}},
		{"double-quoted value with semicolon", `Data Source=http://h1:8484;Initial Catalog="Sales;2024"`,
			&ConnString{Sources: []Source{h1}, Catalog: "Sales;2024"}},
		{"single-quoted value with doubled quote", `Data Source=http://h1:8484;Initial Catalog='O''Brien''s'`,
			&ConnString{Sources: []Source{h1}, Catalog: "O'Brien's"}},
		{"quoted data source", `Data Source="http://h1:8484, http://h2:8484"`, &ConnString{Sources: []Source{h1, h2}}},
		{"quoted value keeps spaces", `Data Source=http://h1:8484;Initial Catalog=" Sales "`,
			&ConnString{Sources: []Source{h1}, Catalog: " Sales "}},
		{"empty pairs ignored", ";;Data Source=http://h1:8484;;Initial Catalog=Sales;",
			&ConnString{Sources: []Source{h1}, Catalog: "Sales"}},
		{"upper-case scheme and host normalised", "Data Source=HTTP://H1:8484", &ConnString{Sources: []Source{h1}}},
		{"https with path", "Data Source=https://example.com/meridian/", &ConnString{Sources: []Source{{URL: "https://example.com/meridian"}}}},
		{"ipv6", "http://[::1]:8484", &ConnString{Sources: []Source{{URL: "http://[::1]:8484"}}}},
		{"link alias", "Data Source=link://aliases.example.com/sales;Initial Catalog=Sales",
			&ConnString{Sources: []Source{{URL: "link://aliases.example.com/sales", Alias: true}}, Catalog: "Sales"}},
		{"link+http alias", "link+http://127.0.0.1:9000/aliases/sales",
			&ConnString{Sources: []Source{{URL: "link+http://127.0.0.1:9000/aliases/sales", Alias: true}}}},
		{"timeout as duration", "Data Source=http://h1:8484;Timeout=1m30s",
			&ConnString{Sources: []Source{h1}, Timeout: 90 * time.Second, TimeoutSet: true}},
		{"timeout zero", "Data Source=http://h1:8484;Timeout=0",
			&ConnString{Sources: []Source{h1}, Timeout: 0, TimeoutSet: true}},
		{"empty catalog", "Data Source=http://h1:8484;Initial Catalog=", &ConnString{Sources: []Source{h1}}},
		{"value with equals", "Data Source=http://h1:8484;Initial Catalog=a=b", &ConnString{Sources: []Source{h1}, Catalog: "a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnectionString(tt.in)
			if err != nil {
				t.Fatalf("ParseConnectionString(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseConnectionString(%q) (-want +got):\n%s", tt.in, d)
			}
			// The canonical form reads back the same.
			again, err := ParseConnectionString(got.String())
			if err != nil {
				t.Fatalf("re-parse %q: %v", got.String(), err)
			}
			if d := cmp.Diff(got, again); d != "" {
				t.Errorf("String() %q does not read back (-first +again):\n%s", got.String(), d)
			}
		})
	}
}

func TestParseConnectionStringErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // a part of the message that names the problem
	}{
		{"empty", "   ", "empty"},
		{"unknown key", "Data Source=http://h1;Flavour=vanilla", `unknown key "Flavour"`},
		{"no data source", "Initial Catalog=Sales", "no Data Source"},
		{"empty data source", "Data Source=;Initial Catalog=Sales", "empty Data Source"},
		{"empty list entry", "Data Source=http://h1,,http://h2", "entry 2 is empty"},
		{"bad scheme", "Data Source=ftp://h1:21", `unsupported scheme "ftp"`},
		{"bare bad scheme", "ftp://h1:21", `unsupported scheme "ftp"`},
		{"no scheme", "Data Source=h1:8484", "h1:8484"},
		{"host only", "Data Source=localhost", "no scheme"},
		{"no host", "Data Source=http://", "no host"},
		{"credentials", "Data Source=http://u:p@h1", "credentials"},
		{"query", "Data Source=http://h1?x=1", "no query"},
		{"bad port", "Data Source=http://h1:99999", "bad port"},
		{"duplicate server", "Data Source=http://h1,HTTP://H1", "twice"},
		{"duplicate key", "Data Source=http://h1;Server=http://h2", "given twice"},
		{"bad timeout", "Data Source=http://h1;Timeout=soon", `Timeout "soon"`},
		{"negative timeout", "Data Source=http://h1;Timeout=-5", "negative"},
		{"huge timeout", "Data Source=http://h1;Timeout=99999999999999999", "too large"},
		{"empty timeout", "Data Source=http://h1;Timeout=", "Timeout is empty"},
		{"unclosed quote", `Data Source=http://h1;Initial Catalog="Sales`, "never closed"},
		{"junk after quote", `Data Source=http://h1;Initial Catalog="Sales"x`, "after the closing quote"},
		{"pair without equals", "Data Source=http://h1;Sales", `"Sales" at offset 22 has no "="`},
		{"empty key", "=x;Data Source=http://h1", "empty key"},
		{"too long", "Data Source=http://h1;Initial Catalog=" + strings.Repeat("x", 70000), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnectionString(tt.in)
			if err == nil {
				t.Fatalf("ParseConnectionString(%q) = %+v, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrConnString) {
				t.Errorf("error %v does not wrap ErrConnString", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{
		"Data Source=http://h1:8484,http://h2:8484;Initial Catalog=Sales;Timeout=30",
		"http://127.0.0.1:8484",
		`Data Source="http://h1;x";Initial Catalog='a''b'`,
		"link://host/path",
		"Server=https://[::1]:1/p%2Cq;Database=\"x\"\"y\";Timeout=1.5s",
		";;=;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseConnectionString(s)
		if err != nil {
			if !errors.Is(err, ErrConnString) {
				t.Fatalf("error %v does not wrap ErrConnString", err)
			}
			return
		}
		if len(cs.Sources) == 0 {
			t.Fatalf("parsed %q with no sources", s)
		}
		again, err := ParseConnectionString(cs.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", cs.String(), s, err)
		}
		if d := cmp.Diff(cs, again); d != "" {
			t.Fatalf("canonical form %q of %q reads back differently:\n%s", cs.String(), s, d)
		}
	})
}
