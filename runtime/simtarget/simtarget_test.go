package simtarget

import (
	"math"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

func mustSim(t *testing.T, m Model, seed int64) *Sim {
	t.Helper()
	s, err := New(m, seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func steady(s *Sim, rate float64, ticks int) Sample {
	var out Sample
	for i := 0; i < ticks; i++ {
		out = s.Step(time.Duration(s.tick)*time.Second, time.Second, rate)
	}
	return out
}

func TestCPUIsRateTimesCostOverCores(t *testing.T) {
	m, err := FromSimulate(&lang.Simulate{Cores: 2, BaseCPU: 0.1, CostPerRequest: 4 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := steady(mustSim(t, m, 1), 200, 10).CPU
	want := 0.1 + 200*0.004/2
	if math.Abs(got-want) > 1e-9 {
		t.Fatalf("cpu at 200 req/s = %g, want %g", got, want)
	}
	if c := m.Capacity(0); math.Abs(c-0.9*2/0.004) > 1e-9 {
		t.Fatalf("capacity %g, want %g", c, 0.9*2/0.004)
	}
}

func TestCapacityOnlyMeansCPUOneAtCapacity(t *testing.T) {
	m, err := FromSimulate(&lang.Simulate{Capacity: 500})
	if err != nil {
		t.Fatal(err)
	}
	if got := steady(mustSim(t, m, 1), 250, 10).CPU; math.Abs(got-0.5) > 1e-9 {
		t.Fatalf("cpu at half capacity = %g, want 0.5", got)
	}
}

func TestCPULagsLikeARateWindow(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 1000})
	m.CPUWindow = 5 * time.Second
	s := mustSim(t, m, 1)
	steady(s, 0, 10)
	first := s.Step(10*time.Second, time.Second, 500).CPU
	if math.Abs(first-0.1) > 1e-9 { // one second of 0.5 in a 5 s window
		t.Fatalf("cpu one tick after a step to 0.5 = %g, want 0.1 (lagged)", first)
	}
	after := steady(s, 500, 4).CPU
	if math.Abs(after-0.5) > 1e-9 {
		t.Fatalf("cpu after the window = %g, want 0.5", after)
	}
}

func TestMM1MeanIsFiveServiceTimesAtRho08(t *testing.T) {
	m := Model{Cores: 1, CostPerRequest: 0.01} // μ = 100/s
	s := mustSim(t, m, 1)
	got := steady(s, 80, 3).LatencyMean
	if want := 1 / (100.0 - 80); math.Abs(got-want) > 1e-9 {
		t.Fatalf("M/M/1 mean response at ρ=0.8 = %g, want %g", got, want)
	}
}

func TestLatencyBlowsUpNearCapacity(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Cores: 4, Capacity: 1000, BaseLatency: 2 * time.Millisecond})
	prev := 0.0
	var at50, at95 float64
	for _, r := range []float64{100, 300, 500, 700, 900, 950, 990} {
		p99 := steady(mustSim(t, m, 1), r, 3).LatencyP99
		if p99 <= prev {
			t.Fatalf("p99 not increasing with rate: %g at %g req/s after %g", p99, r, prev)
		}
		prev = p99
		switch r {
		case 500:
			at50 = p99
		case 950:
			at95 = p99
		}
	}
	if at95 < 3*at50 {
		t.Fatalf("p99 at 95%% load (%g) should be far above p99 at 50%% (%g)", at95, at50)
	}
}

// overloaded runs 3 ticks at 50 req/s, then 10 at 300 req/s, against a
// 200 req/s target of 16 servers (80 ms a request) behind a pool of conns
// connections with the given timeout, and ends the phase.
func overloaded(t *testing.T, conns int, timeout time.Duration) (over Sample, requests, errors, dropped float64) {
	t.Helper()
	m, err := FromSimulate(&lang.Simulate{Capacity: 200, Cores: 16})
	if err != nil {
		t.Fatal(err)
	}
	m.MaxConnections, m.Timeout = conns, timeout
	s := mustSim(t, m, 1)
	for i := 0; i < 13; i++ {
		r := 50.0
		if i >= 3 {
			r = 300
		}
		over = s.Step(time.Duration(i)*time.Second, time.Second, r)
		if over.Connections > float64(conns)+1e-9 && conns > 0 {
			t.Fatalf("tick %d: %g in flight over a pool of %d", i, over.Connections, conns)
		}
		if i >= 3 {
			requests += over.Requests
			errors += over.Errors
		}
	}
	end := s.EndPhase(time.Second)
	return over, requests + end.Requests, errors + end.Errors, end.Dropped
}

// A pool the target drains within the timeout (32 connections at 200 req/s
// wait 0.16 s at most, under the 2 s timeout): arrivals past capacity wait
// at the client, nothing fails, and what still waits a second after the
// phase is dropped — as the engine does (a real run of this against the
// testbed: 0 errors, 809 dropped, 2192 sent).
func TestSmallPoolPastCapacityDropsNotErrors(t *testing.T) {
	last, requests, errors, dropped := overloaded(t, 32, 2*time.Second)
	if errors != 0 || last.ErrorRate != 0 {
		t.Fatalf("errors %g (rate %g), want none: the pool fills before anything waits 2s at the target", errors, last.ErrorRate)
	}
	// 3000 arrivals, 2000 served in the phase, about 200 sent in the
	// grace, the rest dropped.
	if requests < 2150 || requests > 2250 || math.Abs(last.Throughput-200) > 1e-6 {
		t.Fatalf("completed %g requests over 10 s and the grace (last tick %g/s), want about 2200", requests, last.Throughput)
	}
	if math.Abs(requests+dropped-3000) > 1 {
		t.Fatalf("completed %g + dropped %g, want the 3000 arrivals", requests, dropped)
	}
	if math.Abs(last.Connections-32) > 1e-6 {
		t.Fatalf("in flight %g, want the whole pool (32)", last.Connections)
	}
	// The client's wait is latency (from the intended start): a third of
	// the elapsed overload at the end (1 − 200/300 of 10 s).
	if last.Queued < 900 || last.LatencyP50 < 2.5 || last.LatencyP50 > 4 {
		t.Fatalf("queued %g, p50 %gs: the wait for a connection should show", last.Queued, last.LatencyP50)
	}
}

// A pool larger than what the target serves within the timeout (1000
// connections, 1 s × 200 req/s): the target's queue reaches the timeout,
// and from then on what it serves has waited so long that the client has
// given up — nearly everything fails (a real run: 82% errors, 0 dropped).
func TestLargePoolPastCapacityTimesOut(t *testing.T) {
	last, requests, errors, dropped := overloaded(t, 1000, time.Second)
	if dropped != 0 || last.Queued != 0 {
		t.Fatalf("dropped %g, queued %g: the pool never fills", dropped, last.Queued)
	}
	if share := errors / requests; share < 0.7 || share > 0.9 {
		t.Fatalf("error share %g (%g of %g), want most", share, errors, requests)
	}
	if last.ErrorRate < 0.99 || math.Abs(last.LatencyP99-1) > 1e-9 {
		t.Fatalf("last tick: error rate %g, p99 %gs; want all failing at the 1 s timeout", last.ErrorRate, last.LatencyP99)
	}
	if last.CPU < 0.99 {
		t.Fatalf("cpu %g: the target serves the late requests all the same", last.CPU)
	}
}

// Without a pool (a target on its own) the timeout alone decides, and the
// backlog drains once the load falls.
func TestNoPoolPastCapacityErrorsThenRelief(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 100})
	m.Timeout = 2 * time.Second
	s := mustSim(t, m, 1)
	first := s.Step(0, time.Second, 150)
	if first.ErrorRate != 0 {
		t.Fatalf("errors before the backlog outlives the timeout: %g", first.ErrorRate)
	}
	last := steady(s, 150, 10)
	if last.ErrorRate < 0.99 || last.Queued != 0 {
		t.Fatalf("saturated past the timeout: error rate %g, queued %g", last.ErrorRate, last.Queued)
	}
	if last.LatencyP99 < 1.99 || last.LatencyP99 > 2.01 {
		t.Fatalf("p99 while saturated = %gs, want the 2s timeout", last.LatencyP99)
	}
	// Relief drains the backlog.
	if got := steady(s, 10, 10); got.ErrorRate != 0 || got.LatencyP99 > 0.1 {
		t.Fatalf("after relief: %+v", got)
	}
	if got := s.EndPhase(time.Second); got.Dropped != 0 {
		t.Fatalf("dropped %g without a pool", got.Dropped)
	}
}

// Below capacity the pool changes nothing.
func TestPoolInvisibleBelowCapacity(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 400, Cores: 4, Noise: 0.05})
	a, b := mustSim(t, m, 3), func() *Sim { m := m; m.MaxConnections = 100; return mustSim(t, m, 3) }()
	for i := 0; i <= 15; i++ { // up to 75% of capacity
		at := time.Duration(i) * time.Second
		r := 20 * float64(i)
		x, y := a.Step(at, time.Second, r), b.Step(at, time.Second, r)
		if x != y {
			t.Fatalf("tick %d at %g req/s: without a pool %+v, with 100 connections %+v", i, r, x, y)
		}
	}
}

// An ended phase's queue is discarded with grace 0 (an early end).
func TestEndPhaseWithoutGraceDiscards(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 100})
	m.MaxConnections = 10
	s := mustSim(t, m, 1)
	q := steady(s, 300, 3).Queued
	if q < 100 {
		t.Fatalf("queued %g", q)
	}
	if got := s.EndPhase(0); math.Abs(got.Dropped-q) > 1e-6 {
		t.Fatalf("EndPhase(0) dropped %g, want the whole queue %g", got.Dropped, q)
	}
	if got := s.Step(3*time.Second, time.Second, 0); got.Queued != 0 {
		t.Fatalf("queue after the end: %g", got.Queued)
	}
}

func TestMemoryFollowsLittlesLaw(t *testing.T) {
	m := Model{Cores: 1, CostPerRequest: 0.001, BaseMemory: 1000, MemoryPerConn: 10, BaseLatency: 99 * time.Millisecond}
	got := steady(mustSim(t, m, 1), 100, 3)
	conns := 100 * got.LatencyMean
	if want := 1000 + 10*conns; math.Abs(got.Memory-want) > 1e-6 || conns < 10 {
		t.Fatalf("memory %g, want %g (%g connections)", got.Memory, want, conns)
	}
}

func TestCapacityChange(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 1000, CapacityChangeAt: 30 * time.Second, CapacityChangeTo: 0.5})
	if a, b := m.Capacity(29*time.Second), m.Capacity(30*time.Second); a != 1000 || b != 500 {
		t.Fatalf("capacity before/after the change = %g/%g, want 1000/500", a, b)
	}
}

func TestDeterministicPerSeed(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 1000, Noise: 0.1})
	run := func(seed int64) []Sample {
		s := mustSim(t, m, seed)
		var out []Sample
		for i := 0; i < 20; i++ {
			out = append(out, s.Step(time.Duration(i)*time.Second, time.Second, 400))
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different tick %d: %+v vs %+v", i, a[i], b[i])
		}
		if a[i] != c[i] {
			same = false
		}
	}
	if same {
		t.Fatal("different seeds gave identical noisy series")
	}
}

func TestBadSimulateBlocks(t *testing.T) {
	for _, s := range []*lang.Simulate{
		{Cores: -1, Capacity: 10},
		{BaseCPU: 1, Capacity: 10},
		{Capacity: 10, Noise: 2},
		{Capacity: 10, CapacityChangeTo: -1},
	} {
		if _, err := FromSimulate(s); err == nil {
			t.Errorf("no error for %+v", s)
		}
	}
	if _, err := New(Model{Cores: 1}, 1); err == nil {
		t.Error("no error for a zero cost per request")
	}
}

func TestFittedCurve(t *testing.T) {
	m := Model{Cores: 1, CostPerRequest: 0.001, LatencyCurve: &Curve{Base: 0.01, K: 0.01}, P50Ratio: 0.4}
	got := steady(mustSim(t, m, 1), 500, 6) // u = 0.5 → p99 = 0.02
	if math.Abs(got.LatencyP99-0.02) > 1e-9 || math.Abs(got.LatencyP50-0.008) > 1e-9 {
		t.Fatalf("fitted curve p99/p50 = %g/%g, want 0.02/0.008", got.LatencyP99, got.LatencyP50)
	}
	if !(got.LatencyP90 > got.LatencyP50 && got.LatencyP90 < got.LatencyP99) {
		t.Fatalf("interpolated p90 %g not between p50 and p99", got.LatencyP90)
	}
}

func TestCapacityAndCostBothGiven(t *testing.T) {
	// 1 core at 1 ms a request could serve 1000 req/s; the block says 400.
	m, err := FromSimulate(&lang.Simulate{Cores: 1, Capacity: 400, CostPerRequest: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Capacity(0); c != 400 {
		t.Fatalf("capacity %g, want 400 (the lower of the two)", c)
	}
	got := steady(mustSim(t, m, 1), 600, 40)
	if math.Abs(got.CPU-0.4) > 1e-9 || math.Abs(got.Throughput-400) > 1e-6 || got.LatencyP99 < 1 {
		t.Fatalf("past a non-CPU bottleneck: %+v", got)
	}
}

func TestFirstTickLagsFromIdle(t *testing.T) {
	m, _ := FromSimulate(&lang.Simulate{Capacity: 1000, BaseCPU: 0.1})
	m.CPUWindow = 5 * time.Second
	got := mustSim(t, m, 1).Step(0, time.Second, 500).CPU
	// One second at 0.1 + 0.45 = 0.55 and four idle seconds at 0.1.
	if want := (0.55 + 4*0.1) / 5; math.Abs(got-want) > 1e-9 {
		t.Fatalf("first tick cpu %g, want %g", got, want)
	}
}
