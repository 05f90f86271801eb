package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-olap/meridian/internal/backup"
	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// BackupOptions configure the server's backups: the store TMSL backup
// and restore use, and the schedules StartBackups runs.
type BackupOptions struct {
	// Store is the backup store, opened by the caller, who closes it
	// after Shutdown. When nil, the store Options.BackupStore names is
	// opened (with Blob) on first use, and closed by Shutdown; with
	// neither, backup and restore answer NotSupported.
	Store *blob.Store
	// Blob opens Options.BackupStore (credentials); the zero value reads
	// the environment (AZURE_STORAGE_*, the AWS chain).
	Blob blob.Options
	// Schedules are the backup schedules StartBackups runs.
	Schedules []backup.ScheduleConfig
	// StatePath is where the schedules' last runs are kept, so that runs
	// missed while the server was down run once at start; empty keeps
	// them in memory only.
	StatePath string
	// Version is the binary's version, stored in every archive.
	Version string
	// KDF are the argon2id parameters of encrypted backups; the zero
	// value means backup.DefaultKDF. (Tests use cheaper ones.)
	KDF backup.KDFParams
	// Clock, RetryBase, RetryMax and MaxAttempts are passed to the
	// scheduler (backup.SchedulerOptions); zero values mean its
	// defaults.
	Clock       backup.Clock
	RetryBase   time.Duration
	RetryMax    time.Duration
	MaxAttempts int
}

// BackupResult describes a backup written by TMSL backup or a schedule.
type BackupResult struct {
	Database     string  `json:"database"`
	Version      int64   `json:"version"`
	ImageHash    string  `json:"imageHash"`
	File         string  `json:"file"`
	Store        string  `json:"store"`
	Objects      int     `json:"objects"`
	ObjectBytes  int64   `json:"objectBytes"`
	ArchiveBytes int64   `json:"archiveBytes"`
	Compressed   bool    `json:"compressed"`
	Encrypted    bool    `json:"encrypted"`
	Seconds      float64 `json:"seconds"`
}

// RestoreResult describes a restore committed by TMSL restore.
type RestoreResult struct {
	// Database, Version and ImageHash are the restored database as it
	// now is.
	Database  string `json:"database"`
	Version   int64  `json:"version"`
	ImageHash string `json:"imageHash"`
	File      string `json:"file"`
	Store     string `json:"store"`
	// From* describe what the archive holds: the database backed up,
	// its version, the server and the time of the backup.
	FromDatabase string    `json:"fromDatabase"`
	FromVersion  int64     `json:"fromVersion"`
	FromServer   string    `json:"fromServer,omitempty"`
	BackupTime   time.Time `json:"backupTime"`
	// ReplacedVersion is the version the restore replaced, when it
	// overwrote a database.
	ReplacedVersion *int64  `json:"replacedVersion,omitempty"`
	Security        string  `json:"security"`
	Objects         int     `json:"objects"`
	ObjectBytes     int64   `json:"objectBytes"`
	ArchiveBytes    int64   `json:"archiveBytes"`
	Seconds         float64 `json:"seconds"`
	// Notes say what the security option changed and warn of what the
	// engine will not answer on the restored model.
	Notes []string `json:"notes,omitempty"`
}

// backups is the server's backup machinery: the store, the scheduler
// and their metrics.
type backups struct {
	s       *Server
	opts    BackupOptions
	url     string
	log     *slog.Logger
	metrics *backupMetrics

	// ctx is cancelled by Shutdown: backups in flight end, restores are
	// cancelled by the manager's StopWrites anyway.
	ctx    context.Context
	cancel context.CancelFunc
	ops    sync.WaitGroup

	mu       sync.Mutex
	store    *blob.Store
	ownStore bool
	closed   bool
	sched    *backup.Scheduler
	schedEnd chan struct{} // closed when the scheduler's Run returns
}

func newBackups(s *Server, reg prometheus.Registerer) *backups {
	b := &backups{s: s, opts: s.opts.Backup, url: s.opts.BackupStore, log: s.log, metrics: newBackupMetrics(reg)}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if b.opts.Store != nil {
		b.store, b.url = b.opts.Store, b.opts.Store.String()
	}
	return b
}

// StartBackups opens the backup store (so that a bad URL stops the
// server at start) and starts the backup schedules of
// Options.Backup.Schedules, which run until Shutdown. It returns at once;
// scheduled backups are logged and counted in the metrics.
func (s *Server) StartBackups(ctx context.Context) error {
	b := s.backups
	if b.url == "" {
		if len(b.opts.Schedules) > 0 {
			return errors.New("backup schedules need a backup store")
		}
		return nil
	}
	st, err := b.open(ctx)
	if err != nil {
		return err
	}
	if len(b.opts.Schedules) == 0 {
		return nil
	}
	sched, err := backup.NewScheduler(backup.SchedulerOptions{
		Server:      s.opts.Name,
		Store:       st,
		Schedules:   b.opts.Schedules,
		Backup:      b.scheduled,
		Databases:   b.databases,
		StatePath:   b.opts.StatePath,
		RetryBase:   b.opts.RetryBase,
		RetryMax:    b.opts.RetryMax,
		MaxAttempts: b.opts.MaxAttempts,
		Clock:       b.opts.Clock,
		Logger:      s.log,
		OnRun:       b.onRun,
		OnRetention: b.onRetention,
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%w: backups are stopped", ErrClosed)
	}
	if b.sched != nil {
		return errors.New("backup schedules are started already")
	}
	b.sched, b.schedEnd = sched, make(chan struct{})
	go func() {
		defer close(b.schedEnd)
		// Databases are listed and backed up once they are loaded.
		select {
		case <-s.m.loaded:
		case <-b.ctx.Done():
			return
		}
		sched.Run(b.ctx)
	}()
	s.log.Info("backup schedules started", "schedules", len(b.opts.Schedules), "store", b.url)
	return nil
}

// BackupStore returns the backup store, opening it if need be.
func (s *Server) BackupStore(ctx context.Context) (*blob.Store, error) { return s.backups.open(ctx) }

// open returns the store, opening it on first use.
func (b *backups) open(ctx context.Context) (*blob.Store, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("%w: no new backups or restores are accepted", ErrClosed)
	}
	if b.store != nil {
		return b.store, nil
	}
	if b.url == "" {
		return nil, fmt.Errorf("%w: backup and restore need a backup store, and this server has none (start it with --backup-store URL)", ErrNotSupported)
	}
	st, err := blob.Open(ctx, b.url, b.opts.Blob)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackupStore, err)
	}
	b.store, b.ownStore = st, true
	return st, nil
}

// begin registers an operation that uses the store, under a context
// that Shutdown cancels. end must be called once.
func (b *backups) begin(ctx context.Context) (context.Context, func(), error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: no new backups or restores are accepted", ErrClosed)
	}
	b.ops.Add(1)
	b.mu.Unlock()
	octx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(b.ctx, func() { cancel(ErrClosed) })
	return octx, func() {
		stop()
		cancel(nil)
		b.ops.Done()
	}, nil
}

// shutdown stops the schedules and the backups in flight (restores stop
// with the manager's writes) and waits for them, or for ctx; then it
// closes a store it opened.
func (b *backups) shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	end := b.schedEnd
	b.mu.Unlock()
	b.cancel()
	done := make(chan struct{})
	go func() {
		if end != nil {
			<-end
		}
		b.ops.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("backups did not stop in time: %w", ctx.Err())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ownStore && b.store != nil {
		err := b.store.Close()
		b.store = nil
		return err
	}
	return nil
}

// Backup runs TMSL backup: the current version of the database is
// pinned (queries and writes go on; the version's objects stay on disk
// until the backup ends) and written to the backup store as one
// archive.
func (s *Server) Backup(ctx context.Context, cmd *model.Backup) (*BackupResult, error) {
	b := s.backups
	if err := checkFileName(cmd.File); err != nil {
		return nil, err
	}
	opts := backup.WriteOptions{Compress: cmd.ApplyCompression, Password: cmd.Password}
	res, err := b.write(ctx, cmd.Database, cmd.File, opts, cmd.AllowOverwrite)
	b.metrics.backups.WithLabelValues("tmsl", outcome(err)).Inc()
	return res, err
}

// write backs up the current version of db to file.
func (b *backups) write(ctx context.Context, db, file string, opts backup.WriteOptions, overwrite bool) (*BackupResult, error) {
	start := time.Now()
	ctx, end, err := b.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	st, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := b.s.m.ReadImage(ctx, db)
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	v := snap.Version
	if v.Manifest.Model.IsZero() {
		return nil, fmt.Errorf("%w: %q has no image to back up", ErrUnavailable, v.Name)
	}
	if opts.Metadata.Server == "" {
		opts.Metadata.Server = b.s.opts.Name
	}
	opts.Metadata.Database = v.Name
	opts.Metadata.MeridianVersion = b.opts.Version
	if opts.KDF == (backup.KDFParams{}) {
		opts.KDF = b.opts.KDF
	}
	src := backup.Source{Manifest: v.Manifest, Objects: sourceReader{snap.Objects}, Verified: true}
	stats, err := backup.WriteToStore(ctx, st, file, src, opts, overwrite)
	if err != nil {
		return nil, backupError(ctx, v.Name, file, st, err)
	}
	res := &BackupResult{Database: v.Name, Version: v.Manifest.Version, ImageHash: v.Manifest.ContentHash().String(),
		File: file, Store: st.String(), Objects: stats.Objects, ObjectBytes: stats.ObjectBytes,
		ArchiveBytes: stats.ArchiveBytes, Compressed: opts.Compress, Encrypted: opts.Password != "",
		Seconds: time.Since(start).Seconds()}
	b.metrics.bytes.Add(float64(stats.ArchiveBytes))
	b.log.Info("backup written", "database", v.Name, "version", v.Manifest.Version, "file", file, "store", st.String(),
		"objects", stats.Objects, "bytes", stats.ObjectBytes, "archive_bytes", stats.ArchiveBytes, "elapsed", time.Since(start))
	return res, nil
}

// sourceReader marks the errors of reading the pinned image, so that
// they are told apart from the store's.
type sourceReader struct{ r image.ObjectReader }

func (s sourceReader) ReadObject(ctx context.Context, h image.Hash) ([]byte, error) {
	data, err := s.r.ReadObject(ctx, h)
	if err != nil {
		return nil, &sourceError{err}
	}
	return data, nil
}

type sourceError struct{ err error }

func (e *sourceError) Error() string { return "read the image: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// backupError classifies a failed backup: the caller's mistakes (a
// name taken, bad options), a cancellation, the image (the server's
// fault) or the store.
func backupError(ctx context.Context, db, file string, st *blob.Store, err error) error {
	var se *sourceError
	switch {
	case context.Cause(ctx) != nil && errors.Is(context.Cause(ctx), ErrClosed):
		return fmt.Errorf("%w: the backup of %q was cancelled and %s was not written", ErrClosed, db, file)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: the backup of %q was cancelled and %s was not written", ErrCancelled, db, file)
	case errors.Is(err, blob.ErrExists):
		return fmt.Errorf("%w: %s in %s; allow overwriting to replace it", ErrBackupExists, file, st)
	case errors.Is(err, blob.ErrInvalidName):
		return fmt.Errorf("%w: file: %w", ErrBadRequest, err)
	case errors.Is(err, backup.ErrInvalidOptions):
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	case errors.As(err, &se):
		return fmt.Errorf("back up %q: %w", db, err)
	}
	return fmt.Errorf("%w: back up %q to %s: %w", ErrBackupStore, db, file, err)
}

// checkFileName checks a TMSL file name: an object name in the backup
// store, relative, with / between folders.
func checkFileName(name string) error {
	if err := blob.ValidName(name); err != nil {
		hint := ""
		switch {
		case strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || (len(name) > 1 && name[1] == ':'):
			hint = " (an absolute path: give a name relative to the server's backup store)"
		case strings.Contains(name, `\`):
			hint = " (separate folders with /)"
		}
		return fmt.Errorf("%w: file %q: %w%s", ErrBadRequest, name, err, hint)
	}
	return nil
}

// Restore runs TMSL restore: the archive is read from the backup store
// into a catalog transaction, every byte verified, and committed as the
// next version of the database only then (see Manager.RestoreImage).
func (s *Server) Restore(ctx context.Context, cmd *model.Restore) (*RestoreResult, error) {
	res, err := s.restore(ctx, cmd)
	s.backups.metrics.restores.WithLabelValues(outcome(err)).Inc()
	return res, err
}

func (s *Server) restore(ctx context.Context, cmd *model.Restore) (*RestoreResult, error) {
	b := s.backups
	start := time.Now()
	if err := checkFileName(cmd.File); err != nil {
		return nil, err
	}
	if cmd.ReadWriteMode != "" && cmd.ReadWriteMode != "readWrite" {
		return nil, fmt.Errorf("%w: restore with readWriteMode %s: Meridian restores databases read-write", ErrNotSupported, cmd.ReadWriteMode)
	}
	if cmd.DBName != "" && !value.EqualText(cmd.DBName, cmd.Database) {
		return nil, fmt.Errorf("%w: restore names database %q and dbName %q: give the name to restore to once, in database", ErrBadRequest, cmd.Database, cmd.DBName)
	}
	ctx, end, err := b.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	st, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	var info *backup.Info
	read := func(ctx context.Context, sink RestoreSink) (*image.Manifest, error) {
		rc, _, err := st.Get(ctx, cmd.File)
		if err != nil {
			return nil, restoreStoreError(cmd.File, st, err)
		}
		defer rc.Close()
		begin := func(m *image.Manifest) error { sink.Begin(m); return nil }
		info, err = backup.Read(ctx, storeReader{rc}, backup.ReadOptions{Password: cmd.Password, Manifest: begin}, sink)
		if err != nil {
			return nil, restoreReadError(ctx, cmd.File, st, err)
		}
		return info.Manifest, nil
	}
	security := cmd.Security
	if security == "" {
		security = model.SecurityCopyAll
	}
	out, err := s.m.RestoreImage(ctx, cmd.Database, read, RestoreImageOptions{Overwrite: cmd.AllowOverwrite, Security: security})
	if err != nil {
		return nil, err
	}
	v := out.Version
	res := &RestoreResult{Database: v.Name, Version: v.Manifest.Version, ImageHash: v.Manifest.ContentHash().String(),
		File: cmd.File, Store: st.String(), FromDatabase: out.Source.Database, FromVersion: out.Source.Version,
		FromServer: info.Metadata.Server, BackupTime: info.Metadata.Created, Security: security,
		Objects: info.Stats.Objects, ObjectBytes: info.Stats.ObjectBytes, ArchiveBytes: info.Stats.ArchiveBytes,
		Seconds: time.Since(start).Seconds()}
	res.Notes = append(res.Notes, out.Notes...)
	for _, w := range v.Warnings {
		res.Notes = append(res.Notes, "warning: "+w)
	}
	if out.Replaced != nil {
		rv := out.Replaced.Manifest.Version
		res.ReplacedVersion = &rv
	}
	b.metrics.restoredBytes.Add(float64(info.Stats.ArchiveBytes))
	b.log.Info("restore committed", "database", v.Name, "version", v.Manifest.Version, "file", cmd.File,
		"from_database", res.FromDatabase, "from_version", res.FromVersion, "security", security,
		"bytes", res.ObjectBytes, "elapsed", time.Since(start))
	return res, nil
}

// storeReader marks the errors of reading the archive from the store.
type storeReader struct{ r io.Reader }

func (s storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &storeError{err}
	}
	return n, err
}

type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func restoreStoreError(file string, st *blob.Store, err error) error {
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("%w: %s in %s", ErrBackupNotFound, file, st)
	case errors.Is(err, blob.ErrInvalidName):
		return fmt.Errorf("%w: file: %w", ErrBadRequest, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: read %s: %w", ErrBackupStore, file, err)
}

// restoreReadError names the file in an archive's error; the archive's
// own errors (backup.ErrCorrupt and the rest) keep their causes for
// the status table.
func restoreReadError(ctx context.Context, file string, st *blob.Store, err error) error {
	var se *storeError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &se):
		return restoreStoreError(file, st, se.err)
	}
	return fmt.Errorf("restore from %s: %w; nothing was changed", file, err)
}

// tmslBackup answers POST /tmsl with a backup or restore command. The
// answer carries the usual messages and the result as "backup" or
// "restore".
func (s *Server) tmslBackup(w http.ResponseWriter, r *http.Request, cmd *model.Command) {
	type answer struct {
		Messages []string       `json:"messages"`
		Backup   *BackupResult  `json:"backup,omitempty"`
		Restore  *RestoreResult `json:"restore,omitempty"`
	}
	var a answer
	var err error
	switch cmd.Kind {
	case model.CommandBackup:
		a.Backup, err = s.Backup(r.Context(), cmd.Backup)
		if err == nil {
			x := a.Backup
			a.Messages = []string{fmt.Sprintf("database %q version %d backed up to %s in %s: %s (%s) in an archive of %s%s%s, in %.1fs",
				x.Database, x.Version, x.File, x.Store, countNoun(x.Objects, "object"), byteCount(x.ObjectBytes),
				byteCount(x.ArchiveBytes), map[bool]string{true: ", compressed"}[x.Compressed],
				map[bool]string{true: ", encrypted"}[x.Encrypted], x.Seconds)}
		}
	case model.CommandRestore:
		a.Restore, err = s.Restore(r.Context(), cmd.Restore)
		if err == nil {
			x := a.Restore
			msg := fmt.Sprintf("database %q restored from %s (database %q version %d, backed up %s) as version %d: %s (%s) in %.1fs",
				x.Database, x.File, x.FromDatabase, x.FromVersion, x.BackupTime.Format(time.RFC3339), x.Version,
				countNoun(x.Objects, "object"), byteCount(x.ObjectBytes), x.Seconds)
			if x.ReplacedVersion != nil {
				msg += fmt.Sprintf("; it replaced version %d", *x.ReplacedVersion)
			}
			a.Messages = append([]string{msg}, x.Notes...)
			if cmd.Restore.DBStorageLocation != "" || len(cmd.Restore.Locations) > 0 || len(cmd.Restore.StorageLocation) > 0 {
				a.Messages = append(a.Messages, "dbStorageLocation, locations and storageLocation are ignored: Meridian keeps every database in its data directory")
			}
		}
	}
	if err != nil {
		s.log.Info("TMSL command failed", "command", cmd.Kind, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// byteCount writes a size for people: 12.3 MB.
func byteCount(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f EB", f/unit)
}

// backupEntry is one entry of GET /backups.
type backupEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Time is when the backup was taken (its metadata), else when the
	// object was last written.
	Time     time.Time `json:"time"`
	Modified time.Time `json:"modified"`
	// The rest comes from the metadata Meridian stores with a backup;
	// Meridian is false for objects without it (copied in by other
	// means), which may still be backups.
	Meridian   bool   `json:"meridian"`
	Database   string `json:"database,omitempty"`
	Version    int64  `json:"version,omitempty"`
	ImageHash  string `json:"imageHash,omitempty"`
	Server     string `json:"server,omitempty"`
	Schedule   string `json:"schedule,omitempty"`
	Compressed bool   `json:"compressed,omitempty"`
	Encrypted  bool   `json:"encrypted,omitempty"`
}

// listBackups answers GET /backups[?prefix=P][&database=D]: the backup
// store's objects under P (every one by default), those of database D
// only when D is given, oldest first.
func (s *Server) listBackups(w http.ResponseWriter, r *http.Request) {
	ctx, end, err := s.backups.begin(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	defer end()
	st, err := s.backups.open(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	prefix := r.URL.Query().Get("prefix")
	db := r.URL.Query().Get("database")
	entries, err := backup.List(ctx, st, prefix)
	if err != nil {
		if errors.Is(err, blob.ErrInvalidName) {
			writeError(w, fmt.Errorf("%w: prefix: %w", ErrBadRequest, err))
			return
		}
		writeError(w, fmt.Errorf("%w: list %s: %w", ErrBackupStore, st, err))
		return
	}
	out := []backupEntry{}
	for _, e := range entries {
		if db != "" && !value.EqualText(e.Metadata.Database, db) {
			continue
		}
		be := backupEntry{Name: e.Name, Size: e.Size, Time: e.ModTime.UTC(), Modified: e.ModTime.UTC(), Meridian: e.Known}
		if e.Known {
			md := e.Metadata
			if !md.Created.IsZero() {
				be.Time = md.Created.UTC()
			}
			be.Database, be.Version, be.ImageHash, be.Server = md.Database, e.ImageVersion, e.ImageHash, md.Server
			be.Schedule, be.Compressed, be.Encrypted = md.Labels["schedule"], e.Compressed, e.Encrypted
		}
		out = append(out, be)
	}
	// Oldest first, as a log reads; names break ties.
	slices.SortStableFunc(out, func(a, b backupEntry) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, out)
}

// Scheduled backups.

// scheduled takes one scheduled backup (backup.SchedulerOptions.Backup).
func (b *backups) scheduled(ctx context.Context, job backup.Job) error {
	opts := job.WriteOptions()
	_, err := b.write(ctx, job.Database, job.Object, opts, false)
	return err
}

// databases lists the databases for schedules of every database.
func (b *backups) databases(context.Context) ([]string, error) {
	if !b.s.m.Ready() {
		return nil, ErrNotReady
	}
	var names []string
	for _, v := range b.s.m.Databases() {
		if !v.Manifest.Model.IsZero() {
			names = append(names, v.Name)
		}
	}
	return names, nil
}

func (b *backups) onRun(ev backup.RunEvent) {
	out := "ok"
	if ev.Err != nil {
		out = "failed"
	}
	b.metrics.backups.WithLabelValues("schedule", out).Inc()
	switch {
	case ev.Err == nil:
		b.metrics.lastSuccess.WithLabelValues(ev.Job.Schedule, ev.Job.Database).Set(float64(time.Now().UnixNano()) / 1e9)
	case !ev.Final:
		b.metrics.retries.WithLabelValues(ev.Job.Schedule).Inc()
	}
}

func (b *backups) onRetention(ev backup.RetentionEvent) {
	b.metrics.deleted.WithLabelValues(ev.Schedule).Add(float64(len(ev.Deleted)))
	if ev.Err != nil {
		b.metrics.retentionFailures.WithLabelValues(ev.Schedule).Inc()
	}
}

// backupMetrics are the backup and restore metrics.
type backupMetrics struct {
	backups           *prometheus.CounterVec
	restores          *prometheus.CounterVec
	bytes             prometheus.Counter
	restoredBytes     prometheus.Counter
	retries           *prometheus.CounterVec
	lastSuccess       *prometheus.GaugeVec
	deleted           *prometheus.CounterVec
	retentionFailures *prometheus.CounterVec
}

func newBackupMetrics(reg prometheus.Registerer) *backupMetrics {
	x := &backupMetrics{
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_backups_total",
			Help: "Backups attempted, by trigger (tmsl, schedule; each attempt of a schedule counts) and outcome (ok, error: the caller's, failed: the server's or the store's).",
		}, []string{"trigger", "outcome"}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_restores_total",
			Help: "Restores attempted, by outcome.",
		}, []string{"outcome"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_backup_written_bytes_total",
			Help: "Bytes of the archives written to the backup store.",
		}),
		restoredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_restore_read_bytes_total",
			Help: "Bytes of the archives restored.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_backup_retries_total",
			Help: "Scheduled backups that failed and will be retried, by schedule.",
		}, []string{"schedule"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meridian_backup_last_success_timestamp_seconds",
			Help: "When the last scheduled backup of a schedule and database succeeded (Unix time).",
		}, []string{"schedule", "database"}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_backup_retention_deleted_total",
			Help: "Backups deleted by retention, by schedule.",
		}, []string{"schedule"}),
		retentionFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_backup_retention_failures_total",
			Help: "Retention passes that failed to list or delete, by schedule.",
		}, []string{"schedule"}),
	}
	reg.MustRegister(x.backups, x.restores, x.bytes, x.restoredBytes, x.retries, x.lastSuccess, x.deleted, x.retentionFailures)
	return x
}
