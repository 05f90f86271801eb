package replica

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
)

// PointerFormat is the format of the LATEST pointers this package writes.
const PointerFormat = 1

// maxPointerSize bounds what is read of a LATEST object: a pointer is a
// few hundred bytes plus the database name.
const maxPointerSize = 16 << 10

// Pointer is a database's LATEST object: which version of the database
// the store holds, or that it was deleted. It is written last, after the
// manifest and every object it needs, and only by a compare-and-swap, so
// a pointer that can be read names a complete image.
type Pointer struct {
	Format   int    `json:"format"`
	Database string `json:"database"`
	// Version is the published version; for a tombstone, the last version
	// published before the delete.
	Version int64 `json:"version"`
	// Manifest is the SHA-256 of the manifest's bytes; Content is the
	// image's content hash (image.Manifest.ContentHash). Both are zero in
	// a tombstone.
	Manifest image.Hash `json:"manifest,omitzero"`
	Content  image.Hash `json:"content,omitzero"`
	// CommitTime is the manifest's commit time (the primary's clock); for
	// a tombstone, when the database was deleted.
	CommitTime time.Time `json:"commitTime"`
	// Published is when the pointer was written, by the publisher's clock.
	Published time.Time `json:"published"`
	// Publisher is the lease holder that wrote the pointer, and Epoch its
	// lease's epoch. A publisher whose epoch is below a pointer's cannot
	// replace it.
	Publisher string `json:"publisher"`
	Epoch     int64  `json:"epoch"`
	// Deleted marks a tombstone: the database was deleted (or renamed
	// away) on the primary, and followers delete it too.
	Deleted bool `json:"deleted,omitempty"`
}

func (p *Pointer) marshal() ([]byte, error) {
	c := *p
	c.Format = PointerFormat
	c.CommitTime = c.CommitTime.UTC()
	c.Published = c.Published.UTC()
	return json.Marshal(&c)
}

// DecodePointer parses and checks a LATEST object. Every way it can be
// wrong is an error wrapping ErrCorrupt that says what is wrong; it never
// panics, whatever the bytes.
func DecodePointer(b []byte) (*Pointer, error) {
	if len(b) > maxPointerSize {
		return nil, fmt.Errorf("%w: pointer of %d bytes (the limit is %d)", ErrCorrupt, len(b), maxPointerSize)
	}
	var p Pointer
	if err := strictJSON(b, &p); err != nil {
		return nil, fmt.Errorf("%w: pointer: %v", ErrCorrupt, err)
	}
	if p.Format != PointerFormat {
		return nil, fmt.Errorf("%w: pointer format %d (this build reads %d)", ErrCorrupt, p.Format, PointerFormat)
	}
	if err := checkName("database", p.Database); err != nil {
		return nil, fmt.Errorf("%w: pointer: %v", ErrCorrupt, err)
	}
	if err := checkName("publisher", p.Publisher); err != nil {
		return nil, fmt.Errorf("%w: pointer of %q: %v", ErrCorrupt, p.Database, err)
	}
	switch {
	case p.Version < 0:
		return nil, fmt.Errorf("%w: pointer of %q: negative version %d", ErrCorrupt, p.Database, p.Version)
	case p.Epoch < 1:
		return nil, fmt.Errorf("%w: pointer of %q: epoch %d (epochs start at 1)", ErrCorrupt, p.Database, p.Epoch)
	case p.Deleted && (!p.Manifest.IsZero() || !p.Content.IsZero()):
		return nil, fmt.Errorf("%w: pointer of %q: a tombstone names a manifest", ErrCorrupt, p.Database)
	case !p.Deleted && (p.Manifest.IsZero() || p.Content.IsZero()):
		return nil, fmt.Errorf("%w: pointer of %q version %d: no manifest or content hash", ErrCorrupt, p.Database, p.Version)
	}
	return &p, nil
}

// strictJSON decodes one JSON object into v and refuses trailing data.
// Unknown fields are allowed, so that a later format can add some.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}
