package image

import (
	"strings"
	"unicode/utf8"
)

// Slug returns a readable, path-safe form of a name for the folders and
// keys that hold a database (for people looking at a disk or a store):
// lower-case ASCII letters, digits and underscores, every other run of
// characters one dash, at most maxLen bytes, "db" when nothing is left.
// It is not unique: callers add a random or hashed suffix.
func Slug(name string, maxLen int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if b.Len() >= maxLen {
			break
		}
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	if s := strings.TrimRight(b.String(), "-"); s != "" {
		return s
	}
	return "db"
}
