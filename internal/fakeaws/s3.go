package fakeaws

import (
	"encoding/xml"
	"net"
	"strings"
	"time"
)

// S3 (REST-XML). Buckets have a global namespace and an owning account;
// another account's bucket answers AccessDenied, a missing one NoSuchBucket.
// Both path-style (/bucket?publicAccessBlock) and virtual-host style
// (bucket.localhost:port) addressing work; the SDK uses path style against
// an IP endpoint.

type bucket struct {
	Name, Owner, Region string
	Created             time.Time
	PAB                 *publicAccessBlock
}

type publicAccessBlock struct {
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

type s3Response struct {
	status int
	body   string
}

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

func s3Service() *service {
	return &service{name: "s3", proto: protoRestXML, s3: s3Dispatch,
		throttleErr: &apiError{status: 503, code: "SlowDown", msg: "Please reduce your request rate."}}
}

// decodeS3 sets the operation and the Bucket label.
func (r *request) decodeS3() *apiError {
	hr := r.http
	bucketName, rest := "", strings.TrimPrefix(hr.URL.Path, "/")
	host := hr.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) == nil && strings.Count(host, ".") >= 1 && !strings.HasPrefix(host, "s3.") {
		bucketName = host[:strings.IndexByte(host, '.')]
	} else {
		bucketName, rest, _ = strings.Cut(rest, "/")
	}
	q := hr.URL.Query()
	if bucketName != "" {
		r.labels["Bucket"] = bucketName
	}
	_, pab := q["publicAccessBlock"]
	switch {
	case bucketName == "" && hr.Method == "GET":
		r.op = "ListBuckets"
	case rest == "" && pab && hr.Method == "GET":
		r.op = "GetPublicAccessBlock"
	case rest == "" && pab && hr.Method == "PUT":
		r.op = "PutPublicAccessBlock"
	case rest == "" && pab && hr.Method == "DELETE":
		r.op = "DeletePublicAccessBlock"
	case rest == "" && len(q) == 0 && hr.Method == "HEAD":
		r.op = "HeadBucket"
	default:
		return newErr(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented")
	}
	return nil
}

func s3Dispatch(r *request) (*s3Response, error) {
	if r.op == "ListBuckets" {
		var x xw
		x.b.WriteString(`<ListAllMyBucketsResult xmlns="` + s3NS + `">`)
		x.open("Owner").el("ID", r.acct.id).close("Owner").open("Buckets")
		for _, n := range sortedKeys(r.c.buckets) {
			if b := r.c.buckets[n]; b.Owner == r.acct.id {
				x.open("Bucket").el("Name", b.Name).time("CreationDate", b.Created).el("BucketRegion", b.Region).close("Bucket")
			}
		}
		x.close("Buckets").close("ListAllMyBucketsResult")
		return &s3Response{status: 200, body: x.String()}, nil
	}
	name := r.labels["Bucket"]
	b := r.c.buckets[name]
	if b == nil {
		return nil, notFound("NoSuchBucket", "The specified bucket does not exist")
	}
	if b.Owner != r.acct.id {
		return nil, newErr(403, "AccessDenied", "Access Denied")
	}
	switch r.op {
	case "HeadBucket":
		return &s3Response{status: 200}, nil
	case "GetPublicAccessBlock":
		if b.PAB == nil {
			return nil, notFound("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
		}
		var x xw
		x.b.WriteString(`<PublicAccessBlockConfiguration xmlns="` + s3NS + `">`)
		x.bool("BlockPublicAcls", b.PAB.BlockPublicAcls).bool("IgnorePublicAcls", b.PAB.IgnorePublicAcls).
			bool("BlockPublicPolicy", b.PAB.BlockPublicPolicy).bool("RestrictPublicBuckets", b.PAB.RestrictPublicBuckets).
			close("PublicAccessBlockConfiguration")
		return &s3Response{status: 200, body: x.String()}, nil
	case "PutPublicAccessBlock":
		var cfg publicAccessBlock
		if err := xml.Unmarshal(r.body, &cfg); err != nil {
			return nil, badRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		b.PAB = &cfg
		return &s3Response{status: 200}, nil
	case "DeletePublicAccessBlock":
		b.PAB = nil
		return &s3Response{status: 204}, nil
	}
	return nil, newErr(501, "NotImplemented", "not implemented")
}
