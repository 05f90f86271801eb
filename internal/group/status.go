package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/client"
)

// Status is the state of a group: what `meridian group status` prints.
// Its JSON is the contract's:
//
//	{"inSync":bool,"servers":[{"name","url","region","role","reachable",
//	  "databases":[{"name","version","imageHash","lagSeconds"}]}]}
type Status struct {
	// InSync is true when every reachable server serves the same
	// databases at the same version with the same image hash, and at
	// most one of them is primary. See Verdict.
	InSync  bool          `json:"inSync"`
	Servers []ServerState `json:"servers"`
	// Reasons say why the group is not in sync, one finding each.
	Reasons []string `json:"-"`
	// Notes are findings that do not change the verdict: servers that
	// did not answer, a fenced former primary.
	Notes []string `json:"-"`
}

// AllReachable reports whether every server answered.
func (s *Status) AllReachable() bool {
	for _, x := range s.Servers {
		if !x.Reachable {
			return false
		}
	}
	return true
}

// AnyReachable reports whether some server answered.
func (s *Status) AnyReachable() bool {
	for _, x := range s.Servers {
		if x.Reachable {
			return true
		}
	}
	return false
}

// ServerState is one server of a group as it answered.
type ServerState struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Region string `json:"region"`
	// Role is primary, follower, standalone or fenced; "" when it could
	// not be read.
	Role      string          `json:"role"`
	Reachable bool            `json:"reachable"`
	Databases []DatabaseState `json:"databases"`

	// Error says why the server is unreachable, or why its databases
	// could not be read.
	Error string `json:"-"`
	// Status is the server's GET /status, nil when it gave none.
	Status *client.ServerStatus `json:"-"`
	// Latency is the time the server took to answer its health check.
	Latency time.Duration `json:"-"`
}

// DatabaseState is one database of a server.
type DatabaseState struct {
	Name      string `json:"name"`
	Version   int64  `json:"version"`
	ImageHash string `json:"imageHash"`
	// LagSeconds is a follower's lag, null elsewhere.
	LagSeconds *float64 `json:"lagSeconds"`

	VersionsBehind *int64 `json:"-"`
	State          string `json:"-"`
}

// CollectOptions configure Collect.
type CollectOptions struct {
	// Timeout bounds each server's answers (default 5 s): a server that
	// takes longer counts as unreachable.
	Timeout time.Duration
	// UserAgent is sent with the requests.
	UserAgent string
	// Logger receives the clients' warnings; nil discards.
	Logger *slog.Logger
}

func (o CollectOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 5 * time.Second
	}
	return o.Timeout
}

// Collect asks every server of the group, in parallel, for its health,
// role and databases, and gives the verdict.
func Collect(ctx context.Context, g *Group, opts CollectOptions) *Status {
	st := &Status{Servers: make([]ServerState, len(g.Servers))}
	var wg sync.WaitGroup
	for i, s := range g.Servers {
		wg.Go(func() { st.Servers[i] = probe(ctx, s, opts) })
	}
	wg.Wait()
	st.InSync, st.Reasons, st.Notes = Verdict(st.Servers)
	return st
}

// probe reads one server's state.
func probe(ctx context.Context, s Server, opts CollectOptions) ServerState {
	out := ServerState{Name: s.Name, URL: s.URL, Region: s.Region, Databases: []DatabaseState{}}
	start := time.Now()
	conn, err := client.Open(ctx, s.URL, client.Options{Timeout: opts.timeout(), UserAgent: opts.UserAgent, Logger: opts.Logger})
	if err != nil {
		out.Error = describe(err)
		return out
	}
	defer conn.Close()
	out.Reachable, out.Latency = true, time.Since(start)
	if rs, err := conn.Status(ctx); err == nil {
		out.Status, out.Role = rs, rs.Role
		if out.Region == "" {
			out.Region = rs.Region
		}
	} else if !client.IsNotFound(err) {
		out.Error = "status: " + describe(err)
	}
	dbs, err := conn.Databases(ctx)
	if err != nil {
		out.Error = joinText(out.Error, "databases: "+describe(err))
		out.Databases = nil
		return out
	}
	for _, d := range dbs {
		out.Databases = append(out.Databases, DatabaseState{Name: d.Name, Version: d.Version, ImageHash: d.ImageHash,
			LagSeconds: d.LagSeconds, VersionsBehind: d.VersionsBehind, State: d.State})
		if out.Role == "" && d.Role != "" && out.Status == nil {
			out.Role = d.Role
		}
	}
	if out.Role == "" && out.Status == nil && out.Error == "" {
		// A server without replication (no /status, no roles) stands
		// alone.
		out.Role = client.RoleStandalone
	}
	return out
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// describe is an error without the server URL, which the output gives
// next to it.
func describe(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Message != "" && !errors.Is(err, client.ErrAlias) {
		if ce.StatusCode != 0 {
			return fmt.Sprintf("%d %s: %s", ce.StatusCode, ce.Code, ce.Message)
		}
		return ce.Message
	}
	return err.Error()
}

// Verdict judges a group's servers. The group is in sync when at least
// one server answered and, over the servers that answered: every one
// listed its databases; every database is on every one of them; each
// database has the same version and the same, non-empty, image hash on
// all of them; and at most one says it is primary. It is never in sync
// when image hashes differ, whatever the versions say. Servers that did
// not answer do not count against the verdict; they are reported in
// notes.
func Verdict(servers []ServerState) (inSync bool, reasons, notes []string) {
	var up []ServerState
	for _, s := range servers {
		if s.Reachable {
			up = append(up, s)
			continue
		}
		why := s.Error
		if why == "" {
			why = "no answer"
		}
		notes = append(notes, fmt.Sprintf("%s did not answer (%s); the verdict covers the other servers only", s.Name, why))
	}
	if len(up) == 0 {
		return false, []string{"no server answered"}, notes
	}
	var primaries []string
	for _, s := range up {
		switch s.Role {
		case client.RolePrimary:
			primaries = append(primaries, s.Name)
		case client.RoleFenced:
			notes = append(notes, fmt.Sprintf("%s is fenced: it lost the publishing lease and refuses writes; demote it to a follower (meridian group watch does)", s.Name))
		}
		if s.Status != nil && s.Status.CatchingUp {
			notes = append(notes, fmt.Sprintf("%s is catching up with the store before it takes writes", s.Name))
		}
	}
	if len(primaries) > 1 {
		reasons = append(reasons, fmt.Sprintf("%d servers say they are primary (%s); only one may publish", len(primaries), strings.Join(primaries, ", ")))
	}
	// Every database by case-folded name, with each server's copy.
	type copyOf struct {
		server string
		db     *DatabaseState
	}
	dbs := map[string][]copyOf{}
	display := map[string]string{}
	readable := 0
	for _, s := range up {
		if s.Databases == nil {
			reasons = append(reasons, fmt.Sprintf("%s answered but its databases could not be read (%s)", s.Name, s.Error))
			continue
		}
		readable++
		seen := map[string]bool{}
		for i := range s.Databases {
			d := &s.Databases[i]
			k := strings.ToLower(d.Name)
			if seen[k] {
				reasons = append(reasons, fmt.Sprintf("%s lists database %s twice", s.Name, d.Name))
				continue
			}
			seen[k] = true
			if _, ok := display[k]; !ok {
				display[k] = d.Name
			}
			dbs[k] = append(dbs[k], copyOf{s.Name, d})
		}
	}
	keys := make([]string, 0, len(dbs))
	for k := range dbs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		copies := dbs[k]
		name := display[k]
		if len(copies) < readable {
			var missing []string
			for _, s := range up {
				if s.Databases == nil {
					continue
				}
				if !slices.ContainsFunc(copies, func(c copyOf) bool { return c.server == s.Name }) {
					missing = append(missing, s.Name)
				}
			}
			reasons = append(reasons, fmt.Sprintf("%s is missing on %s", name, strings.Join(missing, ", ")))
		}
		// Versions.
		maxV := int64(0)
		for _, c := range copies {
			maxV = max(maxV, c.db.Version)
		}
		var behind []string
		for _, c := range copies {
			if c.db.Version < maxV {
				b := fmt.Sprintf("%s at version %d", c.server, c.db.Version)
				if c.db.LagSeconds != nil {
					b += fmt.Sprintf(", lag %.1f s", *c.db.LagSeconds)
				}
				behind = append(behind, b)
			}
		}
		if len(behind) > 0 {
			reasons = append(reasons, fmt.Sprintf("%s: versions differ: newest %d; %s", name, maxV, strings.Join(behind, "; ")))
			continue
		}
		// Same version everywhere: the image hashes must agree too.
		var noHash []string
		hashes := map[string][]string{}
		var order []string
		for _, c := range copies {
			if c.db.ImageHash == "" {
				noHash = append(noHash, c.server)
				continue
			}
			if _, ok := hashes[c.db.ImageHash]; !ok {
				order = append(order, c.db.ImageHash)
			}
			hashes[c.db.ImageHash] = append(hashes[c.db.ImageHash], c.server)
		}
		if len(noHash) > 0 {
			reasons = append(reasons, fmt.Sprintf("%s: %s report no image hash, so equality cannot be shown", name, strings.Join(noHash, ", ")))
		}
		if len(hashes) > 1 {
			var parts []string
			for _, h := range order {
				parts = append(parts, fmt.Sprintf("%s on %s", ShortHash(h), strings.Join(hashes[h], ", ")))
			}
			reasons = append(reasons, fmt.Sprintf("%s: version %d everywhere but the image hashes differ: %s", name, maxV, strings.Join(parts, "; ")))
		}
	}
	return len(reasons) == 0, reasons, notes
}

// ShortHash abbreviates an image hash for people: "sha256:" and 12 hex
// digits.
func ShortHash(h string) string {
	prefix, hex, ok := strings.Cut(h, ":")
	if !ok {
		prefix, hex = "", h
	}
	if len(hex) > 12 {
		hex = hex[:12] + "…"
	}
	if prefix == "" {
		return hex
	}
	return prefix + ":" + hex
}
