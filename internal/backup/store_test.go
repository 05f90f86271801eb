package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/blob"
)

func memStore(t *testing.T) *blob.Store {
	t.Helper()
	st, err := blob.Open(context.Background(), fmt.Sprintf("mem://%s/backups", strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")), blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	st := memStore(t)
	ti := newImage(t, 41, sizes(41, 20))
	created := time.Date(2026, 12, 24, 1, 2, 3, 0, time.UTC)
	md := Metadata{Server: "west", Created: created, MeridianVersion: "1.0", Database: "Sales EU/ünïcode",
		Labels: map[string]string{"schedule": "nightly run"}}
	opts := WriteOptions{Compress: true, Password: "pw", KDF: cheapKDF, Metadata: md}
	ws, err := WriteToStore(ctx, st, "Sales/a.mbak", ti.source(), opts, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = WriteToStore(ctx, st, "Sales/a.mbak", ti.source(), opts, false)
	if !errors.Is(err, blob.ErrExists) {
		t.Errorf("second write without overwrite: %v", err)
	}
	if _, err := WriteToStore(ctx, st, "Sales/a.mbak", ti.source(), opts, true); err != nil {
		t.Errorf("overwrite: %v", err)
	}
	if _, err := WriteToStore(ctx, st, "../escape.mbak", ti.source(), opts, true); !errors.Is(err, blob.ErrInvalidName) {
		t.Errorf("bad name: %v", err)
	}
	bad := ti.m.Objects[3].Hash
	_, err = WriteToStore(ctx, st, "Sales/broken.mbak", Source{Manifest: ti.m, Objects: lyingSource{ti.store, bad}}, opts, false)
	if err == nil || !strings.Contains(err.Error(), "does not match its hash") {
		t.Errorf("failing write: %v", err)
	}
	if ok, _ := st.Exists(ctx, "Sales/broken.mbak"); ok {
		t.Error("a failed backup left an object")
	}
	if err := st.WriteAll(ctx, "Sales/manual.abf", []byte("not ours"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	entries, err := List(ctx, st, "Sales/")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "Sales/a.mbak", Size: ws.ArchiveBytes, Known: true, Metadata: md, Encrypted: true, Compressed: true,
			ImageHash: ti.m.ContentHash().String(), ImageVersion: 7},
		{Name: "Sales/manual.abf", Size: 8},
	}
	if diff := cmp.Diff(want, entries, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ModTime" }, cmp.Ignore())); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	sink := newSink()
	info, err := ReadFromStore(ctx, st, "Sales/a.mbak", ReadOptions{Password: "pw"}, sink)
	if err != nil || len(sink.objects) != len(canonical(t, ti.m).Objects) {
		t.Fatalf("ReadFromStore: %v, %d objects", err, len(sink.objects))
	}
	if diff := cmp.Diff(md, info.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if _, err := ReadFromStore(ctx, st, "Sales/missing.mbak", ReadOptions{}, sink); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := ReadFromStore(ctx, st, "Sales/manual.abf", ReadOptions{}, sink); !errors.Is(err, ErrNotBackup) {
		t.Errorf("foreign object: %v", err)
	}
}

func TestBlobMetadataLimit(t *testing.T) {
	// A database name too long for blob metadata stays in the archive
	// only; the backup still succeeds.
	ctx := context.Background()
	st := memStore(t)
	ti := newImage(t, 42, nil)
	long := strings.Repeat("é", 500)
	if _, err := WriteToStore(ctx, st, "long.mbak", ti.source(), WriteOptions{Metadata: Metadata{Database: long, Server: "s"}}, false); err != nil {
		t.Fatal(err)
	}
	es, err := List(ctx, st, "")
	if err != nil || len(es) != 1 || !es[0].Known || es[0].Metadata.Database != "" || es[0].Metadata.Server != "s" {
		t.Fatalf("List: %v %+v", err, es)
	}
	var buf bytes.Buffer
	rc, _, _ := st.Get(ctx, "long.mbak")
	buf.ReadFrom(rc)
	rc.Close()
	info, err := Inspect(ctx, &buf, ReadOptions{})
	if err != nil || info.Metadata.Database != long {
		t.Errorf("Inspect: %v, database %q", err, info.Metadata.Database)
	}
}
