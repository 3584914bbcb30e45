package runtime

import (
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/shapers"
)

// lint checks a rule's attribute names against lang's tables; the shapers
// package builds the ctx and req the rule reads at run time. The two must
// agree, or lint would reject a valid rule or pass a broken one.
func TestScriptAttributeTablesAgree(t *testing.T) {
	src := `
def shape(ctx):
    i = ctx.intents[0]
    p = ctx.predictions.cpu
    return decision(reason = "|".join([",".join(dir(x)) for x in (ctx, ctx.phase, p, i)]))

def prioritize(req, ctx):
    fail(",".join(dir(req)))
`
	sc, err := shapers.NewScript(shapers.Config{Name: "r", Script: "r.star", Source: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	s := &shapers.Snapshot{Predictions: map[string]shapers.Prediction{"cpu": {}},
		Intents: []shapers.Intent{{Name: "sale", Kind: "growth", At: time.Minute, Factor: 2}}}
	_, d, err := sc.Shape(s, shapers.Instruction{Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(d.Reason, "|")
	for i, want := range [][]string{lang.ScriptCtxAttrs, lang.ScriptPhaseAttrs, lang.ScriptPredictionAttrs, lang.ScriptIntentAttrs} {
		if got[i] != strings.Join(want, ",") {
			t.Errorf("table %d: the runtime has %s, lang checks %s", i, got[i], strings.Join(want, ","))
		}
	}
	sc2, err := shapers.NewScript(shapers.Config{Name: "r", Script: "r.star", Source: []byte(src),
		Requests: []shapers.RequestClass{{Name: "a", Priority: "low", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = sc2.Shape(s, shapers.Instruction{Rate: 1})
	if err == nil || !strings.Contains(err.Error(), strings.Join(lang.ScriptRequestAttrs, ",")) {
		t.Errorf("req: the runtime's attributes %v, lang checks %v", err, lang.ScriptRequestAttrs)
	}
	// The generators' figures the control loop puts in every ctx.metrics.
	known := map[string]bool{}
	for m := range lang.BuiltinMetrics {
		known[m] = true
	}
	for _, m := range lang.ScriptClientMetrics {
		known[m] = true
	}
	for _, m := range []string{metrics.Throughput, metrics.ErrorRate, metrics.InFlight, metrics.LatencyP50, metrics.LatencyP90,
		metrics.LatencyP95, metrics.LatencyP99, metrics.LatencyP999, metrics.LatencyMax} {
		if !known[m] {
			t.Errorf("lint would warn that ctx.metrics.%s is always None", m)
		}
	}
}
