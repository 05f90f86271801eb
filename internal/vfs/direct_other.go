//go:build !linux

package vfs

// WriteDirect writes nothing: direct I/O is used on Linux only.
func (osFS) WriteDirect(string, []byte) (bool, error) { return false, nil }
