package mlang

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sexpr writes a syntax tree as an s-expression, for parser tests.
func sexpr(e Expr) string {
	switch e := e.(type) {
	case *Literal:
		return Describe(e.Val)
	case *Ident:
		if e.Inclusive {
			return "@" + e.Name
		}
		return e.Name
	case *ListExpr:
		var parts []string
		for _, it := range e.Items {
			if it.To != nil {
				parts = append(parts, sexpr(it.From)+".."+sexpr(it.To))
			} else {
				parts = append(parts, sexpr(it.From))
			}
		}
		return "{" + strings.Join(parts, " ") + "}"
	case *RecordExpr:
		var parts []string
		for _, f := range e.Fields {
			parts = append(parts, fmt.Sprintf("%q=%s", f.Name, sexpr(f.Value)))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *FieldAccess:
		t := "_"
		if e.Target != nil {
			t = sexpr(e.Target)
		}
		opt := ""
		if e.Optional {
			opt = "?"
		}
		return fmt.Sprintf("(field %s %q%s)", t, e.Name, opt)
	case *Projection:
		t := "_"
		if e.Target != nil {
			t = sexpr(e.Target)
		}
		return fmt.Sprintf("(project %s %q)", t, e.Names)
	case *ItemAccess:
		opt := ""
		if e.Optional {
			opt = "?"
		}
		return fmt.Sprintf("(item %s %s%s)", sexpr(e.Target), sexpr(e.Index), opt)
	case *Call:
		parts := []string{sexpr(e.Fn)}
		for _, a := range e.Args {
			parts = append(parts, sexpr(a))
		}
		return "(call " + strings.Join(parts, " ") + ")"
	case *UnaryOp:
		return fmt.Sprintf("(%s %s)", e.Op, sexpr(e.X))
	case *BinaryOp:
		return fmt.Sprintf("(%s %s %s)", e.Op, sexpr(e.X), sexpr(e.Y))
	case *TypeTest:
		return fmt.Sprintf("(%s %s %s)", e.Op, sexpr(e.X), typeString(e.Type))
	case *If:
		return fmt.Sprintf("(if %s %s %s)", sexpr(e.Cond), sexpr(e.Then), sexpr(e.Else))
	case *Let:
		var parts []string
		for _, v := range e.Vars {
			parts = append(parts, fmt.Sprintf("%q=%s", v.Name, sexpr(v.Value)))
		}
		return fmt.Sprintf("(let [%s] %s)", strings.Join(parts, " "), sexpr(e.Body))
	case *Func:
		var parts []string
		for _, p := range e.Params {
			s := p.Name
			if p.Optional {
				s = "optional " + s
			}
			if p.Type != nil {
				s += " as " + typeString(p.Type)
			}
			parts = append(parts, s)
		}
		ret := ""
		if e.Return != nil {
			ret = " as " + typeString(e.Return)
		}
		return fmt.Sprintf("(fn (%s)%s %s)", strings.Join(parts, ", "), ret, sexpr(e.Body))
	case *TypeExpr:
		return "(type " + typeString(e.Type) + ")"
	case *Raise:
		return "(error " + sexpr(e.X) + ")"
	case *Try:
		s := "(try " + sexpr(e.X)
		if e.Otherwise != nil {
			s += " otherwise " + sexpr(e.Otherwise)
		}
		if e.Catch != nil {
			s += " catch " + sexpr(e.Catch)
		}
		return s + ")"
	case *NotImplemented:
		return "..."
	case *SectionAccess:
		return e.Section + "!" + e.Member
	}
	return fmt.Sprintf("%T", e)
}

func typeString(t *TypeSpec) string {
	var s string
	switch {
	case t.Expr != nil:
		s = sexpr(t.Expr)
	case t.Record || t.Table:
		var parts []string
		for _, f := range t.Fields {
			p := f.Name
			if f.Type != nil {
				p += "=" + typeString(f.Type)
			}
			parts = append(parts, p)
		}
		if t.Open {
			parts = append(parts, "...")
		}
		s = "[" + strings.Join(parts, " ") + "]"
		if t.Table {
			s = "table " + s
		}
	case t.List != nil:
		s = "{" + typeString(t.List) + "}"
	default:
		s = t.Prim
	}
	if t.Nullable {
		s = "nullable " + s
	}
	return s
}

func TestParse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1 + 2 * 3", "(+ 1 (* 2 3))"},
		{"1 - 2 - 3", "(- (- 1 2) 3)"},
		{"a & b & c", "(& (& a b) c)"},
		{"a or b and c", "(or a (and b c))"},
		{"not a = b", "(= (not a) b)"},
		{"-x * y", "(* (- x) y)"},
		{"a < b = c >= d", "(= (< a b) (>= c d))"},
		{"x meta [A = 1] + 1", "(+ (meta x [\"A\"=1]) 1)"},
		{"a ?? b ?? c", "(?? a (?? b c))"},
		{"x as nullable text is logical", "(is (as x nullable text) logical)"},
		{"Table.PromoteHeaders(Source, [PromoteAllScalars=true])", "(call Table.PromoteHeaders Source [\"PromoteAllScalars\"=true])"},
		{`#"Removed Columns"`, "Removed Columns"},
		{`#"a ""b"""`, `a "b"`},
		{"@f", "@f"},
		{"Source{[Name=\"x\"]}[Content]", `(field (item Source ["Name"="x"]) "Content")`},
		{"t{0}?[A]?", `(field (item t 0?) "A"?)`},
		{"r[[A], [B]]", `(project r ["A" "B"])`},
		{"each [A] + _", `(fn (_) (+ (field _ "A") _))`},
		{"each [[A]]", `(fn (_) (project _ ["A"]))`},
		{"[]", "[]"},
		{"[Base Line = 1, #\"Rate %\" = 2, type = 3]", `["Base Line"=1 "Rate %"=2 "type"=3]`},
		{"x[Base Line]", `(field x "Base Line")`},
		{"{1, 2..3, {}}", "{1 2..3 {}}"},
		{"{1..3}", "{1..3}"},
		{"(x) => x", "(fn (x) x)"},
		{"() => 1", "(fn () 1)"},
		{"(x as text, optional y as nullable number) as table => x", "(fn (x as text, optional y as nullable number) as table x)"},
		{"(x) as number", "(as x number)"},
		{"(1 + 2) * 3", "(* (+ 1 2) 3)"},
		{"if a then b else if c then d else e", "(if a b (if c d e))"},
		{"let a = 1, #\"b c\" = 2 in a", `(let ["a"=1 "b c"=2] a)`},
		{"let a = let b = 1 in b in a", `(let ["a"=(let ["b"=1] b)] a)`},
		{"try x otherwise y", "(try x otherwise y)"},
		{"try x catch (e) => e", "(try x catch (fn (e) e))"},
		{"try x", "(try x)"},
		{"error \"x\"", `(error "x")`},
		{"type nullable text", "(type nullable text)"},
		{"type table [A = text, B = Int64.Type]", "(type table [A=text B=Int64.Type])"},
		{"type [A = number, optional B, ...]", "(type [A=number B ...])"},
		{"type {number}", "(type {number})"},
		{"type function (x as text) as number", "(type function)"},
		{"#date(2020, 1, 31)", "(call #date 2020 1 31)"},
		{"#infinity", "#infinity"},
		{"0x1F", "31"},
		{"1.5e-3", "0.0015"},
		{"...", "..."},
		{"Section1!Foo", "Section1!Foo"},
		{"f(1)(2)", "(call (call f 1) 2)"},
		{"1 + if a then 2 else 3", "(+ 1 (if a 2 3))"},
		{"\"a\" // comment\n", `"a"`},
		{"/* c */ 1 /* d */", "1"},
		{"x\u00a0+\u2003y", "(+ x y)"},
		{"Käse.Größe", "Käse.Größe"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := sexpr(e); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"let a = 1", "line 1, column 10: expected 'in', found end of text"},
		{"let\n  a = 1,\n  b = \nin a", "line 4, column 1: expected an expression, found 'in'"},
		{"1 +", "line 1, column 4: expected an expression, found end of text"},
		{"(1", "line 1, column 3: expected ')', found end of text"},
		{"\"abc", "line 1, column 1: text is not closed with a quote"},
		{"\"a#(zz)\"", "line 1, column 3: unknown escape #(zz)"},
		{"/* open", "line 1, column 1: comment is not closed with */"},
		{"1 2", "line 1, column 3: unexpected 2 after the end of the expression"},
		{"if a then b", "line 1, column 12: expected 'else', found end of text"},
		{"[A = 1, A = 2]", `line 1, column 9: field "A" is defined twice`},
		{"x[A = 1]", "line 1, column 5: expected ']' after the field name, found '='"},
		{"(x, x) => 1", `line 1, column 1: parameter "x" is declared twice`},
		{"(optional x, y) => 1", `line 1, column 1: parameter "y" must be optional`},
		{"1 as Int64.Type", "line 1, column 6: expected a primitive type after 'as', found Int64.Type"},
		{"#foo(1)", "line 1, column 1: unknown keyword #foo"},
		{"1 $ 2", "line 1, column 3: unexpected character '$'"},
		{"0x", "line 1, column 1: hexadecimal number has no digits"},
		{"a\tb", "line 1, column 3: unexpected b"},
		{"é +", "line 1, column 4: expected an expression"},
		{strings.Repeat("(", 1000) + "1" + strings.Repeat(")", 1000), "nests more than 300 levels deep"},
		{strings.Repeat("-", 1000) + "1", "nests more than 300 levels deep"},
		{"try 1 catch 2", "catch must be followed by a function"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want %q", tt.in, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error:\n  %v\nwant it to contain:\n  %s", tt.in, err, tt.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) error is not ErrSyntax", tt.in)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || list[0].Pos.Line == 0 {
				t.Errorf("Parse(%q) error %#v has no position", tt.in, err)
			}
		})
	}
}

// Positions count characters, and every kind of line break.
func TestPositions(t *testing.T) {
	e, err := Parse("let\r\n  é = 1,\r  b = 2,\n  c = ü\nin c")
	if err != nil {
		t.Fatal(err)
	}
	l := e.(*Let)
	got := []Pos{l.Vars[0].At, l.Vars[1].At, l.Vars[2].At, l.Vars[2].Value.Pos(), l.Body.Pos()}
	want := []struct{ line, col int }{{2, 3}, {3, 3}, {4, 3}, {4, 7}, {5, 4}}
	for i, w := range want {
		if got[i].Line != w.line || got[i].Col != w.col {
			t.Errorf("position %d = %d:%d, want %d:%d", i, got[i].Line, got[i].Col, w.line, w.col)
		}
	}
}

// FuzzParse checks that the parser never panics, that it either returns
// a tree or positioned syntax errors, and that evaluating what parses
// never panics either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"let a = 1, b = a + 1 in b", `Csv.Document(File.Contents("x.csv"), [Delimiter=",", Encoding=65001])`,
		"each [A] + _", "(x as text, optional y) as number => x", `#"a b"[c d]?{0}?`, "type table [A = Int64.Type]",
		"try error \"x\" catch (e) => e[Message]", "{1..3} & {4}", "if a then b else c", "\"#(cr,lf)\"", "0xFF",
		"[A = 1] meta [B = 2]", "x ?? y", "/* c */ 1 // d", "Section1!x", "...",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse(%q): error without positions: %v", src, err)
			}
			for _, le := range list {
				if le.Pos.Line < 1 || le.Pos.Col < 1 {
					t.Fatalf("Parse(%q): bad position %v", src, le.Pos)
				}
			}
			return
		}
		if e == nil {
			t.Fatalf("Parse(%q) returned neither a tree nor an error", src)
		}
		ctx, cancel := contextWithSteps()
		defer cancel()
		if v, err := Evaluate(ctx, src, nil); err == nil && v != nil {
			_ = show(v)
		}
	})
}

// contextWithSteps returns a context that bounds how long a fuzzed
// expression may evaluate.
func contextWithSteps() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 200*time.Millisecond)
}
