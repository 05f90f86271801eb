package model

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// db wraps a model object's JSON into a database at level 1500.
func db(model string) string {
	return `{"name":"db","compatibilityLevel":1500,"model":` + model + `}`
}

// A valid model the cases below break one rule at a time.
const goodTables = `[
	{"name":"Sales","columns":[
		{"name":"Amount","dataType":"decimal","sourceColumn":"Amount"},
		{"name":"DateKey","dataType":"int64","sourceColumn":"DateKey"}],
	 "measures":[{"name":"Total","expression":"SUM ( Sales[Amount] )"}],
	 "partitions":[{"name":"p","source":{"type":"m","expression":"let x = 1 in x"}}]},
	{"name":"Date","columns":[
		{"name":"DateKey","dataType":"int64","sourceColumn":"DateKey"},
		{"name":"Month","dataType":"string","sourceColumn":"Month","sortByColumn":"MonthNo"},
		{"name":"MonthNo","dataType":"int64","sourceColumn":"MonthNo"}],
	 "hierarchies":[{"name":"Calendar","levels":[{"name":"Month","ordinal":0,"column":"Month"}]}]}
]`

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Problem // Message holds a part of the expected message
	}{
		{
			name: "valid",
			in: db(`{"tables":` + goodTables + `,
				"relationships":[{"name":"r","fromTable":"Sales","fromColumn":"DateKey","toTable":"Date","toColumn":"DateKey"}],
				"roles":[{"name":"Readers","modelPermission":"read","tablePermissions":[{"name":"Sales","filterExpression":"TRUE()"}]}],
				"perspectives":[{"name":"Lite","tables":[{"name":"Sales","columns":[{"name":"Amount"}],"measures":[{"name":"Total"}]},
					{"name":"Date","hierarchies":[{"name":"Calendar"}]}]}]}`),
		},
		{
			name: "missing database name",
			in:   `{"compatibilityLevel":1500,"model":{}}`,
			want: []Problem{{"name", "the database has no name"}},
		},
		{
			name: "compatibility level below 1200",
			in:   `{"name":"db","compatibilityLevel":1103,"model":{}}`,
			want: []Problem{{"compatibilityLevel", "compatibility level 1103 is not a tabular (TMSL) level"}},
		},
		{
			name: "compatibility level missing",
			in:   `{"name":"db","model":{}}`,
			want: []Problem{{"compatibilityLevel", "compatibilityLevel is missing"}},
		},
		{
			name: "table without name",
			in:   db(`{"tables":[{"columns":[]}]}`),
			want: []Problem{{"model.tables[0].name", "the table has no name"}},
		},
		{
			name: "duplicate table differing in case",
			in:   db(`{"tables":[{"name":"Sales"},{"name":"SALES"}]}`),
			want: []Problem{{"model.tables[1 'SALES'].name", "duplicate table name 'SALES' (names are compared without regard to case; first used at model.tables[0 'Sales'])"}},
		},
		{
			name: "table without partitions is allowed",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","dataType":"string","sourceColumn":"c"}]}]}`),
		},
		{
			name: "data column without sourceColumn is allowed",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","dataType":"string"}]}]}`),
		},
		{
			name: "column and measure share a name",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"X","dataType":"string","sourceColumn":"x"}],"measures":[{"name":"x","expression":"1"}]}]}`),
			want: []Problem{{"model.tables[0 'T'].measures[0 'x'].name", "duplicate column or measure name 'x'"}},
		},
		{
			name: "duplicate columns",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","dataType":"string"},{"name":"C","dataType":"string"},{"dataType":"string"}]}]}`),
			want: []Problem{
				{"model.tables[0 'T'].columns[1 'C'].name", "duplicate column or measure name 'C'"},
				{"model.tables[0 'T'].columns[2].name", "the column or measure has no name"},
			},
		},
		{
			name: "measure names are unique across the model",
			in:   db(`{"tables":[{"name":"A","measures":[{"name":"Total","expression":"1"}]},{"name":"B","measures":[{"name":"total","expression":"2"}]}]}`),
			want: []Problem{{"model.tables[1 'B'].measures[0 'total'].name", "duplicate measure name [total]: measure names are unique across the model (first used at model.tables[0 'A'].measures[0 'Total'])"}},
		},
		{
			name: "unknown data type",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","dataType":"text","sourceColumn":"c"}]}]}`),
			want: []Problem{{"model.tables[0 'T'].columns[0 'c'].dataType", `unknown dataType "text"`}},
		},
		{
			name: "unknown column type",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","type":"virtual","dataType":"string"}]}]}`),
			want: []Problem{{"model.tables[0 'T'].columns[0 'c'].type", `unknown column type "virtual"`}},
		},
		{
			name: "calculated column without expression",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","type":"calculated","dataType":"string","expression":["  ",""]}]}]}`),
			want: []Problem{{"model.tables[0 'T'].columns[0 'c'].expression", "the calculated column [c] has no expression"}},
		},
		{
			name: "sort by a missing column",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","dataType":"string","sortByColumn":"nope"}]}]}`),
			want: []Problem{{"model.tables[0 'T'].columns[0 'c'].sortByColumn", "sort-by column 'T'[nope] does not exist"}},
		},
		{
			name: "sort by itself",
			in:   db(`{"tables":[{"name":"T","columns":[{"name":"c","dataType":"string","sortByColumn":"C"}]}]}`),
			want: []Problem{{"model.tables[0 'T'].columns[0 'c'].sortByColumn", "the column [c] is sorted by itself"}},
		},
		{
			name: "unknown partition source type",
			in:   db(`{"tables":[{"name":"T","partitions":[{"name":"p","source":{"type":"csv"}}]}]}`),
			want: []Problem{{"model.tables[0 'T'].partitions[0 'p'].source.type", `unknown partition source type "csv"`}},
		},
		{
			name: "duplicate and unnamed partitions",
			in:   db(`{"tables":[{"name":"T","partitions":[{"name":"p","source":{"type":"m"}},{"name":"P","source":{"type":"m"}},{"source":{"type":"m"}}]}]}`),
			want: []Problem{
				{"model.tables[0 'T'].partitions[1 'P'].name", "duplicate partition name 'P'"},
				{"model.tables[0 'T'].partitions[2].name", "the partition has no name"},
			},
		},
		{
			name: "calculated table without expression",
			in:   db(`{"tables":[{"name":"T","partitions":[{"name":"p","source":{"type":"calculated"}}]}]}`),
			want: []Problem{{"model.tables[0 'T'].partitions[0 'p'].source.expression", "the calculated table 'T' has no expression"}},
		},
		{
			name: "calculated table with two partitions",
			in:   db(`{"tables":[{"name":"T","partitions":[{"name":"p","source":{"type":"calculated","expression":"{1}"}},{"name":"q","source":{"type":"m"}}]}]}`),
			want: []Problem{{"model.tables[0 'T'].partitions", "a calculated table has exactly one partition; this one has 2"}},
		},
		{
			name: "query partition naming a missing data source",
			in:   db(`{"dataSources":[{"name":"sql"}],"tables":[{"name":"T","partitions":[{"name":"p","source":{"query":"SELECT 1","dataSource":"SQL"}},{"name":"q","source":{"query":"SELECT 1","dataSource":"pg"}}]}]}`),
			want: []Problem{{"model.tables[0 'T'].partitions[1 'q'].source.dataSource", "data source 'pg' does not exist"}},
		},
		{
			name: "calculationGroup partition outside a calculation group",
			in:   db(`{"tables":[{"name":"T","partitions":[{"name":"p","source":{"type":"calculationGroup"}}]}]}`),
			want: []Problem{{"model.tables[0 'T'].partitions[0 'p'].source.type", "'T' has no calculationGroup"}},
		},
		{
			name: "hierarchy level on a missing column",
			in: db(`{"tables":[{"name":"T","columns":[{"name":"a","dataType":"string"}],"hierarchies":[
				{"name":"H","levels":[{"name":"L1","column":"a"},{"name":"l1","column":"b"},{"name":"L3"}]},{"name":"h","levels":[]}]}]}`),
			want: []Problem{
				{"model.tables[0 'T'].hierarchies[0 'H'].levels[1 'l1'].name", "duplicate level name 'l1'"},
				{"model.tables[0 'T'].hierarchies[0 'H'].levels[1 'l1'].column", "column 'T'[b] does not exist"},
				{"model.tables[0 'T'].hierarchies[0 'H'].levels[2 'L3'].column", "the level names no column"},
				{"model.tables[0 'T'].hierarchies[1 'h'].name", "duplicate hierarchy name 'h'"},
			},
		},
		{
			name: "valid calculation group",
			in: db(`{"tables":[{"name":"CG","calculationGroup":{"calculationItems":[{"name":"A","expression":"SELECTEDMEASURE()"}]},
				"columns":[{"name":"Item","dataType":"string","sourceColumn":"Name","sortByColumn":"Ordinal"},{"name":"Ordinal","dataType":"int64","sourceColumn":"Ordinal"}],
				"partitions":[{"name":"p","source":{"type":"calculationGroup"}}]}]}`),
		},
		{
			name: "calculation group without the name column",
			in: db(`{"tables":[{"name":"CG","calculationGroup":{"calculationItems":[{"name":"A"},{"name":"a"}]},
				"columns":[{"name":"Item","dataType":"string","sourceColumn":"Label"}],
				"partitions":[{"name":"p","source":{"type":"calculationGroup"}}]}]}`),
			want: []Problem{
				{"model.tables[0 'CG'].calculationGroup.calculationItems[1 'a'].name", "duplicate calculation item name 'a'"},
				{"model.tables[0 'CG'].columns[0 'Item']", `a calculation group table has only a column with sourceColumn "Name"`},
				{"model.tables[0 'CG'].columns", `exactly one column with sourceColumn "Name"; this one has 0`},
			},
		},
		{
			name: "calculation group with a wrongly typed column and no partition",
			in: db(`{"tables":[{"name":"CG","calculationGroup":{},
				"columns":[{"name":"Item","dataType":"int64","sourceColumn":"Name"},{"name":"O","dataType":"string","sourceColumn":"ordinal"}]}]}`),
			want: []Problem{
				{"model.tables[0 'CG'].partitions", "a calculation group table has exactly one partition, of source type calculationGroup"},
				{"model.tables[0 'CG'].columns[0 'Item'].dataType", "the name column of a calculation group is of type string, not int64"},
				{"model.tables[0 'CG'].columns[1 'O'].dataType", "the ordinal column of a calculation group is of type int64, not string"},
			},
		},
		{
			name: "relationship to missing table and column",
			in: db(`{"tables":` + goodTables + `,"relationships":[
				{"name":"r1","fromTable":"Sales","fromColumn":"Nope","toTable":"Calendar","toColumn":"DateKey"},
				{"name":"r2","fromTable":"Sales","toTable":"Date","toColumn":"DateKey"}]}`),
			want: []Problem{
				{"model.relationships[0 'r1'].fromColumn", "column 'Sales'[Nope] does not exist"},
				{"model.relationships[0 'r1'].toTable", "table 'Calendar' does not exist"},
				{"model.relationships[1 'r2'].fromColumn", "the relationship has no fromColumn"},
			},
		},
		{
			name: "relationship from a column to itself",
			in:   db(`{"tables":` + goodTables + `,"relationships":[{"name":"r","fromTable":"sales","fromColumn":"datekey","toTable":"Sales","toColumn":"DateKey"}]}`),
			want: []Problem{{"model.relationships[0 'r']", "the relationship relates column 'sales'[datekey] to itself"}},
		},
		{
			name: "duplicate relationships and unknown enumerations",
			in: db(`{"tables":` + goodTables + `,"relationships":[
				{"name":"r","fromTable":"Sales","fromColumn":"DateKey","toTable":"Date","toColumn":"DateKey","crossFilteringBehavior":"sideways","toCardinality":"several"},
				{"name":"R","fromTable":"Sales","fromColumn":"DateKey","toTable":"Date","toColumn":"DateKey","isActive":false,"securityFilteringBehavior":"automatic"}]}`),
			want: []Problem{
				{"model.relationships[0 'r'].crossFilteringBehavior", `unknown crossFilteringBehavior "sideways"`},
				{"model.relationships[0 'r'].toCardinality", `unknown cardinality "several"`},
				{"model.relationships[1 'R'].name", "duplicate relationship name 'R'"},
				{"model.relationships[1 'R'].securityFilteringBehavior", `unknown securityFilteringBehavior "automatic"`},
			},
		},
		{
			name: "roles",
			in: db(`{"tables":` + goodTables + `,"roles":[
				{"name":"A","modelPermission":"write","tablePermissions":[{"name":"Nope","filterExpression":"TRUE()"},
					{"name":"Sales","columnPermissions":[{"name":"Amount","metadataPermission":"none"},{"name":"Secret"}]},{"name":"sales"}]},
				{"name":"a"}]}`),
			want: []Problem{
				{"model.roles[0 'A'].modelPermission", `unknown modelPermission "write"`},
				{"model.roles[0 'A'].tablePermissions[0 'Nope'].name", "table 'Nope' does not exist"},
				{"model.roles[0 'A'].tablePermissions[1 'Sales'].columnPermissions[1 'Secret'].name", "column 'Sales'[Secret] does not exist"},
				{"model.roles[0 'A'].tablePermissions[2 'sales'].name", "duplicate table permission name 'sales'"},
				{"model.roles[1 'a'].name", "duplicate role name 'a'"},
			},
		},
		{
			name: "expressions, data sources and cultures",
			in: db(`{"expressions":[{"name":"P","kind":"m","expression":"1"},{"name":"p"},{"kind":"m"}],
				"dataSources":[{"name":"s","type":"odbc"},{"name":"S","type":"structured"}],
				"cultures":[{"name":"en-US"},{"name":"EN-us"}]}`),
			want: []Problem{
				{"model.expressions[1 'p'].name", "duplicate expression name 'p'"},
				{"model.expressions[2].name", "the expression has no name"},
				{"model.dataSources[0 's'].type", `unknown data source type "odbc"`},
				{"model.dataSources[1 'S'].name", "duplicate data source name 'S'"},
				{"model.cultures[1 'EN-us'].name", "duplicate culture name 'EN-us'"},
			},
		},
		{
			name: "perspectives naming missing objects",
			in: db(`{"tables":` + goodTables + `,"perspectives":[
				{"name":"P","tables":[{"name":"Nope"},{"name":"Sales","columns":[{"name":"Amount"},{"name":"Cost"}],"measures":[{"name":"Margin"}],"hierarchies":[{"name":"H"}]}]},
				{"name":"p"}]}`),
			want: []Problem{
				{"model.perspectives[0 'P'].tables[0 'Nope'].name", "table 'Nope' does not exist"},
				{"model.perspectives[0 'P'].tables[1 'Sales'].columns[1 'Cost'].name", "column 'Sales'[Cost] does not exist"},
				{"model.perspectives[0 'P'].tables[1 'Sales'].measures[0 'Margin'].name", "measure 'Sales'[Margin] does not exist"},
				{"model.perspectives[0 'P'].tables[1 'Sales'].hierarchies[0 'H'].name", "hierarchy 'Sales'[H] does not exist"},
				{"model.perspectives[1 'p'].name", "duplicate perspective name 'p'"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := d.Validate()
			paths := func(ps []Problem) []string {
				out := make([]string, len(ps))
				for i, p := range ps {
					out[i] = p.Path
				}
				return out
			}
			if diff := cmp.Diff(paths(tc.want), paths(got)); diff != "" {
				t.Fatalf("problem paths (-want +got):\n%s\nproblems: %v", diff, got)
			}
			for i, p := range got {
				if !strings.Contains(p.Message, tc.want[i].Message) {
					t.Errorf("problem %d: message %q lacks %q", i, p.Message, tc.want[i].Message)
				}
			}
			err = d.Check()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Check = %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) || len(ve.Problems) != len(tc.want) {
				t.Errorf("Check = %v", err)
			}
			if !strings.Contains(err.Error(), got[0].String()) {
				t.Errorf("error %q lacks the first problem %q", err, got[0])
			}
		})
	}
}

// TestValidateNilEntries checks that models built in Go with nil entries
// are reported, not a cause of panics.
func TestValidateNilEntries(t *testing.T) {
	d := &Database{Name: "x", CompatibilityLevel: 1500, Model: Model{
		Tables: []*Table{nil, {
			Name: "T", Columns: []*Column{nil}, Measures: []*Measure{nil}, Partitions: []*Partition{nil},
			Hierarchies:      []*Hierarchy{nil, {Name: "H", Levels: []*Level{nil}}},
			CalculationGroup: &CalculationGroup{CalculationItems: []*CalculationItem{nil}},
		}},
		Relationships: []*Relationship{nil},
		Roles:         []*Role{nil, {Name: "R", TablePermissions: []*TablePermission{nil, {Name: "T", ColumnPermissions: []*ColumnPermission{nil}}}}},
		Expressions:   []*NamedExpression{nil},
		DataSources:   []*DataSource{nil},
		Perspectives:  []*Perspective{nil, {Name: "P", Tables: []*PerspectiveTable{nil, {Name: "T", Columns: []*PerspectiveObject{nil}}}}},
		Cultures:      []*Culture{nil},
	}}
	ps := d.Validate()
	nulls := 0
	for _, p := range ps {
		if strings.HasSuffix(p.Message, "is null") {
			nulls++
		}
	}
	if nulls != 17 {
		t.Errorf("%d null entries reported, want 17:\n%v", nulls, ps)
	}
	if _, err := Parse(mustMarshal(t, d)); err == nil {
		t.Errorf("a script-out with null entries parsed")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
