package runtime

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

// Options wire a run to the rest of the world. The zero value runs the
// plan with its own metrics sources and records it in the history file
// the plan names (else the default one).
type Options struct {
	// History is the history file to record the run in; "" = the plan's
	// settings.history, else history.DefaultPath.
	History string
	// NoHistory records nothing.
	NoHistory bool
	// Recorder records the run into a store the caller opened and finishes
	// itself; it takes precedence over History.
	Recorder *history.Recorder
	// Collector reads the targets' metrics; nil = built from the plan's
	// metrics blocks (and closed at the end).
	Collector *metrics.Collector
	// ReadBudget is how long a tick waits for the metrics sources; default
	// half the tick. A slower source is stale for that tick.
	ReadBudget time.Duration
	// Progress shows the run as it goes; nil = nothing.
	Progress engine.Progress
	// Seed for arrivals and templates; 0 = the plan's, else random.
	Seed uint64
	// OnTick observers get every tick as it ends, in the control loop:
	// keep them quick.
	OnTick []func(*Tick)
}

// Tick is one tick as it ends: the generators' figures, what the control
// tick read and saw at its start, and what it decided.
type Tick struct {
	*engine.TickStats
	Readings  metrics.Snapshot
	Snapshot  *shapers.Snapshot // nil while paused
	Planned   shapers.Instruction
	Decisions []shapers.Decision
}

// Result is a finished run.
type Result struct {
	Summary *engine.Summary
	Shaping tick.Report
	// RunID and HistoryPath say where the run was recorded (0 and "" when
	// it was not); HistoryErr why it could not be, or its record finished.
	RunID       int
	HistoryPath string
	HistoryErr  error
}

// WriteText prints the summary and what the shaping did.
func (r *Result) WriteText(w io.Writer) {
	r.Summary.WriteText(w)
	tick.WriteReport(w, r.Shaping)
}

// Running is a run under way: it can be steered and waited for.
type Running struct {
	ctl     *tick.Controller
	live    *liveReadings
	owned   *metrics.Collector
	hist    *history.Session
	rec     *history.Recorder
	histErr error
	stop    context.CancelCauseFunc
	done    chan struct{}
	res     *Result
	runErr  error
}

// Run runs plan to its end and returns the result; it returns an error
// only when the run cannot start (nothing was sent). Cancelling ctx stops
// it gracefully as interrupted.
func Run(ctx context.Context, plan *lang.Plan, o Options) (*Result, error) {
	r, err := Start(ctx, plan, o)
	if err != nil {
		return nil, err
	}
	return r.Wait()
}

// Start checks that plan can run (requests, data files, thresholds, every
// phase's shapers), opens its metrics sources and history, and starts it.
// A history that cannot be opened is not fatal: HistoryErr says why and
// the run goes on unrecorded.
func Start(ctx context.Context, plan *lang.Plan, o Options) (*Running, error) {
	if err := engine.Prepare(plan); err != nil {
		return nil, err
	}
	ctl, err := tick.New(plan, tick.Options{})
	if err != nil {
		return nil, err
	}
	r := &Running{ctl: ctl, done: make(chan struct{}), rec: o.Recorder}
	coll := o.Collector
	if coll == nil {
		if coll, err = metrics.NewCollector(plan); err != nil {
			return nil, err
		}
		r.owned = coll
	}
	r.live = newLiveReadings(plan, coll, o.ReadBudget, ctl.Interval())
	if r.rec == nil && !o.NoHistory {
		r.hist, r.histErr = history.StartRun(plan, o.History, time.Now())
		if r.histErr == nil {
			r.rec = r.hist.Recorder
		}
	}
	runCtx, stop := context.WithCancelCause(ctx)
	r.stop = stop
	loop := &loop{ctl: ctl, live: r.live, rec: r.rec, observers: o.OnTick, stop: stop}
	go func() {
		defer close(r.done)
		defer stop(nil)
		sum, err := engine.Run(runCtx, plan, engine.Options{Controller: loop, OnTick: []func(*engine.TickStats){loop.onTick},
			Progress: o.Progress, Seed: o.Seed})
		r.finish(sum, err)
	}()
	return r, nil
}

// HistoryErr says why the run is not recorded (nil when it is).
func (r *Running) HistoryErr() error { return r.histErr }

// SetRate bounds the rate the shaper chain starts from (0 lifts the bound)
// from the next tick on: the shapers still protect the envelope and the
// hard limits still clamp. who is recorded with the decision.
func (r *Running) SetRate(rate float64, who string) { r.ctl.SetRate(rate, who) }

// Pause holds the load at nothing from the next tick on; the plan's
// timeline runs on.
func (r *Running) Pause(who string) { r.ctl.Pause(who) }

// Resume ends a pause.
func (r *Running) Resume(who string) { r.ctl.Resume(who) }

// Stop ends the run gracefully, as stopped (in-flight requests finish or
// time out, the summary covers what was done).
func (r *Running) Stop(who string) {
	r.stop(fmt.Errorf("%w (%s)", engine.ErrStopped, who))
}

// Report is what the shaping did so far.
func (r *Running) Report() tick.Report { return r.ctl.Report(r.live.coll.Health()) }

// Done is closed when the run has ended.
func (r *Running) Done() <-chan struct{} { return r.done }

// Wait waits for the run to end and returns its result.
func (r *Running) Wait() (*Result, error) {
	<-r.done
	return r.res, r.runErr
}

func (r *Running) finish(sum *engine.Summary, err error) {
	shaping := r.ctl.Report(r.live.coll.Health())
	if r.owned != nil {
		_ = r.owned.Close()
	}
	if err != nil {
		if r.hist != nil {
			_ = r.hist.Finish("not started", time.Now())
		}
		r.runErr = err
		return
	}
	r.res = &Result{Summary: sum, Shaping: shaping, HistoryErr: r.histErr}
	if r.hist != nil {
		r.res.RunID, r.res.HistoryPath = r.hist.Run().ID, r.hist.Store.Path()
		if err := r.hist.Finish(sum.Outcome, time.Now()); err != nil {
			r.res.HistoryErr = fmt.Errorf("history: %w", err)
			r.res.RunID, r.res.HistoryPath = 0, ""
		}
	}
}

// loop is the engine's Controller: every tick the live readings go
// through the control tick; as every tick ends, it is recorded and handed
// to the observers. Both run in the engine's control goroutine.
type loop struct {
	ctl       *tick.Controller
	live      *liveReadings
	rec       *history.Recorder
	observers []func(*Tick)
	stop      context.CancelCauseFunc
	last      tick.Result
}

func (l *loop) Control(ti engine.TickInfo) engine.Command {
	start := time.Now()
	l.live.observe(ti.Last)
	res := l.ctl.Step(context.Background(), ti.Position(), l.live)
	l.ctl.Timed(time.Since(start))
	l.last = res
	if res.Stop != "" {
		// A shaper with on_error = "fail" failed: the run ends, aborted.
		l.stop(engine.StopCause(res.Stop))
	}
	return engine.Command{Instruction: res.Instruction, Follow: res.Follow}
}

// onTick records the tick that just ended: the metrics read at its start,
// the instruction the generators followed and the decisions.
func (l *loop) onTick(ts *engine.TickStats) {
	ts.Shaping = l.last.Shaping // before the live view draws the tick
	if l.rec != nil {
		fresh, stale := l.last.Readings.Flat()
		_ = l.rec.Record(history.Tick{N: ts.Tick, At: ts.At, Phase: ts.Phase, Metrics: fresh, Stale: stale,
			Instruction: history.FromInstruction(ts.Instruction), Decisions: history.FromDecisions(l.last.Decisions)})
	}
	if len(l.observers) == 0 {
		return
	}
	t := &Tick{TickStats: ts, Readings: l.last.Readings, Snapshot: l.last.Snapshot, Planned: l.last.Planned, Decisions: l.last.Decisions}
	for _, f := range l.observers {
		f(t)
	}
}

// liveReadings are the control tick's live readings: the plan's metrics
// sources through the collector, and each target's generator figures as
// a client source.
type liveReadings struct {
	coll   *metrics.Collector
	client map[string]*metrics.ClientSource
	budget time.Duration
}

func newLiveReadings(plan *lang.Plan, coll *metrics.Collector, budget, interval time.Duration) *liveReadings {
	if budget <= 0 {
		budget = interval / 2
	}
	l := &liveReadings{coll: coll, client: map[string]*metrics.ClientSource{}, budget: budget}
	for _, t := range plan.Targets {
		cs := metrics.NewClientSource()
		l.client[t.Name] = cs
		coll.Add(metrics.Spec{Target: t.Name, Name: "client", Source: cs})
	}
	return l
}

// observe hands the generators' figures of the tick that ended to the
// client sources: each target its own generator's (distribute needs them
// per target), the whole run's when the engine has no split.
func (l *liveReadings) observe(last *engine.TickStats) {
	if last == nil {
		return
	}
	whole := clientFigures(last.Throughput, last.ErrorRate, last.InFlight, last.Requests, last.Latency)
	if last.Checks != nil {
		whole.CheckFailureRate, whole.HasChecks = last.CheckFailureRate(), true
	}
	for name, cs := range l.client {
		if ts, ok := last.Targets[name]; ok {
			f := clientFigures(ts.Throughput, ts.ErrorRate, ts.InFlight, ts.Requests, ts.Latency)
			if ts.CheckFailureRate != nil {
				f.CheckFailureRate, f.HasChecks = *ts.CheckFailureRate, true
			}
			cs.Update(last.At, f)
		} else {
			cs.Update(last.At, whole)
		}
	}
}

func (l *liveReadings) Read(_ context.Context, _ tick.Position) metrics.Snapshot {
	// Not the run's context: the last ticks of an interrupted run still
	// read their metrics.
	ctx, cancel := context.WithTimeout(context.Background(), l.budget)
	defer cancel()
	return l.coll.Read(ctx, time.Now())
}

func (l *liveReadings) SafeMode(snap metrics.Snapshot, target string, need []string) metrics.Verdict {
	return l.coll.SafeMode(snap, target, need)
}

// clientFigures are a tick's client-side figures in the metrics' units
// (latency in seconds).
func clientFigures(throughput, errorRate float64, inFlight, requests int64, lat engine.Percentiles) metrics.ClientFigures {
	ms := func(v float64) float64 { return v / 1000 }
	return metrics.ClientFigures{
		Throughput: throughput, ErrorRate: errorRate, InFlight: float64(inFlight),
		P50: ms(lat.P50), P90: ms(lat.P90), P95: ms(lat.P95), P99: ms(lat.P99),
		P999: ms(lat.P999), Max: ms(lat.Max), Mean: ms(lat.Mean), Requests: int(requests),
	}
}
