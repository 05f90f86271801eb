package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/colstore"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/mlang"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/source/csv"
	"github.com/meridian-olap/meridian/internal/value"
)

// Type is a refresh type.
type Type string

// Refresh types (TMSL).
const (
	Full        Type = "full"
	DataOnly    Type = "dataOnly"
	Calculate   Type = "calculate"
	ClearValues Type = "clearValues"
	Automatic   Type = "automatic"
)

// ParseType reads a refresh type, case-insensitively; "" is full.
func ParseType(s string) (Type, error) {
	if s == "" {
		return Full, nil
	}
	for _, t := range []Type{Full, DataOnly, Calculate, ClearValues, Automatic} {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("process: unknown refresh type %q (full, dataOnly, calculate, clearValues, automatic)", s)
}

// Object names a table, or a partition of a table, to refresh.
type Object struct {
	Table     string
	Partition string
}

// Request is what to refresh. No objects means the whole database.
type Request struct {
	Type    Type
	Objects []Object
}

// Progress reports a refresh as it goes. Callbacks may come from several
// goroutines at once.
type Progress struct {
	Table, Partition string
	Rows             int64 // rows read so far in this partition
	Done             bool  // the partition is complete
	Err              error // the partition failed
}

// Options configure a refresh; the zero value reads no files.
type Options struct {
	// Roots confines file sources.
	Roots *source.Roots
	// MaxParallelism bounds partitions read at once; 0 means GOMAXPROCS.
	MaxParallelism int
	Logger         *slog.Logger
	// OnProgress, when set, is called as partitions progress.
	OnProgress func(Progress)
}

// Result is a refreshed database.
type Result struct {
	Data  *colstore.Database
	Model *engine.Model
	// Partitions is the number of partitions read, Rows the rows read.
	Partitions int
	Rows       int64
	Duration   time.Duration
}

// Errors.
var (
	ErrNotFound = errors.New("process: no such object")
	ErrSource   = errors.New("process: source failed")
)

// Refresh refreshes a database. prev is the current data (nil when the
// database was never processed); it is not modified.
func Refresh(ctx context.Context, def *model.Database, prev *colstore.Database, req Request, opts Options) (*Result, error) {
	start := time.Now()
	if req.Type == "" {
		req.Type = Full
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if prev == nil {
		prev = &colstore.Database{}
	}
	load, err := partitionsToLoad(def, prev, req)
	if err != nil {
		return nil, err
	}
	p := &processor{def: def, prev: prev, req: req, opts: opts, load: load}
	data, err := p.loadTables(ctx)
	if err != nil {
		return nil, err
	}
	m, err := p.calculate(ctx, data)
	if err != nil {
		return nil, err
	}
	return &Result{Data: m.Data, Model: m, Partitions: int(p.parts.Load()), Rows: p.rows.Load(), Duration: time.Since(start)}, nil
}

type processor struct {
	def   *model.Database
	prev  *colstore.Database
	req   Request
	opts  Options
	load  map[*model.Partition]bool
	parts atomic.Int64
	rows  atomic.Int64
}

// partitionsToLoad decides which partitions read their source.
func partitionsToLoad(def *model.Database, prev *colstore.Database, req Request) (map[*model.Partition]bool, error) {
	load := map[*model.Partition]bool{}
	if req.Type == Calculate {
		return load, nil
	}
	mark := func(t *model.Table, p *model.Partition) {
		if isDataTable(t) {
			load[p] = true
		}
	}
	if len(req.Objects) == 0 {
		for _, t := range def.Model.Tables {
			for _, p := range t.Partitions {
				if req.Type == Automatic && loaded(prev, t, p) {
					continue
				}
				mark(t, p)
			}
		}
		return load, nil
	}
	for _, o := range req.Objects {
		t := def.Model.Table(o.Table)
		if t == nil {
			return nil, fmt.Errorf("%w: table %q is not in the model", ErrNotFound, o.Table)
		}
		if o.Partition == "" {
			for _, p := range t.Partitions {
				mark(t, p)
			}
			continue
		}
		p := t.Partition(o.Partition)
		if p == nil {
			return nil, fmt.Errorf("%w: partition %q is not in table %q", ErrNotFound, o.Partition, t.Name)
		}
		mark(t, p)
	}
	return load, nil
}

// isDataTable reports whether a table's rows come from its partitions'
// sources (not a calculated table or a calculation group).
func isDataTable(t *model.Table) bool {
	if t.CalculationGroup != nil {
		return false
	}
	for _, p := range t.Partitions {
		if p.Source.Type == model.SourceCalculated || p.Source.Type == model.SourceCalculationGroup {
			return false
		}
	}
	return true
}

// loaded reports whether prev holds data for a partition.
func loaded(prev *colstore.Database, t *model.Table, p *model.Partition) bool {
	pt := prev.Table(t.Name)
	if pt == nil {
		return false
	}
	for _, pp := range pt.Partitions {
		if value.EqualText(pp.Name, p.Name) {
			return true
		}
	}
	return false
}

// dataColumns returns the columns a partition source fills, with the
// model's types: data columns, in model order.
func dataColumns(t *model.Table) []*model.Column {
	var out []*model.Column
	for _, c := range t.Columns {
		if c.Kind() == model.ColumnData {
			out = append(out, c)
		}
	}
	return out
}

func specsOf(cols []*model.Column) []colstore.ColumnSpec {
	specs := make([]colstore.ColumnSpec, len(cols))
	for i, c := range cols {
		typ := c.DataType
		if typ == value.Blank {
			typ = value.Variant
		}
		specs[i] = colstore.ColumnSpec{Name: c.Name, Type: typ}
	}
	return specs
}

// loadTables reads every partition to load (in parallel, bounded) and
// encodes every data table: partitions not reloaded keep their rows.
func (p *processor) loadTables(ctx context.Context) (*colstore.Database, error) {
	type job struct {
		t    *model.Table
		part *model.Partition
	}
	chunks := map[*model.Partition]*colstore.Chunk{}
	var jobs []job
	for _, t := range p.def.Model.Tables {
		if !isDataTable(t) {
			continue
		}
		for _, part := range t.Partitions {
			if p.load[part] {
				var c *colstore.Chunk
				chunks[part] = c
				jobs = append(jobs, job{t: t, part: part})
			}
		}
	}
	results := make([]*colstore.Chunk, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	limit := p.opts.MaxParallelism
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(limit)
	for i, j := range jobs {
		g.Go(func() error {
			ch, err := p.readPartition(gctx, j.t, j.part)
			if err != nil {
				p.progress(Progress{Table: j.t.Name, Partition: j.part.Name, Err: err})
				return err
			}
			results[i] = ch
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, j := range jobs {
		chunks[j.part] = results[i]
	}
	out := &colstore.Database{}
	for _, t := range p.def.Model.Tables {
		if !isDataTable(t) {
			continue
		}
		specs := specsOf(dataColumns(t))
		prevTable := p.prev.Table(t.Name)
		var parts []colstore.PartitionData
		reloaded := false
		for _, part := range t.Partitions {
			ch := chunks[part]
			switch {
			case p.req.Type == ClearValues && p.clears(t, part), ch == nil && !loaded(p.prev, t, part):
				// Cleared, or never loaded: no rows.
				ch, _ = colstore.NewBuilder(specs, colstore.BuilderOptions{}).Finish()
				reloaded = true
			case ch != nil:
				reloaded = true
			}
			// A nil chunk keeps the partition's previous rows.
			parts = append(parts, colstore.PartitionData{Name: part.Name, Chunk: ch})
		}
		if !reloaded && prevTable != nil && sameColumns(prevTable, specs) {
			// Nothing of this table changed: share its data.
			out.Tables = append(out.Tables, dataOnly(prevTable, specs))
			continue
		}
		tab, err := colstore.RebuildTable(ctx, prevTable, t.Name, specs, parts)
		if err != nil {
			return nil, fmt.Errorf("process: table %q: %w", t.Name, err)
		}
		out.Tables = append(out.Tables, tab)
	}
	return out, nil
}

// sameColumns reports whether an encoded table has every column of specs
// with its type.
func sameColumns(t *colstore.Table, specs []colstore.ColumnSpec) bool {
	for _, s := range specs {
		if c := t.Column(s.Name); c == nil || c.Type != s.Type {
			return false
		}
	}
	return true
}

// dataOnly returns a table sharing t's data columns (calculated columns
// are recomputed by the caller).
func dataOnly(t *colstore.Table, specs []colstore.ColumnSpec) *colstore.Table {
	n := &colstore.Table{Name: t.Name, Rows: t.Rows, Partitions: t.Partitions}
	for _, s := range specs {
		n.Columns = append(n.Columns, t.Column(s.Name))
	}
	return n
}

// clears reports whether a clearValues request covers a partition.
func (p *processor) clears(t *model.Table, part *model.Partition) bool {
	if len(p.req.Objects) == 0 {
		return true
	}
	for _, o := range p.req.Objects {
		if value.EqualText(o.Table, t.Name) && (o.Partition == "" || value.EqualText(o.Partition, part.Name)) {
			return true
		}
	}
	return false
}

func (p *processor) progress(pr Progress) {
	if p.opts.OnProgress != nil {
		p.opts.OnProgress(pr)
	}
}

// readPartition evaluates a partition's source and reads its rows.
func (p *processor) readPartition(ctx context.Context, t *model.Table, part *model.Partition) (*colstore.Chunk, error) {
	where := fmt.Sprintf("table %q partition %q", t.Name, part.Name)
	var src source.Source
	switch part.Source.Type {
	case model.SourceM:
		params := map[string]string{}
		for _, e := range p.def.Model.Expressions {
			params[e.Name] = e.Expression.Text()
		}
		s, err := mlang.EvaluateTable(ctx, part.Source.Expression.Text(), &mlang.Env{Parameters: params, Roots: p.opts.Roots})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSource, where, err)
		}
		src = s
	default:
		return nil, fmt.Errorf("%w: %s: source type %q is not supported yet", ErrSource, where, part.Source.Type)
	}
	cols := dataColumns(t)
	specs := specsOf(cols)
	// Map source fields to model columns by sourceColumn (or name).
	fields := src.Fields()
	mapping := make([]int, len(fields))
	for i := range mapping {
		mapping[i] = -1
	}
	for ci, c := range cols {
		name := c.SourceColumn
		if name == "" {
			name = c.Name
		}
		found := false
		for fi, f := range fields {
			if f.Name == name {
				mapping[fi] = ci
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %s: the source has no column %q for column %q (it has %s)",
				ErrSource, where, name, c.Name, fieldNames(fields))
		}
	}
	newSink := func() (*colstore.Builder, *mappedSink) {
		b := colstore.NewBuilder(specs, colstore.BuilderOptions{ParseText: parseText})
		return b, &mappedSink{b: b, mapping: mapping, p: p, table: t.Name, part: part.Name}
	}
	ch, err := p.readParallel(ctx, src, newSink)
	if errors.Is(err, source.ErrNotParallel) {
		b, sink := newSink()
		serr := src.Scan(ctx, sink.sink())
		sink.flush()
		if serr != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSource, where, serr)
		}
		ch, err = b.Finish()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, where, err)
	}
	p.parts.Add(1)
	p.progress(Progress{Table: t.Name, Partition: part.Name, Rows: int64(ch.Rows), Done: true})
	return ch, nil
}

// readParallel reads a source in pieces on every core when it can, and
// merges the pieces in order; source.ErrNotParallel means read it whole.
func (p *processor) readParallel(ctx context.Context, src source.Source, newSink func() (*colstore.Builder, *mappedSink)) (*colstore.Chunk, error) {
	ps, ok := src.(source.ParallelSource)
	n := runtime.GOMAXPROCS(0)
	if !ok || n < 2 {
		return nil, source.ErrNotParallel
	}
	builders := make([]*colstore.Builder, n)
	sinks := make([]*mappedSink, n)
	var rows int64
	used, err := ps.ScanParallel(ctx, n, func(i int) source.Sink {
		builders[i], sinks[i] = newSink()
		return sinks[i].sink()
	})
	if err != nil {
		// The pieces' rows were counted; take them back before a re-read.
		for _, s := range sinks {
			if s != nil {
				rows += s.counted
			}
		}
		p.rows.Add(-rows)
		return nil, err
	}
	for _, s := range sinks[:used] {
		s.flush()
	}
	return colstore.FinishPieces(ctx, builders[:used])
}

func fieldNames(fs []source.Field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = fmt.Sprintf("%q", f.Name)
	}
	return strings.Join(names, ", ")
}

// parseText converts text to a column's type with the CSV reader's
// parsers (dates included).
func parseText(t value.Type, text []byte) (value.Value, error) {
	if csv.IsBlank(text) {
		return value.BlankValue, nil
	}
	switch t {
	case value.Integer:
		if n, ok := csv.ParseWhole(text); ok {
			return value.Int(n), nil
		}
		return value.BlankValue, fmt.Errorf("%q is not a whole number", text)
	case value.Decimal:
		if f, ok := csv.ParseFloat(text); ok {
			return value.Float(f), nil
		}
		return value.BlankValue, fmt.Errorf("%q is not a number", text)
	case value.Currency:
		if u, ok := csv.ParseCurrency(text); ok {
			return value.CurrencyUnits(u), nil
		}
		return value.BlankValue, fmt.Errorf("%q is not a fixed decimal number", text)
	case value.Boolean:
		if b, ok := csv.ParseBool(text); ok {
			return value.Bool(b), nil
		}
		return value.BlankValue, fmt.Errorf("%q is not true or false", text)
	case value.DateTime:
		if d, ok := csv.ParseDateTime(text); ok {
			return value.Date(d), nil
		}
		return value.BlankValue, fmt.Errorf("%q is not a date", text)
	}
	return value.Str(string(text)), nil
}

// mappedSink routes source fields to builder columns and counts rows.
type mappedSink struct {
	b           *colstore.Builder
	mapping     []int
	p           *processor
	table, part string
	rows        int64
	// counted is the part of rows added to the processor's total, which
	// is updated every so often rather than on every row: a counter
	// shared by the pieces read in parallel costs a contended atomic
	// operation per row.
	counted int64
}

// sink returns the sink a source fills: the mappedSink itself, or, when
// the source's fields are the builder's columns in order, one that hands
// values straight to the builder (a call less per value).
func (s *mappedSink) sink() source.Sink {
	for i, c := range s.mapping {
		if c != i {
			return s
		}
	}
	if len(s.mapping) != s.b.Columns() {
		return s
	}
	return directSink{Builder: s.b, counter: s}
}

// directSink passes values to the builder and rows to the mappedSink
// that counts them.
type directSink struct {
	*colstore.Builder
	counter *mappedSink
}

func (s directSink) EndRow() error { return s.counter.EndRow() }

func (s directSink) EndRows(n int) error { return s.counter.EndRows(n) }

// progressEvery is how many rows pass between progress reports.
const progressEvery = 1 << 16

// flush adds the rows not yet counted to the processor's total.
func (s *mappedSink) flush() {
	s.p.rows.Add(s.rows - s.counted)
	s.counted = s.rows
}

func (s *mappedSink) Blank(col int) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Blank(c)
	}
}
func (s *mappedSink) Int(col int, v int64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Int(c, v)
	}
}
func (s *mappedSink) Float(col int, v float64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Float(c, v)
	}
}
func (s *mappedSink) Currency(col int, u int64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Currency(c, u)
	}
}
func (s *mappedSink) Bool(col int, v bool) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Bool(c, v)
	}
}
func (s *mappedSink) Date(col int, ole float64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Date(c, ole)
	}
}
func (s *mappedSink) String(col int, b []byte) {
	if c := s.mapping[col]; c >= 0 {
		s.b.String(c, b)
	}
}
func (s *mappedSink) Ints(col int, v []int64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Ints(c, v)
	}
}
func (s *mappedSink) Floats(col int, v []float64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Floats(c, v)
	}
}
func (s *mappedSink) Currencies(col int, u []int64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Currencies(c, u)
	}
}
func (s *mappedSink) Dates(col int, ole []float64) {
	if c := s.mapping[col]; c >= 0 {
		s.b.Dates(c, ole)
	}
}

// EndRows completes n rows given a column at a time.
func (s *mappedSink) EndRows(n int) error {
	before := s.rows
	s.rows += int64(n)
	if s.rows/progressEvery != before/progressEvery {
		s.flush()
		s.p.progress(Progress{Table: s.table, Partition: s.part, Rows: s.rows})
	}
	return s.b.EndRows(n)
}

func (s *mappedSink) EndRow() error {
	s.rows++
	if s.rows%progressEvery == 0 {
		s.flush()
		s.p.progress(Progress{Table: s.table, Partition: s.part, Rows: s.rows})
	}
	return s.b.EndRow()
}
