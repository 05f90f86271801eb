package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/backup"
	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/server"
	"github.com/meridian-olap/meridian/internal/source"
)

// backupServer runs a real server in process with a backup store in
// memory and a small processed database, Shop.
func backupServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	var csv strings.Builder
	csv.WriteString("Item,Amount\n")
	for i := range 50 {
		fmt.Fprintf(&csv, "item %d,%d\n", i%7, i*3)
	}
	if err := os.WriteFile(filepath.Join(src, "shop.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	roots, err := source.NewRoots(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := server.OpenManager(ctx, server.ManagerOptions{DataDir: t.TempDir(), Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := blob.Open(ctx, "mem://cli-"+strings.ReplaceAll(t.Name(), "/", "-"), blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(m, server.Options{Name: "cli", Backup: server.BackupOptions{Store: st,
		KDF: backup.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}}})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Shutdown(ctx)
		m.Close()
		st.Close()
	})
	bim := `{"name":"Shop","compatibilityLevel":1600,"model":{"tables":[{"name":"Sales",
	  "columns":[{"name":"Item","dataType":"string","sourceColumn":"Item"},{"name":"Amount","dataType":"int64","sourceColumn":"Amount"}],
	  "partitions":[{"name":"Sales","source":{"type":"m","expression":"let S = Csv.Document(File.Contents(\"shop.csv\"), [Delimiter=\",\"]), P = Table.PromoteHeaders(S), T = Table.TransformColumnTypes(P, {{\"Amount\", Int64.Type}}) in T"}}],
	  "measures":[{"name":"Total","expression":"SUM ( Sales[Amount] )"}]}]}}`
	bimFile := filepath.Join(t.TempDir(), "shop.bim")
	os.WriteFile(bimFile, []byte(bim), 0o644)
	for _, args := range [][]string{{"deploy", bimFile}, {"refresh", "Shop"}} {
		if _, errOut, code := runCLI(t, "", append(args, "--server", hs.URL)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	return hs.URL
}

func TestBackupRestoreCommands(t *testing.T) {
	url := backupServer(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("correct horse\n"), 0o600)
	t.Setenv(passwordEnv, "")

	out, errOut, code := runCLI(t, "", "backup", "Shop", "daily/shop.mbak", "--password-file", pw, "--server", url)
	if code != 0 || !strings.Contains(out, "Backed up Shop (version 2") || !strings.Contains(out, "encrypted archive") ||
		!strings.Contains(out, "/s)") || !strings.Contains(errOut, "Backing up Shop") {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out, errOut)
	}
	// The same name again: refused, and said why.
	if _, errOut, code := runCLI(t, "", "backup", "Shop", "daily/shop.mbak", "--server", url); code != 1 || !strings.Contains(errOut, "BackupExists") {
		t.Errorf("backup over a file: exit %d: %s", code, errOut)
	}
	out, _, code = runCLI(t, "", "backup", "Shop", "daily/shop.mbak", "--allow-overwrite", "--no-compression", "--json", "--server", url)
	var res struct {
		Database   string
		Compressed bool
		Encrypted  bool
		Objects    int
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Database != "Shop" || res.Compressed || res.Encrypted || res.Objects == 0 {
		t.Errorf("backup --json: exit %d %v: %s", code, err, out)
	}
	runCLI(t, "", "backup", "Shop", "secret.mbak", "--password-file", pw, "--server", url)

	out, _, code = runCLI(t, "", "backups", "--server", url)
	if code != 0 || !strings.Contains(out, "daily/shop.mbak") || !strings.Contains(out, "secret.mbak") || !strings.Contains(out, "encrypted") {
		t.Errorf("backups: exit %d\n%s", code, out)
	}
	out, _, _ = runCLI(t, "", "backups", "--prefix", "daily/", "--json", "--server", url)
	var list []struct {
		Name, Database string
		Version        int64
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "daily/shop.mbak" || list[0].Database != "Shop" || list[0].Version != 2 {
		t.Errorf("backups --json: %v %s", err, out)
	}

	// Restores: the password from a file, from standard input, from the
	// environment; without it, refused as the caller's mistake.
	if _, errOut, code := runCLI(t, "", "restore", "secret.mbak", "Copy", "--server", url); code != 2 || !strings.Contains(errOut, "password") {
		t.Errorf("restore without the password: exit %d: %s", code, errOut)
	}
	out, _, code = runCLI(t, "", "restore", "secret.mbak", "Copy", "--password-file", pw, "--server", url)
	if code != 0 || !strings.Contains(out, "Restored secret.mbak as Copy version 1") || !strings.Contains(out, "database Shop version 2") {
		t.Errorf("restore: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "correct horse\n", "restore", "secret.mbak", "Copy", "--password-file", "-", "--allow-overwrite",
		"--security", "SKIPMEMBERSHIP", "--json", "--server", url)
	var rres struct {
		Version         int64
		ReplacedVersion *int64
		Security        string
	}
	if err := json.Unmarshal([]byte(out), &rres); code != 0 || err != nil || rres.Version != 2 || rres.ReplacedVersion == nil || rres.Security != "skipMembership" {
		t.Errorf("restore --json: exit %d %v: %s", code, err, out)
	}
	t.Setenv(passwordEnv, "correct horse")
	if out, errOut, code := runCLI(t, "", "restore", "secret.mbak", "Copy 2", "--server", url); code != 0 {
		t.Errorf("restore with the password in the environment: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = runCLI(t, "", "query", "Copy 2", `EVALUATE ROW("t", [Total])`, "--format", "csv", "--server", url)
	want, _, _ := runCLI(t, "", "query", "Shop", `EVALUATE ROW("t", [Total])`, "--format", "csv", "--server", url)
	if out != want || !strings.Contains(out, "3675") {
		t.Errorf("restored answer %q, backed up %q", out, want)
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no password on the command line", []string{"backup", "Shop", "x.mbak", "--password", "secret"}, 2, "unknown flag"},
		{"missing password file", []string{"backup", "Shop", "x.mbak", "--password-file", filepath.Join(dir, "none")}, 2, "no such file"},
		{"empty password file", []string{"backup", "Shop", "x.mbak", "--password-file", filepath.Join(dir, "empty")}, 2, "empty"},
		{"bad security", []string{"restore", "x.mbak", "Shop", "--security", "all"}, 2, "copyAll, skipMembership or ignoreSecurity"},
		{"file outside the store", []string{"backup", "Shop", "../x.mbak"}, 2, "../x.mbak"},
		{"missing backup", []string{"restore", "none.mbak", "Shop2"}, 1, "BackupNotFound"},
		{"restore over a database", []string{"restore", "daily/shop.mbak", "Shop"}, 1, "DatabaseExists"},
		{"arguments", []string{"restore", "daily/shop.mbak"}, 2, "accepts 2 arg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600)
			_, errOut, code := runCLI(t, "", append(c.args, "--server", url)...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, c.code, errOut, c.want)
			}
		})
	}
	for _, sub := range []string{"backup", "restore"} {
		out, _, _ := runCLI(t, "", sub, "--help")
		if !strings.Contains(out, "--password-file") || !strings.Contains(out, passwordEnv) || !strings.Contains(out, "history") {
			t.Errorf("%s --help does not explain passwords:\n%s", sub, out)
		}
	}
}
