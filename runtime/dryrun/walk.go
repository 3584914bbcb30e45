package dryrun

import (
	"context"
	"math"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

// Sample is the simulated target's report of one tick.
type Sample = simtarget.Sample

// walkResult is one pass over the timeline.
type walkResult struct {
	ticks     []Tick
	phaseDur  []time.Duration // predicted duration of each phase
	endedEarl []bool
	ends      []simtarget.PhaseEnd // what each phase's end adds: grace sends, in-flight, drops
	coarse    []CoarseSpan         // the stretches simulated in coarse steps
}

// A long stretch in which nothing changes is simulated in coarse steps, so
// a dry-run's cost does not grow with hours of steady load: after
// quietTicks ticks with a constant planned and shaped rate, no decision
// and no arrival waiting at the client, each step spans up to coarseTicks (ten minutes at a 1 s tick)
// ticks (never across a change of the planned rate, a chaos block or an
// intent), until something happens again.
const (
	quietTicks  = 300
	coarseTicks = 600
)

// CoarseSpan is a stretch of a phase simulated in coarse steps.
type CoarseSpan struct {
	Phase string  `json:"phase"`
	From  float64 `json:"from_s"` // run time, seconds
	To    float64 `json:"to_s"`
	Steps int     `json:"steps"`
	Ticks int     `json:"ticks"` // the plan's ticks they stand for
}

// Walk runs plan's timeline tick by tick against target through ctl, as
// a dry-run does (without coarse steps), and returns every tick: what the
// trainer of the learned strategy scores episodes by.
func Walk(plan *lang.Plan, target simtarget.Target, ctl *tick.Controller, cpuWindow time.Duration) []Tick {
	return walk(plan, target, ctl, cpuWindow, false).ticks
}

// walk runs the plan's timeline tick by tick against target through ctl,
// the same control tick a run goes through: the simulated engine sends
// what each tick decides, the target's report is the next tick's
// readings. cpuWindow is the span the simulated cpu averages over.
func walk(plan *lang.Plan, target simtarget.Target, ctl *tick.Controller, cpuWindow time.Duration, coarsen bool) walkResult {
	dt0 := ctl.Interval()
	var res walkResult
	var now time.Duration
	readings := &simReadings{cpuWindow: cpuWindow}
	if len(plan.Targets) > 0 {
		readings.target = plan.Targets[0].Name
	}
	classes := tick.RequestClasses(plan)
	tickNo := 0
	for i, ph := range plan.Phases {
		phaseStart := now
		ended := false
		limit := tick.Limit(plan, ph)
		// The shapers' rates count arrivals; a flow start sends its flow's
		// requests, so the target gets this many requests per arrival.
		perArrival := plan.RequestsPerArrival(ph)
		quiet, lastRate, lastPlanned := 0, math.NaN(), math.NaN()
		for el := time.Duration(0); el < ph.Duration; {
			n := 1
			if coarsen && quiet >= quietTicks && tick.RateAt(plan, ph, now, el) == lastPlanned {
				n = steadyTicks(plan, ph, phaseStart, el, dt0)
			}
			dt := min(time.Duration(n)*dt0, ph.Duration-el)
			pos := tick.Position{Tick: tickNo, Phase: i, PhaseStart: phaseStart, PhaseElapsed: el}
			r := ctl.Step(context.Background(), pos, readings)
			out, planned := r.Instruction, r.Planned.Rate
			if r.Follow {
				// The engine's pacers follow the rate shape between ticks
				// when the chain leaves the rate as planned (and hold the
				// chain's rate otherwise): such a tick sends the shape's
				// mean over it, not its value at the tick's start.
				out.Rate = tick.RateAt(plan, ph, now, el+dt/2)
				planned = out.Rate
			}
			rate := shapers.EffectiveRate(out, classes)
			if limit > 0 && rate > limit {
				rate = limit
			}
			if math.IsNaN(rate) || rate < 0 {
				rate = 0
			}
			s := target.Step(now, dt, rate*perArrival)
			tk := Tick{T: now.Seconds(), Phase: ph.Name, Planned: planned * perArrival, Shaped: rate * perArrival, Sample: s}
			if n > 1 {
				tk.Span = dt.Seconds()
				res.coarse = noteCoarse(res.coarse, ph.Name, now, dt, n)
			}
			for _, d := range r.Decisions {
				if d.Changed != "" || d.Fallback {
					tk.Decisions = append(tk.Decisions, decisionOf(d))
				}
			}
			if len(tk.Decisions) > 0 || rate != lastRate || s.Queued > 0.5 {
				quiet = 0
			} else {
				quiet += n
			}
			lastRate, lastPlanned = rate, tick.RateAt(plan, ph, now, el)
			res.ticks = append(res.ticks, tk)
			readings.last, readings.have = s, true
			now += dt
			el += dt
			tickNo++
			if out.EndPhase && el < ph.Duration {
				ended = true
				break
			}
		}
		// The engine's open-model generator sends what still waits for a
		// connection for DropGrace after the phase and drops the rest (on
		// the phase's closing tick); a phase ended early discards its queue
		// uncounted, and a closed model has none.
		grace := engine.DropGrace
		if ph.Concurrency > 0 || ended {
			grace = 0
		}
		end := target.EndPhase(grace)
		if grace == 0 {
			end.Dropped = 0 // not counted by the engine
		} else if n := len(res.ticks); n > 0 && res.ticks[n-1].Phase == ph.Name {
			res.ticks[n-1].Dropped = end.Dropped
		}
		res.ends = append(res.ends, end)
		res.phaseDur = append(res.phaseDur, now-phaseStart)
		res.endedEarl = append(res.endedEarl, ended)
	}
	return res
}

// simReadings are the simulated target's last report as the control
// tick's readings: the first target's metrics, read at the start of a tick
// (so they describe the tick before), the cpu with the window it averages
// over. Nothing is ever stale.
type simReadings struct {
	target    string
	cpuWindow time.Duration
	last      Sample
	have      bool
}

func (r *simReadings) Read(context.Context, tick.Position) metrics.Snapshot {
	if !r.have {
		return metrics.Snapshot{}
	}
	m := make(map[string]metrics.Sample, len(simtarget.Metrics))
	for _, name := range simtarget.Metrics {
		v, _ := r.last.Metric(name)
		s := metrics.Sample{Value: v}
		if name == "cpu" {
			s.Window = r.cpuWindow
		}
		m[name] = s
	}
	return metrics.Snapshot{Targets: map[string]map[string]metrics.Sample{r.target: m}}
}

func (r *simReadings) SafeMode(metrics.Snapshot, string, []string) metrics.Verdict {
	return metrics.Verdict{}
}

// steadyTicks is how many ticks from el a coarse step may span: up to
// coarseTicks, while the planned rate stays what it is at el and no chaos
// block or intent begins or ends (1 when none).
func steadyTicks(plan *lang.Plan, ph *lang.Phase, phaseStart, el, dt time.Duration) int {
	base := tick.RateAt(plan, ph, phaseStart+el, el)
	n := 1
	for n < coarseTicks {
		next := el + time.Duration(n)*dt
		if next >= ph.Duration || tick.RateAt(plan, ph, phaseStart+next, next) != base || boundary(plan, ph, phaseStart, el, next) {
			break
		}
		n++
	}
	return n
}

// boundary reports whether a chaos block of ph or an intent of the plan
// starts or ends in (el, next] (offsets in the phase started at phaseStart).
func boundary(plan *lang.Plan, ph *lang.Phase, phaseStart, el, next time.Duration) bool {
	in := func(t time.Duration) bool { return t > el && t <= next }
	for _, c := range ph.Chaos {
		if in(c.At) || in(c.At+c.Duration) {
			return true
		}
	}
	for _, it := range plan.Intents {
		if it != nil && in(it.At-phaseStart) {
			return true
		}
	}
	return false
}

// noteCoarse adds a coarse step to the stretches, joining it to the last
// one when it follows on.
func noteCoarse(spans []CoarseSpan, phase string, at, dt time.Duration, ticks int) []CoarseSpan {
	if n := len(spans); n > 0 && spans[n-1].Phase == phase && spans[n-1].To == at.Seconds() {
		spans[n-1].To = (at + dt).Seconds()
		spans[n-1].Steps++
		spans[n-1].Ticks += ticks
		return spans
	}
	return append(spans, CoarseSpan{Phase: phase, From: at.Seconds(), To: (at + dt).Seconds(), Steps: 1, Ticks: ticks})
}
