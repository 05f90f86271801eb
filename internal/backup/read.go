package backup

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/semaphore"

	"github.com/meridian-olap/meridian/internal/image"
)

// ReadOptions configure Read, Inspect and Verify. The zero value reads
// an unencrypted archive with the default limits.
type ReadOptions struct {
	// Password opens an encrypted archive; it is ignored for one that is
	// not encrypted.
	Password string
	// Concurrency is how many goroutines check records and objects; 0
	// means GOMAXPROCS.
	Concurrency int
	// Limits on what an archive may ask for; 0 means the default.
	MaxManifestBytes int    // DefaultMaxManifestBytes
	MaxObjectSize    int64  // DefaultMaxObjectSize
	MaxKDFMemoryKiB  uint32 // DefaultMaxKDFMemoryKiB
	// Progress, when not nil, is called after each object is verified
	// and stored, from one goroutine at a time.
	Progress func(Progress)
	// Manifest, when not nil, is called by Read with the archive's
	// manifest once it is read and checked, before any object reaches
	// the sink; an error it returns ends the read. The archive is not
	// verified yet: what the caller starts from it must be undone if
	// Read fails.
	Manifest func(*image.Manifest) error
}

func (o *ReadOptions) defaults() {
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if o.MaxObjectSize <= 0 {
		o.MaxObjectSize = DefaultMaxObjectSize
	}
	if o.MaxKDFMemoryKiB == 0 {
		o.MaxKDFMemoryKiB = DefaultMaxKDFMemoryKiB
	}
	if o.Concurrency <= 0 {
		o.Concurrency = runtime.GOMAXPROCS(0)
	}
}

// Info describes an archive.
type Info struct {
	FormatVersion int
	Compressed    bool // written with compression requested
	Encrypted     bool
	KDF           KDFParams // when encrypted
	RecordSize    int
	// Manifest and Metadata are nil and zero when the archive is
	// encrypted and no (or a wrong) password was given.
	Manifest *image.Manifest
	Metadata Metadata
	// Verified is set by Read and Verify once the whole archive,
	// trailer included, has been checked. Stats are then complete.
	Verified bool
	Stats    Stats
}

// Read reads an archive from r, checks every record and every object,
// and hands each object to sink (nil: check only) as soon as it is
// verified, with the kind the manifest gives it. It returns nil only
// after the trailer has been checked and nothing follows it: the caller
// commits the restored image (Info.Manifest) only then, and discards
// what the sink received otherwise.
//
// Objects reach the sink in manifest order from several goroutines at
// once (an image.ObjectWriter is safe for concurrent use). A sink that
// is an image.VerifiedWriter gets them through WriteVerified, so that it
// need not hash again what Read has just verified. Memory is
// bounded by a few records and objects. Errors wrap ErrNotBackup,
// ErrABF, ErrVersion, ErrPasswordRequired, ErrWrongPassword,
// ErrTruncated, ErrCorrupt or ErrTrailingData, or are the sink's, r's or
// ctx's. The Info returned with an error holds what was learnt before
// it (the header, perhaps the manifest).
func Read(ctx context.Context, r io.Reader, opts ReadOptions, sink image.ObjectWriter) (*Info, error) {
	return read(ctx, r, opts, sink, false)
}

// Verify is Read without a sink: it checks the whole archive.
func Verify(ctx context.Context, r io.Reader, opts ReadOptions) (*Info, error) {
	return read(ctx, r, opts, nil, false)
}

// Inspect reads the header, manifest and metadata, checking the records
// they are in, but not the rest of the archive. Without the password of
// an encrypted archive it returns the header's facts with
// ErrPasswordRequired.
func Inspect(ctx context.Context, r io.Reader, opts ReadOptions) (*Info, error) {
	return read(ctx, r, opts, nil, true)
}

func read(ctx context.Context, r io.Reader, opts ReadOptions, sink image.ObjectWriter, inspect bool) (*Info, error) {
	opts.defaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := readHeader(r, opts.MaxKDFMemoryKiB)
	if err != nil {
		return nil, err
	}
	info := &Info{FormatVersion: FormatVersion, Compressed: h.compressed(), Encrypted: h.encrypted(),
		KDF: h.kdf, RecordSize: int(h.recordSize)}
	s := &sealer{binding: h.sum}
	if h.encrypted() {
		if s.aead, err = openKeys(h, opts.Password); err != nil {
			return info, err
		}
	}
	rr := newRecordReader(r, s, h, opts.Concurrency)
	defer rr.stop()
	rd := &reader{ctx: ctx, rr: rr, opts: opts, info: info}
	if err := rd.sections(); err != nil {
		return info, err
	}
	if inspect {
		return info, nil
	}
	if opts.Manifest != nil && sink != nil {
		if err := opts.Manifest(info.Manifest); err != nil {
			return info, err
		}
	}
	if err := rd.objects(sink); err != nil {
		return info, err
	}
	info.Verified = true
	return info, nil
}

// reader parses the logical stream.
type reader struct {
	ctx  context.Context
	rr   *recordReader
	opts ReadOptions
	info *Info
}

// full reads exactly len(b) logical bytes. The logical stream ends at
// the final record, which the writer emits only after everything else,
// so an end here means a malformed (not a truncated) archive.
func (rd *reader) full(b []byte, what string) error {
	_, err := io.ReadFull(rd.rr, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: the content ends inside %s", ErrCorrupt, what)
	}
	return err
}

func (rd *reader) sections() error {
	mb, err := rd.section(tagManifest, "the manifest", rd.opts.MaxManifestBytes)
	if err != nil {
		return err
	}
	m, err := image.Unmarshal(mb)
	if err != nil {
		return fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
	}
	for i, o := range m.Objects {
		if i > 0 && bytes.Compare(m.Objects[i-1].Hash[:], o.Hash[:]) >= 0 {
			return fmt.Errorf("%w: manifest: objects not in increasing hash order at %d", ErrCorrupt, i)
		}
		if o.Size > rd.opts.MaxObjectSize {
			return fmt.Errorf("%w: manifest: object %s of %d bytes is larger than the limit of %d", ErrCorrupt, o.Hash, o.Size, rd.opts.MaxObjectSize)
		}
		if len(o.Kind) > maxKindLen {
			return fmt.Errorf("%w: manifest: object %s has a kind of %d bytes", ErrCorrupt, o.Hash, len(o.Kind))
		}
	}
	db, err := rd.section(tagMetadata, "the metadata", maxMetadataLen)
	if err != nil {
		return err
	}
	var md Metadata
	if err := json.Unmarshal(db, &md); err != nil {
		return fmt.Errorf("%w: metadata: %v", ErrCorrupt, err)
	}
	rd.info.Manifest, rd.info.Metadata = m, md
	rd.info.Stats.Objects, rd.info.Stats.ObjectBytes = len(m.Objects), m.Size()
	return nil
}

func (rd *reader) section(tag byte, what string, limit int) ([]byte, error) {
	var hdr [5]byte
	if err := rd.full(hdr[:], what); err != nil {
		return nil, err
	}
	if hdr[0] != tag {
		return nil, fmt.Errorf("%w: expected %s (tag %q), found tag %#x", ErrCorrupt, what, tag, hdr[0])
	}
	n := binary.LittleEndian.Uint32(hdr[1:])
	if int64(n) > int64(limit) {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than the limit of %d", ErrCorrupt, what, n, limit)
	}
	b, err := readPayload(rd, int64(n), what, nil)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// readPayload reads n logical bytes. Memory grows with the bytes that
// actually arrive, not with a length a damaged or hostile archive
// claims, above a first allocation of at most 64 MiB. buf, when large
// enough, is used instead of a new allocation.
func readPayload(rd *reader, n int64, what string, buf []byte) ([]byte, error) {
	const first = 64 << 20
	b := buf[:0]
	if int64(cap(b)) < n {
		b = make([]byte, 0, min(n, first))
	}
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*int64(cap(b))))
			copy(nb, b)
			b = nb
		}
		end := int(min(int64(cap(b)), n))
		if err := rd.full(b[len(b):end], what); err != nil {
			return nil, err
		}
		b = b[:end]
	}
	return b, nil
}

// bufPool recycles object buffers: an image.ObjectWriter does not keep
// the slices it is given, so a buffer is free again once the sink
// returns.
var bufPool sync.Pool // of *[]byte

func getBuf(n int64) []byte {
	if bp, ok := bufPool.Get().(*[]byte); ok && int64(cap(*bp)) >= n {
		return (*bp)[:0]
	}
	return make([]byte, 0, min(n, 64<<20))
}

func putBuf(b []byte) {
	if cap(b) > 0 {
		bufPool.Put(&b)
	}
}

// firstError keeps the error of the earliest object, so that the same
// archive always gives the same error whatever the goroutines' timing.
type firstError struct {
	mu  sync.Mutex
	idx int
	err error
}

func (f *firstError) set(idx int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil || idx < f.idx {
		f.idx, f.err = idx, err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// robj is one object between the parser and the checkers.
type robj struct {
	idx     int
	ref     image.ObjectRef
	enc     byte
	payload []byte
	weight  int64
	owned   bool // payload was handed to the sink (image.OwningWriter)
}

// maxZstdRatio bounds how much zstd can expand: a 4-byte RLE block
// gives at most 128 KiB. A frame claiming more is damaged, and refusing
// it keeps a hostile archive from making the reader allocate much more
// than it sent.
const maxZstdRatio = 32 << 10

// objects reads every object frame and the trailer, checking objects on
// several goroutines and handing them to sink.
func (rd *reader) objects(sink image.ObjectWriter) error {
	m := rd.info.Manifest
	total := len(m.Objects)
	ctx, cancel := context.WithCancel(rd.ctx)
	defer cancel()
	var dec *zstd.Decoder
	if rd.info.Compressed {
		var err error
		dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(rd.opts.Concurrency),
			zstd.WithDecoderMaxMemory(uint64(max(rd.opts.MaxObjectSize, 1))), zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		defer dec.Close()
	}
	_, owning := sink.(image.OwningWriter)
	var fe firstError
	var stored int64
	var progMu sync.Mutex
	prog := Progress{TotalObjects: total, TotalBytes: m.Size()}
	sem := semaphore.NewWeighted(inflightBytes)
	work := make(chan *robj)
	var wg sync.WaitGroup
	for range rd.opts.Concurrency {
		wg.Go(func() {
			for o := range work {
				err := checkObject(ctx, dec, sink, o, total)
				if !o.owned {
					putBuf(o.payload)
				}
				o.payload = nil
				if err != nil {
					// A checker stopped because another failed reports
					// nothing: the failure that stopped it is the error.
					if !(errors.Is(err, context.Canceled) && ctx.Err() != nil && rd.ctx.Err() == nil) {
						fe.set(o.idx, err)
					}
					cancel()
				} else if rd.opts.Progress != nil {
					progMu.Lock()
					prog.Objects++
					prog.Bytes += o.ref.Size
					rd.opts.Progress(prog)
					progMu.Unlock()
				}
				sem.Release(o.weight)
			}
		})
	}
	parseErr := func() error {
		defer close(work)
		var fh [1 + 32 + 1]byte
		var kind [maxKindLen]byte
		var sizes [1 + 8 + 8]byte
		for i, ref := range m.Objects {
			if ctx.Err() != nil {
				return nil // a checker failed or the caller cancelled
			}
			what := fmt.Sprintf("object %d of %d (%s)", i+1, total, ref.Hash)
			if err := rd.full(fh[:], what); err != nil {
				return err
			}
			if fh[0] != tagObject {
				return fmt.Errorf("%w: expected %s, found tag %#x", ErrCorrupt, what, fh[0])
			}
			if !bytes.Equal(fh[1:33], ref.Hash[:]) {
				return fmt.Errorf("%w: expected %s, found object %x", ErrCorrupt, what, fh[1:33])
			}
			k := kind[:fh[33]]
			if err := rd.full(k, what); err != nil {
				return err
			}
			if string(k) != ref.Kind {
				return fmt.Errorf("%w: %s has kind %q, the manifest says %q", ErrCorrupt, what, k, ref.Kind)
			}
			if err := rd.full(sizes[:], what); err != nil {
				return err
			}
			enc := sizes[0]
			size := int64(binary.LittleEndian.Uint64(sizes[1:]))
			n := int64(binary.LittleEndian.Uint64(sizes[9:]))
			switch {
			case size != ref.Size:
				return fmt.Errorf("%w: %s has %d bytes, the manifest says %d", ErrCorrupt, what, size, ref.Size)
			case enc == encodingNone && n != size:
				return fmt.Errorf("%w: %s stores %d bytes for an object of %d", ErrCorrupt, what, n, size)
			case enc == encodingZstd && (n <= 0 || n > size+size/8+1024 || size > n*maxZstdRatio):
				return fmt.Errorf("%w: %s stores %d compressed bytes for an object of %d", ErrCorrupt, what, n, size)
			case enc == encodingZstd && dec == nil:
				return fmt.Errorf("%w: %s is compressed in an archive written without compression", ErrCorrupt, what)
			case enc != encodingNone && enc != encodingZstd:
				return fmt.Errorf("%w: %s has unknown encoding %d", ErrCorrupt, what, enc)
			}
			o := &robj{idx: i, ref: ref, enc: enc, weight: min(max(size, 1), inflightBytes)}
			if err := sem.Acquire(ctx, o.weight); err != nil {
				return nil
			}
			// A pooled buffer, unless the sink is to keep these very bytes:
			// then readPayload allocates one of its own.
			var buf []byte
			if !owning || enc != encodingNone {
				buf = getBuf(n)
			}
			var err error
			if o.payload, err = readPayload(rd, n, what, buf); err != nil {
				sem.Release(o.weight)
				return err
			}
			stored += n
			select {
			case work <- o:
			case <-ctx.Done():
				sem.Release(o.weight)
				return nil
			}
		}
		return rd.trailer(stored)
	}()
	wg.Wait()
	if parseErr != nil {
		fe.set(total, parseErr)
	}
	if err := fe.get(); err != nil {
		return err
	}
	return rd.ctx.Err()
}

// checkObject decompresses and verifies one object and stores it. A
// sink that is an image.OwningWriter is handed the bytes: o.owned then
// says the payload is the sink's.
func checkObject(ctx context.Context, dec *zstd.Decoder, sink image.ObjectWriter, o *robj, total int) error {
	what := fmt.Sprintf("object %d of %d (%s, %s)", o.idx+1, total, o.ref.Hash, o.ref.Kind)
	owner, owning := sink.(image.OwningWriter)
	data := o.payload
	if o.enc == encodingZstd {
		var buf []byte
		if !owning {
			buf = getBuf(o.ref.Size)
		}
		if int64(cap(buf)) < o.ref.Size {
			buf = make([]byte, 0, o.ref.Size) // checked against the compressed size and the limit
		}
		out, err := dec.DecodeAll(o.payload, buf)
		if !owning {
			defer putBuf(out)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: its compressed bytes do not decode: %v", ErrCorrupt, what, err)
		}
		if int64(len(out)) != o.ref.Size {
			return fmt.Errorf("%w: %s decodes to %d bytes, not %d", ErrCorrupt, what, len(out), o.ref.Size)
		}
		data = out
	}
	v, err := image.VerifyObject(o.ref, data)
	if err != nil {
		return fmt.Errorf("%w: %s does not match its hash", ErrCorrupt, what)
	}
	if sink == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var ref image.ObjectRef
	if owning {
		// The bytes are the sink's now, whatever it returns.
		o.owned = o.enc == encodingNone
		ref, err = owner.WriteOwned(ctx, v)
	} else if vw, ok := sink.(image.VerifiedWriter); ok {
		// Verified just now: the sink need not hash it again.
		ref, err = vw.WriteVerified(ctx, v)
	} else {
		ref, err = sink.WriteObject(ctx, o.ref.Kind, data)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", what, err)
	}
	if ref.Hash != o.ref.Hash {
		return fmt.Errorf("store %s: the sink computed hash %s", what, ref.Hash)
	}
	return nil
}

// trailer checks that the content ends after the last object and that
// the final record's trailer matches what was read.
func (rd *reader) trailer(stored int64) error {
	var one [1]byte
	if n, err := rd.rr.Read(one[:]); n > 0 {
		return fmt.Errorf("%w: data after the last object (tag %#x)", ErrCorrupt, one[0])
	} else if err != io.EOF {
		return err
	}
	t := rd.rr.final.plain
	rr := rd.rr
	st := &rd.info.Stats
	records := binary.LittleEndian.Uint64(t[1:])
	objects := binary.LittleEndian.Uint64(t[9:])
	objBytes := binary.LittleEndian.Uint64(t[17:])
	plain := binary.LittleEndian.Uint64(t[25:])
	var sum [32]byte
	rr.hash.Sum(sum[:0])
	switch {
	case t[0] != tagTrailer || !bytes.Equal(t[73-8:], endMarker[:]):
		return fmt.Errorf("%w: the final record is not a trailer", ErrCorrupt)
	case records != rr.records:
		return fmt.Errorf("%w: trailer counts %d records, the archive has %d", ErrCorrupt, records, rr.records)
	case objects != uint64(st.Objects) || objBytes != uint64(st.ObjectBytes):
		return fmt.Errorf("%w: trailer counts %d objects of %d bytes, the manifest %d of %d", ErrCorrupt, objects, objBytes, st.Objects, st.ObjectBytes)
	case plain != uint64(rr.plain):
		return fmt.Errorf("%w: trailer counts %d bytes of content, the archive has %d", ErrCorrupt, plain, rr.plain)
	case !bytes.Equal(sum[:], t[33:65]):
		return fmt.Errorf("%w: the archive hash in the trailer does not match its content", ErrCorrupt)
	}
	st.StoredBytes = stored
	st.ArchiveBytes = rr.final.off + recordPrefix + int64(len(rr.final.buf))
	return nil
}
