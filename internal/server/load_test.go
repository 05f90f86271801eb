package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadDuration is how long TestQueriesDuringRefreshes runs:
// $MERIDIAN_LOAD_SECONDS, else 10 s, or 3 s with -short.
func loadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("MERIDIAN_LOAD_SECONDS"); s != "" {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n <= 0 {
			t.Fatalf("MERIDIAN_LOAD_SECONDS=%q: want a positive number of seconds", s)
		}
		return time.Duration(n * float64(time.Second))
	}
	if testing.Short() {
		return 3 * time.Second
	}
	return 10 * time.Second
}

// TestQueriesDuringRefreshes runs 32 clients querying over HTTP while
// refreshes commit new versions one after the other, the data switching
// between two states. Every answer must be exactly the answer of one of
// the two versions (snapshot isolation: never a mixture, never an
// error).
func TestQueriesDuringRefreshes(t *testing.T) {
	const clients = 32
	ts := readyTiny(t)
	answers := map[string]bool{}
	query := []byte(mustJSON(map[string]any{"queries": []map[string]string{{"query": totalQuery}}}))
	for _, k := range []int{2, 1} {
		writeTinyData(t, ts.src, k)
		ts.mustTMSL(refreshCmd("Tiny"))
		status, body := ts.query("Tiny", totalQuery)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		answers[string(body)] = true
	}
	if len(answers) != 2 {
		t.Fatal("the two data states answer the same")
	}

	ctx, cancel := context.WithTimeout(context.Background(), loadDuration(t))
	defer cancel()
	var queries, commits, failures atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	url := ts.hs.URL + "/v1.0/myorg/datasets/Tiny/executeQueries"
	var firstErr sync.Once
	fail := func(format string, args ...any) {
		failures.Add(1)
		firstErr.Do(func() { t.Errorf(format, args...) })
	}
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := client.Post(url, "application/json", bytes.NewReader(query))
				if err != nil {
					fail("query: %v", err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail("read answer: %v", err)
				case resp.StatusCode != 200:
					fail("query answered %d: %s", resp.StatusCode, body)
				case !answers[string(body)]:
					fail("answer of neither version: %s", body)
				}
				queries.Add(1)
			}
		})
	}
	wg.Go(func() {
		for k := 2; ctx.Err() == nil; k = 3 - k {
			writeTinyData(t, ts.src, k)
			status, body, _ := ts.do("POST", "/tmsl", refreshCmd("Tiny"))
			if status != 200 {
				fail("refresh: %d %s", status, body)
				return
			}
			commits.Add(1)
		}
	})
	wg.Wait()
	if commits.Load() < 2 {
		t.Errorf("only %d refreshes committed during the run", commits.Load())
	}
	t.Logf("%d clients: %d queries, %d refreshes committed, %d failures", clients, queries.Load(), commits.Load(), failures.Load())
}
