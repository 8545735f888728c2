package intake_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

func newLoopback(t testing.TB, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func post(t testing.TB, s *httptest.Server, body []byte) int {
	req, _ := http.NewRequest("POST", s.URL+"/events", bytes.NewReader(body))
	req.Header.Set("X-Api-Key", testKey)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
