package main

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/meridian-olap/meridian/internal/value"
)

func TestFromSQL(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want cell
	}{
		{"null", nil, cell{kind: 'n'}},
		{"bigint", int64(42), cell{kind: 'f', f: 42}},
		{"hugeint", big.NewInt(7), cell{kind: 'f', f: 7}},
		{"decimal", duckdb.Decimal{Width: 18, Scale: 4, Value: big.NewInt(123456)}, cell{kind: 'f', f: 12.3456}},
		{"double", 0.25, cell{kind: 'f', f: 0.25}},
		{"text", "Audio", cell{kind: 's', s: "Audio"}},
		{"date", time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), cell{kind: 'd', s: "2023-03-01T00:00:00"}},
		{"boolean", true, cell{kind: 'b', f: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromSQL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !sameCell(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := fromSQL(struct{}{}); err == nil {
		t.Error("an unknown type from DuckDB was accepted")
	}
}

func TestFromMeridianMatchesSQL(t *testing.T) {
	pairs := []struct {
		name string
		mer  value.Value
		sql  any
	}{
		{"blank is null", value.BlankValue, nil},
		{"currency is a decimal", value.CurrencyUnits(123456), duckdb.Decimal{Width: 38, Scale: 4, Value: big.NewInt(123456)}},
		{"integer is a bigint", value.Int(-3), int64(-3)},
		{"date is a date", value.Date(value.DateOf(2024, 2, 29)), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"boolean", value.Bool(false), false},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			s, err := fromSQL(p.sql)
			if err != nil {
				t.Fatal(err)
			}
			if m := fromMeridian(p.mer); !sameCell(m, s) {
				t.Errorf("Meridian %v and DuckDB %v differ", m, s)
			}
		})
	}
}

func TestCompareTables(t *testing.T) {
	f := func(x float64) cell { return cell{kind: 'f', f: x} }
	s := func(x string) cell { return cell{kind: 's', s: x} }
	null := cell{kind: 'n'}
	base := table{{s("Audio"), f(1234.5)}, {s("TV"), f(99)}, {s("Bikes"), null}}
	tests := []struct {
		name string
		got  table
		diff string // "" when the tables agree, else a part of the report
	}{
		{"same rows in another order", table{{s("TV"), f(99)}, {s("Bikes"), null}, {s("Audio"), f(1234.5)}}, ""},
		{"within the tolerance", table{{s("Audio"), f(1234.5 * (1 + 1e-12))}, {s("TV"), f(99)}, {s("Bikes"), null}}, ""},
		{"a different number", table{{s("Audio"), f(1234.6)}, {s("TV"), f(99)}, {s("Bikes"), null}}, `"Audio" 1234.6`},
		{"blank against zero", table{{s("Audio"), f(1234.5)}, {s("TV"), f(99)}, {s("Bikes"), f(0)}}, `"Bikes" 0`},
		{"a missing row", table{{s("Audio"), f(1234.5)}, {s("TV"), f(99)}}, "3 rows from want, 2 from got"},
		{"an extra column", table{{s("Audio"), f(1234.5), f(1)}, {s("TV"), f(99), f(1)}, {s("Bikes"), null, f(1)}}, "2 columns from want, 3 from got"},
		{"text is compared exactly", table{{s("audio"), f(1234.5)}, {s("TV"), f(99)}, {s("Bikes"), null}}, `"audio"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := compareTables("want", base, "got", tt.got)
			if tt.diff == "" && d != "" {
				t.Errorf("tables differ:\n%s", d)
			}
			if tt.diff != "" && !strings.Contains(d, tt.diff) {
				t.Errorf("report %q does not contain %q", d, tt.diff)
			}
		})
	}
}
