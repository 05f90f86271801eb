package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/backup"
	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/source"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// fastKDF keeps encrypted backups cheap in tests.
var fastKDF = backup.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}

// memStore opens a blob store of its own in process memory.
func memStore(t testing.TB) *blob.Store {
	t.Helper()
	st, err := blob.Open(context.Background(), "mem://"+rand.Text(), blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// withBackups gives a test server a backup store and a name.
func withBackups(st *blob.Store, name string) func(*serverConfig) {
	return func(c *serverConfig) {
		c.sopts.Name = name
		c.sopts.Backup.Store = st
		c.sopts.Backup.KDF = fastKDF
	}
}

// tmslAnswer is the answer to TMSL backup and restore.
type tmslAnswer struct {
	Messages []string
	Backup   *BackupResult
	Restore  *RestoreResult
}

// backupTMSL sends a TMSL command that must succeed and decodes the
// answer.
func (ts *testServer) backupTMSL(cmd string) tmslAnswer {
	ts.t.Helper()
	status, body, _ := ts.do("POST", "/tmsl", cmd)
	if status != http.StatusOK {
		ts.t.Fatalf("TMSL %.120s: %d %s", cmd, status, body)
	}
	var a tmslAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		ts.t.Fatalf("answer %s: %v", body, err)
	}
	return a
}

// tinyQueries are the tiny model's queries whose answers a restore
// must keep.
var tinyQueries = []string{
	totalQuery,
	`EVALUATE ROW ( "Total", [Total], "Avg", [Avg Price], "Rows", COUNTROWS ( Sales ) )`,
	`EVALUATE TOPN ( 5, SUMMARIZECOLUMNS ( Sales[Date], Sales[Flag], "Units", [Units] ), Sales[Date], ASC ) ORDER BY Sales[Date], Sales[Flag]`,
	`EVALUATE FILTER ( VALUES ( Sales[Note] ), LEFT ( Sales[Note], 6 ) = "note 1" ) ORDER BY Sales[Note]`,
}

// answers runs queries and returns their raw answers.
func (ts *testServer) answers(db string, qs []string) []string {
	ts.t.Helper()
	out := make([]string, len(qs))
	for i, q := range qs {
		status, body := ts.query(db, q)
		out[i] = fmt.Sprintf("%d %s", status, body)
	}
	return out
}

func backupCmd(db, file string, extra string) string {
	return fmt.Sprintf(`{"backup":{"database":%q,"file":%q%s}}`, db, file, extra)
}

func restoreCmd(db, file string, extra string) string {
	return fmt.Sprintf(`{"restore":{"database":%q,"file":%q%s}}`, db, file, extra)
}

func TestBackupRestoreAcrossServers(t *testing.T) {
	st := memStore(t)
	a := readyTiny(t, withBackups(st, "west"))
	want := a.answers("Tiny", tinyQueries)
	aInfo := a.databases()["Tiny"]

	res := a.backupTMSL(backupCmd("Tiny", "daily/Tiny.mbak", ""))
	if b := res.Backup; b == nil || b.Database != "Tiny" || b.Version != aInfo.Version || b.Objects == 0 ||
		b.ArchiveBytes <= 0 || !b.Compressed || b.Encrypted || b.File != "daily/Tiny.mbak" || b.ImageHash != aInfo.ImageHash {
		t.Fatalf("backup answer %+v (database %+v)", res.Backup, aInfo)
	}
	if len(res.Messages) != 1 || !strings.Contains(res.Messages[0], "backed up to daily/Tiny.mbak") {
		t.Errorf("messages %q", res.Messages)
	}

	// Another server, another data directory, the same store.
	b := newTestServer(t, withBackups(st, "north"))
	rres := b.backupTMSL(restoreCmd("Tiny", "daily/Tiny.mbak", ""))
	r := rres.Restore
	if r == nil || r.Database != "Tiny" || r.Version != 1 || r.FromDatabase != "Tiny" || r.FromVersion != aInfo.Version ||
		r.FromServer != "west" || r.Security != "copyAll" || r.ReplacedVersion != nil || r.ArchiveBytes != res.Backup.ArchiveBytes {
		t.Fatalf("restore answer %+v", r)
	}
	if diff := cmp.Diff(want, b.answers("Tiny", tinyQueries)); diff != "" {
		t.Errorf("answers after restore (-backed up +restored):\n%s", diff)
	}
	// The same content, wherever it is restored.
	if got := b.databases()["Tiny"].ImageHash; got != aInfo.ImageHash {
		t.Errorf("restored image hash %s, backed up %s", got, aInfo.ImageHash)
	}
	_, wantScript, _ := a.do("GET", "/databases/Tiny", nil)
	if _, got, _ := b.do("GET", "/databases/Tiny", nil); !bytes.Equal(got, wantScript) {
		t.Errorf("restored script differs:\n%s\nbacked up:\n%s", got, wantScript)
	}

	// Under a new name: the model takes it.
	b.backupTMSL(restoreCmd("Tiny Copy", "daily/Tiny.mbak", ""))
	if diff := cmp.Diff(want, b.answers("Tiny Copy", tinyQueries)); diff != "" {
		t.Errorf("answers of the copy (-backed up +restored):\n%s", diff)
	}
	var def struct{ Name string }
	_, script, _ := b.do("GET", "/databases/Tiny%20Copy", nil)
	if err := json.Unmarshal(script, &def); err != nil || def.Name != "Tiny Copy" {
		t.Errorf("the copy scripts out as %q (%v)", def.Name, err)
	}
	// Restoring over the database with allowOverwrite makes a new
	// version and says which it replaced.
	over := b.backupTMSL(restoreCmd("Tiny", "daily/Tiny.mbak", `,"allowOverwrite":true`)).Restore
	if over.Version != 2 || over.ReplacedVersion == nil || *over.ReplacedVersion != 1 {
		t.Errorf("restore over the database: %+v", over)
	}

	// An encrypted backup, restored with its password; the listing
	// shows both.
	a.backupTMSL(backupCmd("Tiny", "Tiny-secret.mbak", `,"password":"p4ss wörd","applyCompression":false`))
	b.backupTMSL(restoreCmd("Secret", "Tiny-secret.mbak", `,"password":"p4ss wörd"`))
	if diff := cmp.Diff(want, b.answers("Secret", tinyQueries)); diff != "" {
		t.Errorf("answers of the encrypted backup (-backed up +restored):\n%s", diff)
	}
	status, body, _ := b.do("GET", "/backups", nil)
	if status != 200 {
		t.Fatalf("GET /backups: %d %s", status, body)
	}
	var list []backupEntry
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listing %+v", list)
	}
	for _, e := range list {
		if !e.Meridian || e.Database != "Tiny" || e.Version != aInfo.Version || e.Server != "west" || e.Size <= 0 ||
			e.ImageHash != aInfo.ImageHash || e.Time.IsZero() {
			t.Errorf("entry %+v", e)
		}
		if e.Encrypted != (e.Name == "Tiny-secret.mbak") || e.Compressed != (e.Name == "daily/Tiny.mbak") {
			t.Errorf("entry %s: encrypted %v compressed %v", e.Name, e.Encrypted, e.Compressed)
		}
	}
	if _, body, _ := b.do("GET", "/backups?prefix=daily/", nil); !strings.Contains(string(body), "daily/Tiny.mbak") || strings.Contains(string(body), "secret") {
		t.Errorf("listing under daily/: %s", body)
	}
	if _, body, _ := b.do("GET", "/backups?database=Other", nil); string(bytes.TrimSpace(body)) != "[]" {
		t.Errorf("listing of another database: %s", body)
	}
}

// leftovers counts the files under the data directory's objects folder,
// temporary files included.
func leftovers(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dir, "objects"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestBackupRestoreRefusals(t *testing.T) {
	st := memStore(t)
	ctx := context.Background()
	a := readyTiny(t, withBackups(st, "west"))
	a.backupTMSL(backupCmd("Tiny", "ok.mbak", ""))
	a.backupTMSL(backupCmd("Tiny", "secret.mbak", `,"password":"right"`))
	good, _, err := st.ReadAll(ctx, "ok.mbak")
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, data []byte) {
		if err := st.WriteAll(ctx, name, data, blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	put("flipped.mbak", flipped)
	put("truncated.mbak", good[:len(good)*2/3])
	put("trailing.mbak", append(bytes.Clone(good), "more"...))
	abf := append([]byte{0xff, 0xfe}, utf16("STREAM_STORAGE_SIGNATURE_)!@#$%^&*(")...)
	put("Sales.abf", append(abf, make([]byte, 4096)...))
	random := make([]byte, 10000)
	rand.Read(random)
	put("random.bin", random)
	put("empty.mbak", nil)

	// The target holds Tiny restored from the good backup, with
	// different data written by another refresh first, so that any
	// change would show.
	b := newTestServer(t, withBackups(st, "north"))
	b.backupTMSL(restoreCmd("Tiny", "ok.mbak", ""))
	wantVersion := b.version("Tiny")
	want := b.answers("Tiny", tinyQueries)
	files := leftovers(t, b.dir)
	before, _, _ := st.ReadAll(ctx, "ok.mbak")

	for _, c := range []struct {
		name, cmd string
		status    int
		code      string
		msg       string
	}{
		{"backup over a file", backupCmd("Tiny", "ok.mbak", ""), 409, "BackupExists", "allow overwriting"},
		{"backup of no database", backupCmd("Nope", "nope.mbak", ""), 404, "DatabaseNotFound", "Nope"},
		{"backup to ..", backupCmd("Tiny", "../up.mbak", ""), 400, "BadRequest", `"../up.mbak"`},
		{"backup to a/../b", backupCmd("Tiny", "a/../b.mbak", ""), 400, "BadRequest", "a/../b.mbak"},
		{"backup to an absolute path", backupCmd("Tiny", "/tmp/x.mbak", ""), 400, "BadRequest", "absolute path"},
		{"backup to a Windows path", backupCmd("Tiny", `C:\backups\x.abf`, ""), 400, "BadRequest", "absolute path"},
		{"backup with backslashes", backupCmd("Tiny", `daily\x.abf`, ""), 400, "BadRequest", "separate folders with /"},
		{"backup in a sequence", `{"sequence":{"operations":[` + backupCmd("Tiny", "seq.mbak", "") + `]}}`, 501, "NotSupported", "sequence"},
		{"restore over a database", restoreCmd("Tiny", "ok.mbak", ""), 409, "DatabaseExists", "allow overwriting"},
		{"restore without the password", restoreCmd("Tiny", "secret.mbak", `,"allowOverwrite":true`), 400, "BackupPasswordRequired", "password"},
		{"restore with a wrong password", restoreCmd("Tiny", "secret.mbak", `,"allowOverwrite":true,"password":"wrong"`), 400, "BackupWrongPassword", "password is wrong"},
		{"restore of a damaged file", restoreCmd("Tiny", "flipped.mbak", `,"allowOverwrite":true`), 422, "BackupDamaged", "flipped.mbak"},
		{"restore of a truncated file", restoreCmd("Tiny", "truncated.mbak", `,"allowOverwrite":true`), 422, "BackupTruncated", "truncated"},
		{"restore with data after the end", restoreCmd("Tiny", "trailing.mbak", `,"allowOverwrite":true`), 422, "BackupDamaged", "after"},
		{"restore of an .abf", restoreCmd("Tiny", "Sales.abf", `,"allowOverwrite":true`), 422, "AnalysisServicesBackup", "Analysis Services"},
		{"restore of a random file", restoreCmd("Tiny", "random.bin", `,"allowOverwrite":true`), 422, "NotABackup", "not a Meridian backup"},
		{"restore of an empty file", restoreCmd("Tiny", "empty.mbak", `,"allowOverwrite":true`), 422, "BackupTruncated", "empty"},
		{"restore of a missing file", restoreCmd("Tiny", "missing.mbak", `,"allowOverwrite":true`), 404, "BackupNotFound", "missing.mbak"},
		{"restore from ..", restoreCmd("Tiny", "../ok.mbak", `,"allowOverwrite":true`), 400, "BadRequest", "../ok.mbak"},
		{"restore read-only", restoreCmd("Tiny", "ok.mbak", `,"allowOverwrite":true,"readWriteMode":"readOnly"`), 501, "NotSupported", "readOnly"},
		{"restore under two names", restoreCmd("Tiny", "ok.mbak", `,"allowOverwrite":true,"dbName":"Other"`), 400, "BadRequest", "dbName"},
		{"restore of a damaged file under a new name", restoreCmd("Fresh", "flipped.mbak", ""), 422, "BackupDamaged", "flipped.mbak"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := b.do("POST", "/tmsl", c.cmd)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			code, msg := errorOf(t, body)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Errorf("error %s %q, want %s mentioning %q", code, msg, c.code, c.msg)
			}
			if strings.Contains(msg, "right") || strings.Contains(msg, "wrong\"") {
				t.Errorf("the message shows a password: %q", msg)
			}
			if v := b.version("Tiny"); v != wantVersion {
				t.Errorf("Tiny is at version %d, was %d", v, wantVersion)
			}
			if diff := cmp.Diff(want, b.answers("Tiny", tinyQueries)); diff != "" {
				t.Errorf("answers changed (-before +after):\n%s", diff)
			}
			if n := leftovers(t, b.dir); n != files {
				t.Errorf("%d files under objects/, %d before", n, files)
			}
			if status, _, _ := b.do("GET", "/databases/Fresh", nil); status != 404 {
				t.Errorf("Fresh exists after a failed restore")
			}
		})
	}
	if after, _, _ := st.ReadAll(ctx, "ok.mbak"); !bytes.Equal(before, after) {
		t.Error("a refused backup changed the file")
	}
	// With allowOverwrite the file is replaced.
	if res := a.backupTMSL(backupCmd("Tiny", "ok.mbak", `,"allowOverwrite":true`)); res.Backup == nil {
		t.Error("backup with allowOverwrite")
	}
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// rolesOf returns the roles of a database with their members, as it
// scripts out.
func (ts *testServer) rolesOf(db string) map[string][]string {
	ts.t.Helper()
	status, body, _ := ts.do("GET", "/databases/"+db, nil)
	if status != 200 {
		ts.t.Fatalf("GET /databases/%s: %d %s", db, status, body)
	}
	var def struct {
		Model struct {
			Roles []struct {
				Name    string
				Members []struct{ MemberName string }
			}
		}
	}
	if err := json.Unmarshal(body, &def); err != nil {
		ts.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range def.Model.Roles {
		ms := []string{}
		for _, m := range r.Members {
			ms = append(ms, m.MemberName)
		}
		out[r.Name] = ms
	}
	return out
}

// withRoles is the tiny model with roles; members lists each role's
// members.
func withRoles(name string, members map[string][]string) map[string]any {
	def := tinyModel(name)
	var roles []map[string]any
	names := make([]string, 0, len(members))
	for r := range members {
		names = append(names, r)
	}
	slices.Sort(names)
	for _, r := range names {
		var ms []map[string]any
		for _, m := range members[r] {
			ms = append(ms, map[string]any{"memberName": m})
		}
		role := map[string]any{"name": r, "modelPermission": "read", "members": ms}
		if r == "Northern" {
			role["tablePermissions"] = []map[string]any{{"name": "Region", "filterExpression": `Region[Region] = "North"`}}
		}
		roles = append(roles, role)
	}
	def["model"].(map[string]any)["roles"] = roles
	return def
}

func TestRestoreSecurity(t *testing.T) {
	st := memStore(t)
	a := newTestServer(t, withBackups(st, "west"))
	a.mustTMSL(deployCmd(withRoles("Secure", map[string][]string{"Readers": {`corp\ann`, `corp\bob`}, "Northern": {`corp\cid`}})))
	a.mustTMSL(refreshCmd("Secure"))
	a.backupTMSL(backupCmd("Secure", "secure.mbak", ""))

	b := newTestServer(t, withBackups(st, "north"))
	target := map[string][]string{"Readers": {`corp\xavier`}, "Auditors": {`corp\yves`}}
	fromBackup := map[string][]string{"Readers": {`corp\ann`, `corp\bob`}, "Northern": {`corp\cid`}}
	for _, c := range []struct {
		security  string
		overwrite bool
		want      map[string][]string
	}{
		// A new database: the backup's roles, without members, or none.
		{"copyAll", false, fromBackup},
		{"skipMembership", false, map[string][]string{"Readers": {}, "Northern": {}}},
		{"ignoreSecurity", false, map[string][]string{}},
		// Over an existing database, as Analysis Services does it:
		// skipMembership keeps the members the replaced roles had,
		// ignoreSecurity keeps the replaced roles as they were.
		{"copyAll", true, fromBackup},
		{"skipMembership", true, map[string][]string{"Readers": {`corp\xavier`}, "Northern": {}}},
		{"ignoreSecurity", true, target},
	} {
		name := fmt.Sprintf("%s overwrite=%v", c.security, c.overwrite)
		t.Run(name, func(t *testing.T) {
			db := "New " + c.security
			extra := fmt.Sprintf(`,"security":%q`, c.security)
			if c.overwrite {
				db = "Old " + c.security
				b.mustTMSL(deployCmd(withRoles(db, target)))
				extra += `,"allowOverwrite":true`
			}
			res := b.backupTMSL(restoreCmd(db, "secure.mbak", extra))
			if diff := cmp.Diff(c.want, b.rolesOf(db)); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			if res.Restore.Security != c.security {
				t.Errorf("answer says security %q", res.Restore.Security)
			}
			if c.security != "copyAll" && !strings.Contains(strings.Join(res.Messages, "\n"), "security "+c.security) {
				t.Errorf("messages do not say what %s did: %q", c.security, res.Messages)
			}
			// The data came along whatever happened to the roles.
			if rows := b.mustQuery(db, `EVALUATE ROW ( "n", COUNTROWS ( Sales ) )`); fmt.Sprint(rows[0]["[n]"]) != fmt.Sprint(tinyRows) {
				t.Errorf("rows %v", rows)
			}
		})
	}

	// ignoreSecurity over a database whose roles name a table the
	// restored model lacks is refused, and changes nothing.
	odd := tinyModel("Odd")
	tables := odd["model"].(map[string]any)["tables"].([]map[string]any)
	region := tables[0]["partitions"].([]map[string]any)[0]["source"]
	odd["model"].(map[string]any)["tables"] = append(tables, map[string]any{"name": "Extra",
		"columns":    []map[string]any{{"name": "RegionKey", "dataType": "int64", "sourceColumn": "RegionKey"}},
		"partitions": []map[string]any{{"name": "Extra", "source": region}}})
	odd["model"].(map[string]any)["roles"] = []map[string]any{{"name": "Extra only", "modelPermission": "read",
		"tablePermissions": []map[string]any{{"name": "Extra", "filterExpression": "TRUE ()"}}}}
	b.mustTMSL(deployCmd(odd))
	v := b.version("Odd")
	status, body, _ := b.do("POST", "/tmsl", restoreCmd("Odd", "secure.mbak", `,"security":"ignoreSecurity","allowOverwrite":true`))
	if status != 400 || !strings.Contains(string(body), "ignoreSecurity") {
		t.Errorf("ignoreSecurity with roles that do not fit: %d %s", status, body)
	}
	if b.version("Odd") != v {
		t.Error("the refused restore changed the database")
	}
}

// pausingReader passes bytes through until pause bytes have gone, then
// waits for resume (nil: go on; an error: fail with it).
type pausingReader struct {
	r       io.Reader
	left    int
	paused  chan struct{}
	resume  chan error
	stopped bool
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if !p.stopped && p.left <= 0 {
		p.stopped = true
		close(p.paused)
		if err := <-p.resume; err != nil {
			return 0, err
		}
	}
	if !p.stopped && len(b) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= n
	return n, err
}

// TestRestoreNeverDisturbsQueries holds a restore half way through its
// archive while queries run on the database it replaces: they answer
// as before; a restore that then fails changes nothing, one that
// succeeds changes the answers at once.
func TestRestoreNeverDisturbsQueries(t *testing.T) {
	ctx := context.Background()
	// The archive holds the tiny model with every amount doubled.
	src := readyTiny(t)
	writeTinyData(t, src.src, 2)
	src.mustTMSL(refreshCmd("Tiny"))
	newAnswers := src.answers("Tiny", tinyQueries)
	snap, err := src.m.ReadImage(ctx, "Tiny")
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	_, err = backup.Write(ctx, &archive, backup.Source{Manifest: snap.Version.Manifest, Objects: snap.Objects}, backup.WriteOptions{Compress: true})
	snap.Release()
	if err != nil {
		t.Fatal(err)
	}

	ts := readyTiny(t)
	old := ts.answers("Tiny", tinyQueries)
	if cmp.Equal(old, newAnswers) {
		t.Fatal("the archive answers as the target does: the test would prove nothing")
	}
	oldVersion := ts.version("Tiny")
	files := leftovers(t, ts.dir)

	restore := func(fail error) error {
		pr := &pausingReader{r: bytes.NewReader(archive.Bytes()), left: archive.Len() / 2, paused: make(chan struct{}), resume: make(chan error)}
		done := make(chan error, 1)
		go func() {
			_, err := ts.m.RestoreImage(ctx, "Tiny", func(ctx context.Context, sink RestoreSink) (*image.Manifest, error) {
				begin := func(m *image.Manifest) error { sink.Begin(m); return nil }
				info, err := backup.Read(ctx, pr, backup.ReadOptions{Manifest: begin}, sink)
				if err != nil {
					return nil, err
				}
				return info.Manifest, nil
			}, RestoreImageOptions{Overwrite: true})
			done <- err
		}()
		<-pr.paused
		// Half the archive is in the transaction: queries, many at once,
		// answer from the current version; a second writer is refused.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if diff := cmp.Diff(old, ts.answers("Tiny", tinyQueries)); diff != "" {
					t.Errorf("answers during the restore (-before +during):\n%s", diff)
				}
			})
		}
		wg.Wait()
		if status, body, _ := ts.do("POST", "/tmsl", refreshCmd("Tiny")); status != 409 {
			t.Errorf("refresh during the restore: %d %s", status, body)
		}
		pr.resume <- fail
		return <-done
	}

	if err := restore(io.ErrUnexpectedEOF); err == nil {
		t.Fatal("the restore of a cut archive succeeded")
	}
	if v := ts.version("Tiny"); v != oldVersion {
		t.Errorf("version %d after the failed restore, was %d", v, oldVersion)
	}
	if diff := cmp.Diff(old, ts.answers("Tiny", tinyQueries)); diff != "" {
		t.Errorf("answers after the failed restore (-before +after):\n%s", diff)
	}
	if n := leftovers(t, ts.dir); n != files {
		t.Errorf("%d files under objects/ after the failed restore, %d before", n, files)
	}

	if err := restore(nil); err != nil {
		t.Fatal(err)
	}
	if v := ts.version("Tiny"); v != oldVersion+1 {
		t.Errorf("version %d after the restore, was %d", v, oldVersion)
	}
	if diff := cmp.Diff(newAnswers, ts.answers("Tiny", tinyQueries)); diff != "" {
		t.Errorf("answers after the restore (-archive +restored):\n%s", diff)
	}
}

// TestBackupDuringRefresh backs up while a refresh holds the database:
// backup only pins the current version, so it neither waits for the
// writer nor stops it.
func TestBackupDuringRefresh(t *testing.T) {
	st := memStore(t)
	ts := readyTiny(t, withBackups(st, "west"))
	v := ts.version("Tiny")
	g := holdRefreshes(ts)
	writeTinyData(t, ts.src, 3)
	done := make(chan int, 1)
	go func() {
		status, _, _ := ts.do("POST", "/tmsl", refreshCmd("Tiny"))
		done <- status
	}()
	<-g.entered
	res := ts.backupTMSL(backupCmd("Tiny", "during.mbak", ""))
	if res.Backup.Version != v {
		t.Errorf("backed up version %d, the current one is %d", res.Backup.Version, v)
	}
	close(g.release)
	if status := <-done; status != 200 {
		t.Errorf("refresh: %d", status)
	}
	if ts.version("Tiny") != v+1 {
		t.Errorf("the refresh did not commit")
	}
	// The backup holds the version it pinned, not the refreshed one.
	b := newTestServer(t, withBackups(st, "north"))
	b.backupTMSL(restoreCmd("Tiny", "during.mbak", ""))
	if b.databases()["Tiny"].ImageHash == ts.databases()["Tiny"].ImageHash {
		t.Error("the backup taken during the refresh holds the refreshed data")
	}
}

func TestBackupNotConfigured(t *testing.T) {
	ts := readyTiny(t)
	for _, cmd := range []string{backupCmd("Tiny", "x.mbak", ""), restoreCmd("Tiny", "x.mbak", "")} {
		status, body, _ := ts.do("POST", "/tmsl", cmd)
		if code, msg := errorOf(t, body); status != 501 || code != "NotSupported" || !strings.Contains(msg, "--backup-store") {
			t.Errorf("%s: %d %s", cmd, status, body)
		}
	}
	if status, _, _ := ts.do("GET", "/backups", nil); status != 501 {
		t.Errorf("GET /backups: %d", status)
	}
}

// contosoQueries returns a query per measure of the contoso-sales
// model and a few groupings, with the model deployable from dir.
func contosoModel(t *testing.T) (bim []byte, queries []string, root string) {
	t.Helper()
	root = testenv.Datasets(t)
	raw, err := os.ReadFile(filepath.Join(root, "contoso-sales", "model.bim"))
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	var db struct {
		Model struct {
			Tables []struct {
				Name     string
				Columns  []struct{ Name string }
				Measures []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(raw, &db); err != nil {
		t.Fatal(err)
	}
	for _, tab := range db.Model.Tables {
		q := "'" + strings.ReplaceAll(tab.Name, "'", "''") + "'"
		for _, m := range tab.Measures {
			queries = append(queries, fmt.Sprintf(`EVALUATE ROW ( "v", [%s] )`, strings.ReplaceAll(m.Name, "]", "]]")))
		}
		queries = append(queries, fmt.Sprintf(`EVALUATE ROW ( "n", COUNTROWS ( %s ) )`, q))
		if len(tab.Columns) > 0 {
			queries = append(queries, fmt.Sprintf(`EVALUATE TOPN ( 20, VALUES ( %s[%s] ), %s[%s], ASC )`, q, tab.Columns[0].Name, q, tab.Columns[0].Name))
		}
	}
	// Paths in the model are relative to the datasets folder; the test
	// servers' first source root is a folder of their own.
	abs := strings.ReplaceAll(filepath.ToSlash(root), `"`, `\"`)
	bim = bytes.ReplaceAll(raw, []byte(`\"contoso-sales/`), []byte(`\"`+abs+`/contoso-sales/`))
	return bim, queries, root
}

func deployBIM(name string, bim []byte) string {
	n, _ := json.Marshal(name)
	return `{"createOrReplace":{"object":{"database":` + string(n) + `},"database":` + string(bim) + `}}`
}

// TestBackupRestoreStores backs up the contoso-sales dataset on one
// server and restores it on another through every kind of store, and
// checks the answers to a set of DAX queries.
func TestBackupRestoreStores(t *testing.T) {
	bim, queries, root := contosoModel(t)
	ctx := context.Background()
	stores := []struct {
		name string
		open func(t *testing.T) *blob.Store
	}{
		{"mem", func(t *testing.T) *blob.Store { return memStore(t) }},
		{"file", func(t *testing.T) *blob.Store {
			st, err := blob.Open(ctx, "file://"+filepath.ToSlash(t.TempDir()), blob.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"s3", func(t *testing.T) *blob.Store {
			s3 := testenv.S3(t)
			s3.CreateBucket(t, "backups")
			st, err := blob.Open(ctx, s3.BucketURL("backups"), blob.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"azblob", func(t *testing.T) *blob.Store {
			az := testenv.Azurite(t)
			st, err := blob.Open(ctx, "azblob://backups", blob.Options{Create: true, AzureConnectionString: az.ConnectionString})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
	// The dataset is processed once; each store's source server gets it
	// by a restore from memory.
	seed := memStore(t)
	a0 := newTestServer(t, withBackups(seed, "seed"), func(c *serverConfig) { c.roots = []string{root} })
	a0.mustTMSL(deployBIM("Contoso", bim))
	a0.mustTMSL(refreshCmd("Contoso"))
	want := a0.answers("Contoso", queries)
	ok := 0
	for _, w := range want {
		if strings.HasPrefix(w, "200 ") {
			ok++
		}
	}
	if ok < len(queries)/2 {
		t.Fatalf("only %d of %d queries answer on the source: %q", ok, len(queries), want)
	}
	a0.backupTMSL(backupCmd("Contoso", "seed.mbak", ""))
	seedArchive, _, err := seed.ReadAll(ctx, "seed.mbak")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := s.open(t)
			if err := st.WriteAll(ctx, "seed/seed.mbak", seedArchive, blob.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			a := newTestServer(t, withBackups(st, "west"))
			a.backupTMSL(restoreCmd("Contoso", "seed/seed.mbak", ""))
			res := a.backupTMSL(backupCmd("Contoso", "contoso/Contoso.mbak", `,"password":"s3cret"`))
			b := newTestServer(t, withBackups(st, "north"))
			b.backupTMSL(restoreCmd("Contoso", "contoso/Contoso.mbak", `,"password":"s3cret"`))
			b.backupTMSL(restoreCmd("Contoso Copy", "contoso/Contoso.mbak", `,"password":"s3cret"`))
			if diff := cmp.Diff(want, b.answers("Contoso", queries)); diff != "" {
				t.Errorf("answers after restore (-backed up +restored):\n%s", diff)
			}
			// The copy under another name: a sample of the queries.
			if diff := cmp.Diff(want[:5], b.answers("Contoso Copy", queries[:5])); diff != "" {
				t.Errorf("answers of the copy (-backed up +restored):\n%s", diff)
			}
			if got := b.databases()["Contoso"].ImageHash; got != res.Backup.ImageHash {
				t.Errorf("image hash %s after restore, %s backed up", got, res.Backup.ImageHash)
			}
			_, body, _ := b.do("GET", "/backups", nil)
			if !strings.Contains(string(body), `"name":"contoso/Contoso.mbak"`) || !strings.Contains(string(body), `"database":"Contoso"`) {
				t.Errorf("listing: %s", body)
			}
			t.Logf("%s: %d objects, %d bytes in memory, archive %d bytes", s.name, res.Backup.Objects, res.Backup.ObjectBytes, res.Backup.ArchiveBytes)
		})
	}
}

// metric returns the value of one sample of the server's metrics.
func (ts *testServer) metric(sample string) string {
	ts.t.Helper()
	_, body, _ := ts.do("GET", "/metrics", nil)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			return v
		}
	}
	return ""
}

func TestBackupSchedules(t *testing.T) {
	st := memStore(t)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := backup.NewManualClock(start)
	dir := t.TempDir()
	state := filepath.Join(dir, "schedules.json")
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("nightly secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	schedules := []backup.ScheduleConfig{
		{Name: "nightly", Database: "*", Cron: "0 2 * * *", PasswordFile: pwFile, Retention: backup.Retention{KeepLast: 2}},
		{Name: "broken", Database: "Tiny", Cron: "30 2 * * *", PasswordFile: filepath.Join(dir, "missing")},
	}
	cfg := func(c *serverConfig) {
		withBackups(st, "west")(c)
		c.sopts.Backup.Schedules = schedules
		c.sopts.Backup.StatePath = state
		c.sopts.Backup.Clock = clock
		c.sopts.Backup.RetryBase = time.Minute
		c.sopts.Backup.MaxAttempts = 3
	}
	ts := readyTiny(t, cfg)
	ts.mustTMSL(deployCmd(tinyModel("Other")))
	// A backup taken by hand under the schedule's folder is never
	// deleted by retention.
	ts.backupTMSL(backupCmd("Tiny", "Tiny/by-hand.mbak", ""))
	if err := ts.s.StartBackups(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Three nights.
	clock.AdvanceTo(start.Add(3 * 24 * time.Hour))

	names := func(prefix string) []string {
		var out []string
		es, err := backup.List(context.Background(), st, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out = append(out, e.Name)
		}
		return out
	}
	wantTiny := []string{"Tiny/Tiny-20260303T020000Z.mbak", "Tiny/Tiny-20260304T020000Z.mbak", "Tiny/by-hand.mbak"}
	if diff := cmp.Diff(wantTiny, names("Tiny/")); diff != "" {
		t.Errorf("Tiny's backups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Other/Other-20260303T020000Z.mbak", "Other/Other-20260304T020000Z.mbak"}, names("Other/")); diff != "" {
		t.Errorf("Other's backups (-want +got):\n%s", diff)
	}
	// The scheduled backups are encrypted with the password file's
	// content and restore with it.
	b := newTestServer(t, withBackups(st, "north"))
	b.backupTMSL(restoreCmd("Tiny", "Tiny/Tiny-20260304T020000Z.mbak", `,"password":"nightly secret"`))
	if diff := cmp.Diff(ts.answers("Tiny", tinyQueries), b.answers("Tiny", tinyQueries)); diff != "" {
		t.Errorf("restored scheduled backup (-source +restored):\n%s", diff)
	}

	for sample, want := range map[string]string{
		// 3 nights × 2 databases; the broken schedule: 3 nights × 3
		// attempts, 2 of them retries.
		`meridian_backups_total{outcome="ok",trigger="schedule"}`:     "6",
		`meridian_backups_total{outcome="failed",trigger="schedule"}`: "9",
		`meridian_backups_total{outcome="ok",trigger="tmsl"}`:         "1",
		`meridian_backup_retries_total{schedule="broken"}`:            "6",
		`meridian_backup_retention_deleted_total{schedule="nightly"}`: "2",
	} {
		if got := ts.metric(sample); got != want {
			t.Errorf("%s = %q, want %s", sample, got, want)
		}
	}
	for _, db := range []string{"Tiny", "Other"} {
		sample := fmt.Sprintf(`meridian_backup_last_success_timestamp_seconds{database=%q,schedule="nightly"}`, db)
		if got := ts.metric(sample); got == "" || got == "0" {
			t.Errorf("%s = %q, want a time", sample, got)
		}
	}
	if got := ts.metric(`meridian_backup_last_success_timestamp_seconds{database="Tiny",schedule="broken"}`); got != "" {
		t.Errorf("the broken schedule has a last success: %s", got)
	}

	// The state file records the last runs: a server started two days
	// later runs each schedule once at start, not once per missed night.
	ts.stop()
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("state file: %v", err)
	}
	clock2 := backup.NewManualClock(start.Add(5*24*time.Hour + time.Hour))
	ts2 := newTestServer(t, cfg, func(c *serverConfig) { c.sopts.Backup.Clock = clock2 })
	ts2.mustTMSL(deployCmd(tinyModel("Tiny")))
	ts2.mustTMSL(refreshCmd("Tiny"))
	if err := ts2.s.StartBackups(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock2.AdvanceTo(start.Add(5*24*time.Hour + 2*time.Hour))
	got := names("Tiny/")
	if !slices.Contains(got, "Tiny/Tiny-20260306T130000Z.mbak") || len(got) != 3 {
		t.Errorf("after the restart: %q, want one catch-up run at 13:00 and two kept", got)
	}
}

// tinyArchive returns an archive of the tiny model, processed.
func tinyArchive(t testing.TB, opts backup.WriteOptions) []byte {
	t.Helper()
	ctx := context.Background()
	src := readyTiny(t.(*testing.T))
	snap, err := src.m.ReadImage(ctx, "Tiny")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var buf bytes.Buffer
	if _, err := backup.Write(ctx, &buf, backup.Source{Manifest: snap.Version.Manifest, Objects: snap.Objects}, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// restoreBytes restores an archive held in memory over database db.
func restoreBytes(ctx context.Context, m *Manager, db string, archive []byte, password string) error {
	_, err := m.RestoreImage(ctx, db, func(ctx context.Context, sink RestoreSink) (*image.Manifest, error) {
		begin := func(m *image.Manifest) error { sink.Begin(m); return nil }
		info, err := backup.Read(ctx, bytes.NewReader(archive), backup.ReadOptions{Password: password, Concurrency: 2, Manifest: begin}, sink)
		if err != nil {
			return nil, err
		}
		return info.Manifest, nil
	}, RestoreImageOptions{Overwrite: true})
	return err
}

// TestRestoreDamagedArchives flips bytes at a sample of places in an
// archive (every byte of the header, then evenly spread) and cuts it at
// a sample of lengths: every restore is refused, none panics, and the
// database it would have replaced is untouched, on disk too.
func TestRestoreDamagedArchives(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts backup.WriteOptions
	}{
		{"compressed", backup.WriteOptions{Compress: true, RecordSize: 4096}},
		{"encrypted", backup.WriteOptions{Password: "pw", KDF: fastKDF, RecordSize: 4096}},
	} {
		t.Run(c.name, func(t *testing.T) {
			archive := tinyArchive(t, c.opts)
			ts := readyTiny(t)
			if err := restoreBytes(ctx, ts.m, "Tiny", archive, "pw"); err != nil {
				t.Fatalf("the intact archive: %v", err)
			}
			v := ts.version("Tiny")
			want := ts.answers("Tiny", tinyQueries[:1])
			files := leftovers(t, ts.dir)
			var places []int
			for i := range min(len(archive), 160) {
				places = append(places, i)
			}
			for i := 160; i < len(archive); i += max(1, len(archive)/150) {
				places = append(places, i)
			}
			places = append(places, len(archive)-1)
			for _, i := range places {
				bad := bytes.Clone(archive)
				bad[i] ^= 0x01 << (i % 8)
				if err := restoreBytes(ctx, ts.m, "Tiny", bad, "pw"); err == nil {
					t.Fatalf("byte %d flipped: the restore succeeded", i)
				}
			}
			for _, n := range []int{0, 1, 7, 8, 51, 52, 111, 112, len(archive) / 3, len(archive) / 2, len(archive) - 74, len(archive) - 1} {
				if err := restoreBytes(ctx, ts.m, "Tiny", archive[:n], "pw"); err == nil {
					t.Fatalf("cut at %d of %d bytes: the restore succeeded", n, len(archive))
				}
			}
			if got := ts.version("Tiny"); got != v {
				t.Errorf("version %d after the refused restores, was %d", got, v)
			}
			if diff := cmp.Diff(want, ts.answers("Tiny", tinyQueries[:1])); diff != "" {
				t.Errorf("answers changed (-before +after):\n%s", diff)
			}
			if n := leftovers(t, ts.dir); n != files {
				t.Errorf("%d files under objects/, %d before", n, files)
			}
			t.Logf("%d flips and 12 cuts of a %d-byte archive refused", len(places), len(archive))
		})
	}
}

// TestRestoreMissingObject restores an archive whose manifest leaves out
// an object its data needs (each in turn: the first, the last and one in
// the middle of the segments). The early decode waits for objects as they
// arrive; here one never does, and the restore must still end, refused,
// with the database as it was. The target holds the same image already,
// so the missing object is on its disk: the restore must not lean on it
// (the restored version would lose it to the first collection). A server
// without the database refuses it too.
func TestRestoreMissingObject(t *testing.T) {
	ctx := context.Background()
	src := readyTiny(t)
	snap, err := src.m.ReadImage(ctx, "Tiny")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var segs []int
	for i, o := range snap.Version.Manifest.Objects {
		if o.Kind == image.KindSegment {
			segs = append(segs, i)
		}
	}
	if len(segs) < 3 {
		t.Fatalf("the tiny image has %d segments, the test wants 3", len(segs))
	}
	ts := readyTiny(t)
	v := ts.version("Tiny")
	for _, drop := range []int{segs[0], segs[len(segs)/2], segs[len(segs)-1]} {
		man := *snap.Version.Manifest
		man.Objects = slices.Delete(slices.Clone(man.Objects), drop, drop+1)
		var buf bytes.Buffer
		if _, err := backup.Write(ctx, &buf, backup.Source{Manifest: &man, Objects: snap.Objects}, backup.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := restoreBytes(rctx, ts.m, "Tiny", buf.Bytes(), "")
		cancel()
		switch {
		case err == nil:
			t.Fatalf("object %d left out: the restore succeeded", drop)
		case errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("object %d left out: the restore hung", drop)
		}
		t.Logf("object %d left out: %v", drop, err)
	}
	if got := ts.version("Tiny"); got != v {
		t.Errorf("version %d after the refused restores, was %d", got, v)
	}
	fresh := newTestServer(t)
	man := *snap.Version.Manifest
	man.Objects = slices.Delete(slices.Clone(man.Objects), segs[0], segs[0]+1)
	var buf bytes.Buffer
	if _, err := backup.Write(ctx, &buf, backup.Source{Manifest: &man, Objects: snap.Objects}, backup.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := restoreBytes(ctx, fresh.m, "Tiny", buf.Bytes(), ""); err == nil {
		t.Error("a server without the database restored an image that leaves an object out")
	}
	if _, err := fresh.m.Current("Tiny"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the refused restore: %v, want ErrNotFound", err)
	}
}

// TestRestoreAnnouncedManifestDiffers has the read function announce a
// manifest other than the one it returns (a copy, and one whose data root
// is another object): the restore decodes what was returned, not what
// was announced, and answers as the source does.
func TestRestoreAnnouncedManifestDiffers(t *testing.T) {
	ctx := context.Background()
	archive := tinyArchive(t, backup.WriteOptions{})
	src := readyTiny(t)
	want := src.answers("Tiny", tinyQueries)
	for name, announce := range map[string]func(m *image.Manifest) *image.Manifest{
		"a copy": func(m *image.Manifest) *image.Manifest { c := *m; return &c },
		"another data root": func(m *image.Manifest) *image.Manifest {
			c := *m
			c.Data = c.Model
			return &c
		},
	} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t)
			_, err := ts.m.RestoreImage(ctx, "Tiny", func(ctx context.Context, sink RestoreSink) (*image.Manifest, error) {
				begin := func(m *image.Manifest) error { sink.Begin(announce(m)); return nil }
				info, err := backup.Read(ctx, bytes.NewReader(archive), backup.ReadOptions{Manifest: begin}, sink)
				if err != nil {
					return nil, err
				}
				return info.Manifest, nil
			}, RestoreImageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ts.answers("Tiny", tinyQueries)); diff != "" {
				t.Errorf("answers (-source +restored):\n%s", diff)
			}
		})
	}
}

// FuzzRestore feeds arbitrary archives to a restore over an existing
// database: it must fail cleanly or commit, never panic, and a failure
// must leave the database as it was.
func FuzzRestore(f *testing.F) {
	ctx := context.Background()
	src := f.TempDir()
	writeTinyData(f, src, 1)
	roots, err := source.NewRoots(src)
	if err != nil {
		f.Fatal(err)
	}
	m, err := OpenManager(ctx, ManagerOptions{DataDir: f.TempDir(), Roots: roots, GCDelay: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close() })
	if err := m.Load(ctx); err != nil {
		f.Fatal(err)
	}
	for _, c := range []string{deployCmd(tinyModel("Tiny")), refreshCmd("Tiny")} {
		cmd, err := model.ParseCommand([]byte(c))
		if err == nil {
			_, err = m.Execute(ctx, cmd)
		}
		if err != nil {
			f.Fatal(err)
		}
	}
	snap, err := m.ReadImage(ctx, "Tiny")
	if err != nil {
		f.Fatal(err)
	}
	for _, opts := range []backup.WriteOptions{{Compress: true, RecordSize: 1024}, {Password: "pw", KDF: fastKDF, RecordSize: 1024}} {
		var buf bytes.Buffer
		if _, err := backup.Write(ctx, &buf, backup.Source{Manifest: snap.Version.Manifest, Objects: snap.Objects}, opts); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	snap.Release()
	f.Add([]byte("not an archive"))
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := m.Current("Tiny")
		if err != nil {
			t.Fatal(err)
		}
		err = restoreBytes(ctx, m, "Tiny", data, "pw")
		after, _ := m.Current("Tiny")
		if err != nil && after != before {
			t.Fatalf("a failed restore changed the database: %v", err)
		}
		if err == nil && after.Manifest.Version != before.Manifest.Version+1 {
			t.Fatalf("a restore committed version %d over %d", after.Manifest.Version, before.Manifest.Version)
		}
	})
}

// TestExtraProc checks that restores at once share one extra P and that
// the last to end gives it back.
func TestExtraProc(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	r1 := extraProc()
	r2 := extraProc()
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Errorf("GOMAXPROCS %d during two restores, want %d", got, base+1)
	}
	r1()
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Errorf("GOMAXPROCS %d while one restore goes on, want %d", got, base+1)
	}
	r2()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS %d after the restores, want %d", got, base)
	}
}
