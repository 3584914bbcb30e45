package dryrun

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var evalPrint = flag.Bool("eval-print", false, "print the dry-run evaluation table (make eval-plan)")

// TestEvalPlan runs the plan for real against the testbed twice and checks
// that the dry-run fitted to the first run predicts the second within the
// bounds stated in EvalRow.Bound (spec/dry-run.md, "Evaluation").
func TestEvalPlan(t *testing.T) {
	if testing.Short() || os.Getenv("LOADSHAPER_EVAL") == "" {
		t.Skip("runs the testbed for about a minute: make eval-plan (or LOADSHAPER_EVAL=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log *os.File
	if *evalPrint {
		log = os.Stdout
	}
	o := EvalOptions{HistoryPath: filepath.Join(t.TempDir(), "history.db"), Seed: 1}
	if log != nil {
		o.Log = log
	}
	res, err := Evaluate(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if *evalPrint {
		if err := WriteEvalTable(os.Stdout, res); err != nil {
			t.Fatal(err)
		}
	}
	if res.Source.Kind != "history" {
		t.Fatalf("the dry-run did not fit the previous run: %+v", res.Source)
	}
	for _, r := range res.Rows {
		if !r.OK {
			t.Errorf("%s: predicted %.3g, actual %.3g: error %.3g over the bound %.3g (%s)", r.Name, r.Predicted, r.Actual, r.Error, r.Bound, r.Unit)
		}
	}
}

// The comparison itself, on made-up runs: errors and bounds.
func TestCompareRunsBounds(t *testing.T) {
	plan := samplePlan()
	rep := &Report{TickSeconds: 1, Limits: []Limit{{Envelope: "safe", Metric: "cpu", Max: 0.8}}}
	var actual []evalTick
	for i := 0; i < 20; i++ {
		phase := "ramp"
		if i >= 10 {
			phase = "guarded"
		}
		tk := Tick{T: float64(i), Phase: phase, Shaped: 100}
		tk.CPU, tk.LatencyP99 = float64(i)/10, 0.1
		rep.Ticks = append(rep.Ticks, tk)
		// Reality: 30% less rate, cpu crossing 2 s later, p99 three times higher.
		actual = append(actual, evalTick{at: float64(i + 1), phase: phase, rate: 70, cpu: float64(i-2) / 10, p99: 0.3, served: 70})
	}
	// A burst: 100 predicted dropped where 200 were (50%, over the bound).
	tk := Tick{T: 20, Phase: "burst", Shaped: 600}
	tk.Dropped = 100
	rep.Ticks = append(rep.Ticks, tk)
	actual = append(actual, evalTick{at: 21, phase: "burst", rate: 600, served: 300, dropped: 200})
	rows := compareRuns(plan, rep, actual)
	want := map[string]bool{"mean shaped rate": false, "peak cpu": false, "p99": false, "first time": true, "dropped": false}
	for _, r := range rows {
		for prefix, ok := range want {
			if strings.HasPrefix(r.Name, prefix) && r.OK != ok {
				t.Errorf("%s: ok=%v (error %.3g, bound %.3g), want %v", r.Name, r.OK, r.Error, r.Bound, ok)
			}
		}
	}
	if rows[3].Error != 2 {
		t.Errorf("first-limit error %g s, want 2", rows[3].Error)
	}
	if rows[4].Predicted != 100 || rows[4].Actual != 200 || rows[4].Error != 0.5 {
		t.Errorf("drops row %+v, want 100 vs 200: error 0.5", rows[4])
	}
}
