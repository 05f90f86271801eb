package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/meridian-olap/meridian/internal/image"
)

// pointerFormat is the format number of CURRENT files this package writes.
const pointerFormat = 1

// maxPointerSize bounds what is read of a CURRENT file: a valid one is
// about 120 bytes, so anything larger is garbage.
const maxPointerSize = 4 << 10

// maxManifestSize bounds what is read of a manifest file, so that garbage
// cannot make the catalog allocate without limit. A manifest entry takes
// about 110 bytes, so this allows millions of objects.
const maxManifestSize = 1 << 30

// pointer is the content of a CURRENT file: the committed version and the
// SHA-256 of its manifest file, so that the pointer also vouches for the
// manifest's bytes.
type pointer struct {
	Format   int        `json:"format"`
	Version  int64      `json:"version"`
	Manifest image.Hash `json:"manifest"`
}

func encodePointer(version int64, manifest []byte) []byte {
	b, _ := json.Marshal(pointer{Format: pointerFormat, Version: version, Manifest: sha256.Sum256(manifest)})
	return append(b, '\n')
}

// decodePointer parses a CURRENT file. It accepts exactly what
// encodePointer writes (fields in any order, unknown fields refused), so
// that a torn or foreign file is never mistaken for a pointer.
func decodePointer(b []byte) (pointer, error) {
	var p pointer
	if len(b) > maxPointerSize {
		return p, fmt.Errorf("%w: pointer file of %d bytes", ErrCorrupt, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("%w: pointer file: %v", ErrCorrupt, err)
	}
	if dec.More() {
		return p, fmt.Errorf("%w: pointer file: data after the JSON object", ErrCorrupt)
	}
	switch {
	case p.Format != pointerFormat:
		return p, fmt.Errorf("%w: pointer file format %d (this build reads %d)", ErrCorrupt, p.Format, pointerFormat)
	case p.Version < 1:
		return p, fmt.Errorf("%w: pointer file names version %d", ErrCorrupt, p.Version)
	case p.Manifest.IsZero():
		return p, fmt.Errorf("%w: pointer file has no manifest hash", ErrCorrupt)
	}
	return p, nil
}

// decodeManifest parses the manifest file of version v of the database
// and checks it against the pointer's hash when one is given.
func decodeManifest(b []byte, v int64, want *image.Hash) (*image.Manifest, error) {
	if want != nil && image.Hash(sha256.Sum256(b)) != *want {
		return nil, fmt.Errorf("%w: manifest %d does not match the hash in CURRENT", ErrCorrupt, v)
	}
	m, err := image.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %d: %w", ErrCorrupt, v, err)
	}
	if m.Version != v {
		return nil, fmt.Errorf("%w: manifest file %d holds version %d", ErrCorrupt, v, m.Version)
	}
	if err := checkName(m.Database); err != nil {
		return nil, fmt.Errorf("%w: manifest %d: %w", ErrCorrupt, v, err)
	}
	return m, nil
}
