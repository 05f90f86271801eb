package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/testenv"
)

func TestParseCommands(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c *Command)
	}{
		{
			name: "createOrReplace database",
			in: `{"createOrReplace":{"object":{"database":"Sales"},
				"database":{"name":"Sales","compatibilityLevel":1500,"model":{"tables":[{"name":"T","x":[1 , 2]}]}}}}`,
			check: func(t *testing.T, c *Command) {
				o := c.Object
				if c.Kind != CommandCreateOrReplace || o.Path.Database != "Sales" || o.Type != "database" {
					t.Errorf("command = %+v", o)
				}
				if o.Database == nil || o.Value != any(o.Database) || o.Database.Model.Table("t") == nil {
					t.Errorf("database = %+v", o.Database)
				}
				if !strings.Contains(string(o.Definition), `"x":[1 , 2]`) || !strings.HasPrefix(string(o.Definition), `{"name":"Sales"`) {
					t.Errorf("definition not kept as sent: %s", o.Definition)
				}
				if o.Path.Type() != "database" || o.Path.String() != `{"database":"Sales"}` {
					t.Errorf("path %s of type %q", o.Path, o.Path.Type())
				}
			},
		},
		{
			name: "create database has no parent",
			in:   `{"create":{"database":{"name":"New","compatibilityLevel":1200}}}`,
			check: func(t *testing.T, c *Command) {
				if c.Object.Database == nil || c.Object.Database.Name != "New" || c.Object.Path != (ObjectPath{}) {
					t.Errorf("create = %+v", c.Object)
				}
			},
		},
		{
			name: "create partition under a table",
			in: `{"create":{"parentObject":{"database":"AW","table":"Date"},
				"partition":{"name":"Date 2","source":{"query":["SELECT *","FROM d"],"dataSource":"sql"}}}}`,
			check: func(t *testing.T, c *Command) {
				p, ok := c.Object.Value.(*Partition)
				if !ok || p.Name != "Date 2" || p.Source.Query.Text() != "SELECT *\nFROM d" || c.Object.Path.Table != "Date" {
					t.Errorf("create partition = %+v", c.Object)
				}
			},
		},
		{
			name: "alter table",
			in:   `{"alter":{"object":{"database":"AW","table":"DimDate"},"table":{"name":"DimDate2"}}}`,
			check: func(t *testing.T, c *Command) {
				if tb, ok := c.Object.Value.(*Table); !ok || tb.Name != "DimDate2" || c.Object.Path.Type() != "table" {
					t.Errorf("alter = %+v", c.Object)
				}
			},
		},
		{
			name: "createOrReplace role",
			in: `{"createOrReplace":{"object":{"database":"AW","role":"DataReader"},
				"role":{"name":"DataReader","modelPermission":"read","members":[{"memberName":"ADVENTUREWORKS\\InternalSalesGrp"}]}}}`,
			check: func(t *testing.T, c *Command) {
				r, ok := c.Object.Value.(*Role)
				if !ok || r.ModelPermission != PermissionRead || r.Members[0].MemberName != `ADVENTUREWORKS\InternalSalesGrp` {
					t.Errorf("role = %+v", c.Object.Value)
				}
			},
		},
		{
			name: "delete partition",
			in:   `{"delete":{"object":{"database":"AW","table":"Reseller Sales","partition":"may2011"}}}`,
			check: func(t *testing.T, c *Command) {
				want := ObjectPath{Database: "AW", Table: "Reseller Sales", Partition: "may2011"}
				if c.Object.Path != want || c.Object.Path.Type() != "partition" || c.Object.Type != "" {
					t.Errorf("delete = %+v", c.Object)
				}
			},
		},
		{
			name: "refresh",
			in: `{"refresh":{"type":"Full","objects":[{"database":"AW","table":"FactSalesQuota","partition":"2011"},{"database":"AW"}],
				"overrides":[{"partitions":[]}]}}`,
			check: func(t *testing.T, c *Command) {
				r := c.Refresh
				want := []ObjectPath{{Database: "AW", Table: "FactSalesQuota", Partition: "2011"}, {Database: "AW"}}
				if r.Type != RefreshFull || !r.ApplyRefreshPolicy || string(r.Overrides) != `[{"partitions":[]}]` {
					t.Errorf("refresh = %+v", r)
				}
				if diff := cmp.Diff(want, r.Objects); diff != "" {
					t.Errorf("objects (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "refresh type defaults to automatic",
			in:   `{"refresh":{"objects":[{"database":"AW","table":"Date"}],"applyRefreshPolicy":false,"effectiveDate":"12/31/2013"}}`,
			check: func(t *testing.T, c *Command) {
				if r := c.Refresh; r.Type != RefreshAutomatic || r.ApplyRefreshPolicy || r.EffectiveDate != "12/31/2013" {
					t.Errorf("refresh = %+v", r)
				}
			},
		},
		{
			name: "sequence",
			in: `{"sequence":{"maxParallelism":3,"operations":[
				{"refresh":{"type":"clearValues","objects":[{"database":"s"}]}},
				{"refresh":{"type":"dataOnly","objects":[{"database":"s"}]}},
				{"backup":{"database":"s","file":"s.abf"}}]}}`,
			check: func(t *testing.T, c *Command) {
				s := c.Sequence
				if s.MaxParallelism != 3 || len(s.Operations) != 3 {
					t.Fatalf("sequence = %+v", s)
				}
				if s.Operations[1].Refresh.Type != RefreshDataOnly || s.Operations[2].Backup.File != "s.abf" {
					t.Errorf("operations = %+v %+v", s.Operations[1], s.Operations[2])
				}
				if string(s.Operations[2].Raw) != `{"backup":{"database":"s","file":"s.abf"}}` {
					t.Errorf("raw = %s", s.Operations[2].Raw)
				}
			},
		},
		{
			name: "backup defaults",
			in:   `{"backup":{"database":"Sales","file":"Sales.abf"}}`,
			check: func(t *testing.T, c *Command) {
				want := &Backup{Database: "Sales", File: "Sales.abf", AllowOverwrite: false, ApplyCompression: true}
				if diff := cmp.Diff(want, c.Backup); diff != "" {
					t.Errorf("backup (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "backup with every member",
			in:   `{"backup":{"database":"Sales","file":"dir/Sales.abf","allowOverwrite":true,"applyCompression":false,"password":"pw"}}`,
			check: func(t *testing.T, c *Command) {
				want := &Backup{Database: "Sales", File: "dir/Sales.abf", Password: "pw", AllowOverwrite: true, ApplyCompression: false}
				if diff := cmp.Diff(want, c.Backup); diff != "" {
					t.Errorf("backup (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "restore defaults",
			in:   `{"restore":{"database":"Sales","file":"Sales.abf"}}`,
			check: func(t *testing.T, c *Command) {
				want := &Restore{Database: "Sales", File: "Sales.abf", Security: SecurityCopyAll, ReadWriteMode: "readWrite"}
				if diff := cmp.Diff(want, c.Restore); diff != "" {
					t.Errorf("restore (-want +got):\n%s", diff)
				}
			},
		},
		{
			// The TMSL reference's example, with booleans as strings and
			// multidimensional options.
			name: "restore as in the reference",
			in: `{"restore":{"database":"AdventureWorksDW2014","file":"c:\\awdbdwfile.abf","security":"skipMembership",
				"allowOverwrite":"true","password":"..","locations":"d:\\data\\","storageLocation":"..","dbStorageLocation":"e:\\db"}}`,
			check: func(t *testing.T, c *Command) {
				r := c.Restore
				if !r.AllowOverwrite || r.Security != SecuritySkipMembership || r.Password != ".." || r.DBStorageLocation != `e:\db` ||
					string(r.Locations) != `"d:\\data\\"` || r.File != `c:\awdbdwfile.abf` {
					t.Errorf("restore = %+v", r)
				}
			},
		},
		{
			name: "synchronize",
			in: `{"synchronize":{"database":"Prod","source":"Provider=MSOLAP.7;Data Source=localhost;Initial Catalog=Dev",
				"synchronizeSecurity":"copyAll","applyCompression":false}}`,
			check: func(t *testing.T, c *Command) {
				want := &Synchronize{Database: "Prod", Source: "Provider=MSOLAP.7;Data Source=localhost;Initial Catalog=Dev",
					SynchronizeSecurity: SecurityCopyAll}
				if diff := cmp.Diff(want, c.Synchronize); diff != "" {
					t.Errorf("synchronize (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "synchronize defaults",
			in:   `{"synchronize":{"database":"Prod","source":"Data Source=x"}}`,
			check: func(t *testing.T, c *Command) {
				if s := c.Synchronize; s.SynchronizeSecurity != SecuritySkipMembership || !s.ApplyCompression {
					t.Errorf("synchronize = %+v", s)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(c.Raw) {
				t.Errorf("Raw is not JSON: %s", c.Raw)
			}
			tc.check(t, c)
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name, in, path, text string
	}{
		{"not an object", `"refresh"`, "", "expected a TMSL command object, got a string"},
		{"empty", `{}`, "", "empty command"},
		{"two commands", `{"backup":{},"restore":{}}`, "", `exactly one member, the command; found "backup", "restore"`},
		{"unknown command", `{"process":{}}`, "process", `unknown TMSL command "process"`},
		{"case of a command", `{"CreateOrReplace":{}}`, "CreateOrReplace", `did you mean "createOrReplace"?`},
		{"unsupported command", `{"mergePartitions":{}}`, "mergePartitions", "is not supported"},
		{"command body not an object", `{"backup":[]}`, "backup", "expected an object, got an array"},
		{"backup without file", `{"backup":{"database":"x"}}`, "backup", `missing required member "file"`},
		{"backup with empty database", `{"backup":{"database":"","file":"f"}}`, "backup.database", "must not be empty"},
		{"backup unknown member", `{"backup":{"database":"x","file":"f","compress":true}}`, "backup.compress", `unknown member "compress"`},
		{"backup bad boolean", `{"backup":{"database":"x","file":"f","allowOverwrite":"yes"}}`, "backup.allowOverwrite", "expected true or false"},
		{"backup duplicate member", `{"backup":{"database":"x","file":"f","file":"g"}}`, "backup.file", `duplicate member "file"`},
		{"restore bad security", `{"restore":{"database":"x","file":"f","security":"all"}}`, "restore.security", `unknown value "all"; expected one of copyAll, skipMembership, ignoreSecurity`},
		{"synchronize without source", `{"synchronize":{"database":"x"}}`, "synchronize", `missing required member "source"`},
		{"refresh without objects", `{"refresh":{"type":"full"}}`, "refresh", `missing required member "objects"`},
		{"refresh empty objects", `{"refresh":{"type":"full","objects":[]}}`, "refresh.objects", "no objects to refresh"},
		{"refresh bad type", `{"refresh":{"type":"process","objects":[{"database":"x"}]}}`, "refresh.type", `unknown value "process"`},
		{"refresh object without database", `{"refresh":{"type":"full","objects":[{"table":"T"}]}}`, "refresh.objects[0]", "names no database"},
		{"refresh partition without table", `{"refresh":{"type":"full","objects":[{"database":"d","partition":"p"}]}}`, "refresh.objects[0]", "names a partition but no table"},
		{"refresh of a role", `{"refresh":{"type":"full","objects":[{"database":"d","role":"r"}]}}`, "refresh.objects[0]", "not a role"},
		{"refresh add of a table", `{"refresh":{"type":"add","objects":[{"database":"d","table":"t"}]}}`, "refresh.objects[0]", "partitions only"},
		{"refresh defragment of a partition", `{"refresh":{"type":"defragment","objects":[{"database":"d","table":"t","partition":"p"}]}}`, "refresh.objects[0]", "databases and tables only"},
		{"refresh path with unknown type", `{"refresh":{"objects":[{"database":"d","cube":"c"}]}}`, "refresh.objects[0].cube", `unknown object type "cube"`},
		{"refresh path value not a string", `{"refresh":{"objects":[{"database":1}]}}`, "refresh.objects[0].database", "expected a string, got a number (1)"},
		{"sequence without operations", `{"sequence":{"maxParallelism":2}}`, "sequence", `missing required member "operations"`},
		{"sequence bad parallelism", `{"sequence":{"maxParallelism":0,"operations":[]}}`, "sequence.maxParallelism", "must be a positive integer"},
		{"sequence in a sequence", `{"sequence":{"operations":[{"sequence":{"operations":[]}}]}}`, "sequence.operations[0].sequence", "cannot contain another sequence"},
		{"error inside a sequence", `{"sequence":{"operations":[{"backup":{"database":"d","file":"f"}},{"refresh":{"objects":[{"database":"d","table":5}]}}]}}`,
			"sequence.operations[1].refresh.objects[0].table", "expected a string"},
		{"createOrReplace without object", `{"createOrReplace":{"database":{"name":"x"}}}`, "createOrReplace", `missing required member "object" naming the database`},
		{"createOrReplace without definition", `{"createOrReplace":{"object":{"database":"x"}}}`, "createOrReplace", "missing the object definition"},
		{"createOrReplace path mismatch", `{"createOrReplace":{"object":{"database":"x","table":"t"},"database":{"name":"x"}}}`, "createOrReplace.object", "must name a database"},
		{"createOrReplace two definitions", `{"createOrReplace":{"object":{"database":"x"},"database":{},"table":{}}}`, "createOrReplace.table", `found "database" and "table"`},
		{"createOrReplace unknown member", `{"createOrReplace":{"object":{"database":"x"},"database":{},"force":true}}`, "createOrReplace.force", `unknown member "force"`},
		{"createOrReplace bad definition", `{"createOrReplace":{"object":{"database":"x"},"database":{"model":{"tables":[{"name":"T","isHidden":1}]}}}}`,
			"createOrReplace.database.model.tables[0 'T'].isHidden", "expected true or false, got a number (1)"},
		{"create database with a parent", `{"create":{"parentObject":{"database":"x"},"database":{}}}`, "create.parentObject", "is created without a parentObject"},
		{"create partition under a database", `{"create":{"parentObject":{"database":"x"},"partition":{}}}`, "create.parentObject", "must name a table"},
		{"delete without object", `{"delete":{}}`, "delete", `missing required member "object"`},
		{"delete with a definition", `{"delete":{"object":{"database":"x"},"database":{}}}`, "delete.database", `unknown member "database"`},
		{"path naming two objects", `{"delete":{"object":{"database":"x","table":"t","role":"r"}}}`, "delete.object", "names more than one object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseCommand succeeded: %+v", c)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrSchema) {
				t.Fatalf("error %v (%T) is not a schema *ParseError", err, err)
			}
			if pe.Path != tc.path {
				t.Errorf("path = %q, want %q (%v)", pe.Path, tc.path, err)
			}
			if !strings.Contains(pe.Msg, tc.text) {
				t.Errorf("message %q lacks %q", pe.Msg, tc.text)
			}
			if pe.Line == 0 {
				t.Errorf("no line in %v", err)
			}
		})
	}
}

func TestParseCommandSyntax(t *testing.T) {
	_, err := ParseCommand([]byte("{\"backup\": {\n  \"database\": \"x\",\n}}"))
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) || pe.Line != 3 || pe.Column != 1 {
		t.Errorf("err = %v (%+v)", err, pe)
	}
}

// TestDeployDataset deploys a real model through createOrReplace, as a
// user pasting SSMS's script would.
func TestDeployDataset(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(testenv.Datasets(t), "legal-bi", "model.bim"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := append([]byte(`{"createOrReplace":{"object":{"database":"legal-bi"},"database":`), in...)
	cmd = append(cmd, "}}"...)
	c, err := ParseCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, in), tree(t, c.Object.Definition)); diff != "" {
		t.Errorf("definition differs from the model (-want +got):\n%s", diff)
	}
	out, err := json.Marshal(c.Object.Database)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, in), tree(t, out)); diff != "" {
		t.Errorf("script-out differs (-want +got):\n%s", diff)
	}
	if err := c.Object.Database.Check(); err != nil {
		t.Error(err)
	}
}

func TestObjectPathType(t *testing.T) {
	tests := []struct {
		path ObjectPath
		typ  string
		str  string
	}{
		{ObjectPath{}, "", `{}`},
		{ObjectPath{Database: "d"}, "database", `{"database":"d"}`},
		{ObjectPath{Database: "d", Role: "r"}, "role", `{"database":"d","role":"r"}`},
		{ObjectPath{Database: "d", DataSource: `s "1"`}, "dataSource", `{"database":"d","dataSource":"s \"1\""}`},
		{ObjectPath{Database: "d", Table: "t", Measure: "m"}, "measure", `{"database":"d","table":"t","measure":"m"}`},
		{ObjectPath{Database: "d", Expression: "e"}, "expression", `{"database":"d","expression":"e"}`},
	}
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			if got := tc.path.Type(); got != tc.typ {
				t.Errorf("Type = %q, want %q", got, tc.typ)
			}
			if got := tc.path.String(); got != tc.str {
				t.Errorf("String = %s, want %s", got, tc.str)
			}
		})
	}
}
