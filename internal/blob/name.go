package blob

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on object names. Azure Blob Storage and S3 both allow 1024 bytes
// for a whole key; 255 bytes is the longest file name most file systems
// take, and the file backend stores each segment as one.
const (
	MaxNameLen    = 1024
	MaxSegmentLen = 255
)

// reservedPrefix starts the names the file backend keeps its own
// bookkeeping under (temporary files, metadata). Reserving it for every
// backend keeps the naming rules the same everywhere.
const reservedPrefix = ".meridian"

// ValidName reports whether name may be used as an object name, and if not
// why, as an error wrapping ErrInvalidName. The rules are in the package
// documentation; every Store method applies them.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes long, more than %d", ErrInvalidName, len(name), MaxNameLen)
	}
	if err := checkChars(name); err != nil {
		return err
	}
	if name[0] == '/' {
		return fmt.Errorf("%w: starts with /", ErrInvalidName)
	}
	for seg := range strings.SplitSeq(name, "/") {
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

// checkChars refuses what no backend stores faithfully: bytes that are not
// UTF-8, control characters (which also hide in logs and terminals), and
// backslashes (a path separator on Windows, escaped by some SDKs).
func checkChars(s string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return fmt.Errorf("%w: not valid UTF-8 at byte %d", ErrInvalidName, i)
			}
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return fmt.Errorf("%w: control character %U at byte %d", ErrInvalidName, r, i)
		case r == '\\':
			return fmt.Errorf("%w: backslash at byte %d", ErrInvalidName, i)
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("%w: empty segment (leading, trailing or double /)", ErrInvalidName)
	case seg == "." || seg == "..":
		return fmt.Errorf("%w: segment %q", ErrInvalidName, seg)
	case len(seg) > MaxSegmentLen:
		return fmt.Errorf("%w: segment of %d bytes, more than %d", ErrInvalidName, len(seg), MaxSegmentLen)
	case strings.HasSuffix(seg, "."):
		// Azure Blob Storage and several HTTP clients drop trailing dots
		// from path segments, so such a name may not round-trip.
		return fmt.Errorf("%w: segment %q ends with a dot", ErrInvalidName, seg)
	case strings.HasPrefix(seg, reservedPrefix):
		return fmt.Errorf("%w: segment %q starts with the reserved %q", ErrInvalidName, seg, reservedPrefix)
	}
	return nil
}

// validListPrefix checks a List prefix: "" or the start of a valid name.
// Every complete segment (before the last /) follows the name rules; the
// last, possibly partial, segment only the character rules.
func validListPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxNameLen {
		return fmt.Errorf("%w: prefix %d bytes long, more than %d", ErrInvalidName, len(prefix), MaxNameLen)
	}
	if err := checkChars(prefix); err != nil {
		return err
	}
	if prefix[0] == '/' {
		return fmt.Errorf("%w: prefix starts with /", ErrInvalidName)
	}
	dir, last := splitPrefix(prefix)
	if dir != "" {
		if err := ValidName(dir); err != nil {
			return err
		}
	}
	if len(last) > MaxSegmentLen {
		return fmt.Errorf("%w: prefix segment of %d bytes, more than %d", ErrInvalidName, len(last), MaxSegmentLen)
	}
	return nil
}

// splitPrefix splits a list prefix at its last slash: "a/b/c" gives "a/b"
// and "c", "a/b/" gives "a/b" and "".
func splitPrefix(prefix string) (dir, last string) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", prefix
	}
	return prefix[:i], prefix[i+1:]
}
