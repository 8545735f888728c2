// Package server is `reflex serve`: the HTTP intake, health and readiness,
// Prometheus metrics, an optional SQS consumer, and a graceful shutdown that
// stops receiving, lets in-flight work finish (or leaves it journaled) and
// loses nothing.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reflexsec/reflex/intake"
)

// Server is reflex serve.
type Server struct {
	Proc    *intake.Processor
	Auth    *intake.Auth
	Metrics *Metrics
	Log     *slog.Logger
	// SQS, when set, is consumed as well.
	SQS *intake.SQS
	// Drain is how long shutdown waits for in-flight work (default 25s,
	// within a SIGTERM grace period of 30s).
	Drain time.Duration
	// ResumeEvery finishes decisions left running or approved (default 1m).
	ResumeEvery time.Duration

	ready atomic.Bool
}

// Handler returns the HTTP routes: POST /events (the intake), GET /healthz
// (unauthenticated liveness), GET /readyz and GET /metrics (authenticated).
func (s *Server) Handler(execCtx context.Context) http.Handler {
	mux := http.NewServeMux()
	in := &intake.HTTP{Proc: s.Proc, Auth: s.Auth, ExecCtx: execCtx}
	mux.Handle("/events", in)
	mux.Handle("/", in) // API destinations post to the endpoint as configured
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", s.authed(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			intake.Error(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ready\n"))
	})))
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.authed(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})))
	}
	return mux
}

func (s *Server) authed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Auth.Check(r, nil); err != nil {
			intake.Error(w, http.StatusUnauthorized, "missing or wrong API key")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Serve runs until ctx ends (SIGTERM), then shuts down gracefully: stop
// receiving (HTTP listener closed, SQS polling stopped), wait up to Drain
// for requests and executions in flight, then cancel what remains — its
// steps stay journaled as started and are resumed at the next start; its
// SQS messages, not deleted, come back.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	drain := s.Drain
	if drain <= 0 {
		drain = 25 * time.Second
	}
	every := s.ResumeEvery
	if every <= 0 {
		every = time.Minute
	}
	execCtx, cancelExec := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelExec()

	if err := s.Proc.Resume(execCtx); err != nil {
		log.Error("resume at start failed", "error", err.Error())
	}
	hs := &http.Server{Handler: s.Handler(execCtx), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	// Ready before the first request can be answered: start-up (the resume
	// above) is done, and a /readyz that reaches the handler must not see
	// the flag still false (it did under load: a flaky test).
	s.ready.Store(true)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if s.SQS != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.SQS.Run(ctx, execCtx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.Proc.Resume(execCtx); err != nil {
					log.Error("resume failed", "error", err.Error())
				}
			}
		}
	}()
	log.Info("serving", "addr", ln.Addr().String(), "sqs", s.SQS != nil)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.ready.Store(false)
	log.Info("shutting down: no new input; finishing work in flight", "drain", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	_ = hs.Shutdown(sctx) // waits for requests in flight (each 202 follows its ledger write)
	done := make(chan struct{})
	go func() {
		wg.Wait() // the SQS consumer returns once its messages in hand are handled
		_ = s.Proc.Drain(sctx)
		close(done)
	}()
	select {
	case <-done:
		log.Info("shutdown complete: nothing in flight")
	case <-sctx.Done():
		log.Warn("drain deadline: cancelling executions in flight; their steps are journaled and resume at the next start")
		cancelExec()
		<-done
	}
	return err
}
