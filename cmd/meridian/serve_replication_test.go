package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestServeReplicationConfig(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(t.TempDir(), "meridian.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name    string
		args    []string
		yaml    string
		check   func(serveConfig) bool
		wantErr string
	}{
		{name: "defaults", check: func(c serveConfig) bool {
			return c.Publish == "" && c.Follow == "" && !c.Takeover && c.FollowInterval == 2*time.Second && c.LeaseTTL == 15*time.Second
		}},
		{name: "publish", args: []string{"--publish", "azblob://ha", "--takeover", "--lease-ttl", "30s"}, check: func(c serveConfig) bool {
			return c.Publish == "azblob://ha" && c.Takeover && c.LeaseTTL == 30*time.Second
		}},
		{name: "follow from the file", yaml: "follow: file:///srv/ha\nfollow-interval: 200ms\n", check: func(c serveConfig) bool {
			return c.Follow == "file:///srv/ha" && c.FollowInterval == 200*time.Millisecond
		}},
		{name: "flags win over the file", args: []string{"--follow-interval", "5s"}, yaml: "follow: mem://x\nfollow-interval: 200ms\n",
			check: func(c serveConfig) bool { return c.Follow == "mem://x" && c.FollowInterval == 5*time.Second }},
		{name: "both", args: []string{"--publish", "mem://a", "--follow", "mem://a"}, wantErr: "exclusive"},
		{name: "takeover alone", args: []string{"--takeover"}, wantErr: "takeover needs publish"},
		{name: "tiny interval", args: []string{"--follow", "mem://a", "--follow-interval", "1ms"}, wantErr: "follow-interval"},
		{name: "tiny lease", args: []string{"--publish", "mem://a", "--lease-ttl", "100ms"}, wantErr: "lease-ttl"},
		{name: "not a URL", args: []string{"--publish", "/srv/ha"}, wantErr: "store URL"},
		{name: "bad YAML type", yaml: "takeover: perhaps\n", wantErr: "line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			fromFlags := defaultServeConfig()
			var cfgFile string
			bindServeFlags(fs, &fromFlags, &cfgFile)
			args := append([]string{"--data-dir", filepath.Join(dir, "data")}, c.args...)
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
			if !c.check(got) {
				t.Errorf("config %+v", got)
			}
			o := replicationOptions(got)
			if o.Publish != got.Publish || o.Follow != got.Follow || o.Takeover != got.Takeover || o.FollowInterval != got.FollowInterval || o.LeaseTTL != got.LeaseTTL {
				t.Errorf("options %+v from %+v", o, got)
			}
		})
	}
}
