package simtarget

import (
	"math"
	"strings"
	"testing"
	"time"
)

// observe runs a known model under a ramp and records what history would hold.
func observe(t *testing.T, m Model, seed int64, rates func(i int) float64, n int) []Obs {
	t.Helper()
	s := mustSim(t, m, seed)
	var out []Obs
	for i := 0; i < n; i++ {
		r := rates(i)
		smp := s.Step(time.Duration(i)*time.Second, time.Second, r)
		out = append(out, Obs{Rate: r, CPU: smp.CPU, Memory: smp.Memory, P50: smp.LatencyP50, P99: smp.LatencyP99, Served: math.NaN()})
	}
	return out
}

func TestFitRecoversTheLoadResponseCurve(t *testing.T) {
	truth := Model{Cores: 2, BaseCPU: 0.05, CostPerRequest: 0.002, BaseLatency: 2 * time.Millisecond,
		BaseMemory: 100 << 20, MemoryPerConn: 1 << 20, Noise: 0.03, CPUWindow: 5 * time.Second}
	ramp := func(i int) float64 { return 10 + 4*float64(i) } // up to ~810 req/s: cpu 0.86
	runs := [][]Obs{observe(t, truth, 1, ramp, 200), observe(t, truth, 2, ramp, 200)}
	m, info, err := Fit(runs, time.Second, Model{Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	if info.Runs != 2 || info.Ticks != 400 || info.CPUPairs < 300 {
		t.Fatalf("info %+v", info)
	}
	t.Log(info.Detail)
	if got, want := m.Capacity(0), truth.Capacity(0); math.Abs(got-want)/want > 0.08 {
		t.Errorf("fitted capacity %.0f req/s, true %.0f (%s)", got, want, info.Detail)
	}
	if math.Abs(m.BaseCPU-0.05) > 0.03 {
		t.Errorf("fitted base cpu %g, true 0.05", m.BaseCPU)
	}
	if m.LatencyCurve == nil || m.LatencyCurve.K <= 0 {
		t.Fatalf("no rising latency curve: %+v", m.LatencyCurve)
	}
	// The fitted target predicts p99 near the truth at 70% utilisation.
	r := 0.65 * truth.Capacity(0)
	a := steady(mustSim(t, withoutNoise(truth), 1), r, 10).LatencyP99
	b := steady(mustSim(t, withoutNoise(m), 1), r, 10).LatencyP99
	if math.Abs(a-b)/a > 0.35 {
		t.Errorf("p99 at %.0f req/s: fitted %g, true %g", r, b, a)
	}
	if m.BaseMemory <= 0 || m.MemoryPerRate <= 0 {
		t.Errorf("memory fit %g + %g·rate", m.BaseMemory, m.MemoryPerRate)
	}
}

func withoutNoise(m Model) Model { m.Noise = 0; return m }

func TestFitFindsTheCPUWindow(t *testing.T) {
	truth := Model{Cores: 1, CostPerRequest: 0.001, CPUWindow: 6 * time.Second}
	steps := func(i int) float64 { return []float64{100, 500, 250, 700, 50, 400}[(i/12)%6] }
	m, info, err := Fit([][]Obs{observe(t, truth, 1, steps, 240)}, time.Second, Model{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Lag != 6 || m.CPUWindow != 6*time.Second {
		t.Fatalf("window %d ticks (%s), want 6", info.Lag, m.CPUWindow)
	}
}

func TestFitSkipsSaturatedTicks(t *testing.T) {
	// A target that serves at most 250 req/s while its cpu reads 0.9: the
	// ticks past it must not flatten the slope.
	var obs []Obs
	for i := 0; i < 60; i++ {
		r := 10 + 8*float64(i)
		served := math.Min(r, 250)
		obs = append(obs, Obs{Rate: r, Served: served, CPU: 0.02 + 0.9*served/250, Memory: math.NaN(), P50: math.NaN(), P99: math.NaN()})
	}
	m, _, err := Fit([][]Obs{obs}, time.Second, Model{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.CostPerRequest; math.Abs(got-0.9/250) > 1e-4 {
		t.Fatalf("cost per request %g, want %g", got, 0.9/250)
	}
}

func TestFitOneOperatingPoint(t *testing.T) {
	truth := Model{Cores: 1, CostPerRequest: 0.001}
	runs := [][]Obs{observe(t, truth, 1, func(int) float64 { return 300 }, 60)}
	m, info, err := Fit(runs, time.Second, Model{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.CostPerRequest-0.001) > 1e-4 || !strings.Contains(info.Detail, "one operating point") {
		t.Fatalf("cost %g, detail %s", m.CostPerRequest, info.Detail)
	}
}

func TestFitRefusesTooLittle(t *testing.T) {
	nan := math.NaN()
	runs := [][]Obs{{{Rate: 1, CPU: 0.1, Memory: nan, P50: nan, P99: nan, Served: nan}}}
	if _, _, err := Fit(runs, time.Second, Model{Cores: 1}); err == nil {
		t.Fatal("fitted one tick")
	}
	if _, _, err := Fit(nil, time.Second, Model{Cores: 1}); err == nil {
		t.Fatal("fitted nothing")
	}
}

func TestBackgroundFollowsTheTrend(t *testing.T) {
	var series []float64
	for i := 0; i < 50; i++ {
		series = append(series, 0.2+0.002*float64(i))
	}
	bg, err := Background(series, 5*time.Minute, time.Second, 1200)
	if err != nil {
		t.Fatal(err)
	}
	if len(bg) != 1200 || bg[0] < 0.29 || bg[0] > 0.31 || bg[1199] <= bg[0] {
		t.Fatalf("background %g … %g, want ~0.30 rising", bg[0], bg[len(bg)-1])
	}
	if _, err := Background(series[:2], time.Minute, time.Second, 10); err == nil {
		t.Fatal("forecast from two points")
	}
}

func TestBackgroundTakesCapacity(t *testing.T) {
	m := Model{Cores: 1, CostPerRequest: 0.001, BackgroundCPU: []float64{0.5}}
	s := mustSim(t, m, 1)
	got := steady(s, 800, 40) // capacity 500 with half the cpu taken
	if math.Abs(got.Throughput-500) > 1 || got.CPU != 1 {
		t.Fatalf("with 50%% background cpu: %+v", got)
	}
}

func TestFitAlignsRecordsWrittenATickLate(t *testing.T) {
	// As the control loop records: each record holds the instruction of its
	// tick and the readings taken at its start (the previous tick's load).
	truth := Model{Cores: 1, CostPerRequest: 0.002, CPUWindow: time.Second}
	s := mustSim(t, truth, 1)
	steps := func(i int) float64 { return 20 + 4*float64(i) }
	var obs []Obs
	var prev Sample
	for i := 0; i < 120; i++ {
		r := steps(i)
		obs = append(obs, Obs{Rate: r, Served: prev.Throughput, CPU: prev.CPU, P50: math.NaN(), P99: math.NaN(), Memory: math.NaN()})
		prev = s.Step(time.Duration(i)*time.Second, time.Second, r)
	}
	obs[0].Served, obs[0].CPU = math.NaN(), math.NaN()
	m, info, err := Fit([][]Obs{obs}, time.Second, Model{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.ServedShift != 1 || info.CPUPairs < 100 {
		t.Fatalf("client shift %d with %d pairs, want 1 and all but a few (%s)", info.ServedShift, info.CPUPairs, info.Detail)
	}
	if math.Abs(m.CostPerRequest-0.002) > 1e-4 {
		t.Fatalf("cost %g, want 0.002", m.CostPerRequest)
	}
}

func TestFitWithoutCPUReadsCapacityFromThroughput(t *testing.T) {
	nan := math.NaN()
	var obs []Obs
	for i := 0; i < 60; i++ {
		r := 10 + 8*float64(i)
		served := math.Min(r, 250)
		u := math.Min(served/250, 0.98)
		obs = append(obs, Obs{Rate: r, Served: served, CPU: nan, Memory: nan, P50: 0.005, P99: 0.01 + 0.002*u/(1-u)})
	}
	m, info, err := Fit([][]Obs{obs}, time.Second, Model{Cores: 1, CostPerRequest: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Capacity(0); math.Abs(c-250) > 1 || !strings.Contains(info.Detail, "no cpu in history") {
		t.Fatalf("capacity %g (%s)", c, info.Detail)
	}
	if m.LatencyCurve == nil || math.Abs(m.LatencyCurve.K-0.002) > 5e-4 {
		t.Fatalf("latency curve %+v", m.LatencyCurve)
	}
	// Never saturated: the base capacity, at least 1.1× the most served.
	m, info, err = Fit([][]Obs{obs[:20]}, time.Second, Model{Cores: 1, CostPerRequest: 0.001})
	if err != nil || math.Abs(m.Capacity(0)-1000) > 1e-6 || !strings.Contains(info.Detail, "not reached") {
		t.Fatalf("unsaturated: capacity %g, %v (%s)", m.Capacity(0), err, info.Detail)
	}
}
