package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestWriteDirect checks that WriteDirect writes exactly the bytes given,
// whole blocks and tail, or declines and creates nothing, on the
// temporary directory's filesystem and, on Linux, on tmpfs (/dev/shm),
// which may not take direct I/O.
func TestWriteDirect(t *testing.T) {
	dirs := []string{t.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "vfs-direct-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs = append(dirs, d)
		}
	}
	// One large allocation, page-aligned as Go allocates large slices,
	// of which the cases take prefixes and offsets.
	buf := make([]byte, 3*directChunk+3*DirectAlign)
	for i := range buf {
		buf[i] = byte(i*7 + i>>11)
	}
	cases := []struct {
		name   string
		off, n int
		direct bool // on a filesystem with direct I/O
	}{
		{"below the minimum", 0, MinDirect - DirectAlign, false},
		{"whole blocks", 0, MinDirect, true},
		{"one chunk and a tail", 0, directChunk + 100, true},
		{"several chunks, whole blocks", 0, 2*directChunk + 5*DirectAlign, true},
		{"several chunks and a tail", 0, 3*directChunk + DirectAlign + 1, true},
		{"unaligned in memory", 8, MinDirect + 1, false},
	}
	for _, dir := range dirs {
		for _, tc := range cases {
			t.Run(filepath.Base(dir)+"/"+tc.name, func(t *testing.T) {
				data := buf[tc.off : tc.off+tc.n]
				name := filepath.Join(dir, "f")
				// A longer file there already must be truncated.
				if err := os.WriteFile(name, bytes.Repeat([]byte{1}, tc.n+5000), 0o644); err != nil {
					t.Fatal(err)
				}
				done, err := Default.(DirectWriter).WriteDirect(name, data)
				if err != nil {
					t.Fatal(err)
				}
				if !done {
					if tc.direct && runtime.GOOS == "linux" && dir == dirs[0] {
						t.Errorf("declined on %s", dir)
					}
					got, err := os.ReadFile(name)
					if err != nil || len(got) != tc.n+5000 {
						t.Errorf("declined, but the file changed: %d bytes, %v", len(got), err)
					}
					return
				}
				if !tc.direct {
					t.Errorf("wrote %d bytes at offset %d directly, want a refusal", tc.n, tc.off)
				}
				got, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("file holds %d bytes, not the %d written", len(got), len(data))
				}
			})
		}
	}
}

// TestWriteDirectMissingDir checks that a failed open is an error, not a
// refusal.
func TestWriteDirectMissingDir(t *testing.T) {
	buf := make([]byte, MinDirect)
	done, err := Default.(DirectWriter).WriteDirect(filepath.Join(t.TempDir(), "no", "f"), buf)
	if runtime.GOOS != "linux" {
		if done || err != nil {
			t.Errorf("got %v, %v; want a refusal off Linux", done, err)
		}
		return
	}
	if !IsNotExist(err) {
		t.Errorf("got %v, %v; want an error saying the directory does not exist", done, err)
	}
}
