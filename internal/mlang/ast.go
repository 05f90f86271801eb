package mlang

// Expr is a node of the syntax tree of an M expression.
type Expr interface {
	// Pos is where the expression starts, except for binary operators,
	// whose position is the operator's.
	Pos() Pos
}

// The expression nodes.
type (
	// Literal is a number, text, logical or null literal.
	Literal struct {
		At  Pos
		Val Value
	}
	// Ident is a reference to a name: a variable, a parameter, a library
	// function (Table.PromoteHeaders) or a #keyword function (#date).
	Ident struct {
		At        Pos
		Name      string
		Inclusive bool // written @name
	}
	// ListExpr is {a, b, c..d}.
	ListExpr struct {
		At    Pos
		Items []ListItem
	}
	// RecordExpr is [a = 1, b = 2].
	RecordExpr struct {
		At     Pos
		Fields []FieldDef
	}
	// FieldAccess is x[Name] or x[Name]?; with a nil Target it is the
	// implicit [Name] of an each, that is _[Name].
	FieldAccess struct {
		At       Pos
		Target   Expr
		Name     string
		Optional bool
	}
	// Projection is x[[A], [B]] or x[[A], [B]]?.
	Projection struct {
		At       Pos
		Target   Expr
		Names    []string
		Optional bool
	}
	// ItemAccess is x{i} or x{i}?.
	ItemAccess struct {
		At       Pos
		Target   Expr
		Index    Expr
		Optional bool
	}
	// Call is f(a, b).
	Call struct {
		At   Pos
		Fn   Expr
		Args []Expr
	}
	// UnaryOp is -x, +x or not x.
	UnaryOp struct {
		At Pos
		Op string
		X  Expr
	}
	// BinaryOp is x op y for the arithmetic, comparison, logical, & and ??
	// operators, and x meta y.
	BinaryOp struct {
		At   Pos // of the operator
		Op   string
		X, Y Expr
	}
	// TypeTest is x as T or x is T.
	TypeTest struct {
		At   Pos // of the operator
		Op   string
		X    Expr
		Type *TypeSpec
	}
	// If is if c then a else b.
	If struct {
		At               Pos
		Cond, Then, Else Expr
	}
	// Let is let a = 1, b = 2 in a + b.
	Let struct {
		At   Pos
		Vars []FieldDef
		Body Expr
	}
	// Func is (x, optional y as text) as number => body, and each body
	// (one parameter named _).
	Func struct {
		At     Pos
		Params []Param
		Return *TypeSpec
		Body   Expr
	}
	// TypeExpr is type T.
	TypeExpr struct {
		At   Pos
		Type *TypeSpec
	}
	// Raise is error x.
	Raise struct {
		At Pos
		X  Expr
	}
	// Try is try x, try x otherwise y, or try x catch (e) => y.
	Try struct {
		At        Pos
		X         Expr
		Otherwise Expr  // nil without otherwise
		Catch     *Func // nil without catch
	}
	// NotImplemented is ..., which raises an error when evaluated.
	NotImplemented struct{ At Pos }
	// SectionAccess is Section1!Name, which Meridian does not evaluate.
	SectionAccess struct {
		At              Pos
		Section, Member string
	}
)

// ListItem is an item of a list literal: one expression, or a range From..To.
type ListItem struct {
	From, To Expr // To is nil for a single item
}

// FieldDef is name = value in a record literal or a let.
type FieldDef struct {
	At    Pos
	Name  string
	Value Expr
}

// Param is a function parameter.
type Param struct {
	Name     string
	Optional bool
	Type     *TypeSpec // nil when not asserted
}

// TypeSpec is a written type: a primitive type (possibly nullable), a
// record, list or table type, a function type, or an expression that
// yields a type (Int64.Type).
type TypeSpec struct {
	At       Pos
	Prim     string // any, number, text, ... or "" for the others
	Nullable bool
	Record   bool        // [A = number, ...] (Fields, Open)
	Table    bool        // table [A = number, ...] (Fields)
	Fields   []FieldSpec // of a record or table type
	Open     bool        // the record type ends with ...
	List     *TypeSpec   // {T}
	Function bool        // function (...) as T: kept as "function"
	Expr     Expr        // a type-valued expression
}

// FieldSpec is a field of a record or table type.
type FieldSpec struct {
	Name     string
	Optional bool
	Type     *TypeSpec // nil means any
}

func (e *Literal) Pos() Pos        { return e.At }
func (e *Ident) Pos() Pos          { return e.At }
func (e *ListExpr) Pos() Pos       { return e.At }
func (e *RecordExpr) Pos() Pos     { return e.At }
func (e *FieldAccess) Pos() Pos    { return e.At }
func (e *Projection) Pos() Pos     { return e.At }
func (e *ItemAccess) Pos() Pos     { return e.At }
func (e *Call) Pos() Pos           { return e.At }
func (e *UnaryOp) Pos() Pos        { return e.At }
func (e *BinaryOp) Pos() Pos       { return e.At }
func (e *TypeTest) Pos() Pos       { return e.At }
func (e *If) Pos() Pos             { return e.At }
func (e *Let) Pos() Pos            { return e.At }
func (e *Func) Pos() Pos           { return e.At }
func (e *TypeExpr) Pos() Pos       { return e.At }
func (e *Raise) Pos() Pos          { return e.At }
func (e *Try) Pos() Pos            { return e.At }
func (e *NotImplemented) Pos() Pos { return e.At }
func (e *SectionAccess) Pos() Pos  { return e.At }
