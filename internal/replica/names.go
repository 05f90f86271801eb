package replica

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/value"
)

// MaxNameLen is the longest database or holder name accepted, in bytes,
// the catalog's limit.
const MaxNameLen = 1024

// Object names in the store, relative to Options.Prefix. The layout is
// documented in doc.go and docs/formats.md.
const (
	objectsDir   = "objects/"
	manifestsDir = "manifests/"
	databasesDir = "db/"
	pointerFile  = "LATEST"
	leaseName    = "LEASE"
	clockDir     = "clock/"
)

// slugLen bounds the readable part of a key.
const slugLen = 32

// Key returns the name under which a database is kept in the store: a
// readable slug of the name and 32 hex digits of the SHA-256 of its
// case-folded form, e.g. "sales-2024-1b4f…". Names that differ only in
// case name the same database (as in Analysis Services) and get the same
// key; any name the catalog accepts (slashes, dots, spaces, any script)
// gives a key that is a single safe object-name segment, so no name can
// reach outside its directory.
func Key(db string) (string, error) {
	if err := checkName("database", db); err != nil {
		return "", err
	}
	folded := value.FoldText(db)
	sum := sha256.Sum256([]byte(folded))
	slug := image.Slug(folded, slugLen)
	return slug + "-" + hex.EncodeToString(sum[:16]), nil
}

// checkName accepts non-empty valid UTF-8 up to MaxNameLen bytes: what
// the catalog accepts for database names (a name only ever appears inside
// JSON, and hashed in keys). Holder names, which are server names, must
// also be free of control characters.
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s name", ErrInvalid, what)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %s name of %d bytes (the limit is %d)", ErrInvalid, what, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", ErrInvalid, what, name)
	case what == "database":
		return nil
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
			return fmt.Errorf("%w: %s name %q has a control character", ErrInvalid, what, name)
		}
	}
	return nil
}

func objectName(h image.Hash) string { return objectsDir + h.String() }

func pointerName(key string) string { return databasesDir + key + "/" + pointerFile }

// manifestName includes the manifest's hash so that two publishers that
// race to publish different images under one version never overwrite
// each other's manifest: the pointer that wins names bytes that stay put.
func manifestName(key string, version int64, h image.Hash) string {
	return fmt.Sprintf("%s%s/%020d-%s.json", manifestsDir, key, version, h)
}

// parsePointerName returns the key of "db/<key>/LATEST".
func parsePointerName(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, databasesDir)
	if !ok {
		return "", false
	}
	key, file, ok := strings.Cut(rest, "/")
	if !ok || file != pointerFile || key == "" {
		return "", false
	}
	return key, true
}

// parseObjectName returns the hash of "objects/<hash>".
func parseObjectName(name string) (image.Hash, bool) {
	rest, ok := strings.CutPrefix(name, objectsDir)
	if !ok || len(rest) != 2*sha256.Size || strings.ToLower(rest) != rest {
		return image.Hash{}, false
	}
	h, err := image.ParseHash(rest)
	return h, err == nil
}
