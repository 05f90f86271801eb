package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// cloudStore is a backend on a gocloud bucket (Azure Blob Storage, S3).
type cloudStore struct {
	bucket *gcblob.Bucket
	// Upload tuning: blocks of bufferSize, concurrency of them in flight,
	// which bounds the memory a Put uses.
	bufferSize, concurrency int
}

// Upload block sizes. Azure allows 50,000 blocks and S3 10,000 parts per
// object, so these cap objects at about 200 GB (Azure) and 80 GB (S3);
// concurrency times size is the memory one Put may hold.
const (
	azureBlockSize = 4 << 20
	s3PartSize     = 8 << 20
	uploadBuffers  = 4
)

// cloudErr maps gocloud and SDK errors to the package's, keeping the
// original in the chain for details.
func cloudErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case gcerrors.FailedPrecondition:
		return fmt.Errorf("%w: %w", ErrPrecondition, err)
	case gcerrors.PermissionDenied:
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case gcerrors.Canceled:
		return fmt.Errorf("%w: %w", context.Canceled, err)
	case gcerrors.DeadlineExceeded:
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	// gocloud maps only some of Azure's refusals to PermissionDenied
	// (AuthenticationFailed); a 403 with another code is one too.
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

func (s *cloudStore) put(ctx context.Context, key string, r io.Reader, o PutOptions) error {
	wo := &gcblob.WriterOptions{
		ContentType:    o.contentType(),
		Metadata:       o.Metadata,
		IfNotExist:     o.IfNotExists,
		BufferSize:     s.bufferSize,
		MaxConcurrency: s.concurrency,
	}
	if o.IfMatch != "" {
		etag := o.IfMatch
		wo.BeforeWrite = func(as func(any) bool) error {
			var az *azblob.UploadStreamOptions
			if as(&az) {
				match := azcore.ETag(etag)
				if az.AccessConditions == nil {
					az.AccessConditions = &azblobblob.AccessConditions{}
				}
				if az.AccessConditions.ModifiedAccessConditions == nil {
					az.AccessConditions.ModifiedAccessConditions = &azblobblob.ModifiedAccessConditions{}
				}
				az.AccessConditions.ModifiedAccessConditions.IfMatch = &match
				return nil
			}
			var in *transfermanager.UploadObjectInput
			if as(&in) {
				in.IfMatch = aws.String(etag)
				return nil
			}
			return errors.New("conditional write not supported by this backend")
		}
	}
	// Upload rather than NewWriter and Close: in gocloud v0.47.0 the Azure
	// writer's Close dereferences a nil pipe when the upload fails.
	err := s.bucket.Upload(ctx, key, r, wo)
	if err == nil {
		return nil
	}
	err = cloudErr(ctx, err)
	switch {
	case o.IfNotExists && errors.Is(err, ErrPrecondition):
		return fmt.Errorf("%w: %w", ErrExists, err)
	case o.IfMatch != "" && errors.Is(err, ErrNotFound):
		// S3 answers an If-Match on a missing object with 404; report it
		// as the failed condition it is.
		return fmt.Errorf("%w: object does not exist: %w", ErrPrecondition, err)
	}
	return err
}

func (s *cloudStore) get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Attributes, error) {
	r, err := s.bucket.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, Attributes{}, cloudErr(ctx, err)
	}
	a := Attributes{Size: r.Size(), ModTime: r.ModTime().UTC(), ContentType: r.ContentType()}
	// The ETag of the version being read comes with the response; gocloud
	// exposes it only through As.
	var azr azblobblob.DownloadStreamResponse
	var s3r s3.GetObjectOutput
	switch {
	case r.As(&azr):
		if azr.ETag != nil {
			a.ETag = string(*azr.ETag)
		}
	case r.As(&s3r):
		a.ETag = aws.ToString(s3r.ETag)
	}
	return &cloudReader{r: r, ctx: ctx}, a, nil
}

type cloudReader struct {
	r   *gcblob.Reader
	ctx context.Context
}

func (c *cloudReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = cloudErr(c.ctx, err)
	}
	return n, err
}

func (c *cloudReader) Close() error { return c.r.Close() }

func (s *cloudStore) stat(ctx context.Context, key string) (Attributes, error) {
	ga, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return Attributes{}, cloudErr(ctx, err)
	}
	return Attributes{
		Size:        ga.Size,
		ModTime:     ga.ModTime.UTC(),
		ETag:        ga.ETag,
		ContentType: ga.ContentType,
		Metadata:    ga.Metadata,
	}, nil
}

func (s *cloudStore) list(ctx context.Context, prefix string, fn func(string, int64, time.Time) bool) error {
	it := s.bucket.List(&gcblob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return cloudErr(ctx, err)
		}
		if obj.IsDir {
			continue
		}
		if !fn(obj.Key, obj.Size, obj.ModTime.UTC()) {
			return nil
		}
	}
}

func (s *cloudStore) delete(ctx context.Context, key string) error {
	return cloudErr(ctx, s.bucket.Delete(ctx, key))
}

func (s *cloudStore) close() error { return s.bucket.Close() }
