package dryrun

import (
	"math"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/shapers"
)

// TickState is what the walker knows at the start of a tick: the
// chain adapter turns it into the shapers' Snapshot.
type TickState struct {
	Tick     int
	Now      time.Duration // run time at the start of the tick
	Interval time.Duration
	Phase    *lang.Phase
	Elapsed  time.Duration // into the phase
	Planned  float64       // the plan's rate this tick (growth and chaos applied)
	// PlannedAt is the plan's rate at another elapsed time of the phase.
	PlannedAt func(elapsed time.Duration) float64
	// Last is the target's report of the previous tick; Have is false on the first tick.
	Last Sample
	Have bool
	// Sent are the rates sent at each earlier tick, oldest first.
	Sent []float64
	// Series is what the target reported so far this run, per metric
	// ("rate" = rate sent), oldest first.
	Series func(metric string, window time.Duration) []SeriesPoint
}

// Sample is the simulated target's report of one tick.
type Sample = simtarget.Sample

// SeriesPoint is one sample of a run series.
type SeriesPoint struct {
	At    time.Duration
	Value float64
}

// Chain is one phase's shaper chain as the dry-run drives it: the real
// shapers, through an adapter (see chain.go). It returns the shaped
// instruction and every shaper's decision of the tick, in chain order.
type Chain interface {
	Shape(st *TickState, in shapers.Instruction) (shapers.Instruction, []shapers.Decision)
}

// walkResult is one pass over the timeline.
type walkResult struct {
	ticks     []Tick
	phaseDur  []time.Duration // predicted duration of each phase
	endedEarl []bool
}

// walk runs the plan's timeline tick by tick against target. chainFor
// returns the chain of a phase (nil = no shaping, e.g. the unshaped pass).
func walk(plan *lang.Plan, target simtarget.Target, chainFor func(i int) Chain) walkResult {
	tick := plan.Settings.Tick
	if tick <= 0 {
		tick = time.Second
	}
	mix := requestMix(plan)
	var res walkResult
	var now time.Duration
	var last Sample
	have := false
	var sent []float64
	var recorded []Tick
	series := func(metric string, window time.Duration) []SeriesPoint {
		var out []SeriesPoint
		from := now - window
		for _, tk := range recorded {
			at := time.Duration(tk.T * float64(time.Second))
			if at < from {
				continue
			}
			var v float64
			if metric == "rate" {
				v = tk.Shaped
			} else if mv, ok := tk.Sample.Metric(metric); ok {
				v = mv
			} else {
				continue
			}
			out = append(out, SeriesPoint{At: at, Value: v})
		}
		return out
	}
	tickNo := 0
	for i, ph := range plan.Phases {
		var chain Chain
		if chainFor != nil {
			chain = chainFor(i)
		}
		phaseStart := now
		ended := false
		plannedAt := func(el time.Duration) float64 { return plannedRate(plan, ph, phaseStart+el, el) }
		for el := time.Duration(0); el < ph.Duration; el += tick {
			dt := min(tick, ph.Duration-el)
			planned := plannedAt(el)
			in := shapers.Instruction{Rate: planned, Concurrency: ph.Concurrency, Mix: mix}
			for _, c := range ph.Chaos {
				if el >= c.At && el < c.At+c.Duration {
					in.Chaos = append(in.Chaos, shapers.ChaosAction{Kind: c.Kind, Factor: c.Factor, Fraction: c.Fraction, Headers: c.Headers, Until: phaseStart + c.At + c.Duration})
				}
			}
			if ph.Concurrency > 0 {
				// Closed model: the rate is what N users achieve (Little's law)
				// at the latency the target showed last tick.
				lat := last.LatencyMean
				if !have || lat <= 0 {
					lat = 0.001
				}
				in.Rate = float64(ph.Concurrency) / (ph.ThinkTime.Seconds() + lat)
				planned = in.Rate
			}
			out := in
			var decisions []shapers.Decision
			if chain != nil {
				st := &TickState{Tick: tickNo, Now: now, Interval: tick, Phase: ph, Elapsed: el, Planned: planned,
					PlannedAt: plannedAt, Last: last, Have: have, Sent: sent, Series: series}
				out, decisions = chain.Shape(st, in)
				if ph.Concurrency > 0 && out.Concurrency != in.Concurrency {
					lat := math.Max(last.LatencyMean, 0.001)
					out.Rate = float64(max(out.Concurrency, 0)) / (ph.ThinkTime.Seconds() + lat)
				}
			}
			rate := effectiveRate(out, plan)
			for _, lim := range []float64{plan.Settings.MaxRate, ph.MaxRate} {
				if lim > 0 && rate > lim {
					rate = lim
				}
			}
			if math.IsNaN(rate) || rate < 0 {
				rate = 0
			}
			s := target.Step(now, dt, rate)
			tk := Tick{T: now.Seconds(), Phase: ph.Name, Planned: planned, Shaped: rate, Sample: s}
			for _, d := range decisions {
				if d.Changed != "" || d.Fallback {
					tk.Decisions = append(tk.Decisions, d)
				}
			}
			recorded = append(recorded, tk)
			last, have = s, true
			sent = append(sent, rate)
			now += dt
			tickNo++
		}
		res.phaseDur = append(res.phaseDur, now-phaseStart)
		res.endedEarl = append(res.endedEarl, ended)
	}
	res.ticks = recorded
	return res
}

// plannedRate is the plan's rate at elapsed into phase ph (run time at):
// the rate shape, then growth intents and chaos spikes.
func plannedRate(plan *lang.Plan, ph *lang.Phase, at, elapsed time.Duration) float64 {
	if ph.Rate == nil {
		return 0
	}
	r := ph.Rate.At(elapsed, ph.Duration)
	for _, in := range plan.Intents {
		if in.Kind == "growth" && at >= in.At && in.Growth > 0 {
			r *= in.Growth
		}
	}
	for _, c := range ph.Chaos {
		if c.Kind == "spike" && c.Factor > 0 && elapsed >= c.At && elapsed < c.At+c.Duration {
			r *= c.Factor
		}
	}
	if math.IsNaN(r) || r < 0 {
		return 0
	}
	return r
}

// requestMix is the weight of each request by name.
func requestMix(plan *lang.Plan) map[string]float64 {
	if len(plan.Requests) == 0 {
		return nil
	}
	m := make(map[string]float64, len(plan.Requests))
	for _, r := range plan.Requests {
		m[r.Name] = r.Weight
	}
	return m
}

// effectiveRate is the instruction's rate less what it sheds: each
// request's share of the mix is shed by its priority class's fraction.
func effectiveRate(in shapers.Instruction, plan *lang.Plan) float64 {
	if len(in.Shed) == 0 {
		return in.Rate
	}
	prio := map[string]string{}
	for _, r := range plan.Requests {
		prio[r.Name] = r.Priority
	}
	var total, kept float64
	for name, w := range in.Mix {
		if w <= 0 {
			continue
		}
		class := prio[name]
		if class == "" {
			class = "normal"
		}
		total += w
		kept += w * (1 - math.Min(math.Max(in.Shed[class], 0), 1))
	}
	if total == 0 {
		// No mix: shed by the "normal" class.
		return in.Rate * (1 - math.Min(math.Max(in.Shed["normal"], 0), 1))
	}
	return in.Rate * kept / total
}
