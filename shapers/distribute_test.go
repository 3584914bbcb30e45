package shapers

import (
	"math"
	"strings"
	"testing"
	"time"
)

// A deployment on cpu within 30 s makes every target's cpu per unit of load
// 1.5× higher: the hot target's headroom shrinks more than the cool one's,
// so more load moves off it than without the intent; beyond 30 s, or once
// the reading includes it, the intent changes nothing.
func TestDistributeAheadOfDeployment(t *testing.T) {
	shareA := func(ins []Intent, now time.Duration) (float64, string) {
		sh := mustNew(t, Config{Strategy: "distribute", Envelope: Limits{"cpu": 0.8}, Generators: []string{"a", "b"},
			Params: map[string]any{"max_shift": 1.0, "min_share": 0.0, "max_share": 1.0}})
		s := &Snapshot{Now: now, Intents: ins, Targets: map[string]map[string]Metric{
			"a": {"cpu": {Value: 0.5, Window: 5 * time.Second}}, "b": {"cpu": {Value: 0.3, Window: 5 * time.Second}}}}
		out, d, err := sh.Shape(s, Instruction{Rate: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return out.Distribution["a"], d.Reason
	}
	v2 := []Intent{{Name: "v2", Kind: "deployment", At: time.Minute, Metric: "cpu", Factor: 1.5}}
	plain, _ := shareA(nil, 50*time.Second)
	with, why := shareA(v2, 50*time.Second)
	// Headroom without: a 1−0.625, b 1−0.375; with: a 1−0.9375, b 1−0.5625.
	if math.Abs(plain-0.375) > 1e-9 || math.Abs(with-0.125) > 1e-9 {
		t.Errorf("share of the hot target: %.4f without the intent (want 0.375), %.4f with (want 0.125)", plain, with)
	}
	if !strings.Contains(why, `after deployment "v2" at 1m0s (cpu ×1.5)`) {
		t.Errorf("reason %q does not name the intent", why)
	}
	if far, _ := shareA(v2, 20*time.Second); far != plain {
		t.Errorf("intent 40 s ahead changed the share: %.4f, want %.4f", far, plain)
	}
	if done, _ := shareA(v2, 70*time.Second); done != plain {
		t.Errorf("intent already in the readings changed the share: %.4f, want %.4f", done, plain)
	}
	if lag, _ := shareA(v2, 62*time.Second); lag != with {
		t.Errorf("a reading over a 5 s window 2 s after the deployment does not include it: %.4f, want %.4f", lag, with)
	}
}
