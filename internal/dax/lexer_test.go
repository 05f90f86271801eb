package dax

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/value"
)

// lexAll returns the tokens of src as "kind:text@line:col" strings, with
// the decoded value after '=' where it differs from the text.
func lexAll(src string) ([]string, ErrorList) {
	var errs ErrorList
	l := newLexer(src, &errs)
	var out []string
	for {
		t := l.next()
		if t.kind == tEOF {
			out = append(out, fmt.Sprintf("EOF@%d:%d", t.pos.Line, t.pos.Col))
			return out, errs
		}
		s := fmt.Sprintf("%s:%s@%d:%d", kindName[t.kind], t.text, t.pos.Line, t.pos.Col)
		if t.val != "" && t.val != t.text {
			s += "=" + t.val
		}
		out = append(out, s)
	}
}

var kindName = map[tokenKind]string{
	tIllegal: "illegal", tNumber: "num", tString: "str", tDate: "date",
	tIdent: "ident", tQuoted: "quoted", tBracket: "bracket", tParam: "param",
}

func init() {
	for k := range punctText {
		kindName[k] = "op"
	}
}

func TestLexer(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{"EOF@1:1"}},
		{"spaces and comments", " // c\n-- d\r\n/* e\n f */ x", []string{"ident:x@4:7", "EOF@4:8"}},
		{"crlf and lone cr count as one line", "a\r\nb\rc", []string{"ident:a@1:1", "ident:b@2:1", "ident:c@3:1", "EOF@3:2"}},
		{"columns count runes", "\"é€\" x", []string{"str:\"é€\"@1:1=é€", "ident:x@1:6", "EOF@1:7"}},
		{"tab is one column", "\tx", []string{"ident:x@1:2", "EOF@1:3"}},
		{"integers and decimals", "0 42 1.5 .5 1. 1e3 2E+4 3e-2", []string{
			"num:0@1:1", "num:42@1:3", "num:1.5@1:6", "num:.5@1:10", "num:1.@1:13",
			"num:1e3@1:16", "num:2E+4@1:20", "num:3e-2@1:25", "EOF@1:29"}},
		{"string escapes", `"a""b" ""`, []string{`str:"a""b"@1:1=a"b`, `str:""@1:8`, "EOF@1:10"}},
		{"datetime", `dt"2020-01-31" Dt"2020-1-2 3:04"`, []string{
			`date:dt"2020-01-31"@1:1=2020-01-31`, `date:Dt"2020-1-2 3:04"@1:16=2020-1-2 3:04`, "EOF@1:33"}},
		{"dt alone is a name", "dt dt[x]", []string{"ident:dt@1:1", "ident:dt@1:4", "bracket:[x]@1:6=x", "EOF@1:9"}},
		{"quoted table with escape", "'Bob''s' 'A B'", []string{"quoted:'Bob''s'@1:1=Bob's", "quoted:'A B'@1:10=A B", "EOF@1:15"}},
		{"brackets with escape", "[a]]b] [# x (y)]", []string{"bracket:[a]]b]@1:1=a]b", "bracket:[# x (y)]@1:8=# x (y)", "EOF@1:17"}},
		{"dotted function names", "PERCENTILE.INC INFO.VIEW.TABLES x.", []string{
			"ident:PERCENTILE.INC@1:1", "ident:INFO.VIEW.TABLES@1:16", "ident:x@1:33", "illegal:.@1:34", "EOF@1:35"}},
		{"names", "_a a1 __b", []string{"ident:_a@1:1", "ident:a1@1:4", "ident:__b@1:7", "EOF@1:10"}},
		{"parameter", "@p1", []string{"param:@p1@1:1=p1", "EOF@1:4"}},
		{"operators", "( ) { } , : => = == <> < <= > >= + - * / ^ & && ||", []string{
			"op:(@1:1", "op:)@1:3", "op:{@1:5", "op:}@1:7", "op:,@1:9", "op::@1:11", "op:=>@1:13",
			"op:=@1:16", "op:==@1:18", "op:<>@1:21", "op:<@1:24", "op:<=@1:26", "op:>@1:29",
			"op:>=@1:31", "op:+@1:34", "op:-@1:36", "op:*@1:38", "op:/@1:40", "op:^@1:42",
			"op:&@1:44", "op:&&@1:46", "op:||@1:49", "EOF@1:51"}},
		{"operators without spaces", "a<>b<=c>=d&&e||f", []string{
			"ident:a@1:1", "op:<>@1:2", "ident:b@1:4", "op:<=@1:5", "ident:c@1:7", "op:>=@1:8",
			"ident:d@1:10", "op:&&@1:11", "ident:e@1:13", "op:||@1:14", "ident:f@1:16", "EOF@1:17"}},
		{"minus minus starts a comment", "5--3\n4", []string{"num:5@1:1", "num:4@2:1", "EOF@2:2"}},
		{"byte order mark", "\uFEFFx", []string{"ident:x@1:1", "EOF@1:2"}},
		{"unicode spaces", "a\u00a0b\u2003c", []string{"ident:a@1:1", "ident:b@1:3", "ident:c@1:5", "EOF@1:6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := lexAll(tt.src)
			if tt.name != "dotted function names" && len(errs) > 0 {
				t.Errorf("errors: %v", errs)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tokens (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLexerErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // first error, "line:col: message"
	}{
		{"invalid utf-8", "a \xff b", "1:3: invalid UTF-8 encoding"},
		{"invalid utf-8 in string", "\"a\xffb\"", "1:1: invalid UTF-8 encoding in string"},
		{"control character", "a \x01", "1:3: unknown control character U+0001"},
		{"nul", "\x00", "1:1: unknown control character U+0000"},
		{"pipe", "a | b", "1:3: unknown character '|' (DAX writes 'or' as || and 'not' as NOT)"},
		{"exclamation", "!a", "1:1: unknown character '!' (DAX writes 'or' as || and 'not' as NOT)"},
		{"smart double quote", "“a”", "1:1: typographic quote '“': write strings between ASCII double quotes \""},
		{"unterminated string on line 3", "1 +\n2 +\n  \"abc\n", "3:3: unterminated string: missing closing \""},
		{"unterminated bracket", "[a\n]", "1:1: unterminated column or measure name: missing ] before the end of the line"},
		{"exponent without digits", "1e", "1:1: invalid number \"1e\""},
		{"bad date", `dt"2020/01/01"`, "1:1: invalid datetime dt\"2020/01/01\": write dt\"YYYY-MM-DD\", dt\"YYYY-MM-DDThh:mm:ss\" or dt\"YYYY-MM-DD hh:mm:ss\" with a real date between years 100 and 9999"},
		{"unterminated date", `dt"2020`, "1:3: unterminated string: missing closing \""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := lexAll(tt.src)
			if len(errs) == 0 {
				t.Fatalf("no error for %q", tt.src)
			}
			got := fmt.Sprintf("%d:%d: %s", errs[0].Pos.Line, errs[0].Pos.Col, errs[0].Msg)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestNumberLit(t *testing.T) {
	tests := []struct {
		src   string
		isInt bool
		i     int64
		f     float64
	}{
		{"42", true, 42, 42},
		{"0", true, 0, 0},
		{"9223372036854775807", true, 9223372036854775807, 9223372036854775807},
		{"9223372036854775808", false, 0, 9223372036854775808},
		{"1.0", false, 0, 1},
		{"1e3", false, 0, 1000},
		{".5", false, 0, 0.5},
		{"1.", false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := ParseExpr(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			n := e.(*NumberLit)
			want := &NumberLit{At: Pos{Offset: 0, Line: 1, Col: 1}, Text: tt.src, IsInt: tt.isInt, Int: tt.i, Float: tt.f}
			if diff := cmp.Diff(want, n); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDateLit(t *testing.T) {
	tests := []struct {
		src  string
		want float64
	}{
		{`dt"1899-12-30"`, 0},
		{`dt"2020-01-31"`, value.DateOf(2020, 1, 31)},
		{`dt"2015-1-9T02:30:00"`, value.DateOf(2015, 1, 9) + 2.5/24},
		{`dt"2020-01-31 12:00"`, value.DateOf(2020, 1, 31) + 0.5},
		{`dt"2020-02-29T23:59:59.5"`, value.DateOf(2020, 2, 29) + (86399.5)/86400},
		{`dt"0100-01-01"`, value.DateOf(100, 1, 1)},
		{`dt"9999-12-31"`, value.DateOf(9999, 12, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := ParseExpr(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.(*DateLit).OLE; got != tt.want {
				t.Errorf("OLE = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`dt"2019-02-29"`, `dt"2020-13-01"`, `dt"2020-00-10"`, `dt"0099-12-31"`, `dt"20-01-01"`,
		`dt"2020-01-01T"`, `dt"2020-01-01T10"`, `dt"2020-01-01T10:60"`, `dt"2020-01-01T10:00:60"`, `dt"2020-01-01x"`, `dt""`} {
		t.Run(bad, func(t *testing.T) {
			if _, err := ParseExpr(bad); err == nil || !strings.Contains(err.Error(), "invalid datetime") {
				t.Errorf("want an invalid datetime error, got %v", err)
			}
		})
	}
}
