package engine

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// Time intelligence: the DAX functions that read the dates of the current
// context from a date column and return other dates of that column
// (DATESYTD, DATEADD, PREVIOUSMONTH...), a single date of it (FIRSTDATE,
// ENDOFMONTH...), or evaluate an expression over such dates (TOTALYTD,
// CLOSINGBALANCEMONTH...).
//
// The dates argument is a column reference, a table of one date column or
// a condition on one date column. A column reference stands for
// CALCULATETABLE(DISTINCT(column)): it reads the dates visible in the
// filter context after context transition, so in a row context of the date
// table it sees the dates of the current row. A table is taken as it is;
// a condition is FILTER(ALL(column), condition).
//
// Results are drawn from every date stored in the column (not only the
// visible ones): DATESYTD of March is January 1 to the last date of March
// however March was selected. A result table keeps the lineage of the date
// column, so used as a CALCULATE filter it replaces the filter on it.
//
// Date arithmetic is done on whole days (OLE day numbers); a date with a
// time of day belongs to its day. Only DATESBETWEEN and DATESINPERIOD
// compare their bounds with the exact values.

func init() {
	for _, p := range []struct {
		name string
		per  tiPeriod
	}{{"DATESYTD", tiPYear}, {"DATESQTD", tiPQuarter}, {"DATESMTD", tiPMonth}} {
		per := p.per
		maxArgs := 1
		if per == tiPYear {
			maxArgs = 2
		}
		register(p.name, &builtin{min: 1, max: maxArgs, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
			return tiDatesToDate(ev, en, c, per)
		}})
	}
	for _, p := range []struct {
		name, dates string
		per         tiPeriod
	}{{"TOTALYTD", "DATESYTD", tiPYear}, {"TOTALQTD", "DATESQTD", tiPQuarter}, {"TOTALMTD", "DATESMTD", tiPMonth}} {
		maxArgs := 3
		if p.per == tiPYear {
			maxArgs = 4
		}
		register(p.name, &builtin{min: 2, max: maxArgs, emptyOK: []int{2}, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			return tiTotalToDate(ev, en, c, p.dates, p.per == tiPYear)
		}})
	}
	for _, p := range []struct {
		suffix string
		per    tiPeriod
	}{{"MONTH", tiPMonth}, {"QUARTER", tiPQuarter}, {"YEAR", tiPYear}} {
		per := p.per
		// The year functions take a year end date as their last argument.
		extra := 0
		if per == tiPYear {
			extra = 1
		}
		register("OPENINGBALANCE"+p.suffix, &builtin{min: 2, max: 3 + extra, emptyOK: []int{2}, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			return tiBalance(ev, en, c, per, true)
		}})
		register("CLOSINGBALANCE"+p.suffix, &builtin{min: 2, max: 3 + extra, emptyOK: []int{2}, scalar: func(ev *evaluator, en *env, c *dax.Call) (value.Value, error) {
			return tiBalance(ev, en, c, per, false)
		}})
		register("STARTOF"+p.suffix, &builtin{min: 1, max: 1 + extra, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
			return tiEdgeOfPeriod(ev, en, c, per, true)
		}})
		register("ENDOF"+p.suffix, &builtin{min: 1, max: 1 + extra, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
			return tiEdgeOfPeriod(ev, en, c, per, false)
		}})
	}
	for _, p := range []struct {
		suffix string
		per    tiPeriod
	}{{"DAY", tiPDay}, {"MONTH", tiPMonth}, {"QUARTER", tiPQuarter}, {"YEAR", tiPYear}} {
		per := p.per
		maxArgs := 1
		if per == tiPYear {
			maxArgs = 2
		}
		register("PREVIOUS"+p.suffix, &builtin{min: 1, max: maxArgs, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
			return tiAdjacentPeriod(ev, en, c, per, -1)
		}})
		register("NEXT"+p.suffix, &builtin{min: 1, max: maxArgs, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
			return tiAdjacentPeriod(ev, en, c, per, 1)
		}})
	}
	register("DATEADD", &builtin{min: 3, max: 3, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		n, err := ev.tiIntervalCount(c, 1, en)
		if err != nil {
			return nil, err
		}
		per, err := tiIntervalArg(c, 2, true)
		if err != nil {
			return nil, err
		}
		return tiDateAdd(ev, en, c, n, per)
	}})
	register("SAMEPERIODLASTYEAR", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return tiDateAdd(ev, en, c, -1, tiPYear)
	}})
	register("PARALLELPERIOD", &builtin{min: 3, max: 3, table: tiParallelPeriod})
	register("DATESINPERIOD", &builtin{min: 4, max: 4, table: tiDatesInPeriod})
	register("DATESBETWEEN", &builtin{min: 3, max: 3, table: tiDatesBetween})
	register("FIRSTDATE", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return tiFirstLastDate(ev, en, c, true)
	}})
	register("LASTDATE", &builtin{min: 1, max: 1, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return tiFirstLastDate(ev, en, c, false)
	}})
	register("FIRSTNONBLANK", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return tiFirstNonBlank(ev, en, c, true)
	}})
	register("LASTNONBLANK", &builtin{min: 2, max: 2, table: func(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
		return tiFirstNonBlank(ev, en, c, false)
	}})
}

// tiPeriod is a calendar period: a day, a month, a quarter or a year (which
// ends on a given month and day for fiscal years).
type tiPeriod uint8

const (
	tiPDay tiPeriod = iota
	tiPMonth
	tiPQuarter
	tiPYear
)

// months is the length of a period in months (0 for a day).
func (p tiPeriod) months() int {
	switch p {
	case tiPMonth:
		return 1
	case tiPQuarter:
		return 3
	case tiPYear:
		return 12
	}
	return 0
}

// tiYearEnd is the last month and day of a (fiscal) year.
type tiYearEnd struct{ month, day int }

var tiCalendarYear = tiYearEnd{12, 31}

// tiMaxShift bounds a number of intervals so that date arithmetic never
// overflows; a shift of this many days already leaves every date DAX can
// hold.
const tiMaxShift = 4_000_000

// tiCivilDay returns the calendar date of an OLE day number.
func tiCivilDay(day int) (y, m, d int) { return value.Civil(float64(day)) }

// tiDayOf returns the OLE day number of a calendar date; months and days out
// of range roll over.
func tiDayOf(y, m, d int) int { return int(value.DateOf(y, m, d)) }

// tiDayFloor returns the day a date value falls on.
func tiDayFloor(ole float64) int { return int(math.Floor(ole)) }

// tiDaysInMonth returns the number of days of month m of year y.
func tiDaysInMonth(y, m int) int { return tiDayOf(y, m+1, 1) - tiDayOf(y, m, 1) }

// tiAddMonths shifts a day by k months; a day past the end of the target
// month becomes its last day (January 31 plus one month is February 28 or
// 29).
func tiAddMonths(day, k int) int {
	y, m, d := tiCivilDay(day)
	total := y*12 + m - 1 + k
	ny := total / 12
	if total < 0 && total%12 != 0 {
		ny--
	}
	nm := total - ny*12 + 1
	return tiDayOf(ny, nm, min(d, tiDaysInMonth(ny, nm)))
}

// tiIsMonthEnd reports whether day is the last day of its month.
func tiIsMonthEnd(day int) bool {
	_, _, d := tiCivilDay(day + 1)
	return d == 1
}

// endIn returns the day year y ends on under ye (a year end of February
// 29 is February 28 in a common year).
func (ye tiYearEnd) endIn(y int) int {
	return tiDayOf(y, ye.month, min(ye.day, tiDaysInMonth(y, ye.month)))
}

// tiPeriodStart returns the first day of the period holding day.
func tiPeriodStart(p tiPeriod, day int, ye tiYearEnd) int {
	switch p {
	case tiPMonth:
		y, m, _ := tiCivilDay(day)
		return tiDayOf(y, m, 1)
	case tiPQuarter:
		y, m, _ := tiCivilDay(day)
		return tiDayOf(y, (m-1)/3*3+1, 1)
	case tiPYear:
		end := tiPeriodEnd(tiPYear, day, ye)
		y, _, _ := tiCivilDay(end)
		return ye.endIn(y-1) + 1
	}
	return day
}

// tiPeriodEnd returns the last day of the period holding day.
func tiPeriodEnd(p tiPeriod, day int, ye tiYearEnd) int {
	switch p {
	case tiPMonth:
		y, m, _ := tiCivilDay(day)
		return tiDayOf(y, m+1, 1) - 1
	case tiPQuarter:
		y, m, _ := tiCivilDay(day)
		return tiDayOf(y, (m-1)/3*3+4, 1) - 1
	case tiPYear:
		y, _, _ := tiCivilDay(day)
		if end := ye.endIn(y); day <= end {
			return end
		}
		return ye.endIn(y + 1)
	}
	return day
}

// tiDateSet is the dates argument of a time intelligence function.
type tiDateSet struct {
	info colInfo // the column of result tables
	// sel holds the dates of the current context, ascending, distinct,
	// without BLANK.
	sel []float64
	// col is the column results are drawn from (every date stored in it);
	// nil when the dates are their own domain.
	col    *Column
	ev     *evaluator
	domain []float64 // the dates of col, ascending, read on first use
	loaded bool
}

// tiDatesArg evaluates argument i of c as the dates of a time intelligence
// function. Without needSel only the column (the domain) is resolved.
func (ev *evaluator) tiDatesArg(c *dax.Call, i int, en *env, needSel bool) (*tiDateSet, error) {
	a := c.Args[i]
	col, isCol, err := ev.tiColumn(a, en)
	if err != nil {
		return nil, err
	}
	if isCol {
		if col.Type != value.DateTime {
			return nil, errorf(a, "%s needs a column of dates, but %s holds values of type %s", c.Func, col, typeName(col.Type))
		}
		ds := &tiDateSet{ev: ev, info: lineageInfo(col), col: col}
		if needSel {
			// CALCULATETABLE(DISTINCT(column)): context transition first.
			f, err := ev.transition(en)
			if err != nil {
				return nil, err
			}
			tv, err := ev.columnValues(col, f, false, nil)
			if err != nil {
				return nil, err
			}
			if ds.sel, err = tiTableDates(c, a, tv); err != nil {
				return nil, err
			}
		}
		return ds, nil
	}
	var tv *tableVal
	if ev.isTableExpr(a, en) {
		t, err := ev.table(a, en)
		if err != nil {
			return nil, err
		}
		if len(t.cols) != 1 {
			return nil, errorf(a, "%s needs a table of one column of dates, but the table has %d columns", c.Func, len(t.cols))
		}
		if err := t.materialize(ev); err != nil {
			return nil, err
		}
		tv = t
	} else {
		cols := ev.filterColumns(a)
		if len(cols) != 1 {
			return nil, errorf(a, "%s needs a column of dates, a table of one column of dates, or a condition on one column of dates", c.Func)
		}
		f, err := ev.predicateFilter(a, cols, en)
		if err != nil {
			return nil, err
		}
		col := cols[0]
		var rows [][]value.Value
		f.ids.Each(func(id int) {
			rows = append(rows, []value.Value{col.Data.Dict.Value(uint32(id))})
		})
		tv = materialized([]colInfo{lineageInfo(col)}, rows)
	}
	sel, err := tiTableDates(c, a, tv)
	if err != nil {
		return nil, err
	}
	ds := &tiDateSet{ev: ev, info: tv.cols[0], sel: sel}
	if lin := tv.cols[0].Lineage; lin != nil && lin.Type == value.DateTime {
		ds.col = lin
	}
	ds.info.Type = value.DateTime
	return ds, nil
}

// tiColumn resolves e when it is a column reference: Table[Column], or
// [Column] naming a column of a table in the row context (and no
// measure). isCol is false for any other expression.
func (ev *evaluator) tiColumn(e dax.Expr, en *env) (col *Column, isCol bool, err error) {
	x, ok := e.(*dax.ColumnRef)
	if !ok || (x.Table != "" && !ev.isColumnRef(e)) || (x.Table == "" && ev.measure(x.Column) != nil) {
		return nil, false, nil
	}
	if x.Table == "" {
		// The innermost row context with such a column: a row of a model
		// table, or of a table value that carries the model column.
		for r := en.row; r != nil; r = r.parent {
			if r.table != nil {
				if col := r.table.Column(x.Column); col != nil {
					return col, true, nil
				}
			}
			if r.tv != nil {
				if i := r.tv.nameIndex("", x.Column); i >= 0 && r.tv.cols[i].Lineage != nil {
					return r.tv.cols[i].Lineage, true, nil
				}
			}
		}
	}
	if col, err = ev.resolveColumn(e, en); err != nil {
		return nil, false, err
	}
	return col, true, nil
}

// tiTableDates returns the distinct non-blank dates of a one-column table,
// ascending.
func tiTableDates(c *dax.Call, a dax.Expr, tv *tableVal) ([]float64, error) {
	out := make([]float64, 0, len(tv.rows))
	for _, r := range tv.rows {
		v := r[0]
		if v.IsBlank() {
			continue
		}
		if v.Type() != value.DateTime {
			return nil, errorf(a, "%s needs dates, but the table holds a value of type %s", c.Func, typeName(v.Type()))
		}
		out = append(out, v.AsFloat())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// dates returns the dates results are drawn from, ascending: the dates
// stored in the column, or the dates themselves when no column is behind
// them.
func (ds *tiDateSet) dates() ([]float64, error) {
	if ds.loaded {
		return ds.domain, nil
	}
	if ds.col == nil {
		ds.domain = ds.sel
	} else {
		d, err := ds.ev.tiColumnDates(ds.col)
		if err != nil {
			return nil, err
		}
		ds.domain = d
	}
	ds.loaded = true
	return ds.domain, nil
}

// tiDomains caches the dates of each date column: a Model and its
// columns never change, and every time intelligence call over a column
// needs all of its dates. Entries go when their column is collected.
var tiDomains sync.Map // weak.Pointer[Column] -> []float64

// tiColumnDates returns the dates stored in a column, ascending. They come
// from a scan: the column's dictionary may hold values no row has (a range
// dictionary holds every value between the smallest and the largest).
func (ev *evaluator) tiColumnDates(col *Column) ([]float64, error) {
	key := weak.Make(col)
	if d, ok := tiDomains.Load(key); ok {
		return d.([]float64), nil
	}
	tv, err := ev.columnValues(col, newFilterCtx(ev.m), false, nil)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(tv.rows))
	for _, r := range tv.rows {
		if v := r[0]; v.Type() == value.DateTime {
			out = append(out, v.AsFloat())
		}
	}
	if _, loaded := tiDomains.LoadOrStore(key, out); !loaded {
		runtime.AddCleanup(col, func(k weak.Pointer[Column]) { tiDomains.Delete(k) }, key)
	}
	return out, nil
}

func (ds *tiDateSet) first() float64 { return ds.sel[0] }
func (ds *tiDateSet) last() float64  { return ds.sel[len(ds.sel)-1] }

// span is a half-open range of date values [lo, hi).
type tiSpan struct{ lo, hi float64 }

// days returns the span of whole days first..last.
func tiDays(first, last int) tiSpan { return tiSpan{float64(first), float64(last + 1)} }

// empty returns a table of no dates.
func (ds *tiDateSet) empty() *tableVal { return materialized([]colInfo{ds.info}, nil) }

// table returns the dates of the domain that fall in any of the spans.
func (ds *tiDateSet) table(spans ...tiSpan) (*tableVal, error) {
	domain, err := ds.dates()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(spans, func(a, b tiSpan) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	var rows [][]value.Value
	next := 0 // first domain index not yet taken
	for _, s := range spans {
		i := max(next, sort.SearchFloat64s(domain, s.lo))
		for ; i < len(domain) && domain[i] < s.hi; i++ {
			rows = append(rows, []value.Value{value.Date(domain[i])})
		}
		next = max(next, i)
	}
	return materialized([]colInfo{ds.info}, rows), nil
}

// single returns a table of one date, or no rows when ok is false.
func (ds *tiDateSet) single(d float64, ok bool) *tableVal {
	if !ok {
		return ds.empty()
	}
	return materialized([]colInfo{ds.info}, [][]value.Value{{value.Date(d)}})
}

// tiYearEndArg reads the optional year_end_date argument i: a text such as
// "6/30" (month/day, en-US; the year is ignored) or a date.
func (ev *evaluator) tiYearEndArg(c *dax.Call, i int, en *env) (tiYearEnd, error) {
	if i >= len(c.Args) || c.Args[i] == nil {
		return tiCalendarYear, nil
	}
	v, err := ev.scalar(c.Args[i], en)
	if err != nil {
		return tiYearEnd{}, err
	}
	switch v.Type() {
	case value.Blank:
		return tiCalendarYear, nil
	case value.DateTime:
		_, m, d := value.Civil(v.AsFloat())
		return tiYearEnd{m, d}, nil
	case value.String:
		if ye, ok := tiParseYearEnd(v.AsString()); ok {
			return ye, nil
		}
	}
	return tiYearEnd{}, errorf(c.Args[i], "%s: the year end date %s is not a month and day such as \"6/30\"", c.Func, v.Text())
}

// tiYearEndLayouts are the forms of a year end date: month and day, with or
// without a year.
var tiYearEndLayouts = []string{
	"1/2", "1-2", "1/2/2006", "1-2-2006", "2006-1-2", "2006/1/2",
	"Jan 2", "January 2", "2 Jan", "2 January", "2-Jan", "Jan 2, 2006", "January 2, 2006",
	"2 Jan 2006", "2 January 2006", "2-Jan-2006",
}

func tiParseYearEnd(s string) (tiYearEnd, bool) {
	s = strings.TrimSpace(s)
	for _, l := range tiYearEndLayouts {
		// A year-less layout parses in year 0, a leap year, so "2/29" is
		// accepted; it means the end of February.
		if t, err := time.Parse(l, s); err == nil {
			return tiYearEnd{int(t.Month()), t.Day()}, true
		}
	}
	return tiYearEnd{}, false
}

// tiIntervalArg reads an interval enumeration: DAY, MONTH, QUARTER or YEAR.
func tiIntervalArg(c *dax.Call, i int, allowDay bool) (tiPeriod, error) {
	id, ok := c.Args[i].(*dax.Ident)
	if ok {
		switch strings.ToUpper(id.Name) {
		case "DAY":
			if allowDay {
				return tiPDay, nil
			}
		case "MONTH":
			return tiPMonth, nil
		case "QUARTER":
			return tiPQuarter, nil
		case "YEAR":
			return tiPYear, nil
		}
	}
	if allowDay {
		return 0, errorf(c.Args[i], "%s's interval must be DAY, MONTH, QUARTER or YEAR (without quotes)", c.Func)
	}
	return 0, errorf(c.Args[i], "%s's interval must be MONTH, QUARTER or YEAR (without quotes)", c.Func)
}

// tiIntervalCount reads a number of intervals: a whole number (a fraction is
// truncated), BLANK being 0.
func (ev *evaluator) tiIntervalCount(c *dax.Call, i int, en *env) (int, error) {
	v, err := ev.arg(c, i, en)
	if err != nil {
		return 0, err
	}
	if v.IsBlank() {
		return 0, nil
	}
	if v, err = toNumber(c.Args[i], v); err != nil {
		return 0, err
	}
	f, _ := v.Number()
	if math.IsNaN(f) {
		return 0, errorf(c.Args[i], "%s's number of intervals is not a number", c.Func)
	}
	return int(math.Max(-tiMaxShift, math.Min(tiMaxShift, math.Trunc(f)))), nil
}

// tiDateArg reads a date argument (text is converted); ok is false for
// BLANK.
func (ev *evaluator) tiDateArg(c *dax.Call, i int, en *env) (float64, bool, error) {
	v, err := ev.arg(c, i, en)
	if err != nil || v.IsBlank() {
		return 0, false, err
	}
	if v, err = toNumber(c.Args[i], v); err != nil {
		return 0, false, err
	}
	f, _ := v.Number()
	if !value.ValidDate(f) {
		return 0, false, errorf(c.Args[i], "%s needs a date from year 100 to 9999 as argument %d", c.Func, i+1)
	}
	return f, true, nil
}

// tiDatesToDate is DATESYTD, DATESQTD and DATESMTD: the dates from the start
// of the period of the last date in context to that date.
func tiDatesToDate(ev *evaluator, en *env, c *dax.Call, p tiPeriod) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, true)
	if err != nil {
		return nil, err
	}
	ye, err := ev.tiYearEndArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	if len(ds.sel) == 0 {
		return ds.empty(), nil
	}
	last := tiDayFloor(ds.last())
	return ds.table(tiDays(tiPeriodStart(p, last, ye), last))
}

// tiAdjacentPeriod is PREVIOUSDAY/MONTH/QUARTER/YEAR (dir -1: the period
// before the one of the first date in context) and NEXTDAY/... (dir 1:
// the period after the one of the last date).
func tiAdjacentPeriod(ev *evaluator, en *env, c *dax.Call, p tiPeriod, dir int) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, true)
	if err != nil {
		return nil, err
	}
	ye, err := ev.tiYearEndArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	if len(ds.sel) == 0 {
		return ds.empty(), nil
	}
	if dir < 0 {
		start := tiPeriodStart(p, tiDayFloor(ds.first()), ye)
		return ds.table(tiDays(tiPeriodStart(p, start-1, ye), start-1))
	}
	end := tiPeriodEnd(p, tiDayFloor(ds.last()), ye)
	return ds.table(tiDays(end+1, tiPeriodEnd(p, end+1, ye)))
}

// tiEdgeOfPeriod is STARTOFMONTH/QUARTER/YEAR (the first date of the column
// in the period of the first date in context) and ENDOFMONTH/... (the last
// date of the column in the period of the last date in context).
func tiEdgeOfPeriod(ev *evaluator, en *env, c *dax.Call, p tiPeriod, start bool) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, true)
	if err != nil {
		return nil, err
	}
	ye, err := ev.tiYearEndArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	if len(ds.sel) == 0 {
		return ds.empty(), nil
	}
	day := tiDayFloor(ds.last())
	if start {
		day = tiDayFloor(ds.first())
	}
	in, err := ds.table(tiDays(tiPeriodStart(p, day, ye), tiPeriodEnd(p, day, ye)))
	if err != nil {
		return nil, err
	}
	if len(in.rows) == 0 {
		return in, nil
	}
	if start {
		in.rows = in.rows[:1]
	} else {
		in.rows = in.rows[len(in.rows)-1:]
	}
	return in, nil
}

// tiFirstLastDate is FIRSTDATE and LASTDATE: the first or last date in
// context.
func tiFirstLastDate(ev *evaluator, en *env, c *dax.Call, first bool) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, true)
	if err != nil {
		return nil, err
	}
	if len(ds.sel) == 0 {
		return ds.single(0, false), nil
	}
	if first {
		return ds.single(ds.first(), true), nil
	}
	return ds.single(ds.last(), true), nil
}

// tiDateAdd is DATEADD and SAMEPERIODLASTYEAR: the dates in context shifted
// by n intervals.
//
// Days shift one by one. Months, quarters and years shift each run of
// consecutive dates of the column as a range: its first and last day move
// by the interval, a day past the end of the target month becoming its
// last day (March 31 minus one month is February 28 or 29). When a run
// holds the last two days of a month, the shifted range reaches the end of
// the target month, so whole months map to whole months (February 2023
// plus one year is February 1 to 29, 2024), as the DAX reference
// describes; a single last day does not extend (February 28, 2023 plus one
// year is February 28, 2024).
//
// The reference says a selection of dates that is not contiguous is an
// error; Meridian shifts each contiguous run on its own instead, which
// gives the same dates for contiguous selections.
func tiDateAdd(ev *evaluator, en *env, c *dax.Call, n int, p tiPeriod) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, true)
	if err != nil {
		return nil, err
	}
	if len(ds.sel) == 0 {
		return ds.empty(), nil
	}
	var spans []tiSpan
	if p == tiPDay {
		for _, d := range ds.sel {
			day := tiDayFloor(d) + n
			spans = append(spans, tiDays(day, day))
		}
		return ds.table(spans...)
	}
	k := n * p.months()
	selDays := make(map[int]bool, len(ds.sel))
	for _, d := range ds.sel {
		selDays[tiDayFloor(d)] = true
	}
	runs, err := ds.runs()
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		a, b := tiDayFloor(run[0]), tiDayFloor(run[1])
		lo, hi := tiAddMonths(a, k), tiAddMonths(b, k)
		if tiIsMonthEnd(b) && selDays[b-1] {
			hi = tiPeriodEnd(tiPMonth, hi, tiCalendarYear)
		}
		spans = append(spans, tiDays(lo, hi))
	}
	return ds.table(spans...)
}

// runs splits the dates in context into runs of dates that are next to
// each other in the column (on consecutive days when no column is behind
// them), returning the first and last date of each.
func (ds *tiDateSet) runs() ([][2]float64, error) {
	var out [][2]float64
	if ds.col == nil {
		for _, d := range ds.sel {
			if n := len(out); n > 0 && tiDayFloor(d)-tiDayFloor(out[n-1][1]) <= 1 {
				out[n-1][1] = d
				continue
			}
			out = append(out, [2]float64{d, d})
		}
		return out, nil
	}
	domain, err := ds.dates()
	if err != nil {
		return nil, err
	}
	prev := -2 // domain index of the previous date, -2 when it has none
	for _, d := range ds.sel {
		i, found := slices.BinarySearch(domain, d)
		if found && i == prev+1 && len(out) > 0 {
			out[len(out)-1][1] = d
		} else {
			out = append(out, [2]float64{d, d})
		}
		prev = i
		if !found {
			prev = -2
		}
	}
	return out, nil
}

// tiParallelPeriod is PARALLELPERIOD(dates, n, interval): the first and last
// dates in context shift by n intervals and widen to whole intervals.
func tiParallelPeriod(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, true)
	if err != nil {
		return nil, err
	}
	n, err := ev.tiIntervalCount(c, 1, en)
	if err != nil {
		return nil, err
	}
	p, err := tiIntervalArg(c, 2, false)
	if err != nil {
		return nil, err
	}
	if len(ds.sel) == 0 {
		return ds.empty(), nil
	}
	k := n * p.months()
	lo := tiPeriodStart(p, tiAddMonths(tiDayFloor(ds.first()), k), tiCalendarYear)
	hi := tiPeriodEnd(p, tiAddMonths(tiDayFloor(ds.last()), k), tiCalendarYear)
	return ds.table(tiDays(lo, hi))
}

// tiDatesInPeriod is DATESINPERIOD(dates, start, n, interval): the dates of
// the column in (start shifted by n intervals, start] when n is negative
// and in [start, start shifted by n intervals) when positive.
func tiDatesInPeriod(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, false)
	if err != nil {
		return nil, err
	}
	start, ok, err := ev.tiDateArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	n, err := ev.tiIntervalCount(c, 2, en)
	if err != nil {
		return nil, err
	}
	p, err := tiIntervalArg(c, 3, true)
	if err != nil {
		return nil, err
	}
	if !ok || n == 0 {
		return ds.empty(), nil
	}
	var end float64
	if p == tiPDay {
		end = start + float64(n)
	} else {
		day := tiDayFloor(start)
		end = float64(tiAddMonths(day, n*p.months())) + (start - float64(day))
	}
	if n < 0 {
		return ds.table(tiSpan{math.Nextafter(end, math.Inf(1)), math.Nextafter(start, math.Inf(1))})
	}
	return ds.table(tiSpan{start, end})
}

// tiDatesBetween is DATESBETWEEN(dates, start, end): the dates of the column
// from start to end inclusive; a BLANK bound leaves that side open.
func tiDatesBetween(ev *evaluator, en *env, c *dax.Call) (*tableVal, error) {
	ds, err := ev.tiDatesArg(c, 0, en, false)
	if err != nil {
		return nil, err
	}
	lo, ok, err := ev.tiDateArg(c, 1, en)
	if err != nil {
		return nil, err
	}
	if !ok {
		lo = math.Inf(-1)
	}
	hi, ok, err := ev.tiDateArg(c, 2, en)
	if err != nil {
		return nil, err
	}
	if !ok {
		hi = math.Inf(1)
	}
	if hi < lo {
		return ds.empty(), nil
	}
	return ds.table(tiSpan{lo, math.Nextafter(hi, math.Inf(1))})
}

// tiTotalToDate is TOTALYTD, TOTALQTD and TOTALMTD: CALCULATE(expression,
// DATESxTD(dates[, year_end_date]), filter).
func tiTotalToDate(ev *evaluator, en *env, c *dax.Call, datesFunc string, yearly bool) (value.Value, error) {
	filters, ye := tiSplitYearEnd(c.Args[2:], yearly)
	args := []dax.Expr{c.Args[1]}
	if ye != nil {
		args = append(args, ye)
	}
	return ev.tiCalculateOverDates(en, c, &dax.Call{At: c.At, Func: datesFunc, Args: args}, filters)
}

// totalToDateCall rewrites TOTALYTD, TOTALQTD and TOTALMTD as the
// CALCULATE they stand for, so that the set-at-a-time evaluator can
// evaluate them over many groups at once.
func (ev *evaluator) totalToDateCall(c *dax.Call, en *env) (*dax.Call, bool) {
	datesFunc := map[string]string{"TOTALYTD": "DATESYTD", "TOTALQTD": "DATESQTD", "TOTALMTD": "DATESMTD"}[c.Func]
	if datesFunc == "" || len(c.Args) < 2 {
		return nil, false
	}
	filters, ye := tiSplitYearEnd(c.Args[2:], c.Func == "TOTALYTD")
	dargs := []dax.Expr{c.Args[1]}
	if ye != nil {
		dargs = append(dargs, ye)
	}
	args := []dax.Expr{c.Args[0], &dax.Call{At: c.At, Func: datesFunc, Args: dargs}}
	col, isCol, err := ev.tiColumn(c.Args[1], en)
	if err != nil {
		return nil, false
	}
	if isCol && ev.tiIsDateKey(col) {
		args = append(args, &dax.Call{At: c.At, Func: "REMOVEFILTERS", Args: []dax.Expr{&dax.TableRef{At: c.At, Name: col.Table.Name, Quoted: true}}})
	}
	for _, f := range filters {
		if f != nil {
			args = append(args, f)
		}
	}
	return &dax.Call{At: c.At, Func: "CALCULATE", Args: args}, true
}

// tiBalance is OPENINGBALANCEMONTH/QUARTER/YEAR, the expression on the day
// before the period of the first date in context starts, and
// CLOSINGBALANCEMONTH/..., the expression on the last date of the column
// in the period of the last date in context.
func tiBalance(ev *evaluator, en *env, c *dax.Call, p tiPeriod, opening bool) (value.Value, error) {
	filters, ye := tiSplitYearEnd(c.Args[2:], p == tiPYear)
	suffix := map[tiPeriod]string{tiPMonth: "MONTH", tiPQuarter: "QUARTER", tiPYear: "YEAR"}[p]
	args := []dax.Expr{c.Args[1]}
	if ye != nil {
		args = append(args, ye)
	}
	var dates dax.Expr
	if opening {
		dates = &dax.Call{At: c.At, Func: "PREVIOUSDAY", Args: []dax.Expr{&dax.Call{At: c.At, Func: "STARTOF" + suffix, Args: args}}}
	} else {
		dates = &dax.Call{At: c.At, Func: "ENDOF" + suffix, Args: args}
	}
	return ev.tiCalculateOverDates(en, c, dates, filters)
}

// tiSplitYearEnd separates the optional filter and year_end_date arguments
// of TOTALYTD and its kind: with one optional argument, a text literal is
// the year end date.
func tiSplitYearEnd(rest []dax.Expr, yearly bool) (filters []dax.Expr, ye dax.Expr) {
	if !yearly {
		return rest, nil
	}
	switch len(rest) {
	case 1:
		if _, ok := rest[0].(*dax.StringLit); ok {
			return nil, rest[0]
		}
	case 2:
		return rest[:1], rest[1]
	}
	return rest, nil
}

// tiCalculateOverDates evaluates c's first argument as CALCULATE does with
// the dates table and the filters. When the dates argument is the date
// column of a date table, the other filters on that table go first, as
// CALCULATE does for a filter on such a column.
func (ev *evaluator) tiCalculateOverDates(en *env, c *dax.Call, dates dax.Expr, filters []dax.Expr) (value.Value, error) {
	args := []dax.Expr{dates}
	col, isCol, err := ev.tiColumn(c.Args[1], en)
	if err != nil {
		return value.BlankValue, err
	}
	if isCol && ev.tiIsDateKey(col) {
		args = append(args, &dax.Call{At: c.At, Func: "REMOVEFILTERS", Args: []dax.Expr{&dax.TableRef{At: c.At, Name: col.Table.Name}}})
	}
	for _, f := range filters {
		if f != nil {
			args = append(args, f)
		}
	}
	inner, err := ev.calculateEnv(en, args)
	if err != nil {
		return value.BlankValue, err
	}
	return ev.scalar(c.Args[0], inner)
}

// tiIsDateKey reports whether col is the date column of a date table: the
// key column of a table marked as a date table (data category Time), or a
// column of dates on the one side of a relationship. DAX removes the
// filters on the rest of such a table when CALCULATE filters the column,
// so that a year-to-date filter on the dates is not narrowed by the month
// being reported.
func (ev *evaluator) tiIsDateKey(col *Column) bool {
	if col.Type != value.DateTime {
		return false
	}
	if col.Def != nil && col.Def.IsKey && col.Table.Def != nil && strings.EqualFold(col.Table.Def.DataCategory, "Time") {
		return true
	}
	for _, r := range ev.m.Rels {
		if r.To == col {
			return true
		}
	}
	return false
}

// tiFirstNonBlank is FIRSTNONBLANK and LASTNONBLANK(column, expression): the
// first (last) value of the column in context, in the column's order, for
// which the expression, evaluated in a row context on that value, is not
// BLANK.
func tiFirstNonBlank(ev *evaluator, en *env, c *dax.Call, first bool) (*tableVal, error) {
	a := c.Args[0]
	var tv *tableVal
	col, isCol, err := ev.tiColumn(a, en)
	if err != nil {
		return nil, err
	}
	if isCol {
		f, err := ev.transition(en)
		if err != nil {
			return nil, err
		}
		if tv, err = ev.columnValues(col, f, false, nil); err != nil {
			return nil, err
		}
	} else {
		t, err := ev.table(a, en)
		if err != nil {
			return nil, err
		}
		if len(t.cols) != 1 {
			return nil, errorf(a, "%s needs a column or a table of one column, but the table has %d columns", c.Func, len(t.cols))
		}
		if err := t.materialize(ev); err != nil {
			return nil, err
		}
		rows := distinctRows(t.rows)
		sortRowsBy(rows, []int{0})
		tv = materialized(t.cols, rows)
	}
	n := len(tv.rows)
	for k := 0; k < n; k++ {
		i := k
		if !first {
			i = n - 1 - k
		}
		r := tv.rows[i]
		v, err := ev.scalar(c.Args[1], en.withRow(&rowCtx{tv: tv, vals: r}))
		if err != nil {
			return nil, err
		}
		if !v.IsBlank() {
			return materialized(tv.cols, [][]value.Value{r}), nil
		}
	}
	return materialized(tv.cols, nil), nil
}
