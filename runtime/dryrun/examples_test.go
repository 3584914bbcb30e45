package dryrun

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
)

// Every bundled example dry-runs from each source of a simulated target:
// its simulate block (or the defaults), an imported series of its target,
// and the history of earlier runs of the plan.
func TestEveryExampleFromEverySource(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.lshcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			plan, diags := lang.Load([]string{f}, lang.LoadOptions{})
			if diags.HasErrors() {
				t.Fatalf("example does not load: %s", diags.Error())
			}
			path := filepath.Join(t.TempDir(), "history.db")
			opts := SourceOptions{HistoryPath: path}

			r, err := Predict(plan, 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			if k := r.Source.Kind; k != "simulate" && k != "default" {
				t.Fatalf("no history: source %q", k)
			}
			checkReport(t, plan, r)

			if len(plan.Targets) > 0 {
				store, err := history.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				var csv strings.Builder
				for i := 0; i < 30; i++ {
					fmt.Fprintf(&csv, "%d,%g\n", 1_600_000_000+60*i, 0.2+0.001*float64(i))
				}
				if _, err := store.ImportCSV(strings.NewReader(csv.String()), "bg.csv", plan.Targets[0].Name, "cpu", time.Unix(1_700_000_000, 0)); err != nil {
					t.Fatal(err)
				}
				store.Close()
				r, err := Predict(plan, 1, opts)
				if err != nil {
					t.Fatal(err)
				}
				if r.Source.Kind != "import" || r.Source.Runs != 1 {
					t.Fatalf("with an import: source %+v", r.Source)
				}
				checkReport(t, plan, r)
			}

			store, err := history.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			truth := simtarget.Model{Cores: 2, BaseCPU: 0.05, CostPerRequest: 0.001, BaseLatency: 2 * time.Millisecond, BaseMemory: 300 << 20, MemoryPerConn: 1 << 20}
			recordRun(t, store, plan.Name, truth, 1, func(i int) float64 { return 50 + 15*float64(i) }, 100)
			store.Close()
			r, err = Predict(plan, 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Source.Kind != "history" || r.Source.Runs != 1 || r.Source.Ticks != 100 {
				t.Fatalf("with a run in history: source %+v", r.Source)
			}
			checkReport(t, plan, r)
		})
	}
}

func checkReport(t *testing.T, plan *lang.Plan, r *Report) {
	t.Helper()
	if len(r.Phases) != len(plan.Phases) || len(r.Ticks) == 0 {
		t.Fatalf("%d phases, %d ticks", len(r.Phases), len(r.Ticks))
	}
	if r.Duration > plan.TotalDuration().Seconds() {
		t.Fatalf("predicted %gs for a %s plan", r.Duration, plan.TotalDuration())
	}
	for _, tk := range r.Ticks {
		if tk.Shaped < 0 || tk.CPU < 0 || tk.CPU > 1 || tk.LatencyP99 < tk.LatencyP50 {
			t.Fatalf("implausible tick %+v", tk)
		}
	}
	var b strings.Builder
	if err := WriteText(&b, r, TextOptions{Charts: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Verdict:") {
		t.Fatal("text report without a verdict")
	}
}
