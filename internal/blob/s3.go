package blob

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob/s3blob"
)

func openS3(ctx context.Context, loc location, opts Options) (driver, error) {
	q := loc.query
	var s3opts []func(*s3.Options)
	for _, p := range []string{"use_path_style", "s3ForcePathStyle"} {
		if v := q.Get(p); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s=%q is not a boolean", ErrInvalidURL, p, v)
			}
			s3opts = append(s3opts, func(o *s3.Options) { o.UsePathStyle = b })
			q.Del(p)
		}
	}
	if v := q.Get("disable_https"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%w: disable_https=%q is not a boolean", ErrInvalidURL, v)
		}
		s3opts = append(s3opts, func(o *s3.Options) { o.EndpointOptions.DisableHTTPS = b })
		q.Del("disable_https")
	}
	if q.Get("endpoint") != "" {
		// S3-compatible servers mostly reject the checksum trailers the
		// SDK now sends by default; compute checksums only when an
		// operation requires them, unless the URL says otherwise.
		for _, p := range []string{"request_checksum_calculation", "response_checksum_validation"} {
			if !q.Has(p) {
				q.Set(p, "when_required")
			}
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if opts.S3AccessKey != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(opts.S3AccessKey, opts.S3SecretKey, "")
	}
	client := s3.NewFromConfig(cfg, s3opts...)
	if opts.Create {
		in := &s3.CreateBucketInput{Bucket: aws.String(loc.bucket)}
		if cfg.Region != "" && cfg.Region != "us-east-1" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
				LocationConstraint: types.BucketLocationConstraint(cfg.Region),
			}
		}
		if _, err := client.CreateBucket(ctx, in); err != nil {
			var owned *types.BucketAlreadyOwnedByYou
			var exists *types.BucketAlreadyExists
			if !errors.As(err, &owned) && !errors.As(err, &exists) {
				return nil, fmt.Errorf("create bucket %s: %w", loc.bucket, err)
			}
		}
	}
	b, err := s3blob.OpenBucket(ctx, client, loc.bucket, &s3blob.Options{
		RequestChecksumCalculation: cfg.RequestChecksumCalculation,
	})
	if err != nil {
		return nil, err
	}
	return &cloudStore{bucket: b, bufferSize: s3PartSize, concurrency: uploadBuffers}, nil
}
