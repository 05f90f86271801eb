package colstore

import "math/bits"

// Bitmap is a fixed-size set of small non-negative integers: dictionary ids
// or row numbers. The zero Bitmap is empty with no capacity.
type Bitmap struct {
	words []uint64
	n     int
}

// NewBitmap returns an empty bitmap for members 0..n-1.
func NewBitmap(n int) *Bitmap { return &Bitmap{words: make([]uint64, (n+63)/64), n: n} }

// FullBitmap returns a bitmap holding 0..n-1.
func FullBitmap(n int) *Bitmap {
	b := NewBitmap(n)
	for i := range b.words {
		b.words[i] = ^uint64(0)
	}
	b.trim()
	return b
}

func (b *Bitmap) trim() {
	if r := b.n % 64; r != 0 && len(b.words) > 0 {
		b.words[len(b.words)-1] &= 1<<uint(r) - 1
	}
}

// Cap is the bitmap's size: members are below it.
func (b *Bitmap) Cap() int { return b.n }

// Set adds i.
func (b *Bitmap) Set(i int) { b.words[i>>6] |= 1 << uint(i&63) }

// Clear removes i.
func (b *Bitmap) Clear(i int) { b.words[i>>6] &^= 1 << uint(i&63) }

// Has reports whether i is a member. Members beyond the capacity are not.
func (b *Bitmap) Has(i int) bool {
	if i < 0 || i >= b.n {
		return false
	}
	return b.words[i>>6]&(1<<uint(i&63)) != 0
}

// Count returns the number of members.
func (b *Bitmap) Count() int {
	n := 0
	for _, w := range b.words {
		n += bits.OnesCount64(w)
	}
	return n
}

// And intersects b with o in place; o must have the same capacity.
func (b *Bitmap) And(o *Bitmap) {
	for i := range b.words {
		b.words[i] &= o.words[i]
	}
}

// Or unites b with o in place; o must have the same capacity.
func (b *Bitmap) Or(o *Bitmap) {
	for i := range b.words {
		b.words[i] |= o.words[i]
	}
}

// AndNot removes o's members from b; o must have the same capacity.
func (b *Bitmap) AndNot(o *Bitmap) {
	for i := range b.words {
		b.words[i] &^= o.words[i]
	}
}

// Clone returns a copy.
func (b *Bitmap) Clone() *Bitmap {
	return &Bitmap{words: append([]uint64(nil), b.words...), n: b.n}
}

// Equal reports whether b and o hold the same members.
func (b *Bitmap) Equal(o *Bitmap) bool {
	if b.n != o.n {
		return false
	}
	for i := range b.words {
		if b.words[i] != o.words[i] {
			return false
		}
	}
	return true
}

// IsFull reports whether every integer below the capacity is a member.
func (b *Bitmap) IsFull() bool { return b.Count() == b.n }

// Each calls fn for every member in increasing order.
func (b *Bitmap) Each(fn func(i int)) {
	for wi, w := range b.words {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(wi*64 + t)
			w &= w - 1
		}
	}
}

// Words exposes the underlying words for tight loops; do not modify.
func (b *Bitmap) Words() []uint64 { return b.words }
