package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/store"
)

// Metrics are the Prometheus metrics of reflex serve; it is an
// intake.Observer.
type Metrics struct {
	Registry *prometheus.Registry

	received  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	steps     *prometheus.CounterVec
	stepDur   *prometheus.HistogramVec
	budget    *prometheus.CounterVec
	lag       *prometheus.HistogramVec
}

var _ intake.Observer = (*Metrics)(nil)

// NewMetrics registers the metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reflex_findings_received_total",
			Help: "Findings received, by source (http, sqs, lambda, pull)."}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reflex_input_rejected_total",
			Help: "Inputs rejected, by source and reason (invalid, too_large, unauthorized)."}, []string{"source", "reason"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reflex_decisions_total",
			Help: "Decisions by outcome (decision status) and change (new, updated, unchanged, older)."}, []string{"outcome", "change"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reflex_steps_total",
			Help: "Steps ended, by step and status."}, []string{"step", "status"}),
		stepDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reflex_step_duration_seconds",
			Help: "Duration of the last attempt of ended steps.", Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)}, []string{"step"}),
		budget: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reflex_budget_trips_total",
			Help: "Blast-radius budget trips (enforce turned into approve), by account."}, []string{"account"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reflex_queue_lag_seconds",
			Help: "Time from a message's send to its receipt.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"source"}),
	}
	m.Registry.MustRegister(m.received, m.rejected, m.decisions, m.steps, m.stepDur, m.budget, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Received implements intake.Observer.
func (m *Metrics) Received(source string, n int) { m.received.WithLabelValues(source).Add(float64(n)) }

// Rejected implements intake.Observer.
func (m *Metrics) Rejected(source, reason string) { m.rejected.WithLabelValues(source, reason).Inc() }

// Decided implements intake.Observer.
func (m *Metrics) Decided(_ string, p *engine.Plan, c store.Change) {
	m.decisions.WithLabelValues(p.Status, string(c)).Inc()
}

// StepEnded implements intake.Observer.
func (m *Metrics) StepEnded(s *store.Step) {
	m.steps.WithLabelValues(s.Name, s.State).Inc()
	if !s.StartedAt.IsZero() && !s.EndedAt.IsZero() {
		m.stepDur.WithLabelValues(s.Name).Observe(s.EndedAt.Sub(s.StartedAt).Seconds())
	}
}

// BudgetTripped implements intake.Observer.
func (m *Metrics) BudgetTripped(account string) { m.budget.WithLabelValues(account).Inc() }

// QueueLag implements intake.Observer.
func (m *Metrics) QueueLag(source string, d time.Duration) {
	m.lag.WithLabelValues(source).Observe(d.Seconds())
}
