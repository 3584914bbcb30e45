package shapers

import (
	"math"
	"strings"
	"testing"
	"time"
)

// deployRun runs predictive_rate_limit against the plant at a constant
// planned rate; at tick deployAt each request starts to cost change times as
// much CPU. It returns the rate sent per tick, the ticks with the true cpu
// over the envelope, and the decisions' prediction texts.
func deployRun(t *testing.T, intents []Intent, deployAt int, change float64, plan func(int) float64, ticks int) (rates []float64, over []int, preds []string) {
	t.Helper()
	env := Limits{"cpu": 0.8}
	c := predictiveChain(t, env)
	p := newPlant()
	for i := 0; i < ticks; i++ {
		if i == deployAt {
			p.capacity /= change // the load-dependent part of cpu × change
		}
		planned := plan(i)
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env, Intents: intents,
			Phase:   PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: time.Duration(ticks) * time.Second, PlannedRate: planned},
			Metrics: map[string]Metric{"cpu": p.reading(i)}}
		out, ds := c.Run(s, Instruction{Rate: planned})
		for _, d := range ds {
			if d.Fallback {
				t.Fatalf("tick %d: fell back: %s", i, d.Error)
			}
			preds = append(preds, d.Prediction+" | "+d.Reason)
		}
		p.apply(i, out.Rate)
		rates = append(rates, out.Rate)
		if p.cpu[i] > env["cpu"]+1e-9 {
			over = append(over, i)
		}
	}
	return rates, over, preds
}

// A deployment intent (cpu ×1.5 at 60 s) makes the shaper lower the rate
// before 60 s, so the deployment does not push the target over the
// envelope; without the intent the same plant goes over after 60 s.
func TestPredictiveLowersRateBeforeDeployment(t *testing.T) {
	const at, change, planned, ticks = 60, 1.5, 650.0, 120
	intents := []Intent{{Name: "v2", Kind: "deployment", At: at * time.Second, Metric: "cpu", Factor: change}}
	flat := func(int) float64 { return planned }
	plain, overPlain, _ := deployRun(t, nil, at, change, flat, ticks)
	with, overWith, preds := deployRun(t, intents, at, change, flat, ticks)
	// Safe after the deployment: (0.8 − 0.05)·1000/1.5 = 500 rps.
	if with[at-1] >= 0.85*plain[at-1] || with[at-1] > 520 {
		t.Errorf("rate at %ds: %.0f with the intent, %.0f without: not lowered before the deployment", at-1, with[at-1], plain[at-1])
	}
	for i := 0; i < at-35; i++ { // outside the 30 s horizon the intent changes nothing
		if with[i] != plain[i] {
			t.Fatalf("tick %d: %.6g with the intent, %.6g without, before the horizon reaches it", i, with[i], plain[i])
		}
	}
	if len(overPlain) == 0 {
		t.Fatalf("the plant without the intent never went over the envelope: the test proves nothing")
	}
	if len(overWith) >= len(overPlain) || len(overWith) > 2 {
		t.Errorf("over the envelope at ticks %v with the intent, %v without", overWith, overPlain)
	}
	if !strings.Contains(preds[at-5], `after deployment "v2" at 1m0s (cpu ×1.5)`) {
		t.Errorf("decision before the deployment does not name the intent: %q", preds[at-5])
	}
	t.Logf("rate at %d s: %.0f with, %.0f without; over with %v, without %v; at %d s: %s", at-1, with[at-1], plain[at-1], overWith, overPlain, at-5, preds[at-5])
}

// The same with a ramp, so the load-response fit is identified before the
// deployment: the fit's safe rate is lowered, and the prediction names the
// intent.
func TestPredictiveFitLowersRateBeforeDeployment(t *testing.T) {
	const at, change, ticks = 60, 1.5, 120
	intents := []Intent{{Name: "v2", Kind: "deployment", At: at * time.Second, Metric: "cpu", Factor: change}}
	plan := ramp(200, 700, 40)
	plain, overPlain, _ := deployRun(t, nil, at, change, plan, ticks)
	with, overWith, preds := deployRun(t, intents, at, change, plan, ticks)
	if with[at-1] >= 0.85*plain[at-1] || with[at-1] > 520 {
		t.Errorf("rate at %ds: %.0f with the intent, %.0f without", at-1, with[at-1], plain[at-1])
	}
	if len(overPlain) == 0 || len(overWith) >= len(overPlain) {
		t.Errorf("over the envelope at ticks %v with the intent, %v without", overWith, overPlain)
	}
	if !strings.Contains(preds[at-5], `safe rate`) || !strings.Contains(preds[at-5], `; after deployment "v2" at 1m0s (cpu ×1.5): `) {
		t.Errorf("prediction before the deployment: %q", preds[at-5])
	}
	t.Logf("rate at %d s: %.0f with, %.0f without; over with %v, without %v; at %d s: %s", at-1, with[at-1], plain[at-1], overWith, overPlain, at-5, preds[at-5])
}

func TestDeployFactorAndGrowth(t *testing.T) {
	ins := []Intent{
		{Name: "a", Kind: "deployment", At: 20 * time.Second, Metric: "cpu", Factor: 1.5},
		{Name: "b", Kind: "deployment", At: 10 * time.Second, Factor: 0.5},
		{Name: "c", Kind: "deployment", At: 15 * time.Second, Metric: "mem", Factor: 3},
		{Name: "g", Kind: "growth", At: 25 * time.Second, Factor: 2},
	}
	// cpu: ×0.5 at 10 s, then ×1.5 at 20 s: the cumulative factor never
	// exceeds 1, so the rate is not lowered.
	if f, _ := deployFactor(ins, "cpu", 0, 30*time.Second); f != 1 {
		t.Errorf("cpu factor %v, want 1", f)
	}
	if f, used := deployFactor(ins, "cpu", 12*time.Second, 30*time.Second); f != 1.5 || len(used) != 1 || used[0].Name != "a" {
		t.Errorf("cpu factor after 12 s %v (%v), want 1.5 from a", f, used)
	}
	if f, _ := deployFactor(ins, "cpu", 20*time.Second, 30*time.Second); f != 1 {
		t.Errorf("an intent at Now is in effect already, got factor %v", f)
	}
	if f, _ := deployFactor(ins, "mem", 0, 30*time.Second); f != 3*0.5 && f != 3 {
		t.Errorf("mem factor %v", f)
	}
	if g := growthAt(ins, 0, 24*time.Second); g != 1 {
		t.Errorf("growth before At: %v", g)
	}
	if g := growthAt(ins, 0, 25*time.Second); g != 2 {
		t.Errorf("growth from At: %v", g)
	}
	if p := ins[3].Predictor(); p.At != 25 || p.Factor != 2 || p.Kind.String() != "growth" || math.IsNaN(p.At) {
		t.Errorf("predictor intent %+v", p)
	}
}

// A growth intent makes the shaper report an earlier reach of the limit.
func TestPredictiveGrowthNamesIntent(t *testing.T) {
	env := Limits{"cpu": 0.8}
	c := predictiveChain(t, env)
	p := newPlant()
	ins := []Intent{{Name: "sale", Kind: "growth", At: 70 * time.Second, Factor: 2}}
	var last string
	for i := 0; i < 60; i++ {
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env, Intents: ins,
			Phase: PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: 200 * time.Second, PlannedRate: 400,
				Planned: func(time.Duration) float64 { return 400 }},
			Metrics: map[string]Metric{"cpu": p.reading(i)}}
		out, ds := c.Run(s, Instruction{Rate: 400})
		p.apply(i, out.Rate)
		last = ds[0].Reason
	}
	if !strings.Contains(last, `would reach the cpu limit in 11s (with growth "sale" at 1m10s (planned rate ×2))`) {
		t.Errorf("reason at 59 s: %q", last)
	}
}
