package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

// TickInfo tells a Controller where the run is at the start of a tick.
type TickInfo struct {
	Tick       int           // counts from 0 over the whole run
	Elapsed    time.Duration // wall time since the run started
	PhaseIndex int
	Phase      *lang.Phase
	// PhaseStart is the run time at which the phase started, fixed for the
	// phase; PhaseElapsed the offset of this tick into it.
	PhaseStart   time.Duration
	PhaseElapsed time.Duration
	Last         *TickStats // the previous tick's figures; nil on a phase's first tick
}

// Position is the tick's place on the timeline as the control tick takes it.
func (ti TickInfo) Position() tick.Position {
	return tick.Position{Tick: ti.Tick, Phase: ti.PhaseIndex, PhaseStart: ti.PhaseStart, PhaseElapsed: ti.PhaseElapsed}
}

// Command is what the generators do for one tick.
type Command struct {
	// Instruction is the rate or users, mix, shedding, distribution and
	// chaos, already clamped to the hard limits.
	Instruction shapers.Instruction
	// Follow has open-model pacers follow the plan's rate shape
	// (tick.RateAt, under the hard limits) between ticks instead of holding
	// Instruction.Rate: the tick left the rate as planned.
	Follow bool
}

// Controller decides each tick's command: runtime.Run's is the control
// tick (runtime/tick) with live readings. The engine only paces, sends and
// reports; it builds no instruction of its own.
type Controller interface {
	Control(ti TickInfo) Command
}

// ControllerFunc adapts a function to a Controller.
type ControllerFunc func(ti TickInfo) Command

// Control calls f.
func (f ControllerFunc) Control(ti TickInfo) Command { return f(ti) }

// Planned is the Controller of a run without shapers or metrics: each
// tick the plan's instruction under the hard limits, from the one control
// tick with no readings.
func Planned(plan *lang.Plan) (Controller, error) {
	c, err := tick.New(plan, tick.Options{Unshaped: true})
	if err != nil {
		return nil, err
	}
	return ControllerFunc(func(ti TickInfo) Command {
		r := c.Step(context.Background(), ti.Position(), tick.NoReadings)
		return Command{Instruction: r.Instruction, Follow: r.Follow}
	}), nil
}

// TickStats are the client-side figures of one control tick, handed to
// every Options.OnTick observer (the metrics history reads them) and to the
// progress display.
type TickStats struct {
	Tick         int
	At           time.Time     // end of the tick
	Elapsed      time.Duration // since the run started
	Phase        string
	PhaseElapsed time.Duration
	Span         time.Duration       // how long the tick lasted
	Instruction  shapers.Instruction // what the generators were told for this tick
	InFlight     int64               // requests in flight at the end of the tick
	// Targets are the tick's figures per target (by target name), so
	// shapers that move load between targets see each one's own.
	Targets map[string]TargetStats
	// Shaping is what the control loop saw and decided for this tick; its
	// OnTick observer sets it, for the live view and the summary's timeline.
	Shaping *ShapingPoint
	Stats   // the tick's requests, throughput, latency percentiles, errors, classes
}

// Progress shows a run as it goes.
type Progress interface {
	PhaseStart(index int, p *lang.Phase)
	Tick(ts *TickStats)
	PhaseEnd(index int, p *lang.Phase, s *PhaseSummary)
	Close()
}

// Options are a run's hooks and overrides.
type Options struct {
	Controller Controller         // nil = Planned(plan)
	OnTick     []func(*TickStats) // called once per tick, in the control loop: keep it quick
	Progress   Progress           // nil = none
	Seed       uint64             // 0 = the plan's seed, else random
}

// Outcomes of a run.
const (
	OutcomeCompleted   = "completed"
	OutcomeAborted     = "aborted"     // a threshold with abort = true stopped it
	OutcomeInterrupted = "interrupted" // the caller's context ended (Ctrl-C)
	OutcomeStopped     = "stopped"     // an operator stopped it (the caller's context ended with cause ErrStopped)
)

var errAborted = errors.New("aborted by a threshold")

// ErrStopped, as the cause of the run's context (context.WithCancelCause),
// ends the run gracefully as OutcomeStopped, with the cause's text as the
// reason: an operator's stop rather than an interrupt.
var ErrStopped = errors.New("stopped by an operator")

type engine struct {
	plan     *lang.Plan
	opts     Options
	tick     time.Duration
	seed     uint64
	reqs     []*compiledRequest
	reqNames []string
	gens     []*Generator
	rec      *recorder
	seq      atomic.Uint64
	hardMax  float64

	runStart time.Time
	ticks    int
	timeline []TickPoint
	tickAgg  *agg
	overall  *agg
	overDur  time.Duration
	phaseAgg map[string]*agg
	phaseDur map[string]time.Duration
	// targetHist is scratch space for the per-target split of a tick.
	targetHist *hdrhistogram.Histogram
	ths        []*thState
	cancel     context.CancelCauseFunc
	reason     string
}

// Prepare checks that a plan can run (requests compile, data files load,
// thresholds are known) without sending anything.
func Prepare(plan *lang.Plan) error {
	_, err := newEngine(plan, Options{})
	return err
}

func newEngine(plan *lang.Plan, opts Options) (*engine, error) {
	if len(plan.Phases) == 0 {
		return nil, errors.New("the plan has no phase")
	}
	if len(plan.Requests) == 0 && len(plan.Flows) == 0 {
		return nil, errors.New("the plan has no request")
	}
	e := &engine{plan: plan, opts: opts, tick: plan.Settings.Tick, hardMax: plan.Settings.MaxRate,
		phaseAgg: map[string]*agg{}, phaseDur: map[string]time.Duration{}}
	if e.opts.Controller == nil {
		c, err := Planned(plan)
		if err != nil {
			return nil, err
		}
		e.opts.Controller = c
	}
	if e.tick <= 0 {
		e.tick = time.Second
	}
	e.seed = opts.Seed
	if e.seed == 0 {
		e.seed = uint64(plan.Settings.Seed)
	}
	if e.seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		e.seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	targets := map[string]*lang.Target{}
	for _, t := range plan.Targets {
		targets[t.Name] = t
	}
	byTarget := map[string][]*compiledRequest{}
	for i, r := range plan.Requests {
		t := targets[r.Target]
		if t == nil {
			if r.Target == "" && len(plan.Targets) == 1 {
				t = plan.Targets[0]
			} else {
				return nil, fmt.Errorf("request %q: no target %q", r.Name, r.Target)
			}
		}
		cr, err := compileRequest(i, r, t)
		if err != nil {
			return nil, err
		}
		e.reqs = append(e.reqs, cr)
		e.reqNames = append(e.reqNames, r.Name)
		byTarget[t.Name] = append(byTarget[t.Name], cr)
	}
	if err := e.compileFlows(targets, byTarget); err != nil {
		return nil, err
	}
	maxUsers := 0
	for _, ph := range plan.Phases {
		if ph.Concurrency <= 0 && ph.Rate == nil {
			return nil, fmt.Errorf("phase %q: needs a rate or a concurrency", ph.Name)
		}
		if ph.Duration <= 0 {
			return nil, fmt.Errorf("phase %q: needs a positive duration", ph.Name)
		}
		for _, n := range ph.Requests {
			found := false
			for _, r := range plan.Requests {
				found = found || r.Name == n
			}
			if !found {
				return nil, fmt.Errorf("phase %q: no request %q", ph.Name, n)
			}
		}
		// A closed-model user holds a connection, and growth intents add
		// users; a phase may start late, so any later growth counts.
		maxUsers = max(maxUsers, tick.GrownUsers(ph.Concurrency, tick.MaxGrowth(plan.Intents, ph.Start, math.MaxInt64)))
	}
	if err := checkThresholds(plan.Thresholds, plan.Phases); err != nil {
		return nil, err
	}
	e.rec = newRecorder(len(e.reqs))
	for _, t := range plan.Targets {
		rs := byTarget[t.Name]
		if len(rs) == 0 {
			continue
		}
		tt := *t
		if maxUsers > 0 && tt.MaxConnections > 0 && tt.MaxConnections < maxUsers {
			tt.MaxConnections = maxUsers // a closed-model user holds a connection
		}
		g, err := newGenerator(&tt, rs, e.rec, &e.seq, e.seed+uint64(len(e.gens))*7919)
		if err != nil {
			return nil, err
		}
		e.gens = append(e.gens, g)
	}
	e.rec.setMeta(e.meta())
	for _, th := range plan.Thresholds {
		e.ths = append(e.ths, newThState(th, e.tick))
	}
	return e, nil
}

// Run executes the plan's phases in order against its targets and returns
// the summary. It returns an error only when the plan cannot run at all
// (nothing was sent). Cancelling ctx stops the run gracefully: in-flight
// requests finish or time out and the summary covers what was done.
func Run(ctx context.Context, plan *lang.Plan, opts Options) (*Summary, error) {
	e, err := newEngine(plan, opts)
	if err != nil {
		return nil, err
	}
	return e.run(ctx), nil
}

func (e *engine) run(parent context.Context) *Summary {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	e.cancel = cancel
	e.tickAgg = newAgg(len(e.reqs))
	e.overall = newAgg(len(e.reqs))
	e.runStart = time.Now()
	sum := &Summary{Plan: e.plan.Name, Started: e.runStart.UTC(), Seed: e.seed, Outcome: OutcomeCompleted}
	for i, ph := range e.plan.Phases {
		if ctx.Err() != nil {
			break
		}
		sum.Phases = append(sum.Phases, e.runPhase(ctx, i, ph))
	}
	if e.opts.Progress != nil {
		e.opts.Progress.Close()
	}
	switch {
	case errors.Is(context.Cause(ctx), errAborted):
		sum.Outcome, sum.Reason = OutcomeAborted, e.reason
	case errors.Is(context.Cause(parent), ErrStopped):
		sum.Outcome, sum.Reason = OutcomeStopped, context.Cause(parent).Error()
	case stopReason(parent) != "":
		sum.Outcome, sum.Reason = OutcomeAborted, stopReason(parent)
	case parent.Err() != nil:
		sum.Outcome, sum.Reason = OutcomeInterrupted, "interrupted by the user"
	}
	sum.DurationS = time.Since(e.runStart).Seconds()
	sum.Timeline = e.timeline
	sum.Overall = e.overall.stats(e.overDur, e.reqNames)
	for _, s := range e.ths {
		if s.th.Window == 0 && s.measured() {
			a, d := e.overall, e.overDur
			if s.th.Phase != "" {
				a, d = e.phaseAgg[s.th.Phase], e.phaseDur[s.th.Phase]
			}
			if a != nil && s.observeTotal(a, d) {
				s.failed = true
			}
		}
		sum.Thresholds = append(sum.Thresholds, s.result())
	}
	return sum
}

// apply hands an instruction to the generators. follow means the rate was
// not changed by the controller: open-model pacers then follow the phase's
// rate shape continuously instead of holding the tick's value.
func (e *engine) apply(ph *lang.Phase, in shapers.Instruction, follow bool) {
	weights := make([]float64, len(e.gens))
	total := 0.0
	for i, g := range e.gens {
		for _, r := range g.reqs {
			weights[i] += in.Mix[r.name]
		}
	}
	if len(in.Distribution) > 0 {
		for i, g := range e.gens {
			if weights[i] > 0 {
				weights[i] = max(in.Distribution[g.Name], 0)
			}
		}
	}
	for _, w := range weights {
		total += w
	}
	fault := faultFromChaos(in.Chaos)
	abortTh, slowTh := chaosThresholds(in.Chaos)
	for i, g := range e.gens {
		g.fault.Store(fault)
		g.abortTh.Store(abortTh)
		g.slowTh.Store(slowTh)
		share := 0.0
		if total > 0 {
			share = weights[i] / total
		}
		g.setShed(in.Shed)
		g.mix.Store(newMixTable(g.reqs, func(r *compiledRequest) float64 { return in.Mix[r.name] }))
		g.share.Store(math.Float64bits(share))
		if follow {
			g.override.Store(math.Float64bits(math.NaN()))
		} else {
			g.override.Store(math.Float64bits(in.Rate))
		}
		g.active.Store(int64(math.Round(float64(in.Concurrency) * share)))
	}
}

// control runs one control step at offset at into the phase started at
// run time phaseStart: ask the controller, apply its command.
func (e *engine) control(ph *lang.Phase, idx int, phaseStart, at time.Duration, last *TickStats) shapers.Instruction {
	info := TickInfo{Tick: e.ticks, Elapsed: time.Since(e.runStart), PhaseIndex: idx, Phase: ph, PhaseStart: phaseStart, PhaseElapsed: at, Last: last}
	cmd := e.opts.Controller.Control(info)
	e.apply(ph, cmd.Instruction, cmd.Follow)
	return cmd.Instruction
}

func (e *engine) runPhase(ctx context.Context, idx int, ph *lang.Phase) PhaseSummary {
	if e.opts.Progress != nil {
		e.opts.Progress.PhaseStart(idx, ph)
	}
	pagg := newAgg(len(e.reqs))
	// The phase's clock starts once the first instruction is applied: a slow
	// first control step (metrics sources warming up) must not make the
	// phase's first arrivals late before they could be sent.
	// A shaper (presoak) may end the phase early: its generators stop on
	// the phase's own context, the run's carries on with the next phase.
	pctx, endPhase := context.WithCancel(ctx)
	defer endPhase()
	var endAt time.Duration
	endReason := ""
	// The phase's run time is fixed here, for every tick of the phase and
	// the pacers alike: chaos actions end, and growth applies, at the same
	// run times in the controller and the generators.
	phaseStart := time.Since(e.runStart)
	instr := e.control(ph, idx, phaseStart, 0, nil)
	if instr.EndPhase {
		endReason = endReasonOf(instr)
		endPhase()
	}
	start := time.Now()
	limit := tick.Limit(e.plan, ph)
	users := tick.MaxUsers(e.plan, ph, phaseStart)
	growth := newGrowthLog(instr.Growth, phaseStart)
	var wg sync.WaitGroup
	for gi, g := range e.gens {
		wg.Add(1)
		base := gi * 1_000_000
		go func() {
			defer wg.Done()
			if ph.Concurrency > 0 {
				g.runClosed(pctx, start, ph.Duration, users, ph.ThinkTime, base)
				return
			}
			rate := func(at time.Duration) float64 {
				r := math.Float64frombits(g.override.Load())
				if math.IsNaN(r) {
					r = tick.RateAt(e.plan, ph, phaseStart+at, at)
				}
				if limit > 0 && r > limit {
					r = limit
				}
				return r * math.Float64frombits(g.share.Load())
			}
			seed := e.seed ^ uint64(idx+1)*0x2545f4914f6cdd1d ^ uint64(gi+1)*0x9e3779b97f4a7c15
			g.runOpen(pctx, start, ph.Duration, NewSchedule(ph.Arrival, seed, rate), base)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	ticker := time.NewTicker(e.tick)
	defer ticker.Stop()
	lastAt := start
	var last *TickStats
	for finished := false; !finished; {
		select {
		case <-ticker.C:
		case <-done:
			finished = true
		}
		now := time.Now()
		last = e.observe(ctx, idx, ph, pagg, instr, now.Sub(lastAt), now.Sub(start), finished)
		lastAt = now
		if !finished && endReason == "" {
			instr = e.control(ph, idx, phaseStart, now.Sub(start), last)
			growth.note(instr.Growth, now.Sub(e.runStart))
			if instr.EndPhase {
				endAt, endReason = now.Sub(start), endReasonOf(instr)
				endPhase()
			}
		}
	}
	dur := time.Since(start)
	e.phaseAgg[ph.Name] = pagg
	e.phaseDur[ph.Name] = dur
	if !ph.Warmup {
		e.overDur += dur
	}
	ps := PhaseSummary{Name: ph.Name, Warmup: ph.Warmup, Stats: pagg.stats(dur, e.reqNames), PlannedS: ph.Duration.Seconds(),
		Growth: growth.notes}
	if endReason != "" && ctx.Err() == nil {
		ps.EndedEarly, ps.EndReason, ps.EndedAtS = true, endReason, endAt.Seconds()
	}
	if ph.Concurrency > 0 {
		ps.Model, ps.Load = "closed", fmt.Sprintf("%d users", ph.Concurrency)
	} else {
		ps.Model, ps.Load = "open", ph.Rate.String()+"/s"
		if ph.Arrival == "poisson" {
			ps.Load += " poisson"
		}
	}
	if e.opts.Progress != nil {
		e.opts.Progress.PhaseEnd(idx, ph, &ps)
	}
	return ps
}

// endReasonOf is why a controller ended a phase, for the summary.
func endReasonOf(in shapers.Instruction) string {
	if in.EndReason != "" {
		return in.EndReason
	}
	return "the control loop asked to end the phase"
}

// observe closes one tick: collects the figures, feeds the aggregates and
// thresholds, tells the observers; it may abort the run.
func (e *engine) observe(ctx context.Context, idx int, ph *lang.Phase, pagg *agg, instr shapers.Instruction, span, at time.Duration, final bool) *TickStats {
	t := e.tickAgg
	t.reset()
	e.rec.collect(t)
	pagg.merge(t)
	if !ph.Warmup {
		e.overall.merge(t)
	}
	var inflight int64
	for _, g := range e.gens {
		inflight += g.inflight.Load()
	}
	ts := &TickStats{Tick: e.ticks, At: time.Now(), Elapsed: time.Since(e.runStart), Phase: ph.Name, PhaseElapsed: at,
		Span: span, Instruction: instr, InFlight: inflight, Stats: t.stats(span, e.reqNames), Targets: e.targetStats(t, span)}
	e.ticks++
	e.timeline = append(e.timeline, TickPoint{T: ts.Elapsed.Seconds(), Phase: ph.Name, Rate: instr.Rate,
		Requests: ts.Requests, Throughput: ts.Throughput, P99: ts.Latency.P99, Errors: ts.Errors, Aborted: ts.Aborted})
	elapsed := time.Since(e.runStart)
	for _, s := range e.ths {
		if !s.applies(ph) || !s.measured() {
			continue
		}
		var breach bool
		if s.th.Window > 0 {
			breach = s.observeWindow(t, span, final && idx == len(e.plan.Phases)-1)
		} else if s.th.Abort {
			a, d := e.overall, e.overDur+at
			if s.th.Phase != "" {
				a, d = pagg, at
			}
			breach = s.observeTotal(a, d)
		}
		if breach && s.th.Abort && elapsed >= s.th.Delay && ctx.Err() == nil {
			s.failed, s.aborted = true, true
			e.reason = s.describe()
			e.cancel(errAborted)
		}
	}
	for _, f := range e.opts.OnTick {
		f(ts)
	}
	e.timeline[len(e.timeline)-1].Shaping = ts.Shaping // an observer (the control loop) set it
	if e.opts.Progress != nil {
		e.opts.Progress.Tick(ts)
	}
	return ts
}
