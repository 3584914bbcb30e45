package eval

import (
	"strings"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
)

// The comparison itself, on made-up runs: errors and bounds.
func TestCompareRunsBounds(t *testing.T) {
	plan := &lang.Plan{Name: "sample"}
	rep := &dryrun.Report{TickSeconds: 1, Limits: []dryrun.Limit{{Envelope: "safe", Metric: "cpu", Max: 0.8}}}
	var actual []RunTick
	for i := 0; i < 20; i++ {
		phase := "ramp"
		if i >= 10 {
			phase = "guarded"
		}
		tk := dryrun.Tick{T: float64(i), Phase: phase, Shaped: 100}
		tk.CPU, tk.LatencyP99 = float64(i)/10, 0.1
		rep.Ticks = append(rep.Ticks, tk)
		// Reality: 30% less rate, cpu crossing 2 s later, p99 three times higher.
		actual = append(actual, RunTick{At: float64(i + 1), Phase: phase, Rate: 70, CPU: float64(i-2) / 10, P99: 0.3, Served: 70})
	}
	// A burst: 100 predicted dropped where 200 were (50%, over the bound).
	tk := dryrun.Tick{T: 20, Phase: "burst", Shaped: 600}
	tk.Dropped = 100
	rep.Ticks = append(rep.Ticks, tk)
	actual = append(actual, RunTick{At: 21, Phase: "burst", Rate: 600, Served: 300, Dropped: 200})
	rows := CompareRuns(plan, rep, actual)
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
