package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/meridian-olap/meridian/internal/server"
)

// bindReplicationFlags defines the replication flags of serve.
func bindReplicationFlags(f *pflag.FlagSet, cfg *serveConfig) {
	f.StringVar(&cfg.Publish, "publish", "", "blob store URL to publish every commit to, as the group's primary (takes the publishing lease)")
	f.StringVar(&cfg.Follow, "follow", "", "blob store URL to follow, as a read-only secondary (refuses writes, naming the primary)")
	f.BoolVar(&cfg.Takeover, "takeover", false, "with --publish: take the publishing lease even while another server holds it (that server is fenced)")
	f.DurationVar(&cfg.FollowInterval, "follow-interval", cfg.FollowInterval, "with --follow: time between polls of the store")
	f.DurationVar(&cfg.LeaseTTL, "lease-ttl", cfg.LeaseTTL, "with --publish: TTL of the publishing lease (renewed every third of it)")
}

// setReplication applies the replication flags set on the command line.
func setReplication(set func(string, func()), cfg *serveConfig, fromFlags serveConfig) {
	set("publish", func() { cfg.Publish = fromFlags.Publish })
	set("follow", func() { cfg.Follow = fromFlags.Follow })
	set("takeover", func() { cfg.Takeover = fromFlags.Takeover })
	set("follow-interval", func() { cfg.FollowInterval = fromFlags.FollowInterval })
	set("lease-ttl", func() { cfg.LeaseTTL = fromFlags.LeaseTTL })
}

// checkReplication checks the replication settings.
func checkReplication(cfg serveConfig) error {
	switch {
	case cfg.Publish != "" && cfg.Follow != "":
		return errors.New("publish and follow are exclusive: a server is either the primary or a follower")
	case cfg.Takeover && cfg.Publish == "":
		return errors.New("takeover needs publish")
	case cfg.FollowInterval < 10*time.Millisecond || cfg.FollowInterval > 24*time.Hour:
		return fmt.Errorf("follow-interval %v: want 10ms to 24h", cfg.FollowInterval)
	case cfg.LeaseTTL < time.Second || cfg.LeaseTTL > 24*time.Hour:
		return fmt.Errorf("lease-ttl %v: want 1s to 24h (15s or more is advised)", cfg.LeaseTTL)
	}
	for _, u := range []string{cfg.Publish, cfg.Follow} {
		if u != "" && !strings.Contains(u, "://") {
			return fmt.Errorf("store URL %q: want file:///path, azblob://container, s3://bucket?... or mem://", u)
		}
	}
	return nil
}

// replicationOptions are the server's replication options from the
// configuration; store credentials come from the environment.
func replicationOptions(cfg serveConfig) server.ReplicationOptions {
	return server.ReplicationOptions{Publish: cfg.Publish, Follow: cfg.Follow, Takeover: cfg.Takeover,
		FollowInterval: cfg.FollowInterval, LeaseTTL: cfg.LeaseTTL}
}
