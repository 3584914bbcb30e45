package eval

import (
	"fmt"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
)

// The evaluated plan loads, gives the control loop the testbed's
// utilisation as cpu, and its burst is past what the engine's pool sends:
// a dry-run from its simulate block predicts drops there and nowhere else.
func TestEvalPlanLoadsAndBurstDrops(t *testing.T) {
	src := fmt.Sprintf(EvalPlan, "http://127.0.0.1:9", 300.0, 8, 450.0, 600.0)
	plan, diags := lang.LoadSource("eval-plan.lshcl", []byte(src), lang.LoadOptions{})
	if diags.Diags.HasErrors() || plan == nil {
		t.Fatalf("eval plan: %s", diags.Diags.Error())
	}
	if len(plan.Phases) != 5 || len(plan.Targets) != 1 || len(plan.Targets[0].Metrics) != 1 ||
		plan.Targets[0].Metrics[0].Queries["cpu"] != "testbed_utilization_seconds_total" {
		t.Fatalf("unexpected plan: %d phases, targets %+v", len(plan.Phases), plan.Targets)
	}
	m, src2, err := dryrun.FromSimulate(plan)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dryrun.Run(plan, dryrun.Options{Seed: 1, Model: m, Source: src2})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Phases {
		if (p.Dropped > 100) != (p.Name == "burst") {
			t.Errorf("phase %s: %g dropped predicted", p.Name, p.Dropped)
		}
	}
}
