package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/client"
)

// Op is a command run on a group: a deploy, a refresh or a backup.
type Op struct {
	// Verb names the command in messages ("deploy").
	Verb string
	// Database is the database the command is about.
	Database string
	// EveryRole runs the command on every server whatever its role (a
	// backup). Otherwise it runs on the primary and standalone servers,
	// and followers, which refuse writes, receive its result by
	// replication: their rows report when they have it.
	EveryRole bool
	// Run runs the command on one server. detail, if not "", is said in
	// the server's row.
	Run func(ctx context.Context, conn *client.Conn, s Server) (detail string, err error)
}

// Outcomes of a row.
const (
	OutcomeSucceeded    = "succeeded"
	OutcomeReplicated   = "replicated"
	OutcomeFailed       = "failed"
	OutcomeUnreachable  = "unreachable"
	OutcomeNotSupported = "not supported"
	OutcomeSkipped      = "skipped"
)

// Row is the outcome of a command on one server.
type Row struct {
	Server  string `json:"server"`
	Region  string `json:"region"`
	URL     string `json:"url"`
	Role    string `json:"role"`
	Outcome string `json:"outcome"`
	OK      bool   `json:"ok"`
	// Seconds is the time from the start of the command until the
	// server was done (for a follower: until it had the primary's
	// version).
	Seconds   float64 `json:"seconds"`
	Version   int64   `json:"version,omitempty"`
	ImageHash string  `json:"imageHash,omitempty"`
	Message   string  `json:"message,omitempty"`
	// Unreachable is true when the server did not answer.
	Unreachable bool `json:"-"`
}

// RunOptions configure Run.
type RunOptions struct {
	// Timeout bounds each request to a server (default 60 s); a refresh's
	// whole run is bounded only by ctx.
	Timeout time.Duration
	// Wait bounds the wait for followers to replicate the primary's
	// result (default 2 minutes; negative: do not wait, and report
	// followers as skipped).
	Wait time.Duration
	// Poll is the time between reads of a follower's databases while
	// waiting (default 250 ms).
	Poll time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives the clients' warnings; nil discards.
	Logger *slog.Logger
}

func (o RunOptions) withDefaults() RunOptions {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Wait == 0 {
		o.Wait = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	return o
}

// primaryResult is what followers wait for.
type primaryResult struct {
	server    string
	ok        bool
	version   int64
	imageHash string
}

// Run runs op on every server of the group in parallel and returns one
// row per server, in the group file's order. Servers are first asked for
// their role (GET /status): with EveryRole the command runs on every
// server that answers; otherwise on primaries and standalone servers,
// while each follower's row waits until the follower serves the version
// and image hash the primary ended with. A fenced server is not sent the
// command. Rows of servers that did not answer say so.
func Run(ctx context.Context, g *Group, op Op, opts RunOptions) []Row {
	opts = opts.withDefaults()
	start := time.Now()
	rows := make([]Row, len(g.Servers))
	conns := make([]*client.Conn, len(g.Servers))
	var wg sync.WaitGroup
	for i, s := range g.Servers {
		rows[i] = Row{Server: s.Name, Region: s.Region, URL: s.URL}
		wg.Go(func() {
			conn, err := client.Open(ctx, s.URL, client.Options{Timeout: opts.Timeout, UserAgent: opts.UserAgent, Logger: opts.Logger})
			if err != nil {
				rows[i].Outcome, rows[i].Message, rows[i].Unreachable = OutcomeUnreachable, describe(err), true
				return
			}
			conns[i] = conn
			rows[i].Role = client.RoleStandalone
			if st, err := conn.Status(ctx); err == nil {
				rows[i].Role = st.Role
				if rows[i].Region == "" {
					rows[i].Region = st.Region
				}
			} else if !client.IsNotFound(err) {
				rows[i].Role = ""
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()

	// The primary's outcome, for the followers: set once, when the
	// primary (the one server with the primary role) ends, and then
	// primaryDone is closed.
	primaryDone := make(chan struct{})
	var primaryRes *primaryResult
	primaries := 0
	for i := range rows {
		if conns[i] != nil && rows[i].Role == client.RolePrimary {
			primaries++
		}
	}
	if primaries != 1 {
		close(primaryDone)
	}
	for i, s := range g.Servers {
		conn := conns[i]
		if conn == nil {
			continue
		}
		row := &rows[i]
		role := row.Role
		switch {
		case op.EveryRole || role == client.RoleStandalone || role == client.RolePrimary || role == "":
			wg.Go(func() {
				detail, err := op.Run(ctx, conn, s)
				row.Seconds = time.Since(start).Seconds()
				switch {
				case err == nil:
					row.Outcome, row.OK, row.Message = OutcomeSucceeded, true, detail
				case isNotSupported(err):
					row.Outcome, row.Message = OutcomeNotSupported, describe(err)
				case client.IsUnreachable(err):
					row.Outcome, row.Message, row.Unreachable = OutcomeUnreachable, describe(err), true
				default:
					row.Outcome, row.Message = OutcomeFailed, describe(err)
				}
				if row.OK || row.Outcome == OutcomeNotSupported {
					row.Version, row.ImageHash = databaseVersion(ctx, conn, op.Database)
				}
				if role == client.RolePrimary && primaries == 1 && !op.EveryRole {
					primaryRes = &primaryResult{server: s.Name, ok: row.OK, version: row.Version, imageHash: row.ImageHash}
					close(primaryDone)
				}
			})
		case role == client.RoleFenced:
			row.Outcome, row.Message = OutcomeFailed, "fenced: this former primary lost the publishing lease and refuses writes; demote it (meridian group watch does) and it follows the store"
		case role == client.RoleFollower:
			wg.Go(func() {
				<-primaryDone
				res := primaryRes
				switch {
				case res == nil && primaries == 0:
					row.Outcome, row.Message = OutcomeSkipped, "no server answered as the primary, so there is nothing to replicate"
				case res == nil:
					row.Outcome, row.Message = OutcomeSkipped, fmt.Sprintf("%d servers say they are primary; run meridian group status", primaries)
				case !res.ok:
					row.Outcome, row.Message = OutcomeSkipped, "the primary ("+res.server+") did not succeed"
				case opts.Wait < 0:
					row.Outcome, row.Message = OutcomeSkipped, "not waited for (replicates from "+res.server+")"
				default:
					waitReplica(ctx, conn, op.Database, *res, opts, row)
				}
				row.Seconds = time.Since(start).Seconds()
			})
		default:
			row.Outcome, row.Message = OutcomeFailed, fmt.Sprintf("unknown role %q", role)
		}
	}
	wg.Wait()
	return rows
}

// waitReplica polls a follower until it serves the primary's version.
func waitReplica(ctx context.Context, conn *client.Conn, db string, res primaryResult, opts RunOptions, row *Row) {
	ctx, cancel := context.WithTimeout(ctx, opts.Wait)
	defer cancel()
	t := time.NewTicker(opts.Poll)
	defer t.Stop()
	var last string
	for {
		v, h := databaseVersion(ctx, conn, db)
		row.Version, row.ImageHash = v, h
		switch {
		case v > res.version || v == res.version && h == res.imageHash && h != "":
			row.Outcome, row.OK = OutcomeReplicated, true
			row.Message = "from " + res.server
			if v > res.version {
				row.Message += fmt.Sprintf(" (now at version %d, newer than the %d it waited for)", v, res.version)
			}
			return
		case v == res.version && res.imageHash != "" && h != "" && h != res.imageHash:
			row.Outcome = OutcomeFailed
			row.Message = fmt.Sprintf("version %d with image hash %s, but the primary's is %s", v, ShortHash(h), ShortHash(res.imageHash))
			return
		}
		last = fmt.Sprintf("at version %d, the primary at %d", v, res.version)
		select {
		case <-ctx.Done():
			row.Outcome = OutcomeFailed
			row.Message = fmt.Sprintf("not replicated within %s: %s", opts.Wait, last)
			return
		case <-t.C:
		}
	}
}

// databaseVersion reads a database's version and image hash on one
// server; zero when it cannot.
func databaseVersion(ctx context.Context, conn *client.Conn, db string) (int64, string) {
	dbs, err := conn.Databases(ctx)
	if err != nil {
		return 0, ""
	}
	for _, d := range dbs {
		if strings.EqualFold(d.Name, db) {
			return d.Version, d.ImageHash
		}
	}
	return 0, ""
}

// isNotSupported reports a 501: a command the server does not implement.
func isNotSupported(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotImplemented
}

// RowsOK reports whether every row succeeded (or replicated).
func RowsOK(rows []Row) bool {
	for _, r := range rows {
		if !r.OK {
			return false
		}
	}
	return true
}
