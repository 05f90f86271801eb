package csv

import (
	"bufio"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var benchRows = flag.Int("csvrows", 10_000_000, "rows in the file BenchmarkScan generates")

// discard is a sink that keeps nothing.
type discard struct{ rows int }

func (*discard) Blank(int)           {}
func (*discard) Int(int, int64)      {}
func (*discard) Float(int, float64)  {}
func (*discard) Currency(int, int64) {}
func (*discard) Bool(int, bool)      {}
func (*discard) Date(int, float64)   {}
func (*discard) String(int, []byte)  {}
func (d *discard) EndRow() error     { d.rows++; return nil }

// writeBenchFile writes a sales-like file: two whole numbers, a date, a
// fixed decimal, a number, a short text and a quoted text with a comma.
func writeBenchFile(b *testing.B, path string, rows int) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("OrderKey,Quantity,OrderDate,NetPrice,Discount,Currency,Store\n")
	var buf []byte
	for i := range rows {
		buf = buf[:0]
		buf = strconv.AppendInt(buf, int64(1000000+i), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(i%13+1), 10)
		buf = append(buf, ",20"...)
		buf = append(buf, byte('1'+i%3), byte('0'+i%10), '-', '0', byte('1'+i%9), '-', byte('1'+i%2), byte('0'+i%9))
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(i%5000), 10)
		buf = append(buf, '.')
		buf = append(buf, byte('0'+i%10), byte('0'+i%7), byte('0'+i%3), '0')
		buf = append(buf, ",0."...)
		buf = strconv.AppendInt(buf, int64(i%100), 10)
		buf = append(buf, ",USD,"...)
		if i%4 == 0 {
			buf = append(buf, `"Contoso, Ltd"`...)
		} else {
			buf = append(buf, "Contoso Store"...)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkScan reads a generated file of -csvrows rows (10 million by
// default) into a discarding sink, with every column converted.
// Run: go test ./internal/source/csv -run '^$' -bench Scan -benchtime 3x
func BenchmarkScan(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.csv")
	size := writeBenchFile(b, path, *benchRows)
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	cols := []Column{
		{Name: "OrderKey", Field: 0, Kind: Int}, {Name: "Quantity", Field: 1, Kind: Int},
		{Name: "OrderDate", Field: 2, Kind: Date}, {Name: "NetPrice", Field: 3, Kind: Currency},
		{Name: "Discount", Field: 4, Kind: Number}, {Name: "Currency", Field: 5, Kind: Text},
		{Name: "Store", Field: 6, Kind: Text},
	}
	for _, bc := range []struct {
		name string
		cols []Column
	}{
		{"typed", cols},
		{"text", textColumns(cols)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src, err := NewSource(Config{Name: "bench.csv", Open: open, Skip: 1, Columns: bc.cols})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			rows, loops := 0, 0
			cpu0 := cpuTime()
			for b.Loop() {
				sink := &discard{}
				if err := src.Scan(context.Background(), sink); err != nil {
					b.Fatal(err)
				}
				rows += sink.rows
				loops++
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			// Per CPU second: what one core does when it is not shared.
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(size)*float64(loops)/1e6/cpu, "MB/cpu-s")
				b.ReportMetric(float64(rows)/cpu, "rows/cpu-s")
			}
		})
	}
}

func textColumns(cols []Column) []Column {
	out := append([]Column(nil), cols...)
	for i := range out {
		out[i].Kind = Text
	}
	return out
}
