// Package notifytest holds helpers for testing notification channels:
// hostile events and a recording HTTP server with scripted answers.
package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/notify"
)

// Hostile strings an attacker could place in a finding (titles, resource
// names, tags reach GuardDuty from the attacker's own API calls).
const (
	HostileTitle    = "<!channel> *bold* <https://evil.example|click> _it_ ~strike~ `code` [bank](https://evil.example) <script>alert(1)</script> {{DATE(2017-02-14T06:00:00Z)}} @here & &amp;"
	HostileID       = "abc/../../evil?x=<y>&fId=1#frag"
	HostileResource = "i-0abc/../<@U123ABC>|[x](javascript:alert(1))"
)

// Hostile is an event whose every finding-derived string is hostile.
func Hostile(now time.Time) *notify.Event {
	ev := notify.SampleEvent(now)
	ev.Kind = notify.KindDecision
	ev.Rule = "contain <!everyone>"
	ev.Reason = "matched because <@U0ADMIN> said *so* <http://evil.example|here>"
	ev.Finding.ID = HostileID
	ev.Finding.Title = HostileTitle
	ev.Finding.Type = "UnauthorizedAccess:EC2/<!subteam^S123>"
	ev.Finding.Region = "us-east-1/../../evil.example"
	ev.Finding.Account = "<!here>"
	ev.Finding.Resource = notify.Resource{Kind: "ec2-instance", ID: HostileResource, Name: "- [x](http://evil.example)\n1. list"}
	ev.Finding.Sample = false
	ev.Steps[2].Error = "AccessDenied <!channel> ```\n*boom*\n``` <https://evil.example|AWS console>"
	return ev
}

// Request is one request a Server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Answer is a scripted response.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
}

// Server records requests and answers them from a script; once the script
// is used up it answers the last entry (or 200 "ok").
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	script   []Answer
}

// NewServer starts a recording server; it is closed when t ends.
func NewServer(t testing.TB, script ...Answer) *Server {
	s := &Server{script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	a := Answer{Status: 200, Body: "ok"}
	if i := len(s.requests) - 1; i < len(s.script) {
		a = s.script[i]
	} else if len(s.script) > 0 {
		a = s.script[len(s.script)-1]
	}
	s.mu.Unlock()
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if a.Status == 0 {
		a.Status = 200
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
