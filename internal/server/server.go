package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/model"
)

// Options configure a Server. The zero value of each field means the
// default.
type Options struct {
	// Name and Region identify the server in group status.
	Name, Region string
	// BackupStore is the blob store URL backups go to (see also
	// Backup.Store).
	BackupStore string
	// MaxTMSLBytes bounds the body of POST /tmsl (default 64 MB).
	MaxTMSLBytes int64
	// MaxRequestBytes bounds the bodies of queries and refresh requests
	// (default 1 MB).
	MaxRequestBytes int64
	// QueryTimeout stops a query that runs longer (default 10 minutes).
	QueryTimeout time.Duration
	// QueryLimits are the engine's limits on one query (default
	// engine.DefaultLimits).
	QueryLimits engine.Limits
	// RefreshHistory is how many refreshes of each database the refresh
	// API lists (default 100; kept in memory only).
	RefreshHistory int
	// Logger receives request and operation logs.
	Logger *slog.Logger
	// Registry receives the metrics; a new registry (with the Go runtime
	// and process collectors) if nil.
	Registry *prometheus.Registry
	// Replication is the server's part in replication, begun by
	// StartReplication (replication.go).
	Replication ReplicationOptions
	// Backup configures TMSL backup and restore, GET /backups and the
	// backup schedules StartBackups runs (backup.go).
	Backup BackupOptions
}

// Server is Meridian's HTTP API over a Manager (see the package
// documentation for the endpoints).
type Server struct {
	m       *Manager
	opts    Options
	log     *slog.Logger
	metrics *metrics
	reg     *prometheus.Registry
	jobs    *jobs
	repl    *Replicator
	backups *backups
	handler http.Handler
}

// New returns a server for the manager. The manager stays the caller's to
// close, after Shutdown.
func New(m *Manager, opts Options) *Server {
	if opts.MaxTMSLBytes <= 0 {
		opts.MaxTMSLBytes = 64 << 20
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 1 << 20
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Minute
	}
	if opts.QueryLimits == (engine.Limits{}) {
		opts.QueryLimits = engine.DefaultLimits
	}
	if opts.RefreshHistory <= 0 {
		opts.RefreshHistory = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		registerRuntime(reg)
	}
	s := &Server{m: m, opts: opts, log: opts.Logger, reg: reg}
	s.metrics = newMetrics(reg, m)
	s.jobs = newJobs(s)
	s.repl = newReplicator(m, opts.Replication, opts.Name, opts.Logger, newReplMetrics(reg))
	s.backups = newBackups(s, reg)
	reg.MustRegister(replCollector{s.repl})
	s.handler = s.routes()
	return s
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown cancels the refreshes the refresh API is running (they end
// "cancelled" and commit nothing) and waits for them, or for ctx.
// Synchronous TMSL commands in flight end when the manager closes.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.jobs.shutdown(ctx)
	// After the refreshes: a primary publishes what they committed.
	err = errors.Join(err, s.repl.Stop(ctx))
	// Scheduled backups and TMSL backups in flight are cancelled (they
	// write nothing) and awaited.
	return errors.Join(err, s.backups.shutdown(ctx))
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("POST /tmsl", s.tmsl)
	mux.HandleFunc("GET /databases", s.listDatabases)
	mux.HandleFunc("GET /databases/{db}", s.getDatabase)
	mux.HandleFunc("POST /v1.0/myorg/datasets/{db}/executeQueries", s.executeQueries)
	mux.HandleFunc("POST /v1.0/myorg/groups/{group}/datasets/{db}/executeQueries", s.executeQueries)
	mux.HandleFunc("POST /servers/{server}/models/{db}/refreshes", s.jobs.post)
	mux.HandleFunc("GET /servers/{server}/models/{db}/refreshes", s.jobs.list)
	mux.HandleFunc("GET /servers/{server}/models/{db}/refreshes/{id}", s.jobs.get)
	mux.HandleFunc("DELETE /servers/{server}/models/{db}/refreshes/{id}", s.jobs.cancel)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.replicationRoutes(mux)
	mux.HandleFunc("GET /backups", s.listBackups)
	return s.wrap(mux)
}

// wrap adds what every request gets: JSON answers for unknown paths and
// methods, recovery from a panic in a handler (a 500, not a dead
// server), and a log line.
func (s *Server) wrap(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if !rw.wrote {
					writeError(rw, fmt.Errorf("internal error: %v", p))
				}
			}
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "elapsed", time.Since(start))
		}()
		h, pattern := mux.Handler(r)
		if pattern == "" {
			// No route: let the mux decide between 404 and 405 (and set
			// Allow), then answer in JSON.
			rec := &recorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			for _, k := range []string{"Allow", "Location"} {
				if v := rec.header.Get(k); v != "" {
					rw.Header().Set(k, v)
				}
			}
			switch rec.status {
			case http.StatusMethodNotAllowed:
				writeJSON(rw, rec.status, errorBody{Error: errorObject{Code: "MethodNotAllowed",
					Message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow"))}})
			case http.StatusNotFound, 0:
				writeJSON(rw, http.StatusNotFound, errorBody{Error: errorObject{Code: "NotFound",
					Message: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)}})
			default:
				writeJSON(rw, rec.status, errorBody{Error: errorObject{Code: strings.ReplaceAll(http.StatusText(rec.status), " ", ""),
					Message: strings.TrimSpace(rec.body.String())}})
			}
			return
		}
		mux.ServeHTTP(rw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recorder captures what the mux's own 404 and 405 handlers write.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, fmt.Errorf("%w: the body is over the limit of %d bytes", ErrTooLarge, mbe.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read the request body: %v", ErrBadRequest, err)
	}
	return body, nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.m.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// tmsl runs a TMSL command.
func (s *Server) tmsl(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.opts.MaxTMSLBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	cmd, err := model.ParseCommand(body)
	if err != nil {
		writeError(w, err)
		return
	}
	if cmd.Kind == model.CommandBackup || cmd.Kind == model.CommandRestore {
		s.tmslBackup(w, r, cmd) // backup.go
		return
	}
	start := time.Now()
	res, err := s.m.Execute(r.Context(), cmd)
	if hasRefresh(cmd) {
		var rows int64
		if res != nil {
			rows = res.Rows
		}
		s.metrics.refresh(outcome(err), time.Since(start), rows)
	}
	if err != nil {
		s.log.Info("TMSL command failed", "command", cmd.Kind, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": res.Messages})
}

func hasRefresh(cmd *model.Command) bool {
	if cmd.Kind == model.CommandRefresh {
		return true
	}
	if cmd.Kind == model.CommandSequence {
		for _, op := range cmd.Sequence.Operations {
			if op.Kind == model.CommandRefresh {
				return true
			}
		}
	}
	return false
}

// outcome names an operation's outcome for metrics.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrCancelled), errors.Is(err, ErrClosed), errors.Is(err, context.Canceled):
		return "cancelled"
	}
	if status, _ := statusOf(err); status < 500 {
		return "error"
	}
	return "failed"
}

// databaseInfo is one entry of GET /databases.
type databaseInfo struct {
	Name          string     `json:"name"`
	Version       int64      `json:"version"`
	State         string     `json:"state"`
	LastProcessed *time.Time `json:"lastProcessed"`
	CommitTime    time.Time  `json:"commitTime"`
	SizeBytes     int64      `json:"sizeBytes"`
	ImageHash     string     `json:"imageHash"`
	Role          string     `json:"role"`
	// LagSeconds and VersionsBehind are a follower's lag (replication.go).
	LagSeconds     *float64 `json:"lagSeconds,omitempty"`
	VersionsBehind *int64   `json:"versionsBehind,omitempty"`
	Error          string   `json:"error,omitempty"`
}

func info(v *Version) databaseInfo {
	man := v.Manifest
	d := databaseInfo{Name: v.Name, Version: man.Version, State: man.State, CommitTime: man.CommitTime,
		SizeBytes: man.Size(), ImageHash: man.ContentHash().String(), Role: "standalone"}
	if !man.LastProcessed.IsZero() {
		t := man.LastProcessed
		d.LastProcessed = &t
	}
	if v.Err != nil {
		d.Error = v.Err.Error()
	}
	return d
}

func (s *Server) listDatabases(w http.ResponseWriter, _ *http.Request) {
	if !s.m.Ready() {
		writeError(w, ErrNotReady)
		return
	}
	out := []databaseInfo{}
	for _, v := range s.m.Databases() {
		d := info(v)
		s.annotate(&d)
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, out)
}

// getDatabase scripts a database out as deployed.
func (s *Server) getDatabase(w http.ResponseWriter, r *http.Request) {
	v, err := s.m.Current(r.PathValue("db"))
	if err != nil {
		writeError(w, err)
		return
	}
	if v.TMSL == nil {
		writeError(w, v.Err)
		return
	}
	writeRaw(w, http.StatusOK, v.TMSL)
}

// executeQueries answers Power BI's Datasets - Execute Queries.
func (s *Server) executeQueries(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := readBody(w, r, s.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	q, includeNulls, impersonate, err := parseQueryRequest(body)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := s.m.Current(r.PathValue("db"))
	if err != nil {
		writeError(w, err)
		return
	}
	if impersonate != "" && v.Def != nil && len(v.Def.Model.Roles) > 0 {
		// Row-level security is not enforced yet; answering as if it were
		// would show the user rows the roles hide.
		writeError(w, fmt.Errorf("%w: impersonatedUserName: row-level security is not enforced by Meridian yet", ErrNotSupported))
		return
	}
	if v.Model == nil {
		writeError(w, v.Err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
	defer cancel()
	res, err := v.Model.Query(ctx, q, engine.QueryOptions{Limits: s.opts.QueryLimits})
	if err != nil {
		if r.Context().Err() != nil {
			s.metrics.query("cancelled", time.Since(start))
			return // the client went away; nobody reads an answer
		}
		qe := classifyQueryError(err, s.opts.QueryTimeout)
		if qe.status >= 500 {
			s.log.Error("query failed", "database", v.Name, "err", err)
			s.metrics.query("failed", time.Since(start))
		} else {
			s.metrics.query("error", time.Since(start))
		}
		writeJSON(w, qe.status, qe.body())
		return
	}
	out := encodeResult(res, includeNulls)
	writeRaw(w, http.StatusOK, out)
	s.metrics.query("ok", time.Since(start))
}

// waitGroup is a sync.WaitGroup that can be waited for with a deadline.
type waitGroup struct {
	wg sync.WaitGroup
}

func (g *waitGroup) Go(f func()) { g.wg.Go(f) }

func (g *waitGroup) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
