package dryrun

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

var show = flag.Bool("show", false, "print the text report of the sample plan")

type ramp struct{ from, to float64 }

func (r ramp) At(el, total time.Duration) float64 {
	return r.from + (r.to-r.from)*el.Seconds()/total.Seconds()
}
func (r ramp) Peak(time.Duration) float64 { return math.Max(r.from, r.to) }
func (r ramp) String() string             { return "ramp" }

func f(v float64) *float64 { return &v }

// samplePlan ramps a target of capacity 1000 req/s to 1500 req/s.
func samplePlan() *lang.Plan {
	return &lang.Plan{
		Shapers:   []*lang.Shaper{{Name: "guard", Strategy: "safe"}},
		Name:      "sample",
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: 0.8, Unit: "fraction"}, {Metric: "latency_p99", Max: 0.25, Unit: "seconds"}}}},
		Requests: []*lang.Request{
			{Name: "browse", Weight: 8, Priority: "low"},
			{Name: "checkout", Weight: 2, Priority: "critical"},
		},
		Phases: []*lang.Phase{
			{Name: "warm", Duration: 10 * time.Second, Rate: stdlib.Constant(50), Warmup: true},
			{Name: "ramp", Start: 10 * time.Second, Duration: 100 * time.Second, Rate: ramp{100, 1500}},
		},
		Thresholds: []*lang.Threshold{
			{Name: "p99", Metric: "latency_p99", Max: f(0.3)},
			{Name: "errors", Metric: "error_rate", Max: f(0.01)},
		},
		Simulate: &lang.Simulate{Capacity: 1000, Cores: 2, BaseLatency: 2 * time.Millisecond},
	}
}

func mustRun(t *testing.T, plan *lang.Plan, o Options) *Report {
	t.Helper()
	if o.Model.Cores == 0 {
		m, src, err := FromSimulate(plan)
		if err != nil {
			t.Fatal(err)
		}
		o.Model, o.Source = m, src
	}
	r, err := Run(plan, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRampPastCapacityBreachesWhereTheModelSays(t *testing.T) {
	r := mustRun(t, samplePlan(), Options{Seed: 1})
	if r.FirstBreach == nil || r.FirstBreach.Metric != "cpu" {
		t.Fatalf("first breach = %+v, want cpu", r.FirstBreach)
	}
	// cpu = rate/1000 reaches 0.8 at 800 req/s: 50 s into the ramp (100 + 14·t),
	// plus the 10 s warm-up; the 5 s rate() window delays it by ~2 s.
	if at := r.FirstBreach.At; at < 60 || at > 64 {
		t.Fatalf("cpu breach at %gs, want 60–64s", at)
	}
	if !r.Verdict.Breach || !r.Verdict.ThresholdFail {
		t.Fatalf("verdict %+v: a ramp to 150%% of capacity must breach and fail p99", r.Verdict)
	}
	if r.Duration != 110 || len(r.Ticks) != 110 {
		t.Fatalf("duration %g with %d ticks, want 110", r.Duration, len(r.Ticks))
	}
	// Requests: ramp 100→1500 over 100 s averages ~800 req/s.
	if math.Abs(r.PlannedRequests-79300) > 1000 || r.WarmupRequests != 500 {
		t.Fatalf("planned %g requests (warm-up %g)", r.PlannedRequests, r.WarmupRequests)
	}
}

func TestSameSeedSameReport(t *testing.T) {
	p := samplePlan()
	p.Simulate.Noise = 0.1
	a, _ := json.Marshal(mustRun(t, p, Options{Seed: 3}))
	b, _ := json.Marshal(mustRun(t, p, Options{Seed: 3}))
	c, _ := json.Marshal(mustRun(t, p, Options{Seed: 4}))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different reports")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, identical noisy reports")
	}
}

// capAt is a test shaper that caps the rate, run by the real chain.
func capAt(c float64) shapers.Shaper {
	return shapers.ShaperFunc(func(_ *shapers.Snapshot, in shapers.Instruction) (shapers.Instruction, shapers.Decision, error) {
		out := in.Clone()
		d := shapers.Decision{}
		if in.Rate > c {
			out.Rate = c
			d.Reason = "cap"
		}
		return out, d, nil
	})
}

func TestChainShapesAndIsReported(t *testing.T) {
	p := samplePlan()
	p.Phases[1].Shapers = []string{"guard"}
	r := mustRun(t, p, Options{Seed: 1, Links: func(_ *lang.Plan, ph *lang.Phase) ([]shapers.Link, error) {
		if len(ph.Shapers) == 0 {
			return nil, nil
		}
		return []shapers.Link{{Name: "guard", Strategy: "test", Shaper: capAt(700)}}, nil
	}})
	if r.Verdict.Breach {
		t.Fatalf("a chain capping at 70%% of capacity must keep cpu under 80%%: %+v", r.FirstBreach)
	}
	if r.UnshapedFirstBreach == nil {
		t.Fatal("the unshaped run must still report where the plan would breach")
	}
	ramp := r.Phases[1]
	if ramp.ShapedPeak != 700 || ramp.PlannedPeak < 1400 {
		t.Fatalf("peaks planned/shaped = %g/%g", ramp.PlannedPeak, ramp.ShapedPeak)
	}
	if len(ramp.Shapers) != 1 || ramp.Shapers[0].Reason != "cap" || ramp.Shapers[0].FirstAt < 10 {
		t.Fatalf("shaper activity %+v", ramp.Shapers)
	}
	if r.ShapedRequests >= r.PlannedRequests {
		t.Fatalf("shaped %g >= planned %g", r.ShapedRequests, r.PlannedRequests)
	}
}

func TestRealStrategyFromThePlanRuns(t *testing.T) {
	// The built-in "safe" strategy holds the previous tick's rate: the ramp
	// stays at the warm-up's 50 req/s.
	p := samplePlan()
	p.Phases[1].Shapers = []string{"guard"}
	r := mustRun(t, p, Options{Seed: 1})
	if got := r.Phases[1].ShapedPeak; got != 50 {
		t.Fatalf("shaped peak under the safe strategy = %g, want 50", got)
	}
	if len(r.Shapers) != 1 || r.Shapers[0].Strategy != "safe" || r.Shapers[0].Ticks == 0 {
		t.Fatalf("activity %+v", r.Shapers)
	}
	p.Shapers[0].Strategy = "no_such"
	if _, err := Run(p, Options{Model: r.Source.Model}); err == nil || !strings.Contains(err.Error(), "unknown strategy") {
		t.Fatalf("unknown strategy: %v", err)
	}
}

func TestShedReducesTheRateByPriorityShare(t *testing.T) {
	p := samplePlan()
	in := shapers.Instruction{Rate: 1000, Mix: tick.Mix(p, p.Phases[0]), Shed: map[string]float64{"low": 0.5}}
	if got := shapers.EffectiveRate(in, tick.RequestClasses(p)); got != 600 {
		t.Fatalf("shedding half of the low class (80%% of the mix) leaves %g req/s, want 600", got)
	}
}

func TestGrowthIntentAndSpike(t *testing.T) {
	p := &lang.Plan{Name: "g",
		Intents: []*lang.Intent{{Name: "more", Kind: "growth", At: 5 * time.Second, Growth: 2}},
		Phases: []*lang.Phase{{Name: "a", Duration: 20 * time.Second, Rate: stdlib.Constant(100),
			Chaos: []*lang.Chaos{{Kind: "spike", At: 10 * time.Second, Duration: 2 * time.Second, Factor: 3}}}}}
	r := mustRun(t, p, Options{Model: simtarget.Model{Cores: 1, CostPerRequest: 0.0001}})
	want := map[int]float64{0: 100, 5: 200, 10: 600, 11: 600, 12: 200}
	for i, w := range want {
		if r.Ticks[i].Planned != w {
			t.Errorf("tick %d planned %g, want %g", i, r.Ticks[i].Planned, w)
		}
	}
}

func TestClosedModelRateFollowsLatency(t *testing.T) {
	p := &lang.Plan{Name: "c", Phases: []*lang.Phase{{Name: "users", Duration: 10 * time.Second, Concurrency: 10, ThinkTime: 90 * time.Millisecond}}}
	r := mustRun(t, p, Options{Model: simtarget.Model{Cores: 1, CostPerRequest: 0.001, BaseLatency: 9 * time.Millisecond}})
	last := r.Ticks[len(r.Ticks)-1]
	// 10 users, 90 ms think + ~10 ms response: ~100 req/s.
	if last.Shaped < 85 || last.Shaped > 100 {
		t.Fatalf("closed-model rate %g, want ~100 req/s", last.Shaped)
	}
}

func TestThresholdsWindowAndStatus(t *testing.T) {
	p := samplePlan()
	p.Phases[1].Rate = stdlib.Constant(500)
	p.Thresholds = []*lang.Threshold{
		{Name: "p99", Metric: "latency_p99", Max: f(0.3)},
		{Name: "tput", Metric: "throughput", Min: f(490)},
		{Name: "disk", Metric: "disk_io", Max: f(1)},
		{Name: "warm-only", Metric: "throughput", Min: f(100), Phase: "warm", Window: 5 * time.Second},
	}
	r := mustRun(t, p, Options{})
	got := map[string]string{}
	for _, th := range r.Thresholds {
		got[th.Name] = th.Status
	}
	want := map[string]string{"p99": "ok", "tput": "at_risk", "disk": "unknown", "warm-only": "fail"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("threshold %s: %s, want %s", k, got[k], w)
		}
	}
	if r.Verdict.Breach {
		t.Errorf("a constant half-capacity rate breached: %+v", r.FirstBreach)
	}
}

func TestTextAndJSONOutputs(t *testing.T) {
	r := mustRun(t, samplePlan(), Options{Seed: 1})
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{Charts: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if *show {
		os.Stdout.WriteString(out)
	}
	for _, want := range []string{"Simulated target: the plan's simulate block", "BREACHED at", "safe.cpu ≤ 80%", "FAILS", "rate (req/s)", "┄", "█"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	b.Reset()
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Ticks []map[string]any `json:"ticks"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Ticks) != 110 || back.Ticks[50]["cpu"] == nil || back.Ticks[50]["planned_rate"] == nil {
		t.Fatalf("json ticks: %d, tick 50 = %v", len(back.Ticks), back.Ticks[50])
	}
}

func TestErrors(t *testing.T) {
	if _, err := Run(nil, Options{}); err == nil {
		t.Error("nil plan")
	}
	if _, err := Run(&lang.Plan{Name: "x"}, Options{Model: simtarget.Model{Cores: 1, CostPerRequest: 1}}); err == nil {
		t.Error("no phase")
	}
	p := samplePlan()
	if _, err := Run(p, Options{Model: simtarget.Model{Cores: 1}}); err == nil {
		t.Error("bad model")
	}
}

var htmlOut = flag.String("html-out", "", "write the sample plan's HTML report here")

func TestHTMLIsSelfContained(t *testing.T) {
	p := samplePlan()
	p.Phases[1].Shapers = []string{"guard"}
	r := mustRun(t, p, Options{Seed: 1, Links: func(_ *lang.Plan, ph *lang.Phase) ([]shapers.Link, error) {
		if len(ph.Shapers) == 0 {
			return nil, nil
		}
		return []shapers.Link{{Name: "guard", Strategy: "test", Shaper: capAt(900)}}, nil
	}})
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if *htmlOut != "" {
		if err := os.WriteFile(*htmlOut, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML report refers to an external asset or script: %q", bad)
		}
	}
	if n := strings.Count(out, "<svg"); n != 1+len(r.Metrics) {
		t.Errorf("%d charts, want %d", n, 1+len(r.Metrics))
	}
	for _, want := range []string{"limit 80%", "first breach at", "Verdict:", "ramp"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// A 200-hour phase at a steady rate is simulated in coarse steps once
// nothing changes: its report holds thousands of ticks, not millions, and
// still counts every planned request; a change of the planned rate or an
// intent ends a coarse stretch, and a short plan is never coarsened.
func TestLongSteadyPlanCoarsens(t *testing.T) {
	p := &lang.Plan{Name: "soak",
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: 0.8}}}},
		Intents:   []*lang.Intent{{Name: "more", Kind: "growth", At: 100 * time.Hour, Growth: 2}},
		Phases: []*lang.Phase{{Name: "soak", Duration: 200 * time.Hour, Rate: stdlib.Constant(10)},
			{Name: "short", Start: 200 * time.Hour, Duration: 4 * time.Minute, Rate: stdlib.Constant(10)}},
		Thresholds: []*lang.Threshold{{Name: "p99", Metric: "latency_p99", Max: f(0.25), Window: time.Minute}}}
	r := mustRun(t, p, Options{Model: simtarget.Model{Cores: 1, CostPerRequest: 0.001}})
	if n := len(r.Ticks); n > 5_000 {
		t.Fatalf("%d ticks for 200 h", n)
	}
	// 100 h at 10/s, 100 h at 20/s (the growth), 4 min at 20/s.
	if want := 100*3600*10.0 + 100*3600*20 + 240*20; math.Abs(r.PlannedRequests-want) > 1e-6*want {
		t.Errorf("planned %.0f requests, want %.0f", r.PlannedRequests, want)
	}
	if len(r.Coarse) != 2 || r.Coarse[0].To > 100*3600 || r.Coarse[1].From < 100*3600 || r.Coarse[1].Phase != "soak" {
		t.Errorf("coarse stretches %+v: want one before the growth at 100 h and one after it", r.Coarse)
	}
	for _, tk := range r.Ticks {
		if tk.Phase == "short" && tk.Span != 0 {
			t.Fatalf("a 4-minute phase was coarsened: %+v", tk)
		}
	}
	if th := r.Thresholds[0]; th.Status != "ok" || th.Predicted <= 0 {
		t.Errorf("threshold %+v", th)
	}
}

// An envelope metric that stays at 0 all run (no error at half the
// capacity) is reported as such, not as a peak at an empty place.
func TestTextEnvelopeMetricAtZero(t *testing.T) {
	p := samplePlan()
	p.Envelopes[0].Limits = append(p.Envelopes[0].Limits, lang.Limit{Metric: "error_rate", Max: 0.01, Unit: "fraction"})
	p.Phases = p.Phases[:1]
	p.Phases[0].Warmup = false
	r := mustRun(t, p, Options{Seed: 1})
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "safe.error_rate ≤ 1.0%: 0% all run (0% of the limit)") {
		t.Errorf("no zero line for error_rate:\n%s", out)
	}
	if strings.Contains(out, "(, ") {
		t.Errorf("an empty field in the envelope section:\n%s", out)
	}
}
