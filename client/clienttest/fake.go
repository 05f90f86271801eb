// Package clienttest provides a fake Meridian server for tests of code
// that uses the client package or the command line: it speaks the HTTP
// contract (health, TMSL, databases, executeQueries, asynchronous
// refreshes, and the replication endpoints GET /status, POST
// /admin/promote and /admin/demote) over an httptest.Server, with canned
// query answers, replication roles and faults on demand.
//
// Refreshes advance one step per status read, not with time, so tests
// that poll them are deterministic: the first read finds the refresh
// inProgress with no partition done, each later read finishes one more
// partition, and the read after the last partition finds it succeeded (or
// failed, see FailRefresh).
package clienttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a way for the fake server to misbehave.
type Fault int

// Faults.
const (
	// NoFault serves normally.
	NoFault Fault = iota
	// Unavailable answers 503 to everything but /healthz, as a server that
	// is up but cannot serve (loading, or fenced).
	Unavailable
	// ServerError answers 500 to everything but /healthz.
	ServerError
	// DropMidStream sends the first half of every answer but /healthz
	// and then closes the connection.
	DropMidStream
	// Hang never answers anything but /healthz until the client gives up.
	Hang
)

// Cell is one column value of a canned query row.
type Cell struct {
	Column string
	Value  any
}

// Row is a canned query row; its cells are written in order.
type Row []Cell

// Server is a fake Meridian server.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	fault     Fault
	notReady  bool
	dbs       map[string]*database
	order     []string
	queries   map[string][][]Row // by query text: one row set per EVALUATE
	queryLog  []string
	requests  []string
	nextID    int
	failPart  string
	failMsg   string
	rowsEach  int64
	tmslCount int
	closing   chan struct{}

	// Replication: the name, region and role GET /status reports; a
	// follower or fenced server refuses writes as Meridian does.
	name, region, role, store, primary string
	promoteErr                         *httpError
	refuse                             map[string]*httpError // TMSL verb → error
	adminLog                           []string
}

type httpError struct {
	status        int
	code, message string
}

type database struct {
	name          string
	def           json.RawMessage
	version       int64
	state         string
	lastProcessed time.Time
	imageHash     string      // overrides the hash derived from the version
	lag           *float64    // lagSeconds
	behind        *int64      // versionsBehind
	partitions    [][2]string // table, partition
	refreshes     []*refresh
}

type refresh struct {
	id       string
	objects  [][2]string
	done     int // partitions finished
	reads    int
	status   string
	start    time.Time
	end      time.Time
	messages []map[string]string
	typ      string
}

// New starts a fake server; it is closed when the test ends.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{dbs: map[string]*database{}, queries: map[string][][]Row{}, rowsEach: 1000, closing: make(chan struct{}),
		name: "fake", role: "standalone", refuse: map[string]*httpError{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.closing) // release hanging handlers, which Close waits for
		s.Close()
	})
	return s
}

// SetFault makes the server misbehave from now on.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// SetReady sets the answer of /readyz (ready by default).
func (s *Server) SetReady(ready bool) {
	s.mu.Lock()
	s.notReady = !ready
	s.mu.Unlock()
}

// AddQuery makes the server answer query (compared after trimming white
// space) with the given tables of rows.
func (s *Server) AddQuery(query string, tables ...[]Row) {
	s.mu.Lock()
	s.queries[strings.TrimSpace(query)] = tables
	s.mu.Unlock()
}

// FailRefresh makes refreshes fail when they reach partition (any
// partition when ""), with message.
func (s *Server) FailRefresh(partition, message string) {
	s.mu.Lock()
	s.failPart, s.failMsg = partition, message
	if s.failMsg == "" {
		s.failMsg = "refresh failed"
	}
	s.mu.Unlock()
}

// AddDatabase deploys a database directly, as if by createOrReplace; def
// is its TMSL database object.
func (s *Server) AddDatabase(def string) error {
	return s.createOrReplace(json.RawMessage(def))
}

// SetIdentity sets the name and region GET /status reports.
func (s *Server) SetIdentity(name, region string) {
	s.mu.Lock()
	s.name, s.region = name, region
	s.mu.Unlock()
}

// SetRole sets the replication role (standalone, primary, follower,
// fenced) GET /status and GET /databases report; primary names the
// server holding the lease, as a follower sees it. A follower answers
// writes (TMSL, refreshes) with 409 ReadOnlyReplica, a fenced server
// with 409 Fenced, as Meridian does.
func (s *Server) SetRole(role, primary string) {
	s.mu.Lock()
	s.role, s.primary = role, primary
	s.mu.Unlock()
}

// Role returns the current role, which promote and demote change.
func (s *Server) Role() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

// SetStore sets the replication store GET /status reports.
func (s *Server) SetStore(url string) {
	s.mu.Lock()
	s.store = url
	s.mu.Unlock()
}

// FailPromote makes POST /admin/promote answer an error; status 0 lets it
// succeed again.
func (s *Server) FailPromote(status int, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.promoteErr = nil
		return
	}
	s.promoteErr = &httpError{status, code, message}
}

// RefuseCommand makes TMSL commands of one verb ("backup", say) answer an
// error, as a server that does not implement them answers 501.
func (s *Server) RefuseCommand(verb string, status int, code, message string) {
	s.mu.Lock()
	s.refuse[verb] = &httpError{status, code, message}
	s.mu.Unlock()
}

// AdminRequests returns the admin calls received ("promote takeover=true
// store=...", "demote follow=...").
func (s *Server) AdminRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.adminLog...)
}

// SetDatabaseState overrides what GET /databases reports of a database:
// its version (when > 0), its image hash (when not ""), and its lag (when
// lagSeconds >= 0). It fails when the database does not exist.
func (s *Server) SetDatabaseState(name string, version int64, imageHash string, lagSeconds float64, versionsBehind int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	db := s.dbs[strings.ToLower(name)]
	if db == nil {
		return fmt.Errorf("no database %q", name)
	}
	if version > 0 {
		db.version = version
	}
	if imageHash != "" {
		db.imageHash = imageHash
	}
	if lagSeconds >= 0 {
		db.lag, db.behind = &lagSeconds, &versionsBehind
	}
	return nil
}

// Queries returns the query texts received, in order.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queryLog...)
}

// Requests returns "METHOD path" of every request received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// TMSLCount returns how many TMSL commands the server received.
func (s *Server) TMSLCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tmslCount
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	fault := s.fault
	s.mu.Unlock()
	if r.URL.Path == "/healthz" {
		writeJSON(w, 200, map[string]string{"status": "ok"})
		return
	}
	switch fault {
	case Unavailable:
		writeError(w, 503, "Unavailable", "the server is not available")
		return
	case ServerError:
		writeError(w, 500, "Internal", "something broke")
		return
	case Hang:
		// The body is read first: only then does the server notice that
		// the client hung up and cancel the request's context.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	case DropMidStream:
		rec := httptest.NewRecorder()
		s.route(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		// Promise the whole answer, send half, and hang up: the client
		// sees an unexpected EOF.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	s.route(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/readyz":
		s.mu.Lock()
		ready := !s.notReady
		s.mu.Unlock()
		if !ready {
			writeError(w, 503, "NotReady", "databases are loading")
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ready"})
	case r.URL.Path == "/status" && r.Method == http.MethodGet:
		s.status(w)
	case (r.URL.Path == "/admin/promote" || r.URL.Path == "/admin/demote") && r.Method == http.MethodPost:
		s.admin(w, r)
	case r.URL.Path == "/tmsl" && r.Method == http.MethodPost:
		s.tmsl(w, r)
	case r.URL.Path == "/databases" && r.Method == http.MethodGet:
		s.listDatabases(w)
	case len(parts) == 2 && parts[0] == "databases" && r.Method == http.MethodGet:
		s.mu.Lock()
		db := s.dbs[strings.ToLower(parts[1])]
		s.mu.Unlock()
		if db == nil {
			writeError(w, 404, "DatabaseNotFound", fmt.Sprintf("database %q does not exist", parts[1]))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(db.def)
	case len(parts) == 5 && parts[0] == "v1.0" && parts[2] == "datasets" && parts[4] == "executeQueries" && r.Method == http.MethodPost:
		s.executeQueries(w, r, parts[3])
	case len(parts) >= 5 && parts[0] == "servers" && parts[2] == "models" && parts[4] == "refreshes":
		s.refreshes(w, r, parts[3], parts[5:])
	default:
		writeError(w, 404, "NotFound", "no such path: "+r.URL.Path)
	}
}

// refuseWrite answers a write as a follower or fenced server does, and
// reports whether it did.
func (s *Server) refuseWrite(w http.ResponseWriter) bool {
	s.mu.Lock()
	role, name, primary := s.role, s.name, s.primary
	s.mu.Unlock()
	switch role {
	case "follower":
		writeError(w, 409, "ReadOnlyReplica", fmt.Sprintf("this server (%q) follows the primary %q; send writes (TMSL, refreshes) to the primary", name, primary))
		return true
	case "fenced":
		writeError(w, 409, "Fenced", fmt.Sprintf("this server (%q) refuses writes: it lost the publishing lease", name))
		return true
	}
	return false
}

func (s *Server) statusLocked() map[string]any {
	st := map[string]any{"name": s.name, "role": s.role, "ready": !s.notReady}
	if s.region != "" {
		st["region"] = s.region
	}
	if s.store != "" {
		st["store"] = s.store
	}
	if s.primary != "" {
		st["primary"] = s.primary
	}
	return st
}

func (s *Server) status(w http.ResponseWriter) {
	s.mu.Lock()
	st := s.statusLocked()
	s.mu.Unlock()
	writeJSON(w, 200, st)
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Takeover bool    `json:"takeover"`
		Store    string  `json:"store"`
		Follow   string  `json:"follow"`
		Timeout  float64 `json:"timeoutSeconds"`
	}
	body, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, 400, "BadJSON", err.Error())
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/admin/promote" {
		s.adminLog = append(s.adminLog, fmt.Sprintf("promote takeover=%v store=%s", req.Takeover, req.Store))
		if e := s.promoteErr; e != nil {
			writeError(w, e.status, e.code, e.message)
			return
		}
		s.role, s.primary = "primary", s.name
		if req.Store != "" {
			s.store = req.Store
		}
	} else {
		s.adminLog = append(s.adminLog, "demote follow="+req.Follow)
		s.role = "follower"
		if req.Follow != "" {
			s.store = req.Follow
		}
	}
	writeJSON(w, 200, s.statusLocked())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) tmsl(w http.ResponseWriter, r *http.Request) {
	var cmd map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&cmd); err != nil {
		writeError(w, 400, "BadJSON", "the command is not a JSON object: "+err.Error())
		return
	}
	s.mu.Lock()
	s.tmslCount++
	s.mu.Unlock()
	if len(cmd) != 1 {
		writeError(w, 400, "BadCommand", "a TMSL command has exactly one property")
		return
	}
	for verb, body := range cmd {
		// A backup reads; every other command writes, which a follower
		// or fenced server refuses.
		if verb != "backup" && s.refuseWrite(w) {
			return
		}
		s.mu.Lock()
		refused := s.refuse[verb]
		s.mu.Unlock()
		if refused != nil {
			writeError(w, refused.status, refused.code, refused.message)
			return
		}
		switch verb {
		case "createOrReplace", "create", "alter":
			var c struct {
				Database json.RawMessage `json:"database"`
			}
			if err := json.Unmarshal(body, &c); err != nil || c.Database == nil {
				writeError(w, 400, "BadCommand", verb+" needs a database object")
				return
			}
			if err := s.createOrReplace(c.Database); err != nil {
				writeError(w, 400, "InvalidModel", err.Error())
				return
			}
			writeJSON(w, 200, map[string]any{"messages": []any{}})
		case "delete":
			var c struct {
				Object struct {
					Database string `json:"database"`
				} `json:"object"`
			}
			json.Unmarshal(body, &c)
			s.mu.Lock()
			_, ok := s.dbs[strings.ToLower(c.Object.Database)]
			delete(s.dbs, strings.ToLower(c.Object.Database))
			s.mu.Unlock()
			if !ok {
				writeError(w, 404, "DatabaseNotFound", fmt.Sprintf("database %q does not exist", c.Object.Database))
				return
			}
			writeJSON(w, 200, map[string]any{"messages": []any{}})
		default:
			writeJSON(w, 200, map[string]any{"messages": []any{
				map[string]string{"type": "information", "message": verb + " done"},
			}})
		}
	}
}

func (s *Server) createOrReplace(def json.RawMessage) error {
	var d struct {
		Name  string `json:"name"`
		Model struct {
			Tables []struct {
				Name       string `json:"name"`
				Partitions []struct {
					Name string `json:"name"`
				} `json:"partitions"`
			} `json:"tables"`
		} `json:"model"`
	}
	if err := json.Unmarshal(def, &d); err != nil {
		return err
	}
	if d.Name == "" {
		return fmt.Errorf("the database has no name")
	}
	db := &database{name: d.Name, def: append(json.RawMessage(nil), def...), state: "unprocessed"}
	for _, t := range d.Model.Tables {
		for _, p := range t.Partitions {
			db.partitions = append(db.partitions, [2]string{t.Name, p.Name})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(d.Name)
	if old := s.dbs[key]; old != nil {
		db.version = old.version + 1
		db.refreshes = old.refreshes
	} else {
		db.version = 1
		s.order = append(s.order, key)
	}
	s.dbs[key] = db
	return nil
}

func (s *Server) listDatabases(w http.ResponseWriter) {
	s.mu.Lock()
	var out []map[string]any
	for _, k := range s.order {
		db := s.dbs[k]
		if db == nil {
			continue
		}
		hash := db.imageHash
		if hash == "" {
			hash = fmt.Sprintf("sha256:%064x", db.version)
		}
		e := map[string]any{"name": db.name, "version": db.version, "state": db.state,
			"sizeBytes": int64(len(db.def)) * 1000, "imageHash": hash, "role": s.role}
		if db.lag != nil {
			e["lagSeconds"], e["versionsBehind"] = *db.lag, *db.behind
		}
		if !db.lastProcessed.IsZero() {
			e["lastProcessed"] = db.lastProcessed.Format("2006-01-02T15:04:05Z")
		} else {
			e["lastProcessed"] = nil
		}
		out = append(out, e)
	}
	s.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, 200, out)
}

func (s *Server) executeQueries(w http.ResponseWriter, r *http.Request, dbName string) {
	var req struct {
		Queries []struct {
			Query string `json:"query"`
		} `json:"queries"`
		Serializer struct {
			IncludeNulls bool `json:"includeNulls"`
		} `json:"serializerSettings"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Queries) != 1 {
		writeError(w, 400, "BadRequest", "want one query in queries[]")
		return
	}
	q := strings.TrimSpace(req.Queries[0].Query)
	s.mu.Lock()
	s.queryLog = append(s.queryLog, q)
	db := s.dbs[strings.ToLower(dbName)]
	tables, ok := s.queries[q]
	s.mu.Unlock()
	if db == nil {
		writeError(w, 404, "DatabaseNotFound", fmt.Sprintf("database %q does not exist", dbName))
		return
	}
	if !ok {
		writeError(w, 400, "DAXSyntaxError", "line 1, column 1: the fake server knows no such query")
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"results":[{"tables":[`)
	for ti, rows := range tables {
		if ti > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"rows":[`)
		for ri, row := range rows {
			if ri > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			n := 0
			for _, c := range row {
				if c.Value == nil && !req.Serializer.IncludeNulls {
					continue
				}
				if n > 0 {
					b.WriteByte(',')
				}
				n++
				k, _ := json.Marshal(c.Column)
				v, _ := json.Marshal(c.Value)
				b.Write(k)
				b.WriteByte(':')
				b.Write(v)
			}
			b.WriteByte('}')
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}]}`)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

func (s *Server) refreshes(w http.ResponseWriter, r *http.Request, dbName string, rest []string) {
	if len(rest) == 0 && r.Method == http.MethodPost && s.refuseWrite(w) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	db := s.dbs[strings.ToLower(dbName)]
	if db == nil {
		writeError(w, 404, "DatabaseNotFound", fmt.Sprintf("database %q does not exist", dbName))
		return
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		var req struct {
			Type    string `json:"Type"`
			Objects []struct {
				Table     string `json:"table"`
				Partition string `json:"partition"`
			} `json:"Objects"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeError(w, 400, "BadJSON", err.Error())
			return
		}
		for _, rf := range db.refreshes {
			if !terminal(rf.status) {
				writeError(w, 409, "RefreshInProgress", "a refresh of "+db.name+" is already running: "+rf.id)
				return
			}
		}
		var objs [][2]string
		for _, p := range db.partitions {
			if len(req.Objects) == 0 {
				objs = append(objs, p)
				continue
			}
			for _, o := range req.Objects {
				if strings.EqualFold(o.Table, p[0]) && (o.Partition == "" || strings.EqualFold(o.Partition, p[1])) {
					objs = append(objs, p)
					break
				}
			}
		}
		if len(objs) == 0 && len(req.Objects) > 0 {
			writeError(w, 400, "ObjectNotFound", "no table or partition of "+db.name+" matches the objects")
			return
		}
		s.nextID++
		typ := strings.ToLower(req.Type)
		if typ == "" {
			typ = "automatic"
		}
		rf := &refresh{id: fmt.Sprintf("r%04d", s.nextID), objects: objs, status: "notStarted", start: time.Now().UTC(), typ: typ}
		db.refreshes = append(db.refreshes, rf)
		w.Header().Set("Location", r.URL.Path+"/"+rf.id)
		w.WriteHeader(http.StatusAccepted)
	case len(rest) == 0 && r.Method == http.MethodGet:
		out := []map[string]any{}
		for _, rf := range db.refreshes {
			out = append(out, map[string]any{"refreshId": rf.id, "startTime": rf.start.Format(time.RFC3339Nano), "endTime": fmtTime(rf.end), "status": rf.status})
		}
		writeJSON(w, 200, out)
	case len(rest) == 1:
		var rf *refresh
		for _, x := range db.refreshes {
			if x.id == rest[0] {
				rf = x
			}
		}
		if rf == nil {
			writeError(w, 404, "RefreshNotFound", "no refresh "+rest[0])
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.advance(db, rf)
			objs := []map[string]any{}
			for i, o := range rf.objects {
				st, rows := "notStarted", int64(0)
				switch {
				case i < rf.done:
					st, rows = "succeeded", s.rowsEach
				case i == rf.done && rf.status == "inProgress":
					st, rows = "inProgress", s.rowsEach/2
				case i == rf.done && rf.status == "failed":
					st = "failed"
				}
				objs = append(objs, map[string]any{"table": o[0], "partition": o[1], "status": st, "rows": rows})
			}
			msgs := rf.messages
			if msgs == nil {
				msgs = []map[string]string{}
			}
			writeJSON(w, 200, map[string]any{"startTime": rf.start.Format(time.RFC3339Nano), "endTime": fmtTime(rf.end),
				"type": rf.typ, "status": rf.status, "currentRefreshType": rf.typ, "objects": objs, "messages": msgs})
		case http.MethodDelete:
			if !terminal(rf.status) {
				rf.status, rf.end = "cancelled", time.Now().UTC()
			}
			w.WriteHeader(200)
		default:
			writeError(w, 405, "MethodNotAllowed", r.Method)
		}
	default:
		writeError(w, 404, "NotFound", "no such path: "+r.URL.Path)
	}
}

// advance moves a refresh one step per status read.
func (s *Server) advance(db *database, rf *refresh) {
	if terminal(rf.status) {
		return
	}
	rf.reads++
	if rf.reads == 1 {
		rf.status = "inProgress"
		return
	}
	if rf.done < len(rf.objects) {
		p := rf.objects[rf.done]
		if s.failMsg != "" && (s.failPart == "" || strings.EqualFold(s.failPart, p[1])) {
			rf.status, rf.end = "failed", time.Now().UTC()
			rf.messages = []map[string]string{{"type": "error", "code": "SourceError", "message": s.failMsg}}
			return
		}
		rf.done++
		return
	}
	rf.status, rf.end = "succeeded", time.Now().UTC()
	db.state, db.lastProcessed = "ready", rf.end
	db.version++
}

func terminal(status string) bool {
	switch status {
	case "succeeded", "failed", "cancelled", "timedOut":
		return true
	}
	return false
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}
