package image

import (
	"context"
	"fmt"
	"sync"
)

// MemStore keeps objects in memory. It is the object store of tests and of
// images being built before they are committed.
type MemStore struct {
	mu      sync.RWMutex
	objects map[Hash][]byte
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{objects: make(map[Hash][]byte)} }

// ReadObject returns a copy of the object.
func (s *MemStore) ReadObject(_ context.Context, h Hash) ([]byte, error) {
	s.mu.RLock()
	b, ok := s.objects[h]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, h)
	}
	return append([]byte(nil), b...), nil
}

// WriteObject stores a copy of data.
func (s *MemStore) WriteObject(_ context.Context, kind string, data []byte) (ObjectRef, error) {
	h := Sum(data)
	s.mu.Lock()
	if _, ok := s.objects[h]; !ok {
		s.objects[h] = append([]byte(nil), data...)
	}
	s.mu.Unlock()
	return ObjectRef{Hash: h, Size: int64(len(data)), Kind: kind}, nil
}

// Len returns the number of objects held.
func (s *MemStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}
