package catalog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/vfs"
)

// writeVerified stores the spec's objects through WriteVerified, as a
// restore does, and returns the manifest listing them.
func (s imageSpec) writeVerified(ctx context.Context, txn *Txn) (*image.Manifest, error) {
	put := func(kind, data string) (image.ObjectRef, error) {
		b := []byte(data)
		v, err := image.VerifyObject(image.ObjectRef{Hash: image.Sum(b), Size: int64(len(b)), Kind: kind}, b)
		if err != nil {
			return image.ObjectRef{}, err
		}
		return txn.WriteVerified(ctx, v)
	}
	model, err := put(image.KindModel, s.model)
	if err != nil {
		return nil, err
	}
	m := &image.Manifest{State: image.StateNoData, Model: model.Hash, Objects: []image.ObjectRef{model}}
	for _, d := range s.data {
		ref, err := put(image.KindSegment, d)
		if err != nil {
			return nil, err
		}
		m.Objects = append(m.Objects, ref)
	}
	if len(s.data) > 0 {
		m.State, m.Data = image.StateReady, m.Objects[1].Hash
	}
	return m, nil
}

// restoreSpec commits s the way a restore does: objects synced ahead
// and written as verified.
func restoreSpec(ctx context.Context, c *Catalog, name string, s imageSpec) error {
	txn, err := c.Begin(ctx, name)
	if err != nil {
		return err
	}
	defer txn.Abort()
	txn.SyncAhead()
	m, err := s.writeVerified(ctx, txn)
	if err != nil {
		return err
	}
	_, err = txn.Commit(ctx, m)
	return err
}

func TestWriteVerified(t *testing.T) {
	ctx := context.Background()
	t.Run("committed under the verified hash", func(t *testing.T) {
		c, _ := openMem(t, Options{})
		if err := restoreSpec(ctx, c, "Sales", spec("v1", 4)); err != nil {
			t.Fatal(err)
		}
		m, err := c.Current("Sales")
		if err != nil {
			t.Fatal(err)
		}
		checkObjects(t, c, m) // ReadObject hashes what is on disk
		want := commit(t, c, "Copy", spec("v1", 4))
		if m.ContentHash() != want.ContentHash() {
			t.Errorf("content hash %s, the same image through WriteObject gives %s", m.ContentHash(), want.ContentHash())
		}
	})
	t.Run("zero value refused", func(t *testing.T) {
		c, _ := openMem(t, Options{})
		txn, err := c.Begin(ctx, "Sales")
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Abort()
		if _, err := txn.WriteVerified(ctx, image.Verified{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("WriteVerified(zero) = %v, want ErrInvalid", err)
		}
	})
	for _, tc := range []struct {
		name string
		ref  func(b []byte) image.ObjectRef
	}{
		{"wrong hash", func(b []byte) image.ObjectRef {
			return image.ObjectRef{Hash: image.Sum([]byte("other")), Size: int64(len(b))}
		}},
		{"wrong size", func(b []byte) image.ObjectRef { return image.ObjectRef{Hash: image.Sum(b), Size: int64(len(b)) + 1} }},
	} {
		t.Run("VerifyObject refuses a "+tc.name, func(t *testing.T) {
			b := []byte("segment bytes")
			v, err := image.VerifyObject(tc.ref(b), b)
			if !errors.Is(err, image.ErrHashMismatch) || !v.IsZero() {
				t.Fatalf("VerifyObject = %v, %v; want a zero value and ErrHashMismatch", v, err)
			}
		})
	}
}

func TestSyncAhead(t *testing.T) {
	ctx := context.Background()
	t.Run("objects synced before commit", func(t *testing.T) {
		c, _ := openMem(t, Options{})
		txn, err := c.Begin(ctx, "Sales")
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Abort()
		txn.SyncAhead()
		if _, err := spec("v1", 6).writeVerified(ctx, txn); err != nil {
			t.Fatal(err)
		}
		txn.syncs.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		for h, p := range txn.pending {
			if !p.synced {
				t.Errorf("object %s not synced in the background", h)
			}
		}
	})
	t.Run("failed background syncs are retried by commit", func(t *testing.T) {
		mem := vfs.NewMem()
		ffs := vfs.NewFaulty(mem, nil)
		c := openAt(t, ffs, memDir, Options{})
		defer c.Close()
		var mu sync.Mutex
		failed := map[string]bool{}
		// The first sync of every temporary object file fails.
		ffs.SetInjector(vfs.InjectorFunc(func(op vfs.Op) error {
			if op.Kind != vfs.OpSync || !strings.Contains(op.Path, "/objects/") {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if failed[op.Path] {
				return nil
			}
			failed[op.Path] = true
			return vfs.ErrInjected
		}))
		if err := restoreSpec(ctx, c, "Sales", spec("v1", 5)); err != nil {
			t.Fatal(err)
		}
		want, err := c.Current("Sales")
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != len(want.Objects) {
			t.Errorf("%d syncs failed, want one per object (%d)", len(failed), len(want.Objects))
		}
		c.Close()
		mem.Crash() // what was not synced is lost
		c = openAt(t, mem, memDir, Options{})
		defer c.Close()
		checkImage(t, c, want)
	})
	t.Run("abort while syncing", func(t *testing.T) {
		c, mem := openMem(t, Options{})
		for range 5 {
			txn, err := c.Begin(ctx, "Sales")
			if err != nil {
				t.Fatal(err)
			}
			txn.SyncAhead()
			if _, err := spec("aborted", 8).writeVerified(ctx, txn); err != nil {
				t.Fatal(err)
			}
			txn.Abort()
		}
		c.Close() // waits for the background syncs
		c = openAt(t, mem, memDir, Options{})
		defer c.Close()
		if _, _, err := c.GC(ctx); err != nil {
			t.Fatal(err)
		}
		checkClean(t, c, mem, memDir)
	})
}
