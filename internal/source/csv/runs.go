package csv

import (
	"context"
	"fmt"
	"io"

	"github.com/meridian-olap/meridian/internal/source"
)

// runRows is the most rows converted before they are passed on as a run.
const runRows = 1024

// runColumn holds one column's converted values of a run.
type runColumn struct {
	ints   []int64   // Int, Currency, Bool (0 or 1)
	floats []float64 // Number, Percentage, Date, DateTime, DateTimeZone, Time
	blank  []bool
	blanks int
}

// runnable reports whether every column converts to a number, a date or
// a boolean: text must reach the sink while the reader's bytes are valid,
// so a file with text columns is passed on row by row.
func (s *Source) runnable() bool {
	for _, c := range s.cfg.Columns {
		if c.Kind == Text {
			return false
		}
	}
	return true
}

// scanRuns is scanRows for a sink taking runs: each column's values of up
// to runRows rows are converted into a buffer and passed on together,
// with a call per run instead of a call per value. Errors name the same
// file, line and column as scanRows does; a problem the sink finds names
// the lines of the run.
func (s *Source) scanRuns(ctx context.Context, rd *Reader, sink source.RunSink, skip int) error {
	cols := s.cfg.Columns
	rc := make([]runColumn, len(cols))
	for i := range rc {
		rc[i].blank = make([]bool, 0, runRows)
		switch cols[i].Kind {
		case Int, Currency, Bool:
			rc[i].ints = make([]int64, 0, runRows)
		default:
			rc[i].floats = make([]float64, 0, runRows)
		}
	}
	n, firstLine := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		for ci := range cols {
			s.passRun(sink, ci, &rc[ci])
		}
		if err := sink.EndRows(n); err != nil {
			return fmt.Errorf("%s lines %d to %d: %w", s.cfg.Name, firstLine, rd.Line(), err)
		}
		n = 0
		return nil
	}
	for row := 0; ; row++ {
		if row%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fields, err := rd.Read()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", s.cfg.Name, err)
		}
		if row < skip {
			continue
		}
		if s.cfg.MaxFields > 0 && len(fields) > s.cfg.MaxFields {
			return fmt.Errorf("%s line %d: %d fields where %d are expected: %w",
				s.cfg.Name, rd.Line(), len(fields), s.cfg.MaxFields, ErrValue)
		}
		if n == 0 {
			firstLine = rd.Line()
		}
		for ci := range cols {
			c := &cols[ci]
			r := &rc[ci]
			if uint(c.Field) >= uint(len(fields)) || c.Kind == Null {
				r.addBlank(c.Kind)
				continue
			}
			b := fields[c.Field]
			if !r.add(c.Kind, b) {
				if IsBlank(b) {
					r.addBlank(c.Kind)
					continue
				}
				return &ValueError{File: s.cfg.Name, Line: rd.FieldLine(c.Field), Column: c.Name,
					Field: c.Field + 1, Value: shorten(b), Kind: c.Kind}
			}
		}
		n++
		if n == runRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// add converts a field and appends it; false when it does not convert.
func (r *runColumn) add(k Kind, b []byte) bool {
	i, f, ok := parse(k, b)
	if !ok {
		return false
	}
	if r.ints != nil {
		r.ints = append(r.ints, i)
	} else {
		r.floats = append(r.floats, f)
	}
	r.blank = append(r.blank, false)
	return true
}

func (r *runColumn) addBlank(k Kind) {
	if r.ints != nil {
		r.ints = append(r.ints, 0)
	} else {
		r.floats = append(r.floats, 0)
	}
	r.blank = append(r.blank, true)
	r.blanks++
}

// passRun passes one column's values of a run to the sink and empties
// the buffer: as one run when none is BLANK, otherwise value by value.
func (s *Source) passRun(sink source.RunSink, ci int, r *runColumn) {
	k := s.cfg.Columns[ci].Kind
	defer func() {
		r.ints, r.floats, r.blank, r.blanks = r.ints[:0], r.floats[:0], r.blank[:0], 0
	}()
	if r.blanks == 0 {
		switch k {
		case Int:
			sink.Ints(ci, r.ints)
			return
		case Currency:
			sink.Currencies(ci, r.ints)
			return
		case Number, Percentage:
			sink.Floats(ci, r.floats)
			return
		case Date, DateTime, DateTimeZone, Time:
			sink.Dates(ci, r.floats)
			return
		}
	}
	for i, blank := range r.blank {
		if blank {
			sink.Blank(ci)
			continue
		}
		switch k {
		case Int:
			sink.Int(ci, r.ints[i])
		case Currency:
			sink.Currency(ci, r.ints[i])
		case Bool:
			sink.Bool(ci, r.ints[i] != 0)
		case Number, Percentage:
			sink.Float(ci, r.floats[i])
		default:
			sink.Date(ci, r.floats[i])
		}
	}
}
