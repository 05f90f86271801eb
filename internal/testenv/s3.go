package testenv

import (
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3Server is an in-process S3-compatible server (gofakes3 over memory).
// It honours conditional puts (If-None-Match, If-Match) but checks no
// signatures, so it cannot stand in for permission tests.
type S3Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	backend  *s3mem.Backend
}

// S3 starts an S3 server for t, stopped when t ends.
func S3(t testing.TB) *S3Server {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewUnstartedServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	// gofakes3 writes a second header when a client goes away mid-request
	// (a cancelled upload); net/http would log that on every such test.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return &S3Server{Endpoint: srv.URL, backend: backend}
}

// CreateBucket creates a bucket, failing t if it cannot.
func (s *S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if err := s.backend.CreateBucket(name); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// BucketURL returns the s3:// URL of a bucket on this server, with the
// parameters an S3-compatible endpoint needs, and anonymous requests
// (the server checks no signatures).
func (s *S3Server) BucketURL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("use_path_style", "true")
	q.Set("region", "us-east-1")
	q.Set("request_checksum_calculation", "when_required")
	q.Set("response_checksum_validation", "when_required")
	q.Set("anonymous", "true")
	return "s3://" + bucket + "?" + q.Encode()
}
