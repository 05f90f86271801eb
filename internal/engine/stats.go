package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/internal/colstore"
)

// QueryStats records the storage requests of one query, for diagnosing
// its plan: how many scans it issued and what each was. Set
// QueryOptions.Stats to collect them; the zero value is ready to use.
type QueryStats struct {
	mu sync.Mutex
	// Scans counts aggregating scans (grouped or not); Selects counts
	// scans that only select rows (visible rows of a table, FILTER).
	Scans, Selects int
	// ScanTime is the time spent in both kinds.
	ScanTime time.Duration
	// Log describes each request, in order.
	Log []string
}

type statsKey struct{}

// statsOf returns the query's stats collector, or nil.
func statsOf(ctx context.Context) *QueryStats {
	s, _ := ctx.Value(statsKey{}).(*QueryStats)
	return s
}

// runScan runs an aggregating scan, recorded in the query's stats.
func runScan(ctx context.Context, s *colstore.Scan) (*colstore.Result, error) {
	st := statsOf(ctx)
	if st == nil {
		return s.Run(ctx)
	}
	start := time.Now()
	res, err := s.Run(ctx)
	st.record(false, s, time.Since(start))
	return res, err
}

// runSelect runs a row-selecting scan, recorded in the query's stats.
func runSelect(ctx context.Context, s *colstore.Scan) (*colstore.Bitmap, error) {
	st := statsOf(ctx)
	if st == nil {
		return s.Select(ctx)
	}
	start := time.Now()
	res, err := s.Select(ctx)
	st.record(true, s, time.Since(start))
	return res, err
}

func (st *QueryStats) record(sel bool, s *colstore.Scan, d time.Duration) {
	var b strings.Builder
	kind := "scan"
	if sel {
		kind = "select"
	}
	fmt.Fprintf(&b, "%s %s: %d filters, %d group keys, %d aggregations, %v", kind, s.Table.Name, len(s.Filters), len(s.Group), len(s.Aggs), d.Round(time.Microsecond))
	st.mu.Lock()
	defer st.mu.Unlock()
	if sel {
		st.Selects++
	} else {
		st.Scans++
	}
	st.ScanTime += d
	st.Log = append(st.Log, b.String())
}
