package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/meridian-olap/meridian/internal/backup"
	"github.com/meridian-olap/meridian/internal/catalog"
	"github.com/meridian-olap/meridian/internal/server"
	"github.com/meridian-olap/meridian/internal/source"
)

func init() { register(newServeCommand) }

// serveConfig is the configuration of `meridian serve`: flags, or the
// same names in the YAML file given by --config. A flag given on the
// command line wins over the file; the file wins over the defaults.
type serveConfig struct {
	Listen          string        `yaml:"listen"`
	DataDir         string        `yaml:"data-dir"`
	Name            string        `yaml:"name"`
	Region          string        `yaml:"region"`
	BackupStore     string        `yaml:"backup-store"`
	SourceRoot      stringList    `yaml:"source-root"`
	LogLevel        string        `yaml:"log-level"`
	LogFormat       string        `yaml:"log-format"`
	MaxTMSLBytes    int64         `yaml:"max-tmsl-bytes"`
	MaxRequestBytes int64         `yaml:"max-request-bytes"`
	QueryTimeout    time.Duration `yaml:"query-timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`
	KeepVersions    int           `yaml:"keep-versions"`
	// Replication (see serve_replication.go).
	Publish        string        `yaml:"publish"`
	Follow         string        `yaml:"follow"`
	Takeover       bool          `yaml:"takeover"`
	FollowInterval time.Duration `yaml:"follow-interval"`
	LeaseTTL       time.Duration `yaml:"lease-ttl"`
	// Backup schedules, and the store as backup-store (serve_backup.go).
	Backup backup.Config `yaml:"backup"`
}

// stringList is a YAML sequence of strings, or one string.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

func defaultServeConfig() serveConfig {
	return serveConfig{
		Listen:          "127.0.0.1:8484",
		DataDir:         "./meridian-data",
		LogLevel:        "info",
		LogFormat:       "text",
		MaxTMSLBytes:    64 << 20,
		MaxRequestBytes: 1 << 20,
		QueryTimeout:    10 * time.Minute,
		ShutdownTimeout: 30 * time.Second,
		KeepVersions:    1,
		FollowInterval:  2 * time.Second,
		LeaseTTL:        15 * time.Second,
	}
}

func newServeCommand() *cobra.Command {
	cfg := defaultServeConfig()
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Meridian server",
		Long: `Run a Meridian server: load the databases of the data directory and answer
the HTTP API (TMSL, Power BI executeQueries, the AAS refresh API, /metrics).

Every flag can also be set in a YAML file given with --config, under the
flag's name (source-root takes a list); flags on the command line win.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			final, err := resolveServeConfig(cmd.Flags(), configFile, cfg)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, final, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	bindServeFlags(cmd.Flags(), &cfg, &configFile)
	return cmd
}

// bindServeFlags defines the flags of serve, writing into cfg and file.
func bindServeFlags(f *pflag.FlagSet, cfg *serveConfig, configFile *string) {
	f.StringVar(configFile, "config", "", "YAML file with the settings below, under the flags' names")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory holding the databases")
	f.StringVar(&cfg.Name, "name", "", "server name (default: the host name)")
	f.StringVar(&cfg.Region, "region", "", "region the server runs in, for group status")
	f.StringVar(&cfg.BackupStore, "backup-store", "", "blob store URL for backups (default file://<data-dir>/backups)")
	f.StringArrayVar((*[]string)(&cfg.SourceRoot), "source-root", nil, "folder file sources may read (repeatable; default the working directory); relative paths in models resolve against the first")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn, error")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json")
	f.Int64Var(&cfg.MaxTMSLBytes, "max-tmsl-bytes", cfg.MaxTMSLBytes, "largest TMSL request body accepted")
	f.Int64Var(&cfg.MaxRequestBytes, "max-request-bytes", cfg.MaxRequestBytes, "largest query or refresh request body accepted")
	f.DurationVar(&cfg.QueryTimeout, "query-timeout", cfg.QueryTimeout, "longest a DAX query may run")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long shutdown waits for queries in flight")
	f.IntVar(&cfg.KeepVersions, "keep-versions", cfg.KeepVersions, "versions of each database kept on disk")
	bindReplicationFlags(f, cfg)
}

// resolveServeConfig merges the defaults, the YAML file and the flags set
// on the command line, then fills in the defaults that depend on others.
func resolveServeConfig(flags *pflag.FlagSet, file string, fromFlags serveConfig) (serveConfig, error) {
	cfg := defaultServeConfig()
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config %s: %w", file, err)
		}
	}
	set := func(name string, apply func()) {
		if flags.Changed(name) {
			apply()
		}
	}
	set("listen", func() { cfg.Listen = fromFlags.Listen })
	set("data-dir", func() { cfg.DataDir = fromFlags.DataDir })
	set("name", func() { cfg.Name = fromFlags.Name })
	set("region", func() { cfg.Region = fromFlags.Region })
	set("backup-store", func() { cfg.BackupStore = fromFlags.BackupStore })
	set("source-root", func() { cfg.SourceRoot = fromFlags.SourceRoot })
	set("log-level", func() { cfg.LogLevel = fromFlags.LogLevel })
	set("log-format", func() { cfg.LogFormat = fromFlags.LogFormat })
	set("max-tmsl-bytes", func() { cfg.MaxTMSLBytes = fromFlags.MaxTMSLBytes })
	set("max-request-bytes", func() { cfg.MaxRequestBytes = fromFlags.MaxRequestBytes })
	set("query-timeout", func() { cfg.QueryTimeout = fromFlags.QueryTimeout })
	set("shutdown-timeout", func() { cfg.ShutdownTimeout = fromFlags.ShutdownTimeout })
	set("keep-versions", func() { cfg.KeepVersions = fromFlags.KeepVersions })
	setReplication(set, &cfg, fromFlags)
	if err := resolveBackup(&cfg, file, flags.Changed("backup-store")); err != nil {
		return cfg, err
	}

	if cfg.DataDir == "" {
		return cfg, errors.New("data-dir must not be empty")
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return cfg, fmt.Errorf("data-dir: %w", err)
	}
	cfg.DataDir = abs
	if cfg.BackupStore == "" {
		cfg.BackupStore = "file://" + filepath.ToSlash(filepath.Join(abs, "backups"))
	}
	if len(cfg.SourceRoot) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			return cfg, fmt.Errorf("source-root: %w", err)
		}
		cfg.SourceRoot = stringList{wd}
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	if cfg.MaxTMSLBytes <= 0 || cfg.MaxRequestBytes <= 0 {
		return cfg, errors.New("max-tmsl-bytes and max-request-bytes must be positive")
	}
	if cfg.QueryTimeout <= 0 || cfg.ShutdownTimeout <= 0 {
		return cfg, errors.New("query-timeout and shutdown-timeout must be positive")
	}
	if cfg.KeepVersions < 1 {
		return cfg, errors.New("keep-versions must be at least 1")
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return cfg, fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if err := checkReplication(cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func newLogger(cfg serveConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cfg.LogFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format %q: want text or json", cfg.LogFormat)
}

// runServe runs the server until ctx ends, then shuts down gracefully:
// no new connections, refreshes cancelled (they commit nothing), queries
// in flight given up to shutdown-timeout to finish, the catalog closed.
func runServe(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	roots, err := source.NewRoots(cfg.SourceRoot...)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("source-root: %w", err)}
	}
	// Listen first, so that /healthz and /readyz answer while the
	// databases load.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m, err := server.OpenManager(ctx, server.ManagerOptions{
		DataDir: cfg.DataDir, Roots: roots, Logger: log, KeepVersions: cfg.KeepVersions,
	})
	if err != nil {
		ln.Close()
		if errors.Is(err, catalog.ErrLocked) {
			return fmt.Errorf("data directory %s is in use by another meridian process", cfg.DataDir)
		}
		return err
	}
	s := server.New(m, server.Options{
		Name: cfg.Name, Region: cfg.Region, BackupStore: cfg.BackupStore,
		MaxTMSLBytes: cfg.MaxTMSLBytes, MaxRequestBytes: cfg.MaxRequestBytes,
		QueryTimeout: cfg.QueryTimeout, Logger: log,
		Replication: replicationOptions(cfg),
		Backup:      backupOptions(cfg),
	})
	// A primary takes the publishing lease before it serves: when another
	// server holds it, serve stops here with a message naming it.
	if err := s.StartReplication(ctx); err != nil {
		ln.Close()
		m.Close()
		return fmt.Errorf("replication: %w", err)
	}
	// The backup store is opened now, so that a bad URL stops serve here;
	// schedules start once the databases are loaded.
	if err := s.StartBackups(ctx); err != nil {
		s.Shutdown(ctx)
		ln.Close()
		m.Close()
		return &exitError{code: exitUsage, err: fmt.Errorf("backups: %w", err)}
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// A body trickled in slower than this holds a connection for
		// nothing; 64 MB of TMSL takes seconds on any real link.
		ReadTimeout: 10 * time.Minute,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "meridian serve: listening on %s (data %s, sources %s)\n", url, cfg.DataDir, strings.Join(roots.Dirs(), ", "))
	log.Info("serving", "url", url, "name", cfg.Name, "region", cfg.Region, "data-dir", cfg.DataDir,
		"source-roots", roots.Dirs(), "backup-store", cfg.BackupStore)

	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	go func() {
		if err := m.Load(loadCtx); err != nil && loadCtx.Err() == nil {
			log.Error("loading databases", "err", err)
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	cancelLoad()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Refreshes first: a synchronous TMSL refresh is a request in flight
	// too, and must not hold the shutdown for the length of a refresh.
	m.StopWrites()
	if err := s.Shutdown(sctx); err != nil {
		log.Warn("refreshes did not stop in time", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the shutdown timeout were cut", "err", err)
		hs.Close()
	}
	if err := m.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close: %w", err)
	}
	log.Info("stopped")
	return runErr
}
