package fakeaws

import "strings"

// Stored configuration: S3 objects (GetObject, PutObject) and SSM
// parameters (GetParameter, PutParameter), enough for reflex to read its
// configuration from s3://BUCKET/KEY or ssm:NAME.

// ext is the state of the services of this file.
type ext struct {
	objects map[string][]byte        // "bucket/key"
	params  map[string]*ssmParameter // "account|region|name"
}

type ssmParameter struct {
	Type, Value string
	Version     int64
}

// decodeS3Object reads an object operation (a key after the bucket).
func (r *request) decodeS3Object(bucketName, key string) bool {
	q := r.http.URL.Query()
	q.Del("x-id") // the SDK names the operation
	if bucketName == "" || key == "" || len(q) > 0 {
		return false
	}
	switch r.http.Method {
	case "GET":
		r.op = "GetObject"
	case "PUT":
		r.op = "PutObject"
	default:
		return false
	}
	r.labels["Key"] = key
	return true
}

// s3Object serves an object operation on b (the caller owns it).
func s3Object(r *request, b *bucket) (*s3Response, bool, error) {
	key := b.Name + "/" + r.labels["Key"]
	switch r.op {
	case "GetObject":
		data, ok := r.c.ext.objects[key]
		if !ok {
			return nil, true, notFound("NoSuchKey", "The specified key does not exist.")
		}
		return &s3Response{status: 200, body: string(data), object: true}, true, nil
	case "PutObject":
		if r.c.ext.objects == nil {
			r.c.ext.objects = map[string][]byte{}
		}
		r.c.ext.objects[key] = append([]byte(nil), r.body...)
		return &s3Response{status: 200}, true, nil
	}
	return nil, false, nil
}

func ssmService() *service {
	s := &service{name: "ssm", proto: protoJSON, target: "AmazonSSM", jsonVersion: "1.1", errNS: "",
		throttleErr: &apiError{status: 400, code: "ThrottlingException", msg: "Rate exceeded"}}
	s.json = map[string]jsonHandler{
		"GetParameter": ssmGetParameter,
		"PutParameter": ssmPutParameter,
	}
	return s
}

func (r *request) paramKey(name string) string {
	return r.acct.id + "|" + r.region + "|" + strings.TrimPrefix(name, "/")
}

func ssmPutParameter(r *request) (any, error) {
	name, value := jstr(r.in, "Name"), jstr(r.in, "Value")
	typ := jstr(r.in, "Type")
	if typ == "" {
		typ = "String"
	}
	if name == "" || value == "" {
		return nil, badRequest("ValidationException", "Name and Value are required")
	}
	if r.c.ext.params == nil {
		r.c.ext.params = map[string]*ssmParameter{}
	}
	k := r.paramKey(name)
	p := r.c.ext.params[k]
	if p != nil && r.in["Overwrite"] != true {
		return nil, badRequest("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	if p == nil {
		p = &ssmParameter{}
		r.c.ext.params[k] = p
	}
	p.Type, p.Value = typ, value
	p.Version++
	return map[string]any{"Version": p.Version, "Tier": "Standard"}, nil
}

func ssmGetParameter(r *request) (any, error) {
	name := jstr(r.in, "Name")
	p := r.c.ext.params[r.paramKey(name)]
	if p == nil {
		return nil, badRequest("ParameterNotFound", "Parameter %s not found.", name)
	}
	value := p.Value
	if p.Type == "SecureString" && r.in["WithDecryption"] != true {
		value = "kms:encrypted:" + value // opaque without decryption, as in AWS
	}
	return map[string]any{"Parameter": map[string]any{"Name": name, "Type": p.Type, "Value": value, "Version": p.Version,
		"ARN": "arn:aws:ssm:" + r.region + ":" + r.acct.id + ":parameter/" + strings.TrimPrefix(name, "/")}}, nil
}
