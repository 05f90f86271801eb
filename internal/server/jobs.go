package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/process"
	"github.com/meridian-olap/meridian/internal/value"
)

// The statuses of an asynchronous refresh, as Azure Analysis Services
// reports them.
const (
	statusNotStarted = "notStarted"
	statusInProgress = "inProgress"
	statusSucceeded  = "succeeded"
	statusFailed     = "failed"
	statusCancelled  = "cancelled"
	statusTimedOut   = "timedOut"
)

// errUserCancel is the cause of a refresh cancelled with DELETE.
var errUserCancel = fmt.Errorf("%w: cancelled by a DELETE of the refresh", ErrCancelled)

// refreshRequest is the body of POST .../refreshes, as Azure Analysis
// Services takes it. Member names match without regard to case, so
// "Type" and "type" both work. ApplyRefreshPolicy and EffectiveDate
// (Power BI's enhanced refresh) are accepted and not used; Timeout
// ("hh:mm:ss") ends the refresh with status timedOut.
type refreshRequest struct {
	Type               string `json:"Type"`
	CommitMode         string `json:"CommitMode"`
	MaxParallelism     *int   `json:"MaxParallelism"`
	RetryCount         int    `json:"RetryCount"`
	Objects            []refreshObject
	ApplyRefreshPolicy *bool  `json:"ApplyRefreshPolicy"`
	EffectiveDate      string `json:"EffectiveDate"`
	Timeout            string `json:"Timeout"`
}

type refreshObject struct {
	Table     string `json:"table"`
	Partition string `json:"partition,omitempty"`
}

// Limits on a refresh request: AAS's default parallelism and a bound on
// what a careless script can ask for.
const (
	defaultMaxParallelism = 10
	maxRetryCount         = 10
)

// jobObject is one partition of a refresh with its status.
type jobObject struct {
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Status    string `json:"status"`
	// Rows read so far from the partition's source (a Meridian addition
	// to the AAS shape, for progress bars).
	Rows int64 `json:"rows,omitempty"`
}

// jobMessage is one message of a refresh: its error, retries.
type jobMessage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

// job is one asynchronous refresh.
type job struct {
	id     string
	dbKey  string
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu        sync.Mutex
	startTime time.Time
	endTime   time.Time
	typ       string
	status    string
	partial   bool
	objects   []*jobObject
	messages  []jobMessage
}

// jobStatus is GET .../refreshes/{id}.
type jobStatus struct {
	StartTime          time.Time    `json:"startTime"`
	EndTime            *time.Time   `json:"endTime,omitempty"`
	Type               string       `json:"type"`
	Status             string       `json:"status"`
	CurrentRefreshType string       `json:"currentRefreshType"`
	Objects            []jobObject  `json:"objects"`
	Messages           []jobMessage `json:"messages,omitempty"`
}

// jobSummary is one entry of GET .../refreshes.
type jobSummary struct {
	RefreshID string     `json:"refreshId"`
	StartTime time.Time  `json:"startTime"`
	EndTime   *time.Time `json:"endTime,omitempty"`
	Status    string     `json:"status"`
}

func (j *job) snapshot() jobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := jobStatus{StartTime: j.startTime, Type: j.typ, Status: j.status, CurrentRefreshType: j.typ,
		Objects: []jobObject{}, Messages: slices.Clone(j.messages)}
	if !j.endTime.IsZero() {
		t := j.endTime
		st.EndTime = &t
	}
	for _, o := range j.objects {
		st.Objects = append(st.Objects, *o)
	}
	return st
}

func (j *job) summary() jobSummary {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := jobSummary{RefreshID: j.id, StartTime: j.startTime, Status: j.status}
	if !j.endTime.IsZero() {
		t := j.endTime
		s.EndTime = &t
	}
	return s
}

// progress updates the status of a partition from processing's reports.
func (j *job) progress(p process.Progress) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, o := range j.objects {
		if !value.EqualText(o.Table, p.Table) || !value.EqualText(o.Partition, p.Partition) {
			continue
		}
		if p.Rows > o.Rows {
			o.Rows = p.Rows
		}
		switch {
		case p.Err != nil && (errors.Is(p.Err, context.Canceled) || errors.Is(p.Err, context.DeadlineExceeded)):
			// The refresh was cancelled; run records how it ended.
		case p.Err != nil:
			o.Status = statusFailed
		case p.Done:
			o.Status = statusSucceeded
		case o.Status == statusNotStarted:
			o.Status = statusInProgress
		}
	}
}

// jobs runs and remembers the refreshes of the AAS refresh API. History
// is kept in memory: a restart forgets it.
type jobs struct {
	s       *Server
	mu      sync.Mutex
	closed  bool
	byID    map[string]*job
	history map[string][]*job // by database key, oldest first
	running waitGroup
}

func newJobs(s *Server) *jobs {
	return &jobs{s: s, byID: map[string]*job{}, history: map[string][]*job{}}
}

// parseRefreshRequest decodes and checks a refresh request.
func parseRefreshRequest(body []byte) (*refreshRequest, process.Request, RefreshOptions, time.Duration, error) {
	var req refreshRequest
	var preq process.Request
	var opts RefreshOptions
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, preq, opts, 0, fmt.Errorf("%w: %v", ErrInvalidJSON, jsonError(body, err))
		}
		if dec.More() {
			return nil, preq, opts, 0, fmt.Errorf("%w: unexpected data after the request object", ErrInvalidJSON)
		}
	}
	typ := req.Type
	if typ == "" {
		typ = string(model.RefreshAutomatic)
	}
	switch {
	case strings.EqualFold(typ, string(model.RefreshAdd)):
		return nil, preq, opts, 0, fmt.Errorf("%w: Type: refresh of type add is not supported by the refresh API", ErrBadRequest)
	case strings.EqualFold(typ, string(model.RefreshDefragment)):
		typ = string(model.RefreshDefragment)
	default:
		t, err := process.ParseType(typ)
		if err != nil {
			return nil, preq, opts, 0, fmt.Errorf("%w: Type: %v", ErrBadRequest, err)
		}
		preq.Type = t
		typ = string(t)
	}
	req.Type = typ
	switch {
	case req.CommitMode == "" || strings.EqualFold(req.CommitMode, "transactional"):
		req.CommitMode = "transactional"
	case strings.EqualFold(req.CommitMode, "partialBatch"):
		req.CommitMode = "partialBatch"
	default:
		return nil, preq, opts, 0, fmt.Errorf("%w: CommitMode: unknown value %q; expected transactional or partialBatch", ErrBadRequest, req.CommitMode)
	}
	opts.MaxParallelism = defaultMaxParallelism
	if req.MaxParallelism != nil {
		if *req.MaxParallelism < 1 || *req.MaxParallelism > 1024 {
			return nil, preq, opts, 0, fmt.Errorf("%w: MaxParallelism: %d is not between 1 and 1024", ErrBadRequest, *req.MaxParallelism)
		}
		opts.MaxParallelism = *req.MaxParallelism
	}
	if req.RetryCount < 0 || req.RetryCount > maxRetryCount {
		return nil, preq, opts, 0, fmt.Errorf("%w: RetryCount: %d is not between 0 and %d", ErrBadRequest, req.RetryCount, maxRetryCount)
	}
	opts.Retries = req.RetryCount
	if req.CommitMode == "partialBatch" {
		// As in AAS, a batch is MaxParallelism tables.
		opts.BatchSize = opts.MaxParallelism
	}
	for i, o := range req.Objects {
		if strings.TrimSpace(o.Table) == "" {
			return nil, preq, opts, 0, fmt.Errorf("%w: Objects[%d]: \"table\" is required", ErrBadRequest, i)
		}
		preq.Objects = append(preq.Objects, process.Object{Table: o.Table, Partition: o.Partition})
	}
	var timeout time.Duration
	if req.Timeout != "" {
		d, err := parseTimeSpan(req.Timeout)
		if err != nil {
			return nil, preq, opts, 0, fmt.Errorf("%w: Timeout: %v", ErrBadRequest, err)
		}
		timeout = d
	}
	return &req, preq, opts, timeout, nil
}

// parseTimeSpan reads a .NET time span as AAS and Power BI write one:
// "hh:mm:ss", optionally "d.hh:mm:ss".
func parseTimeSpan(s string) (time.Duration, error) {
	var days int
	rest := s
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.Atoi(s[:i])
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a time span like 02:00:00", s)
		}
		days, rest = d, s[i+1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("%q is not a time span like 02:00:00", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || (i > 0 && v > 59) {
			return 0, fmt.Errorf("%q is not a time span like 02:00:00", s)
		}
		n[i] = v
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second
	if d <= 0 {
		return 0, fmt.Errorf("%q is not a positive time span", s)
	}
	return d, nil
}

// post starts a refresh: 202 with the Location of its status, 409 when
// the database has a writer already.
func (js *jobs) post(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, js.s.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	req, preq, opts, timeout, err := parseRefreshRequest(body)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := js.s.m.Current(r.PathValue("db"))
	if err != nil {
		writeError(w, err)
		return
	}
	j := &job{id: uuid.NewString(), dbKey: value.FoldText(v.Name), done: make(chan struct{}),
		startTime: time.Now().UTC(), typ: req.Type, status: statusNotStarted, partial: req.CommitMode == "partialBatch"}
	opts.OnProgress = j.progress
	opts.OnRetry = func(attempt int, err error) {
		_, code := statusOf(err)
		j.mu.Lock()
		j.messages = append(j.messages, jobMessage{Code: code, Type: "warning",
			Message: fmt.Sprintf("attempt %d failed and is retried: %v", attempt, err)})
		for _, o := range j.objects {
			if !j.partial || o.Status != statusSucceeded {
				o.Status = statusNotStarted
			}
		}
		j.mu.Unlock()
	}
	// The refresh outlives the request: its context is its own,
	// cancelled by DELETE, by Timeout, or at shutdown.
	ctx, cancel := context.WithCancelCause(context.Background())
	if timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w: the refresh ran longer than its Timeout %s", context.DeadlineExceeded, req.Timeout))
		inner := cancel
		cancel = func(cause error) { inner(cause); stop() }
	}
	j.cancel = cancel
	var pending *PendingRefresh
	if preq.Type != "" {
		pending, err = js.s.m.BeginRefresh(ctx, v.Name, preq, opts)
		if err != nil {
			cancel(nil)
			writeError(w, err)
			return
		}
		for _, o := range pending.Partitions() {
			j.objects = append(j.objects, &jobObject{Table: o.Table, Partition: o.Partition, Status: statusNotStarted})
		}
	}
	js.mu.Lock()
	if js.closed {
		js.mu.Unlock()
		if pending != nil {
			pending.Abandon()
		}
		cancel(nil)
		writeError(w, ErrClosed)
		return
	}
	js.byID[j.id] = j
	h := append(js.history[j.dbKey], j)
	if over := len(h) - js.s.opts.RefreshHistory; over > 0 {
		for _, old := range h[:over] {
			delete(js.byID, old.id)
		}
		h = slices.Clone(h[over:])
	}
	js.history[j.dbKey] = h
	js.running.Go(func() { js.run(j, pending, ctx) })
	js.mu.Unlock()

	st := j.snapshot()
	w.Header().Set("Location", refreshLocation(r, j.id))
	writeJSON(w, http.StatusAccepted, st)
}

// refreshLocation is the absolute URL of a refresh's status.
func refreshLocation(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host}
	// The escaped path keeps a database name holding '/' in one segment.
	return u.String() + strings.TrimSuffix(r.URL.EscapedPath(), "/") + "/" + url.PathEscape(id)
}

// run executes a refresh and records how it ended.
func (js *jobs) run(j *job, pending *PendingRefresh, ctx context.Context) {
	defer close(j.done)
	defer j.cancel(nil)
	j.mu.Lock()
	j.status = statusInProgress
	j.mu.Unlock()
	start := time.Now()
	var res *RefreshResult
	var err error
	if pending != nil {
		res, err = pending.Run()
	} else {
		res = &RefreshResult{}
		j.mu.Lock()
		j.messages = append(j.messages, jobMessage{Code: "Defragment", Type: "information",
			Message: "refresh of type defragment has nothing to do in Meridian: dictionaries hold only values in use"})
		j.mu.Unlock()
	}
	js.s.metrics.refresh(outcome(err), time.Since(start), res.Rows)

	j.mu.Lock()
	defer j.mu.Unlock()
	j.endTime = time.Now().UTC()
	final := statusSucceeded
	switch {
	case err == nil:
	case errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		final = statusTimedOut
	case errors.Is(err, ErrCancelled) || errors.Is(err, ErrClosed):
		final = statusCancelled
	default:
		final = statusFailed
	}
	j.status = final
	if err != nil {
		_, code := statusOf(err)
		msg := err.Error()
		if res.Batches > 0 {
			msg = fmt.Sprintf("%s (%d batch(es) committed before the failure stay committed)", msg, res.Batches)
		} else {
			msg += " (nothing was committed)"
		}
		j.messages = append(j.messages, jobMessage{Code: code, Message: msg, Type: "error"})
		js.s.log.Info("refresh ended", "id", j.id, "status", final, "err", err)
	}
	for _, o := range j.objects {
		switch {
		case final == statusSucceeded:
			o.Status = statusSucceeded
		case !j.partial:
			// Transactional: nothing was committed, whatever was read.
			o.Status = final
		case o.Status == statusInProgress || (o.Status == statusNotStarted && final != statusFailed):
			o.Status = final
		}
	}
}

// lookup finds a refresh of the database named in the path.
func (js *jobs) lookup(r *http.Request) (*job, error) {
	v, err := js.s.m.Current(r.PathValue("db"))
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	js.mu.Lock()
	j, ok := js.byID[id]
	js.mu.Unlock()
	if !ok || j.dbKey != value.FoldText(v.Name) {
		return nil, fmt.Errorf("%w: no refresh %q of database %q", ErrRefreshNotFound, id, v.Name)
	}
	return j, nil
}

func (js *jobs) get(w http.ResponseWriter, r *http.Request) {
	j, err := js.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j.snapshot())
}

// list answers the refresh history of a database, newest first.
func (js *jobs) list(w http.ResponseWriter, r *http.Request) {
	v, err := js.s.m.Current(r.PathValue("db"))
	if err != nil {
		writeError(w, err)
		return
	}
	js.mu.Lock()
	h := slices.Clone(js.history[value.FoldText(v.Name)])
	js.mu.Unlock()
	out := []jobSummary{}
	for i := len(h) - 1; i >= 0; i-- {
		out = append(out, h[i].summary())
	}
	writeJSON(w, http.StatusOK, out)
}

// cancelWait bounds how long DELETE waits for the refresh to stop, so
// that its answer shows the final status.
const cancelWait = 30 * time.Second

// cancel cancels a refresh. The refresh ends "cancelled" and commits
// nothing (in partialBatch mode, batches committed before stay). A
// refresh that has ended already is left as it is.
func (js *jobs) cancel(w http.ResponseWriter, r *http.Request) {
	j, err := js.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	j.cancel(errUserCancel)
	select {
	case <-j.done:
	case <-time.After(cancelWait):
	case <-r.Context().Done():
		return
	}
	writeJSON(w, http.StatusOK, j.snapshot())
}

// shutdown cancels every running refresh and waits for them.
func (js *jobs) shutdown(ctx context.Context) error {
	js.mu.Lock()
	js.closed = true
	running := []*job{}
	for _, j := range js.byID {
		running = append(running, j)
	}
	js.mu.Unlock()
	for _, j := range running {
		j.cancel(ErrClosed)
	}
	return js.running.wait(ctx)
}
