package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/retail"
	"github.com/meridian-olap/meridian/internal/server"
	"github.com/meridian-olap/meridian/internal/source"
)

// realServer runs Meridian's own server in-process over a temporary data
// directory, with the retail sample's CSV files (rows sales) under its
// source root in sample/.
func realServer(t *testing.T, rows int64) string {
	t.Helper()
	src := t.TempDir()
	if err := retail.WriteCSV(context.Background(), filepath.Join(src, "sample"), retail.Options{Rows: rows}, nil); err != nil {
		t.Fatal(err)
	}
	roots, err := source.NewRoots(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := server.OpenManager(context.Background(), server.ManagerOptions{DataDir: t.TempDir(), Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := server.New(m, server.Options{})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.Shutdown(ctx)
		m.Close()
	})
	return hs.URL
}

// TestAgainstTheRealServer runs the client's whole surface against
// Meridian's server: the shapes the fake imitates are the real ones.
func TestAgainstTheRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and processes a sample; skipped with -short")
	}
	url := realServer(t, 5000)
	dead := deadURL(t)
	ctx := context.Background()
	// The dead server first: reads fail over to the live one; writes go
	// to the primary, the live one here (second list below).
	c := open(t, "Data Source="+url+","+dead+";Initial Catalog=Retail;Timeout=60", client.Options{})

	bim, err := retail.BIM("Retail", "sample")
	if err != nil {
		t.Fatal(err)
	}
	dep, err := c.Deploy(ctx, bim, "")
	if err != nil {
		t.Fatal(err)
	}
	if dep.Database != "Retail" {
		t.Errorf("deployed %q", dep.Database)
	}
	job, err := c.Refresh(ctx, "", client.RefreshRequest{Type: "full", MaxParallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(ctx, "", client.RefreshRequest{Type: "full"}); !client.IsConflict(err) {
		// The first refresh may already have ended on a fast machine;
		// only a conflict or a success is right.
		if err != nil {
			t.Errorf("second refresh while one runs: %v, want a conflict", err)
		} else {
			t.Log("the first refresh ended before the second was sent")
		}
	}
	var polls int
	st, err := job.Wait(ctx, 20*time.Millisecond, func(*client.RefreshStatus) { polls++ })
	if err != nil {
		t.Fatalf("refresh: %v (status %+v)", err, st)
	}
	if d, n, _ := st.Progress(); !st.Succeeded() || d != 5 || n != 5 || polls == 0 {
		t.Errorf("final status %+v, progress %d/%d after %d polls", st, d, n, polls)
	}

	dbs, err := c.Databases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dbs) != 1 || dbs[0].Name != "Retail" || dbs[0].State != "ready" || dbs[0].LastProcessed.IsZero() || dbs[0].SizeBytes == 0 {
		t.Errorf("databases = %+v", dbs)
	}
	if def, err := c.Database(ctx, ""); err != nil || !strings.Contains(string(def), "Meridian_Sample") {
		t.Errorf("definition: %v", err)
	}

	t.Run("types", func(t *testing.T) {
		res, err := c.Query(ctx, "", `EVALUATE TOPN ( 1, SELECTCOLUMNS ( 'Date', "D", 'Date'[Date], "Y", 'Date'[Year], "M", 'Date'[Month], "Amt", [Sales Amount], "Pct", [Margin %], "Big", [Orders] > 0, "None", BLANK () ), [D], ASC )`)
		if err != nil {
			t.Fatal(err)
		}
		want := []client.Column{{Name: "[D]", Type: client.DateTime}, {Name: "[Y]", Type: client.Integer}, {Name: "[M]", Type: client.Text},
			{Name: "[Amt]", Type: client.Decimal}, {Name: "[Pct]", Type: client.Decimal}, {Name: "[Big]", Type: client.Boolean}, {Name: "[None]", Type: client.Null}}
		// A sum of currency can be whole: accept Integer for [Amt].
		if res.Columns[3].Type == client.Integer {
			want[3].Type = client.Integer
		}
		if d := cmp.Diff(want, res.Columns); d != "" {
			t.Errorf("columns (-want +got):\n%s", d)
		}
		if tm, _ := res.Rows[0][0].Time(); !tm.Equal(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("first date = %v", res.Rows[0][0])
		}
	})
	t.Run("orders add up", func(t *testing.T) {
		res, err := c.Query(ctx, "", `EVALUATE SUMMARIZECOLUMNS ( 'Date'[Year], "Orders", [Orders] ) ORDER BY 'Date'[Year]`)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, r := range res.Rows {
			n, _ := r[1].Int()
			sum += n
		}
		if len(res.Rows) != 4 || sum != 5000 {
			t.Errorf("%d years, %d orders; want 4 and 5000", len(res.Rows), sum)
		}
	})
	t.Run("DAX error has its position", func(t *testing.T) {
		_, err := c.Query(ctx, "", "EVALUATE\n  NoSuchTable")
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 400 || !strings.Contains(e.Message, "(2, 3)") {
			t.Errorf("err = %v, want a 400 at line 2, column 3", err)
		}
	})
	t.Run("unknown database", func(t *testing.T) {
		if _, err := c.Query(ctx, "Nope", "EVALUATE 'Date'"); !client.IsNotFound(err) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("TMSL", func(t *testing.T) {
		msgs, err := c.TMSL(ctx, []byte(`{"refresh":{"type":"calculate","objects":[{"database":"Retail"}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			t.Errorf("no messages")
		}
	})
	t.Run("health", func(t *testing.T) {
		hs, err := c.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !hs[0].Healthy || !hs[0].Ready || hs[1].Healthy {
			t.Errorf("health = %+v", hs)
		}
		if err := c.Ready(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("reads fail over to the real server", func(t *testing.T) {
		c2 := open(t, "Data Source="+dead+","+url+";Initial Catalog=Retail", client.Options{})
		if _, err := c2.Query(ctx, "", "EVALUATE ROW ( \"n\", COUNTROWS ( Sales ) )"); err != nil {
			t.Fatal(err)
		}
		// The dead server is the primary of this list: writes fail and
		// are not sent to the live one.
		if _, err := c2.Refresh(ctx, "", client.RefreshRequest{}); !client.IsUnreachable(err) {
			t.Errorf("write through a dead primary: %v, want unreachable", err)
		}
	})
}
