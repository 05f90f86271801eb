package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meridian-olap/meridian/internal/backup"
	"github.com/meridian-olap/meridian/internal/server"
)

// backupStateFile keeps the backup schedules' last runs in the data
// directory, so that runs missed while the server was down run once at
// start.
const backupStateFile = "backup-schedules.json"

// resolveBackup merges the backup section of the configuration with
// backup-store and checks the schedules. The store may be given as
// backup-store (flag or file) or as backup.store in the file; a flag
// wins over the file, and two different URLs in the file are an error.
// Relative password files in the file are relative to the file's
// folder, so that the server finds them wherever it is started from.
func resolveBackup(cfg *serveConfig, file string, storeFlag bool) error {
	b := &cfg.Backup
	switch {
	case storeFlag || b.Store == "":
	case cfg.BackupStore != "" && cfg.BackupStore != b.Store:
		return fmt.Errorf("config %s: backup-store %q and backup.store %q differ; set one of them", file, cfg.BackupStore, b.Store)
	default:
		cfg.BackupStore = b.Store
	}
	if cfg.BackupStore != "" && !strings.Contains(cfg.BackupStore, "://") {
		return fmt.Errorf("backup-store %q: want file:///path, azblob://container, s3://bucket?... or mem://name", cfg.BackupStore)
	}
	check := backup.Config{Store: cfg.BackupStore, Schedules: b.Schedules}
	if err := check.Validate(); err != nil {
		return fmt.Errorf("config %s: backup: %w", file, err)
	}
	for i := range b.Schedules {
		if p := b.Schedules[i].PasswordFile; p != "" && !filepath.IsAbs(p) && file != "" {
			b.Schedules[i].PasswordFile = filepath.Join(filepath.Dir(file), p)
		}
	}
	return nil
}

// backupOptions are the server's backup options from the configuration;
// store credentials come from the environment.
func backupOptions(cfg serveConfig) server.BackupOptions {
	return server.BackupOptions{
		Schedules: cfg.Backup.Schedules,
		StatePath: filepath.Join(cfg.DataDir, backupStateFile),
		Version:   version,
	}
}
