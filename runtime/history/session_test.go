package history

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

func TestStartRunSession(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	planFile := filepath.Join(dir, "shop.lshcl")
	os.WriteFile(planFile, []byte("# plan\n"), 0o644)
	path := filepath.Join(dir, "h", "history.db")
	p := &lang.Plan{Name: "shop", Dir: dir, Files: []string{planFile}, Settings: lang.Settings{HistoryPath: path, HistoryKeep: 48 * time.Hour}}

	// An old run, beyond the plan's retention.
	old, err := StartRun(p, "", t0.Add(-72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	old.Record(Tick{At: old.Run().Start, Metrics: map[string]float64{"api/cpu": 0.1}})
	if err := old.Finish("passed", t0.Add(-71*time.Hour)); err != nil {
		t.Fatal(err)
	}

	s, err := StartRun(p, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pruned) != 1 || s.Pruned[0] != 1 || s.Run().ID != 2 || s.Run().PlanHash == "" {
		t.Fatalf("session: pruned %v, run %+v", s.Pruned, s.Run())
	}
	// A second writer is refused, so the run can go on without history.
	if _, err := StartRun(p, "", t0); !errors.Is(err, ErrBusy) {
		t.Errorf("second StartRun: %v, want ErrBusy", err)
	}
	for i := 0; i < 3; i++ {
		if err := s.Record(Tick{N: i, At: t0.Add(time.Duration(i) * time.Second), Metrics: map[string]float64{"api/cpu": float64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish("completed", t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The flag wins over the plan's path.
	other := filepath.Join(dir, "flag.db")
	f, err := StartRun(p, other, t0)
	if err != nil {
		t.Fatal(err)
	}
	f.Finish("completed", t0)
	if _, err := os.Stat(other); err != nil {
		t.Errorf("--history file not created: %v", err)
	}

	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, _ := st.LatestRuns("shop", 0)
	if len(runs) != 1 || runs[0].Outcome != "completed" || runs[0].Ticks != 3 {
		t.Errorf("runs = %+v", runs)
	}
}
