package image

import (
	"context"
	"errors"
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
