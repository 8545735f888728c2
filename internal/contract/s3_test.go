package contract

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	docGetPAB    = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html"
	docPutPAB    = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html"
	docDeletePAB = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeletePublicAccessBlock.html"
	docS3Errors  = "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList"
)

func s3Checks() []check {
	return []check{
		{name: "s3/GetPublicAccessBlock of a bucket without one fails NoSuchPublicAccessBlockConfiguration", doc: docGetPAB, run: func(t *testing.T, e *env) {
			b := bucketName("nopab")
			e.fix.bucket(t, b)
			_, err := s3Client(e.cfg).GetPublicAccessBlock(t.Context(), &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
			wantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
		}},
		{name: "s3/PutPublicAccessBlock stores each of the four settings", doc: docPutPAB, run: func(t *testing.T, e *env) {
			c := s3Client(e.cfg)
			for _, want := range []s3types.PublicAccessBlockConfiguration{
				{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
				{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(false), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(false)},
				{BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(true)},
			} {
				b := bucketName("pab")
				e.fix.bucket(t, b)
				_, err := c.PutPublicAccessBlock(t.Context(), &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: &want})
				must(t, "PutPublicAccessBlock", err)
				out, err := c.GetPublicAccessBlock(t.Context(), &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
				must(t, "GetPublicAccessBlock", err)
				if got := pabString(out.PublicAccessBlockConfiguration); got != pabString(&want) {
					t.Errorf("GetPublicAccessBlock = %s, want %s", got, pabString(&want))
				}
			}
		}},
		{name: "s3/DeletePublicAccessBlock removes the configuration", doc: docDeletePAB, run: func(t *testing.T, e *env) {
			c := s3Client(e.cfg)
			b := bucketName("delpab")
			e.fix.bucket(t, b)
			_, err := c.PutPublicAccessBlock(t.Context(), &s3.PutPublicAccessBlockInput{Bucket: aws.String(b),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true)}})
			must(t, "PutPublicAccessBlock", err)
			_, err = c.DeletePublicAccessBlock(t.Context(), &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)})
			must(t, "DeletePublicAccessBlock", err)
			_, err = c.GetPublicAccessBlock(t.Context(), &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
			wantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
		}},
		{name: "s3/PutPublicAccessBlock on a missing bucket fails NoSuchBucket", doc: docS3Errors, run: func(t *testing.T, e *env) {
			_, err := s3Client(e.cfg).PutPublicAccessBlock(t.Context(), &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucketName("missing")),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true)}})
			wantCode(t, err, "NoSuchBucket")
		}},
	}
}

// bucketName is a unique, valid bucket name.
func bucketName(prefix string) string { return "reflex-contract-" + unique(prefix) }

func pabString(c *s3types.PublicAccessBlockConfiguration) string {
	if c == nil {
		return "<nil>"
	}
	b := func(p *bool) string {
		if p == nil {
			return "unset"
		}
		if *p {
			return "true"
		}
		return "false"
	}
	return "BlockPublicAcls=" + b(c.BlockPublicAcls) + " IgnorePublicAcls=" + b(c.IgnorePublicAcls) +
		" BlockPublicPolicy=" + b(c.BlockPublicPolicy) + " RestrictPublicBuckets=" + b(c.RestrictPublicBuckets)
}
