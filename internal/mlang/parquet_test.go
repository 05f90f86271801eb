package mlang

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/meridian-olap/meridian/internal/value"
)

// salesParquet is a small Parquet file: a date, a key, a quantity, a price
// as DECIMAL(9,2), a name that is sometimes null; two row groups.
func salesParquet(t *testing.T) string {
	t.Helper()
	schema := pq.NewSchema("sales", pq.Group{
		"Day":   pq.Date(),
		"Key":   pq.Leaf(pq.Int64Type),
		"Qty":   pq.Int(32),
		"Price": pq.Decimal(2, 9, pq.Int32Type),
		"Name":  pq.Optional(pq.String()),
	})
	var buf bytes.Buffer
	w := pq.NewWriter(&buf, schema, pq.MaxRowsPerRowGroup(2), pq.Compression(&pq.Zstd))
	day := int32(value.DateOf(2024, 1, 1) - value.DateOf(1970, 1, 1))
	names := []string{"a", "", "c"}
	for i := int32(0); i < 3; i++ {
		// Columns in the schema's order: Day, Key, Name, Price, Qty.
		name := pq.ByteArrayValue([]byte(names[i])).Level(0, 1, 2)
		if names[i] == "" {
			name = pq.NullValue().Level(0, 0, 2)
		}
		row := pq.Row{
			pq.Int32Value(day+i).Level(0, 0, 0),
			pq.Int64Value(int64(i+1)).Level(0, 0, 1),
			name,
			pq.Int32Value(1050*(i+1)).Level(0, 0, 3),
			pq.Int32Value(i*2).Level(0, 0, 4),
		}
		if _, err := w.WriteRows([]pq.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestParquetDocument(t *testing.T) {
	env := filesEnv(t, map[string]string{"data/Sales.parquet": salesParquet(t)})
	src := `Parquet.Document(File.Contents("data/Sales.parquet"))`
	tests := []struct {
		name string
		expr string
		want [][]string
	}{
		{
			name: "the file's own types",
			expr: src,
			want: [][]string{
				{"d:2024-01-01T00:00:00", "i:1", "s:a", "c:10.5", "i:0"},
				{"d:2024-01-02T00:00:00", "i:2", "∅", "c:21", "i:2"},
				{"d:2024-01-03T00:00:00", "i:3", "s:c", "c:31.5", "i:4"},
			},
		},
		{
			name: "types changed, columns chosen and renamed",
			expr: `let
    Source = ` + src + `,
    Typed = Table.TransformColumnTypes(Source, {{"Price", type number}, {"Key", type text}, {"Qty", Currency.Type}}),
    Chosen = Table.SelectColumns(Typed, {"Qty", "Key", "Price", "Missing"}, MissingField.UseNull),
    Renamed = Table.RenameColumns(Chosen, {{"Key", "Product"}})
in
    Renamed`,
			want: [][]string{
				{"c:0", "s:1", "f:10.5", "∅"},
				{"c:2", "s:2", "f:21", "∅"},
				{"c:4", "s:3", "f:31.5", "∅"},
			},
		},
		{
			name: "skip crosses a row group",
			expr: `Table.SelectColumns(Table.Skip(` + src + `, 2), {"Key"})`,
			want: [][]string{{"i:3"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := EvaluateTable(context.Background(), tt.expr, env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, scanAll(t, s)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("field types", func(t *testing.T) {
		s, err := EvaluateTable(context.Background(), src, env)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range s.Fields() {
			got = append(got, f.Name+":"+f.Type.String())
		}
		want := []string{"Day:DateTime", "Key:Integer", "Name:String", "Price:Currency", "Qty:Integer"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})
	t.Run("rows and values", func(t *testing.T) {
		for expr, want := range map[string]string{
			`Table.RowCount(` + src + `)`:                       "3",
			`Table.RowCount(Table.Skip(` + src + `, 1))`:        "2",
			`Text.From(` + src + `{2}[Name])`:                   "c",
			`Text.From(List.Sum(` + src + `[Qty]))`:             "6",
			`Text.Combine(Table.ColumnNames(` + src + `), ",")`: "Day,Key,Name,Price,Qty",
		} {
			v, err := Evaluate(context.Background(), expr, env)
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			if got := textFrom(v); got != want {
				t.Errorf("%s = %s, want %s", expr, got, want)
			}
		}
	})
}

func TestParquetDocumentErrors(t *testing.T) {
	env := filesEnv(t, map[string]string{
		"Sales.parquet": salesParquet(t),
		"bad.parquet":   "PAR1 this is not a parquet file PAR1",
		"Sales.csv":     "a,b\n1,2\n3,4\n5,6\n",
	})
	src := `Parquet.Document(File.Contents("Sales.parquet"))`
	tests := []struct {
		name string
		expr string
		err  string
		is   error
	}{
		{"damaged file", `Parquet.Document(File.Contents("bad.parquet"))`, "bad.parquet", nil},
		{"a CSV file", `Parquet.Document(File.Contents("Sales.csv"))`, "no Parquet magic bytes", nil},
		{"not a binary", `Parquet.Document("Sales.parquet")`, "argument 1 must be a binary", nil},
		{"options", `Parquet.Document(File.Contents("Sales.parquet"), [Compression = 1])`, "options", ErrUnsupported},
		{"promote headers", `Table.PromoteHeaders(` + src + `)`, "columns are already named", ErrUnsupported},
		{"date to number", `Table.TransformColumnTypes(` + src + `, {{"Day", Int64.Type}})`,
			`the column "Day" of Sales.parquet holds date values (INT32 DATE), which cannot be converted to whole number`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EvaluateTable(context.Background(), tt.expr, env)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("got %v, want an error with %q", err, tt.err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}
