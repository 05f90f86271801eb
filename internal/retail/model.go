package retail

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meridian-olap/meridian/internal/model"
)

// Measures of the sample model, by name.
var Measures = []struct{ Name, Expr, Format string }{
	{"Sales Amount", "SUMX ( Sales, Sales[Quantity] * Sales[Net Price] )", `\$#,0.00`},
	{"Total Cost", "SUMX ( Sales, Sales[Quantity] * Sales[Unit Cost] )", `\$#,0.00`},
	{"Margin", "[Sales Amount] - [Total Cost]", `\$#,0.00`},
	{"Margin %", "DIVIDE ( [Margin], [Sales Amount] )", "0.00%"},
	{"Units", "SUM ( Sales[Quantity] )", "#,0"},
	{"Orders", "COUNTROWS ( Sales )", "#,0"},
	{"Customers", "DISTINCTCOUNT ( Sales[CustomerKey] )", "#,0"},
	{"Sales YTD", "TOTALYTD ( [Sales Amount], 'Date'[Date] )", `\$#,0.00`},
	{"Sales LY", "CALCULATE ( [Sales Amount], SAMEPERIODLASTYEAR ( 'Date'[Date] ) )", `\$#,0.00`},
	{"Sales YoY %", "DIVIDE ( [Sales Amount] - [Sales LY], [Sales LY] )", "0.00%"},
}

// BIM returns the sample model as TMSL JSON: a database named name whose
// partitions read dir/<Table>.csv, dir being relative to the server's
// source root (or absolute).
func BIM(name, dir string) ([]byte, error) {
	tables := []map[string]any{}
	for _, t := range Tables(Options{}) {
		var cols []map[string]any
		var types []string
		for _, c := range t.Columns {
			col := map[string]any{"name": c.Name, "dataType": c.Type.TMSLName(), "sourceColumn": c.Name}
			if strings.HasSuffix(c.Name, "Key") {
				col["isHidden"] = true
				col["summarizeBy"] = "none"
			}
			switch c.Type.TMSLName() {
			case "decimal":
				col["formatString"] = `\$#,0.00;(\$#,0.00);\$#,0.00`
			case "dateTime":
				col["formatString"] = "yyyy-mm-dd"
			}
			if t.Name == "Date" && c.Name == "Month" {
				col["sortByColumn"] = "Month Number"
			}
			cols = append(cols, col)
			types = append(types, fmt.Sprintf("{%q, %s}", c.Name, mType(c.Type.TMSLName())))
		}
		path := strings.TrimSuffix(dir, "/") + "/" + t.Name + ".csv"
		m := strings.Join([]string{
			"let",
			fmt.Sprintf("    Source = Csv.Document(File.Contents(%q), [Delimiter=\",\", Encoding=65001, QuoteStyle=QuoteStyle.Csv]),", path),
			"    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars=true]),",
			"    Typed = Table.TransformColumnTypes(Promoted, {" + strings.Join(types, ", ") + "})",
			"in",
			"    Typed",
		}, "\n")
		tab := map[string]any{
			"name":       t.Name,
			"columns":    cols,
			"partitions": []map[string]any{{"name": t.Name, "mode": "import", "source": map[string]any{"type": "m", "expression": m}}},
		}
		if t.Name == "Date" {
			tab["dataCategory"] = "Time"
		}
		if t.Name == "Sales" {
			var ms []map[string]any
			for _, m := range Measures {
				ms = append(ms, map[string]any{"name": m.Name, "expression": m.Expr, "formatString": m.Format})
			}
			tab["measures"] = ms
		}
		tables = append(tables, tab)
	}
	rel := func(from, to string) map[string]any {
		ft, fc, _ := strings.Cut(from, ".")
		tt, tc, _ := strings.Cut(to, ".")
		return map[string]any{"name": ft + "_" + tt, "fromTable": ft, "fromColumn": fc, "toTable": tt, "toColumn": tc}
	}
	db := map[string]any{
		"name":               name,
		"compatibilityLevel": 1600,
		"model": map[string]any{
			"culture": "en-US",
			"tables":  tables,
			"relationships": []map[string]any{
				rel("Sales.Order Date", "Date.Date"),
				rel("Sales.ProductKey", "Product.ProductKey"),
				rel("Sales.CustomerKey", "Customer.CustomerKey"),
				rel("Sales.StoreKey", "Store.StoreKey"),
			},
			"annotations": []map[string]any{{"name": "Meridian_Sample", "value": "retail"}},
		},
	}
	return json.MarshalIndent(db, "", "  ")
}

func mType(tmsl string) string {
	switch tmsl {
	case "int64":
		return "Int64.Type"
	case "decimal":
		return "Currency.Type"
	case "double":
		return "type number"
	case "dateTime":
		return "type date"
	case "boolean":
		return "type logical"
	}
	return "type text"
}

// Model returns the sample model parsed.
func Model(name, dir string) (*model.Database, error) {
	b, err := BIM(name, dir)
	if err != nil {
		return nil, err
	}
	return model.Parse(b)
}
