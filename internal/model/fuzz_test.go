package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/testenv"
)

// fuzzSeeds are small documents touching every kind of property.
var fuzzSeeds = []string{
	`{"name":"d","compatibilityLevel":1500,"model":{"tables":[{"name":"T","columns":[{"name":"c","dataType":"Int64","type":"calculated","expression":["1","2"]}],
		"measures":[{"name":"m","expression":"1","kpi":{},"formatStringDefinition":{"expression":"\"0\""}}],
		"partitions":[{"name":"p","source":{"type":"m","expression":"let\n x = 1 in x"}}],
		"hierarchies":[{"name":"h","levels":[{"name":"l","ordinal":0,"column":"c"}]}],
		"calculationGroup":{"precedence":1,"calculationItems":[{"name":"i","ordinal":2}]}}],
		"relationships":[{"name":"r","fromTable":"T","fromColumn":"c","toTable":"T","toColumn":"c","isActive":false}],
		"roles":[{"name":"r","tablePermissions":[{"name":"T","filterExpression":["a","b"]}],"members":[{"memberName":"x"}]}],
		"dataSources":[{"name":"s","type":"structured","connectionDetails":{"address":{"server":"x"}},"credential":{"a":[1]}}],
		"perspectives":[{"name":"p","tables":[{"name":"T","columns":[{"name":"c"}]}]}],
		"cultures":[{"name":"en-US","linguisticMetadata":{"content":{"x":1}}}],
		"expressions":[{"name":"e","kind":"m","expression":"1"}],"annotations":[{"name":"a","value":["x","y"]}]}}`,
	`{"createOrReplace":{"object":{"database":"x"},"database":{"name":"x","model":{"x":1e5}}}}`,
	`{"name":"\u00e9\ud83d\ude00\"","id":"a\\b","model":null}`,
	`[]`,
	`{"model":{"tables":[null]}}`,
}

var commandSeeds = []string{
	`{"refresh":{"type":"full","objects":[{"database":"d","table":"t","partition":"p"}]}}`,
	`{"sequence":{"maxParallelism":2,"operations":[{"refresh":{"objects":[{"database":"d"}]}},{"delete":{"object":{"database":"d","role":"r"}}}]}}`,
	`{"backup":{"database":"d","file":"f","allowOverwrite":true,"applyCompression":"false","password":"p"}}`,
	`{"restore":{"database":"d","file":"f","security":"ignoreSecurity","locations":[1]}}`,
	`{"synchronize":{"database":"d","source":"s","synchronizeSecurity":"copyAll"}}`,
	`{"createOrReplace":{"object":{"database":"d","table":"t"},"table":{"name":"t","columns":[{"name":"c"}]}}}`,
	`{"create":{"parentObject":{"database":"d","table":"t"},"measure":{"name":"m","expression":["1"]}}}`,
	`{"alter":{"object":{"database":"d"},"model":{"culture":"en-US"}}}`,
}

// addDatasetSeeds adds the small real models when the datasets are present
// (without skipping the fuzz test when they are not).
func addDatasetSeeds(f *testing.F) {
	dir := os.Getenv("MERIDIAN_DATASETS")
	if dir == "" {
		dir = filepath.Join(testenv.ModuleRoot(f), "..", "shared", "datasets")
	}
	for _, name := range []string{"te-AllProperties.bim", "te-PQSourceModel.bim"} {
		if b, err := os.ReadFile(filepath.Join(dir, "bim-samples", name)); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// scripts out to the same JSON value and validates without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	addDatasetSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		db, err := Parse(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		db.Validate()
		out, err := json.Marshal(db)
		if err != nil {
			t.Fatalf("Marshal of a parsed database: %v", err)
		}
		want := tree(t, bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")))
		if m, ok := want.(map[string]any); ok && len(m) == 1 {
			for _, k := range []string{"createOrReplace", "create"} {
				if w, ok := m[k].(map[string]any); ok {
					want = w["database"]
				}
			}
		}
		if diff := cmp.Diff(want, tree(t, out)); diff != "" {
			t.Fatalf("script-out differs (-in +out):\n%s\nin:  %s\nout: %s", diff, in, out)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("script-out does not parse: %v", err)
		}
	})
}

// FuzzParseCommand checks that ParseCommand never panics and keeps
// definitions exactly.
func FuzzParseCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCommand(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		check := func(c *Command) {
			if c.Object == nil || c.Object.Value == nil {
				return
			}
			out, err := json.Marshal(c.Object.Value)
			if err != nil {
				t.Fatalf("Marshal of a definition: %v", err)
			}
			if diff := cmp.Diff(tree(t, c.Object.Definition), tree(t, out)); diff != "" {
				t.Fatalf("definition script-out differs (-in +out):\n%s", diff)
			}
		}
		check(c)
		if c.Sequence != nil {
			for _, op := range c.Sequence.Operations {
				check(op)
			}
		}
	})
}

// FuzzUnquote checks the string decoder against encoding/json.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, "\"\xff\"", `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, q []byte) {
		var want string
		if err := json.Unmarshal(q, &want); err != nil {
			return
		}
		got, err := unquote(bytes.TrimSpace(q))
		if err != nil {
			t.Fatalf("unquote(%q): %v", q, err)
		}
		if got != want {
			t.Fatalf("unquote(%q) = %q, encoding/json gives %q", q, got, want)
		}
	})
}
