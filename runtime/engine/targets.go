package engine

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// TargetStats are one target's client-side figures over a tick: what its
// generator sent (requests are bound to one target each, so a target's
// figures are the sum of its requests').
type TargetStats struct {
	Requests   int64       `json:"requests"`
	Errors     int64       `json:"errors"`
	Throughput float64     `json:"throughput"` // completed requests per second
	ErrorRate  float64     `json:"error_rate"`
	Latency    Percentiles `json:"latency"` // from the intended start time
	InFlight   int64       `json:"in_flight"`
	// CheckFailureRate is the fraction of its requests' checks that failed;
	// nil when the plan has no checks.
	CheckFailureRate *float64 `json:"check_failure_rate,omitempty"`
}

// targetStats splits a tick's aggregate by generator (one per target).
// scratch is reused from tick to tick so the split allocates little.
func (e *engine) targetStats(t *agg, span time.Duration) map[string]TargetStats {
	out := make(map[string]TargetStats, len(e.gens))
	if e.targetHist == nil {
		e.targetHist = newHist()
	}
	h := e.targetHist
	for _, g := range e.gens {
		h.Reset()
		var ts TargetStats
		var passed, failed int64
		g.eachRequest(func(r *compiledRequest) {
			ts.Requests += t.reqCount[r.idx]
			ts.Errors += t.reqErr[r.idx]
			mergeHist(h, t.byReq[r.idx])
			p, f := t.requestChecks(r)
			passed, failed = passed+p, failed+f
		})
		if t.meta != nil && len(t.meta.checks) > 0 {
			v := 1 - passRate(passed, failed)
			ts.CheckFailureRate = &v
		}
		if span > 0 {
			ts.Throughput = float64(ts.Requests) / span.Seconds()
		}
		if ts.Requests > 0 {
			ts.ErrorRate = float64(ts.Errors) / float64(ts.Requests)
		}
		ts.Latency = percentiles(h)
		ts.InFlight = g.inflight.Load()
		out[g.Name] = ts
	}
	return out
}

func mergeHist(dst, src *hdrhistogram.Histogram) {
	if src.TotalCount() > 0 {
		dst.Merge(src)
	}
}
