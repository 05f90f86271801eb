// Package testenv finds what tests need outside the module: the shared
// datasets and the services (Azurite, PostgreSQL) that integration tests run
// against.
//
// A test that needs something missing is skipped with a message that says
// how to provide it, unless MERIDIAN_REQUIRE_SERVICES is set (as CI does):
// then it fails, so that nothing is silently skipped in CI.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Required reports whether missing services and data fail tests rather
// than skip them.
func Required() bool { return os.Getenv("MERIDIAN_REQUIRE_SERVICES") != "" }

// Missing skips t, or fails it when services are required, explaining what
// is missing and how to provide it.
func Missing(t testing.TB, what, howto string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is missing and MERIDIAN_REQUIRE_SERVICES is set: %s", what, howto)
	}
	t.Skipf("SKIPPED: %s is missing: %s", what, howto)
}

// ModuleRoot returns the directory holding go.mod, found by walking up
// from the test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Datasets returns the shared datasets folder (../shared/datasets from the
// module root, or $MERIDIAN_DATASETS), skipping the test when it is absent.
func Datasets(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MERIDIAN_DATASETS")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(t), "..", "shared", "datasets")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		Missing(t, "the shared datasets folder "+dir,
			"check out ../shared next to the module or set MERIDIAN_DATASETS")
	}
	return dir
}
