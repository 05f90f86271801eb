package catalog

import "errors"

// Errors. Every error the catalog returns that has one of these causes
// wraps it, so callers test with errors.Is; the server maps them to HTTP
// statuses (ErrNotFound 404, ErrBusy and ErrExists 409, ErrInvalid 400).
var (
	// ErrNotFound: no such database, version or object. Errors for a
	// missing object also wrap image.ErrNotFound, as ObjectReader requires.
	ErrNotFound = errors.New("catalog: not found")
	// ErrBusy: another transaction, Delete or Rename holds the database.
	ErrBusy = errors.New("catalog: database is busy with another writer")
	// ErrExists: the target name of Rename is taken.
	ErrExists = errors.New("catalog: database exists")
	// ErrClosed: the catalog is closed, or the transaction has ended.
	ErrClosed = errors.New("catalog: closed")
	// ErrCorrupt: stored bytes do not match their hash or cannot be read.
	ErrCorrupt = errors.New("catalog: corrupt data")
	// ErrInvalid: a bad argument (database name, manifest, version).
	ErrInvalid = errors.New("catalog: invalid argument")
	// ErrLocked: another process has the data directory open.
	ErrLocked = errors.New("catalog: data directory is in use by another process")
)
