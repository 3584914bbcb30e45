package shapers

import (
	"math"
	"strings"
	"testing"
	"time"
)

func mustNew(t *testing.T, cfg Config) Shaper {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = cfg.Strategy
	}
	sh, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

var mixReqs = []RequestClass{
	{Name: "browse", Priority: "low", Weight: 6},
	{Name: "search", Priority: "normal", Weight: 2},
	{Name: "checkout", Priority: "critical", Weight: 2},
}

func TestPrioritizeTurnsRateCutIntoShedding(t *testing.T) {
	sh := mustNew(t, Config{Strategy: "prioritize", Requests: mixReqs, Envelope: Limits{"cpu": 0.8}})
	s := &Snapshot{Phase: PhaseInfo{PlannedRate: 1000}}
	out, d, err := sh.Shape(s, Instruction{Rate: 600})
	if err != nil {
		t.Fatal(err)
	}
	// 40% must go: two thirds of browse, nothing else.
	if out.Rate != 1000 || math.Abs(out.Shed["low"]-2.0/3) > 1e-9 || out.Shed["critical"] != 0 || out.Shed["normal"] != 0 {
		t.Errorf("out = %+v", out)
	}
	if got := EffectiveRate(out, mixReqs); math.Abs(got-600) > 1e-9 {
		t.Errorf("effective rate %v, want 600", got)
	}
	if math.Abs(d.ShedRate["low"]-400) > 1e-9 || !strings.Contains(d.Reason, "critical kept") {
		t.Errorf("decision = %+v", d)
	}
}

func TestPrioritizeCriticalOnlyOnHardBreach(t *testing.T) {
	sh := mustNew(t, Config{Strategy: "prioritize", Requests: mixReqs, Envelope: Limits{"cpu": 0.8}})
	// 90% cut wanted, cpu over its limit but by less than 10%: low and
	// normal go entirely, critical stays and the rate drops for it.
	s := &Snapshot{Phase: PhaseInfo{PlannedRate: 1000}, Metrics: map[string]Metric{"cpu": {Value: 0.85}}}
	out, _, _ := sh.Shape(s, Instruction{Rate: 100})
	if out.Shed["critical"] != 0 || out.Shed["low"] != 1 || out.Shed["normal"] != 1 {
		t.Fatalf("shed = %v", out.Shed)
	}
	if got := EffectiveRate(out, mixReqs); got > 100*(1-(1-0.8/0.85))+1e-6 {
		t.Errorf("effective %v is more than the cut allows", got)
	}
	// A hard breach (cpu 20% over): critical may be shed too.
	s.Metrics["cpu"] = Metric{Value: 0.96}
	out, d, _ := sh.Shape(s, Instruction{Rate: 100})
	if out.Shed["critical"] <= 0 || d.ShedRate["critical"] <= 0 {
		t.Errorf("hard breach did not shed critical: %v", out.Shed)
	}
	// No pressure at all: nothing changes.
	s.Metrics["cpu"] = Metric{Value: 0.5}
	out, d, _ = sh.Shape(s, Instruction{Rate: 1000})
	if len(out.Shed) != 0 || d.Reason != "" {
		t.Errorf("no pressure: %+v %+v", out, d)
	}
}

func TestPresoakEndsWhenSettledOrAtLimit(t *testing.T) {
	run := func(cpu func(int) float64, maxDur string) (int, Decision) {
		sh := mustNew(t, Config{Strategy: "presoak", Envelope: Limits{"cpu": 0.8}, Params: map[string]any{"window": "20s", "threshold": 0.02, "max_duration": maxDur}})
		c := NewChain([]Link{{Name: "soak", Shaper: sh}}, ChainOptions{})
		for i := 0; i < 600; i++ {
			s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Phase: PhaseInfo{Name: "presoak", Elapsed: time.Duration(i) * time.Second, Duration: 10 * time.Minute},
				Metrics: map[string]Metric{"cpu": {Value: cpu(i)}}}
			out, ds := c.Run(s, Instruction{Rate: 50})
			if out.EndPhase {
				return i, ds[0]
			}
		}
		return -1, Decision{}
	}
	// A cache warming: cpu decays from 0.8 to 0.3 with a 15 s time constant.
	at, d := run(func(i int) float64 { return 0.3 + 0.5*math.Exp(-float64(i)/15) + 0.001*math.Sin(float64(i)) }, "5m")
	if at < 40 || at > 150 || !strings.Contains(d.Finding, "settled") {
		t.Errorf("settled at tick %d: %+v", at, d)
	}
	// Never settles: ends at the time limit.
	at, d = run(func(i int) float64 { return 0.3 + 0.1*math.Sin(float64(i)/3) }, "2m")
	if at != 119 || !strings.Contains(d.Finding, "time limit") {
		t.Errorf("ended at tick %d: %+v", at, d)
	}
}

func TestChaosSpikeWithinEnvelope(t *testing.T) {
	sh := mustNew(t, Config{Strategy: "chaos", Envelope: Limits{"cpu": 0.8}})
	plans := []ChaosPlan{
		{Kind: "spike", At: 10 * time.Second, Duration: 5 * time.Second, Factor: 3, WithinEnvelope: true},
		{Kind: "abort", At: 10 * time.Second, Duration: 5 * time.Second, Fraction: 0.1},
	}
	snap := func(el int, cpu float64) *Snapshot {
		return &Snapshot{Now: time.Duration(100+el) * time.Second, Phase: PhaseInfo{Elapsed: time.Duration(el) * time.Second, Chaos: plans},
			Predictions: map[string]Prediction{"cpu": {Upper: cpu}}}
	}
	out, _, _ := sh.Shape(snap(5, 0.2), Instruction{Rate: 100})
	if out.Rate != 100 || len(out.Chaos) != 0 {
		t.Errorf("before: %+v", out)
	}
	out, _, _ = sh.Shape(snap(11, 0.2), Instruction{Rate: 100})
	if out.Rate != 300 || len(out.Chaos) != 2 || out.Chaos[0].Until != 115*time.Second {
		t.Errorf("in the window with headroom: %+v", out)
	}
	out, d, _ := sh.Shape(snap(11, 0.5), Instruction{Rate: 100})
	if out.Rate != 100 || len(out.Chaos) != 1 || out.Chaos[0].Kind != "abort" || !strings.Contains(d.Reason, "spike withheld") {
		t.Errorf("no headroom for ×3: %+v %+v", out, d)
	}
	// Already applied by the runtime: not applied twice.
	pre := Instruction{Rate: 300, Chaos: []ChaosAction{{Kind: "spike", Factor: 3, Until: 115 * time.Second}}}
	out, _, _ = sh.Shape(snap(11, 0.2), pre)
	if out.Rate != 300 || len(out.Chaos) != 2 {
		t.Errorf("idempotent: %+v", out)
	}
}

func TestDistributeMovesLoadOffTheHotTarget(t *testing.T) {
	sh := mustNew(t, Config{Strategy: "distribute", Envelope: Limits{"cpu": 0.8}, Generators: []string{"a", "b"}, Params: map[string]any{"min_share": 0.2}})
	var out Instruction
	prevA := 0.5
	for i := 0; i < 30; i++ {
		// a runs hot in proportion to its share; b is cool.
		s := &Snapshot{Targets: map[string]map[string]Metric{
			"a": {"cpu": {Value: 0.76 + 0.2*prevA}}, "b": {"cpu": {Value: 0.3}}}}
		out, _, _ = sh.Shape(s, Instruction{Rate: 1000})
		if math.Abs(out.Distribution["a"]-prevA) > 0.05+1e-9 {
			t.Fatalf("tick %d: a moved %v -> %v, more than max_shift", i, prevA, out.Distribution["a"])
		}
		prevA = out.Distribution["a"]
	}
	if a, b := out.Distribution["a"], out.Distribution["b"]; a >= 0.5 || a < 0.2-1e-9 || math.Abs(a+b-1) > 1e-9 {
		t.Errorf("distribution = %v", out.Distribution)
	}
	if _, err := New(Config{Name: "d", Strategy: "distribute", Generators: []string{"a", "b", "c"}, Params: map[string]any{"min_share": 0.5}}); err == nil {
		t.Error("impossible bounds accepted")
	}
}

func TestCapacitySearchFindsSustainableRate(t *testing.T) {
	p := newPlant()
	r := simulate(t, "capacity_search", nil, p, 240, func(int) float64 { return 50 })
	// (0.8 − 0.05) × 1000 = 750 rps is the true limit.
	if r.worst > 0.85 {
		t.Errorf("worst cpu %.3f while searching", r.worst)
	}
	sh := mustNew(t, Config{Strategy: "capacity_search", Envelope: Limits{"cpu": 0.8}})
	c := NewChain([]Link{{Name: "find", Shaper: sh}}, ChainOptions{})
	p = newPlant()
	finding := ""
	for i := 0; i < 240 && finding == ""; i++ {
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Envelope: Limits{"cpu": 0.8}, Phase: PhaseInfo{PlannedRate: 50},
			Metrics: map[string]Metric{"cpu": p.reading(i)}}
		out, ds := c.Run(s, Instruction{Rate: 50})
		p.apply(i, out.Rate)
		finding = ds[0].Finding
		if finding != "" && (out.Rate < 650 || out.Rate > 760) {
			t.Errorf("found %v rps, want about 700-750", out.Rate)
		}
	}
	if !strings.Contains(finding, "sustainable rate") {
		t.Errorf("no finding in 240 s")
	}
	t.Log(finding)
}

func TestInvestigateTellsLoadDrivenFromTransient(t *testing.T) {
	run := func(bump func(tick int, rate float64) float64) string {
		sh := mustNew(t, Config{Strategy: "investigate", Envelope: Limits{"cpu": 0.8}, Params: map[string]any{"hold": "5s", "approach": "10s"}})
		c := NewChain([]Link{{Name: "inv", Shaper: sh}}, ChainOptions{})
		rate := 500.0
		for i := 0; i < 200; i++ {
			cpu := 0.05 + rate/1000 + bump(i, rate) + 0.002*math.Sin(float64(i))
			s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Envelope: Limits{"cpu": 0.8}, Metrics: map[string]Metric{"cpu": {Value: cpu}}}
			out, ds := c.Run(s, Instruction{Rate: 500})
			rate = out.Rate
			if ds[0].Finding != "" {
				return ds[0].Finding
			}
		}
		return ""
	}
	// Per-request cost rises by 40% at tick 60: load-driven.
	got := run(func(i int, rate float64) float64 {
		if i >= 60 {
			return 0.4 * rate / 1000
		}
		return 0
	})
	if !strings.Contains(got, "is load-driven") {
		t.Errorf("cost change: %q", got)
	}
	// Another tenant burns 0.15 cpu for 8 s: not load-driven.
	got = run(func(i int, _ float64) float64 {
		if i >= 60 && i < 68 {
			return 0.15
		}
		return 0
	})
	if !strings.Contains(got, "not load-driven") {
		t.Errorf("transient: %q", got)
	}
}

func TestCostTrades(t *testing.T) {
	sh := mustNew(t, Config{Strategy: "cost", Params: map[string]any{"per_generator_hour": 2.0, "generator_rate": 1000.0, "min_fill": 0.25}})
	out, d, _ := sh.Shape(&Snapshot{}, Instruction{Rate: 2100})
	if out.Rate != 2000 || !strings.Contains(d.Reason, "saves a generator") {
		t.Errorf("min_fill: %v %q", out.Rate, d.Reason)
	}
	out, _, _ = sh.Shape(&Snapshot{}, Instruction{Rate: 2600})
	if out.Rate != 2600 {
		t.Errorf("a well-filled generator was dropped: %v", out.Rate)
	}
	sh = mustNew(t, Config{Strategy: "cost", Params: map[string]any{"per_request": 0.0001, "budget_per_hour": 36.0}})
	out, d, _ = sh.Shape(&Snapshot{}, Instruction{Rate: 500})
	if math.Abs(out.Rate-100) > 1e-9 || !strings.Contains(d.Reason, "budget") {
		t.Errorf("budget: %v %q", out.Rate, d.Reason)
	}
	if _, err := New(Config{Name: "c", Strategy: "cost"}); err == nil {
		t.Error("cost without prices accepted")
	}
}

// Every built-in survives snapshots with missing, stale and NaN readings
// and never returns an unusable instruction.
func TestStrategiesSurviveBadSnapshots(t *testing.T) {
	for _, st := range Strategies() {
		cfg := Config{Name: st.Name, Strategy: st.Name, Envelope: Limits{"cpu": 0.8, "latency_p99": 0.25}, Requests: mixReqs, Generators: []string{"a", "b"}}
		if st.Name == "cost" {
			cfg.Params = map[string]any{"per_request": 0.001}
		}
		sh := mustNew(t, cfg)
		c := NewChain([]Link{{Name: st.Name, Shaper: sh}}, ChainOptions{Requests: mixReqs})
		for i := 0; i < 80; i++ {
			m := map[string]Metric{}
			switch i % 4 {
			case 1:
				m["cpu"] = Metric{Value: math.NaN()}
			case 2:
				m["cpu"] = Metric{Value: 0.9, Stale: true}
				m["latency_p99"] = Metric{Value: 0}
			case 3:
				m["cpu"] = Metric{Value: float64(i%7) / 3}
				m["latency_p99"] = Metric{Value: 5}
			}
			s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Metrics: m,
				Targets: map[string]map[string]Metric{"a": m}, Phase: PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: time.Minute, PlannedRate: 100}}
			out, ds := c.Run(s, Instruction{Rate: 100, Mix: map[string]float64{"browse": 6, "search": 2, "checkout": 2}})
			if ds[0].Fallback {
				t.Errorf("%s tick %d: fell back: %s", st.Name, i, ds[0].Error)
				break
			}
			if math.IsNaN(out.Rate) || out.Rate < 0 {
				t.Errorf("%s tick %d: rate %v", st.Name, i, out.Rate)
				break
			}
		}
	}
}
