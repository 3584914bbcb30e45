package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/predictors"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

func testTarget(config string) *lang.Target {
	return &lang.Target{Name: "api", URL: "http://127.0.0.1:8080", Timeout: 10 * time.Second, KeepAlive: true, Config: config}
}

// learntState is what a predictive shaper and a per-class cost model learn
// of a simulated target in a few hundred ticks.
func learntState(t *testing.T, ticks int) ModelState {
	t.Helper()
	env := shapers.Limits{"cpu": 0.8}
	sh, err := shapers.New(shapers.Config{Name: "guard", Strategy: "predictive_rate_limit", Envelope: env, Tick: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l := sh.(shapers.Learner)
	cc, _ := predictors.NewClassCosts([]string{"browse", "checkout"}, 0.99)
	r := rand.New(rand.NewPCG(1, 1))
	var sent []float64
	cpu := []float64{}
	for i := 0; i < ticks; i++ {
		// The reading is two ticks late, and says so.
		m := shapers.Metric{Stale: true}
		if i >= 2 {
			m = shapers.Metric{Value: cpu[i-2] + 0.005*r.NormFloat64(), Age: 2 * time.Second}
		}
		plan := 50 + 1150*float64(i)/float64(ticks)
		s := &shapers.Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env,
			Phase:   shapers.PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: time.Duration(ticks) * time.Second, PlannedRate: plan},
			Metrics: map[string]shapers.Metric{"cpu": m}, Sent: append([]float64(nil), sent...)}
		out, _, err := l.Shape(s, shapers.Instruction{Rate: plan})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, out.Rate)
		cpu = append(cpu, min(1, 0.05+out.Rate/1000))
		rates := []float64{0.8 * out.Rate * (1 + 0.1*r.NormFloat64()), 0.2 * out.Rate * (1 + 0.1*r.NormFloat64())}
		cc.Observe(rates, 0.05+0.0005*rates[0]+0.003*rates[1]+0.005*r.NormFloat64())
	}
	st := ModelState{Shapers: map[string]shapers.PredictiveState{"guard": l.State()}, ClassCosts: map[string]predictors.ClassCostsState{"cpu": cc.Export()}}
	line, _ := predictors.RestoreResponseLine(st.Shapers["guard"].Learnt.Lines["cpu"])
	if c, ok := predictors.EstimateCapacity(line, "cpu", 0.8, 2, 1e4); ok {
		st.Capacity = map[string]predictors.Capacity{"cpu": c}
	}
	preds := tick.NewPredictions(&lang.Plan{Targets: []*lang.Target{testTarget("")},
		Predictors: []*lang.Predictor{{Name: "cpu", Metric: "cpu", Target: "api", Model: "ewma", Horizon: 10 * time.Second, History: time.Minute}}}, time.Second, env)
	for i, v := range cpu {
		m := map[string]shapers.Metric{"cpu": {Value: v}}
		preds.Fill(&shapers.Snapshot{Now: time.Duration(i) * time.Second, Metrics: m, Targets: map[string]map[string]shapers.Metric{"api": m}})
	}
	st.Forecasters = preds.Forecasters()
	return st
}

func TestModelKey(t *testing.T) {
	a := NewModelKey(testTarget(""), map[string]float64{"browse": 8, "checkout": 2}, "abc")
	b := NewModelKey(testTarget(""), map[string]float64{"browse": 4, "checkout": 1, "never": 0}, "def")
	if a.Host != "127.0.0.1" || a.Config != testTarget("").Fingerprint() || a.match() != b.match() {
		t.Errorf("keys %+v and %+v should match (same system, same mix; commits differ)", a, b)
	}
	other := testTarget("")
	other.URL = "http://127.0.0.1:9999" // another port: another block hash, so another config
	if NewModelKey(other, a.Mix, "").match() == a.match() {
		t.Error("a changed target block matched by default")
	}
	named := testTarget("v2")
	named2 := testTarget("v2")
	named2.URL = "http://127.0.0.1:9999"
	if NewModelKey(named, a.Mix, "").match() != NewModelKey(named2, a.Mix, "").match() {
		t.Error("with a config, the port is not part of the key")
	}
	if c := NewModelKey(testTarget(""), map[string]float64{"browse": 8, "checkout": 4}, ""); c.match() == a.match() || c.family() != a.family() {
		t.Error("another mix: same family, another match")
	}
	p := &lang.Plan{Targets: []*lang.Target{testTarget(""), {Name: "db", URL: "http://db.internal:5432"}},
		Requests: []*lang.Request{{Name: "browse", Weight: 8}, {Name: "checkout", Target: "api", Weight: 2}, {Name: "q", Target: "db", Weight: 1}}}
	k, err := ModelKeyFor(p, "api", "abc")
	if err != nil || k.match() != a.match() || len(k.Mix) != 2 {
		t.Errorf("key for the plan's api: %+v, %v", k, err)
	}
	if k, _ := ModelKeyFor(p, "db", ""); k.Host != "db.internal" || k.Mix["q"] != 1 {
		t.Errorf("key for db: %+v", k)
	}
	if _, err := ModelKeyFor(p, "nope", ""); err == nil {
		t.Error("a key for a target the plan does not have")
	}
}

func TestModelStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ms := s.Models()
	key := NewModelKey(testTarget("v1"), map[string]float64{"browse": 8, "checkout": 2}, "abc")
	if _, err := ms.Latest(key); !errors.Is(err, ErrNoModel) {
		t.Fatalf("latest in an empty store: %v", err)
	}
	st := learntState(t, 200)
	first := Model{Key: key, Ticks: 200, FitError: 0.02, Runs: []int{1}, State: st}
	if err := ms.Put(&first, t0); err != nil || first.ID != 1 {
		t.Fatalf("put: id %d, %v", first.ID, err)
	}
	// Checkpoints of the same model replace it; a second model of the same
	// key lives beside it.
	first.Ticks = 260
	if err := ms.Put(&first, t0.Add(time.Minute)); err != nil || first.ID != 1 {
		t.Fatalf("checkpoint: id %d, %v", first.ID, err)
	}
	second := Model{Key: key, Ticks: 30, Runs: []int{2}, From: 1, State: st}
	if err := ms.Put(&second, t0.Add(2*time.Minute)); err != nil || second.ID != 2 {
		t.Fatalf("second: id %d, %v", second.ID, err)
	}
	otherMix := NewModelKey(testTarget("v1"), map[string]float64{"browse": 1, "checkout": 1}, "abc")
	third := Model{Key: otherMix, Ticks: 90, Runs: []int{3}}
	if err := ms.Put(&third, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, err := ms.Latest(key); err != nil || m.ID != 2 {
		t.Errorf("latest: %d, %v; want 2", m.ID, err)
	}
	if m, err := ms.LatestAnyMix(key); err != nil || m.ID != 3 {
		t.Errorf("latest of any mix: %d, %v; want 3", m.ID, err)
	}
	if err := ms.Demote(2, "capacity lower than learnt at tick 4", t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, err := ms.Latest(key); err != nil || m.ID != 1 || m.Ticks != 260 {
		t.Errorf("latest after demoting 2: %+v, %v; want model 1 at 260 ticks", m.ID, err)
	}
	bad := Model{ID: 99, Key: key}
	if err := ms.Put(&bad, t0); !errors.Is(err, ErrNoModel) {
		t.Errorf("checkpoint of a model never stored: %v", err)
	}
	s.Close()

	// Reopened, the models and their indexes are back; the states read
	// back exactly as they were put.
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms = s.Models()
	list, err := ms.List()
	if err != nil || len(list) != 3 || list[1].Demoted == "" || list[0].Created != t0 || list[0].Updated != t0.Add(time.Minute) {
		t.Fatalf("list after reopening: %+v, %v", list, err)
	}
	want, _ := json.Marshal(st)
	got, _ := json.Marshal(list[0].State)
	if !bytes.Equal(want, got) {
		t.Errorf("state changed in the store:\n%s\n%s", want, got)
	}
	if err := list[0].Check(); err != nil {
		t.Errorf("stored model does not restore: %v", err)
	}
	if m, err := ms.Latest(key); err != nil || m.ID != 1 {
		t.Errorf("latest after reopening: %d, %v", m.ID, err)
	}
	if err := ms.Forget(1); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Get(1); !errors.Is(err, ErrNoModel) {
		t.Errorf("forgotten model: %v", err)
	}
	if _, err := ms.Latest(key); !errors.Is(err, ErrNoModel) {
		t.Errorf("latest with 1 forgotten and 2 demoted: %v", err)
	}
	if err := ms.Forget(1); !errors.Is(err, ErrNoModel) {
		t.Errorf("forgetting twice: %v", err)
	}
	// Ids are never reused.
	fourth := Model{Key: key}
	if err := ms.Put(&fourth, t0); err != nil || fourth.ID != 4 {
		t.Errorf("next id %d, %v; want 4", fourth.ID, err)
	}
	// Runs are unaffected by models, and models by pruning runs.
	if runs, err := s.Runs(); err != nil || len(runs) != 0 {
		t.Errorf("runs: %v, %v", runs, err)
	}
	if _, err := s.Prune(time.Hour, t0.Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l, _ := ms.List(); len(l) != 3 {
		t.Errorf("pruning runs removed models: %d left", len(l))
	}
	// A model with a state of another version is refused by Check.
	m := Model{State: ModelState{ClassCosts: map[string]predictors.ClassCostsState{"cpu": {Version: 7}}}}
	if err := m.Check(); !errors.Is(err, predictors.ErrStateVersion) {
		t.Errorf("check of a version-7 state: %v", err)
	}
}

// A run killed with SIGKILL keeps every checkpoint of its model that Put
// returned from.
func TestKilledRunKeepsModelCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestModelChildProcess$")
	cmd.Env = append(os.Environ(), "LOADSHAPER_MODEL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	last := -1
	for sc.Scan() {
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "checkpoint %d", &n); err == nil {
			last = n
			if n == 25 {
				break
			}
		} else if strings.HasPrefix(sc.Text(), "error") {
			t.Fatal(sc.Text())
		}
	}
	// While the child writes, a reader (a dry-run) sees its models.
	snap, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := snap.Models().Get(1); err != nil || m.Ticks < 250 {
		t.Errorf("snapshot: %+v, %v", m.Ticks, err)
	}
	if err := snap.Models().Put(&Model{}, t0); !errors.Is(err, ErrBusy) {
		t.Errorf("put through a snapshot: %v, want ErrBusy", err)
	}
	snap.Close()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if last != 25 {
		t.Fatalf("child reported %d checkpoints before dying", last)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	m, err := s.Models().Latest(NewModelKey(testTarget("v1"), map[string]float64{"browse": 1}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if m.Ticks < 250 || len(m.State.Shapers) != 1 {
		t.Errorf("after the kill: model at %d ticks, want at least 250 (checkpoint 25)", m.Ticks)
	}
	if err := m.Check(); err != nil {
		t.Errorf("the last checkpoint does not restore: %v", err)
	}
}

// TestModelChildProcess is the child of TestKilledRunKeepsModelCheckpoints;
// it does nothing in a normal test run.
func TestModelChildProcess(t *testing.T) {
	path := os.Getenv("LOADSHAPER_MODEL_CHILD")
	if path == "" {
		t.Skip("helper process for TestKilledRunKeepsModelCheckpoints")
	}
	s, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	st := learntState(t, 120)
	m := Model{Key: NewModelKey(testTarget("v1"), map[string]float64{"browse": 1}, ""), State: st}
	// Bounded: the parent kills us long before the end.
	for i := 0; i < 100000; i++ {
		m.Ticks = 10 * i
		if err := s.Models().Put(&m, t0.Add(time.Duration(i)*time.Second)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("checkpoint %d\n", i)
		time.Sleep(time.Millisecond)
	}
	os.Exit(0)
}

func TestModelReport(t *testing.T) {
	st := learntState(t, 200)
	m := Model{ID: 3, Key: NewModelKey(testTarget("v2.3-4cores"), map[string]float64{"browse": 8, "checkout": 2}, "0123456789abcdef"),
		Created: t0, Updated: t0.Add(time.Hour), Ticks: 840, FitError: 0.031, Runs: []int{12, 14}, From: 1, State: st}
	var b strings.Builder
	if err := WriteModelShow(&b, m, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"model 3: api at 127.0.0.1, config v2.3-4cores",
		"mix       browse 80%, checkout 20%",
		"updated   2026-11-27T13:00:00Z (2h0m0s ago)",
		"evidence  840 ticks, fit error 0.031 of the limit",
		"runs      12,14",
		"class costs of cpu:\n  base",
		"forecasters:\n  cpu  api/cpu: ewma → ewma, fitted on 60 values, ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// What the shaper learnt of cpu = 0.05 + rate/1000 (read two ticks
	// late): the line, and the capacity at 0.8 with a narrow band.
	for _, re := range []string{
		`shaper guard: lag 2 tick\(s\), over 1\n  cpu  y ≈ 0\.0[45]\d* \+ 0\.00(099|100)\d*·rate, σ 0\.00[45]`,
		`capacity:\n  cpu  reaches 0\.8 at 7[45]\d\.?\d* rps \(band 7[34]\d\.?\d* – 7[56]\d\.?\d* at 2 σ\)`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("show does not match %s:\n%s", re, out)
		}
	}
	b.Reset()
	if err := WriteModelList(&b, []Model{m}, t0.Add(3*time.Hour)); err != nil || !strings.Contains(b.String(), "api     127.0.0.1  v2.3-4cores") {
		t.Errorf("list:\n%s", b.String())
	}
}
