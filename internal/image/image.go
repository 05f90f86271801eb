// Package image defines database images: the immutable unit that Meridian
// persists, backs up, restores and replicates.
//
// An image is a Manifest plus the objects it names. Objects are opaque byte
// strings addressed by the SHA-256 of their content (Hash); the manifest
// says which objects make up one version of one database: the model (TMSL
// JSON) and, once processed, the column data written by the column store.
// Packages that move images (catalog, backup, replica) need nothing else:
// they copy the manifest and every object it lists, and verify each object
// against its hash.
//
// The manifest is JSON:
//
//	{
//	  "format": 1,
//	  "database": "Sales",
//	  "version": 7,
//	  "commitTime": "2026-11-25T22:40:00Z",
//	  "state": "ready",
//	  "lastProcessed": "2026-11-25T22:39:58Z",
//	  "model": "<sha256 hex of the TMSL object>",
//	  "data": "<sha256 hex of the column store's root object, or empty>",
//	  "objects": [{"hash": "<hex>", "size": 1234, "kind": "segment"}, ...]
//	}
//
// "objects" lists every object the image needs, the model and data root
// included, sorted by hash. Content identifies an image: ContentHash
// covers the model, the data root and the object list but not the version
// or times, so two servers that processed the same model from the same data
// hold images with the same content hash.
package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// FormatVersion is the manifest format this package writes.
const FormatVersion = 1

// Hash is the SHA-256 of an object's bytes.
type Hash [sha256.Size]byte

// Sum returns the hash of data.
func Sum(data []byte) Hash { return sha256.Sum256(data) }

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash, which names no object.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses 64 hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("image: hash %q: want %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("image: hash %q: %w", s, err)
	}
	return h, nil
}

// MarshalText writes the hash as hex; the zero hash as "".
func (h Hash) MarshalText() ([]byte, error) {
	if h.IsZero() {
		return []byte{}, nil
	}
	return []byte(h.String()), nil
}

// UnmarshalText reads hex; "" is the zero hash.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*h = Hash{}
		return nil
	}
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// Object kinds. The kind is informational (sizes by kind, progress); the
// column store knows what each object holds from its own root object.
const (
	KindModel   = "model"
	KindData    = "data"
	KindSegment = "segment"
	KindDict    = "dictionary"
	KindIndex   = "index"
)

// ObjectRef names one object of an image.
type ObjectRef struct {
	Hash Hash   `json:"hash"`
	Size int64  `json:"size"`
	Kind string `json:"kind,omitempty"`
}

// Database states, as Analysis Services reports them.
const (
	StateReady             = "ready"  // processed; queries see data
	StateNoData            = "noData" // deployed, never processed
	StateCalculationNeeded = "calculationNeeded"
)

// Manifest describes one version of one database.
type Manifest struct {
	Format        int         `json:"format"`
	Database      string      `json:"database"`
	Version       int64       `json:"version"`
	CommitTime    time.Time   `json:"commitTime"`
	State         string      `json:"state"`
	LastProcessed time.Time   `json:"lastProcessed,omitzero"`
	Model         Hash        `json:"model"`
	Data          Hash        `json:"data,omitzero"`
	Objects       []ObjectRef `json:"objects"`
}

// Errors.
var (
	ErrFormat  = errors.New("image: unsupported manifest format")
	ErrCorrupt = errors.New("image: corrupt manifest")
)

// Marshal encodes the manifest as JSON with objects sorted by hash. The
// encoding is deterministic: equal manifests give equal bytes.
func (m *Manifest) Marshal() ([]byte, error) {
	c := *m
	c.Format = FormatVersion
	c.Objects = slices.Clone(m.Objects)
	slices.SortFunc(c.Objects, func(a, b ObjectRef) int { return compareHash(a.Hash, b.Hash) })
	c.Objects = slices.CompactFunc(c.Objects, func(a, b ObjectRef) bool { return a.Hash == b.Hash })
	if c.Objects == nil {
		c.Objects = []ObjectRef{}
	}
	return json.MarshalIndent(&c, "", " ")
}

// Unmarshal decodes and checks a manifest: known format, a database name, a
// model object, and every root object listed.
func Unmarshal(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w %d (this build reads %d)", ErrFormat, m.Format, FormatVersion)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Check verifies the manifest's invariants.
func (m *Manifest) Check() error {
	switch {
	case m.Database == "":
		return fmt.Errorf("%w: no database name", ErrCorrupt)
	case m.Version < 0:
		return fmt.Errorf("%w: negative version %d", ErrCorrupt, m.Version)
	case m.Model.IsZero():
		return fmt.Errorf("%w: no model object", ErrCorrupt)
	}
	if !m.Has(m.Model) {
		return fmt.Errorf("%w: model object %s not listed", ErrCorrupt, m.Model)
	}
	if !m.Data.IsZero() && !m.Has(m.Data) {
		return fmt.Errorf("%w: data object %s not listed", ErrCorrupt, m.Data)
	}
	for _, o := range m.Objects {
		if o.Size < 0 {
			return fmt.Errorf("%w: object %s has negative size", ErrCorrupt, o.Hash)
		}
	}
	return nil
}

// Has reports whether the manifest lists h.
func (m *Manifest) Has(h Hash) bool {
	for _, o := range m.Objects {
		if o.Hash == h {
			return true
		}
	}
	return false
}

// Size is the total size of the image's objects in bytes.
func (m *Manifest) Size() int64 {
	var n int64
	for _, o := range m.Objects {
		n += o.Size
	}
	return n
}

// ContentHash identifies the image's content: the model, the data root and
// the objects, but not the database name, version or times.
func (m *Manifest) ContentHash() Hash {
	objs := slices.Clone(m.Objects)
	slices.SortFunc(objs, func(a, b ObjectRef) int { return compareHash(a.Hash, b.Hash) })
	h := sha256.New()
	h.Write(m.Model[:])
	h.Write(m.Data[:])
	var last Hash
	for i, o := range objs {
		if i > 0 && o.Hash == last {
			continue
		}
		last = o.Hash
		h.Write(o.Hash[:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

func compareHash(a, b Hash) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
