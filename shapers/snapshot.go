package shapers

import (
	"math"
	"sort"
	"time"
)

// Metric is one live reading of a metric.
type Metric struct {
	Value float64
	// Age is how old the reading is when the tick starts: a Prometheus
	// rate() over 5s scraped every second describes load of a few seconds ago.
	Age time.Duration
	// Stale is set by the metrics source when the reading is older than it
	// should be (the source missed its interval); shapers must not trust it
	// for a decrease-free decision.
	Stale bool
	// Window is the span of load one reading averages over, when the source
	// knows it (the range of a PromQL rate(...[5s])); 0 = an instant reading.
	// With Age it is the first guess of the lag between rate and metric.
	Window time.Duration
}

// Prediction is a predictor's forecast of one metric.
type Prediction struct {
	Metric  string
	Model   string
	Horizon time.Duration
	Value   float64 // point forecast at Horizon
	Lower   float64 // lower bound of the prediction band
	Upper   float64 // upper bound of the prediction band
}

// Anomaly is a predictor's flag that a metric left its predicted band.
type Anomaly struct {
	Metric string
	Kind   string // e.g. "band", "level_shift"
	Score  float64
	Since  time.Duration // run time of the first anomalous reading
}

// ChaosPlan is one chaos block of the phase, as planned.
type ChaosPlan struct {
	Kind           string // spike | abort | slow_client | fault_header
	At             time.Duration
	Duration       time.Duration
	Factor         float64
	Fraction       float64
	Headers        map[string]string
	WithinEnvelope bool
}

// PhaseInfo is what a shaper knows about the current phase.
type PhaseInfo struct {
	Name        string
	Elapsed     time.Duration
	Duration    time.Duration
	PlannedRate float64 // the plan's rate at Elapsed, before any shaper
	MaxRate     float64 // hard limit of the phase; 0 = none
	Warmup      bool
	Chaos       []ChaosPlan
	// Planned returns the plan's rate at another elapsed time of the phase,
	// so a shaper can say when a limit would be reached. Nil means the rate
	// is PlannedRate throughout.
	Planned func(elapsed time.Duration) float64
}

// PlannedAt is the planned rate at elapsed, using Planned when set.
func (p PhaseInfo) PlannedAt(elapsed time.Duration) float64 {
	if p.Planned == nil {
		return p.PlannedRate
	}
	return p.Planned(elapsed)
}

// Limits are an envelope's upper limits by metric name, in the metric's
// base unit (a fraction for cpu, seconds for latency, bytes for memory).
type Limits map[string]float64

// Names returns the metric names, sorted, so decisions are deterministic.
func (l Limits) Names() []string {
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Point is one sample of a series.
type Point struct {
	At    time.Duration // run time
	Value float64
}

// Snapshot is everything a shaper may decide from in one tick. The runtime
// builds it; the chain adds what it remembers itself (Sent, Previous, and a
// short in-memory history used when no History is wired).
type Snapshot struct {
	Tick     int
	Now      time.Duration // run time at the start of the tick
	Interval time.Duration // the control tick; default 1s
	Phase    PhaseInfo
	MaxRate  float64 // plan-wide hard limit; 0 = none

	// Metrics are the live readings of the (single or first) target, by metric name.
	Metrics map[string]Metric
	// Targets are the live readings per target (one generator per target),
	// for shapers that distribute rate; nil with one target.
	Targets map[string]map[string]Metric
	// Predictions are the predictors' forecasts, by metric name.
	Predictions map[string]Prediction
	// Anomalies flagged by the predictors this tick.
	Anomalies []Anomaly
	// Envelope is the plan's envelope (the first one) for shapers without their own.
	Envelope Limits
	// Intents are the plan's intent blocks, times as run-time offsets (the
	// clock of Now). Shapers look ahead with those still to come (At > Now):
	// a deployment multiplies its metric's predicted value after At, a
	// growth the planned rate after At. Growth already in force is part of
	// the planned rate (PlannedRate and Planned): runs and dry-runs both
	// multiply the planned load by it.
	Intents []Intent

	// Previous are the decisions of the previous tick, in chain order.
	Previous []Decision
	// Sent is the effective rate handed to the generators at each past tick
	// (rate less shed share), oldest first, one entry per tick.
	Sent []float64

	// History reads a metric's samples over the last window from the
	// history store. Nil falls back to what the chain saw this run.
	History func(name string, window time.Duration) []Point

	recent func(name string, window time.Duration) []Point
}

// interval returns the tick length, defaulting to one second.
func (s *Snapshot) interval() time.Duration {
	if s.Interval <= 0 {
		return time.Second
	}
	return s.Interval
}

// Series returns a metric's samples over the last window, oldest first:
// from History when wired, else from the readings the chain has seen this
// run. The name "rate" is the effective rate sent.
func (s *Snapshot) Series(name string, window time.Duration) []Point {
	if s.History != nil {
		return s.History(name, window)
	}
	if s.recent != nil {
		return s.recent(name, window)
	}
	return nil
}

// Value returns the live value of a metric and whether it is present and fresh.
func (s *Snapshot) Value(name string) (float64, bool) {
	m, ok := s.Metrics[name]
	if !ok || m.Stale || math.IsNaN(m.Value) {
		return 0, false
	}
	return m.Value, true
}

// LastSent is the effective rate of the previous tick, or def when there is none.
func (s *Snapshot) LastSent(def float64) float64 {
	if len(s.Sent) == 0 {
		return def
	}
	return s.Sent[len(s.Sent)-1]
}

// Pressure is the largest ratio value/limit over the envelope's metrics
// that have a fresh reading, and the metric that has it. 1 means at the
// limit. Zero and "" when nothing is known.
func (s *Snapshot) Pressure(env Limits) (float64, string) {
	best, name := 0.0, ""
	for _, m := range env.Names() {
		lim := env[m]
		v, ok := s.Value(m)
		if !ok || lim <= 0 {
			continue
		}
		if r := v / lim; r > best {
			best, name = r, m
		}
	}
	return best, name
}

// PredictedPressure is like Pressure on the upper bound of the predictions
// (falling back to the live value for metrics without a prediction).
func (s *Snapshot) PredictedPressure(env Limits) (float64, string) {
	best, name := 0.0, ""
	for _, m := range env.Names() {
		lim := env[m]
		if lim <= 0 {
			continue
		}
		v, ok := 0.0, false
		if p, has := s.Predictions[m]; has && !math.IsNaN(p.Upper) {
			v, ok = p.Upper, true
		} else {
			v, ok = s.Value(m)
		}
		if !ok {
			continue
		}
		if r := v / lim; r > best {
			best, name = r, m
		}
	}
	return best, name
}
