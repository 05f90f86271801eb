// Package vfs is the small filesystem interface through which Meridian
// writes its data directory, so that the code that must survive crashes can
// be tested against a filesystem that crashes on demand.
//
// Three implementations are provided:
//
//   - Default, over the os package, used in production;
//   - MemFS (NewMem), an in-memory filesystem with strict crash semantics:
//     Crash discards every change that was not made durable, exactly as a
//     power failure may on a real disk, and Kill simulates the death of the
//     process alone (locks and open files go, written bytes stay);
//   - Faulty (NewFaulty), a wrapper that consults an Injector before every
//     operation, to fail one chosen operation (FailAt) or to simulate the
//     death of the process at one (CrashAt).
//
// Default is also a DirectWriter: on Linux it writes large new files past
// the page cache (O_DIRECT). MemFS and Faulty are not, so the crash tests
// see the same operations whatever the platform.
//
// # Durability model
//
// Both MemFS and the catalog that relies on it follow the POSIX rules that
// databases rely on:
//
//   - bytes written to a file are durable once File.Sync returns;
//   - a directory entry (a file or directory created, renamed into the
//     directory, or removed from it) is durable once SyncDir of that
//     directory returns; a new directory is itself an entry of its parent;
//   - Rename atomically replaces the target entry: a reader, or a restart
//     after a crash, sees either the old or the new file under the name,
//     never a mixture.
//
// MemFS is strict: after Crash a file holds exactly the bytes of its last
// Sync and a directory exactly the entries of its last SyncDir. Real
// filesystems usually keep more than that, never less, so code that is
// correct on MemFS is correct on them.
//
// # Fault injection
//
// A crash test counts the operations a scenario performs, then replays the
// scenario once for every index i with CrashAt(i): operation i fails, and
// so does every operation after it, as if the process had died just before
// it. The test then calls MemFS.Crash to drop what was not durable and
// checks that the data directory recovers. MemFS.Clone lets every replay
// start from the same prepared state.
package vfs
