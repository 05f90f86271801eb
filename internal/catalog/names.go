package catalog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/value"
)

// MaxNameLen is the longest database name accepted, in bytes.
const MaxNameLen = 1024

// checkName accepts any non-empty valid UTF-8 name up to MaxNameLen bytes.
// Names never become paths (directories are named by an opaque id), so '/',
// '..' and the like are harmless; invalid UTF-8 is refused because JSON
// would silently replace it and the name would change on the next start.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty database name", ErrInvalid)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: database name of %d bytes (the limit is %d)", ErrInvalid, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: database name %q is not valid UTF-8", ErrInvalid, name)
	}
	return nil
}

// nameKey is the key under which names are compared: case-insensitively,
// with the collation of Analysis Services, where "Sales" and "SALES" name
// the same database.
func nameKey(name string) string { return value.FoldText(name) }

// newDirName returns a fresh directory name for a database: a readable
// prefix taken from the name (for people looking at the disk) and 16
// random hex digits that make it unique. The directory keeps its name when
// the database is renamed.
func newDirName(name string) string {
	return image.Slug(name, 24) + "-" + randomHex(8)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b)
}

// isDatabaseDir reports whether an entry of databases/ may be a database:
// deleted databases and temporary entries start with a dot.
func isDatabaseDir(name string) bool { return name != "" && name[0] != '.' }

const (
	tmpPrefix     = ".tmp-"
	deletedPrefix = ".deleted-"
	manifestExt   = ".json"
)

// manifestName is the file name of a version's manifest: 20 digits, so that
// names sort as versions do.
func manifestName(v int64) string { return fmt.Sprintf("%020d%s", v, manifestExt) }

// parseManifestName returns the version of a manifest file name, or false
// for any other name.
func parseManifestName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, manifestExt)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// objectDirName is the sub-directory of objects/ holding h: its first two
// hex digits, so that no directory grows beyond a few thousand entries.
func objectDirName(h image.Hash) string { return hex.EncodeToString(h[:1]) }

// parseObjectName returns the hash of an object file name in the
// directory dir, or false for any other name (temporary files included).
func parseObjectName(dir, name string) (image.Hash, bool) {
	if len(name) != 64 || len(dir) != 2 || name[:2] != dir || strings.ToLower(name) != name {
		return image.Hash{}, false
	}
	h, err := image.ParseHash(name)
	if err != nil {
		return image.Hash{}, false
	}
	return h, true
}

// isObjectDirName reports whether name is two lower-case hex digits.
func isObjectDirName(name string) bool {
	if len(name) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
