package vfs

import (
	"errors"
	"io"
	"testing"
)

// scenario performs a fixed sequence of operations and returns the first
// error.
func scenario(fsys FS) error {
	if err := fsys.MkdirAll("/d", 0o755); err != nil {
		return err
	}
	f, err := fsys.Create("/d/tmp")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, "data"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename("/d/tmp", "/d/x"); err != nil {
		return err
	}
	return fsys.SyncDir("/d")
}

func TestTriggerCounts(t *testing.T) {
	tests := []struct {
		name  string
		kinds []OpKind
		want  int64
	}{
		{"all", nil, 7},
		{"mutating", MutatingOps, 6},
		{"syncs", []OpKind{OpSync, OpSyncDir}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := CrashAt(-1, tt.kinds...)
			if err := scenario(NewFaulty(NewMem(), tr)); err != nil {
				t.Fatal(err)
			}
			if got := tr.Count(); got != tt.want {
				t.Errorf("Count() = %d, want %d", got, tt.want)
			}
			if _, fired := tr.Fired(); fired {
				t.Error("a negative index fired")
			}
		})
	}
}

func TestFailAt(t *testing.T) {
	for i := range int64(7) {
		mem := NewMem()
		tr := FailAt(i)
		fsys := NewFaulty(mem, tr)
		err := scenario(fsys)
		if !errors.Is(err, ErrInjected) {
			t.Fatalf("FailAt(%d): scenario returned %v, want ErrInjected", i, err)
		}
		op, fired := tr.Fired()
		if !fired {
			t.Fatalf("FailAt(%d) did not fire", i)
		}
		// Only the one operation fails: the next one goes through.
		if err := fsys.MkdirAll("/after", 0o755); err != nil {
			t.Errorf("FailAt(%d) at %v: later operation failed: %v", i, op, err)
		}
	}
}

func TestCrashAt(t *testing.T) {
	for i := range int64(6) {
		mem := NewMem()
		tr := CrashAt(i, MutatingOps...)
		fsys := NewFaulty(mem, tr)
		if err := scenario(fsys); !errors.Is(err, ErrCrashed) {
			t.Fatalf("CrashAt(%d): scenario returned %v, want ErrCrashed", i, err)
		}
		// Every later operation fails, reads included.
		if _, err := fsys.Stat("/"); !errors.Is(err, ErrCrashed) {
			t.Errorf("CrashAt(%d): Stat after the crash: %v", i, err)
		}
		// The rename is mutating operation 4: it happens only when the
		// crash comes later.
		if _, err := mem.Stat("/d/x"); (err == nil) != (i > 4) {
			t.Errorf("CrashAt(%d): Stat of the renamed file: %v", i, err)
		}
	}
	// Past the end: nothing fires and the scenario completes.
	mem := NewMem()
	if err := scenario(NewFaulty(mem, CrashAt(6, MutatingOps...))); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, mem, "/d/x"); got != "data" {
		t.Errorf("read = %q, want data", got)
	}
	mem.Crash()
	// /d was never synced in the root, so the crash removed it.
	if _, err := mem.Stat("/d"); !IsNotExist(err) {
		t.Errorf("Stat /d after crash: %v, want not exist", err)
	}
}

func TestFaultyCloseAlwaysCloses(t *testing.T) {
	mem := NewMem()
	fsys := NewFaulty(mem, nil)
	f, err := fsys.Create("/x")
	if err != nil {
		t.Fatal(err)
	}
	fsys.SetInjector(FailAt(0, OpClose))
	if err := f.Close(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Close: %v, want ErrInjected", err)
	}
	if _, err := f.(*faultyFile).file.Write([]byte("x")); err == nil {
		t.Error("underlying file still open after an injected Close failure")
	}
}
