package shapers

import (
	"math"
	"testing"
	"time"
)

// The demo's collapse: a fresh shaper (a new phase) sees only pairs in a
// narrow band of rates near the limit, with noise (a target sharing its
// cores with the generator). The steep line those pairs give has its
// intercept at or over the limit, and inverting it said "safe rate 0"
// although every reading at ~350 rps was under the limit. The shaper must
// stay near the rates observed to be under the limit.
func TestPredictiveNoCollapseOnNarrowNoisyPairs(t *testing.T) {
	env := Limits{"cpu": 0.8}
	c := predictiveChain(t, env)
	// cpu = rate/500 through a one-tick lag, plus deterministic noise of
	// ±0.06 that is not a function of the rate: the pairs' slope is mostly
	// noise over a band of ±20 rps.
	noise := []float64{0.05, -0.06, 0.04, 0.06, -0.05, 0.02, 0.06, -0.04, -0.06, 0.05, 0.03, -0.02}
	var sent []float64
	minRate, overReadings := math.Inf(1), 0
	for i := 0; i < 40; i++ {
		m := Metric{Value: math.NaN(), Stale: true}
		if i > 0 {
			x := sent[i-1]
			v := x/500 + noise[i%len(noise)]
			if x > 0 && v > env["cpu"] {
				overReadings++
			}
			m = Metric{Value: v}
		}
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env,
			Phase:   PhaseInfo{Name: "hold", Elapsed: time.Duration(i) * time.Second, Duration: 40 * time.Second, PlannedRate: 1000},
			Metrics: map[string]Metric{"cpu": m}}
		// The previous phase left the rate at ~350 rps: the chain's memory
		// carries it, the shaper's does not.
		if i == 0 {
			c.Run(&Snapshot{Tick: 0, Interval: time.Second, Envelope: env, Metrics: map[string]Metric{"cpu": {Value: math.NaN(), Stale: true}}}, Instruction{Rate: 350})
		}
		out, ds := c.Run(s, Instruction{Rate: 1000})
		for _, d := range ds {
			if d.Fallback {
				t.Fatalf("tick %d: fell back: %s", i, d.Error)
			}
		}
		sent = append(sent, out.Rate)
		if testing.Verbose() && i >= 3 && i < 14 {
			t.Logf("tick %d: reading %.3f, rate %.1f: %s", i, m.Value, out.Rate, ds[0].Reason)
		}
		if i >= 5 {
			minRate = math.Min(minRate, out.Rate)
		}
		if i >= 5 && out.Rate < 250 {
			t.Errorf("tick %d: rate %.1f rps (%s), though readings at %.0f–%.0f rps were under 0.8", i, out.Rate, ds[0].Reason, sent[i-3], sent[i-1])
			break
		}
	}
	t.Logf("lowest rate from tick 5: %.1f rps; readings over the limit: %d", minRate, overReadings)
}
