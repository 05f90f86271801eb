package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// cli runs the meridian binary as a client and returns its output and
// exit status.
func cli(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestBackupRestoreBinary backs up the contoso-sales dataset with the
// meridian binary (serve and the backup command) and restores it on a
// second server with another data directory, through a folder and
// through Azure Blob Storage (Azurite): the restored database answers a
// set of DAX queries exactly as the original, also after a restart, and
// a damaged archive is refused without touching it.
func TestBackupRestoreBinary(t *testing.T) {
	datasets := testenv.Datasets(t)
	bim, err := os.ReadFile(filepath.Join(datasets, "contoso-sales", "model.bim"))
	if err != nil {
		t.Fatal(err)
	}
	queries := measureQueries(t, bim)
	pw := filepath.Join(t.TempDir(), "backup.key")
	os.WriteFile(pw, []byte("e2e password\n"), 0o600)

	for _, kind := range []string{"file", "azblob"} {
		t.Run(kind, func(t *testing.T) {
			store := "file://" + filepath.ToSlash(t.TempDir())
			if kind == "azblob" {
				az := testenv.Azurite(t)
				st, err := blob.Open(context.Background(), "azblob://backups", blob.Options{Create: true, AzureConnectionString: az.ConnectionString})
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				// The server process reads the connection string from
				// its environment, as it would in production.
				t.Setenv("AZURE_STORAGE_CONNECTION_STRING", az.ConnectionString)
				store = "azblob://backups"
			}
			a := startServer(t, t.TempDir(), "--source-root", datasets, "--backup-store", store, "--name", "west")
			a.mustTMSL(deployCmd("Contoso", bim))
			a.mustTMSL(refreshCmd("Contoso"))
			want := map[string]string{}
			for _, q := range queries {
				status, body := a.query("Contoso", q)
				want[q] = fmt.Sprintf("%d %s", status, body)
			}
			out, errOut, code := cli(t, "", "backup", "Contoso", "nightly/contoso.mbak", "--password-file", pw, "--server", a.URL)
			if code != 0 || !strings.Contains(out, "Backed up Contoso") {
				t.Fatalf("backup: exit %d\n%s\n%s\nserver:\n%s", code, out, errOut, a.Log.String())
			}

			bDir := t.TempDir()
			b := startServer(t, bDir, "--backup-store", store, "--name", "north")
			out, errOut, code = cli(t, "", "restore", "nightly/contoso.mbak", "Contoso", "--password-file", pw, "--server", b.URL)
			if code != 0 || !strings.Contains(out, "Restored nightly/contoso.mbak as Contoso version 1") {
				t.Fatalf("restore: exit %d\n%s\n%s\nserver:\n%s", code, out, errOut, b.Log.String())
			}
			// Under a new name, with the password on standard input.
			if _, errOut, code := cli(t, "e2e password\n", "restore", "nightly/contoso.mbak", "Contoso West", "--password-file", "-", "--server", b.URL); code != 0 {
				t.Fatalf("restore under a new name: exit %d: %s", code, errOut)
			}
			check := func(p *proc, db string) {
				t.Helper()
				got := map[string]string{}
				for _, q := range queries {
					status, body := p.query(db, q)
					got[q] = fmt.Sprintf("%d %s", status, body)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: answers (-backed up +restored):\n%s", db, diff)
				}
			}
			check(b, "Contoso")
			check(b, "Contoso West")
			if a.databases()["Contoso"].ImageHash != b.databases()["Contoso"].ImageHash {
				t.Error("the restored image differs from the backed-up one")
			}

			// A damaged archive next to the good one is refused; the
			// database is as it was.
			st := openStore(t, store)
			good, _, err := st.ReadAll(context.Background(), "nightly/contoso.mbak")
			if err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(good)
			bad[len(bad)/3] ^= 1
			if err := st.WriteAll(context.Background(), "nightly/damaged.mbak", bad, blob.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			before := b.databases()["Contoso"]
			_, errOut, code = cli(t, "", "restore", "nightly/damaged.mbak", "Contoso", "--allow-overwrite", "--password-file", pw, "--server", b.URL)
			if code != 1 || !strings.Contains(errOut, "BackupDamaged") {
				t.Errorf("restore of a damaged archive: exit %d: %s", code, errOut)
			}
			if after := b.databases()["Contoso"]; after.Version != before.Version || after.ImageHash != before.ImageHash {
				t.Errorf("the refused restore changed the database: %+v, was %+v", after, before)
			}

			out, _, code = cli(t, "", "backups", "--json", "--server", b.URL)
			var list []struct {
				Name, Database, Server string
				Meridian               bool
			}
			if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 2 ||
				list[0].Name != "nightly/contoso.mbak" || list[0].Database != "Contoso" || list[0].Server != "west" || list[1].Meridian {
				t.Errorf("backups: exit %d %v: %s", code, err, out)
			}

			// The restored databases are on disk: a restart serves them.
			b.Stop()
			b = startServer(t, bDir, "--backup-store", store)
			check(b, "Contoso")
			check(b, "Contoso West")
			b.Stop()
			a.Stop()
		})
	}
}

func openStore(t *testing.T, url string) *blob.Store {
	t.Helper()
	st, err := blob.Open(context.Background(), url, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
