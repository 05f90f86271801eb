package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RefreshRequest is the body of an asynchronous refresh, in the Azure
// Analysis Services shape. Zero fields are left out, so the server's
// defaults apply.
type RefreshRequest struct {
	// Type is full, clearValues, calculate, dataOnly, automatic or
	// defragment.
	Type string `json:"Type,omitempty"`
	// CommitMode is transactional or partialBatch.
	CommitMode     string          `json:"CommitMode,omitempty"`
	MaxParallelism int             `json:"MaxParallelism,omitempty"`
	RetryCount     int             `json:"RetryCount,omitempty"`
	Objects        []RefreshObject `json:"Objects,omitempty"`
}

// RefreshObject names a table, or one partition of it, to refresh.
type RefreshObject struct {
	Table     string `json:"table"`
	Partition string `json:"partition,omitempty"`
}

// RefreshStatus is the state of a refresh, in the Azure Analysis Services
// shape.
type RefreshStatus struct {
	// ID is the refresh id; set by Status from the job when the server
	// leaves it out.
	ID                 string `json:"refreshId,omitempty"`
	StartTime          string `json:"startTime,omitempty"`
	EndTime            string `json:"endTime,omitempty"`
	Type               string `json:"type,omitempty"`
	CurrentRefreshType string `json:"currentRefreshType,omitempty"`
	// Status is notStarted, inProgress, succeeded, failed, cancelled or
	// timedOut.
	Status   string                `json:"status"`
	Objects  []RefreshObjectStatus `json:"objects,omitempty"`
	Messages []Message             `json:"messages,omitempty"`
}

// RefreshObjectStatus is the state of one partition of a refresh.
type RefreshObjectStatus struct {
	Table     string `json:"table"`
	Partition string `json:"partition,omitempty"`
	Status    string `json:"status"`
	// Rows is the number of rows read so far, when the server reports it
	// (a Meridian addition to the AAS shape).
	Rows int64 `json:"rows,omitempty"`
}

// Refresh statuses.
const (
	RefreshNotStarted = "notStarted"
	RefreshInProgress = "inProgress"
	RefreshSucceeded  = "succeeded"
	RefreshFailed     = "failed"
	RefreshCancelled  = "cancelled"
	RefreshTimedOut   = "timedOut"
)

// Done reports whether the refresh has ended, well or not.
func (s *RefreshStatus) Done() bool { return terminal(s.Status) }

// Succeeded reports whether the refresh ended well.
func (s *RefreshStatus) Succeeded() bool { return strings.EqualFold(s.Status, RefreshSucceeded) }

func terminal(status string) bool {
	for _, t := range []string{RefreshSucceeded, RefreshFailed, RefreshCancelled, RefreshTimedOut} {
		if strings.EqualFold(status, t) {
			return true
		}
	}
	return false
}

// Progress counts the partitions that have ended (in any terminal state),
// the partitions known, and the rows read so far.
func (s *RefreshStatus) Progress() (done, total int, rows int64) {
	for _, o := range s.Objects {
		if terminal(o.Status) {
			done++
		}
		rows += o.Rows
	}
	return done, len(s.Objects), rows
}

// Duration returns the time from start to end (or to now while running);
// 0 when the server gave no start time.
func (s *RefreshStatus) Duration() time.Duration {
	start := parseTime(s.StartTime)
	if start.IsZero() {
		return 0
	}
	end := parseTime(s.EndTime)
	if end.IsZero() || !s.Done() {
		end = time.Now()
	}
	if end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

// RefreshJob is a refresh the server has accepted.
type RefreshJob struct {
	ID       string
	Database string
	// Server is the URL of the server that runs the refresh; its status
	// is read there.
	Server string
	conn   *Conn
}

// Refresh starts an asynchronous refresh of database db ("" for the
// Initial Catalog) on the primary. A refresh already running gives an
// *Error for which IsConflict is true.
func (c *Conn) Refresh(ctx context.Context, db string, req RefreshRequest) (*RefreshJob, error) {
	db, err := c.database(db)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", db, err)
	}
	a, err := c.do(ctx, call{method: http.MethodPost, path: c.refreshesPath(db), body: body, write: true})
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", db, err)
	}
	id := refreshID(a.header.Get("Location"))
	if id == "" {
		// Some servers also put the id in the body.
		var v struct {
			ID string `json:"refreshId"`
		}
		if json.Unmarshal(a.body, &v) == nil {
			id = v.ID
		}
	}
	if id == "" {
		return nil, fmt.Errorf("refresh %s: %w", db, &Error{StatusCode: a.status, Code: CodeBadResponse, Server: a.server,
			Message: "the server accepted the refresh but gave no refresh id in the Location header"})
	}
	return &RefreshJob{ID: id, Database: db, Server: a.server, conn: c}, nil
}

// refreshID takes the id from a Location header, which may be the bare id,
// a path ending in it, or a full URL.
func refreshID(loc string) string {
	loc = strings.TrimSpace(loc)
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	loc = strings.TrimRight(loc, "/")
	if i := strings.LastIndexByte(loc, '/'); i >= 0 {
		loc = loc[i+1:]
	}
	if id, err := url.PathUnescape(loc); err == nil {
		loc = id
	}
	return loc
}

func (c *Conn) refreshesPath(db string) string {
	return "/servers/" + url.PathEscape(c.serverName) + "/models/" + url.PathEscape(db) + "/refreshes"
}

// Job returns a handle on a refresh started earlier, by id, run by the
// primary.
func (c *Conn) Job(db, id string) *RefreshJob {
	return &RefreshJob{ID: id, Database: db, Server: c.Primary(), conn: c}
}

// Status reads the refresh's status from the server that runs it.
func (j *RefreshJob) Status(ctx context.Context) (*RefreshStatus, error) {
	var st RefreshStatus
	_, err := j.conn.do(ctx, call{method: http.MethodGet, pin: j.Server,
		path: j.conn.refreshesPath(j.Database) + "/" + url.PathEscape(j.ID),
		decode: func(a *answer) error {
			if err := json.Unmarshal(a.body, &st); err != nil {
				return err
			}
			if st.Status == "" {
				return fmt.Errorf("refresh status has no \"status\"")
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("refresh %s status: %w", j.ID, err)
	}
	if st.ID == "" {
		st.ID = j.ID
	}
	return &st, nil
}

// maxPollFailures is how many polls in a row may fail for want of an
// answer before Wait gives up; a server restarting or a dropped
// connection should not lose a long refresh.
const maxPollFailures = 5

// Wait polls the refresh every pollEvery (a second when zero) until it
// ends, calling onProgress (when not nil) with every status read. It
// returns the final status, and an *Error with code RefreshFailed,
// RefreshCancelled or RefreshTimedOut, and the server's first error
// message, when the refresh did not succeed.
func (j *RefreshJob) Wait(ctx context.Context, pollEvery time.Duration, onProgress func(*RefreshStatus)) (*RefreshStatus, error) {
	if pollEvery <= 0 {
		pollEvery = time.Second
	}
	failures := 0
	for {
		st, err := j.Status(ctx)
		switch {
		case err != nil && IsUnavailable(err) && failures+1 < maxPollFailures:
			failures++
			j.conn.log.Warn("refresh status poll failed; will poll again", "refresh", j.ID, "err", err)
		case err != nil:
			return nil, err
		default:
			failures = 0
			if onProgress != nil {
				onProgress(st)
			}
			if st.Done() {
				return st, st.err(j)
			}
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// err is the error of a refresh that ended without success.
func (s *RefreshStatus) err(j *RefreshJob) error {
	code := ""
	switch {
	case s.Succeeded():
		return nil
	case strings.EqualFold(s.Status, RefreshCancelled):
		code = CodeRefreshCancelled
	case strings.EqualFold(s.Status, RefreshTimedOut):
		code = CodeRefreshTimedOut
	default:
		code = CodeRefreshFailed
	}
	msg := "refresh of " + j.Database + " " + s.Status
	for _, m := range s.Messages {
		if m.Message != "" && (m.Type == "" || strings.EqualFold(m.Type, "error")) {
			msg += ": " + m.Message
			break
		}
	}
	return &Error{Code: code, Message: msg, Server: j.Server}
}

// Cancel asks the server to cancel the refresh.
func (j *RefreshJob) Cancel(ctx context.Context) error {
	_, err := j.conn.do(ctx, call{method: http.MethodDelete, pin: j.Server, write: true,
		path: j.conn.refreshesPath(j.Database) + "/" + url.PathEscape(j.ID)})
	if err != nil {
		return fmt.Errorf("cancel refresh %s: %w", j.ID, err)
	}
	return nil
}

// RefreshSummary is one entry of a database's refresh history.
type RefreshSummary struct {
	ID        string `json:"refreshId"`
	StartTime string `json:"startTime,omitempty"`
	EndTime   string `json:"endTime,omitempty"`
	Status    string `json:"status"`
}

// Refreshes lists the refresh history of database db on the primary,
// where refreshes run.
func (c *Conn) Refreshes(ctx context.Context, db string) ([]RefreshSummary, error) {
	db, err := c.database(db)
	if err != nil {
		return nil, err
	}
	var out []RefreshSummary
	_, err = c.do(ctx, call{method: http.MethodGet, pin: c.Primary(), path: c.refreshesPath(db), decode: func(a *answer) error {
		return json.Unmarshal(a.body, &out)
	}})
	if err != nil {
		return nil, fmt.Errorf("refresh history of %s: %w", db, err)
	}
	return out, nil
}
