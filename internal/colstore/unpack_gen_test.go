package colstore

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestUnpackMatchesGeneric checks the generated kernels against the
// generic loop and Get for every width, at starts and lengths that cover
// aligned groups, misaligned heads, short tails and the end of the data.
func TestUnpackMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for w := uint8(0); w <= 32; w++ {
		t.Run("w"+strconv.Itoa(int(w)), func(t *testing.T) {
			vals := make([]uint32, 1000)
			for i := range vals {
				vals[i] = uint32(rng.Uint64() & (1<<w - 1))
			}
			// The largest value makes sure the top bit of each width is used.
			vals[rng.IntN(len(vals))] = uint32(1<<w - 1)
			p := Pack(vals, w)
			for _, start := range []int{0, 1, 5, 63, 64, 65, 127, 128, 200, 511, 640, 936, 999, 1000} {
				for _, n := range []int{0, 1, 63, 64, 65, 128, 129, 300, 1000} {
					if start+n > len(vals) {
						n = len(vals) - start
					}
					got := make([]uint32, n)
					p.Unpack(start, got)
					if diff := cmp.Diff(vals[start:start+n], got); diff != "" {
						t.Fatalf("Unpack(%d, %d) (-want +got):\n%s", start, n, diff)
					}
					if w > 0 {
						gen := make([]uint32, n)
						p.unpackGeneric(start, gen)
						if diff := cmp.Diff(gen, got); diff != "" {
							t.Fatalf("kernel and generic loop differ at (%d, %d) (-generic +kernel):\n%s", start, n, diff)
						}
					}
				}
			}
			for i, v := range vals {
				if got := p.Get(i); got != v {
					t.Fatalf("Get(%d) = %d, want %d", i, got, v)
				}
			}
		})
	}
}

// TestUnpackGenUpToDate fails when unpack_gen.go differs from what the
// generator writes: run go generate ./internal/colstore after changing it.
func TestUnpackGenUpToDate(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found; cannot run the generator")
	}
	out := filepath.Join(t.TempDir(), "unpack_gen.go")
	cmd := exec.Command(goTool, "run", "./gen", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run generator: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("unpack_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("unpack_gen.go is out of date: run go generate ./internal/colstore")
	}
}

// FuzzUnpack packs arbitrary values at a width and checks that Unpack
// (the generated kernels with generic head and tail) and gather return
// them for any start and length.
func FuzzUnpack(f *testing.F) {
	f.Add(uint8(3), uint16(0), uint16(200), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(17), uint16(63), uint16(129), []byte{0xff, 0x10, 0x33})
	f.Add(uint8(32), uint16(1), uint16(64), []byte{9})
	f.Fuzz(func(t *testing.T, width uint8, start, n uint16, seed []byte) {
		w := width % 33
		total := int(start) + int(n)
		if total > 4096 || len(seed) == 0 {
			return
		}
		vals := make([]uint32, total)
		for i := range vals {
			b := uint32(seed[i%len(seed)])
			vals[i] = (b*2654435761 + uint32(i)*40503) & (1<<w - 1)
		}
		p := Pack(vals, w)
		got := make([]uint32, n)
		p.Unpack(int(start), got)
		if diff := cmp.Diff(vals[start:], got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Unpack(%d, %d) at width %d (-want +got):\n%s", start, n, w, diff)
		}
		sel := make([]uint16, 0, n)
		for i := 0; i < int(n); i += 3 {
			sel = append(sel, uint16(i))
		}
		out := make([]uint32, n)
		p.gather(int(start), sel, out)
		for _, i := range sel {
			if out[i] != vals[int(start)+int(i)] {
				t.Fatalf("gather row %d at width %d = %d, want %d", int(start)+int(i), w, out[i], vals[int(start)+int(i)])
			}
		}
	})
}
