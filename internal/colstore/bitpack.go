package colstore

//go:generate go run ./gen -o unpack_gen.go

import "math/bits"

// Packed holds n unsigned integers of Width bits each, little-endian within
// 64-bit words: value i occupies bits [i*Width, (i+1)*Width) of the word
// stream. Width 0 means every value is 0 and no words are stored. One extra
// word of padding lets unpacking read two words without a bounds branch.
type Packed struct {
	Width uint8
	N     int
	Words []uint64
}

// BitsFor returns the width needed to store values up to max.
func BitsFor(max uint32) uint8 { return uint8(bits.Len32(max)) }

// Pack packs vals at the given width. Every value must fit.
func Pack(vals []uint32, width uint8) Packed {
	p := Packed{Width: width, N: len(vals)}
	if width == 0 {
		return p
	}
	nbits := uint64(len(vals)) * uint64(width)
	p.Words = make([]uint64, (nbits+63)/64+1)
	w := uint64(width)
	for i, v := range vals {
		pos := uint64(i) * w
		word, off := pos/64, pos%64
		p.Words[word] |= uint64(v) << off
		if off+w > 64 {
			p.Words[word+1] |= uint64(v) >> (64 - off)
		}
	}
	return p
}

// Get returns value i.
func (p *Packed) Get(i int) uint32 {
	if p.Width == 0 {
		return 0
	}
	w := uint64(p.Width)
	pos := uint64(i) * w
	word, off := pos/64, pos%64
	v := p.Words[word] >> off
	if off+w > 64 {
		v |= p.Words[word+1] << (64 - off)
	}
	return uint32(v & (1<<w - 1))
}

// Unpack writes values [start, start+len(out)) to out. It is the inner loop
// of every scan. Whole groups of 64 values starting at a multiple of 64
// begin on a word boundary and go through the generated kernel for the
// width (unpack_gen.go); a misaligned head and a short tail use the
// generic loop.
func (p *Packed) Unpack(start int, out []uint32) {
	if p.Width == 0 {
		clear(out)
		return
	}
	if r := start & 63; r != 0 {
		h := min(64-r, len(out))
		p.unpackGeneric(start, out[:h])
		start += h
		out = out[h:]
	}
	if len(out) >= 64 {
		w := int(p.Width)
		if first := start / 64 * w; first < len(p.Words) {
			n := unpackKernels[w](p.Words[first:], out)
			start += n
			out = out[n:]
		}
	}
	if len(out) > 0 {
		p.unpackGeneric(start, out)
	}
}

// Max returns the largest of the N values (0 for none), reading whole
// groups of 64 with the generated kernel for the width, which keeps
// running maxima instead of writing the values out.
func (p *Packed) Max() uint32 {
	if p.Width == 0 || p.N == 0 {
		return 0
	}
	w := int(p.Width)
	// Only the words of whole groups: the last group's words may hold
	// bits past N, which are not values.
	n, m := maxKernels[w](p.Words[:min(p.N/64*w, len(p.Words))])
	var rest [64]uint32
	tail := rest[:min(p.N-n, 64)]
	p.unpackGeneric(n, tail)
	for _, v := range tail {
		m = max(m, v)
	}
	return m
}

// unpackGeneric is Unpack for any start and length.
func (p *Packed) unpackGeneric(start int, out []uint32) {
	switch p.Width {
	case 8:
		unpack8(p.Words, start, out)
		return
	case 16:
		unpack16(p.Words, start, out)
		return
	case 32:
		unpack32(p.Words, start, out)
		return
	}
	// Branchless: every value is read from two adjacent words (the padding
	// word makes the second always exist). (x<<1)<<(63-off) is x<<(64-off)
	// without the undefined shift by 64 when off is 0.
	w := uint64(p.Width)
	mask := uint64(1)<<w - 1
	words := p.Words
	pos := uint64(start) * w
	for i := range out {
		wi, off := pos>>6, pos&63
		out[i] = uint32((words[wi]>>off | (words[wi+1]<<1)<<(63-off)) & mask)
		pos += w
	}
}

func unpack8(words []uint64, start int, out []uint32) {
	for i := range out {
		j := start + i
		out[i] = uint32(words[j>>3]>>(uint(j&7)*8)) & 0xff
	}
}

func unpack16(words []uint64, start int, out []uint32) {
	for i := range out {
		j := start + i
		out[i] = uint32(words[j>>2]>>(uint(j&3)*16)) & 0xffff
	}
}

func unpack32(words []uint64, start int, out []uint32) {
	for i := range out {
		j := start + i
		out[i] = uint32(words[j>>1] >> (uint(j&1) * 32))
	}
}

// Bytes is the memory the packed values occupy.
func (p *Packed) Bytes() int64 { return int64(len(p.Words)) * 8 }

// gather writes value start+i to out[i] for every i in sel, leaving the
// other entries of out alone: a block that filters kept few rows of reads
// only those.
func (p *Packed) gather(start int, sel []uint16, out []uint32) {
	if p.Width == 0 {
		for _, i := range sel {
			out[i] = 0
		}
		return
	}
	w := uint64(p.Width)
	mask := uint64(1)<<w - 1
	words := p.Words
	for _, i := range sel {
		pos := uint64(start+int(i)) * w
		wi, off := pos>>6, pos&63
		out[i] = uint32((words[wi]>>off | (words[wi+1]<<1)<<(63-off)) & mask)
	}
}
