package metrics

import (
	"context"
	"sync"
	"time"
)

// Names of the client-side figures, the same on every target.
const (
	Throughput  = "throughput"   // completed requests per second over the tick
	ErrorRate   = "error_rate"   // fraction of requests that failed over the tick
	InFlight    = "in_flight"    // requests sent and not yet answered at the end of the tick
	LatencyP50  = "latency_p50"  // seconds, from the intended send time
	LatencyP90  = "latency_p90"  // seconds
	LatencyP95  = "latency_p95"  // seconds
	LatencyP99  = "latency_p99"  // seconds
	LatencyP999 = "latency_p999" // seconds
	LatencyMax  = "latency_max"  // seconds
	LatencyMean = "latency_mean" // seconds
	// CheckFailureRate is the fraction of the requests' checks that failed over the tick.
	CheckFailureRate = "check_failure_rate"
)

// ClientFigures are what a target's generator measured over one tick.
// Latencies are in seconds.
type ClientFigures struct {
	Throughput, ErrorRate, InFlight float64
	P50, P90, P95, P99, P999, Max   float64
	Mean                            float64
	Requests                        int // completed in the tick; 0 means no latency figures
	// CheckFailureRate is reported when the plan's requests have checks
	// (HasChecks), so runs without them keep no such series.
	CheckFailureRate float64
	HasChecks        bool
}

// ClientSource is the generators' side of a target as a Source: the
// engine calls Update once per tick, the Collector reads it like any other
// source. Latency figures are stale when no request completed in the tick;
// all figures are stale when Update has not been called for MaxAge.
type ClientSource struct {
	// MaxAge is how old the last figures may be; default three seconds.
	MaxAge time.Duration

	mu  sync.Mutex
	f   ClientFigures
	at  time.Time
	set bool
}

// NewClientSource returns an empty client source.
func NewClientSource() *ClientSource { return &ClientSource{} }

// Update stores the figures of the tick that ended at at.
func (c *ClientSource) Update(at time.Time, f ClientFigures) {
	c.mu.Lock()
	c.f, c.at, c.set = f, at, true
	c.mu.Unlock()
}

// Read implements Source.
func (c *ClientSource) Read(_ context.Context, now time.Time) (map[string]Sample, error) {
	c.mu.Lock()
	f, at, set := c.f, c.at, c.set
	c.mu.Unlock()
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = 3 * time.Second
	}
	reason := ""
	switch {
	case !set:
		reason = "no figures from the generator yet"
	case now.Sub(at) > maxAge:
		reason = "generator figures are " + now.Sub(at).Round(time.Millisecond).String() + " old"
	}
	out := make(map[string]Sample, 10)
	put := func(name string, v float64, stale bool, why string) {
		if reason != "" {
			stale, why = true, reason
		}
		out[name] = Sample{Value: v, At: at, Stale: stale, Reason: why}
	}
	put(Throughput, f.Throughput, false, "")
	put(ErrorRate, f.ErrorRate, f.Requests == 0, "no request completed this tick")
	if f.HasChecks {
		put(CheckFailureRate, f.CheckFailureRate, f.Requests == 0, "no request completed this tick")
	}
	put(InFlight, f.InFlight, false, "")
	noLat := f.Requests == 0
	for _, l := range []struct {
		n string
		v float64
	}{{LatencyP50, f.P50}, {LatencyP90, f.P90}, {LatencyP95, f.P95}, {LatencyP99, f.P99}, {LatencyP999, f.P999}, {LatencyMax, f.Max}, {LatencyMean, f.Mean}} {
		put(l.n, l.v, noLat, "no request completed this tick")
	}
	return out, nil
}
