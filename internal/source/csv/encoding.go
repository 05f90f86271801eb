package csv

import (
	"bytes"
	"fmt"
	"io"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// Code pages of the encodings the reader knows, by the numbers Power Query
// uses (TextEncoding.* and Windows code page numbers).
const (
	UTF8        = 65001
	Windows1252 = 1252
	Latin1      = 28591
	ASCII       = 20127
	UTF16LE     = 1200
	UTF16BE     = 1201
)

// encodings maps the single-byte Windows and ISO code pages to decoders.
var encodings = map[int]encoding.Encoding{
	Windows1252: charmap.Windows1252,
	1250:        charmap.Windows1250,
	1251:        charmap.Windows1251,
	1253:        charmap.Windows1253,
	1254:        charmap.Windows1254,
	1255:        charmap.Windows1255,
	1256:        charmap.Windows1256,
	1257:        charmap.Windows1257,
	1258:        charmap.Windows1258,
	874:         charmap.Windows874,
	437:         charmap.CodePage437,
	850:         charmap.CodePage850,
	852:         charmap.CodePage852,
	866:         charmap.CodePage866,
	Latin1:      charmap.ISO8859_1,
	28592:       charmap.ISO8859_2,
	28595:       charmap.ISO8859_5,
	28597:       charmap.ISO8859_7,
	28605:       charmap.ISO8859_15,
	UTF16LE:     unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
	UTF16BE:     unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
}

// SupportedEncoding reports whether the reader can decode a code page.
func SupportedEncoding(codePage int) bool {
	switch codePage {
	case 0, UTF8, ASCII:
		return true
	}
	_, ok := encodings[codePage]
	return ok
}

// decode returns a reader of UTF-8 for src in the given code page, and
// whether the bytes are read as they are (and must then be checked as
// UTF-8). A UTF-8 byte order mark selects UTF-8 whatever the code page
// says, except for UTF-16 where it cannot occur.
func decode(src io.Reader, codePage int) (io.Reader, bool, error) {
	switch codePage {
	case 0, UTF8, ASCII:
		// ASCII is a subset of UTF-8; bytes above 127 are invalid and
		// replaced like any invalid UTF-8.
		return src, true, nil
	}
	enc, ok := encodings[codePage]
	if !ok {
		return nil, false, fmt.Errorf("code page %d: %w", codePage, ErrEncoding)
	}
	if codePage == UTF16LE || codePage == UTF16BE {
		return enc.NewDecoder().Reader(src), false, nil
	}
	head := make([]byte, len(bom))
	n, err := io.ReadFull(src, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
	case err != nil:
		return nil, false, fmt.Errorf("read: %w", err)
	}
	head = head[:n]
	if bytes.Equal(head, bom) {
		return src, true, nil // the mark is consumed; the rest is UTF-8
	}
	return enc.NewDecoder().Reader(io.MultiReader(bytes.NewReader(head), src)), false, nil
}
