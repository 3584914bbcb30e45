package shapers

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runRule feeds a rule script a series of cpu readings through a chain and
// returns the last tick's instruction and decision.
func runRule(t *testing.T, path string, cpu func(tick int) float64, ticks int) (Instruction, Decision) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := Limits{"cpu": 0.8}
	sh, err := New(Config{Name: "custom", Script: path, Source: src, Envelope: env})
	if err != nil {
		t.Fatal(err)
	}
	c := NewChain([]Link{{Name: "custom", Strategy: "script", Shaper: sh}}, ChainOptions{})
	var out Instruction
	var ds []Decision
	for i := 0; i < ticks; i++ {
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Envelope: env,
			Metrics: map[string]Metric{"cpu": {Value: cpu(i)}}}
		out, ds = c.Run(s, Instruction{Rate: 1000})
	}
	return out, ds[0]
}

// The at-a-glance rule of ARCHITECTURE.md runs as written.
func TestExampleCheckoutRule(t *testing.T) {
	path := filepath.Join("..", "examples", "rules", "checkout.star")
	// cpu climbing 0.005 per second from 0.5: at 60 s it reads 0.8 and Holt
	// forecasts 0.95 thirty seconds on.
	out, d := runRule(t, path, func(i int) float64 { return 0.5 + 0.005*float64(i) }, 60)
	if d.Fallback {
		t.Fatalf("rule failed: %s", d.Error)
	}
	if out.Rate != 800 || !strings.HasPrefix(d.Reason, "cpu forecast 0.9") {
		t.Errorf("rising cpu: rate %v, reason %q", out.Rate, d.Reason)
	}
	// Flat cpu well inside the envelope: the rate passes unchanged.
	out, d = runRule(t, path, func(i int) float64 { return 0.4 + 0.01*float64(i%3) }, 60)
	if d.Fallback || out.Rate != 1000 || d.Reason != "" {
		t.Errorf("flat cpu: rate %v, decision %+v", out.Rate, d)
	}
}

// protect-checkout.star sheds low-priority requests under a forecast
// breach and holds the rate while cpu climbs near the limit.
func TestExampleProtectCheckoutRule(t *testing.T) {
	path := filepath.Join("..", "examples", "rules", "protect-checkout.star")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []RequestClass{{Name: "browse", Priority: "low", Weight: 8}, {Name: "checkout", Priority: "critical", Weight: 2}}
	env := Limits{"cpu": 0.8}
	sh, err := New(Config{Name: "protect", Script: path, Source: src, Envelope: env, Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	c := NewChain([]Link{{Name: "protect", Strategy: "script", Shaper: sh}}, ChainOptions{Requests: reqs})
	var out Instruction
	var ds []Decision
	for i := 0; i < 20; i++ {
		cpu := 0.6 + 0.01*float64(i) // 0.79 at the end
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Envelope: env,
			Metrics:     map[string]Metric{"cpu": {Value: cpu}},
			Predictions: map[string]Prediction{"cpu": {Metric: "cpu", Value: cpu + 0.1, Upper: cpu + 0.12}}}
		out, ds = c.Run(s, Instruction{Rate: 1000 + 10*float64(i), Mix: map[string]float64{"browse": 8, "checkout": 2}})
		if ds[0].Fallback {
			t.Fatalf("tick %d: %s", i, ds[0].Error)
		}
	}
	// Upper 0.91 is 13.75% over 0.8: 55% of browse goes; checkout keeps its weight.
	if out.Mix["checkout"] != 2 || math.Abs(out.Mix["browse"]-8*0.45) > 1e-6 || ds[0].ShedRate["low"] <= 0 {
		t.Errorf("mix %v, shed %v", out.Mix, ds[0].ShedRate)
	}
	if !strings.Contains(ds[0].Reason, "holding at") {
		t.Errorf("reason %q", ds[0].Reason)
	}
}
