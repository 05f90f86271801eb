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
// A Conn holds the ordered list of servers named by Data Source, with
// aliases resolved (see below). Open probes them in order (GET /healthz)
// and fails with an unavailable error when none answers. Reads (queries,
// the database list, a database's definition, readiness, status) go to the
// first server that is not known to be down, and are retried on the next
// one when a server refuses the connection, times out, drops the
// connection before the whole answer has arrived, or answers 5xx. A
// server that failed is marked down: reads try it only after every other
// server, and a background probe (GET /readyz, first after
// Options.ProbeInterval, then at growing intervals) marks it up again once
// it is ready, so reads drift back to the first server when it recovers.
//
// Writes (TMSL commands, deploys, refreshes, promote and demote) go only
// to the first server, the primary, and are never retried: a write that
// timed out may still have been applied, and repeating it blindly could
// apply it twice. The one exception is a write that provably was not
// applied, because the connection was refused (nothing was sent) or the
// server refused it for its role (409 ReadOnlyReplica from a follower, 409
// Fenced from a former primary): when a fresh read of the aliases then
// names another primary, the write is sent once to that one. The status
// of a refresh is read from the server that accepted it.
//
// # Aliases
//
// A Data Source entry link://host/path is an alias: Open reads
// https://host/path (http:// for link+http://, for plain HTTP on
// loopback) and uses the servers its text names, in their order, in place
// of the entry. The text is a list of server URLs or a connection string,
// with # comments (see ParseAlias for the format; FormatAlias writes it).
// When a server fails (a request or a background probe of a server that
// is down), the aliases are read again in the background, at most once per
// Options.AliasInterval, and a read that has tried every
// server waits for the re-read and tries the servers it newly names; so
// clients follow a failover (`meridian failover` rewrites the alias)
// without anyone editing connection strings. An alias that does not
// answer keeps the servers it named last; at Open, with no servers named
// otherwise, it is an error wrapping ErrAlias (and an unreachable *Error
// when nothing answered).
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
