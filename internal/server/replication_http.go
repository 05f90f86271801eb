package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-olap/meridian/internal/replica"
)

// status answers GET /status: the server's name, region, role, store,
// the primary it follows, and its replication state.
func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	st := s.repl.Status()
	st.Region = s.opts.Region
	writeJSON(w, http.StatusOK, st)
}

// promoteRequest is the body of POST /admin/promote.
type promoteRequest struct {
	// Takeover takes the lease from the server holding it.
	Takeover bool `json:"takeover"`
	// Store is the store to publish to; by default the one followed.
	Store string `json:"store"`
	// TimeoutSeconds bounds the wait for the catch-up (default 300).
	TimeoutSeconds float64 `json:"timeoutSeconds"`
}

// demoteRequest is the body of POST /admin/demote.
type demoteRequest struct {
	// Follow is the store to follow; by default the one published to.
	Follow string `json:"follow"`
	// TimeoutSeconds bounds the wait for the last publishes of a primary
	// (default 60).
	TimeoutSeconds float64 `json:"timeoutSeconds"`
}

// decodeAdmin reads the small JSON body of an admin request; an empty
// body means the defaults.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, jsonError(body, err))
	}
	if dec.More() {
		return fmt.Errorf("%w: unexpected data after the request object", ErrInvalidJSON)
	}
	return nil
}

func adminTimeout(secs float64, def time.Duration) (time.Duration, error) {
	switch {
	case secs == 0:
		return def, nil
	case secs < 0 || secs > 86400:
		return 0, fmt.Errorf("%w: timeoutSeconds %v is not between 0 and 86400", ErrBadRequest, secs)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// promote answers POST /admin/promote: the server becomes the primary
// (see Replicator.Promote) and answers its status once it takes writes.
func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	var req promoteRequest
	if err := decodeAdmin(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	timeout, err := adminTimeout(req.TimeoutSeconds, 5*time.Minute)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	s.log.Info("admin: promote", "takeover", req.Takeover, "store", req.Store)
	st, err := s.repl.Promote(ctx, PromoteOptions{Store: req.Store, Takeover: req.Takeover})
	if err != nil {
		writeError(w, err)
		return
	}
	st.Region = s.opts.Region
	writeJSON(w, http.StatusOK, st)
}

// demote answers POST /admin/demote: the server becomes a follower (see
// Replicator.Demote).
func (s *Server) demote(w http.ResponseWriter, r *http.Request) {
	var req demoteRequest
	if err := decodeAdmin(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	timeout, err := adminTimeout(req.TimeoutSeconds, time.Minute)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	s.log.Info("admin: demote", "follow", req.Follow)
	if err := s.repl.Demote(ctx, req.Follow); err != nil {
		writeError(w, err)
		return
	}
	st := s.repl.Status()
	st.Region = s.opts.Region
	writeJSON(w, http.StatusOK, st)
}

// annotate adds the replication fields of GET /databases: the role, and
// on a follower the lag.
func (s *Server) annotate(d *databaseInfo) {
	d.Role = s.repl.Role()
	if d.Role != RoleFollower {
		return
	}
	if secs, versions, ok := s.repl.lagOf(d.Name); ok {
		d.LagSeconds, d.VersionsBehind = &secs, &versions
	}
}

// replMetrics are the replication counters; the gauges (role, lease,
// lag) are read from the replicator at scrape time.
type replMetrics struct {
	publishes    *prometheus.CounterVec
	uploadBytes  prometheus.Counter
	uploads      prometheus.Counter
	passes       *prometheus.CounterVec
	followErrors prometheus.Counter
	fetchBytes   prometheus.Counter
	applied      prometheus.Counter
	fencings     prometheus.Counter
}

func newReplMetrics(reg prometheus.Registerer) *replMetrics {
	x := &replMetrics{
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_replication_publishes_total",
			Help: "Publishes of a commit or deletion to the replication store by a primary, by outcome (ok, error; errors are retried).",
		}, []string{"outcome"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_replication_uploaded_bytes_total",
			Help: "Bytes of objects a primary uploaded to the replication store.",
		}),
		uploads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_replication_uploaded_objects_total",
			Help: "Objects a primary uploaded to the replication store (objects the store held are not uploaded again).",
		}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_replication_follow_passes_total",
			Help: "Polls of the replication store by a follower, by outcome (ok, error).",
		}, []string{"outcome"}),
		followErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_replication_follow_errors_total",
			Help: "Databases a follower's poll could not bring to the store's version (retried at the next poll).",
		}),
		fetchBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_replication_fetched_bytes_total",
			Help: "Bytes of objects a follower fetched from the replication store.",
		}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_replication_applied_total",
			Help: "Versions and deletions a follower applied from the replication store.",
		}),
		fencings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_replication_fenced_total",
			Help: "Times this server lost its publishing lease and was fenced.",
		}),
	}
	reg.MustRegister(x.publishes, x.uploadBytes, x.uploads, x.passes, x.followErrors, x.fetchBytes, x.applied, x.fencings)
	return x
}

func (x *replMetrics) fenced() {
	if x != nil {
		x.fencings.Inc()
	}
}

func (x *replMetrics) published(deleted bool, st replica.Stats, err error, stopped bool) {
	if x == nil || stopped && err != nil {
		return
	}
	if err != nil {
		x.publishes.WithLabelValues("error").Inc()
		return
	}
	x.publishes.WithLabelValues("ok").Inc()
	x.uploads.Add(float64(st.Uploaded))
	x.uploadBytes.Add(float64(st.Bytes))
}

// followed counts a follower's pass. applied remembers when each
// database was last applied, so that an apply is counted once.
func (x *replMetrics) followed(err error, st replica.FollowerStatus, applied map[string]time.Time) {
	if x == nil {
		return
	}
	if err != nil {
		x.passes.WithLabelValues("error").Inc()
	} else {
		x.passes.WithLabelValues("ok").Inc()
	}
	for _, d := range st.Databases {
		if d.Error != "" {
			x.followErrors.Inc()
		}
		if !d.LastApplied.IsZero() && !d.LastApplied.Equal(applied[d.Database]) {
			applied[d.Database] = d.LastApplied
			x.applied.Inc()
			x.fetchBytes.Add(float64(d.FetchedBytes))
		}
	}
}

var (
	descRole = prometheus.NewDesc("meridian_replication_role",
		"1 for the role the server plays (standalone, primary, follower, fenced), 0 for the others.", []string{"role"}, nil)
	descLeaseHeld = prometheus.NewDesc("meridian_replication_lease_held",
		"1 while this server holds the publishing lease.", nil, nil)
	descLeaseEpoch = prometheus.NewDesc("meridian_replication_lease_epoch",
		"Epoch of the publishing lease this server holds (0 when none).", nil, nil)
	descLeaseRemaining = prometheus.NewDesc("meridian_replication_lease_remaining_seconds",
		"Time until the held lease runs out unless renewed.", nil, nil)
	descCatchingUp = prometheus.NewDesc("meridian_replication_catching_up",
		"1 while a new primary catches up with the store and refuses writes.", nil, nil)
	descLagSeconds = prometheus.NewDesc("meridian_replication_lag_seconds",
		"Follower: seconds since the store's version of the database was committed on the primary, while it is not applied here (0 in sync).", []string{"database"}, nil)
	descLagVersions = prometheus.NewDesc("meridian_replication_lag_versions",
		"Follower: versions of the database the store holds beyond the local one (0 in sync).", []string{"database"}, nil)
	descUnpublished = prometheus.NewDesc("meridian_replication_unpublished_seconds",
		"Primary: how long the oldest commit or deletion of the database not yet published has waited (0 when all are published).", []string{"database"}, nil)
	descLastSync = prometheus.NewDesc("meridian_replication_last_sync_timestamp_seconds",
		"Follower: Unix time of the last poll of the store that succeeded.", nil, nil)
)

// replCollector reports the replication gauges.
type replCollector struct{ r *Replicator }

func (c replCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRole, descLeaseHeld, descLeaseEpoch, descLeaseRemaining, descCatchingUp,
		descLagSeconds, descLagVersions, descUnpublished, descLastSync} {
		ch <- d
	}
}

func (c replCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Status()
	for _, role := range []string{RoleStandalone, RolePrimary, RoleFollower, RoleFenced} {
		v := 0.0
		if role == st.Role {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descRole, prometheus.GaugeValue, v, role)
	}
	held, epoch, remaining := 0.0, 0.0, 0.0
	if st.Lease != nil {
		held, epoch = 1, float64(st.Lease.Epoch)
		remaining = max(time.Until(st.Lease.Deadline).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descLeaseHeld, prometheus.GaugeValue, held)
	ch <- prometheus.MustNewConstMetric(descLeaseEpoch, prometheus.GaugeValue, epoch)
	ch <- prometheus.MustNewConstMetric(descLeaseRemaining, prometheus.GaugeValue, remaining)
	catching := 0.0
	if st.CatchingUp {
		catching = 1
	}
	ch <- prometheus.MustNewConstMetric(descCatchingUp, prometheus.GaugeValue, catching)
	for _, p := range st.Publish {
		ch <- prometheus.MustNewConstMetric(descUnpublished, prometheus.GaugeValue, p.PendingSeconds, p.Database)
	}
	if st.Follow != nil {
		for _, d := range st.Follow.Databases {
			secs, versions, ok := c.r.lagOf(d.Database)
			if !ok {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, secs, d.Database)
			ch <- prometheus.MustNewConstMetric(descLagVersions, prometheus.GaugeValue, float64(versions), d.Database)
		}
		if !st.Follow.LastSync.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSync, prometheus.GaugeValue, float64(st.Follow.LastSync.UnixNano())/1e9)
		}
	}
}

// replicationRoutes adds the endpoints of replication and synchronize.
func (s *Server) replicationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /status", s.status)
	mux.HandleFunc("POST /admin/promote", s.promote)
	mux.HandleFunc("POST /admin/demote", s.demote)
	mux.HandleFunc("GET /images/{db}", s.getImage)
	mux.HandleFunc("GET /objects/{hash}", s.getObject)
}

// StartReplication begins the role Options.Replication gives: a primary
// takes the publishing lease at once (and fails, naming the holder, when
// another server holds it), a follower opens its store. Publishing and
// following begin once the manager has loaded.
func (s *Server) StartReplication(ctx context.Context) error { return s.repl.Start(ctx) }

// Replicator returns the server's replication part.
func (s *Server) Replicator() *Replicator { return s.repl }
