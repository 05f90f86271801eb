// Package hatest tests high availability end to end with the real
// meridian binary: three `meridian serve` processes on loopback as three
// regions, replicating through Azurite (or a file:// store), driven by
// the group commands (`meridian group deploy|refresh|status|watch`,
// `meridian failover`) and by Go clients whose connection strings list the
// servers or name a link+http:// alias. The tests kill the primary (-9)
// under a stream of queries, freeze it (SIGSTOP) during a promotion,
// restart a follower mid-replication, and check after every step that
// `meridian group status` tells the truth. The benchmarks measure the
// longest gap a querying client sees after kill -9 and the replication
// lag and upload volume of a one-partition refresh.
//
// The package holds tests only; Azurite is started by the tests
// (testenv.Azurite) and skipped loudly when missing outside CI.
package hatest
