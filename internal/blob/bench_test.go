package blob_test

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/testenv"
)

const benchSize = 256 << 20

// repeatReader serves size bytes by repeating a random block, cheaply
// enough not to weigh on the measurement.
type repeatReader struct {
	block []byte
	left  int64
	pos   int
}

func newRepeat(size int64) *repeatReader {
	block := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	return &repeatReader{block: block, left: size}
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), r.left)], r.block[r.pos:])
	r.pos = (r.pos + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

// BenchmarkThroughput measures Put and Get of a 256 MB object; MB/s is
// the figure to read.
func BenchmarkThroughput(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *blob.Store
	}{
		{"file", func(b *testing.B) *blob.Store {
			s, err := blob.Open(context.Background(), "file://"+b.TempDir(), blob.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"azblob", func(b *testing.B) *blob.Store {
			srv := testenv.Azurite(b)
			s, err := blob.Open(context.Background(), "azblob://bench", blob.Options{AzureConnectionString: srv.ConnectionString, Create: true})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name+"/put", func(b *testing.B) {
			s := st.open(b)
			defer s.Close()
			b.SetBytes(benchSize)
			for b.Loop() {
				if err := s.Put(context.Background(), "big", newRepeat(benchSize), blob.PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(st.name+"/get", func(b *testing.B) {
			s := st.open(b)
			defer s.Close()
			if err := s.Put(context.Background(), "big", newRepeat(benchSize), blob.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(benchSize)
			for b.Loop() {
				rc, _, err := s.Get(context.Background(), "big")
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil || n != benchSize {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
	}
}
