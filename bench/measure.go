package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/colstore"
)

// timing is the latencies of one query on one system, in seconds.
type timing struct {
	Runs   []float64 `json:"runs"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
}

// measure runs f warmup times unmeasured, then runs times measured.
func measure(warmup, runs int, f func() error) (timing, error) {
	for range warmup {
		if err := f(); err != nil {
			return timing{}, err
		}
	}
	t := timing{}
	for range runs {
		start := time.Now()
		if err := f(); err != nil {
			return timing{}, err
		}
		t.Runs = append(t.Runs, time.Since(start).Seconds())
	}
	t.Median, t.Min = median(t.Runs), slices.Min(t.Runs)
	return t, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sink keeps sums alive so that the compiler cannot drop the loops.
var sink uint64

// sumU32 adds up a slice: the simplest full-speed scan of memory. Eight
// independent sums over a slice cut as it goes keep the loop free of
// bounds checks and of a chain of dependent additions.
func sumU32(b []uint32) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(b) >= 8 {
		c := b[:8:8]
		s0 += uint64(c[0])
		s1 += uint64(c[1])
		s2 += uint64(c[2])
		s3 += uint64(c[3])
		s4 += uint64(c[4])
		s5 += uint64(c[5])
		s6 += uint64(c[6])
		s7 += uint64(c[7])
		b = b[8:]
	}
	for _, x := range b {
		s0 += uint64(x)
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}

// bandwidthResult is the memory bandwidth measured by summing a large
// []uint32, on one core and on all of them, in bytes per second.
type bandwidthResult struct {
	Bytes      int64   `json:"arrayBytes"`
	SingleCore float64 `json:"singleCoreBytesPerSecond"`
	AllCores   float64 `json:"allCoresBytesPerSecond"`
	Cores      int     `json:"cores"`
}

// measureBandwidth sums an array of mib MiB, best of three passes each.
func measureBandwidth(mib int) bandwidthResult {
	buf := make([]uint32, mib<<20/4)
	for i := range buf {
		buf[i] = uint32(i)
	}
	bytes := int64(len(buf)) * 4
	best := func(f func()) float64 {
		b := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			f()
			b = min(b, time.Since(start))
		}
		return float64(bytes) / b.Seconds()
	}
	r := bandwidthResult{Bytes: bytes, Cores: runtime.GOMAXPROCS(0)}
	r.SingleCore = best(func() { sink += sumU32(buf) })
	r.AllCores = best(func() {
		n := r.Cores
		part := (len(buf) + n - 1) / n
		sums := make([]uint64, n)
		var wg sync.WaitGroup
		for i := range n {
			lo, hi := i*part, min((i+1)*part, len(buf))
			wg.Go(func() { sums[i] = sumU32(buf[lo:hi]) })
		}
		wg.Wait()
		for _, s := range sums {
			sink += s
		}
	})
	buf = nil
	runtime.GC()
	debug.FreeOSMemory()
	return r
}

// columnBytes is the packed segment bytes of the named columns
// (Table[Column]), what a scan of them reads from memory.
func columnBytes(db *colstore.Database, cols []string) (int64, error) {
	var n int64
	for _, name := range cols {
		t, c, ok := strings.Cut(strings.TrimSuffix(name, "]"), "[")
		if !ok {
			return 0, fmt.Errorf("column %q is not Table[Column]", name)
		}
		tab := db.Table(t)
		if tab == nil {
			return 0, fmt.Errorf("no table %q", t)
		}
		col := tab.Column(c)
		if col == nil {
			return 0, fmt.Errorf("no column %q", name)
		}
		for i := range col.Segs {
			n += col.Segs[i].Bytes()
		}
	}
	return n, nil
}

// machine describes where the benchmark ran.
type machine struct {
	CPU      string    `json:"cpu"`
	Cores    int       `json:"cores"`
	MemBytes int64     `json:"memoryBytes"`
	Go       string    `json:"go"`
	DuckDB   string    `json:"duckdb"`
	OS       string    `json:"os"`
	LoadAvg  []string  `json:"loadAverage"` // 1, 5 and 15 minutes, at the start and at the end
	Start    time.Time `json:"start"`
}

func readMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Start: time.Now().UTC()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				m.MemBytes = kb << 10
			}
		}
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// selfRSS is this process's resident set, after a garbage collection
// that returns what it can to the system.
func selfRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	cur, _, _ := procRSS(os.Getpid())
	return cur
}

// waitIdle waits until a process uses less than a tenth of a core over
// half a second.
func waitIdle(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	prev, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		cur, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		if cur-prev <= 5 { // clock ticks of 10 ms
			return nil
		}
		prev = cur
	}
	return fmt.Errorf("process %d still busy after %s", pid, limit)
}

// cpuTicks is a process's user and system time in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: count fields
	// after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	var u, st int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &st)
	return u + st, nil
}
