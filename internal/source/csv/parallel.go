package csv

import (
	"bytes"
	"context"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"github.com/meridian-olap/meridian/internal/source"
)

// minParallelBytes is the smallest file read in parallel pieces.
const minParallelBytes = 8 << 20

// ScanParallel reads the file in up to n pieces at once, piece i into
// sink(i), the pieces in file order. The file is cut at line breaks. A
// line break inside a quoted field would make a wrong cut; the piece
// before such a cut then ends inside a quote, which is an error, and any
// error makes ScanParallel return source.ErrNotParallel: the caller
// discards the pieces and reads the file with Scan, which reports a
// genuine error with its true line. Files that are small, not plain files,
// or in an encoding whose bytes a line break cannot be found in (UTF-16)
// are not cut: ScanParallel returns ErrNotParallel at once.
func (s *Source) ScanParallel(ctx context.Context, n int, sink func(i int) source.Sink) (int, error) {
	if n < 2 || s.cfg.Options.Encoding == 1200 || s.cfg.Options.Encoding == 1201 {
		return 0, source.ErrNotParallel
	}
	rc, err := s.cfg.Open()
	if err != nil {
		return 0, source.ErrNotParallel
	}
	defer rc.Close()
	f, ok := rc.(*os.File)
	if !ok {
		return 0, source.ErrNotParallel
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < minParallelBytes {
		return 0, source.ErrNotParallel
	}
	size := fi.Size()
	cuts := []int64{0}
	for i := 1; i < n; i++ {
		at, err := nextLineStart(f, size*int64(i)/int64(n), size)
		if err != nil {
			return 0, source.ErrNotParallel
		}
		if at > cuts[len(cuts)-1] && at < size {
			cuts = append(cuts, at)
		}
	}
	cuts = append(cuts, size)
	pieces := len(cuts) - 1
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < pieces; i++ {
		sk := sink(i)
		g.Go(func() error {
			rd, err := NewReader(io.NewSectionReader(f, cuts[i], cuts[i+1]-cuts[i]), s.cfg.Options)
			if err != nil {
				return err
			}
			skip := 0
			if i == 0 {
				skip = s.cfg.Skip
			}
			return s.scanRows(gctx, rd, sk, skip)
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, source.ErrNotParallel
	}
	return pieces, nil
}

// nextLineStart returns the offset of the first line that starts at or
// after pos: just past the first line feed at pos-1 or later.
func nextLineStart(f *os.File, pos, size int64) (int64, error) {
	if pos <= 0 {
		return 0, nil
	}
	buf := make([]byte, 64<<10)
	for at := pos - 1; at < size; at += int64(len(buf)) {
		n, err := f.ReadAt(buf, at)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return at + int64(i) + 1, nil
		}
		if err == io.EOF {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return size, nil
}
