package runtime

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

// A short real run against the testbed on 127.0.0.1: the loop reads the
// testbed's /metrics every tick, the predictive shaper keeps busy workers
// inside the envelope while the plan ramps past capacity, and every tick's
// metrics, instruction and decisions land in history.
func TestLoopDrivesARealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for 8 s")
	}
	tb, err := testbed.Start(testbed.Config{Workers: 8, Capacity: 200, Cost: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	plan := &lang.Plan{
		Name:     "control-test",
		Settings: lang.Settings{Tick: 500 * time.Millisecond},
		Targets: []*lang.Target{{Name: "tb", URL: tb.URL, Timeout: 2 * time.Second, KeepAlive: true, Metrics: []*lang.MetricsSource{{
			Kind: "scrape", Endpoint: tb.URL + "/metrics", Queries: map[string]string{"busy": "testbed_busy_workers"}, Timeout: 200 * time.Millisecond}}}},
		Envelopes:  []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "busy", Max: 6, Unit: "number"}}}},
		Requests:   []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/work", Weight: 1, Priority: "normal"}},
		Shapers:    []*lang.Shaper{{Name: "guard", Strategy: "predictive_rate_limit", Envelope: "safe"}},
		Predictors: []*lang.Predictor{{Name: "busy", Metric: "busy", Model: "holt", Horizon: 5 * time.Second, History: time.Minute}},
		Phases: []*lang.Phase{{Name: "ramp", Duration: 8 * time.Second, Rate: stdlib.Ramp{From: 20, To: 400}, Arrival: "uniform",
			Shapers: []string{"guard"}}},
	}
	store, rec := recorded(t, plan)
	res := mustRun(t, plan, Options{Recorder: rec, Seed: 1})
	sum := res.Summary
	_ = rec.Finish(sum.Outcome, time.Now())
	r := res.Shaping
	if r.Ticks < 10 || len(r.Shapers) != 1 || r.Shapers[0].Shaper != "guard" {
		t.Fatalf("report = %+v", r)
	}
	// The plan asks for twice the capacity; the shaper must have cut it.
	if r.Shapers[0].TicksActed == 0 || r.Shapers[0].MinRatio >= 0.9 {
		t.Errorf("the guard never limited the ramp: %+v", r.Shapers[0])
	}
	var withDecisions, withBusy int
	err = store.Ticks(rec.Run().ID, time.Time{}, time.Now().Add(time.Hour), func(tk history.Tick) bool {
		if len(tk.Decisions) > 0 {
			withDecisions++
		}
		if _, ok := tk.Metrics["tb/busy"]; ok {
			withBusy++
		}
		return true
	})
	if err != nil || withDecisions < 10 || withBusy < 5 {
		t.Errorf("history: %d ticks with decisions, %d with busy (err %v)", withDecisions, withBusy, err)
	}
	// Every tick of the summary's timeline says what the loop saw and did:
	// the envelope metric against its limit, the guard's band once it has
	// learnt the line, and the guard as the binding shaper when it cut.
	var read, banded, bound int
	for _, p := range sum.Timeline {
		sp := p.Shaping
		if sp == nil || len(sp.Envelope) != 1 || sp.Envelope[0].Metric != "busy" || sp.Envelope[0].Limit != 6 {
			t.Fatalf("tick at %.1fs: shaping %+v", p.T, sp)
		}
		if e := sp.Envelope[0]; !e.Missing && !e.Stale {
			read++
		}
		if b := sp.Envelope[0].Prediction; b != nil && b.By == "guard" && b.Upper >= b.Value && b.HorizonS > 0 {
			banded++
		}
		if b := sp.Binding(); b != nil && b.Shaper == "guard" && b.RateAfter < b.RateBefore && sp.Planned == b.RateBefore {
			bound++
		}
	}
	// The guard learns the line after a few ticks, later on a busy machine:
	// one band shows the report carries it.
	if read < 5 || banded < 1 || bound < 3 {
		t.Errorf("of %d ticks: %d with a busy reading, %d with the guard's band, %d where the guard bound the rate", len(sum.Timeline), read, banded, bound)
	}
	// The HTML report of the run draws them: the envelope metric with the
	// guard's band and the limit, the guard's decisions on the rate chart.
	var page strings.Builder
	if err := sum.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"busy against its limit (6)", `<polygon class="band"`, `<line class="limit"`, "<title>guard at ", "predicted for "} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	var out bytes.Buffer
	tick.WriteReport(&out, r)
	if !strings.Contains(out.String(), "guard") || !strings.Contains(out.String(), "control step p50") {
		t.Errorf("report text:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}

// A real run on 127.0.0.1: a presoak phase of at most 10 s at a steady
// rate against a quiet testbed settles (throughput varies little over a
// 2 s window) and the engine ends it there; the next phase then runs, and
// the summary tells the phase's real duration and why it ended early.
func TestPresoakEndsThePhaseEarly(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for a few seconds")
	}
	tb, err := testbed.Start(testbed.Config{Workers: 8, Capacity: 2000, Cost: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	plan := &lang.Plan{
		Name:     "presoak-test",
		Settings: lang.Settings{Tick: 250 * time.Millisecond},
		Targets:  []*lang.Target{{Name: "tb", URL: tb.URL, Timeout: 2 * time.Second, KeepAlive: true}},
		Requests: []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/work", Weight: 1, Priority: "normal"}},
		Shapers: []*lang.Shaper{{Name: "soak", Strategy: "presoak", Params: map[string]cty.Value{
			"metrics": cty.TupleVal([]cty.Value{cty.StringVal("throughput")}), "window": cty.StringVal("2s"),
			"threshold": cty.NumberFloatVal(0.5), "min_duration": cty.StringVal("1s"), "max_duration": cty.StringVal("10s")}}},
		Phases: []*lang.Phase{
			{Name: "soak", Duration: 10 * time.Second, Rate: stdlib.Constant(100), Arrival: "uniform", Warmup: true, Shapers: []string{"soak"}},
			{Name: "main", Start: 10 * time.Second, Duration: time.Second, Rate: stdlib.Constant(100), Arrival: "uniform"},
		},
	}
	sum := mustRun(t, plan, Options{NoHistory: true, Seed: 1}).Summary
	if len(sum.Phases) != 2 {
		t.Fatalf("%d phases ran", len(sum.Phases))
	}
	soak, main := sum.Phases[0], sum.Phases[1]
	if !soak.EndedEarly || soak.DurationS >= 7 || soak.PlannedS != 10 || !strings.Contains(soak.EndReason, "settled") {
		t.Errorf("soak: ended early %v after %.1fs of %.0fs: %q", soak.EndedEarly, soak.DurationS, soak.PlannedS, soak.EndReason)
	}
	if main.EndedEarly || main.Requests < 50 {
		t.Errorf("main: ended early %v, %d requests", main.EndedEarly, main.Requests)
	}
	var out bytes.Buffer
	sum.WriteText(&out)
	if !strings.Contains(out.String(), "phase soak ended early") {
		t.Errorf("summary:\n%s", out.String())
	}
	t.Logf("soak ran %.1fs: %s", soak.DurationS, soak.EndReason)
}

// A growth intent is rehearsed in a real run: from its At on the planned
// rate, and so what the generators send to the testbed on 127.0.0.1, is
// twice what it was; the live view, the summary and history say so.
func TestGrowthIntentDoublesTheSentRate(t *testing.T) {
	tb, err := testbed.Start(testbed.Config{Workers: 32, Capacity: 50000, Cost: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	plan := &lang.Plan{
		Name:     "growth-test",
		Settings: lang.Settings{Tick: 250 * time.Millisecond, Seed: 1},
		Targets:  []*lang.Target{{Name: "tb", URL: tb.URL, Timeout: 2 * time.Second, KeepAlive: true}},
		Requests: []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/work", Weight: 1, Priority: "normal"}},
		Intents:  []*lang.Intent{{Name: "sale", Kind: "growth", At: 2 * time.Second, Growth: 2}},
		Phases:   []*lang.Phase{{Name: "main", Duration: 4 * time.Second, Rate: stdlib.Constant(100), Arrival: "uniform"}},
	}
	store, rec := recorded(t, plan)
	var live bytes.Buffer
	sum := mustRun(t, plan, Options{Recorder: rec, Progress: engine.LineProgress{W: &live}}).Summary
	_ = rec.Finish(sum.Outcome, time.Now())

	// Requests per second over whole ticks well inside each half (a tick's
	// T is its end), so the tick the growth starts in counts for neither.
	mean := func(from, to float64) float64 {
		n, s := 0, 0.0
		for _, p := range sum.Timeline {
			if p.T > from && p.T <= to {
				n, s = n+1, s+p.Throughput
			}
		}
		if n == 0 {
			t.Fatalf("no tick in (%v, %v]: %+v", from, to, sum.Timeline)
		}
		return s / float64(n)
	}
	before, after := mean(0.5, 1.9), mean(2.6, 4)
	t.Logf("sent %.1f/s before the growth, %.1f/s after", before, after)
	if before < 80 || before > 120 {
		t.Errorf("before the growth %.1f/s, planned 100", before)
	}
	// Ignoring the growth gives a ratio near 1.
	if r := after / before; r < 1.7 || r > 2.3 {
		t.Errorf("after/before = %.2f, want about 2 (growth ×2)", r)
	}

	// The dry-run predicts the run: the same planned load, growth included.
	model, src, err := dryrun.FromSimulate(plan)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dryrun.Run(plan, dryrun.Options{Seed: 1, Model: model, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	planned, sent := rep.Phases[0].PlannedRequests, float64(sum.Overall.Requests)
	t.Logf("dry-run planned %.0f requests, the run sent %.0f", planned, sent)
	if planned < 590 || planned > 610 || sent < 0.9*planned || sent > 1.1*planned {
		t.Errorf("dry-run planned %.0f requests (want 2 s × 100 + 2 s × 200), the run sent %.0f", planned, sent)
	}

	if !strings.Contains(live.String(), `[growth "sale" ×2]`) {
		t.Errorf("live view does not show the growth:\n%s", live.String())
	}
	var text bytes.Buffer
	sum.WriteText(&text)
	if g := sum.Phases[0].Growth; len(g) != 1 || !strings.HasPrefix(g[0], `growth "sale" ×2 in force from 2.`) {
		t.Errorf("phase growth notes %q", g)
	}
	if !strings.Contains(text.String(), `phase main: growth "sale" ×2 in force from`) {
		t.Errorf("summary does not name the growth:\n%s", text.String())
	}
	found := 0
	err = store.Ticks(rec.Run().ID, time.Time{}, time.Now().Add(time.Hour), func(tk history.Tick) bool {
		for _, d := range tk.Decisions {
			if d.Shaper == tick.IntentShaper && strings.Contains(d.Reason, `growth "sale" ×2 in force`) {
				found++
			}
		}
		return true
	})
	if err != nil || found != 1 {
		t.Errorf("history: %d growth decisions, want 1 (err %v)", found, err)
	}
}

// safePlan is a one-target plan whose envelope depends on "busy", with a
// shaper in its only phase (safe mode applies to shaped phases).
func safePlan(url, endpoint, onStale string) *lang.Plan {
	var ms []*lang.MetricsSource
	if endpoint != "" {
		ms = []*lang.MetricsSource{{Kind: "scrape", Endpoint: endpoint, Queries: map[string]string{"busy": "testbed_busy_workers"},
			Timeout: 200 * time.Millisecond, OnStale: onStale}}
	}
	return &lang.Plan{
		Name:      "safe-mode-test",
		Settings:  lang.Settings{Tick: 250 * time.Millisecond},
		Targets:   []*lang.Target{{Name: "tb", URL: url, Timeout: 2 * time.Second, KeepAlive: true, Metrics: ms}},
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "busy", Max: 1000, Unit: "number"}}}},
		Requests:  []*lang.Request{{Name: "work", Target: "tb", Method: "GET", Path: "/work", Weight: 1, Priority: "normal"}},
		// prioritize leaves the rate alone until the envelope is under
		// pressure, so what holds the ramp here is safe mode alone.
		Shapers: []*lang.Shaper{{Name: "shed", Strategy: "prioritize", Envelope: "safe"}},
		Phases: []*lang.Phase{{Name: "ramp", Duration: 5 * time.Second, Rate: stdlib.Ramp{From: 20, To: 200}, Arrival: "uniform",
			Shapers: []string{"shed"}}},
	}
}

// A real run against the testbed on 127.0.0.1 whose scrape endpoint is a
// proxy that stops answering (hangs past the source's timeout) two
// seconds in: the run goes on, the rate sent never rises above the rate in
// force when safe mode began, and the safe-mode decisions reach history,
// the report and the live view.
func TestSafeModeRealRunScrapeGoesDark(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for 5 s")
	}
	tb, err := testbed.Start(testbed.Config{Workers: 8, Capacity: 2000, Cost: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	up, _ := url.Parse(tb.URL)
	proxy := httputil.NewSingleHostReverseProxy(up)
	var dark atomic.Bool
	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dark.Load() {
			select { // stop answering; the source times out
			case <-release:
			case <-time.After(5 * time.Second):
			}
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	defer close(release)
	timer := time.AfterFunc(2*time.Second, func() { dark.Store(true) })
	defer timer.Stop()

	plan := safePlan(tb.URL, "http://"+ln.Addr().String()+"/metrics", "hold")
	store, rec := recorded(t, plan)
	var ticks []*Tick
	var live bytes.Buffer
	res := mustRun(t, plan, Options{Recorder: rec, Seed: 1, Progress: engine.LineProgress{W: &live},
		OnTick: []func(*Tick){func(tk *Tick) { ticks = append(ticks, tk) }}})
	sum := res.Summary
	_ = rec.Finish(sum.Outcome, time.Now())
	if sum.Outcome != engine.OutcomeCompleted || sum.Overall.Requests == 0 {
		t.Fatalf("outcome %s, %d requests", sum.Outcome, sum.Overall.Requests)
	}
	heldAt := -1.0
	for _, ts := range ticks {
		if ts.Instruction.SafeMode == "" {
			if heldAt >= 0 {
				t.Errorf("tick %d left safe mode while the source is dark", ts.Tick)
			}
			continue
		}
		if heldAt < 0 {
			heldAt = ts.Instruction.Rate
		}
		if ts.Instruction.Rate > heldAt+1e-9 {
			t.Errorf("tick %d: rate %.1f rose above the held %.1f", ts.Tick, ts.Instruction.Rate, heldAt)
		}
	}
	last := ticks[len(ticks)-1].Instruction.Rate
	if heldAt < 0 || last >= 190 {
		t.Fatalf("safe mode never held the ramp (held at %.1f, last rate %.1f)", heldAt, last)
	}
	r := res.Shaping
	if r.SafeModeTicks < 3 || !strings.Contains(r.SafeModeReason, "tb/busy") && !strings.Contains(r.SafeModeReason, "busy") {
		t.Errorf("report: %d safe ticks, reason %q", r.SafeModeTicks, r.SafeModeReason)
	}
	var safeTicks int
	err = store.Ticks(rec.Run().ID, time.Time{}, time.Now().Add(time.Hour), func(tk history.Tick) bool {
		for _, d := range tk.Decisions {
			if d.Shaper == tick.SafeModeShaper {
				safeTicks++
			}
		}
		return true
	})
	if err != nil || safeTicks < 3 {
		t.Errorf("history: %d safe-mode decisions (err %v)", safeTicks, err)
	}
	var out bytes.Buffer
	tick.WriteReport(&out, r)
	if !strings.Contains(out.String(), "safe mode:") || !strings.Contains(out.String(), "source scrape of tb") {
		t.Errorf("report text:\n%s", out.String())
	}
	if !strings.Contains(live.String(), "safe mode hold") {
		t.Errorf("live view never showed safe mode:\n%s", live.String())
	}
	t.Logf("held at %.1f/s, last %.1f/s\n%s", heldAt, last, out.String())
}

// Each target's client source gets its own generator's figures.
func TestClientFiguresPerTarget(t *testing.T) {
	plan := &lang.Plan{Name: "two", Settings: lang.Settings{Tick: time.Second},
		Targets:  []*lang.Target{{Name: "a", URL: "http://127.0.0.1:1"}, {Name: "b", URL: "http://127.0.0.1:2"}},
		Requests: []*lang.Request{{Name: "ra", Target: "a", Weight: 1}, {Name: "rb", Target: "b", Weight: 1}},
		Phases:   []*lang.Phase{{Name: "main", Duration: time.Minute, Rate: stdlib.Constant(100)}}}
	live := newLiveReadings(plan, &metrics.Collector{}, 0, time.Second)
	last := &engine.TickStats{At: time.Now(), Targets: map[string]engine.TargetStats{
		"a": {Requests: 30, Throughput: 30, Latency: engine.Percentiles{P99: 12}},
		"b": {Requests: 10, Throughput: 10, Errors: 5, ErrorRate: 0.5}}}
	last.Throughput = 40
	live.observe(last)
	readings := live.Read(context.Background(), tick.Position{})
	for target, want := range map[string]float64{"a": 30, "b": 10} {
		if s, ok := readings.Get(target, metrics.Throughput); !ok || s.Stale || s.Value != want {
			t.Errorf("%s throughput %+v, want %v", target, s, want)
		}
	}
	if s, _ := readings.Get("a", metrics.LatencyP99); s.Value != 0.012 {
		t.Errorf("a p99 %v s, want 0.012", s.Value)
	}
	if s, _ := readings.Get("b", metrics.ErrorRate); s.Value != 0.5 {
		t.Errorf("b error rate %v, want 0.5", s.Value)
	}
}

// recorded is a history store and a run record of plan in a file of the
// test's own; the store closes when the test ends.
func recorded(t *testing.T, plan *lang.Plan) (*history.Store, *history.Recorder) {
	t.Helper()
	store, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rec, err := store.Begin(history.Run{Plan: plan.Name})
	if err != nil {
		t.Fatal(err)
	}
	return store, rec
}

func mustRun(t *testing.T, plan *lang.Plan, o Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), plan, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
