package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

// scenario is one episode's target and plan.
type scenario struct {
	name     string
	model    simtarget.Model
	seed     int64
	duration time.Duration
	shape    stdlib.RateShape
}

// newScenario varies base at random: capacity ×0.6–1.6 (the cost per
// request scaled), the cpu reading's window 1–8 s, noise 0–6%, in 30% of
// episodes a capacity that halves 40–70% of the way in; and picks one of
// three plans relative to the capacity: a slow ramp to twice it, a fast
// ramp to twice it and a hold, or a hold at 1.5 times it.
func newScenario(base simtarget.Model, seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, 0x7363656e))
	m := base
	f := 0.6 + r.Float64()
	m.CostPerRequest = base.CostPerRequest / f
	if m.MaxThroughput > 0 {
		m.MaxThroughput *= f
	}
	m.CPUWindow = time.Duration(1+r.IntN(8)) * time.Second
	m.Noise = 0.06 * r.Float64()
	m.BackgroundCPU, m.BackgroundMemory, m.CostChanges = nil, nil, nil
	c := m.Capacity(0)
	sc := scenario{model: m, seed: int64(r.Uint64() >> 1)}
	switch r.IntN(3) {
	case 0:
		sc.name, sc.duration, sc.shape = "slow ramp", 120*time.Second, stdlib.Ramp{From: 0.1 * c, To: 2 * c}
	case 1:
		sc.name, sc.duration, sc.shape = "fast ramp + hold", 90*time.Second, rampHold{from: 0.1 * c, to: 2 * c, over: 15 * time.Second}
	default:
		sc.name, sc.duration, sc.shape = "hold past capacity", 90*time.Second, stdlib.Constant(1.5*c)
	}
	if r.Float64() < 0.3 {
		sc.model.CapacityChangeAt = time.Duration((0.4 + 0.3*r.Float64()) * float64(sc.duration)).Round(time.Second)
		sc.model.CapacityChangeTo = 0.5
		sc.name += ", capacity halves"
	}
	sc.name += fmt.Sprintf(" (capacity %.0f req/s, window %s)", c, m.CPUWindow)
	return sc
}

// rampHold ramps from from to to over over, then holds.
type rampHold struct {
	from, to float64
	over     time.Duration
}

func (s rampHold) At(el, _ time.Duration) float64 {
	if el >= s.over {
		return s.to
	}
	return s.from + (s.to-s.from)*el.Seconds()/s.over.Seconds()
}

func (s rampHold) Peak(time.Duration) float64 { return math.Max(s.from, s.to) }

func (s rampHold) String() string {
	return fmt.Sprintf("ramp(%.0f, %.0f) over %s, then hold", s.from, s.to, s.over)
}

// result is one episode's score.
type result struct {
	served      float64 // requests served / what the envelope allowed
	secondsOver float64 // seconds the true readings were above the envelope
	oscillation float64 // mean |Δrate| / rate per tick
	duration    float64
}

// reward is the episode's reward under w (spec/train.md).
func (r result) reward(w weights) float64 {
	return r.served - w.over*r.secondsOver/r.duration - w.osc*r.oscillation
}

// episode runs sc's plan through the control tick with the chain links
// against the scenario's simulated target, as a dry-run does.
func episode(env shapers.Limits, sc scenario, links [][]shapers.Link) result {
	plan := &lang.Plan{Name: "train", Settings: lang.Settings{Tick: time.Second},
		Targets:   []*lang.Target{{Name: "sim", URL: "http://127.0.0.1:1"}},
		Envelopes: []*lang.Envelope{{Name: "safe"}},
		Requests:  []*lang.Request{{Name: "r", Target: "sim", Weight: 1, Priority: "normal"}},
		Phases:    []*lang.Phase{{Name: "p", Duration: sc.duration, Rate: sc.shape, Shapers: []string{"learned"}}},
	}
	for m, v := range env {
		plan.Envelopes[0].Limits = append(plan.Envelopes[0].Limits, lang.Limit{Metric: m, Max: v})
	}
	ctl, err := tick.New(plan, tick.Options{Links: func(*lang.Plan, *lang.Phase) ([]shapers.Link, error) { return links[0], nil }})
	if err != nil {
		panic(err) // the plan is this package's own
	}
	sim, err := simtarget.New(sc.model, sc.seed)
	if err != nil {
		panic(err)
	}
	ticks := dryrun.Walk(plan, sim, ctl, sc.model.CPUWindow)
	var res result
	var allowed, last float64
	lim := env["cpu"]
	if lim <= 0 {
		lim = 1
	}
	for i, tk := range ticks {
		at := time.Duration(tk.T * float64(time.Second))
		res.served += tk.Requests - tk.Errors
		allowed += math.Min(tk.Planned, lim*sc.model.Capacity(at))
		over := false
		for m, v := range env {
			val, ok := tk.Sample.Metric(m)
			if m == "cpu" {
				val, ok = tk.Utilisation, true
			}
			over = over || ok && v > 0 && val > v
		}
		if over {
			res.secondsOver++
		}
		if i > 0 {
			res.oscillation += math.Abs(tk.Shaped-last) / math.Max(last, 1)
		}
		last = tk.Shaped
	}
	res.duration = sc.duration.Seconds()
	if allowed > 0 {
		res.served /= allowed
	}
	if n := len(ticks); n > 1 {
		res.oscillation /= float64(n - 1)
	}
	return res
}
