package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics. Per-database gauges are
// read from the manager at scrape time, so a deleted database leaves no
// stale series.
type metrics struct {
	queries        *prometheus.CounterVec
	queryDuration  *prometheus.HistogramVec
	refreshes      *prometheus.CounterVec
	refreshSeconds *prometheus.HistogramVec
	refreshRows    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, m *Manager) *metrics {
	x := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_queries_total",
			Help: "DAX queries answered, by outcome (ok, error: the query's fault, failed: the server's).",
		}, []string{"outcome"}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_query_duration_seconds",
			Help:    "Time to answer a DAX query, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18), // 0.5 ms to about 65 s
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_refreshes_total",
			Help: "Refreshes run (TMSL and the refresh API), by outcome.",
		}, []string{"outcome"}),
		refreshSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_refresh_duration_seconds",
			Help:    "Time a refresh took from start to commit, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 16), // 50 ms to about 27 min
		}, []string{"outcome"}),
		refreshRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_refresh_rows_total",
			Help: "Rows read by committed refreshes.",
		}),
	}
	reg.MustRegister(x.queries, x.queryDuration, x.refreshes, x.refreshSeconds, x.refreshRows,
		&dbCollector{m: m})
	return x
}

func (x *metrics) query(outcome string, d time.Duration) {
	x.queries.WithLabelValues(outcome).Inc()
	x.queryDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

func (x *metrics) refresh(outcome string, d time.Duration, rows int64) {
	x.refreshes.WithLabelValues(outcome).Inc()
	x.refreshSeconds.WithLabelValues(outcome).Observe(d.Seconds())
	if rows > 0 {
		x.refreshRows.Add(float64(rows))
	}
}

// dbCollector reports per-database gauges from the manager's current
// versions.
type dbCollector struct{ m *Manager }

var (
	descSize = prometheus.NewDesc("meridian_database_size_bytes",
		"Bytes of the objects of the database's current image.", []string{"database"}, nil)
	descVersion = prometheus.NewDesc("meridian_database_version",
		"Version number of the database's current image.", []string{"database"}, nil)
	descProcessed = prometheus.NewDesc("meridian_database_last_processed_timestamp_seconds",
		"When the database's data was last processed (Unix time; 0 if never).", []string{"database"}, nil)
	descReady = prometheus.NewDesc("meridian_ready",
		"1 once the server has loaded its databases.", nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSize
	ch <- descVersion
	ch <- descProcessed
	ch <- descReady
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ready := 0.0
	if c.m.Ready() {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, ready)
	for _, v := range c.m.Databases() {
		man := v.Manifest
		ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(man.Size()), v.Name)
		ch <- prometheus.MustNewConstMetric(descVersion, prometheus.GaugeValue, float64(man.Version), v.Name)
		lp := 0.0
		if !man.LastProcessed.IsZero() {
			lp = float64(man.LastProcessed.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descProcessed, prometheus.GaugeValue, lp, v.Name)
	}
}

// registerRuntime adds the Go runtime and process collectors.
func registerRuntime(reg prometheus.Registerer) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
