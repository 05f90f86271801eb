package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/blob"
)

// recorder is a Backup function that records its jobs and fails as told.
type recorder struct {
	mu    sync.Mutex
	jobs  []Job
	fail  func(Job) error
	write func(context.Context, Job) error
}

func (r *recorder) backup(ctx context.Context, j Job) error {
	r.mu.Lock()
	r.jobs = append(r.jobs, j)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(j); err != nil {
			return err
		}
	}
	if r.write != nil {
		return r.write(ctx, j)
	}
	return nil
}

// runs lists "database@time" of the recorded jobs.
func (r *recorder) runs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, j := range r.jobs {
		out = append(out, j.Database+"@"+j.Time.UTC().Format("01-02 15:04"))
	}
	return out
}

// startScheduler runs a scheduler until the test ends.
func startScheduler(t *testing.T, opts SchedulerOptions) *Scheduler {
	t.Helper()
	s, err := NewScheduler(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // a Sunday

func TestScheduleTimes(t *testing.T) {
	clock := NewManualClock(day0)
	rec := &recorder{}
	startScheduler(t, SchedulerOptions{Server: "west", Clock: clock, Backup: rec.backup, Schedules: []ScheduleConfig{
		{Database: "Sales", Cron: "30 2 * * *"},
		{Database: "HR", Cron: "0 12 * * 1-5"}, // weekdays at noon
		{Database: "Ops", Cron: "@every 20h"},
	}})
	clock.AdvanceTo(day0.Add(4*24*time.Hour - time.Minute))
	want := []string{
		"Sales@03-01 02:30", "Ops@03-01 20:00",
		"Sales@03-02 02:30", "HR@03-02 12:00", "Ops@03-02 16:00",
		"Sales@03-03 02:30", "HR@03-03 12:00", "Ops@03-03 12:00",
		"Sales@03-04 02:30", "Ops@03-04 08:00", "HR@03-04 12:00",
	}
	got := rec.runs()
	// Order within the same instant does not matter; order across time
	// does.
	slices.SortStableFunc(got, func(a, b string) int { return strings.Compare(a[strings.Index(a, "@"):], b[strings.Index(b, "@"):]) })
	slices.SortStableFunc(want, func(a, b string) int { return strings.Compare(a[strings.Index(a, "@"):], b[strings.Index(b, "@"):]) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	for _, j := range rec.jobs {
		if want := "Sales/Sales-" + j.Time.Format("20060102T150405Z") + ".mbak"; j.Database == "Sales" && j.Object != want {
			t.Errorf("object %q, want %q", j.Object, want)
		}
		if !j.Compress || j.Password != "" || j.Attempt != 1 || j.Server != "west" {
			t.Errorf("job %+v", j)
		}
	}
}

func TestMissedRunsOnceAtStart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "backup-state.json")
	last := day0.Add(2*time.Hour + 30*time.Minute)
	if err := writeFileAtomic(state, stateFile{Format: 1, Schedules: map[string]time.Time{"nightly": last}}); err != nil {
		t.Fatal(err)
	}
	start := day0.Add(3*24*time.Hour + 10*time.Hour) // three slots missed
	clock := NewManualClock(start)
	rec := &recorder{}
	sched := []ScheduleConfig{{Name: "nightly", Database: "Sales", Cron: "30 2 * * *"}}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewScheduler(SchedulerOptions{Clock: clock, Backup: rec.backup, Schedules: sched, StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	clock.AdvanceTo(start.Add(24 * time.Hour))
	cancel()
	<-done
	want := []string{"Sales@03-04 10:00", "Sales@03-05 02:30"}
	if diff := cmp.Diff(want, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if got := s.LastRuns()["nightly"]; !got.Equal(time.Date(2026, 3, 5, 2, 30, 0, 0, time.UTC)) {
		t.Errorf("last run %v", got)
	}

	// A restart soon after finds nothing missed.
	rec2 := &recorder{}
	clock2 := NewManualClock(start.Add(25 * time.Hour))
	startScheduler(t, SchedulerOptions{Clock: clock2, Backup: rec2.backup, Schedules: sched, StatePath: state})
	clock2.Settle()
	if runs := rec2.runs(); len(runs) != 0 {
		t.Errorf("after restart: %v", runs)
	}

	// A schedule the state does not know yet starts from now, and a
	// damaged state file is not fatal.
	if err := os.WriteFile(state, []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec3 := &recorder{}
	clock3 := NewManualClock(start)
	startScheduler(t, SchedulerOptions{Clock: clock3, Backup: rec3.backup, Schedules: sched, StatePath: state})
	clock3.Settle()
	if runs := rec3.runs(); len(runs) != 0 {
		t.Errorf("with a damaged state: %v", runs)
	}
}

func TestInterruptedSlotRunsAgain(t *testing.T) {
	// The server stops during a backup: the slot is not recorded, and the
	// next start catches it up.
	state := filepath.Join(t.TempDir(), "state.json")
	sched := []ScheduleConfig{{Name: "n", Database: "Sales", Cron: "30 2 * * *"}}
	clock := NewManualClock(day0)
	ctx, cancel := context.WithCancel(context.Background())
	s, _ := NewScheduler(SchedulerOptions{Clock: clock, StatePath: state, Schedules: sched,
		Backup: func(ctx context.Context, j Job) error { cancel(); <-ctx.Done(); return ctx.Err() }})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	clock.Settle()
	clock.Step()
	<-done
	rec := &recorder{}
	clock2 := NewManualClock(day0.Add(5 * time.Hour))
	startScheduler(t, SchedulerOptions{Clock: clock2, StatePath: state, Schedules: sched, Backup: rec.backup})
	clock2.Settle()
	if diff := cmp.Diff([]string{"Sales@03-01 05:00"}, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cron     string
		failures int
		max      int
		want     []string
		final    []bool
	}{
		{"recovers", "30 2 * * *", 3, 5,
			[]string{"Sales@03-01 02:30", "Sales@03-01 02:31", "Sales@03-01 02:33", "Sales@03-01 02:36", "Sales@03-02 02:30"},
			[]bool{false, false, false, true, true}},
		{"gives up", "30 2 * * *", 100, 3,
			[]string{"Sales@03-01 02:30", "Sales@03-01 02:31", "Sales@03-01 02:33", "Sales@03-02 02:30", "Sales@03-02 02:31", "Sales@03-02 02:33"},
			[]bool{false, false, true, false, false, true}},
		{"next slot first", "*/2 * * * *", 100, 10, // every two minutes: the retry after 02:01 would pass 02:02
			[]string{"Sales@03-01 00:02", "Sales@03-01 00:03", "Sales@03-01 00:04", "Sales@03-01 00:05"},
			[]bool{false, true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewManualClock(day0)
			n := 0
			rec := &recorder{fail: func(Job) error {
				n++
				if n <= tc.failures {
					if n == 2 {
						panic("a bug in the backup code")
					}
					return errors.New("store unreachable")
				}
				return nil
			}}
			var events []RunEvent
			startScheduler(t, SchedulerOptions{Clock: clock, Backup: rec.backup, MaxAttempts: tc.max,
				RetryBase: time.Minute, RetryMax: 3 * time.Minute,
				Schedules: []ScheduleConfig{{Database: "Sales", Cron: tc.cron}},
				OnRun:     func(e RunEvent) { events = append(events, e) }})
			end := day0.Add(2*24*time.Hour - time.Minute)
			if tc.cron == "*/2 * * * *" {
				end = day0.Add(5 * time.Minute)
			}
			clock.AdvanceTo(end)
			if diff := cmp.Diff(tc.want, rec.runs()); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			var final []bool
			for i, e := range events {
				final = append(final, e.Final)
				if (e.Err == nil) != (i >= tc.failures) || e.Job.Attempt < 1 {
					t.Errorf("event %d: %+v", i, e)
				}
			}
			if diff := cmp.Diff(tc.final, final); diff != "" {
				t.Errorf("final flags (-want +got):\n%s", diff)
			}
			if len(events) > 1 && !strings.Contains(events[1].Err.Error(), "panicked") {
				t.Errorf("a panic is reported as %v", events[1].Err)
			}
		})
	}
}

func TestAllDatabases(t *testing.T) {
	clock := NewManualClock(day0)
	rec := &recorder{}
	listed := 0
	startScheduler(t, SchedulerOptions{Clock: clock, Backup: rec.backup, RetryBase: time.Minute,
		Schedules: []ScheduleConfig{{Database: "*", Cron: "0 1 * * *", File: "{date}/{database}@{server}-{timestamp}"}},
		Server:    "west/1",
		Databases: func(context.Context) ([]string, error) {
			listed++
			if listed == 1 {
				return nil, errors.New("not ready")
			}
			return []string{"Sales", "a/b", ".."}, nil
		}})
	clock.AdvanceTo(day0.Add(2 * time.Hour))
	want := []string{"Sales@03-01 01:01", "a/b@03-01 01:01", "..@03-01 01:01"}
	if diff := cmp.Diff(want, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	var objects []string
	for _, j := range rec.jobs {
		objects = append(objects, j.Object)
	}
	wantObjects := []string{"2026-03-01/Sales@west_1-20260301T010100Z", "2026-03-01/a_b@west_1-20260301T010100Z",
		"2026-03-01/__@west_1-20260301T010100Z"}
	if diff := cmp.Diff(wantObjects, objects); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestRetention(t *testing.T) {
	ti := newImage(t, 51, []int{100})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ret  Retention
		kept []int // days (1..7) whose backups remain
	}{
		{"keep last 3", Retention{KeepLast: 3}, []int{5, 6, 7}},
		{"keep 2 days", Retention{KeepDays: 2}, []int{5, 6, 7}},
		{"keep last 1 and 3 days", Retention{KeepLast: 1, KeepDays: 3}, []int{4, 5, 6, 7}},
		{"keep last 10", Retention{KeepLast: 10}, []int{1, 2, 3, 4, 5, 6, 7}},
		{"no retention", Retention{}, []int{1, 2, 3, 4, 5, 6, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memStore(t)
			write := func(name string, md Metadata) {
				t.Helper()
				if _, err := WriteToStore(ctx, st, name, ti.source(), WriteOptions{Metadata: md}, false); err != nil {
					t.Fatal(err)
				}
			}
			// Backups that are not ours: another server, another
			// schedule, another database, one put there by hand, and one
			// of ours under a name outside the template.
			old := day0.Add(-30 * 24 * time.Hour)
			nightly := map[string]string{"schedule": "nightly"}
			foreign := []string{"Sales/Sales-other.mbak", "Sales/Sales-weekly.mbak", "Sales/Sales-hr.mbak", "Sales/Sales-manual.mbak"}
			write(foreign[0], Metadata{Server: "north", Database: "Sales", Created: old, Labels: nightly})
			write(foreign[1], Metadata{Server: "west", Database: "Sales", Created: old, Labels: map[string]string{"schedule": "weekly"}})
			write(foreign[2], Metadata{Server: "west", Database: "HR", Created: old, Labels: nightly})
			if err := st.WriteAll(ctx, foreign[3], []byte("by hand"), blob.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			write("elsewhere/Sales.mbak", Metadata{Server: "west", Database: "Sales", Created: old, Labels: nightly})
			foreign = append(foreign, "elsewhere/Sales.mbak")

			clock := NewManualClock(day0)
			rec := &recorder{write: func(ctx context.Context, j Job) error {
				_, err := WriteToStore(ctx, st, j.Object, ti.source(), j.WriteOptions(), false)
				return err
			}}
			var deleted []string
			startScheduler(t, SchedulerOptions{Server: "west", Store: st, Clock: clock, Backup: rec.backup,
				Schedules:   []ScheduleConfig{{Name: "nightly", Database: "Sales", Cron: "30 2 * * *", Retention: tc.ret}},
				OnRetention: func(e RetentionEvent) { deleted = append(deleted, e.Deleted...); checkNoErr(t, e.Err) }})
			clock.AdvanceTo(day0.Add(7 * 24 * time.Hour))

			var want []string
			for _, d := range tc.kept {
				want = append(want, time.Date(2026, 3, d, 2, 30, 0, 0, time.UTC).Format("Sales/Sales-20060102T150405Z.mbak"))
			}
			want = append(want, foreign...)
			slices.Sort(want)
			var got []string
			for e, err := range st.List(ctx, "") {
				checkNoErr(t, err)
				got = append(got, e.Name)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if len(deleted) != 7-len(tc.kept) {
				t.Errorf("deleted %v", deleted)
			}
		})
	}
}

func checkNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

func TestScheduleConfig(t *testing.T) {
	yes := true
	good := Config{Store: "mem://x", Schedules: []ScheduleConfig{
		{Database: "Sales", Cron: "0 2 * * *"},
		{Name: "all", Database: "*", Cron: "@daily", File: "{server}/{database}/{date}/{timestamp}.mbak", Compress: &yes,
			Retention: Retention{KeepLast: 7, KeepDays: 30}},
		{Database: "HR", Cron: "CRON_TZ=Europe/Paris 0 2 * * *"},
	}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		sc   ScheduleConfig
		want string
	}{
		{"no database", ScheduleConfig{Cron: "@daily"}, "schedules[0]: database: missing"},
		{"no cron", ScheduleConfig{Database: "S"}, "cron: missing"},
		{"six fields", ScheduleConfig{Database: "S", Cron: "0 0 2 * * *"}, "cron: expected exactly 5 fields"},
		{"bad field", ScheduleConfig{Database: "S", Cron: "61 * * * *"}, "cron:"},
		{"never", ScheduleConfig{Database: "S", Cron: "0 0 30 2 *"}, "never runs"},
		{"zone without schedule", ScheduleConfig{Database: "S", Cron: "TZ=UTC"}, "must be followed"},
		{"bad zone", ScheduleConfig{Database: "S", Cron: "CRON_TZ=Mars/Olympus 0 2 * * *"}, "cron:"},
		{"no timestamp", ScheduleConfig{Database: "S", Cron: "@daily", File: "{database}.mbak"}, "lacks {timestamp}"},
		{"all without database", ScheduleConfig{Database: "*", Cron: "@daily", File: "x-{timestamp}"}, "lacks {database}"},
		{"unknown placeholder", ScheduleConfig{Database: "S", Cron: "@daily", File: "{db}-{timestamp}"}, "unknown placeholder"},
		{"escapes", ScheduleConfig{Database: "S", Cron: "@daily", File: "../{timestamp}"}, "file:"},
		{"absolute", ScheduleConfig{Database: "S", Cron: "@daily", File: "/backups/{timestamp}"}, "file:"},
		{"negative retention", ScheduleConfig{Database: "S", Cron: "@daily", Retention: Retention{KeepLast: -1}}, "retention"},
		{"long name", ScheduleConfig{Name: strings.Repeat("n", 65), Database: "S", Cron: "@daily"}, "name:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Config{Schedules: []ScheduleConfig{tc.sc}}).Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
			if _, err := NewScheduler(SchedulerOptions{Schedules: []ScheduleConfig{tc.sc}, Backup: (&recorder{}).backup}); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("NewScheduler: %v", err)
			}
		})
	}
	t.Run("every problem reported", func(t *testing.T) {
		err := (&Config{Store: "nowhere", Schedules: []ScheduleConfig{{Database: "S", Cron: "bad"}, {Cron: "@daily"},
			{Name: "x", Database: "A", Cron: "@daily"}, {Name: "x", Database: "B", Cron: "@daily"}}}).Validate()
		for _, want := range []string{"store:", "schedules[0]: cron:", "schedules[1]: database:", "schedules[3]: name \"x\""} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%v lacks %q", err, want)
			}
		}
	})
	t.Run("options", func(t *testing.T) {
		all := []ScheduleConfig{{Database: "*", Cron: "@daily"}}
		if _, err := NewScheduler(SchedulerOptions{Schedules: all, Backup: (&recorder{}).backup}); err == nil {
			t.Error("\"*\" without Databases accepted")
		}
		kept := []ScheduleConfig{{Database: "S", Cron: "@daily", Retention: Retention{KeepLast: 1}}}
		if _, err := NewScheduler(SchedulerOptions{Schedules: kept, Backup: (&recorder{}).backup}); err == nil {
			t.Error("retention without a store accepted")
		}
		if _, err := NewScheduler(SchedulerOptions{Schedules: kept}); err == nil {
			t.Error("no Backup accepted")
		}
	})
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	clock := NewManualClock(day0)
	rec := &recorder{}
	var events []RunEvent
	no := false
	startScheduler(t, SchedulerOptions{Clock: clock, Backup: rec.backup, MaxAttempts: 1,
		OnRun: func(e RunEvent) { events = append(events, e) },
		Schedules: []ScheduleConfig{
			{Database: "A", Cron: "0 1 * * *", PasswordFile: pw, Compress: &no},
			{Database: "B", Cron: "0 2 * * *", PasswordFile: empty},
			{Database: "C", Cron: "0 3 * * *", PasswordFile: filepath.Join(dir, "missing")},
		}})
	clock.AdvanceTo(day0.Add(4 * time.Hour))
	if len(rec.jobs) != 1 || rec.jobs[0].Password != "s3cret" || rec.jobs[0].Compress {
		t.Errorf("jobs %+v", rec.jobs)
	}
	if len(events) != 3 || events[1].Err == nil || !strings.Contains(events[1].Err.Error(), "empty") ||
		events[2].Err == nil || !errors.Is(events[2].Err, os.ErrNotExist) {
		t.Errorf("events %+v", events)
	}
	o := rec.jobs[0].WriteOptions()
	if o.Password != "s3cret" || o.Metadata.Labels["schedule"] != "A 0 1 * * *" || o.Metadata.Database != "A" {
		t.Errorf("write options %+v", o)
	}
}

func FuzzScheduleConfig(f *testing.F) {
	f.Add("30 2 * * *", DefaultFileTemplate, "Sales")
	f.Add("@every 1h", "{server}/{date}/{database}-{timestamp}", "../..")
	f.Add("CRON_TZ=UTC */5 * * * 1-5", "{schedule}{timestamp}", ".meridian")
	f.Add("TZ=", "{timestamp}.", "a/b\\c\x00")
	f.Fuzz(func(t *testing.T, cronSpec, tmpl, db string) {
		sc, err := compileSchedule(ScheduleConfig{Database: "*", Cron: cronSpec, File: tmpl})
		if err != nil {
			return
		}
		// A template that validated gives a valid object name for any
		// database name.
		name := expand(sc.template, db, sc.name, "srv", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err := blob.ValidName(name); err != nil && len(name) <= blob.MaxNameLen {
			t.Fatalf("template %q with database %q gives %q: %v", tmpl, db, name, err)
		}
	})
}
