// Package blob opens object stores from URLs and reads and writes named
// objects in them: the backup store, the replication store a group
// publishes through, and alias and lease objects. One Store type covers
// every backend; the SDKs stay behind it.
//
// # URLs
//
//	file:///abs/dir                 a directory (created when missing)
//	mem://name/prefix               process memory; every Store opened on
//	                                the same name in a process shares it
//	azblob://container/prefix?...   Azure Blob Storage or Azurite
//	s3://bucket/prefix?...          S3 or an S3-compatible server
//
// The path after the container, bucket or mem name is a prefix: every
// object name is relative to it, and no name can reach outside it. Unknown
// parameters are refused, so that a typo cannot send data elsewhere.
//
// azblob: credentials come from Options (AzureConnectionString, or
// AzureAccount and AzureKey with AzureEndpoint), else from the environment:
// AZURE_STORAGE_CONNECTION_STRING (UseDevelopmentStorage=true means
// Azurite on its default port), else AZURE_STORAGE_ACCOUNT with
// AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, else the account with the
// default Azure identity chain (managed identity, CLI login). Without a
// connection string or endpoint the service URL is built from the
// parameters domain, protocol and localemu (or AZURE_STORAGE_DOMAIN,
// AZURE_STORAGE_PROTOCOL, AZURE_STORAGE_IS_LOCAL_EMULATOR):
// https://ACCOUNT.blob.core.windows.net by default, PROTOCOL://DOMAIN/ACCOUNT
// for an emulator. Options.Create creates a missing container.
//
// s3: the parameters of gocloud.dev's s3blob are accepted (endpoint,
// region, use_path_style, disable_https, anonymous, profile,
// request_checksum_calculation, response_checksum_validation, ...).
// Credentials come from Options.S3AccessKey and S3SecretKey, else the AWS
// default chain (AWS_ACCESS_KEY_ID, shared files). With an endpoint, the
// checksum settings default to when_required, which S3-compatible servers
// accept. Options.Create creates a missing bucket.
//
// # Names
//
// An object name is a relative, /-separated path: valid UTF-8, at most
// MaxNameLen (1024) bytes with the store's prefix, each segment non-empty
// and at most MaxSegmentLen (255) bytes; no "." or ".." segment, no segment
// ending in a dot (Azure drops them), none starting with ".meridian"
// (reserved for the file backend's own files), no leading or trailing
// slash, no backslash, no control character (C0, DEL, C1). Anything else,
// spaces and non-ASCII letters included, is kept as it is. ValidName
// applies the rules and every method checks them, so a name from a user
// (a backup file name, say) can be passed straight to a Store.
//
// On the file backend one name cannot be both an object and a directory
// of others ("a" and "a/b"); object stores allow it.
//
// # Conditional writes
//
// PutOptions.IfNotExists writes only if the name is free (else ErrExists,
// which is also an ErrPrecondition); PutOptions.IfMatch writes only if the
// object exists with that ETag (else ErrPrecondition). Of concurrent
// writers with the same condition exactly one succeeds. They are the
// building blocks for a pointer written last and for a lease.
//
//   - azblob: If-None-Match: * and If-Match request conditions, checked by
//     the service when the blob is committed. ETags change on every write.
//   - s3: If-None-Match: * and If-Match on the upload. ETags are the MD5
//     of the content for single-part uploads (objects under 8 MiB); a
//     conditional write of a larger, multi-part object depends on the
//     service honouring conditions on the completing request.
//   - file: the new content is written to a temporary file and synced;
//     then, under an exclusive flock on the object's directory, the
//     condition is checked and the file renamed into place. The ETag is
//     the SHA-256 of the content. The lock holds across Stores and
//     processes on one machine, not across machines sharing a network
//     file system that lacks flock. A write waits for the lock as long as
//     its context allows and at most 10 s: a process stopped while it
//     holds the lock (frozen, or stuck on a dead disk) makes writes to
//     that directory fail with an error that says so, never hang.
//   - mem: a mutex per store name; the ETag is the SHA-256 of the content.
//
// Where the ETag is a content hash (file, mem, S3), rewriting an object
// with identical bytes keeps its ETag, so a writer holding that ETag still
// matches. Objects that writers contend for should therefore hold
// something unique to each write, such as the writer's id and a counter.
//
// Put does not return the ETag it produced (the gocloud writers do not
// report it). A writer that needs it, to renew a lease say, reads the
// object back and checks that the content is its own before trusting the
// ETag it got with it.
//
// # Errors
//
// Errors wrap ErrNotFound, ErrPrecondition, ErrExists, ErrPermission,
// ErrInvalidName, ErrInvalidOption, ErrInvalidURL, ErrTooLarge or ErrClosed
// where one applies, and name the operation, the object and the store:
//
//	put "db/sales/LATEST" in azblob://meridian-ha: blob: precondition failed: ...
//
// A cancelled context gives an error that wraps the context's error.
package blob
