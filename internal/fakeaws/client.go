package fakeaws

import (
	"bytes"
	"io"
	"net/http"
)

// HTTPClient returns the HTTP client Server.Config gives SDK clients.
//
// Why not the SDK's default: after a response arrives, the SDK closes the
// request body it handed to net/http, while net/http may still be reading
// that body to confirm its end. On loopback, where the emulator answers in
// microseconds, that race is frequent (about one call in fifteen after a
// retried failure): net/http then fails the write, closes the connection,
// and the response body read fails with "use of closed network connection".
// Against AWS the network's latency hides it. This client gives net/http its
// own in-memory copy of each request body, so closing the SDK's copy cannot
// disturb the connection; nothing else about the requests changes.
func HTTPClient() *http.Client {
	return &http.Client{Transport: ownBodyTransport{base: http.DefaultTransport.(*http.Transport).Clone()}}
}

type ownBodyTransport struct{ base http.RoundTripper }

func (t ownBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.base.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r2.ContentLength = int64(len(b))
	return t.base.RoundTrip(r2)
}
