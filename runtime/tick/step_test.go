package tick

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

func TestQueryWindow(t *testing.T) {
	for q, want := range map[string]time.Duration{
		`rate(process_cpu_seconds_total{job="api"}[10s])`: 10 * time.Second,
		`avg_over_time(x[1m:5s]) + rate(y[5s])`:           time.Minute,
		`process_resident_memory_bytes`:                   0,
		`histogram_quantile(0.99, rate(h_bucket[500ms]))`: 500 * time.Millisecond,
	} {
		if got := QueryWindow(q); got != want {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
}

// The plan's intents as runs and dry-runs hand them to shapers: run-time
// offsets, the factor by kind, unusable ones left out.
func TestIntentsTranslated(t *testing.T) {
	plan := &lang.Plan{Intents: []*lang.Intent{
		{Name: "v2", Kind: "deployment", At: time.Minute, Metric: "cpu", Change: 1.5},
		{Name: "sale", Kind: "growth", At: 2 * time.Minute, Growth: 2},
		{Name: "bad", Kind: "growth", At: time.Minute},
	}}
	got := Intents(plan)
	want := []shapers.Intent{{Name: "v2", Kind: "deployment", At: time.Minute, Metric: "cpu", Factor: 1.5},
		{Name: "sale", Kind: "growth", At: 2 * time.Minute, Factor: 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("intents %+v, want %+v", got, want)
	}
}

func TestGrowthFactorAndNote(t *testing.T) {
	ins := []*lang.Intent{
		{Name: "v2", Kind: "deployment", At: 0, Change: 3},
		{Name: "sale", Kind: "growth", At: 10 * time.Second, Growth: 2},
		{Name: "quiet", Kind: "growth", At: 20 * time.Second, Growth: 0.25},
		nil,
	}
	for _, c := range []struct {
		at   time.Duration
		want float64
		note string
	}{
		{9 * time.Second, 1, ""},
		{10 * time.Second, 2, `growth "sale" ×2`},
		{30 * time.Second, 0.5, `growth "sale" ×2, growth "quiet" ×0.25`},
	} {
		if g := Growth(ins, c.at); g != c.want {
			t.Errorf("Growth at %s = %v, want %v", c.at, g, c.want)
		}
		if n := GrowthNote(ins, c.at); n != c.note {
			t.Errorf("GrowthNote at %s = %q, want %q", c.at, n, c.note)
		}
	}
	// The most users a phase may need: the peak in its window, not the end.
	if m := MaxGrowth(ins, 0, time.Minute); m != 2 {
		t.Errorf("MaxGrowth = %v, want 2", m)
	}
	if u := GrownUsers(5, 2); u != 10 {
		t.Errorf("GrownUsers(5, 2) = %d", u)
	}
}

// A shaper block named by two phases is the same shaper in both, so what
// it learnt in the ramp (the load-response line) still holds in the hold;
// another block stays its own shaper.
func TestShaperKeptAcrossPhases(t *testing.T) {
	plan := &lang.Plan{
		Name:      "phases",
		Settings:  lang.Settings{Tick: time.Second},
		Targets:   []*lang.Target{{Name: "tb", URL: "http://127.0.0.1:1", Timeout: time.Second}},
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: 0.8}}}},
		Requests:  []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/", Weight: 1, Priority: "normal"}},
		Shapers: []*lang.Shaper{{Name: "guard", Strategy: "predictive_rate_limit", Envelope: "safe"},
			{Name: "other", Strategy: "predictive_rate_limit", Envelope: "safe"}},
		Phases: []*lang.Phase{
			{Name: "ramp", Duration: 5 * time.Second, Rate: stdlib.Ramp{From: 10, To: 100}, Shapers: []string{"guard"}},
			{Name: "hold", Duration: 5 * time.Second, Rate: stdlib.Constant(100), Shapers: []string{"guard", "other"}},
		},
	}
	c, err := New(plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.links) != 2 || len(c.links[0]) != 1 || len(c.links[1]) != 2 {
		t.Fatalf("links per phase: %v", c.links)
	}
	if c.links[0][0].Shaper != c.links[1][0].Shaper {
		t.Error("the hold phase's guard is a new shaper: what the ramp learnt is lost")
	}
	if c.links[1][1].Shaper == c.links[1][0].Shaper {
		t.Error("two shaper blocks share one shaper")
	}
}

// collectorReadings are a metrics collector as a tick's readings.
type collectorReadings struct{ c *metrics.Collector }

func (r collectorReadings) Read(ctx context.Context, _ Position) metrics.Snapshot {
	return r.c.Read(ctx, time.Now())
}

func (r collectorReadings) SafeMode(s metrics.Snapshot, target string, need []string) metrics.Verdict {
	return r.c.SafeMode(s, target, need)
}

// A fake source answers for three ticks, then fails: with on_stale
// "lower" the tick cuts the rate by SafeLowerFactor a tick down to the
// floor; with "hold" it keeps it at the last rate sent; with "ignore" it
// lets the planned ramp through. Every safe tick carries a decision.
func TestSafeModeWithFakeSource(t *testing.T) {
	for _, pol := range []string{"lower", "hold", "ignore"} {
		t.Run(pol, func(t *testing.T) {
			plan := &lang.Plan{
				Name:      "safe-mode-test",
				Settings:  lang.Settings{Tick: time.Second},
				Targets:   []*lang.Target{{Name: "tb", URL: "http://127.0.0.1:1"}},
				Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "busy", Max: 1000, Unit: "number"}}}},
				Requests:  []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/work", Weight: 1, Priority: "normal"}},
				// prioritize leaves the rate alone until the envelope is under
				// pressure, so what holds the ramp here is safe mode alone.
				Shapers: []*lang.Shaper{{Name: "shed", Strategy: "prioritize", Envelope: "safe"}},
				// The plan keeps asking for more: 100 + 10 a tick.
				Phases: []*lang.Phase{{Name: "ramp", Duration: 30 * time.Second, Rate: stdlib.Ramp{From: 100, To: 400}, Shapers: []string{"shed"}}},
			}
			var n atomic.Int32
			coll := &metrics.Collector{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
			coll.Add(metrics.Spec{Target: "tb", Name: "fake", OnStale: pol, Metrics: []string{"busy"},
				Source: metrics.SourceFunc(func(context.Context, time.Time) (map[string]metrics.Sample, error) {
					if n.Add(1) > 3 {
						return nil, errors.New("connection refused")
					}
					return map[string]metrics.Sample{"busy": {Value: 1}}, nil
				})})
			c, err := New(plan, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var rates []float64
			for i := 0; i < 30; i++ {
				r := c.Step(context.Background(), Position{Tick: i, PhaseElapsed: time.Duration(i) * time.Second}, collectorReadings{coll})
				out := r.Instruction
				rates = append(rates, out.Rate)
				safe := false
				for _, d := range r.Decisions {
					if d.Shaper == SafeModeShaper {
						safe = true
						if !strings.Contains(d.Reason, "busy") || !strings.Contains(d.Reason, "fake") {
							t.Errorf("tick %d: reason %q names neither the metric nor the source", i, d.Reason)
						}
					}
				}
				if want := i >= 3 && pol != "ignore"; safe != want {
					t.Errorf("tick %d: safe-mode decision %v, want %v", i, safe, want)
				}
				if safe != (out.SafeMode != "") {
					t.Errorf("tick %d: instruction SafeMode %q", i, out.SafeMode)
				}
			}
			before := rates[2]
			switch pol {
			case "hold":
				for i := 3; i < len(rates); i++ {
					if rates[i] > before {
						t.Fatalf("hold: rate rose to %.1f after %.1f: %v", rates[i], before, rates)
					}
				}
			case "lower":
				if want := before * SafeLowerFactor; rates[3] > want+1e-9 {
					t.Errorf("lower: first safe tick %.2f, want <= %.2f", rates[3], want)
				}
				floor := before * SafeLowerFloor
				end := rates[len(rates)-1]
				if end < floor-1e-9 || end > floor*1.01 {
					t.Errorf("lower: ended at %.2f, want the floor %.2f: %v", end, floor, rates)
				}
			case "ignore":
				if rates[len(rates)-1] <= before {
					t.Errorf("ignore: the ramp was held: %v", rates)
				}
			}
			if r := c.Report(nil); (r.SafeModeTicks > 0) != (pol != "ignore") {
				t.Errorf("report: %d safe-mode ticks", r.SafeModeTicks)
			}
		})
	}
}

// rateShaper is a test shaper that asks for a fixed rate.
type rateShaper float64

func (r rateShaper) Shape(_ *shapers.Snapshot, in shapers.Instruction) (shapers.Instruction, shapers.Decision, error) {
	in.Rate = float64(r)
	return in, shapers.Decision{}, nil
}

// The hard limits are applied once, after the chain: a shaper asking for
// more than max_rate gets the phase's or the plan's limit, whichever is
// lower, and the decision says so; one asking for less is held there; a
// rate the chain leaves as planned is followed by the pacers.
func TestOneClampAfterTheChain(t *testing.T) {
	plan := &lang.Plan{Name: "clamp", Settings: lang.Settings{Tick: time.Second, MaxRate: 500},
		Targets:  []*lang.Target{{Name: "tb", URL: "http://127.0.0.1:1"}},
		Requests: []*lang.Request{{Name: "work", Target: "tb", Weight: 1}},
		Shapers:  []*lang.Shaper{{Name: "greedy"}},
		Phases: []*lang.Phase{
			{Name: "a", Duration: 5 * time.Second, Rate: stdlib.Constant(100), MaxRate: 300, Shapers: []string{"greedy"}},
			{Name: "b", Duration: 5 * time.Second, Rate: stdlib.Constant(100), Shapers: []string{"greedy"}},
			{Name: "c", Duration: 5 * time.Second, Rate: stdlib.Constant(100)},
		}}
	for _, ask := range []float64{10000, 50} {
		c, err := New(plan, Options{Links: func(_ *lang.Plan, ph *lang.Phase) ([]shapers.Link, error) {
			if len(ph.Shapers) == 0 {
				return nil, nil
			}
			return []shapers.Link{{Name: "greedy", Strategy: "test", Shaper: rateShaper(ask)}}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []float64{300, 500, 100} {
			if ask < 100 && i < 2 {
				want = ask
			}
			r := c.Step(context.Background(), Position{Tick: i, Phase: i, PhaseStart: time.Duration(i) * 5 * time.Second}, NoReadings)
			if r.Instruction.Rate != want {
				t.Errorf("ask %g, phase %d: rate %g, want %g", ask, i, r.Instruction.Rate, want)
			}
			clamped := false
			for _, d := range r.Decisions {
				clamped = clamped || d.Shaper == "limits"
			}
			if clamped != (ask > 500 && i < 2) {
				t.Errorf("ask %g, phase %d: clamp decision %v", ask, i, clamped)
			}
			if r.Follow != (i == 2) {
				t.Errorf("ask %g, phase %d: follow %v", ask, i, r.Follow)
			}
		}
	}
}

// Every example and test plan: each phase's planned mix is exactly its
// `requests` and `flows` lists (all requests and flows without them), the users of a closed
// model are its concurrency, and an open model's rate is its rate shape.
func TestPlannedInstructionOfEveryExample(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.lshcl")
	more, _ := filepath.Glob("../dryrun/testdata/golden/*.lshcl")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("plans: %v", files)
	}
	for _, f := range files {
		plan, diags := lang.Load([]string{f}, lang.LoadOptions{})
		if diags.HasErrors() {
			t.Fatalf("%s: %s", f, diags.Error())
		}
		for i, ph := range plan.Phases {
			want := append(append([]string(nil), ph.Requests...), ph.Flows...)
			if len(want) == 0 {
				for _, r := range plan.Requests {
					want = append(want, r.Name)
				}
				for _, f := range plan.Flows {
					want = append(want, f.Name)
				}
			}
			sort.Strings(want)
			for el := time.Duration(0); el < ph.Duration; el += 5 * time.Second {
				in := Planned(plan, Position{Phase: i, PhaseStart: ph.Start, PhaseElapsed: el})
				var got []string
				for n, w := range in.Mix {
					if w <= 0 {
						t.Errorf("%s/%s: weight %g for %s", f, ph.Name, w, n)
					}
					got = append(got, n)
				}
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s/%s at %s: mix %v, want %v", f, ph.Name, el, got, want)
				}
				g := Growth(plan.Intents, ph.Start+el)
				if ph.Concurrency > 0 {
					if in.Concurrency != GrownUsers(ph.Concurrency, g) || in.Rate != 0 {
						t.Errorf("%s/%s: users %d rate %g", f, ph.Name, in.Concurrency, in.Rate)
					}
					continue
				}
				spike := 1.0
				for _, c := range ph.Chaos {
					if c.Kind == "spike" && el >= c.At && el < c.At+c.Duration {
						spike *= c.Factor
					}
				}
				if r := ph.Rate.At(el, ph.Duration) * g * spike; in.Rate != r {
					t.Errorf("%s/%s at %s: rate %g, want %g", f, ph.Name, el, in.Rate, r)
				}
			}
		}
	}
}
