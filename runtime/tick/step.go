package tick

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/shapers"
)

// Readings are where a tick reads the targets' state: live (the plan's
// metrics sources and the generators' own figures) or simulated.
type Readings interface {
	// Read returns the readings at the start of the tick at pos, by target
	// and metric. Snapshot.At is the time of the read (zero for simulated
	// readings, which then have no age).
	Read(ctx context.Context, pos Position) metrics.Snapshot
	// SafeMode is the plan's on_stale verdict on target's metrics need, some
	// of which are stale in snap (metrics.Collector.SafeMode).
	SafeMode(snap metrics.Snapshot, target string, need []string) metrics.Verdict
}

// Options tune a Controller.
type Options struct {
	// Links builds a phase's shapers, in chain order; nil = Links (the
	// plan's own shaper blocks).
	Links func(plan *lang.Plan, phase *lang.Phase) ([]shapers.Link, error)
	// Unshaped runs no shaper: each tick is the planned instruction under
	// the hard limits (the dry-run's comparison without shaping).
	Unshaped bool
	// MinScriptDeadline raises every Starlark rule's wall-clock deadline
	// to at least this (with Links nil). A dry-run's prediction must not
	// depend on how busy the machine is; the step budget still bounds
	// every call.
	MinScriptDeadline time.Duration
}

// Controller is the control tick of one run or dry-run. Step is called
// from one goroutine; Report and the operator's calls may come from any.
type Controller struct {
	plan    *lang.Plan
	tick    time.Duration
	links   [][]shapers.Link
	classes []shapers.RequestClass
	env     shapers.Limits
	intents []shapers.Intent
	windows map[string]time.Duration // "target/metric" -> the span a reading averages over
	preds   *Predictions

	safe   safeState
	chain  *shapers.Chain
	phase  int
	growth string // the growth note of the last tick

	op  operator
	rep report
}

// Result is one tick's outcome.
type Result struct {
	// Readings are what the tick read; Snapshot what the shapers saw.
	Readings metrics.Snapshot
	Snapshot *shapers.Snapshot
	// Planned is the plan's instruction for the tick, before the operator
	// and the shapers.
	Planned shapers.Instruction
	// Instruction is what the generators get: shaped, under safe mode,
	// clamped to the hard limits.
	Instruction shapers.Instruction
	// Follow means the rate is the plan's: open-model pacers follow the
	// rate shape (RateAt) between ticks instead of holding Instruction.Rate.
	Follow bool
	// Decisions are the tick's decisions: one per shaper, the clamp, safe
	// mode, the operator and growth intents when they acted.
	Decisions []shapers.Decision
	// Shaping is what the tick saw and decided, for the live view and the
	// run's report.
	Shaping *ShapingPoint
	// Stop says why the run must end now: a shaper with on_error = "fail"
	// failed ("" otherwise).
	Stop string
}

// New builds the control tick of a plan: every phase's shaper chain (so a
// bad parameter or script is reported before anything is sent), the
// predictor blocks' models, the envelope and intents shapers see.
func New(plan *lang.Plan, o Options) (*Controller, error) {
	c := &Controller{plan: plan, tick: plan.Settings.Tick, phase: -1, windows: map[string]time.Duration{}}
	if c.tick <= 0 {
		c.tick = time.Second
	}
	if o.Unshaped {
		c.links = make([][]shapers.Link, len(plan.Phases))
	} else {
		build := o.Links
		if build == nil && o.MinScriptDeadline > 0 {
			build = func(p *lang.Plan, ph *lang.Phase) ([]shapers.Link, error) { return links(p, ph, o.MinScriptDeadline) }
		}
		links, err := PhaseLinks(plan, build)
		if err != nil {
			return nil, err
		}
		c.links = links
	}
	c.classes = RequestClasses(plan)
	c.env = FirstEnvelope(plan)
	c.intents = Intents(plan)
	c.preds = NewPredictions(plan, c.tick, c.env)
	c.safe.need, c.safe.seen = envelopeNeeds(plan, c.env), map[string]bool{}
	for _, t := range plan.Targets {
		for _, ms := range t.Metrics {
			for name, q := range ms.Queries {
				// Kept even when 0: the plan's query says the reading is
				// instant, whatever a source declares.
				c.windows[t.Name+"/"+name] = max(c.windows[t.Name+"/"+name], QueryWindow(q))
			}
		}
	}
	return c, nil
}

// Interval is the control tick's length.
func (c *Controller) Interval() time.Duration { return c.tick }

// rangeRE finds a PromQL range selector such as [5s] or [1m].
var rangeRE = regexp.MustCompile(`\[(\d+(?:ms|s|m|h))(?::[^\]]*)?\]`)

// QueryWindow is the longest range selector of a query: the span of load
// its value averages over, which is most of the lag between a rate change
// and the metric's response (10s for rate(x[10s])); 0 when it has none.
func QueryWindow(q string) time.Duration {
	var longest time.Duration
	for _, m := range rangeRE.FindAllStringSubmatch(q, -1) {
		if d, err := time.ParseDuration(m[1]); err == nil && d > longest {
			longest = d
		}
	}
	return longest
}

// Step runs one control tick at pos: it reads r, plans the phase's
// instruction, applies the operator's bound, passes it through the phase's
// shaper chain (which clamps it to the hard limits), applies safe mode and
// returns what the generators get, with every decision.
func (c *Controller) Step(ctx context.Context, pos Position, r Readings) Result {
	ph := c.plan.Phases[pos.Phase]
	if pos.Phase != c.phase {
		if c.chain == nil {
			c.chain = shapers.NewChain(c.links[pos.Phase], shapers.ChainOptions{Requests: c.classes})
		} else {
			c.chain = c.chain.WithLinks(c.links[pos.Phase]) // keep the models' memory across phases
		}
		c.phase = pos.Phase
	}
	readings := r.Read(ctx, pos)
	planned := Planned(c.plan, pos)
	res := Result{Readings: readings, Planned: planned}
	in := planned.Clone()
	closed := ph.Concurrency > 0
	var perUser float64 // closed model: seconds per user per request (think time + latency)
	if closed {
		// The rate N users achieve (Little's law) at the latency the
		// target showed last: what shapers see and cut. A cut becomes
		// fewer active users after the chain.
		perUser = ph.ThinkTime.Seconds() + c.meanLatency(readings)
		in.Rate = float64(in.Concurrency) / perUser
		res.Planned.Rate = in.Rate
	}
	planRate := in.Rate
	op := c.op.take(pos)
	if op.paused {
		out := in.Clone()
		out.Rate, out.Concurrency, out.Chaos = 0, 0, nil
		res.Instruction, res.Decisions = out, op.decisions
		res.Shaping = c.shapingPoint(nil, in, out, res.Decisions)
		c.account(pos, res.Decisions, out)
		return res
	}
	if op.rate > 0 && in.Rate > op.rate {
		in.Rate = op.rate
	}
	snap := c.snapshot(pos, ph, readings, in, op.rate)
	res.Snapshot = snap
	c.preds.Fill(snap)
	out, ds := c.chain.Run(snap, in)
	if closed && planRate > 0 && out.Concurrency == in.Concurrency && out.Rate < planRate {
		out.Concurrency = int(math.Round(float64(in.Concurrency) * out.Rate / planRate))
	}
	before := out
	out, ds = c.safeMode(pos, out, ds, r, readings)
	if out.Rate != before.Rate || out.Concurrency != before.Concurrency {
		c.chain.Sent(out)
	}
	if closed {
		out.Rate = float64(out.Concurrency) / perUser
	}
	if out.EndPhase && out.EndReason == "" {
		out.EndReason = endReason(ds)
	}
	ds = append(op.decisions, ds...)
	if planned.Growth != c.growth && planned.Growth != "" {
		// Not a shaper's act: the plan's growth changed the planned load
		// from this tick on (recorded in history, shown in dry-runs).
		ds = append(ds, growthDecision(pos, planned, Growth(c.plan.Intents, pos.Elapsed())))
	}
	c.growth = planned.Growth
	res.Instruction, res.Decisions = out, ds
	res.Follow = !closed && out.Rate == planned.Rate
	res.Shaping = c.shapingPoint(snap, in, out, ds)
	res.Stop = c.failFast(ds)
	c.account(pos, ds, out)
	return res
}

// meanLatency is the first target's mean latency in seconds from the
// readings, 1 ms when there is none yet.
func (c *Controller) meanLatency(r metrics.Snapshot) float64 {
	if s, ok := r.Get(c.targetNames()[0], metrics.LatencyMean); ok && !s.Stale && s.Value > 0 {
		return s.Value
	}
	return 0.001
}

// targetNames are the plan's targets in order; a plan without one reads
// the readings of the unnamed target "".
func (c *Controller) targetNames() []string {
	if len(c.plan.Targets) == 0 {
		return []string{""}
	}
	names := make([]string, len(c.plan.Targets))
	for i, t := range c.plan.Targets {
		names[i] = t.Name
	}
	return names
}

// snapshot is what the shapers see at pos: the readings of every target
// (those of the first also as Metrics), the phase, the envelope and intents.
func (c *Controller) snapshot(pos Position, ph *lang.Phase, r metrics.Snapshot, in shapers.Instruction, opRate float64) *shapers.Snapshot {
	snap := &shapers.Snapshot{Tick: pos.Tick, Now: pos.Elapsed(), Interval: c.tick, MaxRate: c.plan.Settings.MaxRate, Envelope: c.env,
		Phase: shapers.PhaseInfo{Name: ph.Name, Elapsed: pos.PhaseElapsed, Duration: ph.Duration, PlannedRate: in.Rate,
			MaxRate: ph.MaxRate, Warmup: ph.Warmup, Chaos: ChaosPlans(ph)},
		Targets: map[string]map[string]shapers.Metric{}, Intents: c.intents}
	if ph.Concurrency == 0 && ph.Rate != nil {
		// The growth in force now is part of the planned rate; growth still
		// to come reaches shapers as Intents.
		now := pos.Elapsed()
		snap.Phase.Planned = func(el time.Duration) float64 {
			p := RateAt(c.plan, ph, now, el)
			if opRate > 0 && p > opRate {
				p = opRate
			}
			return p
		}
	}
	for _, t := range c.targetNames() {
		m := map[string]shapers.Metric{}
		for name, s := range r.Targets[t] {
			mt := shapers.Metric{Value: s.Value, Stale: s.Stale, Window: s.Window}
			if w, ok := c.windows[t+"/"+name]; ok {
				mt.Window = w
			}
			if !s.At.IsZero() && r.At.After(s.At) {
				mt.Age = r.At.Sub(s.At)
			}
			m[name] = mt
		}
		if t != "" {
			snap.Targets[t] = m
		}
		if snap.Metrics == nil {
			snap.Metrics = m
		}
	}
	return snap
}

// IntentShaper names the decisions the plan's growth intents make.
const IntentShaper = "intent"

// growthDecision records that the growth in force changed at this tick.
func growthDecision(pos Position, planned shapers.Instruction, g float64) shapers.Decision {
	return shapers.Decision{Tick: pos.Tick, Shaper: IntentShaper, Strategy: "growth", RateBefore: planned.Rate, RateAfter: planned.Rate,
		Changed: fmt.Sprintf("planned load ×%.3g", g), Reason: planned.Growth + " in force: the plan rehearses that traffic from here on"}
}

// endReason is the reason of the decision that ended the phase.
func endReason(ds []shapers.Decision) string {
	for i := len(ds) - 1; i >= 0; i-- {
		if strings.HasPrefix(ds[i].Changed, "end of phase") && ds[i].Reason != "" {
			return ds[i].Shaper + ": " + ds[i].Reason
		}
	}
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Reason != "" {
			return ds[i].Shaper + ": " + ds[i].Reason
		}
	}
	return ""
}

// fmtRate prints a rate for a decision.
func fmtRate(r float64) string {
	if r == math.Trunc(r) && math.Abs(r) < 1e12 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// NoReadings are the readings of a run without metrics: nothing is read
// and nothing is ever stale.
var NoReadings Readings = noReadings{}

type noReadings struct{}

func (noReadings) Read(context.Context, Position) metrics.Snapshot { return metrics.Snapshot{} }

func (noReadings) SafeMode(metrics.Snapshot, string, []string) metrics.Verdict {
	return metrics.Verdict{}
}

// Predictions are the tick's forecasters and anomaly detectors (their
// state is what a model store keeps between runs).
func (c *Controller) Predictions() *Predictions { return c.preds }
