package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/meridian-olap/meridian/internal/blob"
)

// DefaultFileTemplate names scheduled backups: one folder per database.
const DefaultFileTemplate = "{database}/{database}-{timestamp}.mbak"

// Config is the backup part of a server's configuration, read by cmd/
// from YAML (the same names) and given to a Scheduler.
type Config struct {
	// Store is the blob store URL backups go to (internal/blob).
	Store     string           `yaml:"store" json:"store"`
	Schedules []ScheduleConfig `yaml:"schedules" json:"schedules"`
}

// ScheduleConfig is one backup schedule.
type ScheduleConfig struct {
	// Name identifies the schedule in logs, metrics, the state file and
	// the backups it writes (retention deletes only its own). Empty
	// means "<database> <cron>". At most 64 bytes.
	Name string `yaml:"name" json:"name"`
	// Database is the database to back up, or "*" for every database.
	Database string `yaml:"database" json:"database"`
	// Cron is a standard five-field cron expression (minute hour
	// day-of-month month day-of-week) or a descriptor such as "@daily",
	// "@hourly" or "@every 6h", evaluated in UTC unless it starts with
	// CRON_TZ=Zone.
	Cron string `yaml:"cron" json:"cron"`
	// File is the object name template; empty means
	// DefaultFileTemplate. Placeholders:
	//
	//	{database}   the database name, made safe for object names
	//	             ('/', '\', control characters and a leading or
	//	             trailing dot become '_')
	//	{timestamp}  the UTC time of the run, 20061231T235959Z (required)
	//	{date}       the UTC date of the run, 2006-12-31
	//	{schedule}   the schedule's name, made safe like {database}
	//	{server}     the server's name, made safe like {database}
	//
	// With Database "*" the template must contain {database}.
	File string `yaml:"file" json:"file"`
	// Compress compresses the archive (default true, as TMSL's
	// applyCompression).
	Compress *bool `yaml:"compress" json:"compress"`
	// PasswordFile, when set, names a file whose content (without a
	// trailing newline) is the password the archive is encrypted with.
	// It is read at each run, so it can be rotated without a restart.
	PasswordFile string `yaml:"passwordFile" json:"passwordFile"`
	// Retention decides which of this schedule's backups to delete
	// after each successful run.
	Retention Retention `yaml:"retention" json:"retention"`
}

// Retention keeps the KeepLast newest backups of a schedule and
// database, and any backup younger than KeepDays days; older ones beyond
// the newest KeepLast are deleted. Zero disables a rule; both zero keep
// everything. Only backups this server wrote for this schedule are ever
// deleted (their blob metadata names both).
type Retention struct {
	KeepLast int `yaml:"keepLast" json:"keepLast"`
	KeepDays int `yaml:"keepDays" json:"keepDays"`
}

// Validate checks the configuration and reports every problem with its
// place ("schedules[1].cron: ...").
func (c *Config) Validate() error {
	var errs []error
	if c.Store != "" && !strings.Contains(c.Store, "://") {
		errs = append(errs, fmt.Errorf("store: %q is not a URL (file:///dir, azblob://container, s3://bucket, mem://name)", c.Store))
	}
	names := map[string]int{}
	for i := range c.Schedules {
		sc, err := compileSchedule(c.Schedules[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("schedules[%d]: %w", i, err))
			continue
		}
		if j, ok := names[sc.name]; ok {
			errs = append(errs, fmt.Errorf("schedules[%d]: name %q is also the name of schedules[%d]", i, sc.name, j))
		}
		names[sc.name] = i
	}
	return errors.Join(errs...)
}

// schedule is a checked ScheduleConfig.
type schedule struct {
	ScheduleConfig
	name     string
	cron     cron.Schedule
	template string
	compress bool
}

const maxScheduleName = 64

func compileSchedule(c ScheduleConfig) (*schedule, error) {
	sc := &schedule{ScheduleConfig: c, name: c.Name, template: c.File, compress: c.Compress == nil || *c.Compress}
	var errs []error
	if c.Database == "" {
		errs = append(errs, errors.New("database: missing (a name, or \"*\" for all)"))
	}
	if sc.name == "" {
		sc.name = c.Database + " " + c.Cron
	}
	if len(sc.name) > maxScheduleName || !utf8.ValidString(sc.name) || strings.ContainsFunc(sc.name, isControl) {
		errs = append(errs, fmt.Errorf("name: %q must be printable UTF-8 of at most %d bytes", sc.name, maxScheduleName))
	}
	var err error
	if sc.cron, err = parseCron(c.Cron); err != nil {
		errs = append(errs, fmt.Errorf("cron: %w", err))
	}
	if sc.template == "" {
		sc.template = DefaultFileTemplate
	}
	if err := checkTemplate(sc.template, c.Database == "*"); err != nil {
		errs = append(errs, fmt.Errorf("file: %w", err))
	}
	if c.Retention.KeepLast < 0 || c.Retention.KeepDays < 0 {
		errs = append(errs, fmt.Errorf("retention: keepLast %d and keepDays %d must not be negative", c.Retention.KeepLast, c.Retention.KeepDays))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sc, nil
}

// parseCron parses a cron expression in UTC. robfig/cron evaluates in
// the local zone by default, which would make a server's backup times
// depend on its machine's settings.
func parseCron(spec string) (s cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("missing")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// The parser slices at the first space without checking there
		// is one.
		if !strings.Contains(spec, " ") {
			return nil, fmt.Errorf("%q: a time zone must be followed by a schedule", spec)
		}
	} else {
		spec = "CRON_TZ=UTC " + spec
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%q: invalid expression", spec)
		}
	}()
	s, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	// A schedule that never fires (February 30th) is a mistake.
	probe := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.Next(probe).IsZero() {
		return nil, fmt.Errorf("%q never runs", strings.TrimPrefix(spec, "CRON_TZ=UTC "))
	}
	return s, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

var placeholders = []string{"{database}", "{timestamp}", "{date}", "{schedule}", "{server}"}

func checkTemplate(t string, allDatabases bool) error {
	if !strings.Contains(t, "{timestamp}") {
		return fmt.Errorf("%q lacks {timestamp}: every run needs a name of its own", t)
	}
	if allDatabases && !strings.Contains(t, "{database}") {
		return fmt.Errorf("%q lacks {database}, needed with database \"*\"", t)
	}
	rest := t
	for _, p := range placeholders {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q: unknown placeholder (known: %s)", t, strings.Join(placeholders, ", "))
	}
	sample := expand(t, "Sales", "nightly", "server", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := blob.ValidName(sample); err != nil {
		return fmt.Errorf("%q gives names such as %q: %w", t, sample, err)
	}
	return nil
}

// expand fills in a template.
func expand(t, db, sched, server string, at time.Time) string {
	at = at.UTC()
	return strings.NewReplacer(
		"{database}", safeSegment(db),
		"{timestamp}", at.Format("20060102T150405Z"),
		"{date}", at.Format("2006-01-02"),
		"{schedule}", safeSegment(sched),
		"{server}", safeSegment(server),
	).Replace(t)
}

// safeSegment makes a name usable as one segment of an object name
// (see blob.ValidName). Distinct names may map to the same segment;
// backups are told apart by their blob metadata, not by their names.
func safeSegment(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "_")
	}
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || isControl(r) {
			return '_'
		}
		return r
	}, s)
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	switch {
	case s == "":
		return "_"
	case strings.HasPrefix(s, "."):
		s = "_" + s[1:]
	}
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1] + "_"
	}
	return s
}

// Clock is the scheduler's time source; tests supply a fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a stoppable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Job is one scheduled backup for the server to take.
type Job struct {
	Schedule string
	Database string
	// Object is the name to write in the store.
	Object   string
	Compress bool
	// Password is read from the schedule's password file; empty means
	// no encryption.
	Password string
	// Time is when this attempt started; Attempt counts from 1.
	Time    time.Time
	Attempt int
	// Server is the scheduler's server name.
	Server string
}

// WriteOptions are the options the server passes to WriteToStore for
// the job (with its own MeridianVersion): the schedule's name goes in
// as a label, which retention relies on to find the backups it may
// delete.
func (j Job) WriteOptions() WriteOptions {
	return WriteOptions{Compress: j.Compress, Password: j.Password, Metadata: Metadata{
		Server: j.Server, Created: j.Time, Database: j.Database, Labels: map[string]string{"schedule": j.Schedule}}}
}

// RunEvent reports one attempt of a Job.
type RunEvent struct {
	Job      Job
	Err      error
	Duration time.Duration
	// Final is set when no retry follows (success, or failure with
	// attempts exhausted or the next scheduled run due first).
	Final bool
	// Retry is when the next attempt is due, when one is.
	Retry time.Time
}

// RetentionEvent reports one retention pass.
type RetentionEvent struct {
	Schedule string
	Database string
	Deleted  []string
	Kept     int
	Err      error
}

// SchedulerOptions configure a Scheduler. Backup is required; Store is
// required when a schedule has retention.
type SchedulerOptions struct {
	// Server is this server's name, stored with every backup it takes;
	// retention deletes only backups with this name.
	Server string
	// Store is the backup store: retention lists and deletes there.
	Store     *blob.Store
	Schedules []ScheduleConfig
	// Backup takes one backup: the server pins the database's image and
	// calls WriteToStore(ctx, store, job.Object, src, opts, false) with
	// opts from job.WriteOptions(). Its errors are logged, counted and
	// retried; a panic counts as an error.
	Backup func(ctx context.Context, job Job) error
	// Databases lists the databases for schedules with Database "*".
	Databases func(ctx context.Context) ([]string, error)
	// StatePath is a small file where the time of each schedule's last
	// run is kept, so that runs missed while the server was down run
	// once at start. Empty keeps it in memory only.
	StatePath string
	// Retries: a failed run is retried after RetryBase, then twice as
	// long each time up to RetryMax, at most MaxAttempts attempts in
	// all, and never past the schedule's next run. Zero values mean one
	// minute, one hour and 5.
	RetryBase   time.Duration
	RetryMax    time.Duration
	MaxAttempts int
	Clock       Clock
	Logger      *slog.Logger
	// ReadFile reads password files; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Metrics hooks, called from the scheduler's goroutine.
	OnRun       func(RunEvent)
	OnRetention func(RetentionEvent)
}

// Scheduler runs backup schedules. Create it with NewScheduler and call
// Run.
type Scheduler struct {
	opts      SchedulerOptions
	schedules []*schedule
	log       *slog.Logger
	clock     Clock

	mu    sync.Mutex
	state map[string]time.Time // schedule name → its last run (slot)
}

// NewScheduler checks the schedules.
func NewScheduler(opts SchedulerOptions) (*Scheduler, error) {
	cfg := Config{Schedules: opts.Schedules}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	s := &Scheduler{opts: opts, log: opts.Logger, clock: opts.Clock, state: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if opts.Backup == nil {
		return nil, fmt.Errorf("%w: no Backup function", ErrInvalidOptions)
	}
	for _, c := range opts.Schedules {
		sc, _ := compileSchedule(c)
		if sc.Database == "*" && opts.Databases == nil {
			return nil, fmt.Errorf("%w: schedule %q backs up every database but no Databases function is given", ErrInvalidOptions, sc.name)
		}
		if (sc.Retention.KeepLast > 0 || sc.Retention.KeepDays > 0) && opts.Store == nil {
			return nil, fmt.Errorf("%w: schedule %q has retention but no store is given", ErrInvalidOptions, sc.name)
		}
		s.schedules = append(s.schedules, sc)
	}
	if s.opts.RetryBase <= 0 {
		s.opts.RetryBase = time.Minute
	}
	if s.opts.RetryMax <= 0 {
		s.opts.RetryMax = time.Hour
	}
	if s.opts.MaxAttempts <= 0 {
		s.opts.MaxAttempts = 5
	}
	if s.opts.ReadFile == nil {
		s.opts.ReadFile = os.ReadFile
	}
	return s, nil
}

// LastRuns returns the time of each schedule's last run.
func (s *Scheduler) LastRuns() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.state)
}

// slotRun is one firing of a schedule: its jobs, and how many are not
// finished yet.
type slotRun struct {
	sc      *schedule
	at      time.Time
	pending int
}

// task is one job waiting to run (a database, or "*" to be expanded).
type task struct {
	slot    *slotRun
	db      string
	due     time.Time
	attempt int
}

// Run runs the schedules until ctx ends, then returns ctx's error. One
// backup runs at a time; a slot that comes while a backup runs starts
// when it ends, and several slots missed meanwhile run once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.loadState()
	now := s.clock.Now()
	next := make([]time.Time, len(s.schedules))
	var tasks []*task
	for i, sc := range s.schedules {
		last, ok := s.state[sc.name]
		if !ok {
			// A new schedule starts from now: there is nothing to catch
			// up on.
			s.setState(sc.name, now)
			last = now
		}
		if n := sc.cron.Next(last); !n.After(now) {
			s.log.Info("backup schedule missed runs while the server was down; running once now",
				"schedule", sc.name, "last", last, "missed", n)
			tasks = append(tasks, s.fire(sc, now)...)
		}
		next[i] = sc.cron.Next(now)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now = s.clock.Now()
		for i, sc := range s.schedules {
			if !next[i].After(now) {
				tasks = append(tasks, s.fire(sc, next[i])...)
				next[i] = sc.cron.Next(now)
			}
		}
		// Run what is due, earliest first.
		slices.SortStableFunc(tasks, func(a, b *task) int { return a.due.Compare(b.due) })
		if len(tasks) > 0 && !tasks[0].due.After(now) {
			t := tasks[0]
			tasks = tasks[1:]
			nextOfSchedule := next[slices.Index(s.schedules, t.slot.sc)]
			tasks = append(tasks, s.runTask(ctx, t, nextOfSchedule)...)
			continue
		}
		wake := time.Time{}
		for _, n := range next {
			if wake.IsZero() || n.Before(wake) {
				wake = n
			}
		}
		if len(tasks) > 0 && (wake.IsZero() || tasks[0].due.Before(wake)) {
			wake = tasks[0].due
		}
		if wake.IsZero() {
			<-ctx.Done()
			return ctx.Err()
		}
		timer := s.clock.NewTimer(wake.Sub(now))
		select {
		case <-timer.C():
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
	}
}

// fire starts a slot of a schedule: one task, for its database or for
// "*" (expanded when it runs).
func (s *Scheduler) fire(sc *schedule, at time.Time) []*task {
	slot := &slotRun{sc: sc, at: at, pending: 1}
	return []*task{{slot: slot, db: sc.Database, due: s.clock.Now(), attempt: 1}}
}

// runTask runs one attempt and returns the tasks that follow from it:
// a retry, or the databases of a "*" slot.
func (s *Scheduler) runTask(ctx context.Context, t *task, nextSlot time.Time) []*task {
	sc := t.slot.sc
	start := s.clock.Now()
	var follow []*task
	var err error
	job := Job{Schedule: sc.name, Database: t.db, Compress: sc.compress, Time: start, Attempt: t.attempt, Server: s.opts.Server}
	if t.db == "*" {
		var dbs []string
		dbs, err = s.listDatabases(ctx)
		if err == nil {
			for _, db := range dbs {
				follow = append(follow, &task{slot: t.slot, db: db, due: start, attempt: 1})
			}
			t.slot.pending += len(dbs)
			s.log.Info("backup schedule runs for every database", "schedule", sc.name, "databases", len(dbs))
		}
	} else {
		job.Object = expand(sc.template, t.db, sc.name, s.opts.Server, start)
		job.Password, err = s.password(sc)
		if err == nil {
			err = s.callBackup(ctx, job)
		}
	}
	if ctx.Err() != nil {
		return nil // shutting down: the slot stays unrecorded and runs again at start
	}
	ev := RunEvent{Job: job, Err: err, Duration: s.clock.Now().Sub(start), Final: true}
	if err != nil {
		delay := min(s.opts.RetryBase<<min(t.attempt-1, 30), s.opts.RetryMax)
		retry := s.clock.Now().Add(delay)
		if t.attempt < s.opts.MaxAttempts && retry.Before(nextSlot) {
			ev.Final, ev.Retry = false, retry
			follow = append(follow, &task{slot: t.slot, db: t.db, due: retry, attempt: t.attempt + 1})
			s.log.Warn("backup failed; will retry", "schedule", sc.name, "database", t.db, "attempt", t.attempt, "retry", retry, "err", err)
		} else {
			s.log.Error("backup failed; giving up until the next scheduled run", "schedule", sc.name, "database", t.db, "attempt", t.attempt, "err", err)
		}
	} else if t.db != "*" {
		s.log.Info("backup taken", "schedule", sc.name, "database", t.db, "object", job.Object, "duration", ev.Duration)
	}
	if s.opts.OnRun != nil && (t.db != "*" || err != nil) {
		s.opts.OnRun(ev)
	}
	if err == nil && t.db != "*" {
		s.retain(ctx, sc, t.db)
	}
	if ev.Final {
		t.slot.pending--
		if t.slot.pending == 0 {
			s.setState(sc.name, t.slot.at)
		}
	}
	return follow
}

func (s *Scheduler) listDatabases(ctx context.Context) (dbs []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("list databases panicked: %v", r)
		}
	}()
	return s.opts.Databases(ctx)
}

func (s *Scheduler) callBackup(ctx context.Context, job Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backup panicked: %v", r)
		}
	}()
	return s.opts.Backup(ctx, job)
}

func (s *Scheduler) password(sc *schedule) (string, error) {
	if sc.PasswordFile == "" {
		return "", nil
	}
	b, err := s.opts.ReadFile(sc.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("read password file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("password file %s is empty", sc.PasswordFile)
	}
	return pw, nil
}

// retain applies a schedule's retention to one database's backups.
func (s *Scheduler) retain(ctx context.Context, sc *schedule, db string) {
	r := sc.Retention
	if r.KeepLast == 0 && r.KeepDays == 0 {
		return
	}
	ev := RetentionEvent{Schedule: sc.name, Database: db}
	ev.Deleted, ev.Kept, ev.Err = s.applyRetention(ctx, sc, db)
	if ev.Err != nil {
		s.log.Error("backup retention failed", "schedule", sc.name, "database", db, "err", ev.Err)
	} else if len(ev.Deleted) > 0 {
		s.log.Info("old backups deleted", "schedule", sc.name, "database", db, "deleted", len(ev.Deleted), "kept", ev.Kept)
	}
	if s.opts.OnRetention != nil {
		s.opts.OnRetention(ev)
	}
}

func (s *Scheduler) applyRetention(ctx context.Context, sc *schedule, db string) (deleted []string, kept int, err error) {
	// List under the template's fixed beginning (up to the first
	// placeholder that changes between runs); which objects are ours is
	// decided by their metadata, never by their names.
	prefix := sc.template
	for _, p := range []string{"{timestamp}", "{date}"} {
		if i := strings.Index(prefix, p); i >= 0 {
			prefix = prefix[:i]
		}
	}
	prefix = expand(prefix, db, sc.name, s.opts.Server, time.Time{})
	entries, err := List(ctx, s.opts.Store, prefix)
	if err != nil {
		return nil, 0, err
	}
	var ours []Entry
	for _, e := range entries {
		md := e.Metadata
		if e.Known && md.Server == s.opts.Server && md.Labels["schedule"] == sc.name && md.Database == db && !md.Created.IsZero() {
			ours = append(ours, e)
		}
	}
	slices.SortFunc(ours, func(a, b Entry) int { return b.Metadata.Created.Compare(a.Metadata.Created) })
	cutoff := s.clock.Now().AddDate(0, 0, -sc.Retention.KeepDays)
	var errs []error
	for i, e := range ours {
		old := sc.Retention.KeepDays == 0 || e.Metadata.Created.Before(cutoff)
		if i < sc.Retention.KeepLast || !old {
			kept++
			continue
		}
		if err := s.opts.Store.Delete(ctx, e.Name); err != nil && !errors.Is(err, blob.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, e.Name)
	}
	return deleted, kept, errors.Join(errs...)
}

// State file.

type stateFile struct {
	Format    int                  `json:"format"`
	Schedules map[string]time.Time `json:"schedules"`
}

func (s *Scheduler) loadState() {
	if s.opts.StatePath == "" {
		return
	}
	b, err := os.ReadFile(s.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var st stateFile
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err == nil && st.Format != 1 {
		err = fmt.Errorf("format %d", st.Format)
	}
	if err != nil {
		// Losing the state only loses the catch-up of missed runs.
		s.log.Warn("backup schedule state unreadable; starting afresh", "path", s.opts.StatePath, "err", err)
		return
	}
	s.mu.Lock()
	maps.Copy(s.state, st.Schedules)
	s.mu.Unlock()
}

func (s *Scheduler) setState(name string, at time.Time) {
	s.mu.Lock()
	if cur, ok := s.state[name]; ok && cur.After(at) {
		s.mu.Unlock()
		return
	}
	s.state[name] = at.UTC()
	st := stateFile{Format: 1, Schedules: maps.Clone(s.state)}
	s.mu.Unlock()
	if s.opts.StatePath == "" {
		return
	}
	if err := writeFileAtomic(s.opts.StatePath, st); err != nil {
		s.log.Error("save backup schedule state", "path", s.opts.StatePath, "err", err)
	}
}

// writeFileAtomic replaces a small file so that a crash leaves the old
// content or the new, never a mix.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
