package parquet

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// Limits on what one page may claim. The decoder allocates what a page
// header claims before it can find out that the data is not there, so the
// headers of every column chunk are read and checked before its pages
// are: a damaged or hostile file is refused with an error instead of
// making the server allocate gigabytes.
const (
	// MaxPageBytes bounds the uncompressed size of one page. Writers
	// produce pages of about a megabyte; dictionary pages of wide text
	// columns can be tens of megabytes.
	MaxPageBytes = 256 << 20
	// MaxPageValues bounds the values of one page.
	MaxPageValues = 16 << 20
	// maxHeaderBytes bounds one page header (statistics included).
	maxHeaderBytes = 1 << 20
)

// checker checks the column chunks of one scan. The decoders of the
// codecs are kept between chunks.
type checker struct {
	ra   io.ReaderAt
	size int64
	page []byte
	zstd *zstd.Decoder
}

func (c *checker) close() {
	if c.zstd != nil {
		c.zstd.Close()
	}
}

// checkChunk reads the page headers of one column chunk and checks them
// against the chunk, the file and the limits. The pages of a compressed
// chunk are decompressed into a bounded buffer too: the decoders the
// reader uses grow their output for as long as the input asks (an LZ4
// block that does not decode makes one double its buffer forever), so a
// page must be shown to decode to no more than its header claims before
// the reader sees it. It returns the number of values of the chunk's data
// pages.
func (c *checker) checkChunk(md *format.ColumnMetaData, groupRows int64) (int64, error) {
	ra, size := c.ra, c.size
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end < start || end > size {
		return 0, fmt.Errorf("the column chunk at byte %d of %d bytes lies outside the file of %d bytes", start, md.TotalCompressedSize, size)
	}
	if md.NumValues < 0 || groupRows < 0 {
		return 0, fmt.Errorf("the column chunk claims %d values", md.NumValues)
	}
	var proto thrift.CompactProtocol
	buf := make([]byte, 0, 4096)
	values := int64(0)
	for pos := start; pos < end; {
		n := min(int64(maxHeaderBytes), end-pos)
		want := min(n, int64(cap(buf)))
		for {
			buf = buf[:want]
			m, err := ra.ReadAt(buf, pos)
			if m < len(buf) && err != nil {
				return 0, fmt.Errorf("read the page header at byte %d: %v", pos, err)
			}
			r := proto.NewReaderFromBytes(buf)
			var h format.PageHeader
			err = thrift.NewDecoder(r).Decode(&h)
			if err != nil {
				// The header may just be longer than the window read.
				if want < n {
					want = min(n, want*8)
					buf = make([]byte, want)
					continue
				}
				return 0, fmt.Errorf("the page header at byte %d is damaged: %v", pos, err)
			}
			if err := checkHeader(&h, groupRows); err != nil {
				return 0, fmt.Errorf("the page at byte %d: %v", pos, err)
			}
			if h.Type != format.DictionaryPage {
				values += pageValues(&h)
			}
			data := pos + int64(r.BytesRead())
			if data+int64(h.CompressedPageSize) > end {
				return 0, fmt.Errorf("the page at byte %d runs past its column chunk", pos)
			}
			if err := c.checkData(md.Codec, &h, data); err != nil {
				return 0, fmt.Errorf("the page at byte %d: %v", pos, err)
			}
			pos += int64(r.BytesRead()) + int64(h.CompressedPageSize)
			if pos > end {
				return 0, fmt.Errorf("the page at byte %d runs past its column chunk", pos)
			}
			break
		}
	}
	if values > md.NumValues && md.NumValues > 0 {
		return 0, fmt.Errorf("the pages hold %d values where the column chunk has %d", values, md.NumValues)
	}
	return values, nil
}

// checkData decompresses a page into a buffer of the size its header
// claims and fails when the data needs more, or does not decode.
func (c *checker) checkData(codec format.CompressionCodec, h *format.PageHeader, at int64) error {
	if codec == format.Uncompressed {
		return nil
	}
	skip := 0
	if v2 := h.DataPageHeaderV2; v2.Valid {
		if v2.V.IsCompressed.Valid && !v2.V.IsCompressed.V {
			return nil
		}
		skip = int(v2.V.DefinitionLevelsByteLength) + int(v2.V.RepetitionLevelsByteLength)
	}
	n := int(h.CompressedPageSize)
	if cap(c.page) < n {
		c.page = make([]byte, n)
	}
	src := c.page[:n]
	if m, err := c.ra.ReadAt(src, at); m < n {
		return fmt.Errorf("read %d bytes: %v", n, err)
	}
	src = src[skip:]
	limit := int64(h.UncompressedPageSize) - int64(skip)
	var got int64
	var err error
	switch codec {
	case format.Snappy:
		var l int
		if l, err = snappy.DecodedLen(src); err == nil {
			got = int64(l)
		}
	case format.Lz4Raw:
		// A block decodes into exactly the claimed size or is damaged.
		var m int
		m, err = lz4.UncompressBlock(src, make([]byte, limit))
		got = int64(m)
	case format.Zstd:
		if c.zstd == nil {
			if c.zstd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(MaxPageBytes)); err != nil {
				return err
			}
		}
		if err = c.zstd.Reset(bytes.NewReader(src)); err == nil {
			got, err = io.Copy(io.Discard, io.LimitReader(c.zstd, limit+1))
		}
	case format.Gzip:
		var z *gzip.Reader
		if z, err = gzip.NewReader(bytes.NewReader(src)); err == nil {
			got, err = io.Copy(io.Discard, io.LimitReader(z, limit+1))
		}
	case format.Brotli:
		got, err = io.Copy(io.Discard, io.LimitReader(brotli.NewReader(bytes.NewReader(src)), limit+1))
	default:
		return fmt.Errorf("compression %s is not supported", codec)
	}
	if err != nil {
		return fmt.Errorf("%s data does not decompress: %v", codec, err)
	}
	if got > limit {
		return errors.New(codec.String() + " data decompresses to more than the page's header claims")
	}
	return nil
}

func pageValues(h *format.PageHeader) int64 {
	switch {
	case h.DataPageHeader.Valid:
		return int64(h.DataPageHeader.V.NumValues)
	case h.DataPageHeaderV2.Valid:
		return int64(h.DataPageHeaderV2.V.NumValues)
	}
	return 0
}

func checkHeader(h *format.PageHeader, groupRows int64) error {
	if h.CompressedPageSize < 0 || h.UncompressedPageSize < 0 {
		return fmt.Errorf("negative page size")
	}
	if h.UncompressedPageSize > MaxPageBytes || h.CompressedPageSize > MaxPageBytes {
		return fmt.Errorf("a page of %d bytes is more than the limit of %d", max(h.UncompressedPageSize, h.CompressedPageSize), MaxPageBytes)
	}
	var n int64
	switch {
	case h.DataPageHeader.Valid:
		n = int64(h.DataPageHeader.V.NumValues)
	case h.DataPageHeaderV2.Valid:
		v := h.DataPageHeaderV2.V
		n = int64(v.NumValues)
		if int64(v.NumRows) > groupRows || v.NumNulls > v.NumValues ||
			v.DefinitionLevelsByteLength < 0 || v.RepetitionLevelsByteLength < 0 ||
			int64(v.DefinitionLevelsByteLength)+int64(v.RepetitionLevelsByteLength) > int64(h.CompressedPageSize) {
			return fmt.Errorf("inconsistent page header (%d rows, %d values, %d nulls)", v.NumRows, v.NumValues, v.NumNulls)
		}
	case h.DictionaryPageHeader.Valid:
		n = int64(h.DictionaryPageHeader.V.NumValues)
	}
	if n < 0 || n > MaxPageValues {
		return fmt.Errorf("a page of %d values is more than the limit of %d", n, MaxPageValues)
	}
	return nil
}
