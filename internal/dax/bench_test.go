package dax

import (
	"fmt"
	"strings"
	"testing"
)

// largeMeasure builds a measure of about 100 KB in the style of real ones:
// variables, CALCULATE with filters, time intelligence, a long SWITCH.
func largeMeasure() string {
	var b strings.Builder
	b.WriteString("VAR SelectedCode = SELECTEDVALUE ( 'Dynamic Measure'[Code] )\n")
	b.WriteString("VAR Today = MAX ( 'Calendar'[Date] ) -- the last date in context\n")
	b.WriteString("RETURN\n    SWITCH (\n        TRUE (),\n")
	for i := range 400 {
		fmt.Fprintf(&b, `        SelectedCode = %d && NOT ISBLANK ( [Sales Amount] ),
            VAR Base = CALCULATE ( [Sales Amount], 'Product'[Color] IN { "Red", "Blue" }, DATESYTD ( 'Calendar'[Date] ) )
            VAR Prior = CALCULATE ( Base, SAMEPERIODLASTYEAR ( 'Calendar'[Date] ), KEEPFILTERS ( 'Store'[Store Code] <> "%d" ) )
            RETURN DIVIDE ( Base - Prior, Prior ) * 100 + %d.5 ^ 2,
`, i, i, i)
	}
	b.WriteString("        BLANK ()\n    )\n")
	return b.String()
}

func BenchmarkParseLargeMeasure(b *testing.B) {
	src := largeMeasure()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseExpr(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormatLargeMeasure(b *testing.B) {
	e, err := ParseExpr(largeMeasure())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Format(e)
	}
}

func BenchmarkLex(b *testing.B) {
	src := largeMeasure()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		var errs ErrorList
		l := newLexer(src, &errs)
		for l.next().kind != tEOF {
		}
	}
}

func TestLargeMeasure(t *testing.T) {
	e, err := ParseExpr(largeMeasure())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, e)
}
