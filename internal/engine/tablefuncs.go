package engine

import (
	"math"
	"slices"
	"strings"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

func init() {
	register("ADDCOLUMNS", &builtin{min: 3, max: -1, table: addColumns})
	register("SELECTCOLUMNS", &builtin{min: 1, max: -1, table: selectColumns})
	register("SUMMARIZE", &builtin{min: 1, max: -1, table: summarize})
	register("TOPN", &builtin{min: 2, max: -1, table: topN})
	register("ROW", &builtin{min: 2, max: -1, table: rowTable})
	register("DATATABLE", &builtin{min: 3, max: -1, table: dataTable})
	register("GENERATE", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return generate(ev, en, c, false)
	}})
	register("GENERATEALL", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return generate(ev, en, c, true)
	}})
	register("CROSSJOIN", &builtin{min: 1, max: -1, table: crossJoin})
	register("UNION", &builtin{min: 2, max: -1, table: union})
	register("EXCEPT", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return setOp(ev, en, c, false)
	}})
	register("INTERSECT", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return setOp(ev, en, c, true)
	}})
	register("GENERATESERIES", &builtin{min: 2, max: 3, table: generateSeries})
	register("CALENDAR", &builtin{min: 2, max: 2, table: calendar})
	register("RANKX", &builtin{min: 2, max: 5, table: nil, scalar: rankX, emptyOK: []int{2, 3, 4}})
	register("NAMEOF", &builtin{min: 1, max: 1, scalar: nameOf})
}

// materializeArg evaluates argument i as a table and materializes it.
func (ev *evaluator) materializeArg(c *dax.Call, i int, en *env) (*tableVal, error) {
	t, err := ev.table(c.Args[i], en)
	if err != nil {
		return nil, err
	}
	if err := t.materialize(ev); err != nil {
		return nil, err
	}
	return t, nil
}

// nameArg reads the name of a new column: a string literal.
func nameArg(c *dax.Call, i int) (string, error) {
	s, ok := c.Args[i].(*dax.StringLit)
	if !ok {
		return "", errorf(c.Args[i], "%s expects a column name in quotes as argument %d", c.Func, i+1)
	}
	if strings.TrimSpace(s.Value) == "" {
		return "", errorf(s, "a column name cannot be empty")
	}
	return s.Value, nil
}

// addColumns is ADDCOLUMNS(table, name, expr, ...): each expression is
// evaluated in the row context of every row.
func addColumns(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	if len(c.Args)%2 != 1 {
		return nil, errorf(c, "ADDCOLUMNS takes a table and pairs of names and expressions")
	}
	t, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return nil, err
	}
	cols := slices.Clone(t.cols)
	var exprs []dax.Expr
	for i := 1; i < len(c.Args); i += 2 {
		name, err := nameArg(c, i)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(cols, func(ci colInfo) bool { return ci.Table == "" && value.EqualText(ci.Name, name) }) {
			return nil, errorf(c.Args[i], "the column %q is defined twice", name)
		}
		cols = append(cols, colInfo{Name: name})
		exprs = append(exprs, c.Args[i+1])
	}
	// The columns' measures share scans (scancache.go).
	defer ev.announce(exprs, en)()
	rows := make([][]value.Value, len(t.rows))
	width := len(t.cols)
	for i, r := range t.rows {
		nr := make([]value.Value, len(cols))
		copy(nr, r)
		rows[i] = nr
	}
	for j, e := range exprs {
		vals, err := ev.evalRows(e, en, t, cols[:width+j], rows)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i][width+j] = vals[i]
		}
	}
	for j := range exprs {
		cols[width+j].Type = commonType(rows, width+j)
	}
	return materialized(cols, rows), nil
}

// evalRows evaluates an expression in the row context of each row of a
// materialized table (whose columns are cols).
func (ev *evaluator) evalRows(e dax.Expr, en *env, t *tableVal, cols []colInfo, rows [][]value.Value) ([]value.Value, error) {
	if vals, ok, err := ev.vectorRows(e, en, cols, rows); ok || err != nil {
		return vals, err
	}
	tv := materialized(cols, nil)
	out := make([]value.Value, len(rows))
	for i, r := range rows {
		if i%1024 == 0 {
			if err := ev.ctx.Err(); err != nil {
				return nil, err
			}
		}
		v, err := ev.scalar(e, en.withRow(&rowCtx{tv: tv, vals: r[:len(cols)]}))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// selectColumns is SELECTCOLUMNS(table, name, expr, ...). A column that is
// a plain reference keeps its lineage.
func selectColumns(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	if len(c.Args)%2 != 1 {
		return nil, errorf(c, "SELECTCOLUMNS takes a table and pairs of names and expressions")
	}
	t, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return nil, err
	}
	var cols []colInfo
	for i := 1; i < len(c.Args); i += 2 {
		name, err := nameArg(c, i)
		if err != nil {
			return nil, err
		}
		ci := colInfo{Name: name}
		if ref, ok := c.Args[i+1].(*dax.ColumnRef); ok {
			if col, err := ev.resolveColumn(ref, en); err == nil && t.colIndex(col) >= 0 {
				ci.Lineage, ci.Type = col, col.Type
			}
		}
		cols = append(cols, ci)
	}
	rows := make([][]value.Value, len(t.rows))
	for i := range rows {
		rows[i] = make([]value.Value, len(cols))
	}
	for j := range cols {
		vals, err := ev.evalRows(c.Args[2+2*j], en, t, t.cols, t.rows)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i][j] = vals[i]
		}
		if cols[j].Lineage == nil {
			cols[j].Type = commonType(rows, j)
		}
	}
	return materialized(cols, rows), nil
}

// summarize is SUMMARIZE(table, groupBy..., name, expr...): the distinct
// combinations of the group-by columns (of the table or tables it
// reaches) among the table's rows, with expressions evaluated for each
// combination within the table's rows.
func summarize(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	t, err := ev.table(c.Args[0], en)
	if err != nil {
		return nil, err
	}
	var groups []*Column
	i := 1
	for ; i < len(c.Args); i++ {
		if _, ok := c.Args[i].(*dax.StringLit); ok {
			break
		}
		col, err := ev.resolveColumn(c.Args[i], en)
		if err != nil {
			return nil, errorf(c.Args[i], "SUMMARIZE groups by columns; %v", err)
		}
		groups = append(groups, col)
	}
	if (len(c.Args)-i)%2 != 0 {
		return nil, errorf(c, "SUMMARIZE takes pairs of names and expressions after its columns")
	}
	cols := make([]colInfo, len(groups))
	for j, g := range groups {
		cols[j] = lineageInfo(g)
	}
	var rows [][]value.Value
	if t.isBase() {
		base := t.base
		var keys []colstore.GroupKey
		for _, g := range groups {
			k, err := ev.groupKey(t.filter, base, g)
			if err != nil {
				return nil, errorf(c, "%v", err)
			}
			keys = append(keys, k)
		}
		extra := t.sel
		res, blankRow, err := ev.scanTable(t.filter, base, extra, keys, nil)
		if err != nil {
			return nil, err
		}
		for gi := 0; gi < res.Groups; gi++ {
			r := make([]value.Value, len(groups))
			for j, g := range groups {
				r[j] = g.Data.Dict.Value(res.Keys[j][gi])
			}
			rows = append(rows, r)
		}
		if blankRow && !t.noBlank {
			rows = distinctRows(append(rows, make([]value.Value, len(groups))))
		}
	} else {
		for _, g := range groups {
			if t.colIndex(g) < 0 {
				return nil, errorf(c, "SUMMARIZE can only group a table by its own columns; %s is not one", g)
			}
		}
		for _, r := range t.rows {
			nr := make([]value.Value, len(groups))
			for j, g := range groups {
				nr[j] = r[t.colIndex(g)]
			}
			rows = append(rows, nr)
		}
		rows = distinctRows(rows)
	}
	if i == len(c.Args) {
		return materialized(cols, rows), nil
	}
	// Expressions: evaluated for each group, within the table's rows.
	filt, err := ev.tableFilter(c.Args[0], t)
	if err != nil {
		return nil, err
	}
	inner := en.withFilter(en.filter.with(filt.filters...))
	width := len(cols)
	for ; i < len(c.Args); i += 2 {
		name, err := nameArg(c, i)
		if err != nil {
			return nil, err
		}
		cols = append(cols, colInfo{Name: name})
		vals, err := ev.evalRowsTransition(c.Args[i+1], inner, cols[:width], rows)
		if err != nil {
			return nil, err
		}
		for k := range rows {
			rows[k] = append(rows[k], vals[k])
		}
		cols[len(cols)-1].Type = commonType(rows, len(cols)-1)
		width++
	}
	return materialized(cols, rows), nil
}

// evalRowsTransition evaluates an expression for each row with the row's
// model columns as filters (as after context transition).
func (ev *evaluator) evalRowsTransition(e dax.Expr, en *env, cols []colInfo, rows [][]value.Value) ([]value.Value, error) {
	wrapped := &dax.Call{At: e.Pos(), Func: "CALCULATE", Args: []dax.Expr{e}}
	return ev.evalRows(wrapped, en, nil, cols, rows)
}

// groupKey returns the scan key grouping table t by column g of t or of a
// table t reaches.
func (ev *evaluator) groupKey(f *FilterCtx, t *Table, g *Column) (colstore.GroupKey, error) {
	if g.Table == t {
		return colstore.GroupKey{Col: g.Index}, nil
	}
	p := f.path(t, g.Table)
	if p == nil {
		return colstore.GroupKey{}, errorf(nil, "column %s is not related to table %s", g, dax.QuoteTable(t.Name))
	}
	rows := keyToRow(p)
	m := make([]uint32, len(rows))
	for id, row := range rows {
		m[id] = idAt(g, int(row))
	}
	return colstore.GroupKey{Col: p[0].From.Index, Map: m, Card: g.Data.Dict.Len()}, nil
}

// topN is TOPN(n, table, orderBy, [order], ...): the first n rows by the
// order expressions (descending unless ASC is given), ties at the n-th row
// included.
func topN(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	nv, err := ev.arg(c, 0, en)
	if err != nil {
		return nil, err
	}
	nf, ok := nv.Number()
	if !ok {
		return nil, errorf(c.Args[0], "TOPN's first argument must be a number")
	}
	t, err := ev.materializeArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	n := int(nf)
	if n <= 0 || len(t.rows) == 0 {
		return materialized(t.cols, nil), nil
	}
	type key struct {
		vals []value.Value
		row  []value.Value
	}
	var orders []dax.Expr
	var desc []bool
	for i := 2; i < len(c.Args); {
		orders = append(orders, c.Args[i])
		d := true
		if i+1 < len(c.Args) {
			if o, ok := orderWord(c.Args[i+1]); ok {
				d = o
				i++
			} else if c.Args[i+1] != nil && !ev.isColumnRef(c.Args[i+1]) {
				if v, err := ev.scalar(c.Args[i+1], en); err == nil && (v.Type() == value.Integer || v.Type() == value.Boolean) {
					d = v.AsInt() == 0
					i++
				}
			}
		}
		desc = append(desc, d)
		i++
	}
	if len(orders) == 0 {
		if n >= len(t.rows) {
			return t, nil
		}
		return materialized(t.cols, t.rows[:n]), nil
	}
	keys := make([]key, len(t.rows))
	for j, e := range orders {
		vals, err := ev.evalRows(e, en, t, t.cols, t.rows)
		if err != nil {
			return nil, err
		}
		for i := range keys {
			keys[i].vals = append(keys[i].vals, vals[i])
			keys[i].row = t.rows[i]
		}
		_ = j
	}
	cmpKeys := func(a, b key) int {
		for j := range orders {
			c := value.Compare(a.vals[j], b.vals[j])
			if desc[j] {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	if n < len(keys)/4 {
		// Few rows out of many (a top 10 of products): only the rows up
		// to the n-th best, ties included, need sorting.
		keys = topKeys(keys, n, cmpKeys)
	}
	slices.SortStableFunc(keys, cmpKeys)
	end := min(n, len(keys))
	for end < len(keys) && cmpKeys(keys[end-1], keys[end]) == 0 {
		end++
	}
	rows := make([][]value.Value, end)
	for i := range rows {
		rows[i] = keys[i].row
	}
	return materialized(t.cols, rows), nil
}

// topKeys returns, in their order, the keys that rank no worse than the
// n-th best (0 < n < len(keys)), found with a heap of the n best so far.
func topKeys[K any](keys []K, n int, cmp func(a, b K) int) []K {
	// heap holds indices of the n best keys seen, the worst at the root.
	heap := make([]int, 0, n)
	worse := func(i, j int) bool { return cmp(keys[heap[i]], keys[heap[j]]) > 0 }
	down := func(i int) {
		for {
			l, w := 2*i+1, i
			if l < len(heap) && worse(l, w) {
				w = l
			}
			if r := l + 1; r < len(heap) && worse(r, w) {
				w = r
			}
			if w == i {
				return
			}
			heap[i], heap[w] = heap[w], heap[i]
			i = w
		}
	}
	for i := range keys {
		if len(heap) < n {
			heap = append(heap, i)
			for j := len(heap) - 1; j > 0 && worse(j, (j-1)/2); j = (j - 1) / 2 {
				heap[j], heap[(j-1)/2] = heap[(j-1)/2], heap[j]
			}
			continue
		}
		if cmp(keys[i], keys[heap[0]]) < 0 {
			heap[0] = i
			down(0)
		}
	}
	nth := keys[heap[0]]
	var out []K
	for _, k := range keys {
		if cmp(k, nth) <= 0 {
			out = append(out, k)
		}
	}
	return out
}

// orderWord reads ASC/DESC (and 0/1 as DAX allows); desc is true for DESC.
func orderWord(e dax.Expr) (desc bool, ok bool) {
	switch x := e.(type) {
	case *dax.Ident:
		switch strings.ToUpper(x.Name) {
		case "ASC":
			return false, true
		case "DESC":
			return true, true
		}
	case *dax.NumberLit:
		if x.IsInt && (x.Int == 0 || x.Int == 1) {
			return x.Int == 0, true
		}
	case *dax.BoolLit:
		return !x.Value, true
	}
	return false, false
}

// rowTable is ROW(name, expr, ...): a table of one row.
func rowTable(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	if len(c.Args)%2 != 0 {
		return nil, errorf(c, "ROW takes pairs of names and expressions")
	}
	var exprs []dax.Expr
	for i := 1; i < len(c.Args); i += 2 {
		exprs = append(exprs, c.Args[i])
	}
	defer ev.announce(exprs, en)()
	var cols []colInfo
	row := make([]value.Value, 0, len(c.Args)/2)
	for i := 0; i < len(c.Args); i += 2 {
		name, err := nameArg(c, i)
		if err != nil {
			return nil, err
		}
		v, err := ev.scalar(c.Args[i+1], en)
		if err != nil {
			return nil, err
		}
		cols = append(cols, colInfo{Name: name, Type: v.Type()})
		row = append(row, v)
	}
	return materialized(cols, [][]value.Value{row}), nil
}

// dataTable is DATATABLE(name, type, ..., {{...}, ...}).
func dataTable(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	if len(c.Args)%2 != 1 {
		return nil, errorf(c, "DATATABLE takes pairs of names and types, then the data")
	}
	var cols []colInfo
	for i := 0; i+1 < len(c.Args); i += 2 {
		name, err := nameArg(c, i)
		if err != nil {
			return nil, err
		}
		id, ok := c.Args[i+1].(*dax.Ident)
		if !ok {
			return nil, errorf(c.Args[i+1], "DATATABLE column types are INTEGER, DOUBLE, STRING, BOOLEAN, CURRENCY or DATETIME")
		}
		var t value.Type
		switch strings.ToUpper(id.Name) {
		case "INTEGER":
			t = value.Integer
		case "DOUBLE":
			t = value.Decimal
		case "STRING":
			t = value.String
		case "BOOLEAN":
			t = value.Boolean
		case "CURRENCY":
			t = value.Currency
		case "DATETIME":
			t = value.DateTime
		default:
			return nil, errorf(id, "unknown DATATABLE type %s", id.Name)
		}
		cols = append(cols, colInfo{Name: name, Type: t})
	}
	data, ok := c.Args[len(c.Args)-1].(*dax.TableCtor)
	if !ok {
		return nil, errorf(c.Args[len(c.Args)-1], "DATATABLE's data must be { { ... }, ... }")
	}
	var rows [][]value.Value
	for _, r := range data.Rows {
		var items []dax.Expr
		if len(r) == 1 {
			if inner, ok := r[0].(*dax.TableCtor); ok {
				if len(inner.Rows) == 1 {
					items = inner.Rows[0]
				} else {
					for _, ir := range inner.Rows {
						items = append(items, ir...)
					}
				}
			}
		}
		if items == nil {
			items = r
		}
		if len(items) != len(cols) {
			return nil, errorf(data, "a DATATABLE row has %d values for %d columns", len(items), len(cols))
		}
		row := make([]value.Value, len(cols))
		for j, e := range items {
			v, err := ev.scalar(e, en)
			if err != nil {
				return nil, err
			}
			cv, err := castTo(e, v, cols[j].Type)
			if err != nil {
				return nil, err
			}
			row[j] = cv
		}
		rows = append(rows, row)
	}
	return materialized(cols, rows), nil
}

// castTo converts a value to a column type (DATATABLE, calculated columns).
func castTo(n dax.Node, v value.Value, t value.Type) (value.Value, error) {
	if v.IsBlank() || v.Type() == t || t == value.Variant {
		return v, nil
	}
	switch t {
	case value.String:
		return value.Str(v.Text()), nil
	case value.Boolean:
		b, err := truth(n, v)
		return value.Bool(b), err
	}
	nv, err := toNumber(n, v)
	if err != nil {
		return v, err
	}
	f, _ := nv.Number()
	switch t {
	case value.Integer:
		if nv.Type() == value.Integer {
			return nv, nil
		}
		return value.Int(int64(math.Round(f))), nil
	case value.Decimal:
		return value.Float(f), nil
	case value.Currency:
		return currency(f), nil
	case value.DateTime:
		if nv.Type() == value.String {
			return value.BlankValue, errorf(n, "cannot convert %q to a date", v.AsString())
		}
		return value.Date(f), nil
	}
	return v, nil
}

// generate is GENERATE and GENERATEALL: for every row of the first table,
// the rows of the second evaluated in its row context.
func generate(ev *evaluator, en *env, c *dax.Call, all bool) (*tableVal, error) {
	t, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return nil, err
	}
	var cols []colInfo
	var rows [][]value.Value
	var inner []colInfo
	for _, r := range t.rows {
		u, err := ev.table(c.Args[1], en.withRow(&rowCtx{tv: t, vals: r}))
		if err != nil {
			return nil, err
		}
		if err := u.materialize(ev); err != nil {
			return nil, err
		}
		if inner == nil {
			inner = u.cols
		}
		if len(u.rows) == 0 && all {
			rows = append(rows, append(slices.Clone(r), make([]value.Value, len(inner))...))
		}
		for _, ur := range u.rows {
			rows = append(rows, append(slices.Clone(r), ur...))
		}
		if err := ev.checkRows(len(rows)); err != nil {
			return nil, err
		}
	}
	if inner == nil {
		// The second table was never evaluated: learn its columns once.
		u, err := ev.table(c.Args[1], en)
		if err == nil {
			inner = u.cols
		}
	}
	cols = append(slices.Clone(t.cols), inner...)
	if err := distinctNames(c, cols); err != nil {
		return nil, err
	}
	if all && len(inner) > 0 {
		for i := range rows {
			for len(rows[i]) < len(cols) {
				rows[i] = append(rows[i], value.BlankValue)
			}
		}
	}
	return materialized(cols, rows), nil
}

// crossJoin is CROSSJOIN(table, ...).
func crossJoin(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	out, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return nil, err
	}
	cols, rows := slices.Clone(out.cols), out.rows
	for i := 1; i < len(c.Args); i++ {
		u, err := ev.materializeArg(c, i, en)
		if err != nil {
			return nil, err
		}
		if err := ev.checkRows(len(rows) * len(u.rows)); err != nil {
			return nil, err
		}
		var next [][]value.Value
		for _, r := range rows {
			for _, ur := range u.rows {
				next = append(next, append(slices.Clone(r), ur...))
			}
		}
		cols = append(cols, u.cols...)
		rows = next
	}
	if err := distinctNames(c, cols); err != nil {
		return nil, err
	}
	return materialized(cols, rows), nil
}

// distinctNames checks that the columns of a joined table have different
// names, as CROSSJOIN, GENERATE and GENERATEALL require (the DAX
// reference: otherwise an error is returned).
func distinctNames(c *dax.Call, cols []colInfo) error {
	seen := make(map[string]bool, len(cols))
	for _, ci := range cols {
		k := fold(ci.key())
		if seen[k] {
			return errorf(c, "%s: two columns have the same name %s; rename one with SELECTCOLUMNS", c.Func, ci.key())
		}
		seen[k] = true
	}
	return nil
}

// union is UNION(table, ...): all rows, duplicates kept; columns named and
// typed after the first table, lineage kept where every table agrees.
func union(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	first, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return nil, err
	}
	cols := slices.Clone(first.cols)
	rows := slices.Clone(first.rows)
	for i := 1; i < len(c.Args); i++ {
		u, err := ev.materializeArg(c, i, en)
		if err != nil {
			return nil, err
		}
		if len(u.cols) != len(cols) {
			return nil, errorf(c.Args[i], "each table of UNION must have %d columns; this one has %d", len(cols), len(u.cols))
		}
		for j := range cols {
			if cols[j].Lineage != u.cols[j].Lineage {
				cols[j].Lineage = nil
				cols[j].Table = ""
			}
		}
		rows = append(rows, u.rows...)
	}
	for j := range cols {
		cols[j].Type = commonType(rows, j)
	}
	return materialized(cols, rows), nil
}

// setOp is EXCEPT and INTERSECT: rows of the first table (duplicates
// kept) that are (not) in the second.
func setOp(ev *evaluator, en *env, c *dax.Call, keep bool) (*tableVal, error) {
	a, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return nil, err
	}
	b, err := ev.materializeArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	if len(a.cols) != len(b.cols) {
		return nil, errorf(c, "the tables of %s must have the same number of columns", c.Func)
	}
	in := map[string]bool{}
	for _, r := range b.rows {
		in[rowKey(r)] = true
	}
	var rows [][]value.Value
	for _, r := range a.rows {
		if in[rowKey(r)] == keep {
			rows = append(rows, r)
		}
	}
	return materialized(a.cols, rows), nil
}

// generateSeries is GENERATESERIES(start, end, [step]).
func generateSeries(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	vals, err := ev.args(c, en)
	if err != nil {
		return nil, err
	}
	step := value.Int(1)
	if len(vals) == 3 {
		step = vals[2]
	}
	start, end := vals[0], vals[1]
	if start.IsBlank() || end.IsBlank() || step.IsBlank() {
		return nil, errorf(c, "GENERATESERIES needs a start, an end and a step")
	}
	fs, _ := start.Number()
	fe, _ := end.Number()
	fst, _ := step.Number()
	if fst <= 0 {
		return nil, errorf(c, "GENERATESERIES needs a positive step")
	}
	n := math.Floor((fe-fs)/fst+1e-9) + 1
	if n > float64(ev.limits.MaxRows) {
		return nil, errorf(c, "GENERATESERIES would make %v rows", n)
	}
	typ := value.Integer
	for _, v := range []value.Value{start, end, step} {
		if v.Type() != value.Integer {
			typ = widerNumber(typ, v.Type())
		}
	}
	var rows [][]value.Value
	for i := 0; i < int(n); i++ {
		var v value.Value
		switch typ {
		case value.Integer:
			v = value.Int(start.AsInt() + int64(i)*step.AsInt())
		case value.Currency:
			v = currency(fs + float64(i)*fst)
		case value.DateTime:
			v = value.Date(fs + float64(i)*fst)
		default:
			v = value.Float(fs + float64(i)*fst)
		}
		rows = append(rows, []value.Value{v})
	}
	return materialized([]colInfo{{Name: "Value", Type: typ}}, rows), nil
}

// calendar is CALENDAR(start, end): every date from start to end.
func calendar(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	vals, err := ev.args(c, en)
	if err != nil {
		return nil, err
	}
	fs, _ := vals[0].Number()
	fe, _ := vals[1].Number()
	fs, fe = math.Floor(fs), math.Floor(fe)
	if fe < fs {
		return nil, errorf(c, "CALENDAR's end date is before its start date")
	}
	if fe-fs > float64(ev.limits.MaxRows) {
		return nil, errorf(c, "CALENDAR would make %v rows", fe-fs+1)
	}
	var rows [][]value.Value
	for d := fs; d <= fe; d++ {
		rows = append(rows, []value.Value{value.Date(d)})
	}
	return materialized([]colInfo{{Name: "Date", Type: value.DateTime}}, rows), nil
}

// rankX is RANKX(table, expr, [value], [order], [ties]): the rank of the
// value (or of expr in the current context) among expr over the table's
// rows; ASC or DESC (default) and SKIP (default) or DENSE.
func rankX(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	t, err := ev.materializeArg(c, 0, en)
	if err != nil {
		return value.BlankValue, err
	}
	vals, err := ev.evalRows(c.Args[1], en, t, t.cols, t.rows)
	if err != nil {
		return value.BlankValue, err
	}
	var v value.Value
	if len(c.Args) > 2 && c.Args[2] != nil {
		v, err = ev.scalar(c.Args[2], en)
	} else {
		v, err = ev.scalar(c.Args[1], en)
	}
	if err != nil {
		return value.BlankValue, err
	}
	desc := true
	if len(c.Args) > 3 && c.Args[3] != nil {
		d, ok := orderWord(c.Args[3])
		if !ok {
			return value.BlankValue, errorf(c.Args[3], "RANKX's order must be ASC or DESC")
		}
		desc = d
	}
	dense := false
	if len(c.Args) > 4 && c.Args[4] != nil {
		id, ok := c.Args[4].(*dax.Ident)
		if !ok || (!strings.EqualFold(id.Name, "SKIP") && !strings.EqualFold(id.Name, "DENSE")) {
			return value.BlankValue, errorf(c.Args[4], "RANKX's ties must be SKIP or DENSE")
		}
		dense = strings.EqualFold(id.Name, "DENSE")
	}
	better := func(x value.Value) bool {
		cmp, err := cmpValues(c, x, v, false)
		if err != nil {
			return false
		}
		if desc {
			return cmp > 0
		}
		return cmp < 0
	}
	rank := 1
	seen := map[string]bool{}
	for _, x := range vals {
		if !better(x) {
			continue
		}
		if dense {
			// BLANK ranks as 0 (or "" among texts): one value with them.
			if x.IsBlank() {
				x = blankLike(v)
			}
			k := rowKey([]value.Value{x})
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		rank++
	}
	return value.Int(int64(rank)), nil
}

// nameOf is NAMEOF(column or measure): its fully qualified name.
func nameOf(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
	ref, ok := c.Args[0].(*dax.ColumnRef)
	if !ok {
		return value.BlankValue, errorf(c.Args[0], "NAMEOF needs a column or a measure")
	}
	if ms := ev.measure(ref.Column); ms != nil && (ref.Table == "" || ev.m.Table(ref.Table) == nil || ev.m.Table(ref.Table).Column(ref.Column) == nil) {
		return value.Str(dax.QuoteTable(ms.Table.Name) + dax.QuoteColumn(ms.Name)), nil
	}
	col, err := ev.resolveColumn(ref, en)
	if err != nil {
		return value.BlankValue, err
	}
	return value.Str(col.String()), nil
}
