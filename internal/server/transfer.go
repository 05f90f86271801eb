package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/meridian-olap/meridian/internal/image"
)

// The read-only endpoints another server's synchronize pulls an image
// through (synchronize.go):
//
//	GET /images/{db}      the manifest of the database's current version
//	                      (image.Manifest.Marshal); headers
//	                      X-Meridian-Version and X-Meridian-Image-Hash
//	GET /objects/{hash}   one object's bytes, by the lower-case hex SHA-256
//	                      that names it; the receiver verifies the hash
//
// Objects are content-addressed and never change, so an object answer
// may be cached for ever. The source does not pin the version between
// the two requests: an object of a version the source has since
// collected answers 404, and the puller starts again from the manifest.

// getImage answers the manifest of a database's current version.
func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	v, err := s.m.Current(r.PathValue("db"))
	if err != nil {
		writeError(w, err)
		return
	}
	if v.Err != nil && errors.Is(v.Err, ErrUnavailable) {
		// Its image could not be loaded at start: it may be damaged.
		writeError(w, v.Err)
		return
	}
	body, err := v.Manifest.Marshal()
	if err != nil {
		writeError(w, fmt.Errorf("encode the manifest of %q: %w", v.Name, err))
		return
	}
	w.Header().Set("X-Meridian-Version", strconv.FormatInt(v.Manifest.Version, 10))
	w.Header().Set("X-Meridian-Image-Hash", v.Manifest.ContentHash().String())
	writeRaw(w, http.StatusOK, body)
}

// getObject answers one object's bytes.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("hash")
	h, err := parseObjectHash(raw)
	if err != nil {
		writeError(w, err)
		return
	}
	data, err := s.m.cat.ReadObject(r.Context(), h)
	switch {
	case errors.Is(err, image.ErrNotFound):
		writeError(w, fmt.Errorf("%w: %s", ErrNoObject, h))
		return
	case err != nil:
		writeError(w, fmt.Errorf("read object %s: %w", h, err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// parseObjectHash accepts exactly 64 lower-case hex digits.
func parseObjectHash(s string) (image.Hash, error) {
	if len(s) != 64 {
		return image.Hash{}, fmt.Errorf("%w: object name %.80q is not 64 lower-case hex digits", ErrBadRequest, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return image.Hash{}, fmt.Errorf("%w: object name %.80q is not 64 lower-case hex digits", ErrBadRequest, s)
		}
	}
	h, err := image.ParseHash(s)
	if err != nil {
		return image.Hash{}, fmt.Errorf("%w: object name %q: %v", ErrBadRequest, s, err)
	}
	return h, nil
}
