package hatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/group"
	"github.com/meridian-olap/meridian/internal/image"
)

// BenchmarkKillGap measures the longest gap between two answers that a
// client running queries one after another sees when its server is
// killed (-9): through a connection string listing the three servers,
// through the group's alias as `meridian failover` writes it (every
// server, the primary first), and through an alias naming only the
// primary, which clients follow only once `meridian failover` (run at
// once after the kill here) has rewritten it. Each iteration is a fresh
// group on Azurite.
//
//	go test -run '^$' -bench KillGap -benchtime 3x ./internal/hatest/
func BenchmarkKillGap(b *testing.B) {
	var list, alias, alias1 time.Duration
	for range b.N {
		b.StopTimer()
		c := newCluster(b, clusterOptions{azurite: true, rows: 2000})
		c.mustGroup("failover", "--group", c.groupFile, "--to", "west")
		c.mustGroup("group", "deploy", c.bimFile, "--group", c.groupFile)
		c.mustGroup("group", "refresh", "Sales", "--group", c.groupFile)
		west := c.node("west")
		// An alias naming only the primary, beside the group's.
		ref := group.ObjectRef{Store: c.aliasObj[:len(c.aliasObj)-len("/sales")], Name: "primary-only"}
		if err := group.WriteAlias(context.Background(), ref, []byte(west.url+"\n"), c.blobOpts); err != nil {
			b.Fatal(err)
		}
		aliasOnly := c.aliasURL[:len(c.aliasURL)-len("/sales")] + "/primary-only"

		ctx, cancel := context.WithCancel(context.Background())
		opts := client.Options{AliasInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond}
		ls, lsDone := startStream(ctx, b, "list", fmt.Sprintf("Data Source=%s,%s,%s;Initial Catalog=Sales;Timeout=10",
			west.url, c.node("north").url, c.node("south").url), opts)
		as, asDone := startStream(ctx, b, "alias", "Data Source="+c.aliasURL+";Initial Catalog=Sales;Timeout=10", opts)
		a1, a1Done := startStream(ctx, b, "alias1", "Data Source="+aliasOnly+";Initial Catalog=Sales;Timeout=10", opts)
		eventually(b, "the streams to answer", func() (bool, string) { return ls.answers() > 20 && as.answers() > 20 && a1.answers() > 20, "" })
		b.StartTimer()
		killed := time.Now()
		west.kill()
		r := c.meridian("failover", "--group", c.groupFile, "--to", "north", "--timeout", "2s")
		if r.code != 0 {
			b.Fatalf("failover: %s%s", r.stdout, r.stderr)
		}
		// The failover rewrote the group's alias; the primary-only alias
		// is rewritten the same way, naming the new primary.
		if err := group.WriteAlias(context.Background(), ref, []byte(c.node("north").url+"\n"), c.blobOpts); err != nil {
			b.Fatal(err)
		}
		eventually(b, "every stream to answer after the kill", func() (bool, string) {
			_, x := ls.maxGap(killed)
			_, y := as.maxGap(killed)
			_, z := a1.maxGap(killed)
			return x && y && z, ""
		})
		b.StopTimer()
		time.Sleep(200 * time.Millisecond)
		cancel()
		<-lsDone
		<-asDone
		<-a1Done
		g1, _ := ls.maxGap(killed)
		g2, _ := as.maxGap(killed)
		g3, _ := a1.maxGap(killed)
		list, alias, alias1 = max(list, g1), max(alias, g2), max(alias1, g3)
		if n, errs := ls.failures(); n > 0 {
			b.Errorf("the list stream failed %d queries: %q", n, errs)
		}
	}
	b.ReportMetric(float64(list.Microseconds())/1000, "list-gap-ms")
	b.ReportMetric(float64(alias.Microseconds())/1000, "alias-gap-ms")
	b.ReportMetric(float64(alias1.Microseconds())/1000, "primary-only-alias-gap-ms")
}

// BenchmarkReplicationLag measures, through three real servers on
// Azurite, the lag from the primary's commit of a one-partition refresh
// (one of 4 partitions of 100,000 rows) to each follower's commit of the
// same version, with followers polling every 2 s (the default) and every
// 250 ms; and the bytes the primary uploaded for it against the size of
// the refreshed partition's new segments (from the primary's
// publish statistics and its manifests). Refreshes start at a random
// point of the poll cycle.
//
//	go test -run '^$' -bench ReplicationLag -benchtime 5x ./internal/hatest/
func BenchmarkReplicationLag(b *testing.B) {
	for _, poll := range []time.Duration{2 * time.Second, 250 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) {
			c := newCluster(b, clusterOptions{azurite: true, rows: 100000, followInterval: poll})
			c.mustGroup("group", "deploy", c.bimFile, "--group", c.groupFile)
			c.mustGroup("group", "refresh", "Sales", "--group", c.groupFile)
			west := c.node("west")
			followers := []*node{c.node("north"), c.node("south")}
			rng := rand.New(rand.NewPCG(11, 11))
			var lag, maxLag time.Duration
			var uploaded, segments, newBytes int64
			newByKind := map[string]int64{}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				time.Sleep(time.Duration(rng.Int64N(int64(poll))))
				writePart(b, c.src, 2, c.rows, 20+i)
				before := manifest(b, west)
				b.StartTimer()
				code, body := west.do("POST", "/tmsl", `{"refresh":{"type":"full","objects":[{"database":"Sales","table":"Sales","partition":"P2"}]}}`)
				if code != 200 {
					b.Fatalf("refresh: %d %s", code, body)
				}
				after := manifest(b, west)
				for _, f := range followers {
					d := applied(b, f, after.Version)
					lag += d
					maxLag = max(maxLag, d)
				}
				b.StopTimer()
				for _, o := range after.Objects {
					if !before.Has(o.Hash) {
						newBytes += o.Size
						newByKind[o.Kind] += o.Size
						if o.Kind == image.KindSegment {
							segments += o.Size
						}
					}
				}
				uploaded += published(b, west, after.Version)
			}
			n := float64(b.N)
			b.ReportMetric(float64(lag.Milliseconds())/n/float64(len(followers)), "lag-ms")
			b.ReportMetric(float64(maxLag.Milliseconds()), "max-lag-ms")
			b.ReportMetric(float64(uploaded)/n, "uploaded-bytes")
			b.ReportMetric(float64(segments)/n, "partition-segment-bytes")
			b.ReportMetric(float64(newBytes)/n, "new-object-bytes")
			for _, k := range []string{image.KindDict, image.KindData, image.KindModel, image.KindIndex} {
				b.ReportMetric(float64(newByKind[k])/n, "new-"+k+"-bytes")
			}
			b.ReportMetric(float64(uploaded)/float64(max(segments, 1)), "uploaded/segments")
		})
	}
}

// manifest reads a server's current manifest of Sales.
func manifest(b *testing.B, n *node) *image.Manifest {
	b.Helper()
	code, body := n.do(http.MethodGet, "/images/Sales", nil)
	if code != 200 {
		b.Fatalf("%s: GET /images/Sales: %d %s", n.name, code, body)
	}
	m, err := image.Unmarshal(body)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// applied waits until a follower has applied version v and returns the
// time from the primary's commit of it to the follower's.
func applied(b *testing.B, n *node, v int64) time.Duration {
	b.Helper()
	var d time.Duration
	eventually(b, fmt.Sprintf("%s to apply version %d", n.name, v), func() (bool, string) {
		st := n.status()
		if st.Follow == nil {
			return false, "not following"
		}
		for _, db := range st.Follow.Databases {
			if db.Database == "Sales" && db.LocalVersion >= v && db.InSync {
				d = db.LastApplied.Sub(db.StoreCommitTime)
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", st.Follow)
	})
	return d
}

// published waits until the primary has published version v and returns
// the bytes it uploaded for it.
func published(b *testing.B, n *node, v int64) int64 {
	b.Helper()
	var up int64
	eventually(b, fmt.Sprintf("%s to publish version %d", n.name, v), func() (bool, string) {
		for _, p := range n.status().Publish {
			if p.Database == "Sales" && p.Version == v && !p.Pending {
				up = p.UploadedBytes
				return true, ""
			}
		}
		return false, ""
	})
	return up
}
