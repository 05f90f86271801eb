package server

import (
	"os"
	"sync"
	"testing"
)

// TestMain removes the data directories the benchmarks share across
// sub-benchmarks (built once per process, about a gigabyte each) once
// every test and benchmark is done.
func TestMain(m *testing.M) {
	code := m.Run()
	benchDirs.Lock()
	for _, d := range benchDirs.paths {
		os.RemoveAll(d)
	}
	benchDirs.Unlock()
	os.Exit(code)
}

var benchDirs struct {
	sync.Mutex
	paths []string
}

// benchTempDir makes a directory that outlives one benchmark (b.TempDir
// does not) and is removed when the process ends.
func benchTempDir(prefix string) (string, error) {
	d, err := os.MkdirTemp("", prefix)
	if err == nil {
		benchDirs.Lock()
		benchDirs.paths = append(benchDirs.paths, d)
		benchDirs.Unlock()
	}
	return d, err
}
