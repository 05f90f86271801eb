package backup

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
)

// verifiedSink is a sink that takes verified objects (as the catalog
// does) and checks that each really hashes to its name.
type verifiedSink struct {
	t        *testing.T
	mu       sync.Mutex
	objects  map[image.Hash][]byte
	verified int
	plain    int
}

func (s *verifiedSink) WriteObject(_ context.Context, kind string, data []byte) (image.ObjectRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plain++
	h := image.Sum(data)
	s.objects[h] = bytes.Clone(data)
	return image.ObjectRef{Hash: h, Size: int64(len(data)), Kind: kind}, nil
}

func (s *verifiedSink) WriteVerified(_ context.Context, v image.Verified) (image.ObjectRef, error) {
	ref := v.Ref()
	if image.Sum(v.Data()) != ref.Hash || int64(len(v.Data())) != ref.Size {
		s.t.Errorf("object %s handed over as verified, but its %d bytes do not match", ref.Hash, len(v.Data()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verified++
	s.objects[ref.Hash] = bytes.Clone(v.Data())
	return ref, nil
}

// TestReadHandsOverVerified checks that Read gives a sink that takes
// verified objects every object that way (so the sink does not hash it
// again), with the right bytes, and that a damaged archive never hands
// over bytes that do not match their name.
func TestReadHandsOverVerified(t *testing.T) {
	ti := newImage(t, 11, sizes(11, 60))
	for _, tc := range []struct {
		name     string
		compress bool
		password string
	}{
		{"plain", false, ""},
		{"compressed", true, ""},
		{"encrypted", false, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arc := ti.archive(t, WriteOptions{Compress: tc.compress, Password: tc.password, KDF: cheapKDF})
			sink := &verifiedSink{t: t, objects: map[image.Hash][]byte{}}
			info, err := Read(context.Background(), bytes.NewReader(arc), ReadOptions{Password: tc.password}, sink)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if n := len(info.Manifest.Objects); sink.plain != 0 || sink.verified != n {
				t.Errorf("%d objects handed over as verified and %d not, want %d and 0", sink.verified, sink.plain, n)
			}
			for _, o := range ti.m.Objects {
				if !bytes.Equal(sink.objects[o.Hash], ti.data[o.Hash]) {
					t.Errorf("object %s: the sink holds other bytes", o.Hash)
				}
			}
			for off := 0; off < len(arc); off += 1 + len(arc)/40 {
				t.Run(fmt.Sprintf("damaged at %d", off), func(t *testing.T) {
					bad := bytes.Clone(arc)
					bad[off] ^= 0x20
					sink := &verifiedSink{t: t, objects: map[image.Hash][]byte{}}
					if _, err := Read(context.Background(), bytes.NewReader(bad), ReadOptions{Password: tc.password}, sink); err == nil {
						t.Fatal("Read accepted a damaged archive")
					}
				})
			}
		})
	}
}

// owningSink keeps the bytes handed to WriteOwned without a copy, as a
// restore's cache does.
type owningSink struct {
	verifiedSink
	owned map[image.Hash][]byte
}

func (s *owningSink) WriteOwned(_ context.Context, v image.Verified) (image.ObjectRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owned[v.Ref().Hash] = v.Data()
	return v.Ref(), nil
}

// TestReadHandsOverOwned checks that a sink that keeps the bytes it is
// given (image.OwningWriter) gets every object that way, and that Read
// never reuses those bytes afterwards: once the read is over, every
// kept slice still holds its object, with the manifest announced first.
func TestReadHandsOverOwned(t *testing.T) {
	ti := newImage(t, 12, sizes(12, 80))
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			arc := ti.archive(t, WriteOptions{Compress: compress, RecordSize: 4096})
			sink := &owningSink{verifiedSink: verifiedSink{t: t, objects: map[image.Hash][]byte{}}, owned: map[image.Hash][]byte{}}
			var announced *image.Manifest
			opts := ReadOptions{Concurrency: 3, Manifest: func(m *image.Manifest) error {
				if len(sink.owned) > 0 {
					t.Error("the manifest was announced after objects")
				}
				announced = m
				return nil
			}}
			info, err := Read(context.Background(), bytes.NewReader(arc), opts, sink)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if announced != info.Manifest {
				t.Error("the manifest announced is not the one read")
			}
			if n := len(info.Manifest.Objects); sink.plain != 0 || sink.verified != 0 || len(sink.owned) != n {
				t.Errorf("%d objects handed over, %d verified and %d plain, want %d, 0 and 0", len(sink.owned), sink.verified, sink.plain, n)
			}
			for _, o := range ti.m.Objects {
				if !bytes.Equal(sink.owned[o.Hash], ti.data[o.Hash]) {
					t.Errorf("object %s: the bytes handed over changed after the read", o.Hash)
				}
			}
		})
	}
}
