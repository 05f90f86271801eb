package catalog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

var (
	_ image.ObjectReader = (*Catalog)(nil)
	_ image.ObjectReader = (*Txn)(nil)
	_ image.ObjectWriter = (*Txn)(nil)
)

func TestTxnReadObject(t *testing.T) {
	ctx := context.Background()
	c, _ := openMem(t, Options{})
	old := commit(t, c, "Sales", spec("a", 1))
	txn, err := c.Begin(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	ref, err := txn.WriteObject(ctx, image.KindSegment, []byte("new object"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadObject(ctx, ref.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("Catalog.ReadObject of an uncommitted object: %v, want ErrNotFound", err)
	}
	for _, h := range []image.Hash{ref.Hash, old.Model} {
		if _, err := txn.ReadObject(ctx, h); err != nil {
			t.Errorf("Txn.ReadObject %s: %v", h, err)
		}
	}
	if b, _ := txn.ReadObject(ctx, ref.Hash); string(b) != "new object" {
		t.Errorf("Txn.ReadObject = %q", b)
	}
	if _, err := txn.ReadObject(ctx, image.Sum([]byte("nothing"))); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("Txn.ReadObject of a missing object: %v", err)
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := Open(context.Background(), Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open without a directory: %v, want ErrInvalid", err)
	}
	// The default filesystem is the real one.
	dir := filepath.Join(t.TempDir(), "nested", "data")
	c, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Dir(); got != dir {
		t.Errorf("Dir() = %q", got)
	}
	if got := files(t, vfs.Default, dir); !cmp.Equal(got, []string{"LOCK", "databases/", "objects/"}) {
		t.Errorf("new data directory holds %q", got)
	}
}

func TestLock(t *testing.T) {
	for name, fsys := range map[string]vfs.FS{"os": vfs.Default, "mem": vfs.NewMem()} {
		t.Run(name, func(t *testing.T) {
			dir := memDir
			if fsys == vfs.Default {
				dir = t.TempDir()
			}
			c := openAt(t, fsys, dir, Options{})
			if _, err := Open(context.Background(), Options{FS: fsys, Dir: dir}); !errors.Is(err, ErrLocked) {
				t.Fatalf("second Open: %v, want ErrLocked", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c2 := openAt(t, fsys, dir, Options{})
			c2.Close()
		})
	}
}

func TestCommitAndReopen(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{KeepVersions: 2})
	if got := c.Databases(); len(got) != 0 {
		t.Fatalf("new catalog lists %v", got)
	}
	var versions []*image.Manifest
	for i, s := range []imageSpec{spec("a", 0), spec("b", 3), spec("c", 5)} {
		before := time.Now()
		m := commit(t, c, "Sales", s)
		if m.Version != int64(i+1) || m.Database != "Sales" || m.Format != image.FormatVersion {
			t.Errorf("commit %d filled in version %d, database %q, format %d", i, m.Version, m.Database, m.Format)
		}
		if m.CommitTime.Before(before.Add(-time.Second)) || m.CommitTime.Location() != time.UTC {
			t.Errorf("commit time %v", m.CommitTime)
		}
		got, err := c.Current("Sales")
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, got)
		checkImage(t, c, got)
	}
	commit(t, c, "Other", spec("a", 1)) // shares the model object of Sales v1

	wantList := func(c *Catalog) {
		t.Helper()
		var names []string
		for _, e := range c.Databases() {
			names = append(names, e.Name)
		}
		if diff := cmp.Diff([]string{"Other", "Sales"}, names); diff != "" {
			t.Errorf("Databases (-want +got):\n%s", diff)
		}
		h, err := c.History("sales")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(versions[1:], h); diff != "" {
			t.Errorf("History (-want +got):\n%s", diff)
		}
	}
	wantList(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := openAt(t, mem, memDir, Options{KeepVersions: 2})
	defer c2.Close()
	wantList(c2)
	checkImage(t, c2, versions[2])
	for _, m := range versions[1:] {
		checkObjects(t, c2, m)
	}
	if _, err := c2.Current("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Current of a missing database: %v", err)
	}
	if _, err := c2.History("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History of a missing database: %v", err)
	}
	// The version numbers continue after a restart.
	if m := commit(t, c2, "Sales", spec("d", 1)); m.Version != 4 {
		t.Errorf("version after reopen = %d, want 4", m.Version)
	}
	_ = ctx
}

func TestBusy(t *testing.T) {
	ctx := context.Background()
	c, _ := openMem(t, Options{})
	txn, err := c.Begin(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sales", "SALES", "sales"} {
		if _, err := c.Begin(ctx, name); !errors.Is(err, ErrBusy) {
			t.Errorf("Begin %q while busy: %v, want ErrBusy", name, err)
		}
	}
	if err := c.Delete(ctx, "sales"); !errors.Is(err, ErrBusy) {
		t.Errorf("Delete while busy: %v, want ErrBusy", err)
	}
	if err := c.Rename(ctx, "Other", "SALES"); !errors.Is(err, ErrBusy) {
		t.Errorf("Rename onto a busy name: %v, want ErrBusy", err)
	}
	other, err := c.Begin(ctx, "Other")
	if err != nil {
		t.Fatalf("Begin of another database: %v", err)
	}
	other.Abort()
	txn.Abort()
	txn.Abort() // idempotent
	txn2, err := c.Begin(ctx, "sales")
	if err != nil {
		t.Fatalf("Begin after Abort: %v", err)
	}
	m := spec("a", 1).write(t, txn2)
	if _, err := txn2.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Begin(ctx, "Sales"); err != nil {
		t.Errorf("Begin after Commit: %v", err)
	}
}

func TestWaitForWriter(t *testing.T) {
	ctx := context.Background()
	c, _ := openMem(t, Options{WaitForWriter: true})
	txn, err := c.Begin(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Begin(short, "Sales"); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin with a cancelled context while busy: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		txn2, err := c.Begin(ctx, "Sales")
		if err == nil {
			txn2.Abort()
		}
		got <- err
	}()
	m := spec("a", 1).write(t, txn)
	if _, err := txn.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("waiting Begin: %v", err)
	}
}

func TestCommitErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := openMem(t, Options{})
	base := commit(t, c, "Sales", spec("a", 2))
	stranger := image.Sum([]byte("never written"))
	tests := []struct {
		name    string
		replica bool
		edit    func(m *image.Manifest) *image.Manifest
		want    error
	}{
		{"nil manifest", false, func(*image.Manifest) *image.Manifest { return nil }, ErrInvalid},
		{"no model", false, func(m *image.Manifest) *image.Manifest { m.Model = image.Hash{}; return m }, ErrInvalid},
		{"object not held", false, func(m *image.Manifest) *image.Manifest {
			m.Objects = append(m.Objects, image.ObjectRef{Hash: stranger, Size: 13})
			return m
		}, ErrInvalid},
		{"object with another size", false, func(m *image.Manifest) *image.Manifest {
			m.Objects[0].Size++
			return m
		}, ErrInvalid},
		{"replica version not above current", true, func(m *image.Manifest) *image.Manifest {
			m.Version = base.Version
			return m
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txn, err := c.Begin(ctx, "Sales")
			if err != nil {
				t.Fatal(err)
			}
			m := tt.edit(spec("b", 1).write(t, txn))
			if tt.replica {
				_, err = txn.CommitReplica(ctx, m)
			} else {
				_, err = txn.Commit(ctx, m)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Commit: %v, want %v", err, tt.want)
			}
			// A failed commit ends the transaction and changes nothing.
			if _, err := txn.Commit(ctx, m); !errors.Is(err, ErrClosed) {
				t.Errorf("second Commit: %v, want ErrClosed", err)
			}
			if _, err := txn.WriteObject(ctx, image.KindData, []byte("x")); !errors.Is(err, ErrClosed) {
				t.Errorf("WriteObject after the end: %v, want ErrClosed", err)
			}
			checkImage(t, c, base)
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		txn, err := c.Begin(ctx, "Sales")
		if err != nil {
			t.Fatal(err)
		}
		m := spec("b", 1).write(t, txn)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := txn.Commit(cctx, m); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit: %v, want context.Canceled", err)
		}
		checkImage(t, c, base)
	})
}

func TestCommitReplica(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{})
	primary := time.Date(2026, 11, 25, 22, 40, 0, 0, time.UTC)
	txn, err := c.Begin(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	m := spec("a", 2).write(t, txn)
	m.Version, m.CommitTime = 17, primary
	if v, err := txn.CommitReplica(ctx, m); err != nil || v != 17 {
		t.Fatalf("CommitReplica = %d, %v", v, err)
	}
	got, _ := c.Current("Sales")
	if got.Version != 17 || !got.CommitTime.Equal(primary) {
		t.Errorf("replica commit stored version %d at %v", got.Version, got.CommitTime)
	}
	c.Close()
	c2 := openAt(t, mem, memDir, Options{})
	defer c2.Close()
	checkImage(t, c2, got)
	if m := commit(t, c2, "Sales", spec("b", 1)); m.Version != 18 {
		t.Errorf("next version = %d, want 18", m.Version)
	}
}

func TestNames(t *testing.T) {
	c, mem := openMem(t, Options{})
	good := []string{
		"Sales", "../../etc/passwd", "a/b\\c", " spaced  name ", ".hidden", "..", "CON",
		"日本語のデータベース", "emoji 🎉", "tab\tand\nnewline", strings.Repeat("é", MaxNameLen/2),
	}
	want := map[string]*image.Manifest{}
	for i, name := range good {
		want[name] = commit(t, c, name, spec(string(rune('a'+i)), 1))
	}
	c.Close()
	c2 := openAt(t, mem, memDir, Options{})
	defer c2.Close()
	for _, name := range good {
		checkImage(t, c2, want[name])
	}
	// Every database directory is inside databases/, whatever the name.
	for _, f := range files(t, mem, memDir) {
		top, _, _ := strings.Cut(f, "/")
		if strings.Count(f, "/") > 4 || (top != "objects" && top != "databases" && top != "LOCK") {
			t.Errorf("unexpected path %q", f)
		}
	}
	bad := []string{"", "\xff\xfe", strings.Repeat("x", MaxNameLen+1)}
	for _, name := range bad {
		if _, err := c2.Begin(context.Background(), name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Begin %q: %v, want ErrInvalid", name, err)
		}
		if err := c2.Delete(context.Background(), name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Delete %q: %v, want ErrInvalid", name, err)
		}
	}
}

func TestCaseInsensitiveNames(t *testing.T) {
	c, _ := openMem(t, Options{})
	commit(t, c, "Sales", spec("a", 1))
	m := commit(t, c, "SALES", spec("b", 1))
	if m.Database != "Sales" || m.Version != 2 {
		t.Errorf("commit under another case: database %q version %d", m.Database, m.Version)
	}
	if got := c.Databases(); len(got) != 1 {
		t.Errorf("Databases lists %d entries", len(got))
	}
	if _, err := c.Current("sAlEs"); err != nil {
		t.Errorf("Current in another case: %v", err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{})
	sales := commit(t, c, "Sales", spec("a", 3))
	other := commit(t, c, "Other", spec("b", 2))
	if err := c.Delete(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete missing: %v", err)
	}
	if err := c.Delete(ctx, "SALES"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Current("Sales"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Current after Delete: %v", err)
	}
	// Objects stay until GC.
	checkObjects(t, c, sales)
	n, size, err := c.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(sales.Objects) || size != sales.Size() {
		t.Errorf("GC removed %d files of %d bytes, want %d of %d", n, size, len(sales.Objects), sales.Size())
	}
	for _, o := range sales.Objects {
		if c.HasObject(o.Hash) {
			t.Errorf("object %s kept", o.Hash)
		}
	}
	checkClean(t, c, mem, memDir)
	// A new database of the same name starts again.
	if m := commit(t, c, "Sales", spec("c", 1)); m.Version != 1 {
		t.Errorf("recreated database at version %d", m.Version)
	}
	c.Close()
	c2 := openAt(t, mem, memDir, Options{})
	defer c2.Close()
	checkImage(t, c2, other)
	if got, _ := c2.Current("Sales"); got == nil || got.Version != 1 {
		t.Errorf("recreated database after reopen: %+v", got)
	}
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{})
	sales := commit(t, c, "Sales", spec("a", 2))
	commit(t, c, "Other", spec("b", 1))
	if err := c.Rename(ctx, "Sales", "other"); !errors.Is(err, ErrExists) {
		t.Errorf("Rename onto an existing name: %v, want ErrExists", err)
	}
	if err := c.Rename(ctx, "missing", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Rename of a missing database: %v", err)
	}
	if err := c.Rename(ctx, "sales", "Revenue"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Current("Sales"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name after Rename: %v", err)
	}
	got, err := c.Current("revenue")
	if err != nil {
		t.Fatal(err)
	}
	if got.Database != "Revenue" || got.Version != 2 || got.ContentHash() != sales.ContentHash() {
		t.Errorf("renamed: %q version %d", got.Database, got.Version)
	}
	// A change of case only is a rename too.
	if err := c.Rename(ctx, "revenue", "REVENUE"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(ctx, "REVENUE", "REVENUE"); err != nil {
		t.Errorf("Rename to the same name: %v", err)
	}
	got, _ = c.Current("Revenue")
	if got.Database != "REVENUE" || got.Version != 3 {
		t.Errorf("case rename: %q version %d", got.Database, got.Version)
	}
	c.Close()
	c2 := openAt(t, mem, memDir, Options{})
	defer c2.Close()
	checkImage(t, c2, got)
	if _, _, err := c2.GC(ctx); err != nil {
		t.Fatal(err)
	}
	checkClean(t, c2, mem, memDir)
	checkImage(t, c2, got)
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{KeepVersions: 2})
	commit(t, c, "Sales", spec("v1", 2))
	v2 := commit(t, c, "Sales", spec("v2", 2))
	v3 := commit(t, c, "Sales", spec("v3", 2))

	// A live transaction's objects survive GC, written or checked.
	txn, err := c.Begin(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	pending := spec("v4", 3).write(t, txn)
	v1Data := image.Sum([]byte(spec("v1", 2).data[0]))
	if !c.HasObject(v1Data) {
		t.Fatal("v1's object already gone")
	}
	if !txn.HasObject(v1Data) {
		t.Fatal("Txn.HasObject of a held object = false")
	}
	n, _, err := c.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// v1's manifest, its model and its other data object go.
	if n != 3 {
		t.Errorf("GC removed %d files, want 3", n)
	}
	if !c.HasObject(v1Data) {
		t.Error("GC removed an object a transaction checked")
	}
	pending.Objects = append(pending.Objects, image.ObjectRef{Hash: v1Data, Size: int64(len(spec("v1", 2).data[0]))})
	// The commit finds the objects the transaction wrote before GC ran.
	if _, err := txn.Commit(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if n, _, err := c.GC(ctx); err != nil || n != 1+len(v2.Objects) {
		// v2's manifest and objects go; v3 and v4 stay.
		t.Errorf("second GC removed %d, %v; want %d", n, err, 1+len(v2.Objects))
	}
	checkImage(t, c, pending)
	checkObjects(t, c, v3)
	checkClean(t, c, mem, memDir)

	// Abort removes what the transaction wrote.
	txn, _ = c.Begin(ctx, "Sales")
	aborted := spec("v5", 2).write(t, txn)
	txn.Abort()
	if _, err := txn.Commit(ctx, aborted); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Abort: %v", err)
	}
	checkClean(t, c, mem, memDir)
	if n, size, err := c.GC(ctx); n != 0 || size != 0 || err != nil {
		t.Errorf("GC with nothing to do = %d, %d, %v", n, size, err)
	}
}

func TestGCLeftovers(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{})
	m := commit(t, c, "Sales", spec("a", 2))
	c.Close()
	// What crashes and failed commits leave behind.
	write := func(p, content string) {
		t.Helper()
		p = filepath.Join(memDir, p)
		if err := mem.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := mem.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(content))
		f.Close()
	}
	c = openAt(t, mem, memDir, Options{})
	dbDir := c.dbs[nameKey("Sales")].dir
	c.Close()
	orphan := image.Sum([]byte("orphan"))
	write("objects/"+orphan.String()[:2]+"/"+orphan.String(), "orphan")
	write("objects/ab/.tmp-dead-1", "partial")
	write("databases/"+dbDir+"/.tmp-dead-2", "partial pointer")
	write("databases/"+dbDir+"/manifests/.tmp-dead-3", "partial manifest")
	write("databases/"+dbDir+"/manifests/"+manifestName(9), "never committed")
	write("databases/abandoned-0123456789abcdef/manifests/.tmp-dead-4", "first commit")
	write("databases/.deleted-old-0123456789abcdef/CURRENT", "deleted")
	write("objects/readme.txt", "not ours")
	c = openAt(t, mem, memDir, Options{})
	defer c.Close()
	checkImage(t, c, m)
	n, _, err := c.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// orphan, 3 temporary files, manifest 9, the abandoned directory
	// (three entries) and the deleted one (two).
	if n != 1+3+1+3+2 {
		t.Errorf("GC removed %d", n)
	}
	checkClean(t, c, mem, memDir)
	checkImage(t, c, m)
	if _, err := mem.Stat(filepath.Join(memDir, "objects/readme.txt")); err != nil {
		t.Errorf("GC removed a file it does not own: %v", err)
	}
	// The version numbers skip the one a failed commit attempted.
	if got := commit(t, c, "Sales", spec("b", 1)); got.Version != 10 {
		t.Errorf("next version = %d, want 10", got.Version)
	}
}

func TestReadObject(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{})
	m := commit(t, c, "Sales", spec("a", 1))
	missing := image.Sum([]byte("missing"))
	if _, err := c.ReadObject(ctx, missing); !errors.Is(err, ErrNotFound) || !errors.Is(err, image.ErrNotFound) {
		t.Errorf("ReadObject of a missing object: %v", err)
	}
	h := m.Objects[0].Hash
	f, err := mem.Create(c.objectPath(h))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, m.Objects[0].Size)
	f.Write(b)
	f.Close()
	if _, err := c.ReadObject(ctx, h); !errors.Is(err, ErrCorrupt) || !errors.Is(err, image.ErrHashMismatch) {
		t.Errorf("ReadObject of a damaged object: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.ReadObject(cctx, h); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadObject with a cancelled context: %v", err)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	c, _ := openMem(t, Options{})
	m := commit(t, c, "Sales", spec("a", 1))
	txn, err := c.Begin(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checks := map[string]error{
		"Begin":  func() error { _, err := c.Begin(ctx, "x"); return err }(),
		"Delete": c.Delete(ctx, "Sales"),
		"Rename": c.Rename(ctx, "Sales", "x"),
		"GC":     func() error { _, _, err := c.GC(ctx); return err }(),
		"Current": func() error {
			_, err := c.Current("Sales")
			return err
		}(),
		"ReadObject": func() error { _, err := c.ReadObject(ctx, m.Model); return err }(),
		"WriteObject": func() error {
			_, err := txn.WriteObject(ctx, image.KindData, []byte("x"))
			return err
		}(),
		"Commit": func() error { _, err := txn.Commit(ctx, m); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if c.HasObject(m.Model) {
		t.Error("HasObject after Close = true")
	}
}

// TestParallelWrites writes objects into one transaction from several
// goroutines, the same objects from several of them, as encoders do.
func TestParallelWrites(t *testing.T) {
	ctx := context.Background()
	c, mem := openMem(t, Options{})
	txn, err := c.Begin(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	model, err := txn.WriteObject(ctx, image.KindModel, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	refs := make([][]image.ObjectRef, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Half the objects are written by every worker.
				data := fmt.Sprintf("object %d of worker %d", i, w)
				if i%2 == 0 {
					data = fmt.Sprintf("shared object %d", i)
				}
				ref, err := txn.WriteObject(ctx, image.KindSegment, []byte(data))
				if err != nil {
					t.Error(err)
					return
				}
				refs[w] = append(refs[w], ref)
			}
		}()
	}
	wg.Wait()
	m := &image.Manifest{Model: model.Hash, Objects: []image.ObjectRef{model}}
	for _, r := range refs {
		m.Objects = append(m.Objects, r...)
	}
	if _, err := txn.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	if want := 1 + workers*each/2 + each/2; len(m.Objects) != want {
		t.Errorf("%d distinct objects committed, want %d", len(m.Objects), want)
	}
	checkImage(t, c, m)
	checkClean(t, c, mem, memDir)
}

// TestLargeObjectsOnDisk commits objects large enough to be written past
// the page cache (vfs.DirectWriter), whole blocks and not, to a real
// directory, and reopens the catalog hashing every object.
func TestLargeObjectsOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := spec("large", 0)
	for i, n := range []int{vfs.MinDirect, vfs.MinDirect + 1, 5<<20 + 4095, 9 << 20} {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(j*31 + i)
		}
		s.data = append(s.data, string(b))
	}
	c := openAt(t, vfs.Default, dir, Options{})
	m := commit(t, c, "Large", s)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openAt(t, vfs.Default, dir, Options{Verify: true})
	defer c.Close()
	checkImage(t, c, m)
	for i, d := range s.data {
		b, err := c.ReadObject(context.Background(), image.Sum([]byte(d)))
		if err != nil || string(b) != d {
			t.Errorf("object %d: %d bytes back, %v", i, len(b), err)
		}
	}
}
