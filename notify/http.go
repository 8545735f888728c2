package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTP posts notification payloads and classifies failures: 429 and 5xx
// (but 501 and 505) and network errors are retryable, with the receiver's
// Retry-After; any other non-2xx status is final. Errors never carry the
// request URL: webhook URLs are secrets.
type HTTP struct {
	Client    *http.Client     // http.DefaultClient-like when nil (30s timeout)
	Now       func() time.Time // for Retry-After dates; time.Now when nil
	UserAgent string
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// maxResponse bounds how much of a response body is read.
const maxResponse = 64 << 10

// Response is a successful response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Post sends body to target with the given headers. channel names the
// channel in errors.
func (h *HTTP) Post(ctx context.Context, channel, target string, header http.Header, body []byte) (*Response, error) {
	c := defaultClient
	if h != nil && h.Client != nil {
		c = h.Client
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		// the error would quote the URL
		return nil, &DeliveryError{Channel: channel, Err: errors.New("the configured URL is not valid")}
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return nil, &DeliveryError{Channel: channel, Err: errors.New("the configured URL is not an http(s) URL")}
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	ua := "reflex"
	if h != nil && h.UserAgent != "" {
		ua = h.UserAgent
	}
	req.Header.Set("User-Agent", ua)
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &DeliveryError{Channel: channel, Err: ctx.Err()}
		}
		return nil, &DeliveryError{Channel: channel, Retryable: true, Err: scrub(err, target)}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
	now := h.Time
	de := &DeliveryError{Channel: channel, Status: resp.StatusCode, Err: errors.New(Snippet(data))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		de.Retryable = true
		de.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now())
	case resp.StatusCode == http.StatusRequestTimeout:
		de.Retryable = true
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusHTTPVersionNotSupported:
		de.Retryable = true
		de.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now())
	}
	return nil, de
}

// Time returns the current time of h's clock.
func (h *HTTP) Time() time.Time {
	if h != nil && h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
// It returns 0 when the header is absent or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 24*3600 {
			n = 24 * 3600
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Snippet is a short, single-line, printable excerpt of a response body for
// an error message.
func Snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(empty response)"
	}
	return truncate(s, 200)
}

// scrub removes the URL (a secret) from a transport error.
func scrub(err error, target string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if target != "" {
		msg = strings.ReplaceAll(msg, target, "[url]")
	}
	if u, perr := url.Parse(target); perr == nil {
		if u.RawQuery != "" {
			msg = strings.ReplaceAll(msg, u.RawQuery, "[redacted]")
		}
		if u.Path != "" && u.Path != "/" {
			msg = strings.ReplaceAll(msg, u.Path, "[redacted]")
		}
		if u.User != nil {
			msg = strings.ReplaceAll(msg, u.User.String(), "[redacted]")
		}
	}
	return fmt.Errorf("request failed: %s", msg)
}
