package blob_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/meridian-olap/meridian/internal/blob"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return `"` + hex.EncodeToString(h[:]) + `"`
}

func TestFileHandPlacedObjects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, "file://"+dir, blob.Options{})
	if err := os.MkdirAll(filepath.Join(dir, "copied"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "copied", "Sales.abf")
	if err := os.WriteFile(p, []byte("by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, a := get(t, s, "copied/Sales.abf")
	if data != "by hand" || a.ETag != sha("by hand") {
		t.Errorf("hand-placed file: %q, ETag %s", data, a.ETag)
	}
	// Edited in place, same size: the cached ETag must not be reused.
	if err := os.WriteFile(p, []byte("BY HAND"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "copied/Sales.abf")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag != sha("BY HAND") {
		t.Errorf("after an edit by hand, ETag %s, want %s", st.ETag, sha("BY HAND"))
	}
	// A conditional write against the edited content's ETag works.
	put(t, s, "copied/Sales.abf", "new", blob.PutOptions{IfMatch: st.ETag})
}

func TestFileLayout(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, "file://"+dir, blob.Options{})
	put(t, s, "a/b.txt", "plain bytes", blob.PutOptions{Metadata: map[string]string{"k": "v"}})
	// Objects are plain files that ordinary tools can copy out.
	raw, err := os.ReadFile(filepath.Join(dir, "a", "b.txt"))
	if err != nil || string(raw) != "plain bytes" {
		t.Fatalf("file on disk: %q, %v", raw, err)
	}
	if diff := cmp.Diff([]string{"a/b.txt"}, list(t, s, "")); diff != "" {
		t.Errorf("bookkeeping files listed (-want +got):\n%s", diff)
	}
	// Metadata outlives the Store.
	s.Close()
	s2 := mustOpen(t, "file://"+dir, blob.Options{})
	st, err := s2.Stat(context.Background(), "a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if st.Metadata["k"] != "v" || st.ETag != sha("plain bytes") {
		t.Errorf("after reopening: %+v", st)
	}
	// An object cannot also be a directory of objects here.
	if err := s2.WriteAll(context.Background(), "a/b.txt/c", []byte("x"), blob.PutOptions{}); err == nil {
		t.Error("put under an object's name succeeded")
	}
	if err := s2.WriteAll(context.Background(), "a", []byte("x"), blob.PutOptions{}); err == nil {
		t.Error("put over a directory of objects succeeded")
	}
}

// TestFileBookkeepingRecreated removes the bookkeeping directories under a
// live Store: they are made again when needed, and Open does not need
// them, so a read-only directory can be opened.
func TestFileBookkeepingRecreated(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, "file://"+dir, blob.Options{})
	put(t, s, "before", "1", blob.PutOptions{Metadata: map[string]string{"k": "v"}})
	for _, d := range []string{".meridian-tmp", ".meridian-meta"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	if data, a := get(t, s, "before"); data != "1" || a.ETag != sha("1") {
		t.Errorf("after losing the sidecars: %q %+v", data, a)
	}
	put(t, s, "after", "2", blob.PutOptions{Metadata: map[string]string{"k": "w"}})
	st, err := s.Stat(context.Background(), "after")
	if err != nil || st.Metadata["k"] != "w" {
		t.Errorf("stat after recreating: %+v, %v", st, err)
	}
}

func TestFileSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "filelink")); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, "file://"+dir, blob.Options{})
	ctx := context.Background()
	for _, n := range []string{"link/secret", "filelink"} {
		if _, _, err := s.Get(ctx, n); err == nil {
			t.Errorf("read %s through a symbolic link out of the store", n)
		}
		if err := s.WriteAll(ctx, n, []byte("x"), blob.PutOptions{}); err == nil && n == "link/secret" {
			t.Errorf("wrote %s through a symbolic link out of the store", n)
		}
	}
	if raw, _ := os.ReadFile(filepath.Join(outside, "secret")); string(raw) != "secret" {
		t.Errorf("file outside the store changed to %q", raw)
	}
}

func TestFileStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".meridian-tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, ".meridian-tmp", "leftover")
	fresh := filepath.Join(dir, ".meridian-tmp", "in-progress")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, "file://"+dir, blob.Options{})
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file removed: %v", err)
	}
}

// TestFileConditionalAcrossStores races writers through Stores opened on
// different directories of one tree: the lock is on the object's
// directory, so they still exclude each other.
func TestFileConditionalAcrossStores(t *testing.T) {
	dir := t.TempDir()
	outer := mustOpen(t, "file://"+dir, blob.Options{})
	put(t, outer, "sub/placeholder", "x", blob.PutOptions{})
	inner := mustOpen(t, "file://"+dir+"/sub", blob.Options{})
	for round := range 20 {
		name := fmt.Sprintf("lock%d", round)
		errs := make(chan error, 2)
		go func() {
			errs <- outer.WriteAll(context.Background(), "sub/"+name, []byte("outer"), blob.PutOptions{IfNotExists: true})
		}()
		go func() {
			errs <- inner.WriteAll(context.Background(), name, []byte("inner"), blob.PutOptions{IfNotExists: true})
		}()
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) {
			t.Fatalf("round %d: errors %v and %v, want exactly one success", round, e1, e2)
		}
		for _, err := range []error{e1, e2} {
			if err != nil && !errors.Is(err, blob.ErrExists) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// TestFileConditionalAcrossProcesses races writers in separate processes
// (this test binary, run again as a helper).
func TestFileConditionalAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("BLOB_HELPER_DIR"); dir != "" {
		helperWriter(dir, os.Getenv("BLOB_HELPER_ID"))
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const procs = 4
	dir := t.TempDir()
	mustOpen(t, "file://"+dir, blob.Options{})
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestFileConditionalAcrossProcesses$")
		cmds[i].Env = append(os.Environ(), "BLOB_HELPER_DIR="+dir, fmt.Sprintf("BLOB_HELPER_ID=%d", i))
		outs[i] = &strings.Builder{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Start them together: each waits for this file.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wins := map[string]int{}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
		for line := range strings.Lines(outs[i].String()) {
			if r, ok := strings.CutPrefix(strings.TrimSpace(line), "RESULT "); ok {
				wins[r]++
			}
		}
	}
	const rounds = 25
	for r := range rounds {
		if n := wins[fmt.Sprintf("round%d won", r)]; n != 1 {
			t.Errorf("round %d: %d winners, want 1 (results %v)", r, n, wins)
		}
	}
}

func helperWriter(dir, id string) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s, err := blob.Open(context.Background(), "file://"+dir, blob.Options{})
	if err != nil {
		fmt.Println("RESULT open failed:", err)
		return
	}
	defer s.Close()
	for r := range 25 {
		err := s.WriteAll(context.Background(), fmt.Sprintf("leases/round%d", r), []byte("holder "+id), blob.PutOptions{IfNotExists: true})
		switch {
		case err == nil:
			fmt.Printf("RESULT round%d won\n", r)
		case errors.Is(err, blob.ErrExists):
		default:
			fmt.Printf("RESULT round%d error %v\n", r, err)
		}
	}
}
