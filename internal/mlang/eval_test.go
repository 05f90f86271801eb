package mlang

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// show writes a value fully evaluated, for comparisons in tests.
func show(v Value) string {
	switch x := v.(type) {
	case *List:
		var parts []string
		for i := range x.items {
			it, err := x.Item(i)
			if err != nil {
				parts = append(parts, "error: "+err.Error())
				continue
			}
			parts = append(parts, show(it))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *Record:
		var parts []string
		for i, n := range x.names {
			fv, err := x.vals[i].force()
			if err != nil {
				parts = append(parts, n+" = error: "+err.Error())
				continue
			}
			parts = append(parts, n+" = "+show(fv))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Table:
		return "table(" + strings.Join(x.Columns(), ", ") + ")"
	case DateTime:
		return Describe(x)
	}
	return Describe(v)
}

func eval(t *testing.T, expr string, env *Env) (Value, error) {
	t.Helper()
	return Evaluate(context.Background(), expr, env)
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"10 - 4 - 3", "3"},
		{"12 / 4 / 3", "1"},
		{"-2 * 3", "-6"},
		{"0xff + 0X10", "271"},
		{"1.5e3", "1500"},
		{".5 + 1", "1.5"},
		{"1 / 0", "#infinity"},
		{"null + 1", "null"},
		{`"a" & "b" & "c"`, `"abc"`},
		{`"a" & null`, "null"},
		{`{1, 2} & {3}`, "{1, 2, 3}"},
		{`[A = 1, B = 2] & [B = 3, C = 4]`, "[A = 1, B = 3, C = 4]"},
		{`"say ""hi"""`, `"say \"hi\""`},
		{`"a#(lf)b#(tab)c#(cr,lf)#(#)(#(0041)"`, `"a\nb\tc\r\n#(A"`},
		{"true and false", "false"},
		{"true or error \"never\"", "true"},
		{"false and error \"never\"", "false"},
		{"null and false", "false"},
		{"null or true", "true"},
		{"null and true", "null"},
		{"not true", "false"},
		{"not (1 = 2)", "true"},
		{"1 = 1", "true"},
		{"1 <> 1", "false"},
		{`"a" = "A"`, "false"},
		{"null = null", "true"},
		{"1 = null", "false"},
		{"1 < null", "null"},
		{`"a" < "b"`, "true"},
		{"{1, 2} = {1, 2}", "true"},
		{"[A = 1] = [A = 1]", "true"},
		{"2 >= 2 and 3 > 2 and 1 <= 1", "true"},
		{"let a = 1, b = a + 1 in b * 10", "20"},
		{"let a = let b = 2 in b * 2 in a + 1", "5"},
		{`let #"my name" = 3 in #"my name" + 1`, "4"},
		{"[A = 1, B = A + 1][B]", "2"},
		{"[A = 1][B]?", "null"},
		{"[Base Line = 100, Rate = 2][Base Line] * 2", "200"},
		{"{10, 20, 30}{1}", "20"},
		{"{10}{5}?", "null"},
		{"{1..4}", "{1, 2, 3, 4}"},
		{"{1, 3..5, 9}", "{1, 3, 4, 5, 9}"},
		{"{3..1}", "{}"},
		{"List.Count({1, error \"lazy\", 3})", "3"},
		{"{1, error \"lazy\", 3}{2}", "3"},
		{"if 1 > 2 then \"a\" else \"b\"", `"b"`},
		{"if 1 < 2 then 1 else Unknown.Function()", "1"},
		{"let f = (x) => x * 2 in f(4)", "8"},
		{"let f = (x as number, optional y as nullable number) as number => x + (if y = null then 0 else y) in f(1) + f(1, 2)", "4"},
		{"let f = () => 42 in f()", "42"},
		{"let fact = (n) => if n <= 1 then 1 else n * @fact(n - 1) in fact(10)", "3628800"},
		{"List.Transform({1, 2, 3}, each _ * 10)", "{10, 20, 30}"},
		{"List.Select({[A = 1], [A = 2]}, each [A] > 1)", "{[A = 2]}"},
		{"(each _ + 1)(1)", "2"},
		{"[A = 1, B = 2][[B]]", "[B = 2]"},
		{"try error \"boom\" otherwise 5", "5"},
		{"try 1 otherwise 5", "1"},
		{"try error \"boom\"", `[HasError = true, Error = [Reason = "Expression.Error", Message = "boom", Detail = null]]`},
		{"try 2", "[HasError = false, Value = 2]"},
		{`try error [Reason = "My.Error", Message = "bad"] catch (e) => e[Reason] & ": " & e[Message]`, `"My.Error: bad"`},
		{"try error \"x\" catch () => 0", "0"},
		{"try [A = 1][B] otherwise \"missing\"", `"missing"`},
		{"try Unknown.Function() otherwise \"fallback\"", `"fallback"`},
		{"\"x\" meta [IsParameterQuery = true, Broken = error \"never\"]", `"x"`},
		{"Value.RemoveMetadata(1 meta [A = 1])", "1"},
		{"1 is number", "true"},
		{"null is nullable text", "true"},
		{"null is text", "false"},
		{`"a" as text`, `"a"`},
		{"type text", "type text"},
		{"type nullable number", "type nullable number"},
		{"Int64.Type", "type Int64.Type"},
		{"type table [A = text, B = Int64.Type]", "type table [A = text, B = Int64.Type]"},
		{"type {number}", "type {number}"},
		{"#date(2020, 1, 31)", "#date(2020, 1, 31)"},
		{"#datetime(2020, 1, 31, 10, 20, 30)", "2020-01-31T10:20:30"},
		{"#date(2020, 1, 31) + #duration(1, 0, 0, 0)", "#date(2020, 2, 1)"},
		{"#date(2020, 3, 1) - #date(2020, 2, 1)", "#duration(29)"},
		{"#date(2020, 1, 31) & #time(6, 0, 0)", "2020-01-31T06:00:00"},
		{"#date(2020, 1, 31) < #date(2020, 2, 1)", "true"},
		{"Text.Combine({\"dim\", \"date\"}, \"_\")", `"dim_date"`},
		{"Text.Combine({\"a\", null, \"b\"})", `"ab"`},
		{"Text.Upper(\"abc\") & Text.Lower(\"DEF\")", `"ABCdef"`},
		{"Text.From(12.5) & Text.From(true) & Text.From(#date(2020, 1, 31))", `"12.5true1/31/2020"`},
		{"Number.From(\"1,234.5\") + Number.From(true)", "1235.5"},
		{"Int64.From(\"12.5\")", "12"},
		{"Currency.From(\"1.23455\")", "1.2346"},
		{"Logical.FromText(\"TRUE\")", "true"},
		{"List.Count({1, 2, 3})", "3"},
		{"List.First({})", "null"},
		{"List.Sum({1, null, 2})", "3"},
		{"List.Contains({\"a\", \"b\"}, \"b\")", "true"},
		{"Record.Field([A = 1], \"A\")", "1"},
		{"Record.FieldNames([A = 1, B = 2])", `{"A", "B"}`},
		{"null ?? 2", "2"},
		{"1 ?? error \"never\"", "1"},
		{"let x = 1 // a comment\n /* another\n one */ in x", "1"},
		{"QuoteStyle.Csv + QuoteStyle.None", "1"},
		{"#table({\"A\", \"B\"}, {{1, \"x\"}, {2, \"y\"}})", "table(A, B)"},
		{"#table({\"A\", \"B\"}, {{1, \"x\"}, {2, \"y\"}}){1}[B]", `"y"`},
		{"#table({\"A\", \"B\"}, {{1, \"x\"}, {2, \"y\"}}){[A = 2]}[B]", `"y"`},
		{"#table({\"A\", \"B\"}, {{1, \"x\"}, {2, \"y\"}})[A]", "{1, 2}"},
		{"Table.RowCount(#table({\"A\"}, {{1}, {2}}))", "2"},
		{"Table.ColumnNames(Table.RenameColumns(#table({\"A\", \"B\"}, {}), {\"A\", \"X\"}))", `{"X", "B"}`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := eval(t, tt.expr, nil)
			if err != nil {
				t.Fatalf("Evaluate(%q): %v", tt.expr, err)
			}
			if got := show(v); got != tt.want {
				t.Errorf("Evaluate(%q) = %s, want %s", tt.expr, got, tt.want)
			}
		})
	}
}

// Errors name what went wrong and where.
func TestEvaluateErrors(t *testing.T) {
	tests := []struct {
		name string
		expr string
		env  *Env
		err  string
		is   error
	}{
		{
			name: "unsupported function in the live branch",
			expr: "let\n    Source = \"x\",\n    Other = 1,\n    Live = true,\n    Result = if Live then Databricks.Catalogs(\"host\") else Source\nin\n    Result",
			err:  "line 5, column 27: Databricks.Catalogs is not supported by Meridian",
			is:   ErrUnsupported,
		},
		{
			name: "unknown name",
			expr: "let a = 1 in b",
			err:  `line 1, column 14: the name "b" wasn't recognized`,
			is:   ErrEvaluation,
		},
		{name: "error raised", expr: "1 + error \"boom\"", err: "line 1, column 5: boom", is: ErrEvaluation},
		{name: "missing field", expr: "[A = 1][B]", err: `the field "B" of the record wasn't found`},
		{name: "index out of range", expr: "{1}{3}", err: "there weren't enough elements"},
		{name: "type mismatch", expr: "1 + \"a\"", err: "line 1, column 3: we cannot apply operator + to 1 and \"a\""},
		{name: "not a function", expr: "let x = 1 in x(2)", err: "1 is not a function"},
		{name: "arity", expr: "let f = (x) => x in f(1, 2)", err: "2 arguments were passed to a function, which expects 1"},
		{name: "library arity", expr: "Text.Upper()", err: "0 arguments were passed to Text.Upper, which expects between 1 and 2"},
		{name: "parameter type", expr: "let f = (x as text) => x in f(1)", err: "parameter x: we cannot convert 1 to type text"},
		{name: "as", expr: "1 as text", err: "we cannot convert 1 to type text"},
		{name: "if condition", expr: "if 1 then 2 else 3", err: "the condition of if must be true or false"},
		{name: "cycle", expr: "let a = b, b = a in a", err: `"a" refers to itself`},
		{name: "endless recursion", expr: "let f = (x) => f(x) in f(1)", err: "nests more than", is: ErrLimit},
		{name: "recursion is not caught by try", expr: "let f = (x) => f(x) in try f(1) otherwise 0", err: "nests more than", is: ErrLimit},
		{name: "huge range", expr: "{1..1e12}", err: "has more than", is: ErrLimit},
		{name: "not implemented", expr: "...", err: "not implemented"},
		// not binds tighter than =, as M's grammar says: (not 1) = 2.
		{name: "not binds tightly", expr: "not 1 = 2", err: "line 1, column 1: we cannot apply operator not to 1"},
		{name: "section access", expr: "Section1!Foo", err: "section access Section1!Foo is not supported", is: ErrUnsupported},
		{name: "bad date", expr: "#date(2021, 2, 29)", err: "2021-2-29 is not a date"},
		{
			name: "cyclic parameters",
			expr: "A",
			env:  &Env{Parameters: map[string]string{"A": "B + 1", "B": "A"}},
			err:  `refers to itself`,
		},
		{
			name: "error in a parameter names it",
			expr: "P + 1",
			env:  &Env{Parameters: map[string]string{"P": "let x = 1 in\n  Sql.Database(\"s\", \"d\")"}},
			err:  `expression "P" line 2, column 3: Sql.Database is not supported by Meridian`,
			is:   ErrUnsupported,
		},
		{
			name: "syntax error in a parameter names it",
			expr: "P",
			env:  &Env{Parameters: map[string]string{"P": "let x = in x"}},
			err:  `expression "P" line 1, column 9: expected an expression, found 'in'`,
			is:   ErrSyntax,
		},
		{name: "file without roots", expr: `File.Contents("a.csv")`, err: "no source roots are configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := eval(t, tt.expr, tt.env)
			if err == nil {
				t.Fatalf("Evaluate(%q) succeeded, want error %q", tt.expr, tt.err)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Evaluate(%q) error:\n  %v\nwant it to contain:\n  %s", tt.expr, err, tt.err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Evaluate(%q) error %v is not %v", tt.expr, err, tt.is)
			}
		})
	}
}

// Laziness: nothing that is not needed is evaluated, so unsupported
// connectors in dead code do no harm.
func TestLaziness(t *testing.T) {
	env := &Env{Parameters: map[string]string{
		"pSource":   `"CSV" meta [IsParameterQuery = true]`,
		"pBroken":   `this is not M at all (`,
		"pDatabase": `Sql.Database("server", "db")`,
	}}
	for _, expr := range []string{
		`let Unused = Databricks.Catalogs("h", "p"), Result = 1 in Result`,
		`if pSource = "Databricks" then Databricks.Catalogs(pDatabase) else "csv"`,
		`let FromDb = () => Sql.Database("s", "d"), FromCsv = () => "csv" in if pSource = "CSV" then FromCsv() else FromDb()`,
		`[A = error "never read", B = 2][B]`,
		`let x = pBroken in 3`,
		`{pDatabase, pBroken, 7}{2}`,
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := eval(t, expr, env); err != nil {
				t.Errorf("Evaluate(%q): %v", expr, err)
			}
		})
	}
}

// Parameters are evaluated at most once each.
func TestParametersOnce(t *testing.T) {
	in := newInterp(context.Background(), &Env{Parameters: map[string]string{"P": "1 + 1"}})
	e, err := Parse("P + P + P")
	if err != nil {
		t.Fatal(err)
	}
	v, err := in.eval(e, &scope{})
	if err != nil || show(v) != "6" {
		t.Fatalf("got %v, %v", v, err)
	}
	if in.params["P"].state != finished {
		t.Error("P was not memoized")
	}
}

func TestEvaluateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Evaluate(ctx, "List.Sum(List.Transform({1..100000}, each _ * 2))", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func ExampleEvaluate() {
	v, err := Evaluate(context.Background(), `let x = 6, y = 7 in Text.From(x * y)`, nil)
	fmt.Println(Describe(v), err)
	// Output: "42" <nil>
}

// An evaluation that builds too much is stopped, however it spreads the
// building out.
func TestAllocationLimit(t *testing.T) {
	for _, expr := range []string{
		"List.Transform({1..1000000}, each {1..100})",
		"let l = {1..1000000} in List.Count(l & l & l & l & l & l & l & l & l)",
		`let s = Text.Combine(List.Transform({1..1000}, each "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")) in Text.Replace(s, "x", Text.Combine(List.Transform({1..1000}, each "y")))`,
	} {
		t.Run(expr[:30], func(t *testing.T) {
			_, err := eval(t, expr, nil)
			if !errors.Is(err, ErrLimit) {
				t.Errorf("Evaluate: %v, want a limit error", err)
			}
		})
	}
}
