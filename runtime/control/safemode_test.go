package control

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

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

// A fake source answers for three ticks, then fails: with on_stale
// "lower" the loop cuts the rate by SafeLowerFactor a tick down to the
// floor; with "hold" it keeps it at the last rate sent; with "ignore" it
// lets the planned ramp through. Every safe tick carries a decision.
func TestSafeModeWithFakeSource(t *testing.T) {
	for _, pol := range []string{"lower", "hold", "ignore"} {
		t.Run(pol, func(t *testing.T) {
			plan := safePlan("http://127.0.0.1:1", "", pol)
			var n atomic.Int32
			coll := &metrics.Collector{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
			coll.Add(metrics.Spec{Target: "tb", Name: "fake", OnStale: pol, Metrics: []string{"busy"},
				Source: metrics.SourceFunc(func(context.Context, time.Time) (map[string]metrics.Sample, error) {
					if n.Add(1) > 3 {
						return nil, errors.New("connection refused")
					}
					return map[string]metrics.Sample{"busy": {Value: 1}}, nil
				})})
			loop, err := New(plan, Options{Collector: coll})
			if err != nil {
				t.Fatal(err)
			}
			ph := plan.Phases[0]
			var last *engine.TickStats
			var rates []float64
			for i := 0; i < 30; i++ {
				planned := 100 + 10*float64(i) // the plan keeps asking for more
				in := shapers.Instruction{Rate: planned, Mix: map[string]float64{"work": 1}}
				out := loop.Control(engine.TickInfo{Tick: i, Elapsed: time.Duration(i) * time.Second, Phase: ph,
					PhaseElapsed: time.Duration(i) * time.Second, PlannedRate: planned, Last: last}, in)
				rates = append(rates, out.Rate)
				last = &engine.TickStats{Tick: i, At: time.Now(), Instruction: out}
				safe := false
				for _, d := range loop.decisions {
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
			r := loop.Report()
			if (r.SafeModeTicks > 0) != (pol != "ignore") {
				t.Errorf("report: %d safe-mode ticks", r.SafeModeTicks)
			}
		})
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
	store, rec, loop := recordedLoop(t, plan)
	var ticks []*engine.TickStats
	var live bytes.Buffer
	sum, err := engine.Run(context.Background(), plan, engine.Options{Controller: loop, Seed: 1,
		Progress: engine.LineProgress{W: &live},
		OnTick:   []func(*engine.TickStats){loop.OnTick, func(ts *engine.TickStats) { ticks = append(ticks, ts) }}})
	if err != nil {
		t.Fatal(err)
	}
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
	r := loop.Report()
	if r.SafeModeTicks < 3 || !strings.Contains(r.SafeModeReason, "tb/busy") && !strings.Contains(r.SafeModeReason, "busy") {
		t.Errorf("report: %d safe ticks, reason %q", r.SafeModeTicks, r.SafeModeReason)
	}
	var safeTicks int
	err = store.Ticks(rec.Run().ID, time.Time{}, time.Now().Add(time.Hour), func(tk history.Tick) bool {
		for _, d := range tk.Decisions {
			if d.Shaper == SafeModeShaper {
				safeTicks++
			}
		}
		return true
	})
	if err != nil || safeTicks < 3 {
		t.Errorf("history: %d safe-mode decisions (err %v)", safeTicks, err)
	}
	var out bytes.Buffer
	WriteReport(&out, r)
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
	loop, err := New(plan, Options{Collector: &metrics.Collector{}})
	if err != nil {
		t.Fatal(err)
	}
	last := &engine.TickStats{At: time.Now(), Targets: map[string]engine.TargetStats{
		"a": {Requests: 30, Throughput: 30, Latency: engine.Percentiles{P99: 12}},
		"b": {Requests: 10, Throughput: 10, Errors: 5, ErrorRate: 0.5}}}
	last.Throughput = 40
	loop.Control(engine.TickInfo{Tick: 1, Phase: plan.Phases[0], Last: last}, shapers.Instruction{Rate: 100})
	for target, want := range map[string]float64{"a": 30, "b": 10} {
		if s, ok := loop.readings.Get(target, metrics.Throughput); !ok || s.Stale || s.Value != want {
			t.Errorf("%s throughput %+v, want %v", target, s, want)
		}
	}
	if s, _ := loop.readings.Get("a", metrics.LatencyP99); s.Value != 0.012 {
		t.Errorf("a p99 %v s, want 0.012", s.Value)
	}
	if s, _ := loop.readings.Get("b", metrics.ErrorRate); s.Value != 0.5 {
		t.Errorf("b error rate %v, want 0.5", s.Value)
	}
}
