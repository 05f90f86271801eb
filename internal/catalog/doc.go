// Package catalog keeps Meridian's databases on disk: every committed
// version of every database as an image (a manifest plus content-addressed
// objects, see package image), the commit protocol that makes a new
// version durable and current in one atomic step, the loading of the
// current versions at start, and the garbage collection of what no
// retained version needs. It knows nothing of what objects hold: the
// column store encodes and decodes them, the server keeps decoded images
// in memory.
//
// # On-disk format
//
// A data directory holds:
//
//	LOCK                              flock'ed while a process has the directory open
//	objects/<hh>/<hash>               an object: its bytes, named by their SHA-256 in
//	                                  lower-case hex; <hh> is the first two digits.
//	                                  Shared by all databases, so equal objects are
//	                                  stored once.
//	databases/<dir>/CURRENT           the pointer to the current version
//	databases/<dir>/manifests/<v>.json  the manifest of version v, v as 20 decimal
//	                                  digits (00000000000000000007.json)
//	databases/.deleted-<dir>/         a deleted database, until it is removed
//	.../.tmp-<process>-<n>            a temporary file being written
//
// <dir> is an opaque name chosen when the database is created: a readable
// prefix taken from the name (lower-case ASCII letters, digits and '_',
// other characters as '-', at most 24 bytes) and 16 random hex digits,
// e.g. "sales-2024-9f0c2a7b41d3e685". The database's real name, which may be
// any valid UTF-8 of up to MaxNameLen bytes ('/', "..", spaces and all), is
// stored only inside its manifests, so no name can escape the directory,
// and a rename is an ordinary commit. Names are compared case-insensitively
// (value.FoldText), as in Analysis Services.
//
// A manifest file is image.Manifest.Marshal output. CURRENT is one line of
// JSON:
//
//	{"format":1,"version":7,"manifest":"<sha256 hex of manifests/…07.json>"}
//
// # Commit protocol
//
// Txn.WriteObject writes each new object to a temporary file in its object
// directory (an object the catalog holds already is not written again;
// one of 256 KiB or more goes past the page cache where the filesystem
// allows, vfs.DirectWriter);
// Txn.WriteVerified does the same for an object the caller verified
// already (image.VerifyObject), without hashing it again.
// Commit checks that every object the manifest lists was written by the
// transaction or is held, then, for version N:
//
//  1. syncs the transaction's temporary files, many at once (one at a time
//     costs a disk flush each; after Txn.SyncAhead, those synced in the
//     background since they were written are not synced again), syncs
//     objects/ if new object directories were made, renames each file to
//     its hash and syncs the object directories renamed into;
//  2. for a new database only: creates databases/<dir>/manifests and syncs
//     databases/<dir> and databases/;
//  3. writes manifests/N.json to a temporary file, syncs it, renames it
//     into place, syncs manifests/;
//  4. writes CURRENT the same way (temporary file, sync, rename over the
//     old CURRENT) and syncs databases/<dir>.
//
// Commit returns only after step 4: a version whose Commit returned is
// durable and current. A manifest is written only once every object it
// names is durable under its final name, and CURRENT only once the
// manifest is. Version N is the current version plus one, or above any
// version a failed commit attempted, so a number is never reused;
// CommitReplica takes the version from the caller, which must be above
// the current one.
//
// # What is loaded after a crash
//
// The last committed version of a database is the one its CURRENT names.
// Open loads it if its manifest is intact (matches the hash in CURRENT,
// parses, holds that version) and every object it lists is present with
// the listed size (and, with Options.Verify, the right hash). Otherwise:
//
//   - CURRENT missing (the first commit was interrupted before step 4 was
//     durable) or unreadable: the newest complete version, if any;
//   - CURRENT naming a version that cannot be loaded (damage, not a crash):
//     the newest complete version below it, with a warning;
//   - no complete version: a directory with no manifest at all is an
//     interrupted first commit and GC removes it; any other is logged as
//     an error and left alone, with every object its manifests list.
//
// Manifests above the version CURRENT names were never committed and are
// ignored. The rules depend only on what is on disk, so recovery is
// deterministic, and none of them fails Open or logs a warning. After a
// crash at any point of a commit, Open loads the previous version or the
// new one: the new one once the new CURRENT is durable, or, for the first
// commit of a database (which has no previous version), once its manifest
// is. A crash during Rename leaves the old name or the new one, during
// Delete the database or nothing.
// Temporary files, unused objects and abandoned directories left behind
// are removed by GC, never reported as errors.
//
// Open syncs every directory whose entries it relied on, so that what one
// process loaded after its predecessor was killed stays durable even if the
// machine loses power afterwards.
//
// # Concurrency
//
// There is one writer per database at a time (a Txn, Delete or Rename); a
// second one gets ErrBusy, or waits with Options.WaitForWriter. Readers
// never wait for writers. GC runs alongside both: objects that a live
// transaction wrote or checked (Txn.HasObject), and temporary files and
// directories being written, are registered before they exist on disk, and
// GC skips them. Only one process may open a data directory (ErrLocked).
package catalog
