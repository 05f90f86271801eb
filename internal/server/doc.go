// Package server is Meridian's server: the Manager that keeps every
// database of a data directory in memory and is its only writer, and the
// HTTP API over it.
//
// # Databases in memory
//
// At start the Manager opens the catalog (package catalog) and Load
// decodes the current image of every database: the model object
// (model.Parse), the column data (colstore.Decode of the manifest's data
// root) and the engine model over both (engine.NewModel). Until Load
// returns, /readyz answers 503 and database endpoints answer NotReady.
// A database whose image cannot be loaded stays listed, with an error,
// and answers queries with 503; it can be deployed or restored again.
//
// Each database has an atomic pointer to its current Version. A query
// pins the Version it starts on, so a commit during the query never
// changes its answer, and queries never wait for writers.
//
// # Writes
//
// There is one writer per database (Manager.acquire): a deploy, refresh,
// delete, restore or follow holds the database for its duration, and a
// second writer is refused at once with ErrBusy (HTTP 409, as Analysis
// Services answers a second refresh). A write builds the next image in
// memory, writes its objects into a catalog transaction (content-addressed,
// so segments that did not change are not written again), commits the
// manifest and swaps the pointer; a failure before the commit changes
// nothing. A deploy whose model has the same data shape as the current
// one (only measures, formats, roles, descriptions, annotations changed;
// see dataShape) keeps the processed data; otherwise the database becomes
// unprocessed (state noData). Garbage collection runs in the background
// a little after commits, and waits while a Snapshot is being read.
//
// Commands on objects inside a database (createOrReplace of a measure,
// delete of a table, alter of a role, ...) edit a copy of the model that
// is then validated and committed like a deploy (objects.go).
//
// A TMSL sequence is one transaction over every database it names: all
// its operations are staged in memory, the objects of every database are
// written, and only then are the manifests committed. A sequence that
// touches several databases commits them one after the other, so only an
// I/O failure between those small commits can leave it partly applied.
//
// Images from outside (replication, synchronize) come in through
// CommitImage, which verifies every object and decodes the whole image
// before it commits; a restore comes in through RestoreImage, which
// streams an archive into a catalog transaction and does the same once
// the archive's reader has verified all of it. Backup and publishing
// read a pinned image through ReadImage.
//
// # Backup and restore
//
// TMSL backup and restore (backup.go) go through the server's backup
// store (Options.BackupStore or Options.Backup.Store). Backup pins the
// current version and writes it with backup.WriteToStore: it takes no
// writer lock, so queries and refreshes go on. Restore reads the
// archive with backup.Read into Manager.RestoreImage: a wrong password,
// a damaged, truncated or foreign file, or an image that does not
// decode aborts the transaction and changes nothing. The answer is the
// usual {"messages":[...]} with the result as "backup" or "restore"
// (sizes, versions, seconds). StartBackups opens the store and runs the
// backup schedules (backup.Scheduler) until Shutdown.
//
// # HTTP API
//
//	GET    /healthz                                   200 {"status":"ok"}
//	GET    /readyz                                    200 once loaded, 503 before
//	POST   /tmsl                                      one TMSL command: 200 {"messages":[...]}
//	GET    /databases                                 [{"name","version","state","lastProcessed","sizeBytes","imageHash","role","lagSeconds","versionsBehind"}]
//	GET    /databases/{db}                            the database's TMSL as deployed
//	POST   /v1.0/myorg/datasets/{db}/executeQueries   Power BI's Execute Queries
//	POST   /v1.0/myorg/groups/{g}/datasets/{db}/executeQueries
//	POST   /servers/{server}/models/{db}/refreshes    AAS asynchronous refresh: 202 + Location
//	GET    /servers/{server}/models/{db}/refreshes    refresh history, newest first
//	GET    /servers/{server}/models/{db}/refreshes/{id}
//	DELETE /servers/{server}/models/{db}/refreshes/{id}  cancel
//	GET    /metrics                                   Prometheus text format
//	GET    /backups[?prefix=P][&database=D]           the backup store's listing, oldest first
//	GET    /status                                    role, name, region, store, primary, lease, publish and follow state
//	POST   /admin/promote                             {"takeover","store","timeoutSeconds"}: become the primary
//	POST   /admin/demote                              {"follow","timeoutSeconds"}: become a follower
//	GET    /images/{db}                               the current version's manifest (for synchronize)
//	GET    /objects/{hash}                            one image object (for synchronize)
//
// {server} is accepted whatever it is. Database names in paths are
// matched without regard to case; a name holding '/' is sent escaped
// (%2F).
//
// Errors are {"error":{"code":"...","message":"..."}} with the status
// statusTable gives (errors.go): 4xx for what the caller can fix, 5xx for
// the server's own faults and states (NotReady, ShuttingDown). A DAX error
// in executeQueries is a 400 with code DatasetExecuteQueriesError, the
// message as Power BI writes it ("Query (3, 12) ...": line and column) and
// Power BI's "pbi.error" object. Request bodies are limited (64 MB for
// TMSL, 1 MB for queries and refresh requests by default): over the limit
// is a 413.
//
// # Refresh API
//
// POST .../refreshes takes Azure Analysis Services' body
// ({"Type","CommitMode","MaxParallelism","RetryCount","Objects"}), checks
// it and takes the database at once (400, 404 or 409 right away), and
// answers 202 with a Location header naming .../refreshes/{id}. The
// refresh runs in the background with statuses notStarted, inProgress,
// succeeded, failed, cancelled (DELETE, or shutdown) and timedOut (the
// optional Timeout "hh:mm:ss"). CommitMode transactional commits all or
// nothing; partialBatch commits batches of MaxParallelism tables as they
// complete, each batch a version of its own; a batch that fails (after
// its retries) ends the refresh as failed, keeps the batches committed
// before it, and the batches after it are not run. RetryCount retries a failed refresh (or
// batch) with a short backoff; cancellation is never retried. The
// history is kept in memory, the last Options.RefreshHistory refreshes
// of each database.
//
// # Replication
//
// A Replicator (replication.go) gives the server its role. A primary
// holds the publishing lease of a blob store (package replica): it
// claims every pointer for its epoch (Publisher.Fence), catches up with
// what the store holds (the store wins, except for local versions above
// the store's, which are published), and then publishes every commit the
// Manager reports (swap), in the background: per database the latest
// event only, one publish at a time, deletions only after the commits
// noted before them (a rename commits the new name first, so followers
// never have neither name), failures retried with backoff. Writes are
// refused with ErrCatchingUp until the catch-up is done. A follower runs
// a replica.Follower whose local side commits through CommitImage and
// DeleteDatabase under a context that passes the write gate (acquire);
// every other write is refused with ErrReadOnly, naming the lease holder.
// A primary whose lease is lost (taken over, or not renewed in time) is
// fenced: it publishes nothing and refuses writes with ErrFenced, naming
// the new holder, until it is promoted (which takes the lease again) or
// demoted; when no other server took the lease (it ran out while the store
// did not answer), the server takes it again by itself. Role changes are serialized; Stop, at shutdown, publishes
// what is pending within the shutdown timeout and releases the lease.
package server
