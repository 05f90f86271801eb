// Package client is the Go client of a Meridian server: connection strings,
// server lists with failover for reads, DAX queries, TMSL commands, deploys
// and asynchronous refreshes.
//
// A connection is opened from a connection string or a bare URL:
//
//	conn, err := client.Open(ctx, "Data Source=http://h1:8484,http://h2:8484;Initial Catalog=Sales", client.Options{})
//	res, err := conn.Query(ctx, "", "EVALUATE VALUES('Date'[Year])")
//
// # Servers and failover
//
// A Conn holds the ordered list of servers named by Data Source. Open
// probes them in order (GET /healthz) and fails with an unavailable error
// when none answers. Reads (queries, the database list, a database's
// definition, readiness) go to the first server that is not known to be
// down, and are retried on the next one when a server refuses the
// connection, times out, drops the connection before the whole answer has
// arrived, or answers 5xx. A server that failed is skipped by later reads
// for a short while and then tried again, so reads drift back to the first
// server once it recovers.
//
// Writes (TMSL commands, deploys, refreshes) go only to the first server,
// the primary, and are never retried: a write that timed out may still have
// been applied, and repeating it blindly could apply it twice. The status
// of a refresh is read from the server that accepted it.
//
// Aliases (link://host/path and link+http://host/path) are parsed and kept
// in ConnString, but resolving them is not implemented yet: Open returns
// ErrAliasUnsupported for them.
//
// # Errors
//
// Every error that comes from a server answer, or from the lack of one, is
// an *Error with the HTTP status, the server's error code and message, and
// the server that gave it. IsNotFound, IsConflict, IsBadRequest,
// IsUnavailable and IsUnreachable classify them. A server's raw answer body
// never appears in an error: only the code and message of its JSON error
// object, or the HTTP status text when the body is not one.
//
// # Wire shapes
//
// Queries use the Power BI executeQueries shape, and refreshes the Azure
// Analysis Services asynchronous refresh shape, so that the same client
// code talks to either with only the base URL changed. Query results carry
// no column types on the wire: Result infers each column's type from its
// values (see Kind).
package client
