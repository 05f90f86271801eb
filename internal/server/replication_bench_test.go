package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/source"
)

// benchParts and benchPartRows shape the benchmark's fact table: a
// partitioned Sales table, each partition read from a CSV file of its
// own.
const (
	benchParts    = 8
	benchPartRows = 100_000
)

// writeBenchPart writes partition p's CSV file; seed changes its values.
func writeBenchPart(b testing.TB, dir string, p int, seed uint64) {
	b.Helper()
	rng := rand.New(rand.NewPCG(uint64(p), seed))
	var sb strings.Builder
	sb.Grow(benchPartRows * 40)
	sb.WriteString("OrderKey,Region,Amount,Qty,Date\n")
	for i := range benchPartRows {
		fmt.Fprintf(&sb, "%d,R%d,%d.%02d,%d,2024-%02d-%02d\n", p*benchPartRows+i, rng.IntN(12), rng.IntN(5000), rng.IntN(100),
			1+rng.IntN(20), 1+rng.IntN(12), 1+rng.IntN(28))
	}
	writeFile(b, filepath.Join(dir, fmt.Sprintf("part%d.csv", p)), sb.String())
}

func benchModel() map[string]any {
	var parts []map[string]any
	for p := range benchParts {
		parts = append(parts, map[string]any{"name": fmt.Sprintf("P%d", p), "source": map[string]any{"type": "m",
			"expression": []string{
				"let",
				fmt.Sprintf(`    Source = Csv.Document(File.Contents("part%d.csv"), [Delimiter=",", Encoding=65001, QuoteStyle=QuoteStyle.Csv]),`, p),
				"    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars=true]),",
				`    Typed = Table.TransformColumnTypes(Promoted, {{"OrderKey", Int64.Type}, {"Region", type text}, {"Amount", Currency.Type}, {"Qty", Int64.Type}, {"Date", type date}})`,
				"in",
				"    Typed",
			}}})
	}
	return map[string]any{"name": "Bench", "compatibilityLevel": 1600, "model": map[string]any{"tables": []map[string]any{{
		"name": "Sales",
		"columns": []map[string]any{
			{"name": "OrderKey", "dataType": "int64", "sourceColumn": "OrderKey"},
			{"name": "Region", "dataType": "string", "sourceColumn": "Region"},
			{"name": "Amount", "dataType": "decimal", "sourceColumn": "Amount"},
			{"name": "Qty", "dataType": "int64", "sourceColumn": "Qty"},
			{"name": "Date", "dataType": "dateTime", "sourceColumn": "Date"},
		},
		"partitions": parts,
		"measures":   []map[string]any{{"name": "Total", "expression": "SUM ( Sales[Amount] )"}},
	}}}}
}

// commitClock records when each version of a database was committed on
// one server, by that server's wall clock (both servers run in this
// process, so the clocks are one).
type commitClock struct {
	mu sync.Mutex
	at map[int64]time.Time
	ch chan struct{}
}

func newCommitClock() *commitClock {
	return &commitClock{at: map[int64]time.Time{}, ch: make(chan struct{}, 1)}
}

func (c *commitClock) hook(name string, v *Version) {
	if v == nil || name != "Bench" {
		return
	}
	c.mu.Lock()
	c.at[v.Manifest.Version] = time.Now()
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *commitClock) wait(b *testing.B, version int64) time.Time {
	deadline := time.After(5 * time.Minute)
	for {
		c.mu.Lock()
		at, ok := c.at[version]
		c.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-c.ch:
		case <-deadline:
			b.Fatalf("version %d was not committed within 5 minutes", version)
		}
	}
}

// BenchmarkReplicationLag measures, through two servers in this process
// (a primary publishing to a file:// store and a follower polling it),
// the lag from the primary's commit of a one-partition refresh (one of 8
// partitions of 100,000 rows) to the follower's commit of the same
// version, with the follower polling every 2 s and every 200 ms; and the
// bytes the primary uploaded for that refresh against the size of the
// refreshed partition's new segments. Refreshes start at a random point
// of the poll cycle.
//
//	go test -run '^$' -bench ReplicationLag -benchtime 10x ./internal/server/
func BenchmarkReplicationLag(b *testing.B) {
	for _, poll := range []time.Duration{2 * time.Second, 200 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) {
			st := replStore{url: "file://" + b.TempDir()}
			pclock, fclock := newCommitClock(), newCommitClock()
			primary := benchServer(b, "west", ReplicationOptions{Publish: st.url}, pclock)
			benchServer(b, "north", ReplicationOptions{Follow: st.url, FollowInterval: poll}, fclock)
			for p := range benchParts {
				writeBenchPart(b, primary.src, p, 0)
			}
			primary.mustTMSL(deployCmd(benchModel()))
			primary.mustTMSL(refreshCmd("Bench"))
			v, _ := primary.m.Current("Bench")
			fclock.wait(b, v.Manifest.Version)

			rng := rand.New(rand.NewPCG(7, 7))
			var lag, maxLag time.Duration
			var uploaded, partSegments, newBytes, imageBytes int64
			kinds := map[string]int64{}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				time.Sleep(time.Duration(rng.Int64N(int64(poll))))
				writeBenchPart(b, primary.src, 3, uint64(i+1))
				before, _ := primary.m.Current("Bench")
				b.StartTimer()
				primary.mustTMSL(`{"refresh":{"type":"full","objects":[{"database":"Bench","table":"Sales","partition":"P3"}]}}`)
				after, _ := primary.m.Current("Bench")
				ver := after.Manifest.Version
				d := fclock.wait(b, ver).Sub(pclock.wait(b, ver))
				lag += d
				maxLag = max(maxLag, d)
				b.StopTimer()
				for _, o := range after.Manifest.Objects {
					if !before.Manifest.Has(o.Hash) {
						newBytes += o.Size
						kinds[o.Kind] += o.Size
						if o.Kind == image.KindSegment {
							partSegments += o.Size
						}
					}
				}
				imageBytes = after.Manifest.Size()
				uploaded += publishedBytes(b, primary, ver)
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(lag.Milliseconds())/n, "lag-ms")
			b.ReportMetric(float64(maxLag.Milliseconds()), "max-lag-ms")
			b.ReportMetric(float64(uploaded)/n, "uploaded-bytes")
			b.ReportMetric(float64(partSegments)/n, "partition-segment-bytes")
			b.ReportMetric(float64(uploaded)/float64(max(partSegments, 1)), "uploaded/segments")
			b.ReportMetric(float64(imageBytes), "image-bytes")
			for k, v := range kinds {
				b.ReportMetric(float64(v)/n, "new-"+k+"-bytes")
			}
			b.ReportMetric(float64(newBytes)/n, "new-bytes")
		})
	}
}

// benchNode is a server for benchmarks: a Manager and its Server with
// replication, without HTTP (commands go to the Manager directly).
type benchNode struct {
	b   *testing.B
	m   *Manager
	s   *Server
	src string
}

func benchServer(b *testing.B, name string, ro ReplicationOptions, clock *commitClock) *benchNode {
	b.Helper()
	src := b.TempDir()
	roots, err := source.NewRoots(src)
	if err != nil {
		b.Fatal(err)
	}
	m, err := OpenManager(context.Background(), ManagerOptions{DataDir: b.TempDir(), Roots: roots, OnCommit: clock.hook})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	s := New(m, Options{Name: name, Replication: ro})
	if err := s.StartReplication(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.Shutdown(ctx)
		m.Close()
	})
	n := &benchNode{b: b, m: m, s: s, src: src}
	if ro.Publish != "" {
		deadline := time.Now().Add(time.Minute)
		for s.repl.Status().CatchingUp {
			if time.Now().After(deadline) {
				b.Fatal("the primary did not catch up")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

func (n *benchNode) mustTMSL(cmd string) {
	c, err := model.ParseCommand([]byte(cmd))
	if err != nil {
		n.b.Fatal(err)
	}
	if _, err := n.m.Execute(context.Background(), c); err != nil {
		n.b.Fatalf("%.80s: %v", cmd, err)
	}
}

// publishedBytes waits until the primary has published version ver of
// Bench and returns the bytes that publish uploaded.
func publishedBytes(b *testing.B, ts *benchNode, ver int64) int64 {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		for _, p := range ts.s.repl.Status().Publish {
			if p.Database == "Bench" && p.Version == ver && !p.Pending {
				return p.UploadedBytes
			}
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("version %d was not published within 5 minutes", ver)
	return 0
}
