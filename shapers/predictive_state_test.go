package shapers

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// learnerOf builds a predictive_rate_limit shaper guarding env.
func learnerOf(t *testing.T, env Limits, params map[string]any) Learner {
	t.Helper()
	sh, err := New(Config{Name: "p", Strategy: "predictive_rate_limit", Envelope: env, Tick: time.Second, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := sh.(Learner)
	if !ok {
		t.Fatal("predictive_rate_limit is not a Learner")
	}
	return l
}

// stateJSON passes a state through JSON, as the model store does.
func stateJSON(t *testing.T, s PredictiveState) PredictiveState {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out PredictiveState
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// drive runs shapers tick by tick on a plant like the testbed behind
// Prometheus (lagged, averaged readings of cpu and a queue's latency),
// building each snapshot as the chain would; it returns the plant, the
// snapshot builder and the tick function.
type driver struct {
	p    *plant
	env  Limits
	sent []float64
	plan func(int) float64
}

func (d *driver) snapshot(i, ticks int) *Snapshot {
	cpu := d.p.reading(i)
	lat := Metric{Value: math.NaN(), Stale: true}
	if !cpu.Stale {
		lat = Metric{Value: 0.02 / math.Max(1-math.Min(cpu.Value, 0.99), 0.01), Age: cpu.Age, Window: cpu.Window}
	}
	return &Snapshot{
		Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: d.env,
		Phase: PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: time.Duration(ticks) * time.Second,
			PlannedRate: d.plan(i), Planned: func(e time.Duration) float64 { return d.plan(int(e / time.Second)) }},
		Metrics: map[string]Metric{"cpu": cpu, "latency_p99": lat},
		Sent:    append([]float64(nil), d.sent...),
	}
}

// apply runs tick i at rate on the plant; past kneeAt (when set) the cpu
// jumps, as behind a pool that runs dry: a limit the line cannot foresee.
func (d *driver) apply(i int, rate, kneeAt float64) {
	d.sent = append(d.sent, rate)
	d.p.apply(i, rate)
	if kneeAt > 0 && rate > kneeAt {
		d.p.cpu[i] = math.Min(1, d.p.cpu[i]+0.3)
	}
}

// Restore then continue gives the same instructions and decisions as never
// stopping, at every tick after. The scenarios put every part of the state
// in play — a capacity that halves (relearning), a knee (held under the
// rate that crossed it), readings too noisy for the line (the reactive
// fallback) — and the shaper is stopped the tick each first shows.
func TestPredictiveStateRoundTrip(t *testing.T) {
	env := Limits{"cpu": 0.8, "latency_p99": 0.25}
	const ticks = 240
	scenarios := map[string]struct {
		plant  plant
		kneeAt float64
		shows  func(PredictiveState) bool
	}{
		"halving": {plant{capacity: 1000, base: 0.05, delay: 1, window: 4, noise: 0.005, halveAt: 120, hint: true}, 0,
			func(s PredictiveState) bool { return len(s.Relearn) > 0 && s.Relearn["cpu"] > 0 }},
		"knee": {plant{capacity: 1000, base: 0.05, delay: 1, window: 4, noise: 0.005}, 500,
			func(s PredictiveState) bool { return len(s.Knees) > 0 }},
		"noisy": {plant{capacity: 1000, base: 0.05, delay: 2, window: 5, noise: 0.2}, 0,
			func(s PredictiveState) bool { return s.Reactive }},
	}
	for name, sc := range scenarios {
		// A first pass finds the tick the scenario's state first shows.
		stopAt := -1
		p := sc.plant
		d := &driver{p: &p, env: env, plan: ramp(50, 1500, 100)}
		a := learnerOf(t, env, nil)
		for i := 0; i < ticks && stopAt < 0; i++ {
			out, _, _ := a.Shape(d.snapshot(i, ticks), Instruction{Rate: d.plan(i)})
			d.apply(i, out.Rate, sc.kneeAt)
			if sc.shows(a.State()) {
				stopAt = i + 1
			}
		}
		if stopAt < 0 {
			t.Fatalf("%s: the scenario never shows", name)
		}
		for _, stop := range []int{3, stopAt} {
			p := sc.plant
			d := &driver{p: &p, env: env, plan: ramp(50, 1500, 100)}
			a := learnerOf(t, env, nil)
			var b Learner
			for i := 0; i < ticks; i++ {
				if i == stop {
					b = learnerOf(t, env, nil)
					if err := b.Restore(stateJSON(t, a.State())); err != nil {
						t.Fatal(err)
					}
				}
				in := Instruction{Rate: d.plan(i)}
				outA, decA, errA := a.Shape(d.snapshot(i, ticks), in)
				if b != nil {
					outB, decB, errB := b.Shape(d.snapshot(i, ticks), in)
					if !reflect.DeepEqual(outA, outB) || !reflect.DeepEqual(decA, decB) || (errA == nil) != (errB == nil) {
						t.Fatalf("%s, stopped at %d: tick %d differs:\n never stopped %v %+v\n restored      %v %+v", name, stop, i, outA.Rate, decA, outB.Rate, decB)
					}
				}
				d.apply(i, outA.Rate, sc.kneeAt)
			}
			// NaN is not equal to itself: compare the states as stored.
			ja, _ := json.Marshal(a.State())
			jb, _ := json.Marshal(b.State())
			if string(ja) != string(jb) {
				t.Errorf("%s, stopped at %d: the states differ at the end:\n%s\n%s", name, stop, ja, jb)
			}
		}
	}
}

// A warm start from an earlier run's state: the line is known from the
// first ticks, so the rate reaches the envelope's safe level sooner, and
// no more often over the envelope than cold.
func TestPredictiveWarmStart(t *testing.T) {
	env := Limits{"cpu": 0.8}
	run := func(l Learner) (reach, over int) {
		p := newPlant()
		p.hint = true
		d := &driver{p: p, env: env, plan: func(int) float64 { return 1200 }}
		const ticks = 120
		reach = -1
		for i := 0; i < ticks; i++ {
			out, _, err := l.Shape(d.snapshot(i, ticks), Instruction{Rate: d.plan(i)})
			if err != nil {
				t.Fatal(err)
			}
			d.apply(i, out.Rate, 0)
			if p.cpu[i] > env["cpu"]+1e-9 {
				over++
			}
			// 90% of the rate that fills the envelope (cpu 0.8 at 750 rps).
			if reach < 0 && out.Rate >= 0.9*750 {
				reach = i
			}
		}
		return reach, over
	}
	first := learnerOf(t, env, nil)
	coldReach, coldOver := run(first)
	warm := learnerOf(t, env, nil)
	if err := warm.WarmStart(stateJSON(t, first.State())); err != nil {
		t.Fatal(err)
	}
	if st := warm.State(); len(st.SentPrev) != 0 || st.Calls != 0 || len(st.Learnt.Lines) == 0 {
		t.Fatalf("warm start kept the run's history or lost the lines: %+v", st)
	}
	warmReach, warmOver := run(warm)
	t.Logf("cold: 90%% of the safe rate at tick %d, %d ticks over; warm: tick %d, %d over", coldReach, coldOver, warmReach, warmOver)
	if coldReach < 0 || warmReach < 0 || warmReach >= coldReach || warmOver > coldOver {
		t.Errorf("warm start reached 90%% at tick %d (%d over), cold at %d (%d over)", warmReach, warmOver, coldReach, coldOver)
	}
	// The shaper's own settings win: a fixed lag stays, the forgetting
	// is the shaper's.
	fixed := learnerOf(t, env, map[string]any{"lag": 3 * time.Second, "forgetting": 0.9})
	if err := fixed.WarmStart(first.State()); err != nil {
		t.Fatal(err)
	}
	st := fixed.State()
	if st.Learnt.Lag.D != 3 || !st.Learnt.Lag.Fixed || st.Learnt.Lines["cpu"].Forget != 0.9 {
		t.Errorf("warm start overrode the shaper's settings: lag %+v, forget %v", st.Learnt.Lag, st.Learnt.Lines["cpu"].Forget)
	}
	bad := first.State()
	bad.Version = 0
	if err := fixed.WarmStart(bad); err == nil {
		t.Error("a state of another version was taken")
	}
}

func TestLearners(t *testing.T) {
	c := predictiveChain(t, Limits{"cpu": 0.8})
	if ls := Learners(c); len(ls) != 1 || ls["p"] == nil {
		t.Errorf("learners %v", ls)
	}
}
