package dryrun

import (
	"math"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/prediction"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
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
}

// walk runs the plan's timeline tick by tick against target, through the
// real shaper chain: links[i] are phase i's shapers. With links nil (the
// unshaped pass) no chain runs and only the hard limits apply.
func walk(plan *lang.Plan, target simtarget.Target, links [][]shapers.Link, windowOf func(metric string) time.Duration) walkResult {
	tick := plan.Settings.Tick
	if tick <= 0 {
		tick = time.Second
	}
	mix := requestMix(plan)
	var res walkResult
	var now time.Duration
	var last Sample
	have := false
	var recorded []Tick
	classes := requestClasses(plan)
	env := firstEnvelope(plan)
	intents := Intents(plan)
	// The predictor blocks' forecasts and the anomaly detectors, as a run
	// keeps them, so rules that read ctx.predictions act here as they would.
	preds := prediction.New(plan, tick, env)
	var chain *shapers.Chain
	tickNo := 0
	for i, ph := range plan.Phases {
		if links != nil {
			if chain == nil {
				chain = shapers.NewChain(links[i], shapers.ChainOptions{Requests: classes})
			} else {
				// Keep the chain's memory across phases, as the runtime does.
				chain = chain.WithLinks(links[i])
			}
		}
		var chaosPlan []shapers.ChaosPlan
		for _, c := range ph.Chaos {
			chaosPlan = append(chaosPlan, shapers.ChaosPlan{Kind: c.Kind, At: c.At, Duration: c.Duration, Factor: c.Factor, Fraction: c.Fraction, Headers: c.Headers, WithinEnvelope: c.WithinEnvelope})
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
				// Closed model: the rate is what N users (times the growth
				// in force, as in a run) achieve (Little's law) at the
				// latency the target showed last tick.
				lat := last.LatencyMean
				if !have || lat <= 0 {
					lat = 0.001
				}
				in.Concurrency = engine.GrownUsers(ph.Concurrency, engine.Growth(plan.Intents, now))
				in.Rate = float64(in.Concurrency) / (ph.ThinkTime.Seconds() + lat)
				planned = in.Rate
			}
			out := in
			var decisions []shapers.Decision
			if chain != nil {
				snap := &shapers.Snapshot{Tick: tickNo, Now: now, Interval: tick, MaxRate: plan.Settings.MaxRate, Envelope: env,
					Phase: shapers.PhaseInfo{Name: ph.Name, Elapsed: el, Duration: ph.Duration, PlannedRate: planned,
						MaxRate: ph.MaxRate, Warmup: ph.Warmup, Chaos: chaosPlan, Planned: lookahead(plan, ph, now)}, Intents: intents}
				if have {
					snap.Metrics = readings(last, windowOf)
					if len(plan.Targets) > 0 {
						snap.Targets = map[string]map[string]shapers.Metric{plan.Targets[0].Name: snap.Metrics}
					}
				}
				preds.Fill(snap)
				out, decisions = chain.Run(snap, in)
				if ph.Concurrency > 0 && out.Concurrency != in.Concurrency {
					lat := math.Max(last.LatencyMean, 0.001)
					out.Rate = float64(max(out.Concurrency, 0)) / (ph.ThinkTime.Seconds() + lat)
				}
			}
			if ph.Concurrency == 0 && out.Rate == in.Rate {
				// The engine's pacers follow the rate shape between ticks
				// when the chain leaves the rate as planned (and hold the
				// chain's rate otherwise): such a tick sends the shape's
				// mean over it, not its value at the tick's start.
				out.Rate = plannedAt(el + dt/2)
				planned = out.Rate
			}
			rate := shapers.EffectiveRate(out, classes)
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
					tk.Decisions = append(tk.Decisions, decisionOf(d))
				}
			}
			recorded = append(recorded, tk)
			last, have = s, true
			now += dt
			tickNo++
			if out.EndPhase && el+dt < ph.Duration {
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
		} else if n := len(recorded); n > 0 && recorded[n-1].Phase == ph.Name {
			recorded[n-1].Dropped = end.Dropped
		}
		res.ends = append(res.ends, end)
		res.phaseDur = append(res.phaseDur, now-phaseStart)
		res.endedEarl = append(res.endedEarl, ended)
	}
	res.ticks = recorded
	return res
}

// lookahead is the planned rate a shaper looks ahead at from run time now:
// the rate shape with the growth intents in force at now (and chaos
// spikes). Growth still to come reaches shapers as Snapshot.Intents, which
// they apply themselves, as in a run.
func lookahead(plan *lang.Plan, ph *lang.Phase, now time.Duration) func(time.Duration) float64 {
	return func(el time.Duration) float64 { return plannedRate(plan, ph, now, el) }
}

// plannedRate is the plan's rate at elapsed into phase ph (run time at):
// the rate shape, then growth intents in force at run time at, and chaos spikes.
func plannedRate(plan *lang.Plan, ph *lang.Phase, at, elapsed time.Duration) float64 {
	if ph.Rate == nil {
		return 0
	}
	r := ph.Rate.At(elapsed, ph.Duration) * engine.Growth(plan.Intents, at)
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
	mix := plan.Mix()
	if len(mix) == 0 {
		return nil
	}
	m := make(map[string]float64, len(mix))
	for _, r := range mix {
		m[r.Name] = r.Weight
	}
	return m
}

// requestClasses are the plan's requests as the shapers see them.
func requestClasses(plan *lang.Plan) []shapers.RequestClass {
	var out []shapers.RequestClass
	for _, r := range plan.Mix() {
		out = append(out, shapers.RequestClass{Name: r.Name, Priority: r.Priority, Weight: r.Weight})
	}
	return out
}

// firstEnvelope is the plan's first envelope, the one shapers without their
// own use.
func firstEnvelope(plan *lang.Plan) shapers.Limits {
	if len(plan.Envelopes) == 0 {
		return nil
	}
	return envelopeLimits(plan.Envelopes[0])
}

func envelopeLimits(e *lang.Envelope) shapers.Limits {
	l := shapers.Limits{}
	for _, lim := range e.Limits {
		l[lim.Metric] = lim.Max
	}
	return l
}

// readings turn the target's last report into the live readings a shaper
// sees, as the run's control loop gives them: read at the start of the
// tick (so they describe the tick before), with the window a source
// averages over (the cpu of a rate() window).
func readings(s Sample, windowOf func(string) time.Duration) map[string]shapers.Metric {
	out := make(map[string]shapers.Metric, len(simtarget.Metrics))
	for _, name := range simtarget.Metrics {
		v, _ := s.Metric(name)
		m := shapers.Metric{Value: v}
		if windowOf != nil {
			m.Window = windowOf(name)
		}
		out[name] = m
	}
	return out
}
