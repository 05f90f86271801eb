package colstore

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkUnpack(b *testing.B) {
	for _, w := range []uint8{3, 8, 14, 16, 20, 32} {
		b.Run("w"+string(rune('0'+w/10))+string(rune('0'+w%10)), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			vals := make([]uint32, 1<<20)
			for i := range vals {
				vals[i] = uint32(rng.Uint64() & (1<<w - 1))
			}
			p := Pack(vals, w)
			out := make([]uint32, blockRows)
			b.SetBytes(int64(len(vals)) * 4)
			for b.Loop() {
				for off := 0; off < len(vals); off += blockRows {
					p.Unpack(off, out)
				}
			}
		})
	}
}
