package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Errors returned by Store methods, wrapped with the operation, the object
// name and the store; test for them with errors.Is.
var (
	// ErrNotFound: the object (or the container or bucket) does not exist.
	ErrNotFound = errors.New("blob: object not found")
	// ErrPrecondition: a conditional write's condition did not hold.
	ErrPrecondition = errors.New("blob: precondition failed")
	// ErrExists: a write with IfNotExists found the object there already.
	// It also matches ErrPrecondition.
	ErrExists error = existsError{}
	// ErrPermission: the service refused the credentials or the operation.
	ErrPermission = errors.New("blob: permission denied")
	// ErrInvalidName: an object name or list prefix breaks the naming rules.
	ErrInvalidName = errors.New("blob: invalid object name")
	// ErrInvalidOption: conflicting PutOptions or unusable metadata.
	ErrInvalidOption = errors.New("blob: invalid option")
	// ErrInvalidURL: Open was given a URL it cannot use.
	ErrInvalidURL = errors.New("blob: invalid store URL")
	// ErrTooLarge: ReadAll found an object larger than MaxReadAll.
	ErrTooLarge = errors.New("blob: object too large")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("blob: store closed")
)

type existsError struct{}

func (existsError) Error() string { return "blob: object already exists" }

// Is makes ErrExists a kind of ErrPrecondition, so that callers who only
// care whether a conditional write lost can test for ErrPrecondition.
func (existsError) Is(target error) bool { return target == ErrPrecondition }

// MaxReadAll bounds the objects ReadAll reads into memory.
const MaxReadAll = 64 << 20

// Limits on metadata, the smallest of what the services accept.
const (
	maxMetadataBytes = 2048
	maxMetadataKey   = 64
)

// Options configure Open. The zero value is usable: credentials then come
// from the environment.
type Options struct {
	// Create creates the Azure container or S3 bucket when it does not
	// exist. A file:// directory is always created.
	Create bool

	// Getenv reads the AZURE_STORAGE_* variables; nil means os.Getenv.
	// (The AWS SDK reads its own environment and shared files.)
	Getenv func(string) string

	// Azure credentials, used instead of the environment when set: a full
	// connection string, or an account and key with an optional service
	// endpoint such as http://127.0.0.1:10000/devstoreaccount1.
	AzureConnectionString string
	AzureAccount          string
	AzureKey              string
	AzureEndpoint         string

	// S3 static credentials, used instead of the AWS default chain when
	// S3AccessKey is set.
	S3AccessKey string
	S3SecretKey string
}

func (o Options) getenv(key string) string {
	if o.Getenv != nil {
		return o.Getenv(key)
	}
	return os.Getenv(key)
}

// PutOptions control one Put.
type PutOptions struct {
	// IfNotExists writes only if no object has the name; otherwise Put
	// fails with ErrExists and leaves the object alone.
	IfNotExists bool
	// IfMatch, when not empty, writes only if the object exists and its
	// current ETag equals IfMatch; otherwise Put fails with
	// ErrPrecondition. It cannot be combined with IfNotExists.
	IfMatch string
	// ContentType is stored with the object; empty means
	// application/octet-stream.
	ContentType string
	// Metadata is a small map stored with the object. Keys are lower-case
	// ASCII letters, digits and underscores, starting with a letter, at
	// most 64 bytes; keys and values together at most 2048 bytes.
	Metadata map[string]string
}

func (o PutOptions) check() error {
	if o.IfNotExists && o.IfMatch != "" {
		return fmt.Errorf("%w: IfNotExists and IfMatch together", ErrInvalidOption)
	}
	if err := checkChars(o.IfMatch); err != nil {
		return fmt.Errorf("%w: IfMatch %q", ErrInvalidOption, o.IfMatch)
	}
	total := 0
	for k, v := range o.Metadata {
		if !validMetadataKey(k) {
			return fmt.Errorf("%w: metadata key %q (want [a-z][a-z0-9_]*, at most %d bytes)", ErrInvalidOption, k, maxMetadataKey)
		}
		if err := checkChars(v); err != nil {
			return fmt.Errorf("%w: metadata %q has a value with a control character or invalid UTF-8", ErrInvalidOption, k)
		}
		total += len(k) + len(v)
	}
	if total > maxMetadataBytes {
		return fmt.Errorf("%w: metadata of %d bytes, more than %d", ErrInvalidOption, total, maxMetadataBytes)
	}
	return nil
}

func validMetadataKey(k string) bool {
	if k == "" || len(k) > maxMetadataKey || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (o PutOptions) contentType() string {
	if o.ContentType == "" {
		return "application/octet-stream"
	}
	return o.ContentType
}

// Attributes describe a stored object.
type Attributes struct {
	Size    int64
	ModTime time.Time
	// ETag identifies the version of the object; pass it to
	// PutOptions.IfMatch. On Azure it changes with every write; on the
	// file and mem backends (and for single-part S3 uploads) it is a hash
	// of the content, so rewriting identical bytes keeps it.
	ETag        string
	ContentType string
	// Metadata is what Put stored. Stat always reports it; Get only where
	// the backend returns it with the content (file, mem).
	Metadata map[string]string
}

// Entry is one object found by List.
type Entry struct {
	Name    string // relative to the store, like the names given to Put
	Size    int64
	ModTime time.Time
}

// driver is one backend. Keys are full keys (the store prefix included);
// errors wrap the package sentinels where one applies.
type driver interface {
	put(ctx context.Context, key string, r io.Reader, o PutOptions) error
	// get reads n bytes from off, or to the end when n < 0.
	get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Attributes, error)
	stat(ctx context.Context, key string) (Attributes, error)
	// list calls fn for each object whose key starts with prefix, in
	// increasing key order, until fn returns false.
	list(ctx context.Context, prefix string, fn func(key string, size int64, mod time.Time) bool) error
	delete(ctx context.Context, key string) error
	close() error
}

// Store is a blob store opened from a URL, confined to the URL's prefix.
// It is safe for concurrent use. Every method validates the object name
// and returns errors naming the operation, the object and the store.
type Store struct {
	location string // the URL, for messages
	prefix   string // "" or ending in "/"
	drv      driver
	closed   atomic.Bool
}

// Open opens the store a URL names; see the package documentation for the
// URL forms. The caller must Close the store.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	loc, err := parseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open blob store %q: %w", rawURL, err)
	}
	var drv driver
	switch loc.scheme {
	case "file":
		drv, err = openFile(loc.path)
	case "mem":
		drv = openMem(loc.bucket)
	case "azblob":
		drv, err = openAzure(ctx, loc, opts)
	case "s3":
		drv, err = openS3(ctx, loc, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", loc.display, err)
	}
	return &Store{location: loc.display, prefix: loc.prefix, drv: drv}, nil
}

// location is a parsed store URL.
type location struct {
	scheme  string
	bucket  string // container, bucket or mem name
	path    string // file: the directory
	prefix  string // "" or ending in "/"
	query   url.Values
	display string
}

// parseURL checks a store URL and splits it. It refuses what it does not
// understand rather than ignore it: a typo in a parameter should not
// silently send backups somewhere else.
func parseURL(raw string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return location{}, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if u.User != nil {
		return location{}, fmt.Errorf("%w: credentials do not belong in the URL", ErrInvalidURL)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return location{}, fmt.Errorf("%w: unexpected %q", ErrInvalidURL, raw)
	}
	loc := location{scheme: u.Scheme, query: u.Query(), display: u.Redacted()}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("%w: file URLs take an absolute path (file:///dir), not host %q", ErrInvalidURL, u.Host)
		}
		if len(loc.query) > 0 {
			return location{}, fmt.Errorf("%w: file URLs take no parameters", ErrInvalidURL)
		}
		p := strings.TrimSuffix(u.Path, "/")
		if p == "" {
			return location{}, fmt.Errorf("%w: file URL names the root directory", ErrInvalidURL)
		}
		if err := ValidName(p[1:]); err != nil {
			return location{}, fmt.Errorf("%w: directory %q: %w", ErrInvalidURL, u.Path, err)
		}
		loc.path = p
		return loc, nil
	case "mem":
		if len(loc.query) > 0 {
			return location{}, fmt.Errorf("%w: mem URLs take no parameters", ErrInvalidURL)
		}
	case "azblob":
		if err := validContainer(u.Host); err != nil {
			return location{}, err
		}
	case "s3":
		if err := validBucket(u.Host); err != nil {
			return location{}, err
		}
	case "":
		return location{}, fmt.Errorf("%w: %q has no scheme (want file, azblob, s3 or mem)", ErrInvalidURL, raw)
	default:
		return location{}, fmt.Errorf("%w: unknown scheme %q (want file, azblob, s3 or mem)", ErrInvalidURL, u.Scheme)
	}
	loc.bucket = u.Host
	p := strings.Trim(u.Path, "/")
	if p != "" {
		if err := ValidName(p); err != nil {
			return location{}, fmt.Errorf("%w: prefix %q: %w", ErrInvalidURL, p, err)
		}
		loc.prefix = p + "/"
	}
	return loc, nil
}

// validContainer applies Azure's container naming rules, so that a bad
// name gets a clear message rather than a 400 from the service.
func validContainer(name string) error {
	if name == "$root" {
		return nil
	}
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%w: container name %q must be 3 to 63 characters", ErrInvalidURL, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-'
		if !ok {
			return fmt.Errorf("%w: container name %q: only lower-case letters, digits and single inner hyphens", ErrInvalidURL, name)
		}
	}
	return nil
}

// validBucket applies the S3 bucket naming rules loosely (gateways accept
// a little more than AWS does).
func validBucket(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%w: bucket name %q must be 3 to 63 characters", ErrInvalidURL, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%w: bucket name %q: only lower-case letters, digits, hyphens and dots", ErrInvalidURL, name)
		}
	}
	return nil
}

// String returns the store's URL (without secrets).
func (s *Store) String() string { return s.location }

// key checks name and returns the full key for the driver.
func (s *Store) key(name string) (string, error) {
	if s.closed.Load() {
		return "", ErrClosed
	}
	if err := ValidName(name); err != nil {
		return "", err
	}
	k := s.prefix + name
	if len(k) > MaxNameLen {
		return "", fmt.Errorf("%w: %d bytes with the store prefix, more than %d", ErrInvalidName, len(k), MaxNameLen)
	}
	return k, nil
}

func (s *Store) fail(op, name string, err error) error {
	return fmt.Errorf("%s %q in %s: %w", op, name, s.location, err)
}

// Put stores the bytes read from r under name, replacing any object there
// unless opts make the write conditional. It streams: memory use does not
// grow with the object's size. The object appears whole or not at all; if
// r fails or ctx is cancelled, nothing is written.
//
// Errors: ErrExists (IfNotExists and the object exists), ErrPrecondition
// (IfMatch and the object is missing or has another ETag), ErrInvalidName,
// ErrInvalidOption, ErrPermission, ErrNotFound (the container or bucket is
// missing), and the error of r or ctx.
//
// Conditional writes are atomic against every other write to the same
// name (for the file backend: through any Store on the same directory
// tree, in any process on the machine): of concurrent writers with the
// same condition, exactly one succeeds. They are meant for small objects
// such as pointers and leases.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts PutOptions) error {
	k, err := s.key(name)
	if err == nil {
		err = opts.check()
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = s.drv.put(ctx, k, r, opts)
	}
	if err != nil {
		return s.fail("put", name, err)
	}
	return nil
}

// Get opens the object for reading. The caller must close the reader.
// The content read is the version the Attributes describe, even if the
// object is replaced while it is read. Errors: ErrNotFound,
// ErrInvalidName, ErrPermission. Reading stops with an error wrapping
// ctx's once ctx ends.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, Attributes, error) {
	return s.GetRange(ctx, name, 0, -1)
}

// GetRange is Get of n bytes from offset off (to the end when n < 0). A
// range past the end is cut short at the end of the object.
func (s *Store) GetRange(ctx context.Context, name string, off, n int64) (io.ReadCloser, Attributes, error) {
	k, err := s.key(name)
	if err == nil && off < 0 {
		err = fmt.Errorf("%w: negative offset %d", ErrInvalidOption, off)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, Attributes{}, s.fail("get", name, err)
	}
	rc, attrs, err := s.drv.get(ctx, k, off, n)
	if err != nil {
		return nil, Attributes{}, s.fail("get", name, err)
	}
	return &namedReader{rc: rc, fail: func(err error) error { return s.fail("read", name, err) }}, attrs, nil
}

// namedReader wraps read errors with the object they came from, and
// reports io.EOF unwrapped as io.Reader requires.
type namedReader struct {
	rc   io.ReadCloser
	fail func(error) error
}

func (r *namedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = r.fail(err)
	}
	return n, err
}

func (r *namedReader) Close() error { return r.rc.Close() }

// Stat returns the object's attributes. Errors: ErrNotFound,
// ErrInvalidName, ErrPermission.
func (s *Store) Stat(ctx context.Context, name string) (Attributes, error) {
	k, err := s.key(name)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return Attributes{}, s.fail("stat", name, err)
	}
	a, err := s.drv.stat(ctx, k)
	if err != nil {
		return Attributes{}, s.fail("stat", name, err)
	}
	return a, nil
}

// Exists reports whether the object exists.
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	_, err := s.Stat(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List yields the objects whose names start with prefix ("" for all), in
// increasing byte order of name, with names relative to the store. The
// prefix is a plain string prefix ("img" matches "img/a" and "imgx"). On
// failure it yields one error and stops. Objects written or deleted while
// a listing runs may or may not be seen.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		err := validListPrefix(prefix)
		if err == nil && s.closed.Load() {
			err = ErrClosed
		}
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = s.drv.list(ctx, s.prefix+prefix, func(key string, size int64, mod time.Time) bool {
				name, ok := strings.CutPrefix(key, s.prefix)
				if !ok || ValidName(name) != nil {
					// Objects put there by other means, with names this
					// package would refuse, are left out rather than
					// handed to callers who trust names to be safe.
					return true
				}
				return yield(Entry{Name: name, Size: size, ModTime: mod}, nil)
			})
		}
		if err != nil {
			yield(Entry{}, s.fail("list", prefix, err))
		}
	}
}

// Delete removes the object. Errors: ErrNotFound, ErrInvalidName,
// ErrPermission.
func (s *Store) Delete(ctx context.Context, name string) error {
	k, err := s.key(name)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = s.drv.delete(ctx, k)
	}
	if err != nil {
		return s.fail("delete", name, err)
	}
	return nil
}

// Close releases the store. Methods called afterwards fail with ErrClosed;
// readers already returned by Get stay usable until closed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.drv.close(); err != nil {
		return fmt.Errorf("close %s: %w", s.location, err)
	}
	return nil
}

// ReadAll reads a small object (at most MaxReadAll bytes, else
// ErrTooLarge) with its attributes; the bytes and attributes are of the
// same version of the object.
func (s *Store) ReadAll(ctx context.Context, name string) ([]byte, Attributes, error) {
	rc, attrs, err := s.Get(ctx, name)
	if err != nil {
		return nil, Attributes{}, err
	}
	defer rc.Close()
	if attrs.Size > MaxReadAll {
		return nil, Attributes{}, s.fail("read", name, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, attrs.Size, MaxReadAll))
	}
	var buf bytes.Buffer
	buf.Grow(int(max(attrs.Size, 0)))
	n, err := buf.ReadFrom(io.LimitReader(rc, MaxReadAll+1))
	if err != nil {
		return nil, Attributes{}, err
	}
	if n > MaxReadAll {
		return nil, Attributes{}, s.fail("read", name, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxReadAll))
	}
	return buf.Bytes(), attrs, nil
}

// WriteAll is Put of a byte slice.
func (s *Store) WriteAll(ctx context.Context, name string, data []byte, opts PutOptions) error {
	return s.Put(ctx, name, bytes.NewReader(data), opts)
}

// ctxReader stops a stream when its context ends, for backends whose
// copy loop would not otherwise notice.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
