package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/meridian-olap/meridian/internal/backup"
	"github.com/meridian-olap/meridian/internal/catalog"
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/engine"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/process"
)

// Errors. Every error the Manager and the handlers return that has one of
// these causes wraps it; statusTable turns causes into HTTP answers.
var (
	// ErrNotFound: no such database.
	ErrNotFound = errors.New("server: database not found")
	// ErrRefreshNotFound: no refresh with that id.
	ErrRefreshNotFound = errors.New("server: refresh not found")
	// ErrObjectNotFound: a command names a table, partition or other
	// object the database does not have.
	ErrObjectNotFound = errors.New("server: object not found")
	// ErrBusy: another writer (refresh, deploy, restore) holds the
	// database.
	ErrBusy = errors.New("server: database is busy with another operation")
	// ErrExists: create of a database that exists.
	ErrExists = errors.New("server: database already exists")
	// ErrBadRequest: a request the server cannot act on as sent.
	ErrBadRequest = errors.New("server: bad request")
	// ErrInvalidJSON: a body that is not the JSON it should be.
	ErrInvalidJSON = errors.New("server: malformed JSON")
	// ErrTooLarge: a body over the configured limit.
	ErrTooLarge = errors.New("server: request body too large")
	// ErrNotSupported: a command or option Meridian does not implement
	// (yet).
	ErrNotSupported = errors.New("server: not supported")
	// ErrNotReady: databases are still being loaded at start.
	ErrNotReady = errors.New("server: databases are still loading")
	// ErrClosed: the server is shutting down.
	ErrClosed = errors.New("server: shutting down")
	// ErrUnavailable: the database exists but cannot be queried: its
	// image could not be loaded at start.
	ErrUnavailable = errors.New("server: database cannot be queried")
	// ErrCorrupt: an image offered to CommitImage fails verification.
	ErrCorrupt = errors.New("server: image failed verification")
	// ErrCancelled: the operation was cancelled (DELETE of a refresh, or
	// the client went away).
	ErrCancelled = errors.New("server: operation cancelled")
	// ErrReadOnly: a write sent to a follower, which takes writes only
	// from its primary (through the replication store).
	ErrReadOnly = errors.New("server: read-only replica")
	// ErrFenced: a write sent to a former primary that lost its
	// publishing lease.
	ErrFenced = errors.New("server: fenced")
	// ErrCatchingUp: a write sent to a new primary still bringing its
	// databases to what the replication store holds.
	ErrCatchingUp = errors.New("server: catching up with the replication store")
	// ErrLeaseHeld: a promotion refused because another server holds the
	// publishing lease (take it over to promote anyway).
	ErrLeaseHeld = errors.New("server: the publishing lease is held by another server")
	// ErrReplication: the replication store cannot be used (unreachable,
	// no permission, a bad URL).
	ErrReplication = errors.New("server: replication store")
	// ErrSyncSource: the source server of a synchronize failed to answer or
	// sent something wrong.
	ErrSyncSource = errors.New("server: synchronize source")
	// ErrNoObject: GET /objects/{hash} of an object the server does not
	// hold.
	ErrNoObject = errors.New("server: no such image object")
	// ErrBackupNotFound: restore of a file the backup store lacks.
	ErrBackupNotFound = errors.New("server: backup file not found")
	// ErrBackupExists: backup to a file that exists, without
	// allowOverwrite.
	ErrBackupExists = errors.New("server: backup file exists")
	// ErrBackupStore: the backup store failed (unreachable, refused the
	// credentials, a bad URL).
	ErrBackupStore = errors.New("server: backup store")
)

// statusTable is the one mapping from error causes to HTTP statuses and
// error codes. The first entry the error matches (errors.Is) wins, so
// more specific causes come first. 4xx means the caller can fix the
// request; 5xx is reserved for the server's own faults and states.
var statusTable = []struct {
	cause  error
	status int
	code   string
}{
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "RequestTooLarge"},
	{model.ErrTooLarge, http.StatusRequestEntityTooLarge, "RequestTooLarge"},
	{ErrNotFound, http.StatusNotFound, "DatabaseNotFound"},
	{catalog.ErrNotFound, http.StatusNotFound, "DatabaseNotFound"},
	{ErrRefreshNotFound, http.StatusNotFound, "RefreshNotFound"},
	{ErrNoObject, http.StatusNotFound, "ImageObjectNotFound"},
	{ErrObjectNotFound, http.StatusBadRequest, "ObjectNotFound"},
	{process.ErrNotFound, http.StatusBadRequest, "ObjectNotFound"},
	{ErrBusy, http.StatusConflict, "DatabaseBusy"},
	{catalog.ErrBusy, http.StatusConflict, "DatabaseBusy"},
	{ErrExists, http.StatusConflict, "DatabaseExists"},
	{catalog.ErrExists, http.StatusConflict, "DatabaseExists"},
	{ErrInvalidJSON, http.StatusBadRequest, "InvalidJSON"},
	{model.ErrSyntax, http.StatusBadRequest, "InvalidJSON"},
	{model.ErrTooDeep, http.StatusBadRequest, "InvalidJSON"},
	{model.ErrSchema, http.StatusBadRequest, "InvalidTMSL"},
	{model.ErrInvalid, http.StatusBadRequest, "InvalidModel"},
	{dax.ErrSyntax, http.StatusBadRequest, "DAXSyntaxError"},
	// Backup and restore (backup.go). The file a restore names cannot
	// be restored: 422, like a source that cannot be read.
	{ErrBackupNotFound, http.StatusNotFound, "BackupNotFound"},
	{ErrBackupExists, http.StatusConflict, "BackupExists"},
	{backup.ErrPasswordRequired, http.StatusBadRequest, "BackupPasswordRequired"},
	{backup.ErrWrongPassword, http.StatusBadRequest, "BackupWrongPassword"},
	{backup.ErrABF, http.StatusUnprocessableEntity, "AnalysisServicesBackup"},
	{backup.ErrNotBackup, http.StatusUnprocessableEntity, "NotABackup"},
	{backup.ErrVersion, http.StatusUnprocessableEntity, "BackupVersionUnsupported"},
	{backup.ErrTruncated, http.StatusUnprocessableEntity, "BackupTruncated"},
	{backup.ErrCorrupt, http.StatusUnprocessableEntity, "BackupDamaged"},
	{backup.ErrTrailingData, http.StatusUnprocessableEntity, "BackupDamaged"},
	{ErrBackupStore, http.StatusBadGateway, "BackupStoreFailed"},
	{ErrCorrupt, http.StatusBadRequest, "InvalidImage"},
	{ErrBadRequest, http.StatusBadRequest, "BadRequest"},
	{catalog.ErrInvalid, http.StatusBadRequest, "BadRequest"},
	{engine.ErrLimit, http.StatusBadRequest, "QueryLimitExceeded"},
	// A source that cannot be read or holds values of the wrong type is
	// a problem with the model or its data, which the caller can fix.
	{process.ErrSource, http.StatusUnprocessableEntity, "SourceFailed"},
	{ErrCancelled, http.StatusConflict, "Cancelled"},
	// A write a server's role refuses: the caller sends it to the
	// primary instead (the message names it).
	{ErrReadOnly, http.StatusConflict, "ReadOnlyReplica"},
	{ErrFenced, http.StatusConflict, "Fenced"},
	{ErrLeaseHeld, http.StatusConflict, "LeaseHeld"},
	{ErrCatchingUp, http.StatusServiceUnavailable, "CatchingUp"},
	{ErrSyncSource, http.StatusBadGateway, "SynchronizeSourceFailed"},
	{ErrReplication, http.StatusBadGateway, "ReplicationStoreFailed"},
	{ErrNotSupported, http.StatusNotImplemented, "NotSupported"},
	{ErrNotReady, http.StatusServiceUnavailable, "NotReady"},
	{ErrClosed, http.StatusServiceUnavailable, "ShuttingDown"},
	{catalog.ErrClosed, http.StatusServiceUnavailable, "ShuttingDown"},
	{ErrUnavailable, http.StatusServiceUnavailable, "DatabaseUnavailable"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "Timeout"},
}

// statusOf returns the HTTP status and error code for err.
func statusOf(err error) (int, string) {
	for _, e := range statusTable {
		if errors.Is(err, e.cause) {
			return e.status, e.code
		}
	}
	return http.StatusInternalServerError, "InternalError"
}

// errorBody is the JSON of every error answer:
// {"error":{"code":"...","message":"...","details":[...]}}. Details list
// the problems of an invalid model with their JSON paths.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details []model.Problem `json:"details,omitempty"`
	// PBI is Power BI's own error object, for executeQueries errors.
	PBI *pbiError `json:"pbi.error,omitempty"`
}

// MarshalJSON of model.Problem is not defined there; problemJSON gives
// the wire form.
type problemJSON struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (o errorObject) MarshalJSON() ([]byte, error) {
	type wire struct {
		Code    string        `json:"code"`
		Message string        `json:"message"`
		Details []problemJSON `json:"details,omitempty"`
		PBI     *pbiError     `json:"pbi.error,omitempty"`
	}
	w := wire{Code: o.Code, Message: o.Message, PBI: o.PBI}
	for _, p := range o.Details {
		w.Details = append(w.Details, problemJSON(p))
	}
	return json.Marshal(w)
}

// writeError answers with err mapped through statusTable.
func writeError(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	body := errorBody{Error: errorObject{Code: code, Message: err.Error()}}
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		body.Error.Details = ve.Problems
	}
	writeJSON(w, status, body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalError","message":"encode the answer: ` + jsonEscape(err.Error()) + `"}}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
