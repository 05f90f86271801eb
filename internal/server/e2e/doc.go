// Package e2e tests the real meridian binary: it builds ./cmd/meridian,
// runs `meridian serve` on a free port with a temporary data directory,
// and drives it over HTTP only. It holds the tests that need a process
// of their own: restarts, kill -9 during writes, graceful shutdown.
package e2e
