// Package replica replicates database images through a blob store: a
// primary publishes every committed image (only the objects the store
// lacks), followers in other regions poll the store and commit the same
// versions, and a lease in the store makes sure only one primary
// publishes at a time.
//
// The server gives a Publisher the images it commits (Publish, Delete,
// Rename) and gives a Follower its Local side (Current, HasObject,
// Commit, Delete); Follower.Status reports versions and seconds behind
// for /databases, /metrics and `meridian group status`.
//
// # Store layout
//
// Under Options.Prefix of the blob store:
//
//	objects/<hash>                         an object of any image, named by the
//	                                       lower-case hex SHA-256 of its bytes;
//	                                       shared by all databases
//	manifests/<key>/<version>-<mhash>.json  a manifest (image.Manifest.Marshal);
//	                                       version as 20 decimal digits, mhash
//	                                       the SHA-256 of the manifest's bytes
//	db/<key>/LATEST                        the database's pointer (JSON)
//	LEASE                                  the publishing lease (JSON)
//	clock/<holder key>                     scratch objects that read the
//	                                       store's clock
//
// <key> is Key(database name): a readable slug of the case-folded name and
// 32 hex digits of its SHA-256, so any name (slashes, dots, any script) is
// one safe object-name segment, and names differing only in case share a
// key, as they name one database in Analysis Services.
//
// The manifest's name carries its hash so that two publishers racing to
// publish different images as one version never overwrite each other's
// manifest: the pointer that wins names bytes that stay put.
//
// LATEST is
//
//	{"format":1,"database":"Sales","version":7,
//	 "manifest":"<sha256 of the manifest's bytes>","content":"<image content hash>",
//	 "commitTime":"...","published":"...","publisher":"west","epoch":3}
//
// and a tombstone, for a deleted database,
//
//	{"format":1,"database":"Sales","version":7,"commitTime":"<deleted at>",
//	 "published":"...","publisher":"west","epoch":3,"deleted":true}
//
// # Publishing
//
// Publish uploads the objects the store lacks (the publisher lists
// objects/ once and then keeps the set up to date, so a refresh of one
// partition ships only what changed: that partition's segments, plus the
// dictionaries its new values changed, which span every partition), in
// parallel, each
// checked against its hash before the upload and its size after; then the
// manifest; then, last, LATEST by compare-and-swap: IfNotExists the first
// time, else IfMatch on the ETag read before. A reader therefore never
// sees a pointer to missing objects, and of two publishers racing for one
// pointer exactly one wins; the loser re-reads the pointer and either
// finds its image there already (done), a newer version or the same
// version with other content (ErrStale), a newer epoch (ErrFenced), or
// an older version (it tries again).
//
// A delete writes a tombstone the same way. A rename publishes the image
// under the new name, then a tombstone for the old one, so a follower
// never has neither. A database created again after a delete starts its
// versions over, so any version may replace a tombstone. Publish calls
// for one database must come in commit order.
//
// Repair reads an image back from the store, uploads again any object
// missing or damaged, rewrites a damaged manifest or pointer: the answer
// to followers reporting ErrDamaged.
//
// Objects are never deleted from the store by this package; a future
// store garbage collector must not remove objects while publishers run,
// since a publisher trusts its set of known objects.
//
// # Following
//
// A follower polls (default every 2 s): it lists db/, reads every
// pointer, and brings each local database to it, creations first and
// deletes last. For a pointer whose image the local side lacks (by name,
// version and content hash) it reads the manifest (its bytes must hash to
// the pointer's manifest hash, its database, version and content hash must
// be the pointer's), fetches the objects the local side does not hold in
// parallel, each checked against its listed size and hash, and hands the
// complete image to Local.Commit, which commits it with the same version.
// A failed or interrupted fetch commits nothing, so the local side keeps
// serving its previous image; a damaged object is refused (ErrDamaged)
// and fetched again at the next poll.
//
// The store is the truth for followers: a local database with a version
// at or above the store's, or spelt differently, is deleted and replaced
// (a database deleted and created again while the follower was away, or a
// former primary whose last commits were never published). Writes a
// primary acknowledged but had not published when it lost its lease are
// therefore lost, as with any asynchronous replication.
//
// Lag: a database not in sync is VersionsBehind (the store's version
// minus the local one, at least 1) and LagSeconds behind: the time since
// the store's version was committed on the primary. The difference of
// the two commit times would say more about how often the primary
// commits than about replication. Lag compares the primary's clock with
// the follower's.
//
// # Lease and fencing
//
// LEASE holds {"format","holder","epoch","ttlMillis","acquired",
// "renewed","renewals","token","released"}. Acquire writes it by
// compare-and-swap when it is free (never taken, released, expired, or
// held by the same holder name, i.e. a restarted server), bumping the
// epoch; otherwise it fails with a HeldError naming the holder. The epoch
// is also taken above every epoch any pointer carries, so a lease object
// deleted or put back by hand cannot hand out an epoch twice. Takeover
// takes the lease whoever holds it (promotion by `meridian failover`).
// The holder renews by compare-and-swap on its last ETag (Keep renews
// every third of the TTL); a failed compare-and-swap means another holder
// took over, and the lease is lost (Lost is closed, Err says why): the
// server must stop publishing and refuse writes. Every write of the lease
// carries a random token, so that each is unique even where ETags are
// content hashes, and the writer reads it back to learn its ETag.
//
// A conditional-write lock object rather than Azure's blob leases: it
// works the same on every backend (file, S3, Azure, memory), carries the
// holder's name and epoch for status pages, and allows any TTL, where
// Azure leases are 15 to 60 s or infinite and exist nowhere else.
//
// Every pointer carries the epoch of its publisher's lease, and a
// publisher refuses to replace a pointer with a newer epoch (ErrFenced).
// Before every pointer write it also re-reads the lease (Lease.Check). A
// newly promoted primary calls Publisher.Fence, which rewrites every
// pointer with its epoch; after that an old primary cannot advance any
// database: its compare-and-swap finds a pointer it did not read, and on
// reading it, a newer epoch. It then catches up (Follower.Sync) before it
// takes writes. What remains is a window of one request: an old primary
// that checked its lease just before a takeover may still create the
// pointer of a database the store has never had.
//
// # Clocks
//
// The holder counts its lease valid until its TTL has passed since it
// sent the write that acquired or last renewed it, by its own monotonic
// clock. Another server judges the lease expired only when the store's
// clock shows more than TTL plus one second (the resolution of
// modification times on Azure and S3) since the lease object was last
// modified: it writes an object of its own (clock/<holder key>) and
// compares the two modification times, both from the store's clock. The
// lease object's modification time is no earlier than the holder sent the
// write, so the holder stops before anyone takes over, whatever the
// servers' clocks say, provided clocks run at the same rate. On a file://
// store shared over a network file system the "store's clock" is the file
// server's. With Options.LocalExpiry the holder's renewal time (its
// clock) is compared with the contender's clock, allowing MaxClockSkew;
// that is for tests with a fake clock and stores with unreliable
// modification times. TTLs of 15 s or more are advised in production.
package replica
