package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob/azureblob"
)

// The development account every Azure Storage emulator knows; the SDK
// does not understand UseDevelopmentStorage=true, so it is expanded here.
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

func openAzure(ctx context.Context, loc location, opts Options) (driver, error) {
	client, err := azureContainer(loc, opts)
	if err != nil {
		return nil, err
	}
	if opts.Create {
		_, err := client.Create(ctx, nil)
		if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return nil, fmt.Errorf("create container %s: %w", loc.bucket, cloudErr(ctx, err))
		}
	}
	b, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, err
	}
	return &cloudStore{bucket: b, bufferSize: azureBlockSize, concurrency: uploadBuffers}, nil
}

// azureContainer builds the container client from, in order: the
// connection string in opts, the account in opts, then the same from the
// environment (AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT
// with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, else the account with
// the default Azure identity chain).
func azureContainer(loc location, opts Options) (*container.Client, error) {
	for k := range loc.query {
		switch k {
		case "domain", "protocol", "localemu":
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q (want domain, protocol or localemu)", ErrInvalidURL, k)
		}
	}
	cs := opts.AzureConnectionString
	if cs == "" && opts.AzureAccount == "" {
		cs = opts.getenv("AZURE_STORAGE_CONNECTION_STRING")
	}
	if cs != "" {
		if strings.Contains(strings.ToLower(cs), "usedevelopmentstorage=true") {
			cs = "DefaultEndpointsProtocol=http;AccountName=" + devAccount + ";AccountKey=" + devKey +
				";BlobEndpoint=http://127.0.0.1:10000/" + devAccount + ";"
		}
		c, err := container.NewClientFromConnectionString(cs, loc.bucket, nil)
		if err != nil {
			// The SDK's message may quote the string, key included.
			return nil, errors.New("azure connection string is not valid")
		}
		return c, nil
	}
	account, key, endpoint := opts.AzureAccount, opts.AzureKey, opts.AzureEndpoint
	sas := ""
	if account == "" {
		account = opts.getenv("AZURE_STORAGE_ACCOUNT")
		key = opts.getenv("AZURE_STORAGE_KEY")
		sas = opts.getenv("AZURE_STORAGE_SAS_TOKEN")
	}
	if account == "" {
		return nil, errors.New("no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY")
	}
	if endpoint == "" {
		var err error
		if endpoint, err = azureEndpoint(account, loc.query, opts); err != nil {
			return nil, err
		}
	}
	containerURL := strings.TrimSuffix(endpoint, "/") + "/" + loc.bucket
	switch {
	case key != "":
		cred, err := container.NewSharedKeyCredential(account, key)
		if err != nil {
			return nil, errors.New("azure storage key is not valid base64")
		}
		return container.NewClientWithSharedKeyCredential(containerURL, cred, nil)
	case sas != "":
		return container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(sas, "?"), nil)
	default:
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("azure identity: %w", err)
		}
		var tc azcore.TokenCredential = cred
		return container.NewClient(containerURL, tc, nil)
	}
}

// azureEndpoint builds the service URL from the URL parameters domain,
// protocol and localemu, or the AZURE_STORAGE_DOMAIN, _PROTOCOL and
// _IS_LOCAL_EMULATOR variables.
func azureEndpoint(account string, q url.Values, opts Options) (string, error) {
	param := func(name, env string) string {
		if v := q.Get(name); v != "" {
			return v
		}
		return opts.getenv(env)
	}
	domain := param("domain", "AZURE_STORAGE_DOMAIN")
	protocol := param("protocol", "AZURE_STORAGE_PROTOCOL")
	emu := param("localemu", "AZURE_STORAGE_IS_LOCAL_EMULATOR")
	if protocol == "" {
		protocol = "https"
	}
	if protocol != "http" && protocol != "https" {
		return "", fmt.Errorf("%w: protocol %q (want http or https)", ErrInvalidURL, protocol)
	}
	local := false
	if emu != "" {
		var err error
		if local, err = strconv.ParseBool(emu); err != nil {
			return "", fmt.Errorf("%w: localemu %q is not a boolean", ErrInvalidURL, emu)
		}
	}
	if domain == "" {
		if local {
			return "", fmt.Errorf("%w: localemu needs a domain (host:port of the emulator)", ErrInvalidURL)
		}
		domain = "blob.core.windows.net"
	}
	if strings.ContainsAny(domain, "/?#@") {
		return "", fmt.Errorf("%w: domain %q", ErrInvalidURL, domain)
	}
	if local {
		return protocol + "://" + domain + "/" + account, nil
	}
	return protocol + "://" + account + "." + domain, nil
}
