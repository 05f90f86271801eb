package testenv

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The development account of the Azure Storage emulators.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzuriteServer is a running Azurite blob service.
type AzuriteServer struct {
	// Endpoint is the blob service URL, account included:
	// http://127.0.0.1:PORT/devstoreaccount1.
	Endpoint string
	Account  string
	Key      string
	// ConnectionString is the full form the Azure SDK understands.
	ConnectionString string

	stop func()
}

// Stop stops the server before its test ends, freeing its memory (an
// in-memory Azurite frees the data of deleted blobs only every ten
// minutes). Stopping twice, or stopping and then ending the test, is
// fine.
func (s *AzuriteServer) Stop() { s.stop() }

// Env returns the AZURE_STORAGE_* variables that point a process at this
// server.
func (s *AzuriteServer) Env() []string {
	return []string{
		"AZURE_STORAGE_CONNECTION_STRING=" + s.ConnectionString,
		"AZURE_STORAGE_ACCOUNT=" + s.Account,
		"AZURE_STORAGE_KEY=" + s.Key,
	}
}

// azuriteStartTimeout bounds the wait for a new server to answer; it
// starts in well under a second on an idle machine.
const azuriteStartTimeout = 60 * time.Second

// azuriteBinary finds azurite-blob: $MERIDIAN_AZURITE, else
// .tools/node_modules/.bin under the module root (where `make tools`
// installs it), else the PATH.
func azuriteBinary(t testing.TB) (string, bool) {
	if p := os.Getenv("MERIDIAN_AZURITE"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	p := filepath.Join(ModuleRoot(t), ".tools", "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(p); err == nil {
		return p, true
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p, true
	}
	return "", false
}

var nodeOnce = sync.OnceValue(func() error { _, err := exec.LookPath("node"); return err })

// Azurite starts an Azurite blob service with in-memory storage on a free
// loopback port for t, and stops it (the process and its children) when t
// ends. Each call starts its own server, so tests never see each other's
// data; starting one takes about a second on an idle machine (several on a
// busy one), so a test with many subtests should start one and give each
// subtest its own container. When Azurite is not installed the test is skipped (or fails under
// MERIDIAN_REQUIRE_SERVICES) with the command that installs it.
func Azurite(t testing.TB) *AzuriteServer {
	t.Helper()
	bin, ok := azuriteBinary(t)
	if !ok {
		Missing(t, "Azurite (azurite-blob)", "run `make tools` in the module root, or set MERIDIAN_AZURITE to azurite-blob")
	}
	if err := nodeOnce(); err != nil {
		Missing(t, "Node.js (node), which Azurite needs", "install Node.js 20 (apt-get install -y nodejs)")
	}
	var lastErr error
	for range 3 { // a free port may be taken before Azurite binds it
		srv, err := startAzurite(t, bin)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("start Azurite: %v", lastErr)
	return nil
}

func startAzurite(t testing.TB, bin string) (*AzuriteServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	cmd := exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--inMemoryPersistence", "--silent",
		"--skipApiVersionCheck", "--disableTelemetry", "--loose")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = azuriteProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		// Kill the process group Azurite leads: the node process and
		// anything it started. The pid is the one started above.
		killGroup(cmd.Process.Pid)
		_ = cmd.Process.Kill()
		<-exited
	}

	endpoint := fmt.Sprintf("http://127.0.0.1:%d/%s", port, AzuriteAccount)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(azuriteStartTimeout)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("azurite exited at start: %s", out.String())
		default:
		}
		// Any HTTP answer (an authorization error, say) means it serves.
		if resp, err := client.Get(endpoint + "?comp=list"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("azurite did not answer on port %d within %v: %s", port, azuriteStartTimeout, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop = sync.OnceFunc(stop)
	t.Cleanup(stop)
	return &AzuriteServer{
		stop:     stop,
		Endpoint: endpoint,
		Account:  AzuriteAccount,
		Key:      AzuriteKey,
		ConnectionString: "DefaultEndpointsProtocol=http;AccountName=" + AzuriteAccount +
			";AccountKey=" + AzuriteKey + ";BlobEndpoint=" + endpoint + ";",
	}, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
