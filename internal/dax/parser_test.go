package dax

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParsePositions checks the positions recorded in the tree.
func TestParsePositions(t *testing.T) {
	src := "VAR x =\n\tCALCULATE ( 'T'[a] * -2, é[b] )\nRETURN x IN { 1 }"
	_, err := ParseExpr(src)
	if err == nil {
		t.Fatal("é is not a valid bare name")
	}
	src = "VAR x =\n\tCALCULATE ( 'T'[a] * -2, \"é\" & [b] )\nRETURN x IN { 1 }"
	e, err := ParseExpr(src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	Inspect(e, func(n Node) bool {
		if n != nil {
			p := n.Pos()
			got = append(got, fmt.Sprintf("%T@%d:%d/%d", n, p.Line, p.Col, p.Offset))
		}
		return true
	})
	want := []string{
		"*dax.VarExpr@1:1/0",
		"*dax.VarDecl@1:1/0",
		"*dax.Call@2:2/9",
		"*dax.Binary@2:21/28", // the operator *
		"*dax.ColumnRef@2:14/21",
		"*dax.Unary@2:23/30",
		"*dax.NumberLit@2:24/31",
		"*dax.Binary@2:31/39", // & after "é", which is two bytes but one column
		"*dax.StringLit@2:27/34",
		"*dax.ColumnRef@2:33/41",
		"*dax.Binary@3:10/56", // IN
		"*dax.Ident@3:8/54",
		"*dax.TableCtor@3:13/59",
		"*dax.NumberLit@3:15/61",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

// TestParseTree checks complete trees, fields and all, for the node kinds
// whose dump hides details.
func TestParseTree(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Expr
	}{
		{"quoted column", "'Sales Territory'[Amount]", &ColumnRef{Table: "Sales Territory", Column: "Amount", Quoted: true}},
		{"unquoted column", "Sales[Amount]", &ColumnRef{Table: "Sales", Column: "Amount"}},
		{"measure", "[Total]", &ColumnRef{Column: "Total"}},
		{"table", "'Sales'", &TableRef{Name: "Sales", Quoted: true}},
		{"ident keeps spelling", "sAlEs", &Ident{Name: "sAlEs"}},
		{"call upper-cases", "sumx(t, 1)", &Call{Func: "SUMX", Args: []Expr{&Ident{Name: "t"}, &NumberLit{Text: "1", IsInt: true, Int: 1, Float: 1}}}},
		{"empty argument", "f(,)", &Call{Func: "F", Args: []Expr{nil, nil}}},
		{"no arguments", "f()", &Call{Func: "F"}},
		{"var", "VAR a = TRUE RETURN a", &VarExpr{Vars: []VarDecl{{Name: "a", Value: &BoolLit{Value: true}}}, Return: &Ident{Name: "a"}}},
		{"table constructor", `{ (1, "a") }`, &TableCtor{Rows: [][]Expr{{&NumberLit{Text: "1", IsInt: true, Int: 1, Float: 1}, &StringLit{Value: "a"}}}}},
		{"row before IN", `(a, b) IN t`, &Binary{Op: OpIn, X: &RowCtor{Values: []Expr{&Ident{Name: "a"}, &Ident{Name: "b"}}}, Y: &Ident{Name: "t"}}},
		{"parameter", "@Year", &Param{Name: "Year"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExpr(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignorePos); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsAreSyntaxErrors(t *testing.T) {
	_, err := ParseExpr("1 +")
	if !errors.Is(err, ErrSyntax) {
		t.Errorf("errors.Is(%v, ErrSyntax) is false", err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("want an ErrorList of one, got %#v", err)
	}
	var one *Error
	if !errors.As(err, &one) || one.Pos.Line != 1 || one.Pos.Col != 4 {
		t.Errorf("errors.As(*Error) = %v", one)
	}
	if got, want := err.Error(), "line 1, column 4: expected an expression, found end of input"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = ParseQuery("EVALUATE\n1 +\nEVALUATE\nF(")
	if got, want := err.Error(), "line 3, column 1: expected an expression, found keyword EVALUATE\nline 4, column 3: expected ')' to close the call to F opened at line 4, column 2"; got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestTooManyErrors(t *testing.T) {
	// One mistake in each of 50 arguments, each on its own line.
	src := "F(\n" + strings.Repeat("1 §,\n", 50) + "1)"
	_, err := ParseExpr(src)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v", err)
	}
	if len(list) != MaxErrors+1 {
		t.Errorf("got %d errors, want %d and a last one saying it stopped", len(list), MaxErrors+1)
	}
	if last := list[len(list)-1].Msg; !strings.Contains(last, "too many errors") {
		t.Errorf("last error = %q", last)
	}
}

func TestLimits(t *testing.T) {
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	tests := []struct {
		name string
		src  string
		ok   bool
	}{
		{"parentheses at the limit", deep("(", ")", DefaultMaxDepth-1), true},
		{"parentheses past the limit", deep("(", ")", DefaultMaxDepth+1), false},
		{"deep parentheses", deep("(", ")", 400_000), false},
		{"deep calls", deep("F(", ")", 100_000), false},
		{"deep table constructors", deep("{", "}", 100_000), false},
		{"deep signs", strings.Repeat("- ", 100_000) + "1", false},
		{"deep power signs", "2^" + strings.Repeat("- ", 100_000) + "1", false},
		{"deep NOT", strings.Repeat("NOT ", 100_000) + "1", false},
		{"deep VAR", strings.Repeat("VAR x = ", 100_000) + "1", false},
		{"long chain", "1" + strings.Repeat("+1", 100_000), false},
		{"long power chain", "1" + strings.Repeat("^1", 100_000), false},
		{"long chain within the limit", "1" + strings.Repeat("+1", DefaultMaxDepth/2), true},
		{"wide is fine", "{" + strings.Repeat("1,", 20_000) + "1}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseExpr(tt.src)
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				roundTrip(t, e)
				return
			}
			if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
				t.Errorf("want a nesting error, got %v", err)
			}
		})
	}

	big := strings.Repeat(" ", DefaultMaxBytes) + "1"
	if _, err := ParseExpr(big); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("oversized input: got %v", err)
	}
	if _, err := ParseQuery(big); !errors.Is(err, ErrSyntax) {
		t.Errorf("oversized query: got %v", err)
	}
	o := Options{MaxBytes: 10, MaxDepth: 3}
	if _, err := o.ParseExpr("((((1))))"); err == nil {
		t.Error("MaxDepth 3 accepted 4 levels of parentheses")
	}
	if _, err := o.ParseExpr("(((1)))"); err != nil {
		t.Errorf("MaxDepth 3: %v", err)
	}
	if _, err := o.ParseExpr("1 + 2 + 3 + 4"); err == nil {
		t.Error("MaxBytes 10 accepted 13 bytes")
	}
}

func TestWalk(t *testing.T) {
	q, err := ParseQuery(`
DEFINE
	MEASURE T[m] = SUM(T[a])
	VAR v = 1
	TABLE t2 = { (1, 2) }
	COLUMN T[c] = [a] * 2
	FUNCTION f = (x : SCALAR = 3) => x + v
EVALUATE FILTER(T, NOT [c] IN { 1 }) ORDER BY [c] DESC START AT 5`)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	Inspect(q, func(n Node) bool {
		if n != nil {
			kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", n), "*dax."))
		}
		return true
	})
	want := []string{
		"Query",
		"MeasureDef", "Call", "ColumnRef",
		"VarDef", "NumberLit",
		"TableDef", "TableCtor", "NumberLit", "NumberLit",
		"ColumnDef", "Binary", "ColumnRef", "NumberLit",
		"FunctionDef", "FuncParam", "NumberLit", "Binary", "Ident", "Ident",
		"Evaluate", "Call", "Ident", "Unary", "Binary", "ColumnRef", "TableCtor", "NumberLit",
		"ColumnRef", "NumberLit",
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("visit order (-want +got):\n%s", diff)
	}

	// Returning false skips children.
	n := 0
	Inspect(q, func(n2 Node) bool {
		if n2 != nil {
			n++
		}
		_, isDef := n2.(Define)
		return !isDef
	})
	if n != 1+5+10 {
		t.Errorf("visited %d nodes with definitions pruned, want %d", n, 1+5+10)
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct{ in, table, column string }{
		{"Sales", "Sales", "[Sales]"},
		{"Sales Territory", "'Sales Territory'", "[Sales Territory]"},
		{"Bob's", "'Bob''s'", "[Bob's]"},
		{"a]b", "'a]b'", "[a]]b]"},
		{"1st", "'1st'", "[1st]"},
		{"_x9", "_x9", "[_x9]"},
		{"Table", "'Table'", "[Table]"},
		{"return", "'return'", "[return]"},
		{"true", "'true'", "[true]"},
		{"Таблица", "'Таблица'", "[Таблица]"},
		{"a.b", "'a.b'", "[a.b]"},
		{"", "''", "[]"},
	} {
		if got := QuoteTable(tt.in); got != tt.table {
			t.Errorf("QuoteTable(%q) = %q, want %q", tt.in, got, tt.table)
		}
		if got := QuoteColumn(tt.in); got != tt.column {
			t.Errorf("QuoteColumn(%q) = %q, want %q", tt.in, got, tt.column)
		}
		if tt.in == "" {
			continue
		}
		// What QuoteTable and QuoteColumn write parses back to the name.
		e, err := ParseExpr(tt.table + tt.column)
		if err != nil {
			t.Errorf("%s%s: %v", tt.table, tt.column, err)
			continue
		}
		if c := e.(*ColumnRef); c.Table != tt.in || c.Column != tt.in {
			t.Errorf("%s%s parsed as %q[%q]", tt.table, tt.column, c.Table, c.Column)
		}
	}
	for _, tt := range []struct {
		a, b string
		eq   bool
	}{
		{"Sales", "SALES", true},
		{"straße", "STRASSE", false},
		{"Ärger", "äRGER", true},
		{"Sales", "Sale", false},
	} {
		if got := EqualFold(tt.a, tt.b); got != tt.eq {
			t.Errorf("EqualFold(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestOpString(t *testing.T) {
	for op := OpAdd; op <= OpNot; op++ {
		if s := op.String(); s == "" || strings.HasPrefix(s, "Op(") {
			t.Errorf("Op %d has no name", op)
		}
	}
	if got := Op(200).String(); got != "Op(200)" {
		t.Errorf("Op(200).String() = %q", got)
	}
	if !OpGe.IsComparison() || OpIn.IsComparison() || OpAdd.IsComparison() {
		t.Error("IsComparison is wrong")
	}
}

// TestFormatNodes prints nodes other than expressions and queries.
func TestFormatNodes(t *testing.T) {
	q, err := ParseQuery("DEFINE MEASURE 'My T'[m] = 1 FUNCTION f = (a : TABLE, b = 2) => a EVALUATE T ORDER BY [m] DESC START AT 1")
	if err != nil {
		t.Fatal(err)
	}
	fd := q.Defines[1].(*FunctionDef)
	for _, tt := range []struct {
		n    Node
		want string
	}{
		{q.Defines[0], "MEASURE 'My T'[m] = 1"},
		{fd, "FUNCTION f = (a : TABLE, b = 2) => a"},
		{&fd.Params[1], "b = 2"},
		{q.Evaluates[0], "EVALUATE\n    T\nORDER BY\n    [m] DESC\nSTART AT\n    1"},
		{&VarDecl{Name: "x", Value: &NumberLit{Text: "1"}}, "VAR x = 1"},
		{nil, ""},
		// Trees built by hand print too.
		{&Binary{Op: OpMul, X: &Binary{Op: OpAdd, X: &NumberLit{IsInt: true, Int: 1}, Y: &NumberLit{Float: 2.5}}, Y: &TableRef{Name: "Sales Order"}}, "(1 + 2.5) * 'Sales Order'"},
	} {
		if got := Format(tt.n); got != tt.want {
			t.Errorf("Format(%T) =\n%s\nwant\n%s", tt.n, got, tt.want)
		}
	}
}
