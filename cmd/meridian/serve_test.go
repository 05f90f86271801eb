package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestServeConfig(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	file := func(body string) string {
		p := filepath.Join(t.TempDir(), "meridian.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := func(c serveConfig) serveConfig {
		d := defaultServeConfig()
		d.DataDir = filepath.Join(dir, "data")
		d.BackupStore = "file://" + filepath.Join(dir, "data", "backups")
		d.SourceRoot = stringList{wd}
		d.Name, _ = os.Hostname()
		if c.Listen != "" {
			d.Listen = c.Listen
		}
		if len(c.SourceRoot) > 0 {
			d.SourceRoot = c.SourceRoot
		}
		if c.Region != "" {
			d.Region = c.Region
		}
		if c.Name != "" {
			d.Name = c.Name
		}
		if c.QueryTimeout != 0 {
			d.QueryTimeout = c.QueryTimeout
		}
		if c.BackupStore != "" {
			d.BackupStore = c.BackupStore
		}
		return d
	}
	cases := []struct {
		name    string
		args    []string
		yaml    string
		want    serveConfig
		wantErr string
	}{
		{name: "defaults", args: []string{"--data-dir", filepath.Join(dir, "data")}, want: base(serveConfig{})},
		{name: "flags", args: []string{"--data-dir", filepath.Join(dir, "data"), "--listen", "0.0.0.0:9000",
			"--source-root", "/a", "--source-root", "/b", "--region", "westeurope", "--name", "west", "--backup-store", "mem://"},
			want: base(serveConfig{Listen: "0.0.0.0:9000", SourceRoot: stringList{"/a", "/b"}, Region: "westeurope", Name: "west", BackupStore: "mem://"})},
		{name: "file", yaml: "listen: 127.0.0.1:9001\ndata-dir: " + filepath.Join(dir, "data") + "\nsource-root: /c\nquery-timeout: 30s\nregion: north\n",
			want: base(serveConfig{Listen: "127.0.0.1:9001", SourceRoot: stringList{"/c"}, QueryTimeout: 30 * time.Second, Region: "north"})},
		{name: "flags win over the file", args: []string{"--listen", "127.0.0.1:9002"},
			yaml: "listen: 127.0.0.1:9001\ndata-dir: " + filepath.Join(dir, "data") + "\nsource-root: [/c, /d]\n",
			want: base(serveConfig{Listen: "127.0.0.1:9002", SourceRoot: stringList{"/c", "/d"}})},
		{name: "unknown key", yaml: "listen: x:1\nlistne: y\n", wantErr: "listne"},
		{name: "bad listen", args: []string{"--listen", "8484"}, wantErr: "listen"},
		{name: "bad timeout", yaml: "query-timeout: soon\n", wantErr: "line 1"},
		{name: "zero versions", args: []string{"--keep-versions", "0"}, wantErr: "keep-versions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			fromFlags := defaultServeConfig()
			var cfgFile string
			bindServeFlags(fs, &fromFlags, &cfgFile)
			args := c.args
			if c.yaml != "" {
				args = append(args, "--config", file(c.yaml))
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			got, err := resolveServeConfig(fs, cfgFile, fromFlags)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
