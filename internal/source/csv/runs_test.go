package csv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridian-olap/meridian/internal/source/sourcetest"
	"github.com/meridian-olap/meridian/internal/value"
)

// TestRunsEqualRows reads files once row by row and once in runs and
// checks that both give the same rows, or the same error.
func TestRunsEqualRows(t *testing.T) {
	var big strings.Builder
	big.WriteString("h\n")
	for i := 0; i < 2500; i++ {
		switch {
		case i%97 == 0:
			fmt.Fprintf(&big, "%d,,2024-01-%02d,TRUE,1.5%%,10:30\n", i, i%28+1)
		case i%131 == 0:
			fmt.Fprintf(&big, "%d\n", i) // a short row
		default:
			fmt.Fprintf(&big, "%d,%d.%02d,2024-02-%02d,false,%d%%,23:59:59\n", i, i, i%100, i%28+1, i%50)
		}
	}
	cols := []Column{
		{Name: "I", Field: 0, Kind: Int}, {Name: "C", Field: 1, Kind: Currency},
		{Name: "D", Field: 2, Kind: Date}, {Name: "B", Field: 3, Kind: Bool},
		{Name: "P", Field: 4, Kind: Percentage}, {Name: "T", Field: 5, Kind: Time},
		{Name: "N", Field: -1, Kind: Null}, {Name: "F", Field: 1, Kind: Number},
	}
	bad := strings.Replace(big.String(), "1999,1999.99", "1999,x19", 1)
	for _, tc := range []struct {
		name    string
		in      string
		fail    error
		wantErr bool
	}{
		{name: "many runs", in: big.String()},
		{name: "bad value", in: bad, wantErr: true},
		{name: "sink error", in: big.String(), fail: errors.New("no"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewSource(Config{Name: "r.csv", Open: textOpen(tc.in), Skip: 1, Columns: cols})
			if err != nil {
				t.Fatal(err)
			}
			rows := &sourcetest.Recorder{T: t, Fail: tc.fail}
			errRows := src.Scan(context.Background(), rows)
			runs := &sourcetest.RunRecorder{T: t, Fail: tc.fail, NCols: len(cols)}
			errRuns := src.Scan(context.Background(), runs)
			if tc.wantErr {
				if errRows == nil || errRuns == nil {
					t.Fatalf("errors: row by row %v, runs %v; want both", errRows, errRuns)
				}
				var a, b *ValueError
				if errors.As(errRows, &a) != errors.As(errRuns, &b) || (a != nil && *a != *b) {
					t.Errorf("errors differ: row by row %v, runs %v", errRows, errRuns)
				}
				if tc.fail != nil && !errors.Is(errRuns, tc.fail) {
					t.Errorf("runs error %v does not wrap the sink's", errRuns)
				}
				return
			}
			if errRows != nil || errRuns != nil {
				t.Fatalf("errors: row by row %v, runs %v", errRows, errRuns)
			}
			if runs.Runs == 0 {
				t.Error("no column was passed in runs")
			}
			if len(rows.Rows) != 2500 {
				t.Fatalf("%d rows, want 2500", len(rows.Rows))
			}
			if diff := cmp.Diff(rows.Rows, runs.Rows, cmp.Comparer(func(a, b value.Value) bool { return a.GoString() == b.GoString() })); diff != "" {
				t.Errorf("runs differ from rows (-rows +runs):\n%s", diff)
			}
		})
	}
}
