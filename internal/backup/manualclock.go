package backup

import (
	"slices"
	"sync"
	"time"
)

// ManualClock is a Clock whose time moves only when told, for tests of
// schedules (here and in the server): AdvanceTo fires the timers due on
// the way one at a time, each after the scheduler waits on it.
type ManualClock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	c  *ManualClock
	at time.Time
	ch chan time.Time
}

// NewManualClock returns a clock standing at now.
func NewManualClock(now time.Time) *ManualClock {
	c := &ManualClock{now: now}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now is the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches now+d.
func (c *ManualClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// AdvanceTo moves the time to target, stopping at every timer on the
// way: it waits until a timer is set (the scheduler waits on its next
// run), fires the earliest due one and goes on.
func (c *ManualClock) AdvanceTo(target time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for len(c.timers) == 0 {
			c.cond.Wait()
		}
		i := 0
		for j, t := range c.timers {
			if t.at.Before(c.timers[i].at) {
				i = j
			}
		}
		t := c.timers[i]
		if t.at.After(target) {
			c.now = target
			return
		}
		c.now = t.at
		c.timers = slices.Delete(c.timers, i, i+1)
		t.ch <- t.at
	}
}

// Step fires the earliest timer, once one is set.
func (c *ManualClock) Step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) == 0 {
		c.cond.Wait()
	}
	i := 0
	for j, t := range c.timers {
		if t.at.Before(c.timers[i].at) {
			i = j
		}
	}
	t := c.timers[i]
	c.timers = slices.Delete(c.timers, i, i+1)
	c.now = t.at
	t.ch <- t.at
}

// Settle waits until a timer is set: the scheduler has done what was due
// and waits on its next run.
func (c *ManualClock) Settle() {
	c.mu.Lock()
	for len(c.timers) == 0 {
		c.cond.Wait()
	}
	c.mu.Unlock()
}
