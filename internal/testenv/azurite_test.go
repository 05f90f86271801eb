package testenv

import (
	"net/http"
	"strings"
	"testing"
)

// TestAzuriteStops checks that a server answers while its test runs and
// is gone, process and port, once the test has ended.
func TestAzuriteStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Azurite")
	}
	var endpoint string
	t.Run("serve", func(t *testing.T) {
		srv := Azurite(t)
		endpoint = srv.Endpoint
		if !strings.Contains(srv.ConnectionString, "BlobEndpoint="+srv.Endpoint+";") {
			t.Errorf("connection string %q lacks the endpoint", srv.ConnectionString)
		}
		resp, err := http.Get(srv.Endpoint + "?comp=list")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	if endpoint == "" {
		return // skipped: Azurite is not installed
	}
	if resp, err := http.Get(endpoint + "?comp=list"); err == nil {
		resp.Body.Close()
		t.Errorf("Azurite still answers at %s after its test ended", endpoint)
	}
}

func TestS3Server(t *testing.T) {
	srv := S3(t)
	srv.CreateBucket(t, "bucket")
	resp, err := http.Get(srv.Endpoint + "/bucket")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("listing the new bucket: %s", resp.Status)
	}
	if u := srv.BucketURL("bucket"); !strings.HasPrefix(u, "s3://bucket?") || !strings.Contains(u, "use_path_style=true") {
		t.Errorf("BucketURL = %s", u)
	}
}
