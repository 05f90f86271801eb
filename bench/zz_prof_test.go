package main

import (
	"context"
	"testing"
)

func TestZZProfRefresh(t *testing.T) {
	ctx := context.Background()
	data, err := prepareData(ctx, "/tmp/mbench", 1_000_000, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"parquet", "csv", "parquet", "csv"} {
		_, d, err := processInProcess(ctx, data, f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %v", f, d)
	}
}
