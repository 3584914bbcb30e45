package dryrun

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
)

var update = flag.Bool("update", false, "rewrite the golden dry-run reports in testdata/golden")

// The seeded dry-run of every example and of the plans in testdata/golden,
// as JSON, is kept as a golden file: a change to the control tick, the
// simulated target or a shaper that moves any figure shows up as a diff
// (go test ./runtime/dryrun -run Golden -update rewrites them).
func TestGoldenDryRuns(t *testing.T) {
	plans, _ := filepath.Glob("../../examples/*.lshcl")
	more, _ := filepath.Glob("testdata/golden/*.lshcl")
	plans = append(append(plans, "testdata/over.lshcl"), more...)
	for _, path := range plans {
		name := strings.TrimSuffix(filepath.Base(path), ".lshcl")
		plan, diags := lang.Load([]string{path}, lang.LoadOptions{})
		if diags.HasErrors() {
			t.Fatalf("%s: %s", path, diags.Error())
		}
		t.Run(name, func(t *testing.T) {
			hp := filepath.Join(t.TempDir(), "history.db")
			r, err := Predict(plan, 1, SourceOptions{HistoryPath: hp})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "testdata/golden/"+name+".json", r, hp)
		})
		if len(plan.Targets) == 0 {
			continue
		}
		t.Run(name+"/history", func(t *testing.T) {
			// The same plan fitted from one recorded run of a known target.
			hp := filepath.Join(t.TempDir(), "history.db")
			store, err := history.Open(hp)
			if err != nil {
				t.Fatal(err)
			}
			truth := simtarget.Model{Cores: 2, BaseCPU: 0.05, CostPerRequest: 0.002, BaseLatency: 2 * time.Millisecond, BaseMemory: 300 << 20, MemoryPerConn: 1 << 20}
			recordRun(t, store, plan.Name, truth, 1, func(i int) float64 { return 50 + 8*float64(i) }, 120)
			store.Close()
			r, err := Predict(plan, 1, SourceOptions{HistoryPath: hp})
			if err != nil {
				t.Fatal(err)
			}
			if r.Source.Kind != "history" {
				t.Fatalf("source %q, want history", r.Source.Kind)
			}
			checkGolden(t, "testdata/golden/"+name+".history.json", r, hp)
		})
	}
}

// checkGolden compares r's JSON with file; the temporary history path is
// written as HISTORY.
func checkGolden(t *testing.T, file string, r *Report, historyPath string) {
	t.Helper()
	var raw bytes.Buffer
	if err := WriteJSON(&raw, r); err != nil {
		t.Fatal(err)
	}
	b := bytes.NewBuffer(bytes.ReplaceAll(raw.Bytes(), []byte(historyPath), []byte("HISTORY")))
	if *update {
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, b.Bytes()) {
		t.Errorf("%s differs from the dry-run (-update rewrites it); first difference at line %d", file, firstDiffLine(want, b.Bytes()))
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
