package control

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
)

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
	store, rec, loop := recordedLoop(t, plan)
	var live bytes.Buffer
	sum, err := engine.Run(context.Background(), plan, engine.Options{Controller: loop, OnTick: []func(*engine.TickStats){loop.OnTick},
		Progress: engine.LineProgress{W: &live}})
	if err != nil {
		t.Fatal(err)
	}
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
			if d.Shaper == IntentShaper && strings.Contains(d.Reason, `growth "sale" ×2 in force`) {
				found++
			}
		}
		return true
	})
	if err != nil || found != 1 {
		t.Errorf("history: %d growth decisions, want 1 (err %v)", found, err)
	}
}
