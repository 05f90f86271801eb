package main

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/value"
)

// cell is a result value in a form both systems' answers map to: BLANK
// and NULL are null; integers, fixed decimals and doubles are numbers;
// dates are text in ISO 8601 (to the second).
type cell struct {
	kind byte // 'n' null, 'f' number, 's' text, 'd' date and time, 'b' boolean
	f    float64
	s    string
}

func (c cell) String() string {
	switch c.kind {
	case 'n':
		return "null"
	case 'f':
		return strconv.FormatFloat(c.f, 'g', -1, 64)
	case 'b':
		return strconv.FormatBool(c.f != 0)
	}
	return strconv.Quote(c.s)
}

// sortKey orders rows; numbers are rounded so that the last bits of a
// sum do not change the order.
func (c cell) sortKey() string {
	switch c.kind {
	case 'f':
		return "f" + strconv.FormatFloat(c.f, 'e', 6, 64)
	case 'n':
		return "\x00"
	}
	return string(c.kind) + c.s + fmt.Sprint(c.f)
}

type table [][]cell

const isoSecond = "2006-01-02T15:04:05"

func fromMeridian(v value.Value) cell {
	switch v.Type() {
	case value.Blank:
		return cell{kind: 'n'}
	case value.String:
		return cell{kind: 's', s: v.AsString()}
	case value.Boolean:
		if v.AsBool() {
			return cell{kind: 'b', f: 1}
		}
		return cell{kind: 'b'}
	case value.DateTime:
		return cell{kind: 'd', s: value.ToTime(v.AsFloat()).Format(isoSecond)}
	}
	f, _ := v.Number()
	return cell{kind: 'f', f: f}
}

func meridianTable(r *engine.Result) table {
	var t table
	if len(r.Tables) == 0 {
		return t
	}
	for _, row := range r.Tables[0].Rows {
		out := make([]cell, len(row))
		for i, v := range row {
			out[i] = fromMeridian(v)
		}
		t = append(t, out)
	}
	return t
}

func fromClient(v client.Value) cell {
	switch v.Kind() {
	case client.Null:
		return cell{kind: 'n'}
	case client.Text:
		s, _ := v.Text()
		return cell{kind: 's', s: s}
	case client.Boolean:
		b, _ := v.Bool()
		if b {
			return cell{kind: 'b', f: 1}
		}
		return cell{kind: 'b'}
	case client.DateTime:
		tm, _ := v.Time()
		return cell{kind: 'd', s: tm.Format(isoSecond)}
	}
	f, _ := v.Float()
	return cell{kind: 'f', f: f}
}

func clientTable(r *client.Result) table {
	var t table
	for _, row := range r.Rows {
		out := make([]cell, len(row))
		for i, v := range row {
			out[i] = fromClient(v)
		}
		t = append(t, out)
	}
	return t
}

// fromSQL maps what database/sql scans from DuckDB.
func fromSQL(v any) (cell, error) {
	switch x := v.(type) {
	case nil:
		return cell{kind: 'n'}, nil
	case string:
		return cell{kind: 's', s: x}, nil
	case []byte:
		return cell{kind: 's', s: string(x)}, nil
	case bool:
		if x {
			return cell{kind: 'b', f: 1}, nil
		}
		return cell{kind: 'b'}, nil
	case int8:
		return cell{kind: 'f', f: float64(x)}, nil
	case int16:
		return cell{kind: 'f', f: float64(x)}, nil
	case int32:
		return cell{kind: 'f', f: float64(x)}, nil
	case int64:
		return cell{kind: 'f', f: float64(x)}, nil
	case uint8:
		return cell{kind: 'f', f: float64(x)}, nil
	case uint16:
		return cell{kind: 'f', f: float64(x)}, nil
	case uint32:
		return cell{kind: 'f', f: float64(x)}, nil
	case uint64:
		return cell{kind: 'f', f: float64(x)}, nil
	case float32:
		return cell{kind: 'f', f: float64(x)}, nil
	case float64:
		return cell{kind: 'f', f: x}, nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return cell{kind: 'f', f: f}, nil
	case duckdb.Decimal:
		return cell{kind: 'f', f: x.Float64()}, nil
	case time.Time:
		return cell{kind: 'd', s: x.UTC().Format(isoSecond)}, nil
	}
	return cell{}, fmt.Errorf("no comparison for a %T from DuckDB", v)
}

// sameCell compares two cells: numbers within a relative 1e-9 (sums of
// fixed decimals are exact in both systems; ratios are doubles computed
// in different orders).
func sameCell(a, b cell) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind == 'f' {
		if a.f == b.f {
			return true
		}
		d := math.Abs(a.f - b.f)
		return d <= 1e-9*math.Max(math.Abs(a.f), math.Abs(b.f)) || d < 1e-9
	}
	return a.f == b.f && a.s == b.s
}

func sorted(t table) table {
	keys := make([]string, len(t))
	idx := make([]int, len(t))
	for i, row := range t {
		var b strings.Builder
		for _, c := range row {
			b.WriteString(c.sortKey())
			b.WriteByte(0)
		}
		keys[i], idx[i] = b.String(), i
	}
	sort.SliceStable(idx, func(i, j int) bool { return keys[idx[i]] < keys[idx[j]] })
	out := make(table, len(t))
	for i, j := range idx {
		out[i] = t[j]
	}
	return out
}

// compareTables compares two answers as sets of rows. It returns a
// description of the differences (at most a few rows), or "" when they
// agree.
func compareTables(wantName string, want table, gotName string, got table) string {
	var b strings.Builder
	if len(want) != len(got) {
		fmt.Fprintf(&b, "%d rows from %s, %d from %s\n", len(want), wantName, len(got), gotName)
	}
	want, got = sorted(want), sorted(got)
	shown := 0
	for i := 0; i < max(len(want), len(got)) && shown < 5; i++ {
		var w, g []cell
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if len(w) != len(g) && w != nil && g != nil {
			fmt.Fprintf(&b, "row %d: %d columns from %s, %d from %s\n", i+1, len(w), wantName, len(g), gotName)
			shown++
			continue
		}
		same := w != nil && g != nil
		for j := 0; same && j < len(w); j++ {
			same = sameCell(w[j], g[j])
		}
		if !same {
			fmt.Fprintf(&b, "row %d: %s %v\n       %s %v\n", i+1, wantName, w, gotName, g)
			shown++
		}
	}
	return b.String()
}
