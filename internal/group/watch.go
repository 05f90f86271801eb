package group

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/client"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// After is how long the primary must stay unhealthy before the
	// watcher fails over (default 10 s).
	After time.Duration
	// Interval is the time between health checks (default 1 s).
	Interval time.Duration
	// ProbeTimeout bounds each health check (default 2 s): a primary
	// that does not answer within it (frozen, partitioned) is
	// unhealthy.
	ProbeTimeout time.Duration
	// Failover configures the failovers; its Events and Now are the
	// watcher's.
	Failover FailoverOptions
}

func (o WatchOptions) withDefaults() WatchOptions {
	if o.After <= 0 {
		o.After = 10 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 2 * time.Second
	}
	o.Failover = o.Failover.withDefaults()
	return o
}

// Watch watches a group until ctx ends. Every Interval it asks every
// server for its health, role and databases. The primary is the one
// server that answers as primary (of several, the one with the newest
// lease epoch), else the last one known (at first, the group file's).
// When the primary stays unhealthy (no answer within ProbeTimeout, or no
// longer primary while no other server is) for After, it fails over to
// the most up-to-date healthy follower: the one with the highest
// versions of the databases, then the least lag, then the first in the
// file. One failover runs at a time, in this loop, and the next is not
// considered before the primary has been unhealthy for After again. It
// also demotes, as soon as they answer, servers that say they are
// primary or fenced beside the primary (a former primary come back).
// Every step goes to opts.Failover.Events. Watch returns ctx's error.
func Watch(ctx context.Context, g *Group, opts WatchOptions) error {
	opts = opts.withDefaults()
	fo := opts.Failover
	now := fo.Now
	primary := g.Primary().Name
	var unhealthySince time.Time
	noCandidateSaid := false
	fo.emit("watching", primary, fmt.Sprintf("watching group %s: failing over when the primary is unhealthy for %s (checks every %s)", g.Name, opts.After, opts.Interval), nil)
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		states := watchRound(ctx, g, opts)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Who is primary now?
		current, others := primaries(g, states)
		if current != "" && current != primary {
			fo.emit("primary-changed", current, fmt.Sprintf("%s answers as the primary (was %s)", current, primary), nil)
			primary = current
		}
		pi := indexOf(g, primary)
		healthy := states[pi].Reachable && states[pi].Role == client.RolePrimary
		if healthy {
			if !unhealthySince.IsZero() {
				fo.emit("primary-recovered", primary, primary+" is healthy again", nil)
			}
			unhealthySince, noCandidateSaid = time.Time{}, false
			// Heal: former primaries that came back step down.
			for _, name := range others {
				s := g.Server(name)
				st := states[indexOf(g, name)]
				fo.emit("demote", name, fmt.Sprintf("%s answers as %s beside the primary %s: telling it to step down and follow the store", name, st.Role, primary), nil)
				if err := demote(ctx, *s, st.Status, g, fo); err != nil {
					fo.emit("demote", name, name+" did not step down", err)
				} else {
					fo.emit("demoted", name, name+" follows the store", nil)
				}
			}
			continue
		}
		if unhealthySince.IsZero() {
			unhealthySince = now()
			why := states[pi].Error
			if states[pi].Reachable {
				why = "it answers as " + states[pi].Role
			}
			fo.emit("primary-unhealthy", primary, fmt.Sprintf("%s is unhealthy (%s); failing over if it stays so for %s", primary, why, opts.After), nil)
		}
		if now().Sub(unhealthySince) < opts.After {
			continue
		}
		candidate := bestFollower(g, states)
		if candidate == "" {
			if !noCandidateSaid {
				fo.emit("no-candidate", primary, "the primary is unhealthy but no follower is healthy and ready to take over; waiting", nil)
				noCandidateSaid = true
			}
			continue
		}
		if _, err := Failover(ctx, g, candidate, fo); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Failover reported the failed step; wait a full period
			// before the next attempt.
			unhealthySince = now()
			continue
		}
		primary, unhealthySince, noCandidateSaid = candidate, time.Time{}, false
	}
}

// watchRound reads every server's state in parallel.
func watchRound(ctx context.Context, g *Group, opts WatchOptions) []ServerState {
	states := make([]ServerState, len(g.Servers))
	var wg sync.WaitGroup
	co := CollectOptions{Timeout: opts.ProbeTimeout, UserAgent: opts.Failover.UserAgent, Logger: opts.Failover.Logger}
	for i, s := range g.Servers {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, 2*opts.ProbeTimeout)
			defer cancel()
			states[i] = probe(pctx, s, co)
		})
	}
	wg.Wait()
	return states
}

// primaries returns the server that answers as primary (of several, the
// one with the newest lease epoch) and the others that answer as primary
// or fenced.
func primaries(g *Group, states []ServerState) (string, []string) {
	best, bestEpoch := "", int64(-1)
	var claim []string
	for i, st := range states {
		if !st.Reachable || st.Status == nil {
			continue
		}
		switch st.Role {
		case client.RolePrimary:
			claim = append(claim, g.Servers[i].Name)
			epoch := int64(0)
			if st.Status.Lease != nil {
				epoch = st.Status.Lease.Epoch
			}
			if epoch > bestEpoch {
				best, bestEpoch = g.Servers[i].Name, epoch
			}
		case client.RoleFenced:
			claim = append(claim, g.Servers[i].Name)
		}
	}
	others := slices.DeleteFunc(claim, func(n string) bool { return n == best })
	return best, others
}

// bestFollower picks the healthy, ready follower with the newest data:
// the greatest sum of database versions, then the least total lag, then
// the first in the file. "" when there is none.
func bestFollower(g *Group, states []ServerState) string {
	best := -1
	var bestSum int64
	var bestLag float64
	for i, st := range states {
		if !st.Reachable || st.Role != client.RoleFollower || st.Databases == nil || st.Status != nil && !st.Status.Ready {
			continue
		}
		var sum int64
		var lag float64
		for _, d := range st.Databases {
			sum += d.Version
			if d.LagSeconds != nil {
				lag += *d.LagSeconds
			}
		}
		if best < 0 || sum > bestSum || sum == bestSum && lag < bestLag {
			best, bestSum, bestLag = i, sum, lag
		}
	}
	if best < 0 {
		return ""
	}
	return g.Servers[best].Name
}
