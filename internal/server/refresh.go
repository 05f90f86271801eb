package server

import (
	"context"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/process"
	"github.com/meridian-olap/meridian/internal/value"
)

// RefreshOptions configure Manager.Refresh.
type RefreshOptions struct {
	// MaxParallelism bounds the partitions read at once (0: the number
	// of CPUs).
	MaxParallelism int
	// BatchSize, when positive, commits the refresh in batches of that
	// many tables (AAS's partialBatch commit mode): each batch is its own
	// version, and batches committed stay committed when a later one
	// fails. Zero commits everything at once or nothing (transactional).
	BatchSize int
	// Retries is how many times a failed refresh (or batch) is tried
	// again before the refresh fails. Cancellation is never retried.
	Retries int
	// OnProgress receives partition progress (see process.Progress).
	OnProgress func(process.Progress)
	// OnRetry is called before each retry with the error that caused it.
	OnRetry func(attempt int, err error)
	// OnBatch is called after each batch committed, with its tables.
	OnBatch func(tables []process.Object, v *Version)
}

// RefreshResult is the outcome of Manager.Refresh.
type RefreshResult struct {
	// Version is the last version committed, nil if none was.
	Version *Version
	// Rows is the number of rows read by the committed batches.
	Rows int64
	// Batches is the number of batches committed.
	Batches int
}

// PendingRefresh is a refresh that holds its database and waits to run:
// BeginRefresh checks the request and takes the database at once, so
// that the AAS API can answer 409 or 400 before it answers 202.
type PendingRefresh struct {
	m       *Manager
	name    string
	req     process.Request
	opts    RefreshOptions
	ctx     context.Context
	release func()
	cur     *Version
	once    sync.Once
}

// BeginRefresh checks a refresh of one database and makes the caller its
// writer: a second writer gets ErrBusy from now until Run returns or
// Abandon is called. ctx governs the whole refresh.
func (m *Manager) BeginRefresh(ctx context.Context, name string, req process.Request, opts RefreshOptions) (*PendingRefresh, error) {
	if req.Type == "" {
		req.Type = process.Automatic
	}
	cur, err := m.Current(name)
	if err != nil {
		return nil, err
	}
	if cur.Def == nil {
		return nil, cur.Err
	}
	if err := checkObjects(cur.Def, req.Objects); err != nil {
		return nil, err
	}
	wctx, release, err := m.acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	// The version may have changed between the look and the hold.
	if cur, err = m.Current(name); err != nil {
		release()
		return nil, err
	}
	return &PendingRefresh{m: m, name: cur.Name, req: req, opts: opts, ctx: wctx, release: release, cur: cur}, nil
}

// Partitions lists the partitions the refresh reads.
func (p *PendingRefresh) Partitions() []process.Object { return partitionsOf(p.cur.Def, p.req.Objects) }

// Abandon gives the database up without refreshing it.
func (p *PendingRefresh) Abandon() { p.once.Do(p.release) }

// Run refreshes and commits (see Manager.Refresh) and gives the database
// up.
func (p *PendingRefresh) Run() (*RefreshResult, error) {
	defer p.Abandon()
	m, name, opts := p.m, p.name, p.opts
	res := &RefreshResult{}
	batches := [][]process.Object{p.req.Objects}
	if opts.BatchSize > 0 {
		batches = batchTables(p.cur.Def, p.req.Objects, opts.BatchSize)
	}
	for _, batch := range batches {
		for attempt := 0; ; attempt++ {
			t := m.newTxn()
			c := t.get(name)
			err := c.usable()
			var rows int64
			if err == nil {
				rows, err = t.refresh(p.ctx, c, process.Request{Type: p.req.Type, Objects: batch}, opts)
			}
			if err == nil {
				err = t.commit(p.ctx)
			}
			if err == nil {
				res.Rows += rows
				res.Batches++
				res.Version, _ = m.Current(name)
				if opts.OnBatch != nil {
					opts.OnBatch(batch, res.Version)
				}
				break
			}
			if c := cancelCause(p.ctx); c != nil {
				return res, c
			}
			if attempt >= opts.Retries {
				return res, err
			}
			m.log.Warn("refresh failed; retrying", "database", name, "attempt", attempt+1, "of", opts.Retries, "err", err)
			if opts.OnRetry != nil {
				opts.OnRetry(attempt+1, err)
			}
			select {
			case <-p.ctx.Done():
				return res, cancelCause(p.ctx)
			case <-time.After(retryDelay(attempt)):
			}
		}
	}
	return res, nil
}

// Refresh processes one database and commits the result: the AAS refresh
// API's work (TMSL refresh commands go through Execute). The database is
// held for the whole refresh, retries included; a second writer gets
// ErrBusy. Cancelling ctx, or closing the manager, ends the refresh: what
// was not committed yet is dropped. The result is returned with the
// error too, to report the batches committed before a failure.
func (m *Manager) Refresh(ctx context.Context, name string, req process.Request, opts RefreshOptions) (*RefreshResult, error) {
	p, err := m.BeginRefresh(ctx, name, req, opts)
	if err != nil {
		return &RefreshResult{}, err
	}
	return p.Run()
}

// retryDelay backs off between attempts: 0.5 s, 1 s, 2 s, ... up to 30 s.
func retryDelay(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt, 6)
	return min(d, 30*time.Second)
}

// batchTables splits the objects of a refresh into batches of n tables.
// No objects means every table whose data comes from its partitions'
// sources (calculated tables are recomputed with every batch anyway).
func batchTables(def *model.Database, objs []process.Object, n int) [][]process.Object {
	if len(objs) == 0 {
		for _, t := range def.Model.Tables {
			if t != nil && isDataTable(t) {
				objs = append(objs, process.Object{Table: t.Name})
			}
		}
	}
	var batches [][]process.Object
	var cur []process.Object
	var tables []string
	for _, o := range objs {
		seen := false
		for _, t := range tables {
			if value.EqualText(t, o.Table) {
				seen = true
			}
		}
		if !seen {
			if len(tables) == n {
				batches = append(batches, cur)
				cur, tables = nil, nil
			}
			tables = append(tables, o.Table)
		}
		cur = append(cur, o)
	}
	if len(cur) > 0 || len(batches) == 0 {
		batches = append(batches, cur)
	}
	return batches
}

// isDataTable reports whether a table's rows come from its partitions'
// sources, as opposed to a calculated table or a calculation group.
func isDataTable(t *model.Table) bool {
	if t.CalculationGroup != nil {
		return false
	}
	for _, p := range t.Partitions {
		if p != nil && (p.Source.Type == model.SourceCalculated || p.Source.Type == model.SourceCalculationGroup) {
			return false
		}
	}
	return true
}

// partitionsOf lists the partitions a refresh reads, for progress
// reports: the named ones, or every partition of the named tables, or of
// every data table.
func partitionsOf(def *model.Database, objs []process.Object) []process.Object {
	var out []process.Object
	add := func(t *model.Table) {
		for _, p := range t.Partitions {
			if p != nil {
				out = append(out, process.Object{Table: t.Name, Partition: p.Name})
			}
		}
	}
	if len(objs) == 0 {
		for _, t := range def.Model.Tables {
			if t != nil && isDataTable(t) {
				add(t)
			}
		}
		return out
	}
	for _, o := range objs {
		t := def.Model.Table(o.Table)
		switch {
		case t == nil:
		case o.Partition != "":
			out = append(out, process.Object{Table: t.Name, Partition: o.Partition})
		default:
			add(t)
		}
	}
	return out
}
