package dryrun

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/shapers"
)

// recordRun writes what a run of plan against the truth target would have
// left in history: per tick, the instruction and the target's metrics.
func recordRun(t *testing.T, store *history.Store, plan string, truth simtarget.Model, seed int64, rate func(i int) float64, n int) {
	t.Helper()
	rec, err := store.Begin(history.Run{Plan: plan, Start: time.Unix(1_700_000_000+seed*10_000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simtarget.New(truth, seed)
	if err != nil {
		t.Fatal(err)
	}
	start := rec.Run().Start
	for i := 0; i < n; i++ {
		r := rate(i)
		s := sim.Step(time.Duration(i)*time.Second, time.Second, r)
		err := rec.Record(history.Tick{N: i, At: start.Add(time.Duration(i+1) * time.Second), Phase: "ramp",
			Instruction: history.FromInstruction(shapers.Instruction{Rate: r}),
			Metrics:     map[string]float64{"api/cpu": s.CPU, "api/memory": s.Memory, "api/latency_p50": s.LatencyP50, "api/latency_p99": s.LatencyP99}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Finish("passed", start.Add(time.Duration(n)*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func historyPlan() *lang.Plan {
	p := samplePlan()
	p.Targets = []*lang.Target{{Name: "api", URL: "http://127.0.0.1:1"}}
	return p
}

func TestTargetFromEarlierRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	store, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	truth := simtarget.Model{Cores: 2, BaseCPU: 0.1, CostPerRequest: 0.004, BaseLatency: 3 * time.Millisecond, BaseMemory: 200 << 20, MemoryPerConn: 1 << 20, Noise: 0.02}
	ramp := func(i int) float64 { return 20 + 3*float64(i) }
	recordRun(t, store, "sample", truth, 1, ramp, 120)
	recordRun(t, store, "sample", truth, 2, ramp, 120)
	recordRun(t, store, "other", simtarget.Model{Cores: 1, CostPerRequest: 0.1}, 3, ramp, 50)
	store.Close()

	plan := historyPlan() // its simulate block says capacity 1000; history says 450
	m, src, err := ChooseTarget(plan, SourceOptions{HistoryPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind != "history" || src.Runs != 2 || src.Ticks != 240 {
		t.Fatalf("source %+v", src)
	}
	if got, want := m.Capacity(0), truth.Capacity(0); math.Abs(got-want)/want > 0.1 {
		t.Fatalf("capacity fitted from history %.0f, true %.0f (%s)", got, want, src.Detail)
	}
	r, err := Predict(plan, 1, SourceOptions{HistoryPath: path})
	if err != nil {
		t.Fatal(err)
	}
	// cpu 0.8 at (0.8−0.1)·2/0.004 = 350 req/s, reached ~18 s into the ramp.
	if r.FirstBreach == nil || r.FirstBreach.Metric != "cpu" || r.FirstBreach.At < 25 || r.FirstBreach.At > 35 {
		t.Fatalf("first breach from history: %+v", r.FirstBreach)
	}
}

func TestTargetFromImportAndFallbacks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	plan := historyPlan()

	// No store: the simulate block, and the file is not created.
	_, src, err := ChooseTarget(plan, SourceOptions{HistoryPath: path})
	if err != nil || src.Kind != "simulate" || !strings.Contains(src.Detail, "no history at") {
		t.Fatalf("no store: %+v %v", src, err)
	}
	store, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	for i := 0; i < 48; i++ {
		// Percent, rising from 30% to ~40%, every 5 minutes.
		csv.WriteString(time.Unix(1_600_000_000+int64(i)*300, 0).UTC().Format(time.RFC3339))
		csv.WriteString(",")
		csv.WriteString(strconv.FormatFloat(30+0.2*float64(i), 'f', 2, 64))
		csv.WriteString("\n")
	}
	if _, err := store.ImportCSV(strings.NewReader(csv.String()), "cpu.csv", "api", "cpu", time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	m, src, err := ChooseTarget(plan, SourceOptions{HistoryPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind != "import" || src.Runs != 1 || src.Ticks != 48 || !strings.Contains(src.Detail, "percent") {
		t.Fatalf("source %+v", src)
	}
	if len(m.BackgroundCPU) == 0 || m.BackgroundCPU[0] < 0.38 || m.BackgroundCPU[0] > 0.41 {
		t.Fatalf("background cpu %v", m.BackgroundCPU[:3])
	}
	r, err := Run(plan, Options{Seed: 1, Model: m, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	// With ~40% of the cpu taken, 80% is reached at ~400 req/s instead of 800.
	if r.FirstBreach == nil || r.FirstBreach.Rate > 500 {
		t.Fatalf("first breach with background load: %+v", r.FirstBreach)
	}
}
