package blob

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"a", true},
		{"Sales.abf", true},
		{"db/sales/v0001/manifest.json", true},
		{"with space", true},
		{"ünïcödé/日本語", true},
		{"..x/x..y/.hidden", true},
		{"a#b%c?d", true},
		{"replacement \uFFFD char", true},
		{strings.Repeat("s", MaxSegmentLen), true},
		{strings.Repeat("ab/", 341) + "a", true}, // 1024 bytes
		{"", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"../a", false},
		{"a/..", false},
		{"a/./b", false},
		{"a\\b", false},
		{"..\\..\\x", false},
		{"a\x00b", false},
		{"a\x1fb", false},
		{"a\x7fb", false},
		{"a\u0085b", false},
		{"a\xffb", false},
		{"a\xc3", false},
		{"name.", false},
		{"dir./x", false},
		{".meridian-tmp/x", false},
		{"a/.meridian", false},
		{strings.Repeat("s", MaxSegmentLen+1), false},
		{strings.Repeat("ab/", 341) + "ab", false}, // 1025 bytes
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidName(tc.name)
			if (err == nil) != tc.valid {
				t.Fatalf("ValidName(%q) = %v, want valid=%v", tc.name, err, tc.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Errorf("error %v does not wrap ErrInvalidName", err)
			}
		})
	}
}

func TestValidListPrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "a/b/", ".", "..", "a/..", "a/.", "x."} {
		if err := validListPrefix(p); err != nil {
			t.Errorf("prefix %q refused: %v", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "../", "a/../", "a//", "a\\", "\x00", "./"} {
		if err := validListPrefix(p); !errors.Is(err, ErrInvalidName) {
			t.Errorf("prefix %q: %v, want ErrInvalidName", p, err)
		}
	}
}

// FuzzValidName checks that every accepted name stays below the directory
// it is joined to, whatever the input.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../x", "a/../../b", "a\\..\\b", "./a", "a/.", "\xff", "é/ü", ".meridian"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidName(name) != nil {
			return
		}
		if path.Clean(name) != name || path.IsAbs(name) {
			t.Fatalf("accepted %q, which does not clean to itself", name)
		}
		joined := path.Join("/root/store", name)
		if !strings.HasPrefix(joined, "/root/store/") {
			t.Fatalf("accepted %q, which escapes to %q", name, joined)
		}
		if strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("accepted %q with a backslash or NUL", name)
		}
	})
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url            string
		scheme, bucket string
		path, prefix   string
	}{
		{"file:///var/data/backups", "file", "", "/var/data/backups", ""},
		{"file:///var/data/backups/", "file", "", "/var/data/backups", ""},
		{"file://localhost/d", "file", "", "/d", ""},
		{"file:///with%20space", "file", "", "/with space", ""},
		{"mem://", "mem", "", "", ""},
		{"mem://x/p/q/", "mem", "x", "", "p/q/"},
		{"azblob://meridian-ha", "azblob", "meridian-ha", "", ""},
		{"azblob://c01/some/prefix", "azblob", "c01", "", "some/prefix/"},
		{"azblob://c01?domain=127.0.0.1:10000&protocol=http&localemu=true", "azblob", "c01", "", ""},
		{"s3://bucket.name/p?endpoint=http%3A%2F%2F127.0.0.1%3A7070&region=us-east-1", "s3", "bucket.name", "", "p/"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			loc, err := parseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if loc.scheme != tc.scheme || loc.bucket != tc.bucket || loc.path != tc.path || loc.prefix != tc.prefix {
				t.Errorf("got scheme %q bucket %q path %q prefix %q", loc.scheme, loc.bucket, loc.path, loc.prefix)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, u := range []string{
		"", "relative/path", "/abs/path", "ftp://host/x", "file://host/x", "file://./rel", "file:///",
		"file:///a/../b", "file:///d?create_dir=1", "mem://x?y=1", "mem://x/../y", "mem://x/a//b",
		"azblob://", "azblob://UPPER", "azblob://ab", "azblob://a--b", "azblob://-ab", "azblob://user:pw@cont",
		"azblob://cont/..", "azblob://cont/%2e%2e/x", "azblob://cont#frag",
		"s3://", "s3://Bad_Bucket", "s3://b/..%2Fx", "%zz",
	} {
		t.Run(u, func(t *testing.T) {
			if _, err := parseURL(u); !errors.Is(err, ErrInvalidURL) {
				t.Errorf("parseURL(%q) = %v, want ErrInvalidURL", u, err)
			}
		})
	}
}

// FuzzParseURL checks that parsing never panics and that any prefix it
// yields is a valid name followed by a slash.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"file:///a/b", "mem://x/p", "azblob://cont/a/b?domain=x", "s3://bkt/p?endpoint=http://h", "azblob://c/%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := parseURL(raw)
		if err != nil {
			return
		}
		if loc.prefix != "" {
			p, ok := strings.CutSuffix(loc.prefix, "/")
			if !ok || ValidName(p) != nil {
				t.Fatalf("%q gave prefix %q", raw, loc.prefix)
			}
		}
		if loc.scheme == "file" && (!path.IsAbs(loc.path) || path.Clean(loc.path) != loc.path) {
			t.Fatalf("%q gave directory %q", raw, loc.path)
		}
	})
}
