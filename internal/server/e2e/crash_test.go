package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-olap/meridian/internal/value"
)

// The crash test's model: one table read from sales.csv, whose amounts
// are scaled by k, and a measure [Marker] whose value each deploy
// changes. Every committed version is known by (k, marker).
const crashRows = 300

func writeSales(t testing.TB, dir string, k int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("Region,Amount,Qty\n")
	for i := range crashRows {
		fmt.Fprintf(&b, "R%d,%d.%04d,%d\n", i%4, (i+1)*k, (i*37)%10000, i%7+1)
	}
	tmp := filepath.Join(dir, "sales.csv.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "sales.csv")); err != nil {
		t.Fatal(err)
	}
}

func crashModel(marker int) []byte {
	m := strings.Join([]string{
		"let",
		`    Source = Csv.Document(File.Contents("sales.csv"), [Delimiter=",", Encoding=65001, QuoteStyle=QuoteStyle.Csv]),`,
		"    Promoted = Table.PromoteHeaders(Source, [PromoteAllScalars=true]),",
		`    Typed = Table.TransformColumnTypes(Promoted, {{"Region", type text}, {"Amount", Currency.Type}, {"Qty", Int64.Type}})`,
		"in",
		"    Typed",
	}, "\n")
	db := map[string]any{
		"name": "Crash", "compatibilityLevel": 1600,
		"model": map[string]any{"tables": []any{map[string]any{
			"name": "Sales",
			"columns": []any{
				map[string]any{"name": "Region", "dataType": "string", "sourceColumn": "Region"},
				map[string]any{"name": "Amount", "dataType": "decimal", "sourceColumn": "Amount"},
				map[string]any{"name": "Qty", "dataType": "int64", "sourceColumn": "Qty"},
			},
			"partitions": []any{map[string]any{"name": "Sales", "source": map[string]any{"type": "m", "expression": m}}},
			"measures": []any{
				map[string]any{"name": "Total", "expression": "SUM ( Sales[Amount] )"},
				map[string]any{"name": "Marker", "expression": fmt.Sprint(marker)},
			},
		}}},
	}
	b, _ := json.Marshal(db)
	return b
}

// crashState is what a committed version answers.
type crashState struct{ k, marker int }

const crashQuery = `EVALUATE ROW ( "t", [Total], "n", COUNTROWS ( Sales ), "m", [Marker] )`

func (s crashState) answer() string {
	var units int64
	for i := range crashRows {
		units += int64((i+1)*s.k)*value.CurrencyScale + int64((i*37)%10000)
	}
	return fmt.Sprintf(`{"results":[{"tables":[{"rows":[{"[t]":%s,"[n]":%d,"[m]":%d}]}]}]}`,
		value.FormatCurrencyUnits(units), crashRows, s.marker)
}

// TestCrashDuringWrites kills the server with SIGKILL at random points of
// refreshes and deploys, restarts it each time, and checks that it starts
// without error and answers as the last version committed: the one
// before the write, or the one the write made.
func TestCrashDuringWrites(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	src, data := t.TempDir(), t.TempDir()
	writeSales(t, src, 1)
	p := startServer(t, data, "--source-root", src)
	p.mustTMSL(deployCmd("Crash", crashModel(0)))
	p.mustTMSL(refreshCmd("Crash"))
	state := crashState{k: 1, marker: 0}
	// The time one write takes sets the range of the kill points.
	start := time.Now()
	p.mustTMSL(refreshCmd("Crash"))
	span := 2 * time.Since(start)
	p.Kill()

	p = startServer(t, data, "--source-root", src)
	var lastVersion int64
	outcomes := map[string]int{}
	for round := range rounds {
		next := state
		var op string
		if round%2 == 0 {
			next.k = state.k%5 + 1
			writeSales(t, src, next.k)
			op = refreshCmd("Crash")
		} else {
			next.marker = round + 1
			op = deployCmd("Crash", crashModel(next.marker))
		}
		done := make(chan struct{})
		go func() { p.Try("POST", "/tmsl", op); close(done) }()
		time.Sleep(time.Duration(rng.Int64N(int64(span))))
		p.Kill()
		<-done

		// The restarted server starts cleanly and answers as the old or
		// the new version, nothing else.
		p = startServer(t, data, "--source-root", src)
		if strings.Contains(p.Log.String(), "level=ERROR") {
			t.Fatalf("round %d: errors at start after kill:\n%s", round, p.Log.String())
		}
		db := p.databases()["Crash"]
		if db.Version < lastVersion || db.Error != "" {
			t.Fatalf("round %d: version %d (was %d), error %q", round, db.Version, lastVersion, db.Error)
		}
		lastVersion = db.Version
		_, got := p.query("Crash", crashQuery)
		switch got {
		case state.answer():
			outcomes["old"]++
		case next.answer():
			outcomes["new"]++
			state = next
		default:
			t.Fatalf("round %d: after a kill the server answers %s; want the old %s or the new %s",
				round, got, state.answer(), next.answer())
		}
	}
	p.Stop()
	t.Logf("%d kills: %d kept the old version, %d the new one", rounds, outcomes["old"], outcomes["new"])
}
