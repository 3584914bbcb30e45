package shapers

import (
	"strings"
	"testing"
	"time"
)

// capacityRun runs capacity_search against the plant; at tick deployAt each
// request starts to cost change times as much cpu. It returns the findings
// with the rate sent on their tick.
func capacityRun(t *testing.T, intents []Intent, deployAt int, change float64, ticks int) (findings []string, rates []float64) {
	t.Helper()
	env := Limits{"cpu": 0.8}
	sh, err := New(Config{Name: "c", Strategy: "capacity_search", Envelope: env, Tick: time.Second, Params: map[string]any{"settle": 10 * time.Second, "start": 100.0}})
	if err != nil {
		t.Fatal(err)
	}
	c := NewChain([]Link{{Name: "c", Strategy: "capacity_search", Shaper: sh}}, ChainOptions{})
	p := newPlant()
	for i := 0; i < ticks; i++ {
		if i == deployAt {
			p.capacity /= change
		}
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env, Intents: intents,
			Phase:   PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: time.Duration(ticks) * time.Second, PlannedRate: 100},
			Metrics: map[string]Metric{"cpu": p.reading(i)}}
		out, ds := c.Run(s, Instruction{Rate: 100})
		for _, d := range ds {
			if d.Fallback {
				t.Fatalf("tick %d: fell back: %s", i, d.Error)
			}
			if d.Finding != "" {
				findings = append(findings, d.Finding)
				rates = append(rates, out.Rate)
			}
		}
		p.apply(i, out.Rate)
	}
	return findings, rates
}

// A deployment (cpu ×1.5 at 150 s) coming within the 30 s horizon moves the
// capacity the search found: it searches again, and the second finding is
// the rate sustainable after the deployment, about 2/3 of the first, and
// says so. Without the intent there is one finding, for before it.
func TestCapacitySearchAcrossDeployment(t *testing.T) {
	const at, change, ticks = 150, 1.5, 200
	intents := []Intent{{Name: "v2", Kind: "deployment", At: at * time.Second, Metric: "cpu", Factor: change}}
	plain, _ := capacityRun(t, nil, ticks+1, change, ticks)
	if len(plain) != 1 || strings.Contains(plain[0], "deployment") {
		t.Fatalf("without intents: findings %q", plain)
	}
	fs, rates := capacityRun(t, intents, at, change, ticks)
	t.Logf("findings: %q at %v rps", fs, rates)
	if len(fs) != 2 {
		t.Fatalf("findings %q, want one before and one after the deployment", fs)
	}
	if !strings.Contains(fs[0], `before deployment "v2" at 2m30s (cpu ×1.5), beyond the 30s horizon`) {
		t.Errorf("first finding %q does not say it is for before the deployment", fs[0])
	}
	if !strings.Contains(fs[1], `for after deployment "v2" at 2m30s (cpu ×1.5) (predicted)`) && !strings.Contains(fs[1], `after deployment "v2" at 2m30s (cpu ×1.5) (measured)`) {
		t.Errorf("second finding %q does not say it is for after the deployment", fs[1])
	}
	// Sustainable: (0.8 − 0.05)·1000 = 750 rps before, 500 after.
	if r := rates[1] / rates[0]; r < 0.55 || r > 0.75 {
		t.Errorf("after/before = %.2f (%.0f / %.0f rps), want about 2/3", r, rates[1], rates[0])
	}
}
