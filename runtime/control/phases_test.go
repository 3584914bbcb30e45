package control

import (
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/stdlib"
)

// A shaper block named by two phases is the same shaper in both, so what
// it learnt in the ramp (the load-response line) still holds in the hold;
// another block stays its own shaper.
func TestShaperKeptAcrossPhases(t *testing.T) {
	plan := &lang.Plan{
		Name:      "phases",
		Settings:  lang.Settings{Tick: time.Second},
		Targets:   []*lang.Target{{Name: "tb", URL: "http://127.0.0.1:1", Timeout: time.Second}},
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: 0.8}}}},
		Requests:  []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/", Weight: 1, Priority: "normal"}},
		Shapers: []*lang.Shaper{{Name: "guard", Strategy: "predictive_rate_limit", Envelope: "safe"},
			{Name: "other", Strategy: "predictive_rate_limit", Envelope: "safe"}},
		Phases: []*lang.Phase{
			{Name: "ramp", Duration: 5 * time.Second, Rate: stdlib.Ramp{From: 10, To: 100}, Shapers: []string{"guard"}},
			{Name: "hold", Duration: 5 * time.Second, Rate: stdlib.Constant(100), Shapers: []string{"guard", "other"}},
		},
	}
	loop, err := New(plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	if len(loop.links) != 2 || len(loop.links[0]) != 1 || len(loop.links[1]) != 2 {
		t.Fatalf("links per phase: %v", loop.links)
	}
	if loop.links[0][0].Shaper != loop.links[1][0].Shaper {
		t.Error("the hold phase's guard is a new shaper: what the ramp learnt is lost")
	}
	if loop.links[1][1].Shaper == loop.links[1][0].Shaper {
		t.Error("two shaper blocks share one shaper")
	}
}
