package colstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/value"
)

// The on-disk format of encoded data is documented in docs/formats.md.
// Every object starts with a four-byte magic and a format byte:
//
//	segment     "MSEG" 2  width:u8 n:u32 maxID:u32 0:u16 words:[]u64
//	dictionary  "MDIC" 1  type:u8 kind:u8 n:u32 base:i64 exp:i8 values...
//	index       "MREL" 1  n:u32 rows:[]i32
//
// integers little-endian. The data root is JSON (rootJSON) naming the
// objects of every table, column, segment and relationship index.
// Segments of format 1 (no padding before the words) are still read.

const formatByte = 1

// segmentFormat is the format of the segments written. Its header is 16
// bytes, so that the words of an object read into memory are 8-byte
// aligned and a little-endian machine uses them where they lie.
const segmentFormat = 2

// littleEndian is true on machines whose uint64 has the byte order of
// the stored words.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

var (
	magicSegment = [4]byte{'M', 'S', 'E', 'G'}
	magicDict    = [4]byte{'M', 'D', 'I', 'C'}
	magicChunk   = [4]byte{'M', 'D', 'C', 'H'}
	magicIndex   = [4]byte{'M', 'R', 'E', 'L'}
)

// ErrCorrupt is wrapped by every error decoding an object.
var ErrCorrupt = errors.New("colstore: corrupt object")

type rootJSON struct {
	Tables []tableJSON `json:"tables"`
	Rels   []relJSON   `json:"relationships"`
}

type tableJSON struct {
	Name       string       `json:"name"`
	Rows       int          `json:"rows"`
	Partitions []Partition  `json:"partitions"`
	Columns    []columnJSON `json:"columns"`
}

type columnJSON struct {
	Name string     `json:"name"`
	Type string     `json:"type"`
	Dict image.Hash `json:"dictionary"`
	// DictChunks hold a list dictionary's values, dictChunkValues ids
	// each: a partition's new values change only the last chunks.
	DictChunks []image.Hash  `json:"dictionaryChunks,omitempty"`
	Segments   []segmentJSON `json:"segments"`
}

type segmentJSON struct {
	Start  int        `json:"start"`
	Rows   int        `json:"rows"`
	Object image.Hash `json:"object"`
}

type relJSON struct {
	Name          string     `json:"name"`
	From          int        `json:"from"`
	FromColumn    int        `json:"fromColumn"`
	To            int        `json:"to"`
	ToColumn      int        `json:"toColumn"`
	Active        bool       `json:"active"`
	Bidirectional bool       `json:"bidirectional,omitempty"`
	OneToOne      bool       `json:"oneToOne,omitempty"`
	Unmatched     bool       `json:"unmatched,omitempty"`
	Index         image.Hash `json:"index"`
}

// Encode writes the database as objects and returns the reference of its
// root object and every object written (the root included). Encoding is
// deterministic: equal databases give equal objects.
func Encode(ctx context.Context, db *Database, w image.ObjectWriter) (root image.ObjectRef, refs []image.ObjectRef, err error) {
	var mu sync.Mutex
	var gctx context.Context
	put := func(kind string, data []byte) (image.Hash, error) {
		ref, err := w.WriteObject(gctx, kind, data)
		if err != nil {
			return image.Hash{}, err
		}
		mu.Lock()
		refs = append(refs, ref)
		mu.Unlock()
		return ref.Hash, nil
	}
	rj := rootJSON{Tables: make([]tableJSON, len(db.Tables)), Rels: make([]relJSON, len(db.Rels))}
	var g *errgroup.Group
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for ti, t := range db.Tables {
		tj := &rj.Tables[ti]
		*tj = tableJSON{Name: t.Name, Rows: t.Rows, Partitions: t.Partitions, Columns: make([]columnJSON, len(t.Columns))}
		if tj.Partitions == nil {
			tj.Partitions = []Partition{}
		}
		for ci, c := range t.Columns {
			cj := &tj.Columns[ci]
			*cj = columnJSON{Name: c.Name, Type: c.Type.TMSLName(), Segments: make([]segmentJSON, len(c.Segs))}
			g.Go(func() error {
				d := c.Dict
				if d.Kind == DictRange {
					h, err := put(image.KindDict, encodeDict(d))
					cj.Dict = h
					if err != nil {
						return fmt.Errorf("write dictionary of %s[%s]: %w", t.Name, c.Name, err)
					}
					return nil
				}
				h, err := put(image.KindDict, encodeDictHeader(d))
				if err != nil {
					return fmt.Errorf("write dictionary of %s[%s]: %w", t.Name, c.Name, err)
				}
				cj.Dict = h
				first := 1
				for _, n := range d.chunkCounts() {
					h, err := put(image.KindDict, encodeDictChunk(d, first, n))
					if err != nil {
						return fmt.Errorf("write dictionary of %s[%s]: %w", t.Name, c.Name, err)
					}
					cj.DictChunks = append(cj.DictChunks, h)
					first += n
				}
				return nil
			})
			for si := range c.Segs {
				s := &c.Segs[si]
				g.Go(func() error {
					h, err := put(image.KindSegment, encodeSegment(s))
					if err != nil {
						return fmt.Errorf("write segment %d of %s[%s]: %w", si, t.Name, c.Name, err)
					}
					cj.Segments[si] = segmentJSON{Start: s.Start, Rows: s.N, Object: h}
					return nil
				})
			}
		}
	}
	for ri, r := range db.Rels {
		rj.Rels[ri] = relJSON{Name: r.Name, From: r.From, FromColumn: r.FromCol, To: r.To, ToColumn: r.ToCol,
			Active: r.Active, Bidirectional: r.Bidirectional, OneToOne: r.OneToOne, Unmatched: r.Unmatched}
		g.Go(func() error {
			h, err := put(image.KindIndex, encodeIndex(r.ToRow))
			if err != nil {
				return fmt.Errorf("write index of relationship %q: %w", r.Name, err)
			}
			rj.Rels[ri].Index = h
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return image.ObjectRef{}, nil, fmt.Errorf("colstore: encode: %w", err)
	}
	data, err := json.Marshal(&rj)
	if err != nil {
		return image.ObjectRef{}, nil, fmt.Errorf("colstore: encode root: %w", err)
	}
	root, err = w.WriteObject(ctx, image.KindData, data)
	if err != nil {
		return image.ObjectRef{}, nil, fmt.Errorf("colstore: write root: %w", err)
	}
	refs = append(refs, root)
	return root, refs, nil
}

// DecodeOptions tune Decode. The zero value suits a reader of stored
// objects.
type DecodeOptions struct {
	// Readers is how many objects are read at once; 0 means GOMAXPROCS.
	// A reader that hands objects over as they arrive from a stream, in
	// an order of its own (a restore), wants one per object, so that each
	// is decoded as soon as it arrives. Decoding itself never runs on
	// more than GOMAXPROCS goroutines.
	Readers int
}

// Decode reads a database from its root object. Every object is checked
// against its hash and its structure; a damaged object is an error that
// wraps ErrCorrupt, never a panic.
func Decode(ctx context.Context, root image.Hash, r image.ObjectReader, opts DecodeOptions) (*Database, error) {
	if opts.Readers <= 0 {
		opts.Readers = runtime.GOMAXPROCS(0)
	}
	cpu := make(chan struct{}, runtime.GOMAXPROCS(0))
	// decoding runs f on one of the decoding goroutines.
	decoding := func(f func() error) error {
		select {
		case cpu <- struct{}{}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		defer func() { <-cpu }()
		return f()
	}
	data, err := readVerified(ctx, r, root)
	if err != nil {
		return nil, fmt.Errorf("colstore: read root: %w", err)
	}
	var rj rootJSON
	if err := json.Unmarshal(data, &rj); err != nil {
		return nil, fmt.Errorf("%w: root: %v", ErrCorrupt, err)
	}
	db := &Database{Tables: make([]*Table, len(rj.Tables)), Rels: make([]*Relationship, len(rj.Rels))}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Readers)
	for ti, tj := range rj.Tables {
		t := &Table{Name: tj.Name, Rows: tj.Rows, Partitions: tj.Partitions, Columns: make([]*Column, len(tj.Columns))}
		if err := checkPartitions(t); err != nil {
			return nil, err
		}
		db.Tables[ti] = t
		for ci, cj := range tj.Columns {
			typ, ok := value.ParseTMSL(cj.Type)
			if !ok {
				return nil, fmt.Errorf("%w: column %s[%s] has type %q", ErrCorrupt, tj.Name, cj.Name, cj.Type)
			}
			c := &Column{Name: cj.Name, Type: typ, Segs: make([]Segment, len(cj.Segments))}
			t.Columns[ci] = c
			if err := checkSegments(t, cj); err != nil {
				return nil, err
			}
			g.Go(func() error {
				b, err := readVerified(ctx, r, cj.Dict)
				if err != nil {
					return fmt.Errorf("dictionary of %s[%s]: %w", tj.Name, cj.Name, err)
				}
				var d *Dict
				if len(cj.DictChunks) > 0 {
					d, err = decodeChunkedDict(ctx, r, b, cj.DictChunks)
				} else {
					err = decoding(func() (err error) { d, err = decodeDict(b); return err })
				}
				if err != nil {
					return fmt.Errorf("dictionary of %s[%s]: %w", tj.Name, cj.Name, err)
				}
				if d.Type != typ {
					return fmt.Errorf("%w: dictionary of %s[%s] has type %s, column %s", ErrCorrupt, tj.Name, cj.Name, d.Type, typ)
				}
				c.Dict = d
				return nil
			})
			for si, sj := range cj.Segments {
				g.Go(func() error {
					b, err := readVerified(ctx, r, sj.Object)
					if err != nil {
						return fmt.Errorf("segment %d of %s[%s]: %w", si, tj.Name, cj.Name, err)
					}
					var s Segment
					err = decoding(func() (err error) { s, err = decodeSegment(b); return err })
					if err != nil {
						return fmt.Errorf("segment %d of %s[%s]: %w", si, tj.Name, cj.Name, err)
					}
					if s.N != sj.Rows {
						return fmt.Errorf("%w: segment %d of %s[%s] has %d rows, root says %d", ErrCorrupt, si, tj.Name, cj.Name, s.N, sj.Rows)
					}
					s.Start = sj.Start
					c.Segs[si] = s
					return nil
				})
			}
		}
	}
	for ri, rj := range rj.Rels {
		if rj.From < 0 || rj.From >= len(db.Tables) || rj.To < 0 || rj.To >= len(db.Tables) ||
			rj.FromColumn < 0 || rj.FromColumn >= len(db.Tables[rj.From].Columns) ||
			rj.ToColumn < 0 || rj.ToColumn >= len(db.Tables[rj.To].Columns) {
			return nil, fmt.Errorf("%w: relationship %q names a missing table or column", ErrCorrupt, rj.Name)
		}
		rel := &Relationship{Name: rj.Name, From: rj.From, To: rj.To, FromCol: rj.FromColumn, ToCol: rj.ToColumn,
			Active: rj.Active, Bidirectional: rj.Bidirectional, OneToOne: rj.OneToOne, Unmatched: rj.Unmatched}
		db.Rels[ri] = rel
		g.Go(func() error {
			b, err := readVerified(ctx, r, rj.Index)
			if err != nil {
				return fmt.Errorf("index of relationship %q: %w", rj.Name, err)
			}
			var rows []int32
			err = decoding(func() (err error) { rows, err = decodeIndex(b); return err })
			if err != nil {
				return fmt.Errorf("index of relationship %q: %w", rj.Name, err)
			}
			rel.ToRow = rows
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("colstore: decode: %w", err)
	}
	return db, validate(db)
}

// readVerified reads an object. The reader verifies content against the
// hash (see image.ObjectReader); the decoders below check structure.
func readVerified(ctx context.Context, r image.ObjectReader, h image.Hash) ([]byte, error) {
	return r.ReadObject(ctx, h)
}

func checkPartitions(t *Table) error {
	start := 0
	for _, p := range t.Partitions {
		if p.Start != start || p.Rows < 0 {
			return fmt.Errorf("%w: table %q: partition %q does not follow the previous one", ErrCorrupt, t.Name, p.Name)
		}
		start += p.Rows
	}
	if start != t.Rows {
		return fmt.Errorf("%w: table %q: partitions hold %d rows, table says %d", ErrCorrupt, t.Name, start, t.Rows)
	}
	return nil
}

func checkSegments(t *Table, cj columnJSON) error {
	want := segmentBounds(t.Partitions)
	if len(want) != len(cj.Segments) {
		return fmt.Errorf("%w: column %s[%s] has %d segments, want %d", ErrCorrupt, t.Name, cj.Name, len(cj.Segments), len(want))
	}
	for i, s := range cj.Segments {
		if s.Start != want[i][0] || s.Rows != want[i][1] {
			return fmt.Errorf("%w: column %s[%s] segment %d covers rows %d+%d, want %d+%d",
				ErrCorrupt, t.Name, cj.Name, i, s.Start, s.Rows, want[i][0], want[i][1])
		}
	}
	return nil
}

// validate checks cross-object invariants after decoding: ids within
// dictionaries, indexes sized to their key dictionaries and pointing at
// existing rows. Scans rely on these to index arrays without checks.
func validate(db *Database) error {
	for _, t := range db.Tables {
		for _, c := range t.Columns {
			for i, s := range c.Segs {
				if int(s.MaxID) > c.Dict.N {
					return fmt.Errorf("%w: %s[%s] segment %d has id %d beyond its dictionary of %d", ErrCorrupt, t.Name, c.Name, i, s.MaxID, c.Dict.N)
				}
			}
		}
	}
	for _, r := range db.Rels {
		from := db.Tables[r.From].Columns[r.FromCol]
		if len(r.ToRow) != from.Dict.Len() {
			return fmt.Errorf("%w: index of relationship %q has %d entries, its key has %d ids", ErrCorrupt, r.Name, len(r.ToRow), from.Dict.Len())
		}
		rows := db.Tables[r.To].Rows
		for _, row := range r.ToRow {
			if row < -1 || int(row) >= rows {
				return fmt.Errorf("%w: index of relationship %q points at row %d of %d", ErrCorrupt, r.Name, row, rows)
			}
		}
	}
	return nil
}

// header starts an object of format formatByte with size more bytes.
func header(magic [4]byte, size int) []byte {
	return headerFormat(magic, formatByte, size)
}

func headerFormat(magic [4]byte, format byte, size int) []byte {
	b := make([]byte, 0, 5+size)
	b = append(b, magic[:]...)
	return append(b, format)
}

func encodeSegment(s *Segment) []byte {
	b := headerFormat(magicSegment, segmentFormat, 11+8*len(s.Words))
	b = append(b, s.Width)
	b = binary.LittleEndian.AppendUint32(b, uint32(s.N))
	b = binary.LittleEndian.AppendUint32(b, s.MaxID)
	b = append(b, 0, 0)
	for _, w := range s.Words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

// reader decodes a byte slice, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated", ErrCorrupt)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	if b := r.need(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.need(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.need(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad varint", ErrCorrupt)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// header reads the magic and format of an object of format formatByte.
func (r *reader) header(magic [4]byte) {
	if f := r.headerFormat(magic); r.err == nil && f != formatByte {
		r.err = fmt.Errorf("%w: format %d, this build reads %d", ErrCorrupt, f, formatByte)
	}
}

// headerFormat reads the magic and returns the format byte, for the
// caller to check.
func (r *reader) headerFormat(magic [4]byte) byte {
	h := r.need(5)
	if h == nil {
		return 0
	}
	if [4]byte(h[:4]) != magic {
		r.err = fmt.Errorf("%w: magic %q, want %q", ErrCorrupt, h[:4], magic[:])
	}
	return h[4]
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.b))
	}
	return r.err
}

// decodeSegment decodes a segment object. The words of a segment of the
// current format are b's own bytes where the machine allows it (b then
// belongs to the segment, as image.ObjectReader's slices belong to their
// caller); otherwise they are copied.
func decodeSegment(b []byte) (Segment, error) {
	r := &reader{b: b}
	format := r.headerFormat(magicSegment)
	width := r.u8()
	n := int(r.u32())
	maxID := r.u32()
	switch {
	case r.err != nil:
	case format == segmentFormat:
		if pad := r.need(2); pad != nil && (pad[0] != 0 || pad[1] != 0) {
			r.err = fmt.Errorf("%w: segment padding is not zero", ErrCorrupt)
		}
	case format != formatByte:
		r.err = fmt.Errorf("%w: segment format %d, this build reads %d and %d", ErrCorrupt, format, formatByte, segmentFormat)
	}
	if r.err != nil {
		return Segment{}, r.err
	}
	if width > 32 || n > SegmentRows {
		return Segment{}, fmt.Errorf("%w: segment of %d rows at width %d", ErrCorrupt, n, width)
	}
	var words []uint64
	if width > 0 {
		nw := (n*int(width)+63)/64 + 1
		if len(r.b) != nw*8 {
			return Segment{}, fmt.Errorf("%w: segment has %d bytes of ids, want %d", ErrCorrupt, len(r.b), nw*8)
		}
		b := r.need(nw * 8) // the length was checked above
		if p := unsafe.Pointer(unsafe.SliceData(b)); littleEndian && uintptr(p)%8 == 0 {
			words = unsafe.Slice((*uint64)(p), nw)
		} else {
			words = make([]uint64, nw)
			for i := range words {
				words[i] = binary.LittleEndian.Uint64(b[8*i:])
			}
		}
	}
	if err := r.end(); err != nil {
		return Segment{}, err
	}
	if width < BitsFor(maxID) {
		return Segment{}, fmt.Errorf("%w: segment max id %d does not fit width %d", ErrCorrupt, maxID, width)
	}
	s := Segment{Packed: Packed{Width: width, N: n, Words: words}, MaxID: maxID}
	// The stored maximum must bound every id: scans index arrays by id.
	// Every id of the width fits when the maximum is the width's largest.
	if uint64(maxID) >= 1<<width-1 {
		return s, nil
	}
	if top := s.Max(); top > maxID {
		return Segment{}, fmt.Errorf("%w: segment holds id %d above its maximum %d", ErrCorrupt, top, maxID)
	}
	return s, nil
}

// dictChunkValues is the largest number of ids of a list dictionary per
// chunk object, and the size of every chunk but the last when a
// dictionary is built whole.
const dictChunkValues = 4096

// dictChunkRewrite is the size under which a refresh's new values join
// the last chunk rather than start one: rewriting a chunk that small costs
// little, and without it many small refreshes would make many tiny
// objects.
const dictChunkRewrite = 256

// chunkCounts returns the id counts of the chunks d is written in, in id
// order: the chunks it was read or extended with when they hold all its
// ids, else chunks of dictChunkValues.
func (d *Dict) chunkCounts() []int {
	sum := 0
	for _, n := range d.chunks {
		sum += n
	}
	if sum == d.N && len(d.chunks) > 0 {
		return d.chunks
	}
	var out []int
	for first := 1; first <= d.N; first += dictChunkValues {
		out = append(out, min(dictChunkValues, d.N-first+1))
	}
	return out
}

// extendChunks returns the chunks of a dictionary of n ids that extends
// one stored in chunks old: the old chunks keep their ids (and so their
// bytes), new ids go in new chunks, except that a last chunk smaller than
// dictChunkRewrite takes new ids first.
func extendChunks(old []int, n int) []int {
	out := slices.Clone(old)
	rest := n
	for _, c := range old {
		rest -= c
	}
	if rest <= 0 {
		return out
	}
	if k := len(out) - 1; k >= 0 && out[k] < dictChunkRewrite {
		add := min(rest, dictChunkValues-out[k])
		out[k] += add
		rest -= add
	}
	for rest > 0 {
		c := min(rest, dictChunkValues)
		out = append(out, c)
		rest -= c
	}
	return out
}

// encodeDictHeader writes a dictionary's header without its values (they
// go in chunks).
func encodeDictHeader(d *Dict) []byte {
	b := header(magicDict, 15)
	b = append(b, byte(d.Type), byte(d.Kind))
	b = binary.LittleEndian.AppendUint32(b, uint32(d.N))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Base))
	return append(b, byte(d.Exp))
}

// encodeDictChunk writes the values of ids [first, first+count).
func encodeDictChunk(d *Dict, first, count int) []byte {
	b := header(magicChunk, 9+8*count)
	b = append(b, byte(d.Type))
	b = binary.LittleEndian.AppendUint32(b, uint32(first))
	b = binary.LittleEndian.AppendUint32(b, uint32(count))
	return appendDictValues(b, d, first-1, first-1+count)
}

// decodeChunkedDict reads a list dictionary from its header and chunks.
func decodeChunkedDict(ctx context.Context, r image.ObjectReader, head []byte, chunks []image.Hash) (*Dict, error) {
	d, err := decodeDictAs(head, false)
	if err != nil {
		return nil, err
	}
	if d.Kind != DictList {
		return nil, fmt.Errorf("%w: a value-encoded dictionary with chunks", ErrCorrupt)
	}
	n := d.N
	d.N = 0
	for i, h := range chunks {
		b, err := readVerified(ctx, r, h)
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		before := d.N
		if err := decodeDictChunk(b, d); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		d.chunks = append(d.chunks, d.N-before)
	}
	if d.N != n {
		return nil, fmt.Errorf("%w: dictionary chunks hold %d values, its header says %d", ErrCorrupt, d.N, n)
	}
	return d, nil
}

// decodeDictChunk appends a chunk's values to d, checking that the chunk
// starts where d ends.
func decodeDictChunk(b []byte, d *Dict) error {
	r := &reader{b: b}
	r.header(magicChunk)
	typ := value.Type(r.u8())
	first := r.u32()
	count := r.u32()
	if r.err != nil {
		return r.err
	}
	if typ != d.Type {
		return fmt.Errorf("%w: chunk of type %d in a %s dictionary", ErrCorrupt, typ, d.Type)
	}
	if int(first) != d.N+1 || count == 0 || count > dictChunkValues {
		return fmt.Errorf("%w: chunk of ids %d+%d after %d ids", ErrCorrupt, first, count, d.N)
	}
	part := &Dict{Type: d.Type, Kind: DictList, N: int(count)}
	if err := readDictValues(r, part); err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	d.Ints = append(d.Ints, part.Ints...)
	d.Floats = append(d.Floats, part.Floats...)
	d.Strs = append(d.Strs, part.Strs...)
	d.Vals = append(d.Vals, part.Vals...)
	d.N += int(count)
	return nil
}

func encodeDict(d *Dict) []byte {
	b := header(magicDict, 15+8*d.N)
	b = append(b, byte(d.Type), byte(d.Kind))
	b = binary.LittleEndian.AppendUint32(b, uint32(d.N))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Base))
	b = append(b, byte(d.Exp))
	if d.Kind == DictRange {
		return b
	}
	return appendDictValues(b, d, 0, d.N)
}

// appendDictValues writes the values at indexes [lo, hi) (ids lo+1..hi).
func appendDictValues(b []byte, d *Dict, lo, hi int) []byte {
	switch {
	case d.Ints != nil || d.Type == value.Integer || d.Type == value.Currency || d.Type == value.Boolean:
		for _, v := range d.Ints[lo:hi] {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	case d.Type == value.Decimal || d.Type == value.DateTime:
		for _, v := range d.Floats[lo:hi] {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	case d.Type == value.String:
		for _, s := range d.Strs[lo:hi] {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	default:
		for _, v := range d.Vals[lo:hi] {
			b = appendValue(b, v)
		}
	}
	return b
}

func appendValue(b []byte, v value.Value) []byte {
	b = append(b, byte(v.Type()))
	switch v.Type() {
	case value.Integer, value.Currency, value.Boolean:
		b = binary.LittleEndian.AppendUint64(b, uint64(v.AsInt()))
	case value.Decimal, value.DateTime:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.AsFloat()))
	case value.String:
		b = binary.AppendUvarint(b, uint64(len(v.AsString())))
		b = append(b, v.AsString()...)
	}
	return b
}

// maxDictValues bounds a dictionary read from disk.
const maxDictValues = 1 << 31

func decodeDict(b []byte) (*Dict, error) { return decodeDictAs(b, true) }

// decodeDictAs reads a dictionary; withValues says whether a list
// dictionary's values follow its header (else they are in chunks).
func decodeDictAs(b []byte, withValues bool) (*Dict, error) {
	r := &reader{b: b}
	r.header(magicDict)
	d := &Dict{Type: value.Type(r.u8()), Kind: DictKind(r.u8())}
	n := r.u32()
	d.Base = int64(r.u64())
	d.Exp = int8(r.u8())
	if r.err != nil {
		return nil, r.err
	}
	if d.Type < value.Integer || d.Type > value.Variant || d.Kind > DictRange || n > maxDictValues {
		return nil, fmt.Errorf("%w: dictionary header type=%d kind=%d n=%d", ErrCorrupt, d.Type, d.Kind, n)
	}
	if d.Exp < -18 || d.Exp > 18 {
		return nil, fmt.Errorf("%w: dictionary exponent %d", ErrCorrupt, d.Exp)
	}
	d.N = int(n)
	if d.Kind == DictRange {
		if d.Type == value.String || d.Type == value.Variant {
			return nil, fmt.Errorf("%w: value-encoded %s dictionary", ErrCorrupt, d.Type)
		}
		if d.Exp < 0 && (d.Type == value.Integer || d.Type == value.Currency || d.Type == value.Boolean) {
			// Their values are whole numbers of the stored unit: only
			// decimals and dates scale down.
			return nil, fmt.Errorf("%w: value-encoded %s dictionary with exponent %d", ErrCorrupt, d.Type, d.Exp)
		}
		if n > maxRangeIDs {
			return nil, fmt.Errorf("%w: value-encoded dictionary of %d ids, more than the %d an encoder makes", ErrCorrupt, n, maxRangeIDs)
		}
		if d.Base > math.MaxInt64-int64(n) {
			return nil, fmt.Errorf("%w: dictionary range overflows", ErrCorrupt)
		}
		return d, r.end()
	}
	if !withValues {
		return d, r.end()
	}
	if err := readDictValues(r, d); err != nil {
		return nil, err
	}
	return d, r.end()
}

// readDictValues reads the d.N values of a list dictionary of d's type.
func readDictValues(r *reader, d *Dict) error {
	switch d.Type {
	case value.Integer, value.Currency, value.Boolean:
		if len(r.b) != 8*d.N {
			return fmt.Errorf("%w: dictionary of %d integers has %d bytes", ErrCorrupt, d.N, len(r.b))
		}
		d.Ints = make([]int64, d.N)
		for i := range d.Ints {
			d.Ints[i] = int64(r.u64())
		}
	case value.Decimal, value.DateTime:
		if len(r.b) != 8*d.N {
			return fmt.Errorf("%w: dictionary of %d numbers has %d bytes", ErrCorrupt, d.N, len(r.b))
		}
		d.Floats = make([]float64, d.N)
		for i := range d.Floats {
			d.Floats[i] = math.Float64frombits(r.u64())
		}
	case value.String:
		if d.N > len(r.b) {
			return fmt.Errorf("%w: dictionary of %d strings has %d bytes", ErrCorrupt, d.N, len(r.b))
		}
		d.Strs = make([]string, d.N)
		for i := range d.Strs {
			l := r.uvarint()
			if l > uint64(len(r.b)) {
				return fmt.Errorf("%w: string %d of the dictionary is truncated", ErrCorrupt, i)
			}
			d.Strs[i] = string(r.need(int(l)))
		}
	default:
		if d.N > len(r.b) {
			return fmt.Errorf("%w: dictionary of %d values has %d bytes", ErrCorrupt, d.N, len(r.b))
		}
		d.Vals = make([]value.Value, d.N)
		for i := range d.Vals {
			d.Vals[i] = r.value()
		}
	}
	return r.err
}

func (r *reader) value() value.Value {
	t := value.Type(r.u8())
	switch t {
	case value.Integer:
		return value.Int(int64(r.u64()))
	case value.Currency:
		return value.CurrencyUnits(int64(r.u64()))
	case value.Boolean:
		return value.Bool(r.u64() != 0)
	case value.Decimal:
		return value.Float(math.Float64frombits(r.u64()))
	case value.DateTime:
		return value.Date(math.Float64frombits(r.u64()))
	case value.String:
		l := r.uvarint()
		if l > uint64(len(r.b)) {
			r.err = fmt.Errorf("%w: truncated string", ErrCorrupt)
			return value.BlankValue
		}
		return value.Str(string(r.need(int(l))))
	case value.Blank:
		return value.BlankValue
	}
	if r.err == nil {
		r.err = fmt.Errorf("%w: value of type %d", ErrCorrupt, t)
	}
	return value.BlankValue
}

func encodeIndex(rows []int32) []byte {
	b := header(magicIndex, 4+4*len(rows))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(rows)))
	for _, v := range rows {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

func decodeIndex(b []byte) ([]int32, error) {
	r := &reader{b: b}
	r.header(magicIndex)
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if uint64(len(r.b)) != 4*uint64(n) {
		return nil, fmt.Errorf("%w: index of %d rows has %d bytes", ErrCorrupt, n, len(r.b))
	}
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(r.u32())
	}
	return rows, r.end()
}
