package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/meridian-olap/meridian/internal/backup"
)

func TestServeBackupConfig(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	resolve := func(t *testing.T, yaml string, args ...string) (serveConfig, error) {
		t.Helper()
		cfgDir := t.TempDir()
		p := filepath.Join(cfgDir, "meridian.yaml")
		if err := os.WriteFile(p, []byte("data-dir: "+data+"\n"+yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		fromFlags := defaultServeConfig()
		var cfgFile string
		bindServeFlags(fs, &fromFlags, &cfgFile)
		if err := fs.Parse(append(args, "--config", p)); err != nil {
			t.Fatal(err)
		}
		return resolveServeConfig(fs, cfgFile, fromFlags)
	}
	t.Run("schedules", func(t *testing.T) {
		cfg, err := resolve(t, `
backup:
  store: azblob://backups
  schedules:
    - name: nightly
      database: "*"
      cron: "0 2 * * *"
      passwordFile: keys/backup.key
      compress: false
      retention: {keepLast: 7, keepDays: 30}
    - database: Sales
      cron: "@hourly"
      file: "hourly/{database}/{date}/{timestamp}.mbak"
      passwordFile: /etc/meridian/key
`)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BackupStore != "azblob://backups" {
			t.Errorf("store %q", cfg.BackupStore)
		}
		no := false
		want := []backup.ScheduleConfig{
			{Name: "nightly", Database: "*", Cron: "0 2 * * *", Compress: &no, Retention: backup.Retention{KeepLast: 7, KeepDays: 30}},
			{Database: "Sales", Cron: "@hourly", File: "hourly/{database}/{date}/{timestamp}.mbak", PasswordFile: "/etc/meridian/key"},
		}
		got := cfg.Backup.Schedules
		if len(got) == 2 {
			// A relative password file is the config file's neighbour.
			if p := got[0].PasswordFile; !filepath.IsAbs(p) || !strings.HasSuffix(p, filepath.Join("keys", "backup.key")) {
				t.Errorf("password file %q", p)
			}
			got[0].PasswordFile = ""
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("schedules (-want +got):\n%s", diff)
		}
		opts := backupOptions(cfg)
		if opts.StatePath != filepath.Join(data, backupStateFile) || len(opts.Schedules) != 2 || opts.Version != version {
			t.Errorf("options %+v", opts)
		}
	})
	t.Run("the flag wins", func(t *testing.T) {
		cfg, err := resolve(t, "backup:\n  store: azblob://backups\n", "--backup-store", "s3://b")
		if err != nil || cfg.BackupStore != "s3://b" {
			t.Errorf("store %q, %v", cfg.BackupStore, err)
		}
	})
	t.Run("default store", func(t *testing.T) {
		cfg, err := resolve(t, "backup:\n  schedules: [{database: Sales, cron: '@daily'}]\n")
		if err != nil || cfg.BackupStore != "file://"+filepath.ToSlash(filepath.Join(data, "backups")) {
			t.Errorf("store %q, %v", cfg.BackupStore, err)
		}
	})
	for _, c := range []struct{ name, yaml, want string }{
		{"two stores", "backup-store: file:///a\nbackup:\n  store: file:///b\n", "differ"},
		{"not a URL", "backup-store: /var/backups\n", "backup-store"},
		{"bad cron", "backup:\n  schedules: [{database: Sales, cron: 'at two'}]\n", "schedules[0]: cron"},
		{"no timestamp", "backup:\n  schedules: [{database: Sales, cron: '@daily', file: 'Sales.mbak'}]\n", "schedules[0]: file"},
		{"all databases, one name", "backup:\n  schedules: [{database: '*', cron: '@daily', file: 'x-{timestamp}.mbak'}]\n", "{database}"},
		{"escaping name", "backup:\n  schedules: [{database: Sales, cron: '@daily', file: '../{timestamp}'}]\n", "schedules[0]: file"},
		{"negative retention", "backup:\n  schedules: [{database: Sales, cron: '@daily', retention: {keepLast: -1}}]\n", "retention"},
		{"unknown key", "backup:\n  schedules: [{database: Sales, cron: '@daily', keep: 3}]\n", "keep"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := resolve(t, c.yaml)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one naming %q", err, c.want)
			}
		})
	}
}
