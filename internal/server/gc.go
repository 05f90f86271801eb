package server

import (
	"sync"
	"time"
)

// gcState runs the catalog's garbage collection in the background, a
// little after commits (a burst of commits is collected once), and never
// while an image is being read for backup or replication: a reader holds
// collection off (hold/unhold) so that the objects of the version it
// pinned stay on disk even after newer versions are committed.
type gcState struct {
	m       *Manager
	mu      sync.Mutex
	cond    *sync.Cond // signalled when a collection ends
	holds   int
	running bool
	pending bool // a collection was due while held or running
	timer   *time.Timer
	stopped bool
}

func (g *gcState) init(m *Manager) {
	g.m = m
	g.cond = sync.NewCond(&g.mu)
}

// schedule asks for a collection after the configured delay.
func (g *gcState) schedule() {
	if g.m.opts.GCDelay < 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || g.timer != nil {
		return
	}
	g.timer = time.AfterFunc(g.m.opts.GCDelay, g.fire)
}

func (g *gcState) fire() {
	g.mu.Lock()
	g.timer = nil
	if g.stopped {
		g.mu.Unlock()
		return
	}
	if g.holds > 0 || g.running {
		g.pending = true
		g.mu.Unlock()
		return
	}
	g.running = true
	// stop sets stopped under g.mu before Close waits on ops, so this Add
	// happens before that Wait.
	g.m.ops.Add(1)
	g.mu.Unlock()
	defer g.m.ops.Done()

	removed, bytes, err := g.m.cat.GC(g.m.ctx)
	if err != nil && g.m.ctx.Err() == nil {
		g.m.log.Warn("garbage collection", "err", err)
	} else if removed > 0 {
		g.m.log.Debug("garbage collected", "removed", removed, "bytes", bytes)
	}

	g.mu.Lock()
	g.running = false
	again := g.pending && g.holds == 0
	g.pending = false
	g.cond.Broadcast()
	g.mu.Unlock()
	if again {
		g.schedule()
	}
}

// hold keeps collection from starting until unhold, waiting for one in
// progress to end.
func (g *gcState) hold() {
	g.mu.Lock()
	for g.running {
		g.cond.Wait()
	}
	g.holds++
	g.mu.Unlock()
}

func (g *gcState) unhold() {
	g.mu.Lock()
	g.holds--
	again := g.holds == 0 && g.pending
	if again {
		g.pending = false
	}
	g.mu.Unlock()
	if again {
		g.schedule()
	}
}

// stop cancels the pending collection; one in progress ends with the
// manager's context.
func (g *gcState) stop() {
	g.mu.Lock()
	g.stopped = true
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.mu.Unlock()
}
