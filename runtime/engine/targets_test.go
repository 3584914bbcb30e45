package engine

import (
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
)

// Two targets, three times as many requests to one as to the other: every
// tick's per-target figures add up to the tick's, and split 3:1.
func TestTickStatsPerTarget(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 50000, Workers: 16, Cost: time.Microsecond})
	p := &lang.Plan{Name: "two", Settings: lang.Settings{Tick: 250 * time.Millisecond, Seed: 1},
		Targets: []*lang.Target{{Name: "a", URL: tb.URL, Timeout: 5 * time.Second, KeepAlive: true},
			{Name: "b", URL: tb.URL, Timeout: 5 * time.Second, KeepAlive: true}},
		Requests: []*lang.Request{{Name: "ra", Target: "a", Path: "/", Weight: 3}, {Name: "rb", Target: "b", Path: "/", Weight: 1}},
		Phases:   []*lang.Phase{{Name: "main", Duration: 1500 * time.Millisecond, Rate: stdlib.Constant(200)}}}
	var a, b, all int64
	s := mustRun(t, p, Options{OnTick: []func(*TickStats){func(ts *TickStats) {
		ta, tb := ts.Targets["a"], ts.Targets["b"]
		if ta.Requests+tb.Requests != ts.Requests || ta.Errors+tb.Errors != ts.Errors {
			t.Errorf("tick %d: targets %d+%d requests, tick %d", ts.Tick, ta.Requests, tb.Requests, ts.Requests)
		}
		if ta.Requests > 0 && (ta.Latency.P99 <= 0 || ta.Throughput <= 0) {
			t.Errorf("tick %d: target a without figures: %+v", ts.Tick, ta)
		}
		a, b, all = a+ta.Requests, b+tb.Requests, all+ts.Requests
	}}})
	if all != s.Overall.Requests || b == 0 || float64(a)/float64(b) < 2.4 || float64(a)/float64(b) > 3.6 {
		t.Errorf("a %d, b %d (want about 3:1), ticks %d, run %d", a, b, all, s.Overall.Requests)
	}
}
