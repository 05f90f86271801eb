package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/image"
)

func syncCmd(db, source, security string) string {
	s := map[string]any{"database": db, "source": source}
	if security != "" {
		s["synchronizeSecurity"] = security
	}
	return mustJSON(map[string]any{"synchronize": s})
}

// rolesModel is the tiny model with a role that has the members named.
func rolesModel(name string, members ...string) map[string]any {
	def := tinyModel(name)
	var ms []map[string]any
	for _, m := range members {
		ms = append(ms, map[string]any{"memberName": m, "identityProvider": "AzureAD"})
	}
	def["model"].(map[string]any)["roles"] = []map[string]any{{"name": "Readers", "modelPermission": "read", "members": ms}}
	return def
}

func TestSynchronize(t *testing.T) {
	src := readyTiny(t)
	dst := newTestServer(t)
	source := "Provider=MSOLAP.8;Data Source=" + src.hs.URL + ";Integrated Security=SSPI;Persist Security Info=True;Impersonation Level=Impersonate"

	msgs := dst.mustTMSL(syncCmd("Tiny", source, "copyAll"))
	if len(msgs) != 1 || !strings.Contains(msgs[0], "synchronized from") {
		t.Errorf("messages: %q", msgs)
	}
	same := func(t *testing.T, db string) {
		t.Helper()
		s, d := src.databases()[db], dst.databases()[db]
		if s.Version != d.Version || s.ImageHash != d.ImageHash || d.Role != RoleStandalone {
			t.Errorf("after synchronize: source %+v, target %+v", s, d)
		}
		if diff := cmp.Diff(src.mustQuery(db, totalQuery), dst.mustQuery(db, totalQuery)); diff != "" {
			t.Errorf("answers differ (-source +target):\n%s", diff)
		}
	}
	same(t, "Tiny")

	t.Run("again is a no-op", func(t *testing.T) {
		msgs := dst.mustTMSL(syncCmd("Tiny", source, "copyAll"))
		if len(msgs) != 1 || !strings.Contains(msgs[0], "in sync with") {
			t.Errorf("messages: %q", msgs)
		}
	})

	t.Run("after a refresh only new objects move", func(t *testing.T) {
		v, _ := src.m.Current("Tiny")
		writeTinyData(t, src.src, 4)
		src.mustTMSL(refreshCmd("Tiny"))
		nv, _ := src.m.Current("Tiny")
		fresh := 0
		for _, o := range nv.Manifest.Objects {
			if !v.Manifest.Has(o.Hash) {
				fresh++
			}
		}
		msgs := dst.mustTMSL(syncCmd("Tiny", "Data Source="+src.hs.URL, "copyAll"))
		if want := fmt.Sprintf("; %d objects (", fresh); len(msgs) != 1 || !strings.Contains(msgs[0], want) {
			t.Errorf("messages %q, want %d objects transferred (of %d)", msgs, fresh, len(nv.Manifest.Objects))
		}
		same(t, "Tiny")
	})

	t.Run("security", func(t *testing.T) {
		src.mustTMSL(deployCmd(rolesModel("Roles", "alice@example.com", "bob@example.com")))
		src.mustTMSL(refreshCmd("Roles"))
		members := func(ts *testServer, db string) string {
			v, err := ts.m.Current(db)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range v.Def.Model.Roles {
				out = append(out, r.Name+":")
				for _, m := range r.Members {
					out = append(out, m.MemberName)
				}
			}
			return strings.Join(out, " ")
		}
		// The default, skipMembership, copies the role without its
		// members (the destination has none of its own): the image is no
		// longer the source's.
		msgs := dst.mustTMSL(syncCmd("Roles", "Data Source="+src.hs.URL, ""))
		if got := members(dst, "Roles"); got != "Readers:" || !strings.Contains(msgs[0], "skipMembership: 2 role members of the source left out") {
			t.Errorf("skipMembership: roles %q, messages %q", got, msgs)
		}
		if s, d := src.databases()["Roles"], dst.databases()["Roles"]; s.ImageHash == d.ImageHash {
			t.Errorf("skipMembership kept the source's image hash %s", s.ImageHash)
		}
		dst.mustTMSL(syncCmd("Roles", "Data Source="+src.hs.URL, "copyAll"))
		if got := members(dst, "Roles"); got != "Readers: alice@example.com bob@example.com" {
			t.Errorf("copyAll: roles %q", got)
		}
		if s, d := src.databases()["Roles"], dst.databases()["Roles"]; s.ImageHash != d.ImageHash || s.Version != d.Version {
			t.Errorf("copyAll: %+v, source's %+v", d, s)
		}
		// As Analysis Services documents: skipMembership leaves the
		// members of the destination's roles as they are, ignoreSecurity
		// its roles.
		src.mustTMSL(deployCmd(rolesModel("Roles", "carol@example.com")))
		src.mustTMSL(refreshCmd("Roles"))
		dst.mustTMSL(syncCmd("Roles", "Data Source="+src.hs.URL, "skipMembership"))
		if got := members(dst, "Roles"); got != "Readers: alice@example.com bob@example.com" {
			t.Errorf("skipMembership over an existing database: roles %q", got)
		}
		src.mustTMSL(deployCmd(tinyModel("Roles")))
		src.mustTMSL(refreshCmd("Roles"))
		dst.mustTMSL(syncCmd("Roles", "Data Source="+src.hs.URL, "ignoreSecurity"))
		if got := members(dst, "Roles"); got != "Readers: alice@example.com bob@example.com" {
			t.Errorf("ignoreSecurity over an existing database: roles %q", got)
		}
		dst.mustTMSL(syncCmd("Roles", "Data Source="+src.hs.URL, "copyAll"))
		if got := members(dst, "Roles"); got != "" {
			t.Errorf("copyAll of a model without roles: roles %q", got)
		}
	})

	t.Run("under another name", func(t *testing.T) {
		dst.mustTMSL(syncCmd("Copy", "Data Source="+src.hs.URL+";Initial Catalog=tiny", "copyAll"))
		v, err := dst.m.Current("Copy")
		if err != nil || v.Def.Name != "Copy" || v.Name != "Copy" {
			t.Fatalf("Copy: %+v %v", v, err)
		}
		if diff := cmp.Diff(src.mustQuery("Tiny", totalQuery), dst.mustQuery("Copy", totalQuery)); diff != "" {
			t.Errorf("answers differ (-source +copy):\n%s", diff)
		}
	})
}

func TestSynchronizeErrors(t *testing.T) {
	src := readyTiny(t)
	// The target's own data differs from the source's, so that it lacks
	// the source's objects.
	dst := newTestServer(t)
	writeTinyData(t, dst.src, 2)
	dst.mustTMSL(deployCmd(tinyModel("Tiny")))
	dst.mustTMSL(refreshCmd("Tiny"))
	before := dst.databases()["Tiny"]
	rows := dst.mustQuery("Tiny", totalQuery)

	// A hostile or broken source: it answers the real manifest and then
	// what the case says for the objects.
	hostile := func(objects func(w http.ResponseWriter, r *http.Request, real []byte), manifest func([]byte) []byte) string {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			src.s.Handler().ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			switch {
			case strings.HasPrefix(r.URL.Path, "/images/"):
				if manifest != nil {
					body = manifest(body)
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
			default:
				objects(w, r, body)
			}
		}))
		t.Cleanup(hs.Close)
		return "Data Source=" + hs.URL
	}
	flip := func(w http.ResponseWriter, _ *http.Request, real []byte) {
		b := []byte(string(real))
		b[len(b)/2] ^= 1
		w.Write(b)
	}
	short := func(w http.ResponseWriter, _ *http.Request, real []byte) { w.Write(real[:len(real)-1]) }
	long := func(w http.ResponseWriter, _ *http.Request, real []byte) { w.Write(append(real, 0)) }
	gone := func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNotFound) }
	broken := func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusInternalServerError) }
	rename := func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"database": "Tiny"`, `"database": "Other"`, 1))
	}
	garbage := func([]byte) []byte { return []byte(`{"format":1,"database":`) }
	huge := func(b []byte) []byte {
		m, err := image.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		m.Objects[0].Size = 1 << 40
		out, _ := m.Marshal()
		return out
	}
	cases := []struct {
		name, cmd string
		status    int
		code      string
		msg       string
	}{
		{"bad connection string", syncCmd("Tiny", "Data Source=", ""), 400, "BadRequest", "empty Data Source"},
		{"unknown key", syncCmd("Tiny", "Data Source=http://127.0.0.1:1;Colour=blue", ""), 400, "BadRequest", "unknown key"},
		{"alias", syncCmd("Tiny", "Data Source=link://example.com/a", ""), 400, "BadRequest", "alias"},
		{"no name", `{"synchronize":{"database":" ","source":"Data Source=http://127.0.0.1:1"}}`, 400, "BadRequest", "no name"},
		{"unreachable source", syncCmd("Tiny", "Data Source=http://127.0.0.1:1", ""), 502, "SynchronizeSourceFailed", "no source server answered"},
		{"unknown database", syncCmd("Nope", "Data Source="+src.hs.URL, ""), 400, "BadRequest", `has no database "Nope"`},
		{"altered object", syncCmd("Tiny", hostile(flip, nil), ""), 502, "SynchronizeSourceFailed", "does not match"},
		{"short object", syncCmd("Tiny", hostile(short, nil), ""), 502, "SynchronizeSourceFailed", "bytes"},
		{"long object", syncCmd("Tiny", hostile(long, nil), ""), 502, "SynchronizeSourceFailed", "more than"},
		{"objects gone", syncCmd("Tiny", hostile(gone, nil), ""), 502, "SynchronizeSourceFailed", "newer version"},
		{"objects failing", syncCmd("Tiny", hostile(broken, nil), ""), 502, "SynchronizeSourceFailed", "500"},
		{"another database's manifest", syncCmd("Tiny", hostile(flip, rename), ""), 502, "SynchronizeSourceFailed", `manifest of "Other"`},
		{"garbage manifest", syncCmd("Tiny", hostile(flip, garbage), ""), 502, "SynchronizeSourceFailed", "corrupt manifest"},
		{"huge object", syncCmd("Tiny", hostile(flip, huge), ""), 502, "SynchronizeSourceFailed", "the limit is"},
		{"in a sequence", `{"sequence":{"operations":[` + syncCmd("Tiny", "Data Source="+src.hs.URL, "") + `]}}`, 501, "NotSupported", "synchronize"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := dst.do("POST", "/tmsl", c.cmd)
			code, msg := errorOf(t, body)
			if status != c.status || code != c.code || !strings.Contains(msg, c.msg) {
				t.Errorf("%d %s %q, want %d %s containing %q", status, code, msg, c.status, c.code, c.msg)
			}
			if got := dst.databases()["Tiny"]; got != before {
				t.Errorf("the target changed: %+v, was %+v", got, before)
			}
			if diff := cmp.Diff(rows, dst.mustQuery("Tiny", totalQuery)); diff != "" {
				t.Errorf("the target's answers changed:\n%s", diff)
			}
		})
	}
}

func TestTransferEndpoints(t *testing.T) {
	ts := readyTiny(t)
	v, _ := ts.m.Current("Tiny")
	status, body, h := ts.do("GET", "/images/tiny", nil)
	if status != http.StatusOK || h.Get("X-Meridian-Image-Hash") != v.Manifest.ContentHash().String() || h.Get("X-Meridian-Version") != fmt.Sprint(v.Manifest.Version) {
		t.Fatalf("GET /images/tiny: %d %v %s", status, h, body)
	}
	m, err := image.Unmarshal(body)
	if err != nil || m.ContentHash() != v.Manifest.ContentHash() {
		t.Fatalf("manifest: %v", err)
	}
	o := m.Objects[0]
	status, body, h = ts.do("GET", "/objects/"+o.Hash.String(), nil)
	if status != http.StatusOK || int64(len(body)) != o.Size || image.Verify(o.Hash, body) != nil || h.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET /objects/%s: %d, %d bytes, %v", o.Hash, status, len(body), h)
	}
	var zero image.Hash
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/images/nope", 404, "DatabaseNotFound"},
		{"/objects/" + zero.String(), 404, "ImageObjectNotFound"},
		{"/objects/" + strings.ToUpper(o.Hash.String()), 400, "BadRequest"},
		{"/objects/abc", 400, "BadRequest"},
		{"/objects/" + strings.Repeat("g", 64), 400, "BadRequest"},
		{"/objects/" + o.Hash.String() + "%2F..", 400, "BadRequest"},
	} {
		status, body, _ := ts.do("GET", c.path, nil)
		if code, _ := errorOf(t, body); status != c.status || code != c.code {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, status, body, c.status, c.code)
		}
	}
}

// TestDropSyncKeys checks the connection-string keys a synchronize
// ignores, quotes included.
func TestDropSyncKeys(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Data Source=http://a", "Data Source=http://a"},
		{"Provider=MSOLAP.8;Data Source=http://a", "Data Source=http://a"},
		{"provider = x ; Data Source=http://a;Integrated  Security=SSPI;", " Data Source=http://a;"},
		{`Data Source=http://a;Initial Catalog="a;provider=b"`, `Data Source=http://a;Initial Catalog="a;provider=b"`},
		{`Data Source=http://a;Initial Catalog="unclosed;Provider=x`, `Data Source=http://a;Initial Catalog="unclosed;Provider=x`},
		{"http://a,http://b", "http://a,http://b"},
	} {
		if got := dropSyncKeys(c.in); got != c.want {
			t.Errorf("dropSyncKeys(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzDropSyncKeys: whatever the input, dropping keys never panics, and
// what is left parses as the connection-string parser would have it or
// fails cleanly.
func FuzzDropSyncKeys(f *testing.F) {
	for _, s := range []string{"Provider=MSOLAP;Data Source=http://a;Initial Catalog='x;y'", `a="b""c";d=e`, ";;;", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := dropSyncKeys(s)
		if len(out) > len(s) {
			t.Fatalf("dropSyncKeys(%q) = %q grew", s, out)
		}
		_, _ = parseSyncSource(s)
	})
}

// TestSynchronizeOnFollowerRefused: a follower refuses synchronize before
// it contacts the source.
func TestSynchronizeOnFollowerRefused(t *testing.T) {
	st := fileReplStore(t)
	replServer(t, "west", st, ReplicationOptions{Publish: st.url})
	follower := replServer(t, "north", st, ReplicationOptions{Follow: st.url})
	var contacted atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { contacted.Store(true) }))
	defer hs.Close()
	waitFor(t, "the follower to see the primary", func() (bool, string) {
		st := follower.replStatus()
		return st.Primary == "west", fmt.Sprintf("%+v", st)
	})
	status, body, _ := follower.do("POST", "/tmsl", syncCmd("Tiny", "Data Source="+hs.URL, ""))
	if code, msg := errorOf(t, body); status != http.StatusConflict || code != "ReadOnlyReplica" || !strings.Contains(msg, `"west"`) || contacted.Load() {
		t.Errorf("synchronize on a follower: %d %s %q (source contacted: %v)", status, code, msg, contacted.Load())
	}
}

// FuzzParseObjectHash: any path segment is refused cleanly or names a
// hash that prints back as the segment.
func FuzzParseObjectHash(f *testing.F) {
	var h image.Hash
	f.Add(h.String())
	f.Add(strings.Repeat("A", 64))
	f.Add("../etc/passwd")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseObjectHash(s)
		if err == nil && got.String() != s {
			t.Fatalf("parseObjectHash(%q) = %s", s, got)
		}
	})
}
