package control

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
)

func TestRangeOf(t *testing.T) {
	for q, want := range map[string]time.Duration{
		`rate(process_cpu_seconds_total{job="api"}[10s])`: 10 * time.Second,
		`avg_over_time(x[1m:5s]) + rate(y[5s])`:           time.Minute,
		`process_resident_memory_bytes`:                   0,
		`histogram_quantile(0.99, rate(h_bucket[500ms]))`: 500 * time.Millisecond,
	} {
		if got := rangeOf(q); got != want {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
}

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
	store, rec, loop := recordedLoop(t, plan)
	sum, err := engine.Run(context.Background(), plan, engine.Options{Controller: loop, OnTick: []func(*engine.TickStats){loop.OnTick}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = rec.Finish(sum.Outcome, time.Now())
	r := loop.Report()
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
	if read < 5 || banded < 3 || bound < 3 {
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
	WriteReport(&out, r)
	if !strings.Contains(out.String(), "guard") || !strings.Contains(out.String(), "control step p50") {
		t.Errorf("report text:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}

// recordedLoop is a control loop for plan that records into a history file
// of its own; the store and the loop close when the test ends.
func recordedLoop(t *testing.T, plan *lang.Plan) (*history.Store, *history.Recorder, *Loop) {
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
	loop, err := New(plan, Options{Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loop.Close() })
	return store, rec, loop
}
