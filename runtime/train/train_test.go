package train

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/zclconf/go-cty/cty"
)

func trainPlan() *lang.Plan {
	return &lang.Plan{Name: "t",
		Targets:   []*lang.Target{{Name: "api", URL: "http://127.0.0.1:1"}},
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: 0.8}}}},
		Shapers:   []*lang.Shaper{{Name: "guard", Strategy: "learned", Envelope: "safe", Params: map[string]cty.Value{"over_penalty": cty.NumberIntVal(20)}}},
	}
}

var testModel = simtarget.Model{Cores: 1, CostPerRequest: 0.004, BaseLatency: 2 * time.Millisecond, Timeout: 2 * time.Second, MaxConnections: 64}

// Training improves on the untrained policy on the scenarios it trains
// on, and is deterministic for a seed.
func TestTrainImprovesAndIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	o := Options{Episodes: 400, Seed: 7, Model: testModel, Source: dryrun.Source{Kind: "simulate"}}
	a, err := Train(trainPlan(), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Curve); n < 4 || a.Curve[n-1].Best <= a.Curve[0].Policy {
		t.Errorf("curve %+v: the best candidate of the last iteration does not beat the starting policy", a.Curve)
	}
	b, err := Train(trainPlan(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Policy.Weights, b.Policy.Weights) || !reflect.DeepEqual(a.Summary, b.Summary) {
		t.Error("two trainings with one seed differ")
	}
	if len(a.Summary) != 3 || a.Summary[0].Strategy != "learned" || a.Summary[1].Strategy != "predictive_rate_limit" {
		t.Fatalf("summary %+v", a.Summary)
	}
	for _, s := range a.Summary {
		t.Logf("%-28s reward %.3f served %.2f over %.1fs oscillation %.3f", s.Strategy, s.Reward, s.Served, s.SecondsOver, s.Oscillation)
	}
	if err := a.Policy.Check(); err != nil {
		t.Fatal(err)
	}
}

// The reward is what spec/train.md says: served fraction, less the
// penalties.
func TestReward(t *testing.T) {
	r := result{served: 0.9, secondsOver: 3, oscillation: 0.02, duration: 100}
	if got, want := r.reward(weights{over: 20, osc: 0.5}), 0.9-20*0.03-0.5*0.02; math.Abs(got-want) > 1e-12 {
		t.Errorf("reward %v, want %v", got, want)
	}
}

func TestNoLearnedShaper(t *testing.T) {
	p := trainPlan()
	p.Shapers[0].Strategy = "aimd"
	if _, err := Train(p, Options{Model: testModel}); err == nil {
		t.Fatal("trained a plan without a learned shaper")
	}
}

var update = flag.Bool("update", false, "retrain and rewrite examples/learned-policy.json")

// examples/learned-policy.json is what the README's command trains for
// examples/learned.lshcl (a golden file: -update retrains and rewrites it
// when the trainer, the simulated target or the control tick changes).
func TestExamplePolicyIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for several seconds")
	}
	plan, diags := lang.Load([]string{"../../examples/learned.lshcl"}, lang.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	model, src, err := dryrun.FromSimulate(plan)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Train(plan, Options{Episodes: 3000, Seed: 1, Model: model, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(rep.Policy, "", "  ")
	got = append(got, '\n')
	const file = "../../examples/learned-policy.json"
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what `loadshaper train examples/learned.lshcl --out examples/learned-policy.json` trains now (go test ./runtime/train -run ExamplePolicy -update)", file)
	}
}
