package blob_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/testenv"
)

// TestAzureFromEnvironment opens Azurite the way a server configured by
// AZURE_STORAGE_* variables does, through Options.Getenv.
func TestAzureFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("Azurite tests skipped in -short mode")
	}
	srv := testenv.Azurite(t)
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		url  string
		env  map[string]string
	}{
		{"connection string", "azblob://envcs", map[string]string{
			"AZURE_STORAGE_CONNECTION_STRING": srv.ConnectionString}},
		{"account and key with URL parameters", "azblob://envkey?localemu=true&protocol=http&domain=" + u.Host, map[string]string{
			"AZURE_STORAGE_ACCOUNT": srv.Account, "AZURE_STORAGE_KEY": srv.Key}},
		{"account and key with variables", "azblob://envvars/some/prefix", map[string]string{
			"AZURE_STORAGE_ACCOUNT": srv.Account, "AZURE_STORAGE_KEY": srv.Key,
			"AZURE_STORAGE_DOMAIN": u.Host, "AZURE_STORAGE_PROTOCOL": "http", "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := blob.Open(ctx, tc.url, blob.Options{Create: true, Getenv: func(k string) string { return tc.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			put(t, s, "hello", "world", blob.PutOptions{})
			if data, _ := get(t, s, "hello"); data != "world" {
				t.Errorf("read %q", data)
			}
		})
	}

	// Without Create, a missing container is reported as not found.
	s := mustOpen(t, "azblob://nosuchcontainer", blob.Options{AzureConnectionString: srv.ConnectionString})
	if err := s.WriteAll(ctx, "x", []byte("y"), blob.PutOptions{}); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("put to a missing container: %v, want ErrNotFound", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	tests := []struct {
		name, url string
		opts      blob.Options
		want      string
	}{
		{"no azure credentials", "azblob://cont", blob.Options{Getenv: noEnv}, "no Azure credentials"},
		{"bad connection string", "azblob://cont", blob.Options{AzureConnectionString: "AccountKey=secret;nonsense"}, "connection string is not valid"},
		{"bad key", "azblob://cont", blob.Options{AzureAccount: "a", AzureKey: "not base64!"}, "not valid base64"},
		{"unknown azure parameter", "azblob://cont?sas=x", blob.Options{Getenv: noEnv}, "unknown parameter"},
		{"bad protocol", "azblob://cont?protocol=ftp", blob.Options{AzureAccount: "a", AzureKey: "a2V5"}, "protocol"},
		{"unknown s3 parameter", "s3://bucket?colour=blue&region=us-east-1", blob.Options{}, "colour"},
		{"bad path style", "s3://bucket?use_path_style=maybe", blob.Options{}, "not a boolean"},
		{"unknown scheme", "gs://bucket", blob.Options{}, "unknown scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := blob.Open(ctx, tc.url, tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

// TestS3StaticCredentials opens the in-process S3 server with explicit
// keys and bucket creation, as a server with S3AccessKey configured does.
func TestS3StaticCredentials(t *testing.T) {
	srv := testenv.S3(t)
	raw := strings.Replace(srv.BucketURL("created"), "anonymous=true", "anonymous=false", 1)
	s := mustOpen(t, raw, blob.Options{Create: true, S3AccessKey: "AKIDEXAMPLE", S3SecretKey: "secret"})
	put(t, s, "k", "v", blob.PutOptions{})
	if data, _ := get(t, s, "k"); data != "v" {
		t.Errorf("read %q", data)
	}
	// Creating an existing bucket again is not an error.
	mustOpen(t, raw, blob.Options{Create: true, S3AccessKey: "AKIDEXAMPLE", S3SecretKey: "secret"})
}
