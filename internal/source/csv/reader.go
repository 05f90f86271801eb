package csv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// QuoteStyle says whether double quotes are significant.
type QuoteStyle uint8

const (
	// QuoteCSV honours quotes as RFC 4180 does (Power Query's
	// QuoteStyle.Csv): a field that starts with a quote runs to the
	// matching quote, "" inside it is one quote, and delimiters and line
	// breaks inside it are data.
	QuoteCSV QuoteStyle = iota
	// QuoteNone makes quotes ordinary characters (QuoteStyle.None): every
	// line break ends a row.
	QuoteNone
)

// Limits that protect the server from hostile or broken files. Power Query
// tables have at most 16,384 columns.
const (
	DefaultMaxRowBytes = 16 << 20
	DefaultMaxFields   = 16384
)

// Errors returned (wrapped, with a line number) by the reader.
var (
	ErrSyntax   = errors.New("csv: syntax error")
	ErrOptions  = errors.New("csv: bad options")
	ErrEncoding = errors.New("csv: unsupported encoding")
)

// Options describe the dialect of a file. The zero value is RFC 4180 CSV in
// UTF-8 with commas.
type Options struct {
	// Delimiter separates fields: any rune but a quote or a line break.
	// Zero means a comma.
	Delimiter rune
	// Encoding is the Windows code page of the file: 65001 (UTF-8, the
	// default when zero), 1252 (Windows Western), 28591 (Latin-1), 20127
	// (ASCII), 1200 and 1201 (UTF-16 little and big endian), and the other
	// single-byte code pages listed in encodings.
	Encoding int
	// Quotes says whether quotes are significant.
	Quotes QuoteStyle
	// MaxRowBytes bounds the size of one row (so that a quote left open
	// does not read a whole file into memory); zero means
	// DefaultMaxRowBytes.
	MaxRowBytes int
	// MaxFields bounds the fields of one row; zero means DefaultMaxFields.
	MaxFields int
}

// byte classes for the scanning loop.
const (
	clsData  uint8 = iota
	clsDelim       // first byte of the delimiter
	clsLF
	clsCR
	clsPartial // a prefix of a multi-byte delimiter at the end of the data
)

const defaultBufSize = 512 << 10

// Reader reads the rows of a delimited text file. Fields are returned as
// byte slices into the reader's buffers, valid until the next call to Read:
// a steady-state Read allocates nothing.
//
// Line breaks are LF, CRLF or a lone CR. Every line break ends a row
// (outside quotes), so an empty line is a row with one empty field; a line
// break at the very end of the file does not start another row. A UTF-8
// byte order mark at the start is skipped (and selects UTF-8 whatever
// Encoding says, as Windows text readers do). Invalid UTF-8 is replaced by
// U+FFFD, as Power Query's decoder does.
type Reader struct {
	src     io.Reader
	buf     []byte
	pos     int // start of unread data
	end     int // end of data in buf
	eof     bool
	started bool // the byte order mark has been looked for
	utf8    bool // the bytes are meant to be UTF-8 and must be checked

	delim     []byte
	quotes    bool
	cls       [256]uint8
	maxRow    int
	maxFields int

	line    int // line on which the next row starts
	rowLine int // line on which the last row started

	fields  [][]byte
	flines  []int // per field: lines after rowLine on which it starts; empty when the row is on one line
	scratch []byte

	high uint64 // the bytes of the row ORed together: its high bit means non-ASCII

	bufSize int // initial buffer size; tests make it tiny to exercise refills
}

// NewReader returns a reader of r in the given dialect.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	d := opts.Delimiter
	if d == 0 {
		d = ','
	}
	if d == '"' || d == '\r' || d == '\n' || !utf8.ValidRune(d) {
		return nil, fmt.Errorf("delimiter %q: %w", d, ErrOptions)
	}
	if opts.Quotes > QuoteNone {
		return nil, fmt.Errorf("quote style %d: %w", opts.Quotes, ErrOptions)
	}
	if opts.MaxRowBytes < 0 || opts.MaxFields < 0 {
		return nil, fmt.Errorf("negative limit: %w", ErrOptions)
	}
	src, isUTF8, err := decode(r, opts.Encoding)
	if err != nil {
		return nil, err
	}
	rd := &Reader{
		src:       src,
		utf8:      isUTF8,
		delim:     utf8.AppendRune(nil, d),
		quotes:    opts.Quotes == QuoteCSV,
		maxRow:    opts.MaxRowBytes,
		maxFields: opts.MaxFields,
		line:      1,
		rowLine:   1,
	}
	if rd.maxRow == 0 {
		rd.maxRow = DefaultMaxRowBytes
	}
	if rd.maxFields == 0 {
		rd.maxFields = DefaultMaxFields
	}
	rd.cls[rd.delim[0]] = clsDelim
	rd.cls['\n'] = clsLF
	rd.cls['\r'] = clsCR
	// A non-UTF-8 source is decoded to UTF-8 by a transformer; its BOM, if
	// any, was handled there.
	rd.started = !isUTF8
	return rd, nil
}

// Line returns the line on which the last row read starts (1 for the first
// line of the file).
func (r *Reader) Line() int { return r.rowLine }

// FieldLine returns the line on which field i of the last row starts; it
// differs from Line when a quoted field before it spans lines.
func (r *Reader) FieldLine(i int) int {
	if i < 0 || i >= len(r.flines) {
		return r.rowLine // a row on one line keeps no per-field lines
	}
	return r.rowLine + r.flines[i]
}

// Read returns the fields of the next row, or io.EOF after the last row.
// The slices are valid until the next call.
func (r *Reader) Read() ([][]byte, error) {
	if r.buf == nil {
		n := r.bufSize
		if n <= 0 {
			n = defaultBufSize
		}
		r.buf = make([]byte, min(n, r.maxRow))
	}
	for !r.started {
		if r.end-r.pos >= 3 || r.eof {
			if bytes.HasPrefix(r.buf[r.pos:r.end], bom) {
				r.pos += len(bom)
			}
			r.started = true
			break
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
	for {
		if r.pos == r.end && r.eof {
			return nil, io.EOF
		}
		n, lines, more, err := r.parse(r.buf[r.pos:r.end], r.eof)
		if err != nil {
			return nil, err
		}
		if more {
			if err := r.fill(); err != nil {
				return nil, err
			}
			continue
		}
		if r.utf8 && r.high&hi != 0 && !utf8.Valid(r.buf[r.pos:r.pos+n]) {
			r.fixUTF8()
		}
		r.pos += n
		r.rowLine = r.line
		r.line += lines
		return r.fields, nil
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// fill moves the unread data to the front of the buffer, grows the buffer
// when a single row fills it, and reads more.
func (r *Reader) fill() error {
	if r.pos > 0 {
		copy(r.buf, r.buf[r.pos:r.end])
		r.end -= r.pos
		r.pos = 0
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= r.maxRow {
			return fmt.Errorf("line %d: row is longer than %d bytes (is a quote left open?): %w", r.line, r.maxRow, ErrSyntax)
		}
		n := min(2*len(r.buf), r.maxRow)
		nb := make([]byte, n)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for tries := 0; ; tries++ {
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		if err == io.EOF {
			r.eof = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", r.line, err)
		}
		if n > 0 {
			return nil
		}
		if tries > 100 {
			return fmt.Errorf("read line %d: %w", r.line, io.ErrNoProgress)
		}
	}
}

// Masks for finding bytes eight at a time: a word has a zero byte where
// (v - lo) & ^v & hi is set, and the lowest such flag is exact.
const (
	lo     = 0x0101010101010101
	hi     = 0x8080808080808080
	lfMask = '\n' * lo
	crMask = '\r' * lo
)

func zeroBytes(v uint64) uint64 { return (v - lo) &^ v & hi }

// scan returns the position of the first delimiter or line break at or
// after i, and its class; clsData with len(data) when there is none. It
// ORs the bytes it passes into r.high, so that a row of ASCII needs no
// UTF-8 check.
func (r *Reader) scan(data []byte, i int, atEOF bool) (int, uint8) {
	if len(r.delim) == 1 {
		dm := uint64(r.delim[0]) * lo
		var acc uint64
		for i+8 <= len(data) {
			v := binary.LittleEndian.Uint64(data[i:])
			acc |= v
			if m := zeroBytes(v^dm) | zeroBytes(v^lfMask) | zeroBytes(v^crMask); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				r.high |= acc
				return i, r.cls[data[i]]
			}
			i += 8
		}
		r.high |= acc
		for ; i < len(data); i++ {
			c := data[i]
			r.high |= uint64(c)
			if cl := r.cls[c]; cl != clsData {
				return i, cl
			}
		}
		return i, clsData
	}
	cls := &r.cls
	for i < len(data) {
		r.high |= uint64(data[i])
		c := cls[data[i]]
		if c == clsData {
			i++
			continue
		}
		if c == clsDelim {
			rest := data[i:]
			if !bytes.HasPrefix(rest, r.delim) {
				if !atEOF && len(rest) < len(r.delim) && bytes.HasPrefix(r.delim, rest) {
					return i, clsPartial
				}
				i++
				continue
			}
		}
		return i, c
	}
	return i, clsData
}

// orBytes ORs the bytes of b together (enough to see a high bit).
func orBytes(b []byte) uint64 {
	var acc uint64
	for len(b) >= 8 {
		acc |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		acc |= uint64(c)
	}
	return acc
}

// parse splits the row at the start of data. It returns the bytes the row
// takes (line break included) and the line breaks it holds, or more=true
// when data ends before the row does and more can be read.
func (r *Reader) parse(data []byte, atEOF bool) (n, lines int, more bool, err error) {
	r.fields = r.fields[:0]
	r.flines = r.flines[:0]
	r.scratch = r.scratch[:0]
	r.high = 0
	i := 0
	for {
		if len(r.fields) >= r.maxFields {
			return 0, 0, false, fmt.Errorf("line %d: more than %d fields in a row: %w", r.line, r.maxFields, ErrSyntax)
		}
		startLines := lines
		var field []byte
		var end int
		var c uint8
		if r.quotes && i < len(data) && data[i] == '"' {
			// A quoted field: find the closing quote, joining the pieces
			// between doubled quotes in scratch when there are any.
			j := i + 1
			seg := j
			from := len(r.scratch)
			escaped := false
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 {
					if atEOF {
						return 0, 0, false, fmt.Errorf("line %d: quoted field is never closed: %w", r.line+lines, ErrSyntax)
					}
					return 0, 0, true, nil
				}
				q := j + k
				if q+1 == len(data) && !atEOF {
					return 0, 0, true, nil // the next byte may be a second quote
				}
				if q+1 < len(data) && data[q+1] == '"' {
					r.scratch = append(r.scratch, data[seg:q+1]...)
					escaped = true
					j = q + 2
					seg = j
					continue
				}
				lines += countBreaks(data[i+1 : q])
				r.high |= orBytes(data[i+1 : q])
				if escaped {
					r.scratch = append(r.scratch, data[seg:q]...)
					field = r.scratch[from:]
				} else {
					field = data[i+1 : q]
				}
				i = q + 1
				break
			}
			// Text after the closing quote, up to the delimiter, is kept
			// as it is (Power Query does the same; RFC 4180 has nothing
			// there).
			end, c = r.scan(data, i, atEOF)
			if end > i {
				if !escaped {
					r.scratch = append(r.scratch, field...)
				}
				r.scratch = append(r.scratch, data[i:end]...)
				field = r.scratch[from:]
			}
		} else {
			end, c = r.scan(data, i, atEOF)
			field = data[i:end]
		}
		switch c {
		case clsPartial:
			return 0, 0, true, nil
		case clsDelim:
			r.fields = append(r.fields, field)
			r.noteLine(startLines, lines)
			i = end + len(r.delim)
			continue
		case clsData: // end of data
			if !atEOF {
				return 0, 0, true, nil
			}
			n = end
		case clsLF:
			n = end + 1
			lines++
		case clsCR:
			switch {
			case end+1 < len(data):
				n = end + 1
				if data[end+1] == '\n' {
					n++
				}
			case atEOF:
				n = end + 1
			default:
				return 0, 0, true, nil // an LF may follow
			}
			lines++
		}
		r.fields = append(r.fields, field)
		r.noteLine(startLines, lines-1+boolInt(c == clsData))
		return n, lines, false, nil
	}
}

// noteLine records the line of the field just appended, relative to the
// row's first line, once the row is known to span lines (lines, the breaks
// seen so far inside the row, is not zero): rows on one line, the common
// case, record nothing.
func (r *Reader) noteLine(start, lines int) {
	if lines == 0 && len(r.flines) == 0 {
		return
	}
	for len(r.flines) < len(r.fields)-1 {
		r.flines = append(r.flines, 0)
	}
	r.flines = append(r.flines, start)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// countBreaks counts the line breaks (LF, CRLF, lone CR) in b.
func countBreaks(b []byte) int {
	n := bytes.Count(b, nl)
	if bytes.IndexByte(b, '\r') >= 0 {
		for i, c := range b {
			if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
				n++
			}
		}
	}
	return n
}

var nl = []byte{'\n'}

// fixUTF8 replaces invalid UTF-8 in the fields of the current row by
// U+FFFD, one replacement per invalid byte as Go and .NET decoders do.
func (r *Reader) fixUTF8() {
	for k, f := range r.fields {
		if utf8.Valid(f) {
			continue
		}
		from := len(r.scratch)
		for len(f) > 0 {
			c, size := utf8.DecodeRune(f)
			if c == utf8.RuneError && size == 1 {
				r.scratch = utf8.AppendRune(r.scratch, utf8.RuneError)
			} else {
				r.scratch = append(r.scratch, f[:size]...)
			}
			f = f[size:]
		}
		r.fields[k] = r.scratch[from:]
	}
}
