package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/stdlib"
)

// ruleRun is a run of a one-phase plan whose only shaper is the rule src
// (named rules/r.star, as a plan in the test's directory would), against a
// testbed on 127.0.0.1, its loop recording into a history of its own and
// run as the CLI runs it (runtime.Run).
type ruleRun struct {
	sum    *engine.Summary
	report tick.Report
	store  *history.Store
	rec    *history.Recorder
}

func runRule(t *testing.T, src, onError string, dur time.Duration, progress engine.Progress) ruleRun {
	t.Helper()
	if testing.Short() {
		t.Skip("sends load")
	}
	tb, err := testbed.Start(testbed.Config{Workers: 8, Capacity: 2000, Cost: 10 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	path := filepath.Join(t.TempDir(), "r.star")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := &lang.Plan{
		Name:      "rule-test",
		Settings:  lang.Settings{Tick: 250 * time.Millisecond},
		Targets:   []*lang.Target{{Name: "tb", URL: tb.URL, Timeout: 2 * time.Second, KeepAlive: true}},
		Envelopes: []*lang.Envelope{{Name: "safe", Limits: []lang.Limit{{Metric: "cpu", Max: 0.8, Unit: "fraction"}}}},
		Requests:  []*lang.Request{{Name: "get", Target: "tb", Method: "GET", Path: "/", Weight: 1, Priority: "normal"}},
		Shapers:   []*lang.Shaper{{Name: "rule", Script: path, ScriptName: "rules/r.star", OnError: onError}},
		Phases: []*lang.Phase{{Name: "ramp", Duration: dur, Rate: stdlib.Ramp{From: 20, To: 100}, Arrival: "uniform",
			Shapers: []string{"rule"}}},
	}
	store, rec := recorded(t, plan)
	res := mustRun(t, plan, Options{Recorder: rec, Progress: progress, Seed: 1})
	sum := res.Summary
	_ = rec.Finish(sum.Outcome, time.Now())
	return ruleRun{sum, res.Shaping, store, rec}
}

// A rule that lints clean but fails on every tick at run time cannot hide:
// the live view marks every tick with the rule's file:line, the summary
// prints the whole error and fails the run, the summary's timeline and
// history keep the error of each tick.
func TestBrokenRuleCannotHide(t *testing.T) {
	var live bytes.Buffer
	run := runRule(t, "def shape(ctx):\n    w = ctx.mix[\"checkout\"]\n    return decision(rate = ctx.rate * w)\n", "fallback", 2*time.Second,
		engine.LineProgress{W: &live})
	sum, r, store, rec := run.sum, run.report, run.store, run.rec
	const where = `rules/r.star:2:16: in shape: key "checkout" not in dict`
	if f := r.ShaperFailure(); !strings.Contains(f, `shaper "rule" failed on every one of its`) {
		t.Errorf("ShaperFailure = %q", f)
	}
	var out bytes.Buffer
	tick.WriteReport(&out, r)
	for _, want := range []string{`FAILED: shaper "rule" failed on every one of its`, "      " + where, "Traceback (most recent call last):"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, out.String())
		}
	}
	ticks := strings.Count(live.String(), "\n[")
	if n := strings.Count(live.String(), "[rule FAILED: "+where+"]"); n == 0 || n < ticks-1 {
		t.Errorf("%d of %d live lines show the failure:\n%s", n, ticks, live.String())
	}
	marked := 0
	for _, p := range sum.Timeline {
		if fs := p.Shaping.Fallbacks(); len(fs) == 1 && fs[0].Error == where {
			marked++
		}
	}
	if marked < len(sum.Timeline)-1 {
		t.Errorf("%d of %d timeline points carry the failure", marked, len(sum.Timeline))
	}
	withError := 0
	_ = store.Ticks(rec.Run().ID, time.Time{}, time.Now().Add(time.Hour), func(tk history.Tick) bool {
		for _, d := range tk.Decisions {
			if d.Fallback && strings.HasPrefix(d.Error, where+"\nTraceback") {
				withError++
			}
		}
		return true
	})
	if withError < r.Ticks-1 {
		t.Errorf("history keeps the error on %d of %d ticks", withError, r.Ticks)
	}
}

// on_error = "fail": the first failure stops the run, as aborted with the
// rule's error, through the stop function the caller wires to its context.
func TestOnErrorFailStopsTheRun(t *testing.T) {
	run := runRule(t, "def shape(ctx):\n    if ctx.tick >= 2:\n        fail(\"rule gave up\")\n    return None\n", "fail", 10*time.Second, nil)
	sum := run.sum
	if sum.Outcome != engine.OutcomeAborted || !strings.Contains(sum.Reason, `shaper "rule" failed (on_error = "fail"): rules/r.star:3:13: in shape: fail: rule gave up`) {
		t.Errorf("outcome %s: %s", sum.Outcome, sum.Reason)
	}
	// Stopped at the third control step of 40, not at the phase's end.
	if n := len(sum.Timeline); n > 6 {
		t.Errorf("%d ticks ran after the failure at the third", n)
	}
	if f := run.report.ShaperFailure(); !strings.Contains(f, `on_error = "fail"`) {
		t.Errorf("ShaperFailure = %q", f)
	}
}

// ctx.metrics.cpu is None in a run when no source provides cpu, as the
// spec says: the rule that checks for None runs on every tick.
func TestRunMissingMetricIsNone(t *testing.T) {
	run := runRule(t, `
def shape(ctx):
    if ctx.metrics.cpu == None:
        return decision(rate = ctx.rate * 0.5, reason = "no cpu reading: half rate")
    return decision(rate = ctx.rate)
`, "fallback", time.Second, nil)
	sum, r := run.sum, run.report
	if len(r.Shapers) == 0 || r.Shapers[0].Fallbacks != 0 || r.Shapers[0].TicksActed == 0 || r.ShaperFailure() != "" {
		t.Fatalf("report %+v", r.Shapers)
	}
	p := sum.Timeline[1].Shaping
	if b := p.Binding(); b == nil || b.Reason != "no cpu reading: half rate" || len(p.Envelope) != 1 || !p.Envelope[0].Missing {
		t.Errorf("shaping point %+v", p)
	}
}
