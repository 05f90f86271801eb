package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/process"
	"github.com/meridian-olap/meridian/internal/value"
)

// ExecResult is the outcome of a TMSL command that succeeded.
type ExecResult struct {
	// Messages say what was done and warn of what the checks found but
	// did not refuse (functions the engine does not implement).
	Messages []string
	// Rows is the number of rows the refreshes in the command read.
	Rows int64
}

// Execute runs one TMSL command: createOrReplace, create, alter or delete
// of a database, refresh, or a sequence of those. A command, and a whole
// sequence, is one transaction: every database it touches is held for
// its duration (another writer gets ErrBusy), the new images are built
// in memory and written, and nothing is committed unless every operation
// succeeds (see txn.commit for the one exception across databases).
//
// synchronize pulls a database from another server (synchronize.go); it
// is refused inside a sequence. backup and restore need the backup store
// and are run by the Server (Server.Backup, Server.Restore); here, and
// inside a sequence, they are refused with ErrNotSupported.
func (m *Manager) Execute(ctx context.Context, cmd *model.Command) (*ExecResult, error) {
	if cmd.Kind == model.CommandSynchronize {
		return m.synchronize(ctx, cmd.Synchronize) // synchronize.go
	}
	ops := []*model.Command{cmd}
	maxPar := 0
	if cmd.Kind == model.CommandSequence {
		ops, maxPar = cmd.Sequence.Operations, cmd.Sequence.MaxParallelism
	}
	var names []string
	for i, op := range ops {
		ns, err := commandDatabases(op)
		if err != nil {
			return nil, opError(ops, i, op, err)
		}
		names = append(names, ns...)
	}
	wctx, release, err := m.acquire(ctx, names...)
	if err != nil {
		return nil, err
	}
	defer release()
	t := m.newTxn()
	var rows int64
	for i, op := range ops {
		n, err := t.apply(wctx, op, maxPar)
		if err != nil {
			if c := cancelCause(wctx); c != nil {
				err = c
			}
			return nil, opError(ops, i, op, err)
		}
		rows += n
	}
	if err := t.commit(wctx); err != nil {
		if c := cancelCause(wctx); c != nil {
			err = c
		}
		return nil, err
	}
	res := &ExecResult{Messages: t.messages, Rows: rows}
	for _, c := range t.changes {
		if c.dirty && !c.deleted {
			for _, w := range c.comp.warnings {
				res.Messages = append(res.Messages, fmt.Sprintf("warning: database %q: %s", c.name, w))
			}
		}
	}
	if res.Messages == nil {
		res.Messages = []string{}
	}
	return res, nil
}

// opError names the failing operation of a sequence.
func opError(ops []*model.Command, i int, op *model.Command, err error) error {
	if len(ops) == 1 {
		return err
	}
	return fmt.Errorf("sequence.operations[%d] (%s): %w; nothing was committed", i, op.Kind, err)
}

// commandDatabases lists the databases a command writes, so that the
// writer can hold them all before it starts.
func commandDatabases(cmd *model.Command) ([]string, error) {
	switch cmd.Kind {
	case model.CommandCreateOrReplace, model.CommandCreate, model.CommandAlter, model.CommandDelete:
		oc := cmd.Object
		names := []string{}
		if oc.Path.Database != "" {
			names = append(names, oc.Path.Database)
		}
		// create names the database in its definition, alter may rename
		// it there; createOrReplace deploys under the path's name.
		if oc.Database != nil && oc.Database.Name != "" && cmd.Kind != model.CommandCreateOrReplace {
			names = append(names, oc.Database.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: %s: the database has no name", ErrBadRequest, cmd.Kind)
		}
		return names, nil
	case model.CommandRefresh:
		var names []string
		for _, o := range cmd.Refresh.Objects {
			names = append(names, o.Database)
		}
		return names, nil
	case model.CommandBackup, model.CommandRestore:
		// The server runs them as commands of their own (backup.go).
		return nil, fmt.Errorf("%w: %s cannot be part of a sequence; send it as a command of its own", ErrNotSupported, cmd.Kind)
	case model.CommandSynchronize:
		return nil, fmt.Errorf("%w: the TMSL command %q is not available on this server yet", ErrNotSupported, cmd.Kind)
	case model.CommandSequence:
		return nil, fmt.Errorf("%w: a sequence cannot contain another sequence", ErrBadRequest)
	}
	return nil, fmt.Errorf("%w: unknown TMSL command %q", ErrBadRequest, cmd.Kind)
}

// apply stages one operation and returns the rows it read.
func (t *txn) apply(ctx context.Context, op *model.Command, maxPar int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	switch op.Kind {
	case model.CommandCreateOrReplace, model.CommandCreate, model.CommandAlter, model.CommandDelete:
		return 0, t.applyObject(op)
	case model.CommandRefresh:
		return t.applyRefresh(ctx, op.Refresh, RefreshOptions{MaxParallelism: maxPar})
	}
	_, err := commandDatabases(op)
	return 0, err
}

// applyObject stages createOrReplace, create, alter or delete of a
// database, or of an object inside one (see applyChild).
func (t *txn) applyObject(op *model.Command) error {
	oc := op.Object
	isDB := oc.Type == "database" || (op.Kind == model.CommandDelete && oc.Path.Type() == "database")
	if !isDB {
		return t.applyChild(op)
	}
	switch op.Kind {
	case model.CommandCreateOrReplace:
		def := oc.Database
		name := oc.Path.Database
		// The object path names the database; a definition carrying
		// another name (a .bim deployed under a new name) takes it.
		def.Name = name
		return t.get(name).setModel(def)
	case model.CommandCreate:
		def := oc.Database
		c := t.get(def.Name)
		if c.exists {
			return fmt.Errorf("%w: %q; use createOrReplace to replace it", ErrExists, c.name)
		}
		return c.setModel(def)
	case model.CommandAlter:
		return t.alterDatabase(oc)
	case model.CommandDelete:
		c := t.get(oc.Path.Database)
		if !c.exists {
			return fmt.Errorf("%w: %q", ErrNotFound, oc.Path.Database)
		}
		c.exists, c.dirty = false, false
		c.deleted = c.base != nil
		c.def, c.tmsl, c.data, c.src = nil, nil, nil, dataNone
		return nil
	}
	return nil
}

// alterDatabase changes a database's own properties (name, description,
// compatibility level), not its model, as TMSL's alter does.
func (t *txn) alterDatabase(oc *model.ObjectCommand) error {
	c := t.get(oc.Path.Database)
	if err := c.usable(); err != nil {
		return err
	}
	in := oc.Database
	if len(in.Model.Tables) > 0 || len(in.Model.Relationships) > 0 || len(in.Model.Roles) > 0 {
		return fmt.Errorf("%w: alter of a database changes its properties, not its model; deploy the model with createOrReplace", ErrBadRequest)
	}
	def, err := cloneDef(c.def)
	if err != nil {
		return err
	}
	newName := c.name
	if in.Name != "" {
		newName = in.Name
	}
	if !in.Description.IsEmpty() {
		def.Description = in.Description
	}
	if in.CompatibilityLevel != 0 {
		def.CompatibilityLevel = in.CompatibilityLevel
	}
	if in.ID != "" {
		def.ID = in.ID
	}
	def.Name = newName
	if newName != c.name {
		if !value.EqualText(newName, c.name) {
			if other := t.get(newName); other.exists && other != c {
				return fmt.Errorf("%w: cannot rename %q to %q", ErrExists, c.name, newName)
			}
		}
		c.rename = newName
	}
	return c.setModel(def)
}

// applyRefresh stages a TMSL refresh: each database it names is processed
// with the objects named in it.
func (t *txn) applyRefresh(ctx context.Context, r *model.Refresh, opts RefreshOptions) (int64, error) {
	typ, noop, err := refreshType(r.Type)
	if err != nil {
		return 0, err
	}
	type dbReq struct {
		name  string
		whole bool
		objs  []process.Object
	}
	var reqs []*dbReq
	for _, o := range r.Objects {
		var q *dbReq
		for _, x := range reqs {
			if value.EqualText(x.name, o.Database) {
				q = x
			}
		}
		if q == nil {
			q = &dbReq{name: o.Database}
			reqs = append(reqs, q)
		}
		if o.Table == "" {
			q.whole = true
		} else {
			q.objs = append(q.objs, process.Object{Table: o.Table, Partition: o.Partition})
		}
	}
	var rows int64
	for _, q := range reqs {
		c := t.get(q.name)
		if err := c.usable(); err != nil {
			return rows, err
		}
		req := process.Request{Type: typ}
		if !q.whole {
			req.Objects = q.objs
		}
		if err := checkObjects(c.def, req.Objects); err != nil {
			return rows, err
		}
		if noop {
			t.messages = append(t.messages, fmt.Sprintf("refresh of type %s has nothing to do in Meridian: dictionaries hold only values in use", r.Type))
			continue
		}
		n, err := t.refresh(ctx, c, req, opts)
		rows += n
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// refresh processes a staged database and stages the result.
func (t *txn) refresh(ctx context.Context, c *change, req process.Request, opts RefreshOptions) (int64, error) {
	start := time.Now()
	if h := t.m.testHookRefresh; h != nil {
		h(ctx)
	}
	res, err := process.Refresh(ctx, c.comp.engDef, c.data, req, process.Options{
		Roots: t.m.opts.Roots, MaxParallelism: opts.MaxParallelism, Logger: t.m.log, OnProgress: opts.OnProgress,
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("refresh %q: %w", c.name, err)
	}
	c.setData(res.Data, res.Model, time.Now().UTC())
	t.m.log.Info("refreshed", "database", c.name, "type", req.Type, "partitions", res.Partitions, "rows", res.Rows, "elapsed", time.Since(start))
	return res.Rows, nil
}

// refreshType maps a TMSL refresh type to processing. defragment is
// accepted and does nothing; add (incremental append) is not supported.
func refreshType(t model.RefreshType) (typ process.Type, noop bool, err error) {
	switch t {
	case model.RefreshAdd:
		return "", false, fmt.Errorf("%w: refresh of type add", ErrNotSupported)
	case model.RefreshDefragment:
		return "", true, nil
	}
	typ, err = process.ParseType(string(t))
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return typ, false, nil
}

// checkObjects checks that the tables and partitions a refresh names
// exist, so that the caller learns it at once.
func checkObjects(def *model.Database, objs []process.Object) error {
	var missing []string
	for _, o := range objs {
		tab := def.Model.Table(o.Table)
		switch {
		case tab == nil:
			missing = append(missing, fmt.Sprintf("table %q", o.Table))
		case o.Partition != "" && tab.Partition(o.Partition) == nil:
			missing = append(missing, fmt.Sprintf("partition %q of table %q", o.Partition, tab.Name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: database %q has no %s", ErrObjectNotFound, def.Name, strings.Join(missing, ", no "))
	}
	return nil
}
