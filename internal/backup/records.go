package backup

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// recBuf is one record on its way through a pipeline.
type recBuf struct {
	buf    []byte // writer: prefix, payload, room for the seal; reader: the sealed body
	n      int    // writer: payload bytes in buf[recordPrefix:]
	index  uint64
	prefix uint32
	off    int64  // reader: file offset of the record
	out    []byte // writer: the bytes to write
	plain  []byte // reader: the checked plaintext
	seal   []byte // the record's prefix and seal (CRC or tag), for the archive hash
	err    error  // reader: why the record cannot be used
	done   chan struct{}
}

func (rb *recBuf) final() bool { return rb.prefix&recordFinal != 0 }

// recordWriter cuts the logical stream into records and seals them on
// several goroutines, writing them in order. Memory is bounded by the
// queue depth times the record size.
type recordWriter struct {
	w    io.Writer
	s    *sealer
	size int

	cur     *recBuf
	index   uint64
	plain   int64 // payload bytes submitted
	free    chan *recBuf
	queue   chan *recBuf // in order, to the writing goroutine
	work    chan *recBuf // to the sealing goroutines
	wg      sync.WaitGroup
	closed  bool
	failMu  sync.Mutex
	failErr error

	// Owned by the writing goroutine until wg is done.
	written int64
	hash    hash.Hash // the archive hash: header, then each record's prefix and seal
}

func newRecordWriter(w io.Writer, s *sealer, h *header, workers int) (*recordWriter, error) {
	rw := &recordWriter{w: w, s: s, size: int(h.recordSize), hash: sha256.New()}
	if _, err := w.Write(h.raw); err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	rw.written = int64(len(h.raw))
	rw.hash.Write(h.raw)
	depth := 2*workers + 2
	rw.free = make(chan *recBuf, depth+workers+2)
	rw.queue = make(chan *recBuf, depth)
	rw.work = make(chan *recBuf)
	for range workers {
		rw.wg.Go(func() {
			for rb := range rw.work {
				if rw.err() == nil {
					sealed := s.seal(rb.buf[recordPrefix:], rb.n, rb.index, rb.prefix)
					rb.out = rb.buf[:recordPrefix+len(sealed)]
				}
				close(rb.done)
			}
		})
	}
	rw.wg.Go(func() {
		for rb := range rw.queue {
			<-rb.done
			if rw.err() == nil {
				if _, err := rw.w.Write(rb.out); err != nil {
					rw.fail(fmt.Errorf("write record %d: %w", rb.index, err))
				}
				rw.written += int64(len(rb.out))
				rw.hash.Write(rb.out[:recordPrefix])
				rw.hash.Write(rb.out[len(rb.out)-s.overhead():])
			}
			select {
			case rw.free <- rb:
			default:
			}
		}
	})
	return rw, nil
}

func (rw *recordWriter) fail(err error) {
	rw.failMu.Lock()
	if rw.failErr == nil {
		rw.failErr = err
	}
	rw.failMu.Unlock()
}

func (rw *recordWriter) err() error {
	rw.failMu.Lock()
	defer rw.failMu.Unlock()
	return rw.failErr
}

func (rw *recordWriter) get() *recBuf {
	select {
	case rb := <-rw.free:
		rb.n = 0
		return rb
	default:
		return &recBuf{buf: make([]byte, recordPrefix+rw.size+maxRecordTail)}
	}
}

// Write appends to the logical stream.
func (rw *recordWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		if err := rw.err(); err != nil {
			return total, err
		}
		if rw.cur == nil {
			rw.cur = rw.get()
		}
		c := copy(rw.cur.buf[recordPrefix+rw.cur.n:recordPrefix+rw.size], p)
		rw.cur.n += c
		p = p[c:]
		total += c
		if rw.cur.n == rw.size {
			rw.submit()
		}
	}
	return total, rw.err()
}

// submit hands the current record to the pipeline. Records are sealed
// as soon as they are full: the final record is always a separate one
// holding only the trailer, so no record needs to wait for the next.
func (rw *recordWriter) submit() {
	rb := rw.cur
	rw.cur = nil
	rb.index = rw.index
	rw.index++
	rb.prefix = uint32(rb.n)
	binary.LittleEndian.PutUint32(rb.buf, rb.prefix)
	rb.done = make(chan struct{})
	rw.plain += int64(rb.n)
	rw.queue <- rb
	rw.work <- rb
}

// stop ends the goroutines and waits for them.
func (rw *recordWriter) stop() {
	if !rw.closed {
		rw.closed = true
		close(rw.queue)
		close(rw.work)
		rw.wg.Wait()
	}
}

// abort stops the pipeline without writing the final record.
func (rw *recordWriter) abort(err error) {
	rw.fail(err)
	rw.stop()
}

// close flushes the last data record, waits until every record is
// written, and writes the final record: the trailer, which trailer
// builds from the number of data records, the logical bytes and the
// archive hash. It returns the archive's size.
func (rw *recordWriter) close(trailer func(records uint64, plain int64, sum [32]byte) []byte) (int64, error) {
	if rw.cur != nil && rw.cur.n > 0 {
		rw.submit()
	}
	rw.stop()
	if err := rw.err(); err != nil {
		return rw.written, err
	}
	var sum [32]byte
	rw.hash.Sum(sum[:0])
	t := trailer(rw.index, rw.plain, sum)
	buf := make([]byte, recordPrefix+len(t)+maxRecordTail)
	prefix := uint32(len(t)) | recordFinal
	binary.LittleEndian.PutUint32(buf, prefix)
	copy(buf[recordPrefix:], t)
	sealed := rw.s.seal(buf[recordPrefix:], len(t), rw.index, prefix)
	out := buf[:recordPrefix+len(sealed)]
	if _, err := rw.w.Write(out); err != nil {
		return rw.written, fmt.Errorf("write final record: %w", err)
	}
	rw.written += int64(len(out))
	return rw.written, nil
}

// readAheadBytes is about how far a recordReader reads ahead, in at
// most maxReadAhead records.
const (
	readAheadBytes = 32 << 20
	maxReadAhead   = 1024
)

// recordReader reads records ahead on one goroutine, checks them on
// several and serves their plaintext in order as the logical stream. It
// computes the archive hash as it goes; the final record's plaintext
// (the trailer) is kept for the caller.
type recordReader struct {
	size int
	s    *sealer

	queue chan *recBuf
	stopc chan struct{}
	wg    sync.WaitGroup

	free        chan []byte // record buffers the consumer is done with
	cur         *recBuf
	pos         int
	final       *recBuf
	err         error
	hash        hash.Hash
	records     uint64
	plain       int64
	lastPartial bool
	stopped     bool
}

func newRecordReader(r io.Reader, s *sealer, h *header, workers int) *recordReader {
	rr := &recordReader{size: int(h.recordSize), s: s, hash: sha256.New()}
	rr.hash.Write(h.raw)
	// The records read ahead let the source (a network stream) go on
	// while the objects' checks and writes stall for a moment: a
	// restore's writes to a busy disk do.
	depth := min(max(2*workers+2, readAheadBytes/rr.size), maxReadAhead)
	rr.queue = make(chan *recBuf, depth)
	rr.free = make(chan []byte, depth+workers+2)
	rr.stopc = make(chan struct{})
	work := make(chan *recBuf)
	for range workers {
		rr.wg.Go(func() {
			for rb := range work {
				rr.check(rb)
				close(rb.done)
			}
		})
	}
	rr.wg.Go(func() {
		defer close(work)
		defer close(rr.queue)
		rr.fill(r, int64(len(h.raw)), work)
	})
	return rr
}

// fill reads records until the final one (or an error), handing each to
// the queue and the checkers. A record that cannot be read is queued
// with its error, so the consumer meets errors in file order.
func (rr *recordReader) fill(r io.Reader, off int64, work chan<- *recBuf) {
	overhead := rr.s.overhead()
	for index := uint64(0); ; index++ {
		rb := &recBuf{index: index, off: off, done: make(chan struct{})}
		var pfx [recordPrefix]byte
		if n, err := io.ReadFull(r, pfx[:]); err != nil {
			rb.err = readError(err, off+int64(n), "record %d", index)
			rr.deliver(rb, nil)
			return
		}
		rb.prefix = binary.LittleEndian.Uint32(pfx[:])
		n := int(rb.prefix &^ recordFinal)
		switch {
		case n > rr.size:
			rb.err = fmt.Errorf("%w: record %d at byte %d: length %d above the record size %d", ErrCorrupt, index, off, n, rr.size)
		case rb.final() && n != trailerLen:
			rb.err = fmt.Errorf("%w: final record %d at byte %d: length %d, want %d", ErrCorrupt, index, off, n, trailerLen)
		case !rb.final() && n == 0:
			rb.err = fmt.Errorf("%w: record %d at byte %d is empty", ErrCorrupt, index, off)
		}
		if rb.err != nil {
			rr.deliver(rb, nil)
			return
		}
		select {
		case rb.buf = <-rr.free:
		default:
			rb.buf = make([]byte, rr.size+overhead)
		}
		rb.buf = rb.buf[:n+overhead]
		if m, err := io.ReadFull(r, rb.buf); err != nil {
			rb.err = readError(err, off+recordPrefix+int64(m), "record %d", index)
			rr.deliver(rb, nil)
			return
		}
		off += recordPrefix + int64(len(rb.buf))
		if rb.final() {
			// Whatever follows the final record is not part of the
			// archive; the consumer reports it after the trailer checks.
			rb.err = trailing(r, off)
			if rb.err != nil {
				rr.deliver(rb, nil)
				return
			}
			rr.deliver(rb, work)
			return
		}
		if !rr.deliver(rb, work) {
			return
		}
	}
}

// trailing reports data after the end of the archive.
func trailing(r io.Reader, off int64) error {
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n == 0 {
		if err == io.EOF {
			return nil
		}
		return fmt.Errorf("read after the final record: %w", err)
	}
	more, _ := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	if more == 1<<20 {
		return fmt.Errorf("%w: more than %d bytes after byte %d", ErrTrailingData, more, off)
	}
	return fmt.Errorf("%w: %d bytes after byte %d", ErrTrailingData, 1+more, off)
}

// readError turns a short read into ErrTruncated with the file length.
func readError(err error, at int64, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w after %d bytes", ErrTruncated, at)
	}
	return fmt.Errorf("read "+format+": %w", append(args, err)...)
}

// deliver queues rb and, when work is not nil, hands it to a checker;
// with work nil rb is ready as it is. It reports false once the reader
// is stopped.
func (rr *recordReader) deliver(rb *recBuf, work chan<- *recBuf) bool {
	select {
	case rr.queue <- rb:
	case <-rr.stopc:
		return false
	}
	if work == nil {
		close(rb.done)
		return true
	}
	select {
	case work <- rb:
		return true
	case <-rr.stopc:
		rb.err = errors.New("backup: reading stopped")
		close(rb.done)
		return false
	}
}

// check authenticates a record (or checks its CRC), keeping its prefix
// and seal for the archive hash.
func (rr *recordReader) check(rb *recBuf) {
	tail := len(rb.buf) - rr.s.overhead()
	rb.seal = binary.LittleEndian.AppendUint32(make([]byte, 0, recordPrefix+maxRecordTail), rb.prefix)
	rb.seal = append(rb.seal, rb.buf[tail:]...)
	plain, ok := rr.s.open(rb.buf, rb.index, rb.prefix)
	if !ok {
		end := rb.off + recordPrefix + int64(len(rb.buf))
		if rr.s.aead != nil {
			rb.err = fmt.Errorf("%w: record %d (bytes %d to %d) failed authentication: it was altered or damaged", ErrCorrupt, rb.index, rb.off, end)
		} else {
			rb.err = fmt.Errorf("%w: record %d (bytes %d to %d) does not match its checksum", ErrCorrupt, rb.index, rb.off, end)
		}
		return
	}
	rb.plain = plain
}

// Read serves the logical stream; io.EOF means the final record was
// reached and checked.
func (rr *recordReader) Read(p []byte) (int, error) {
	for {
		if rr.err != nil {
			return 0, rr.err
		}
		if rr.cur != nil && rr.pos < len(rr.cur.plain) {
			n := copy(p, rr.cur.plain[rr.pos:])
			rr.pos += n
			return n, nil
		}
		if rr.cur != nil {
			select {
			case rr.free <- rr.cur.buf[:0]:
			default:
			}
			rr.cur = nil
		}
		rb, ok := <-rr.queue
		if !ok {
			rr.err = errors.New("backup: record reader ended early")
			return 0, rr.err
		}
		<-rb.done
		switch {
		case rb.err != nil:
			rr.err = rb.err
		case rb.final():
			rr.final = rb
			rr.err = io.EOF
		case rr.lastPartial:
			// Only the last data record may be short.
			rr.err = fmt.Errorf("%w: record %d at byte %d follows a short record", ErrCorrupt, rb.index, rb.off)
		default:
			rr.lastPartial = len(rb.plain) < rr.size
			rr.hash.Write(rb.seal)
			rr.records++
			rr.plain += int64(len(rb.plain))
			rr.cur, rr.pos = rb, 0
		}
	}
}

// stop ends the goroutines. The reading goroutine may be inside a read
// of the underlying reader; stop waits for that read to return.
func (rr *recordReader) stop() {
	if rr.stopped {
		return
	}
	rr.stopped = true
	close(rr.stopc)
	for range rr.queue {
		// Drain so the filler is not blocked on a full queue.
	}
	rr.wg.Wait()
}
