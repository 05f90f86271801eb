package dax

import "fmt"

// Pos is a position in the source text. Line and Col are 1-based; Col
// counts runes (a tab is one column), which is what an editor shows.
// Offset is the 0-based byte offset.
type Pos struct{ Offset, Line, Col int }

// String writes the position as people read it: "line 3, column 5".
func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

// Node is any node of the syntax tree.
type Node interface {
	// Pos is where the node starts in the source, except for Binary,
	// whose position is its operator's (see Binary).
	Pos() Pos
}

// Expr is a DAX expression, scalar or table: DAX does not tell the two
// apart in its syntax, so neither does the tree; the engine does.
type Expr interface {
	Node
	exprNode()
}

// Expression nodes. Every node is used as a pointer (*NumberLit, ...).
type (
	// NumberLit is a number as written: 42, 1.5, .5, 1e3. Text keeps the
	// spelling. IsInt is true when the literal has no '.' and no exponent
	// and fits in an int64; Int then holds it. Float always holds the
	// value as a float64. Numbers are never negative: -1 is a Unary.
	NumberLit struct {
		At    Pos
		Text  string
		IsInt bool
		Int   int64
		Float float64
	}

	// StringLit is a string literal, "..." with "" standing for one
	// quote. Value is the decoded text.
	StringLit struct {
		At    Pos
		Value string
	}

	// BoolLit is TRUE or FALSE written without parentheses. TRUE() and
	// FALSE() are Calls, as they are functions in DAX.
	BoolLit struct {
		At    Pos
		Value bool
	}

	// DateLit is a datetime literal: dt"2020-01-31",
	// dt"2020-01-31T10:00:00" or dt"2020-01-31 10:00:00". Text is what is
	// between the quotes; OLE is the value as an OLE Automation date (see
	// internal/value), checked to be a real date in DAX's range.
	DateLit struct {
		At   Pos
		Text string
		OLE  float64
	}

	// ColumnRef is a reference written with square brackets:
	// 'Table Name'[Column], Table[Column] or [Name]. Table is "" in the
	// last form, which names a measure or a column of the table in the
	// row context; the engine resolves which. Names are decoded ('' and ]]
	// escapes removed) and keep their spelling. Quoted records that the
	// table name was written in quotes, so that Format keeps the author's
	// choice; an unquoted name is printed with quotes only when it needs
	// them.
	ColumnRef struct {
		At     Pos
		Table  string
		Column string
		Quoted bool
	}

	// TableRef is a table name in quotes: 'Sales'. A name written without
	// quotes (Sales) is an Ident, since the parser cannot tell it from a
	// variable; the engine resolves both. Quoted is always true for
	// trees from the parser; a TableRef built with Quoted false is printed
	// without quotes when the name allows it.
	TableRef struct {
		At     Pos
		Name   string
		Quoted bool
	}

	// Ident is a bare name: a variable, a table name written without
	// quotes, or a keyword passed as an argument (ASC, DESC, DAY, MONTH,
	// INTEGER, STRING, SKIP, DENSE, ...). Name keeps its spelling; compare
	// names with EqualFold.
	Ident struct {
		At   Pos
		Name string
	}

	// Param is a query parameter, @Name, which stands for a value given
	// with the query (XMLA parameters). Name is without the '@'.
	Param struct {
		At   Pos
		Name string
	}

	// Call is a function call. Func is the function name in upper case
	// (PERCENTILE.INC, CALCULATE, a user-defined function's name). Args
	// holds one entry per argument; an argument left empty, as in
	// RANKX(T, [m], , DESC), is a nil entry. F() has no arguments.
	Call struct {
		At   Pos
		Func string
		Args []Expr
	}

	// Unary is a prefix operator: OpNeg (-x), OpPlus (+x) or OpNot
	// (NOT x). At is the operator's position.
	Unary struct {
		At Pos
		Op Op
		X  Expr
	}

	// Binary is an infix operator: arithmetic (+ - * / ^), text
	// concatenation (&), comparison (= == <> < <= > >=), IN, && and ||.
	// At is the operator's position, the useful place to point at when
	// the operation fails; X.Pos() is where the expression starts. For IN,
	// Y is the table and X a scalar or a RowCtor.
	Binary struct {
		At   Pos
		Op   Op
		X, Y Expr
	}

	// VarExpr is VAR name = value ... RETURN expr. Each variable may use
	// the ones before it. At is the first VAR keyword.
	VarExpr struct {
		At     Pos
		Vars   []VarDecl
		Return Expr
	}

	// TableCtor is a table constructor. { 1, 2 } has one column and two
	// rows: [[1] [2]]; { (1, "a"), (2, "b") } has two columns: [[1 "a"]
	// [2 "b"]]. Every row has the same number of values (the parser
	// checks). DATATABLE's data argument, { { 1, "a" }, { 2, "b" } }, is a
	// one-column TableCtor whose values are TableCtors; DATATABLE gives it
	// its meaning.
	TableCtor struct {
		At   Pos
		Rows [][]Expr
	}

	// RowCtor is a row constructor, (a, b), with two values or more. It is
	// only allowed as the left operand of IN: ('T'[a], 'T'[b]) IN { (1, 2) }.
	// Rows of a TableCtor are stored in TableCtor.Rows, not as RowCtors.
	RowCtor struct {
		At     Pos
		Values []Expr
	}
)

// VarDecl is one VAR name = value of a VarExpr.
type VarDecl struct {
	At    Pos
	Name  string
	Value Expr
}

// Parentheses are not kept in the tree: the tree's shape says how
// operators group, and Format puts back the parentheses that grouping
// needs. This keeps the engine from having to look through them.

func (x *NumberLit) Pos() Pos { return x.At }
func (x *StringLit) Pos() Pos { return x.At }
func (x *BoolLit) Pos() Pos   { return x.At }
func (x *DateLit) Pos() Pos   { return x.At }
func (x *ColumnRef) Pos() Pos { return x.At }
func (x *TableRef) Pos() Pos  { return x.At }
func (x *Ident) Pos() Pos     { return x.At }
func (x *Param) Pos() Pos     { return x.At }
func (x *Call) Pos() Pos      { return x.At }
func (x *Unary) Pos() Pos     { return x.At }
func (x *Binary) Pos() Pos    { return x.At }
func (x *VarExpr) Pos() Pos   { return x.At }
func (x *TableCtor) Pos() Pos { return x.At }
func (x *RowCtor) Pos() Pos   { return x.At }
func (x *VarDecl) Pos() Pos   { return x.At }

func (*NumberLit) exprNode() {}
func (*StringLit) exprNode() {}
func (*BoolLit) exprNode()   {}
func (*DateLit) exprNode()   {}
func (*ColumnRef) exprNode() {}
func (*TableRef) exprNode()  {}
func (*Ident) exprNode()     {}
func (*Param) exprNode()     {}
func (*Call) exprNode()      {}
func (*Unary) exprNode()     {}
func (*Binary) exprNode()    {}
func (*VarExpr) exprNode()   {}
func (*TableCtor) exprNode() {}
func (*RowCtor) exprNode()   {}

// Op is an operator.
type Op uint8

// The operators. The zero Op is invalid.
const (
	OpInvalid  Op = iota
	OpAdd         // +
	OpSub         // -
	OpMul         // *
	OpDiv         // /
	OpPow         // ^
	OpConcat      // &
	OpEq          // =
	OpStrictEq    // ==
	OpNe          // <>
	OpLt          // <
	OpLe          // <=
	OpGt          // >
	OpGe          // >=
	OpIn          // IN
	OpAnd         // &&
	OpOr          // ||
	OpNeg         // unary -
	OpPlus        // unary +
	OpNot         // NOT
)

var opNames = [...]string{
	OpInvalid:  "invalid",
	OpAdd:      "+",
	OpSub:      "-",
	OpMul:      "*",
	OpDiv:      "/",
	OpPow:      "^",
	OpConcat:   "&",
	OpEq:       "=",
	OpStrictEq: "==",
	OpNe:       "<>",
	OpLt:       "<",
	OpLe:       "<=",
	OpGt:       ">",
	OpGe:       ">=",
	OpIn:       "IN",
	OpAnd:      "&&",
	OpOr:       "||",
	OpNeg:      "-",
	OpPlus:     "+",
	OpNot:      "NOT",
}

// String returns the operator as DAX spells it.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// IsComparison reports whether o is one of = == <> < <= > >=.
func (o Op) IsComparison() bool { return o >= OpEq && o <= OpGe }

// Precedence levels, lowest first. Operators of one level group left to
// right.
const (
	precLowest  = iota
	precOr      // ||
	precAnd     // &&
	precNot     // NOT
	precCompare // = == <> < <= > >= IN
	precConcat  // &
	precAdd     // + -
	precMul     // * /
	precSign    // unary + -
	precPow     // ^
	precPrimary // literals, references, calls, constructors
)

func (o Op) prec() int {
	switch o {
	case OpOr:
		return precOr
	case OpAnd:
		return precAnd
	case OpNot:
		return precNot
	case OpEq, OpStrictEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn:
		return precCompare
	case OpConcat:
		return precConcat
	case OpAdd, OpSub:
		return precAdd
	case OpMul, OpDiv:
		return precMul
	case OpNeg, OpPlus:
		return precSign
	case OpPow:
		return precPow
	}
	return precLowest
}

// Query is a DAX query: an optional DEFINE block and one EVALUATE or more.
type Query struct {
	Defines   []Define
	Evaluates []*Evaluate
}

// Pos is the position of the first definition or EVALUATE.
func (q *Query) Pos() Pos {
	if len(q.Defines) > 0 {
		return q.Defines[0].Pos()
	}
	if len(q.Evaluates) > 0 {
		return q.Evaluates[0].At
	}
	return Pos{Line: 1, Col: 1}
}

// Define is one definition of a DEFINE block: *MeasureDef, *VarDef,
// *TableDef, *ColumnDef or *FunctionDef.
type Define interface {
	Node
	defineNode()
}

type (
	// MeasureDef is MEASURE 'Table'[Name] = expr: a measure for the
	// duration of the query, replacing a model measure of the same name.
	MeasureDef struct {
		At    Pos
		Table string
		Name  string
		Expr  Expr
	}

	// VarDef is VAR name = expr at query level, visible to every
	// EVALUATE and to later definitions.
	VarDef struct {
		At   Pos
		Name string
		Expr Expr
	}

	// TableDef is TABLE name = expr: a calculated table for the query.
	TableDef struct {
		At   Pos
		Name string
		Expr Expr
	}

	// ColumnDef is COLUMN 'Table'[Name] = expr: a calculated column for
	// the query.
	ColumnDef struct {
		At    Pos
		Table string
		Name  string
		Expr  Expr
	}

	// FunctionDef is FUNCTION Name = (params) => body, a user-defined
	// function. Name keeps its spelling; calls to it have the upper-cased
	// name in Call.Func.
	FunctionDef struct {
		At     Pos
		Name   string
		Params []FuncParam
		Body   Expr
	}
)

// FuncParam is one parameter of a FunctionDef: name [: hints] [= default].
// Hints are the type words after the colon, upper-cased and in order, for
// example [SCALAR NUMERIC VAL] or [TABLE]; they are one of the types ANYVAL,
// SCALAR, TABLE, ANYREF, CALENDARREF, COLUMNREF, MEASUREREF, TABLEREF, the
// scalar subtypes BOOLEAN, DATETIME, DECIMAL, DOUBLE, INT64, NUMERIC,
// STRING, VARIANT, and the passing modes VAL, EXPR. Default is nil when
// the parameter is required.
type FuncParam struct {
	At      Pos
	Name    string
	Hints   []string
	Default Expr
}

// Evaluate is EVALUATE table [ORDER BY keys] [START AT values].
type Evaluate struct {
	At      Pos
	Table   Expr
	OrderBy []OrderKey
	StartAt []Expr // constants or Params, at most one per ORDER BY key
}

// OrderKey is one key of ORDER BY.
type OrderKey struct {
	Expr Expr
	Desc bool
}

func (d *MeasureDef) Pos() Pos  { return d.At }
func (d *VarDef) Pos() Pos      { return d.At }
func (d *TableDef) Pos() Pos    { return d.At }
func (d *ColumnDef) Pos() Pos   { return d.At }
func (d *FunctionDef) Pos() Pos { return d.At }
func (p *FuncParam) Pos() Pos   { return p.At }
func (e *Evaluate) Pos() Pos    { return e.At }

func (*MeasureDef) defineNode()  {}
func (*VarDef) defineNode()      {}
func (*TableDef) defineNode()    {}
func (*ColumnDef) defineNode()   {}
func (*FunctionDef) defineNode() {}
