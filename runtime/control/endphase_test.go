package control

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

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
	loop, err := New(plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	sum, err := engine.Run(context.Background(), plan, engine.Options{Controller: loop, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
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
