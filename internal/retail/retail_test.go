package retail

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/process"
	"github.com/meridian-olap/meridian/internal/source"
)

func TestDeterministicCSV(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	o := Options{Rows: 5000}
	if err := WriteCSV(context.Background(), a, o, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(context.Background(), b, o, nil); err != nil {
		t.Fatal(err)
	}
	for _, tab := range Tables(o) {
		x, _ := os.ReadFile(filepath.Join(a, tab.Name+".csv"))
		y, _ := os.ReadFile(filepath.Join(b, tab.Name+".csv"))
		if sha256.Sum256(x) != sha256.Sum256(y) {
			t.Errorf("%s.csv differs between two runs", tab.Name)
		}
	}
}

func TestSampleModelProcessesAndAnswers(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCSV(context.Background(), filepath.Join(dir, "data"), Options{Rows: 20000}, nil); err != nil {
		t.Fatal(err)
	}
	def, err := Model("Retail", "data")
	if err != nil {
		t.Fatal(err)
	}
	if probs := def.Validate(); len(probs) > 0 {
		t.Fatalf("the sample model is invalid: %v", probs)
	}
	roots, err := source.NewRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := process.Refresh(context.Background(), def, nil, process.Request{}, process.Options{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Data.Table("Sales").Rows; got != 20000 {
		t.Fatalf("Sales has %d rows, want 20000", got)
	}
	q := `EVALUATE SUMMARIZECOLUMNS('Date'[Year], "Orders", [Orders], "Margin", [Margin])`
	out, err := res.Model.Query(context.Background(), q, engine.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var orders int64
	for _, r := range out.Tables[0].Rows {
		orders += r[1].AsInt()
		if f, _ := r[2].Number(); f <= 0 {
			t.Errorf("year %v has margin %v, want positive", r[0], r[2])
		}
	}
	if orders != 20000 {
		t.Errorf("orders by year add up to %d, want 20000", orders)
	}
}
