package shapers

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// The untrained default policy is a proportional rule on where the reading
// is heading: on the lagged plant it ramps up, settles under the envelope
// and serves most of what the envelope allows; a policy that always adds
// (a bad policy) runs over it, so the plant can tell them apart.
func TestLearnedDefaultPolicyOnPlant(t *testing.T) {
	r := simulate(t, "learned", nil, newPlant(), 200, ramp(10, 1500, 60))
	if r.secondsOver > 5 || r.served < 0.6*200*750 {
		t.Errorf("default policy: %d s over, %.0f served", r.secondsOver, r.served)
	}
	greedy := DefaultPolicy()
	for i := range greedy.Weights {
		greedy.Weights[i] = 0
	}
	greedy.Weights[0] = 5 // always up
	sh, err := New(Config{Name: "g", Strategy: "learned", Envelope: Limits{"cpu": 0.8}, Tick: time.Second, Policy: &greedy})
	if err != nil {
		t.Fatal(err)
	}
	p := newPlant()
	over := 0
	c := NewChain([]Link{{Name: "g", Strategy: "learned", Shaper: sh}}, ChainOptions{})
	for i := 0; i < 200; i++ {
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: Limits{"cpu": 0.8},
			Phase: PhaseInfo{Name: "p", PlannedRate: 1500}, Metrics: map[string]Metric{"cpu": p.reading(i)}}
		out, _ := c.Run(s, Instruction{Rate: 1500})
		p.apply(i, out.Rate)
		if p.cpu[i] > 0.8 {
			over++
		}
	}
	if over < 100 {
		t.Errorf("an always-up policy spent only %d s over the envelope", over)
	}
}

// A policy round-trips through JSON, and one this build cannot read is
// refused with a reason.
func TestPolicyParseAndCheck(t *testing.T) {
	p := DefaultPolicy()
	p.Trained = "test"
	b, _ := json.Marshal(p)
	q, err := ParsePolicy(b)
	if err != nil || q.Trained != "test" || q.Weights[3] != p.Weights[3] {
		t.Fatalf("round trip: %+v, %v", q, err)
	}
	for name, mutate := range map[string]func(*Policy){
		"version":  func(p *Policy) { p.Version = 99 },
		"features": func(p *Policy) { p.Features = p.Features[1:]; p.Weights = p.Weights[1:] },
		"steps":    func(p *Policy) { p.MaxDown = 1 },
		"nan":      func(p *Policy) { p.Weights[2] = math.NaN() },
	} {
		bad := DefaultPolicy()
		mutate(&bad)
		if err := bad.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if d := DefaultPolicy().Describe(); !strings.HasPrefix(d, "tanh(pressure_at_lag -3.00, bias +2.70") {
		t.Errorf("describe: %s", d)
	}
}
