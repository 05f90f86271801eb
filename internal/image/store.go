package image

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned by an ObjectReader that lacks an object.
var ErrNotFound = errors.New("image: object not found")

// ErrHashMismatch is returned when an object's bytes do not hash to its name.
var ErrHashMismatch = errors.New("image: object content does not match its hash")

// ObjectReader reads objects by hash. Implementations return ErrNotFound
// (possibly wrapped) for a missing object, return only bytes that hash to
// the name asked for (an object read from disk, a store or an archive is
// verified by the reader; ErrHashMismatch otherwise), and must be safe for
// concurrent use. The returned slice belongs to the caller.
type ObjectReader interface {
	ReadObject(ctx context.Context, h Hash) ([]byte, error)
}

// ObjectWriter stores objects. WriteObject stores data under its hash and
// returns the reference; writing an object that exists already is a no-op.
// Implementations must be safe for concurrent use and must not retain data
// after returning.
type ObjectWriter interface {
	WriteObject(ctx context.Context, kind string, data []byte) (ObjectRef, error)
}

// Verify checks that data hashes to h.
func Verify(h Hash, data []byte) error {
	if Sum(data) != h {
		return ErrHashMismatch
	}
	return nil
}

// Verified is an object whose bytes have been checked against its hash.
// The only way to make one is VerifyObject, so a writer given a Verified
// can store it under its hash without hashing the bytes again: a reader
// that verifies objects as they stream in (a restore) hashes each once.
// The bytes must not be modified after verification; a writer does not
// keep them after it returns.
type Verified struct {
	ref  ObjectRef
	data []byte
}

// VerifyObject checks data against ref (hash and size) and returns it as
// a Verified object.
func VerifyObject(ref ObjectRef, data []byte) (Verified, error) {
	if int64(len(data)) != ref.Size {
		return Verified{}, fmt.Errorf("%w: %s has %d bytes, not %d", ErrHashMismatch, ref.Hash, len(data), ref.Size)
	}
	if err := Verify(ref.Hash, data); err != nil {
		return Verified{}, err
	}
	return Verified{ref: ref, data: data}, nil
}

// Ref returns the object's reference (hash, size and kind).
func (v Verified) Ref() ObjectRef { return v.ref }

// Data returns the object's bytes.
func (v Verified) Data() []byte { return v.data }

// IsZero reports whether v is the zero Verified, which holds no object.
func (v Verified) IsZero() bool { return v.ref.Hash.IsZero() }

// VerifiedWriter is an ObjectWriter that also stores objects verified
// already, without hashing them again.
type VerifiedWriter interface {
	ObjectWriter
	WriteVerified(ctx context.Context, v Verified) (ObjectRef, error)
}

// An OwningWriter is a VerifiedWriter that may keep the bytes of the
// objects given to WriteOwned, which the caller hands over and never
// touches again: a restore keeps the objects it is about to decode
// without copying them.
type OwningWriter interface {
	VerifiedWriter
	WriteOwned(ctx context.Context, v Verified) (ObjectRef, error)
}
