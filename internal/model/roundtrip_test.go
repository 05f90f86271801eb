package model

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/testenv"
	"github.com/meridian-olap/meridian/internal/value"
)

// datasetModels returns every .bim file of the shared datasets.
func datasetModels(t testing.TB) []string {
	t.Helper()
	dir := testenv.Datasets(t)
	var files []string
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".bim") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 9 {
		t.Fatalf("found %d .bim files under %s, expected at least 9", len(files), dir)
	}
	return files
}

// tree decodes JSON into a generic tree, numbers kept as their text.
func tree(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %.200s: %v", b, err)
	}
	return v
}

// TestRoundTripDatasets checks that every real model scripts out as it was
// deployed, and validates without problems.
func TestRoundTripDatasets(t *testing.T) {
	for _, f := range datasetModels(t) {
		name, _ := filepath.Rel(testenv.Datasets(t), f)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			db, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out, err := json.Marshal(db)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if diff := cmp.Diff(tree(t, in), tree(t, out)); diff != "" {
				t.Errorf("script-out differs from the input (-in +out):\n%s", diff)
			}
			// A second round trip is stable too.
			db2, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse of script-out: %v", err)
			}
			out2, err := json.Marshal(db2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("second script-out differs from the first")
			}
			if ps := db.Validate(); len(ps) > 0 {
				for _, p := range ps {
					t.Errorf("problem: %s", p)
				}
			}
			if db.Model.Tables == nil && strings.Contains(string(in), `"tables"`) {
				t.Errorf("no tables decoded")
			}
		})
	}
}

// TestDatasetContent spot-checks decoded values of the real models against
// the files.
func TestDatasetContent(t *testing.T) {
	dir := testenv.Datasets(t)
	read := func(rel string) *Database {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		db, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}

	t.Run("legal-bi", func(t *testing.T) {
		db := read("legal-bi/model.bim")
		if db.Name != "legal-bi" || db.CompatibilityLevel != 1567 {
			t.Errorf("database = %q level %d", db.Name, db.CompatibilityLevel)
		}
		m := &db.Model
		if got := len(m.Relationships); got != 15 {
			t.Errorf("relationships = %d, want 15", got)
		}
		if got := len(m.Roles); got != 3 {
			t.Errorf("roles = %d, want 3", got)
		}
		ti := m.Table("time intelligence")
		if ti == nil || ti.CalculationGroup == nil {
			t.Fatalf("calculation group table not found")
		}
		if ti.CalculationGroup.Precedence != 100 {
			t.Errorf("precedence = %d", ti.CalculationGroup.Precedence)
		}
		if it := ti.CalculationGroup.Item("mtd"); it == nil || it.Ordinal != 1 || !strings.Contains(it.Expression.Text(), "TOTALMTD") {
			t.Errorf("calculation item MTD = %+v", it)
		}
		measures := m.Table("_Measures")
		if measures == nil || len(measures.Measures) != 36 || !measures.IsCalculated() {
			t.Fatalf("_Measures table: %+v", measures)
		}
		ms, tbl := m.Measure(measures.Measures[0].Name)
		if ms != measures.Measures[0] || tbl != measures {
			t.Errorf("Model.Measure did not find the first measure")
		}
		if e := m.Expression("PCSVROOT"); e == nil || e.Kind != "m" || !strings.Contains(e.Expression.Text(), `"legal-bi"`) {
			t.Errorf("expression pCsvRoot = %+v", e)
		}
		for _, r := range m.Relationships {
			from, to := r.Cardinalities()
			if from != CardinalityMany || to != CardinalityOne || r.Filter() != CrossFilterOne {
				t.Errorf("relationship %s: %s/%s %s", r.Name, from, to, r.Filter())
			}
		}
	})

	t.Run("contoso-sales", func(t *testing.T) {
		db := read("contoso-sales/model.bim")
		sales := db.Model.Table("Sales")
		if sales == nil || len(sales.Partitions) != 1 {
			t.Fatalf("Sales: %+v", sales)
		}
		src := sales.Partitions[0].Source
		if src.Type != SourceM || !strings.Contains(src.Expression.Text(), "Csv.Document") {
			t.Errorf("Sales source = %s %.80q", src.Type, src.Expression)
		}
		inactive := 0
		for _, r := range db.Model.Relationships {
			if !r.IsActive {
				inactive++
			}
		}
		if inactive == 0 {
			t.Errorf("expected inactive relationships in contoso-sales")
		}
	})

	t.Run("te-AdventureWorks", func(t *testing.T) {
		db := read("bim-samples/te-AdventureWorks.bim")
		cur := db.Model.Table("currency")
		if cur == nil {
			t.Fatal("no Currency table")
		}
		rn := cur.Columns[0]
		if rn.Type != ColumnRowNumber || rn.DataType != value.Integer || !rn.IsKey {
			t.Errorf("row number column = %+v", rn)
		}
		key := cur.Column("currencykey")
		if key == nil || key.Type != ColumnData || key.SourceColumn != "CurrencyKey" {
			t.Errorf("CurrencyKey = %+v", key)
		}
		if p := cur.Partitions[0]; p.Source.Kind() != SourceQuery || p.Source.DataSource != "SqlServer localhost" || !strings.HasPrefix(p.Source.Query.Text(), "SELECT") {
			t.Errorf("partition source = %+v", p.Source)
		}
	})
}

func TestExpressionForms(t *testing.T) {
	in := []byte(`{"name":"d","compatibilityLevel":1500,"model":{"tables":[{"name":"T",
		"measures":[{"name":"A","expression":["SUM ( T[x] )","+ 1"]},{"name":"B","expression":"2"}],
		"annotations":[{"name":"n","value":["line 1","line 2"]}]}]}}`)
	db, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	tb := db.Model.Tables[0]
	a, b := tb.Measure("a"), tb.Measure("b")
	if got := a.Expression.Text(); got != "SUM ( T[x] )\n+ 1" {
		t.Errorf("joined text = %q", got)
	}
	if got := a.Expression.Lines(); len(got) != 2 {
		t.Errorf("lines = %q", got)
	}
	if got, _ := AnnotationValue(tb.Annotations, "n"); got != "line 1\nline 2" {
		t.Errorf("annotation = %q", got)
	}

	// Unchanged: written back exactly as an array.
	out, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, in), tree(t, out)); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}

	// Changed: an array stays an array, a string stays a string.
	a.Expression = "1\n+ 2\n+ 3"
	b.Expression = "3"
	out, err = json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"expression":["1","+ 2","+ 3"]`, `"expression":"3"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestPreservation(t *testing.T) {
	in := []byte(`{"name":"d","compatibilityLevel":1500.0,"id":"x","readWriteMode":"readWrite",
	"model":{"culture":"en-US","futureProperty":{"deep":[1,2.50,{"a":null}]},
	"tables":[{"name":"T","lineageTag":"abc","columns":[
		{"name":"a","dataType":"Int64","sourceColumn":"a","isNullable":false,"extra":[]},
		{"name":"b","dataType":"automatic","type":"calculated","expression":"1","isHidden":false}],
		"partitions":[{"name":"p","source":{"type":"M","expression":"let x = 1 in x","unknown":1e3}}]}],
	"relationships":[{"name":"r","fromTable":"T","fromColumn":"a","toTable":"T","toColumn":"b","isActive":false,
		"crossFilteringBehavior":"BothDirections"}],
	"dataSources":[{"type":"structured","name":"s","connectionDetails":{"protocol":"postgresql",
		"address":{"server":"localhost:5432","database":"sales","port":5432}},"credential":{"AuthenticationKind":"UsernamePassword"}}]}}`)
	db, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if db.CompatibilityLevel != 1500 {
		t.Errorf("level = %d", db.CompatibilityLevel)
	}
	a, b := db.Model.Tables[0].Columns[0], db.Model.Tables[0].Columns[1]
	if a.DataType != value.Integer || a.TMSLDataType != "int64" {
		t.Errorf("column a = %+v", a)
	}
	if b.DataType != value.Variant || b.TMSLDataType != "automatic" || b.Type != ColumnCalculated {
		t.Errorf("column b = %+v", b)
	}
	if s := db.Model.Tables[0].Partitions[0].Source; s.Type != SourceM {
		t.Errorf("source type %q not normalised to m", s.Type)
	}
	r := db.Model.Relationships[0]
	if r.IsActive || r.CrossFilteringBehavior != CrossFilterBoth || r.FromCardinality != CardinalityMany || r.ToCardinality != CardinalityOne {
		t.Errorf("relationship = %+v", r)
	}
	ds := db.Model.DataSource("S")
	if ds == nil || ds.ConnectionDetails == nil || ds.ConnectionDetails.Protocol != "postgresql" ||
		ds.ConnectionDetails.Address.Database != "sales" || !strings.Contains(string(ds.Credential), "UsernamePassword") {
		t.Errorf("data source = %+v", ds)
	}

	out, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, in), tree(t, out)); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	// Numbers keep their text, case variants of enumerations their spelling.
	for _, want := range []string{`"compatibilityLevel":1500.0`, `2.50`, `1e3`, `"Int64"`, `"BothDirections"`, `"type":"M"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func TestEdits(t *testing.T) {
	in := []byte(`{"name":"d","compatibilityLevel":1500,"model":{"tables":[
		{"name":"T","columns":[{"name":"a","dataType":"string","sourceColumn":"a","annotations":[{"name":"k","value":"v"}]}]}],
	"relationships":[{"name":"r","fromTable":"T","fromColumn":"a","toTable":"U","toColumn":"b","isActive":false}]}}`)
	db, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	tb := db.Model.Tables[0]
	tb.Columns[0].Name = "renamed"
	tb.Columns[0].DataType = value.Integer // TMSLDataType is stale now
	tb.Columns[0].IsHidden = true          // absent before
	tb.Measures = append(tb.Measures, &Measure{Name: "M", Expression: "1"})
	db.Model.Relationships[0].IsActive = true
	db.Model.Relationships[0].CrossFilteringBehavior = CrossFilterBoth
	db.Model.Roles = []*Role{{Name: "readers", ModelPermission: PermissionRead}}

	out, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	want := tree(t, []byte(`{"name":"d","compatibilityLevel":1500,"model":{"tables":[
		{"name":"T","columns":[{"name":"renamed","dataType":"int64","sourceColumn":"a","annotations":[{"name":"k","value":"v"}],"isHidden":true}],
		 "measures":[{"name":"M","expression":"1"}]}],
	"relationships":[{"name":"r","fromTable":"T","fromColumn":"a","toTable":"U","toColumn":"b","isActive":true,"crossFilteringBehavior":"bothDirections"}],
	"roles":[{"name":"readers","modelPermission":"read"}]}}`))
	if diff := cmp.Diff(want, tree(t, out)); diff != "" {
		t.Errorf("edited script-out (-want +got):\n%s", diff)
	}
}

func TestBuiltInGo(t *testing.T) {
	db := &Database{
		Name:               "Sales",
		CompatibilityLevel: 1600,
		Model: Model{
			Culture: "en-US",
			Tables: []*Table{{
				Name: "Date",
				Columns: []*Column{
					{Name: "Date", DataType: value.DateTime, SourceColumn: "Date", IsKey: true},
					{Name: "Year", Type: ColumnCalculated, DataType: value.Integer, Expression: "YEAR ( 'Date'[Date] )"},
				},
				Partitions: []*Partition{{Name: "Date", Source: PartitionSource{Type: SourceM, Expression: "let x = 1 in x"}}},
			}},
			Relationships: []*Relationship{{Name: "r", FromTable: "Date", FromColumn: "Date", ToTable: "Date", ToColumn: "Year", IsActive: true}},
		},
	}
	out, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	want := tree(t, []byte(`{"name":"Sales","compatibilityLevel":1600,"model":{"culture":"en-US",
		"tables":[{"name":"Date",
			"columns":[{"name":"Date","dataType":"dateTime","sourceColumn":"Date","isKey":true},
			           {"name":"Year","type":"calculated","dataType":"int64","expression":"YEAR ( 'Date'[Date] )"}],
			"partitions":[{"name":"Date","source":{"type":"m","expression":"let x = 1 in x"}}]}],
		"relationships":[{"name":"r","fromTable":"Date","fromColumn":"Date","toTable":"Date","toColumn":"Year"}]}}`))
	if diff := cmp.Diff(want, tree(t, out)); diff != "" {
		t.Errorf("script-out (-want +got):\n%s", diff)
	}
	// Parsing the output gives back the same values.
	back, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	c := back.Model.Tables[0].Columns[1]
	if c.Type != ColumnCalculated || c.DataType != value.Integer || c.Expression != "YEAR ( 'Date'[Date] )" {
		t.Errorf("column back = %+v", c)
	}
}

// TestUnmarshalJSON checks the types work inside other structs decoded by
// encoding/json, and do not keep the caller's buffer.
func TestUnmarshalJSON(t *testing.T) {
	buf := []byte(`{"table":{"name":"T","isHidden":true,"x":1},"list":[{"name":"a","expression":["1","2"]}]}`)
	var v struct {
		Table Table
		List  []*Measure
	}
	if err := json.Unmarshal(buf, &v); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = ' '
	}
	if v.Table.Name != "T" || !v.Table.IsHidden || v.List[0].Expression != "1\n2" {
		t.Errorf("decoded %+v %+v", v.Table, v.List[0])
	}
	out, err := json.Marshal(v.Table)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"name":"T","isHidden":true,"x":1}` {
		t.Errorf("marshal = %s", out)
	}
	var bad Table
	err = json.Unmarshal([]byte(`{"name":"T","isHidden":"yes"}`), &bad)
	if err == nil || !strings.Contains(err.Error(), "isHidden: expected true or false") {
		t.Errorf("err = %v", err)
	}
}

func TestLookups(t *testing.T) {
	m := &Model{
		Tables: []*Table{nil, {
			Name:        "Sales",
			Columns:     []*Column{{Name: "Amount"}},
			Measures:    []*Measure{{Name: "Total"}},
			Partitions:  []*Partition{{Name: "P1"}},
			Hierarchies: []*Hierarchy{{Name: "H"}},
		}},
		Relationships: []*Relationship{{Name: "R"}},
		Roles:         []*Role{{Name: "Readers"}},
		Expressions:   []*NamedExpression{{Name: "Root"}},
		DataSources:   []*DataSource{{Name: "pg"}},
		Perspectives:  []*Perspective{{Name: "Lite"}},
	}
	s := m.Table("SALES")
	if s != m.Tables[1] {
		t.Fatal("Table is not case-insensitive")
	}
	if s.Column("amount") == nil || s.Measure("TOTAL") == nil || s.Partition("p1") == nil || s.Hierarchy("h") == nil {
		t.Error("table lookups failed")
	}
	if ms, tb := m.Measure("total"); ms == nil || tb != s {
		t.Error("Model.Measure failed")
	}
	if m.Relationship("r") == nil || m.Role("readers") == nil || m.Expression("ROOT") == nil ||
		m.DataSource("PG") == nil || m.Perspective("lite") == nil {
		t.Error("model lookups failed")
	}
	if m.Table("nope") != nil || s.Column("nope") != nil {
		t.Error("lookup of a missing name found something")
	}
	if ms, tb := m.Measure("nope"); ms != nil || tb != nil {
		t.Error("Model.Measure of a missing name found something")
	}
}
