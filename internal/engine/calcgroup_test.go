package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// Format strings are not part of the script language, so
// SELECTEDMEASUREFORMATSTRING is tested here: a script model whose
// measures are given format strings before it is built.
const formatScript = `
table Sales
Customer:string | Amount:int64
Ann | 160
Bob | 40
end

measure Sales[Total] = SUM(Sales[Amount])
measure Sales[Dynamic] = SUM(Sales[Amount])
measure Sales[Plain] = SUM(Sales[Amount])

calcgroup 'Calc'[Item] precedence 1
item Fmt = SELECTEDMEASUREFORMATSTRING()
item Value = SELECTEDMEASURE()
end
`

func TestSelectedMeasureFormatString(t *testing.T) {
	path := filepath.Join(t.TempDir(), "format.test")
	if err := os.WriteFile(path, []byte(formatScript), 0o644); err != nil {
		t.Fatal(err)
	}
	s := parseScript(t, path)
	sales := s.def.Model.Table("Sales")
	for _, ms := range sales.Measures {
		switch ms.Name {
		case "Total":
			ms.FormatString = "#,0.00"
		case "Dynamic":
			// A dynamic format string: the measure's value decides.
			ms.FormatString = "0"
			ms.FormatStringDefinition = &model.FormatStringDefinition{Expression: `IF(SELECTEDMEASURE() > 100, "#,0", "0.00")`}
		}
	}
	m := s.build(t)
	tests := []struct {
		name, query string
		want        value.Value
	}{
		{"static format string", `EVALUATE ROW("x", CALCULATE([Total], 'Calc'[Item] = "Fmt"))`, value.Str("#,0.00")},
		{"no format string", `EVALUATE ROW("x", CALCULATE([Plain], 'Calc'[Item] = "Fmt"))`, value.Str("")},
		{"dynamic format string over 100", `EVALUATE ROW("x", CALCULATE([Dynamic], 'Calc'[Item] = "Fmt"))`, value.Str("#,0")},
		{"dynamic format string under 100", `EVALUATE ROW("x", CALCULATE([Dynamic], 'Calc'[Item] = "Fmt", Sales[Customer] = "Bob"))`, value.Str("0.00")},
		{"the item's value is unchanged", `EVALUATE ROW("x", CALCULATE([Dynamic], 'Calc'[Item] = "Value"))`, value.Int(200)},
		{"outside a calculation item", `EVALUATE ROW("x", ISBLANK(SELECTEDMEASUREFORMATSTRING()))`, value.Bool(true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := m.Query(context.Background(), tc.query, QueryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Tables[0].Rows[0][0]
			if got.Type() != tc.want.Type() || got.String() != tc.want.String() {
				t.Errorf("got %v (%v), want %v (%v)", got, got.Type(), tc.want, tc.want.Type())
			}
		})
	}
}
