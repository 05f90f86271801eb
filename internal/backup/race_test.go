//go:build race

package backup

// raceEnabled skips the tests that stream hundreds of megabytes, which
// the race detector makes take many minutes.
const raceEnabled = true
