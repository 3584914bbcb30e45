package shapers

import (
	"testing"
	"time"
)

// BenchmarkChainTick is one control tick of a five-shaper chain with a
// Starlark rule (the target is under 1 ms per tick).
func BenchmarkChainTick(b *testing.B) {
	env := Limits{"cpu": 0.8, "latency_p99": 0.25}
	reqs := []RequestClass{{Name: "browse", Priority: "low", Weight: 8}, {Name: "buy", Priority: "critical", Weight: 2}}
	var links []Link
	for _, name := range benchStrategies {
		sh, err := New(Config{Name: name, Strategy: name, Envelope: env, Requests: reqs, Tick: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		links = append(links, Link{Name: name, Strategy: name, Shaper: sh})
	}
	sc, err := New(Config{Name: "custom", Script: "rules/bench.star", Envelope: env, Requests: reqs, Source: []byte(`
def shape(ctx):
    s = ctx.series("cpu", "1m")
    m = max(s) if s else 0.0
    if m > ctx.envelope.cpu:
        return decision(rate = ctx.rate * 0.8, reason = "cpu %.2f" % m)
    return decision(rate = ctx.rate)

def prioritize(req, ctx):
    if req.priority == "low" and ctx.metrics.cpu > 0.9 * ctx.envelope.cpu:
        return 0.2
    return None
`)})
	if err != nil {
		b.Fatal(err)
	}
	links = append(links, Link{Name: "custom", Strategy: "script", Shaper: sc})
	if len(links) != 5 {
		b.Fatalf("%d shapers", len(links))
	}
	c := NewChain(links, ChainOptions{Requests: reqs})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cpu := 0.5 + 0.4*float64(i%60)/60
		s := &Snapshot{
			Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env,
			Phase:       PhaseInfo{Name: "ramp", Elapsed: time.Duration(i%300) * time.Second, Duration: 5 * time.Minute, PlannedRate: 1000},
			Metrics:     map[string]Metric{"cpu": {Value: cpu, Age: 2 * time.Second}, "latency_p99": {Value: 0.1}},
			Predictions: map[string]Prediction{"cpu": {Metric: "cpu", Value: cpu, Lower: cpu - 0.05, Upper: cpu + 0.05, Horizon: 30 * time.Second}},
		}
		c.Run(s, Instruction{Rate: 1000, Mix: map[string]float64{"browse": 8, "buy": 2}})
	}
}
