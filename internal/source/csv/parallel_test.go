package csv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/source/sourcetest"
	"github.com/meridian-olap/meridian/internal/value"
)

// writeBig writes a CSV file of more than minParallelBytes; quoted, when
// set, puts a quoted field with a line break into every 997th row.
func writeBig(t *testing.T, quoted bool) string {
	path := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	b.WriteString("K,Name,Amount\n")
	for i := 0; b.Len() < minParallelBytes+(1<<20); i++ {
		name := fmt.Sprintf("name %d", i%1000)
		if quoted && i%997 == 0 {
			name = fmt.Sprintf("\"two\nlines %d\"", i)
		}
		fmt.Fprintf(&b, "%d,%s,%d.%02d\n", i, name, i%5000, i%100)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func bigSource(t *testing.T, path string) *Source {
	s, err := NewSource(Config{Name: "big.csv", Open: func() (io.ReadCloser, error) { return os.Open(path) },
		Skip: 1, Columns: []Column{{Name: "K", Field: 0, Kind: Int}, {Name: "Name", Field: 1, Kind: Text}, {Name: "Amount", Field: 2, Kind: Currency}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScanParallelEqualsScan(t *testing.T) {
	for _, quoted := range []bool{false, true} {
		t.Run(fmt.Sprint("quoted=", quoted), func(t *testing.T) {
			s := bigSource(t, writeBig(t, quoted))
			whole := &sourcetest.Recorder{T: t}
			if err := s.Scan(context.Background(), whole); err != nil {
				t.Fatal(err)
			}
			pieces := make([]*sourcetest.Recorder, 4)
			n, err := s.ScanParallel(context.Background(), 4, func(i int) source.Sink {
				pieces[i] = &sourcetest.Recorder{T: t}
				return pieces[i]
			})
			if errors.Is(err, source.ErrNotParallel) {
				if !quoted {
					t.Fatal("a file without quotes was not read in parallel")
				}
				return // the caller reads it whole: correct either way
			}
			if err != nil {
				t.Fatal(err)
			}
			var got [][]value.Value
			for _, p := range pieces[:n] {
				got = append(got, p.Rows...)
			}
			if len(got) != len(whole.Rows) {
				t.Fatalf("%d rows in %d pieces, %d read whole", len(got), n, len(whole.Rows))
			}
			for i := range got {
				for j := range got[i] {
					if !got[i][j].Equal(whole.Rows[i][j]) {
						t.Fatalf("row %d column %d: %#v, read whole %#v", i, j, got[i][j], whole.Rows[i][j])
					}
				}
			}
			if n < 2 {
				t.Errorf("read in %d pieces", n)
			}
		})
	}
}

// TestScanParallelRefusesCutQuotes cuts a file inside a quoted field: the
// parallel read must give up rather than return wrong rows.
func TestScanParallelRefusesCutQuotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.csv")
	var b strings.Builder
	b.WriteString("K,Name,Amount\n1,\"")
	for b.Len() < minParallelBytes*2 {
		b.WriteString("a long quoted field\nwith line breaks,and commas\n")
	}
	b.WriteString("\",3\n2,x,4\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s := bigSource(t, path)
	_, err := s.ScanParallel(context.Background(), 2, func(int) source.Sink { return &sourcetest.Recorder{T: t} })
	if !errors.Is(err, source.ErrNotParallel) {
		t.Fatalf("a cut inside a quoted field was accepted: %v", err)
	}
	whole := &sourcetest.Recorder{T: t}
	if err := s.Scan(context.Background(), whole); err != nil {
		t.Fatal(err)
	}
	if len(whole.Rows) != 2 {
		t.Fatalf("read whole: %d rows, want 2", len(whole.Rows))
	}
}
