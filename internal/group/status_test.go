package group

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/client/clienttest"
)

const h1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
const h2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

func lag(f float64) *float64 { return &f }

func TestVerdict(t *testing.T) {
	srv := func(name, role string, dbs ...DatabaseState) ServerState {
		if dbs == nil {
			dbs = []DatabaseState{}
		}
		return ServerState{Name: name, Role: role, Reachable: true, Databases: dbs}
	}
	db := func(name string, v int64, hash string) DatabaseState {
		return DatabaseState{Name: name, Version: v, ImageHash: hash}
	}
	down := ServerState{Name: "south", Error: "connection refused"}
	tests := []struct {
		name    string
		servers []ServerState
		inSync  bool
		reasons []string // substrings, one per reason
		notes   []string
	}{
		{"same everywhere", []ServerState{srv("west", "primary", db("Sales", 7, h1)), srv("north", "follower", db("sales", 7, h1))}, true, nil, nil},
		{"no databases anywhere", []ServerState{srv("west", "primary"), srv("north", "follower")}, true, nil, nil},
		{"hashes differ", []ServerState{srv("west", "primary", db("Sales", 7, h1)), srv("north", "follower", db("Sales", 7, h2))}, false,
			[]string{"Sales: version 7 everywhere but the image hashes differ: sha256:111111111111… on west; sha256:222222222222… on north"}, nil},
		{"version behind", []ServerState{srv("west", "primary", db("Sales", 7, h1)),
			{Name: "north", Role: "follower", Reachable: true, Databases: []DatabaseState{{Name: "Sales", Version: 6, ImageHash: h1, LagSeconds: lag(2.25)}}}}, false,
			[]string{"Sales: versions differ: newest 7; north at version 6, lag 2.2 s"}, nil},
		{"missing database", []ServerState{srv("west", "primary", db("Sales", 7, h1), db("HR", 1, h2)), srv("north", "follower", db("Sales", 7, h1))}, false,
			[]string{"HR is missing on north"}, nil},
		{"no image hash", []ServerState{srv("west", "standalone", db("Sales", 7, "")), srv("north", "standalone", db("Sales", 7, ""))}, false,
			[]string{"west, north report no image hash"}, nil},
		{"two primaries", []ServerState{srv("west", "primary", db("Sales", 7, h1)), srv("north", "primary", db("Sales", 7, h1))}, false,
			[]string{"2 servers say they are primary (west, north)"}, nil},
		{"unreachable left out", []ServerState{srv("west", "primary", db("Sales", 7, h1)), down}, true, nil,
			[]string{"south did not answer (connection refused)"}},
		{"none reachable", []ServerState{down}, false, []string{"no server answered"}, []string{"south did not answer"}},
		{"databases unreadable", []ServerState{srv("west", "primary", db("Sales", 7, h1)), {Name: "north", Reachable: true, Error: "databases: 503"}}, false,
			[]string{"north answered but its databases could not be read (databases: 503)"}, nil},
		{"fenced noted", []ServerState{srv("west", "primary", db("Sales", 7, h1)), srv("north", "fenced", db("Sales", 7, h1))}, true, nil,
			[]string{"north is fenced"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inSync, reasons, notes := Verdict(tt.servers)
			if inSync != tt.inSync {
				t.Errorf("inSync = %v, want %v (reasons %q)", inSync, tt.inSync, reasons)
			}
			if len(reasons) != len(tt.reasons) {
				t.Fatalf("reasons %q, want %d", reasons, len(tt.reasons))
			}
			for i, want := range tt.reasons {
				if !strings.Contains(reasons[i], want) {
					t.Errorf("reason %q, want %q", reasons[i], want)
				}
			}
			if len(notes) != len(tt.notes) {
				t.Fatalf("notes %q, want %d", notes, len(tt.notes))
			}
			for i, want := range tt.notes {
				if !strings.Contains(notes[i], want) {
					t.Errorf("note %q, want %q", notes[i], want)
				}
			}
		})
	}
}

const salesBIM = `{"name":"Sales","compatibilityLevel":1600,"model":{"tables":[{"name":"T","partitions":[{"name":"P"}]}]}}`

// fakeGroup starts n fake servers with the Sales database; the first is
// primary, the others follow it.
func fakeGroup(t *testing.T, n int) (*Group, []*clienttest.Server) {
	t.Helper()
	names := []string{"west", "north", "south", "east"}
	var text strings.Builder
	text.WriteString("name: sales\nstore: mem://fake-ha\nservers:\n")
	var fakes []*clienttest.Server
	for i := range n {
		f := clienttest.New(t)
		if err := f.AddDatabase(salesBIM); err != nil {
			t.Fatal(err)
		}
		f.SetIdentity(names[i], names[i]+"-region")
		f.SetStore("mem://fake-ha")
		if i == 0 {
			f.SetRole("primary", names[0])
		} else {
			f.SetRole("follower", names[0])
		}
		fakes = append(fakes, f)
		text.WriteString("  - name: " + names[i] + "\n    url: " + f.URL + "\n    region: " + names[i] + "-region\n")
		if i == 0 {
			text.WriteString("    primary: true\n")
		}
	}
	g, err := Parse([]byte(text.String()), "fake.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return g, fakes
}

func TestCollect(t *testing.T) {
	g, fakes := fakeGroup(t, 3)
	ctx := context.Background()
	st := Collect(ctx, g, CollectOptions{})
	if !st.InSync || !st.AllReachable() {
		t.Fatalf("not in sync: %q %q", st.Reasons, st.Notes)
	}
	// The JSON is exactly the contract's shape.
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		InSync  bool `json:"inSync"`
		Servers []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc.Servers[0] {
		keys = append(keys, k)
	}
	if d := cmp.Diff([]string{"databases", "name", "reachable", "region", "role", "url"}, sortStrings(keys)); d != "" {
		t.Errorf("server keys (-want +got):\n%s", d)
	}
	var dbs []map[string]json.RawMessage
	json.Unmarshal(doc.Servers[1]["databases"], &dbs)
	keys = keys[:0]
	for k := range dbs[0] {
		keys = append(keys, k)
	}
	if d := cmp.Diff([]string{"imageHash", "lagSeconds", "name", "version"}, sortStrings(keys)); d != "" {
		t.Errorf("database keys (-want +got):\n%s", d)
	}

	t.Run("a follower with another image", func(t *testing.T) {
		if err := fakes[2].SetDatabaseState("Sales", 0, h2, 0.5, 0); err != nil {
			t.Fatal(err)
		}
		defer fakes[2].SetDatabaseState("Sales", 0, "sha256:0000000000000000000000000000000000000000000000000000000000000001", -1, 0)
		st := Collect(ctx, g, CollectOptions{})
		if st.InSync || len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "image hashes differ") {
			t.Fatalf("inSync %v, reasons %q", st.InSync, st.Reasons)
		}
		if l := st.Servers[2].Databases[0].LagSeconds; l == nil || *l != 0.5 {
			t.Errorf("lag %v", l)
		}
	})
	t.Run("a server down", func(t *testing.T) {
		fakes[1].Close()
		st := Collect(ctx, g, CollectOptions{})
		if !st.InSync || st.AllReachable() || st.Servers[1].Reachable || st.Servers[1].Databases == nil {
			t.Fatalf("status %+v", st)
		}
		if !strings.Contains(st.Notes[0], "north did not answer") {
			t.Errorf("notes %q", st.Notes)
		}
	})
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRunDeploy(t *testing.T) {
	g, fakes := fakeGroup(t, 3)
	cmd, name, err := client.DeployCommand([]byte(salesBIM), "")
	if err != nil {
		t.Fatal(err)
	}
	op := Op{Verb: "deploy", Database: name, Run: func(ctx context.Context, conn *client.Conn, s Server) (string, error) {
		_, err := conn.TMSL(ctx, cmd)
		return "", err
	}}
	// The fake followers do not replicate: make them "receive" the
	// primary's new version as a real follower would.
	go func() {
		for fakes[0].TMSLCount() == 0 {
			<-timeAfter()
		}
		for _, f := range fakes[1:] {
			f.SetDatabaseState("Sales", 2, "", -1, 0)
		}
	}()
	rows := Run(context.Background(), g, op, RunOptions{})
	want := []struct{ outcome, role string }{{"succeeded", "primary"}, {"replicated", "follower"}, {"replicated", "follower"}}
	for i, r := range rows {
		if r.Outcome != want[i].outcome || r.Role != want[i].role || !r.OK || r.Version != 2 {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	for _, f := range fakes[1:] {
		if f.TMSLCount() != 0 {
			t.Error("a follower was sent the deploy")
		}
	}
}

func TestRunOutcomes(t *testing.T) {
	g, fakes := fakeGroup(t, 4)
	fakes[1].Close()                                           // north: unreachable
	fakes[2].SetRole("fenced", "")                             // south: fenced
	fakes[3].SetDatabaseState("Sales", 0, h2, -1, 0)           // east: a different image at the primary's version
	fakes[0].RefuseCommand("refresh", 500, "Internal", "boom") // unused by this op
	op := Op{Verb: "deploy", Database: "Sales", Run: func(ctx context.Context, conn *client.Conn, s Server) (string, error) { return "", nil }}
	rows := Run(context.Background(), g, op, RunOptions{Wait: -1})
	got := []string{rows[0].Outcome, rows[1].Outcome, rows[2].Outcome, rows[3].Outcome}
	if d := cmp.Diff([]string{"succeeded", "unreachable", "failed", "skipped"}, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if !strings.Contains(rows[2].Message, "fenced") || RowsOK(rows) {
		t.Errorf("rows %+v", rows)
	}
	t.Run("a follower with another image fails", func(t *testing.T) {
		rows := Run(context.Background(), g, op, RunOptions{})
		if rows[3].Outcome != "failed" || !strings.Contains(rows[3].Message, "image hash") {
			t.Errorf("row %+v", rows[3])
		}
	})
	t.Run("backup not supported", func(t *testing.T) {
		for _, f := range fakes {
			f.RefuseCommand("backup", 501, "NotSupported", "backup is not supported yet")
		}
		op := Op{Verb: "backup", Database: "Sales", EveryRole: true, Run: func(ctx context.Context, conn *client.Conn, s Server) (string, error) {
			_, err := conn.TMSL(ctx, []byte(`{"backup":{"database":"Sales","file":"x.abf"}}`))
			return "", err
		}}
		rows := Run(context.Background(), g, op, RunOptions{})
		for _, i := range []int{0, 2, 3} {
			if rows[i].Outcome != OutcomeNotSupported || !strings.Contains(rows[i].Message, "501") {
				t.Errorf("row %d: %+v", i, rows[i])
			}
		}
	})
}

func timeAfter() <-chan time.Time { return time.After(5 * time.Millisecond) }
