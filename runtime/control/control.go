// Package control is the control loop of a real run: every tick it reads
// the targets' metrics (the plan's sources and the generators' own
// figures), builds the shapers' snapshot, runs the phase's shaper chain,
// hands the result to the engine (which clamps it to the hard limits and
// applies it), and records metrics, instruction and decisions in history.
// It measures its own latency and counts the ticks it overran.
//
// It plugs into runtime/engine as its Controller and an OnTick observer.
package control

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/runtime/prediction"
	"github.com/loadshaper/loadshaper/shapers"
)

// Options wire a Loop to the rest of the run.
type Options struct {
	// Collector reads the targets' metrics; nil = built from the plan's
	// metrics blocks (the Loop then closes it).
	Collector *metrics.Collector
	// Recorder receives one history tick per control tick; nil = none.
	Recorder *history.Recorder
	// ReadBudget is how long a tick waits for the metrics sources; default
	// half the tick. A source that is slower is stale for that tick.
	ReadBudget time.Duration
}

// Loop is the control loop of one run. It is used from the engine's
// control goroutine; Report may be called from any goroutine.
type Loop struct {
	plan    *lang.Plan
	tick    time.Duration
	links   [][]shapers.Link
	classes []shapers.RequestClass
	env     shapers.Limits
	coll    *metrics.Collector
	owned   bool
	client  map[string]*metrics.ClientSource
	rec     *history.Recorder
	budget  time.Duration
	windows map[string]time.Duration // "target/metric" -> the span a reading averages over

	predictions *prediction.Set
	intents     []shapers.Intent // the plan's intent blocks, for Snapshot.Intents

	safe      safeState
	chain     *shapers.Chain
	phase     int
	readings  metrics.Snapshot
	decisions []shapers.Decision
	growth    string // the growth note of the last tick (Instruction.Growth)

	point   *engine.ShapingPoint // what the last step saw and decided, for the live view and report
	stop    func(reason string)  // stops the run early (on_error = "fail"); see SetStop
	stopped bool

	mu  sync.Mutex
	rep Report
	lat []time.Duration
}

// Report is what the loop did over the run, for the summary.
type Report struct {
	Ticks       int              `json:"ticks"`
	Overruns    int              `json:"overruns"`       // control steps that took longer than the tick
	LatencyP50  float64          `json:"latency_p50_ms"` // of one control step (metrics read + chain)
	LatencyP99  float64          `json:"latency_p99_ms"`
	LatencyMax  float64          `json:"latency_max_ms"`
	Shapers     []ShaperReport   `json:"shapers,omitempty"`
	Findings    []string         `json:"findings,omitempty"`
	EndRequests []string         `json:"end_phase_requests,omitempty"` // a shaper asked to end a phase early
	Sources     []metrics.Health `json:"sources,omitempty"`
	// SafeModeTicks counts the ticks an envelope metric was stale and the
	// plan's on_stale policy held or lowered the rate (first at
	// SafeModeFirstAt seconds into the run, for SafeModeReason last).
	SafeModeTicks   int     `json:"safe_mode_ticks"`
	SafeModeFirstAt float64 `json:"safe_mode_first_at_s,omitempty"`
	SafeModeReason  string  `json:"safe_mode_reason,omitempty"`
}

// ShaperReport sums up one shaper's decisions.
type ShaperReport struct {
	Shaper     string  `json:"shaper"`
	Strategy   string  `json:"strategy"`
	TicksActed int     `json:"ticks_acted"` // ticks it changed the instruction
	FirstAt    float64 `json:"first_at_s"`  // run time of its first change; -1 never
	LastReason string  `json:"last_reason,omitempty"`
	Contention string  `json:"contention,omitempty"`
	MinRatio   float64 `json:"min_ratio"` // smallest rate after / rate before
	Fallbacks  int     `json:"fallbacks"`
	LastError  string  `json:"last_error,omitempty"`
	// Ticks counts the ticks it ran in; FirstFallbackAt is the run time of
	// its first failure; OnError is its block's on_error.
	Ticks           int     `json:"ticks"`
	FirstFallbackAt float64 `json:"first_fallback_at_s,omitempty"`
	OnError         string  `json:"on_error"`
}

// New builds the loop of a plan: every phase's shaper chain (so a bad
// parameter or script is reported before anything is sent), and the
// metrics collector with a client source per target.
func New(plan *lang.Plan, o Options) (*Loop, error) {
	l := &Loop{plan: plan, tick: plan.Settings.Tick, rec: o.Recorder, budget: o.ReadBudget, phase: -1,
		client: map[string]*metrics.ClientSource{}, windows: map[string]time.Duration{}}
	if l.tick <= 0 {
		l.tick = time.Second
	}
	if l.budget <= 0 {
		l.budget = l.tick / 2
	}
	links, err := dryrun.PhaseLinks(plan, nil)
	if err != nil {
		return nil, err
	}
	l.links = links
	for _, r := range plan.Requests {
		l.classes = append(l.classes, shapers.RequestClass{Name: r.Name, Priority: r.Priority, Weight: r.Weight})
	}
	if len(plan.Envelopes) > 0 {
		l.env = shapers.Limits{}
		for _, lim := range plan.Envelopes[0].Limits {
			l.env[lim.Metric] = lim.Max
		}
	}
	l.safe.need, l.safe.seen = l.envelopeNeeds(), map[string]bool{}
	l.intents = dryrun.Intents(plan)
	l.predictions = prediction.New(plan, l.tick, l.env)
	l.coll = o.Collector
	if l.coll == nil {
		c, err := metrics.NewCollector(plan)
		if err != nil {
			return nil, err
		}
		l.coll, l.owned = c, true
	}
	for _, t := range plan.Targets {
		cs := metrics.NewClientSource()
		l.client[t.Name] = cs
		l.coll.Add(metrics.Spec{Target: t.Name, Name: "client", Source: cs})
		for _, ms := range t.Metrics {
			for name, q := range ms.Queries {
				if w := rangeOf(q); w > 0 {
					l.windows[t.Name+"/"+name] = w
				}
			}
		}
	}
	return l, nil
}

// rangeRE finds a PromQL range selector such as [5s] or [1m].
var rangeRE = regexp.MustCompile(`\[(\d+(?:ms|s|m|h))(?::[^\]]*)?\]`)

// rangeOf is the longest range selector of a query: the span of load its
// value averages over, which is most of the lag between a rate change and
// the metric's response.
func rangeOf(q string) time.Duration {
	var longest time.Duration
	for _, m := range rangeRE.FindAllStringSubmatch(q, -1) {
		if d, err := time.ParseDuration(m[1]); err == nil && d > longest {
			longest = d
		}
	}
	return longest
}

// Close releases the collector when the loop built it.
func (l *Loop) Close() error {
	if l.owned {
		return l.coll.Close()
	}
	return nil
}

// Control implements engine.Controller.
func (l *Loop) Control(ti engine.TickInfo, in shapers.Instruction) shapers.Instruction {
	start := time.Now()
	if ti.PhaseIndex != l.phase {
		links := l.links[ti.PhaseIndex]
		if l.chain == nil {
			l.chain = shapers.NewChain(links, shapers.ChainOptions{Requests: l.classes})
		} else {
			l.chain = l.chain.WithLinks(links) // keep the models' memory across phases
		}
		l.phase = ti.PhaseIndex
	}
	if ti.Last != nil {
		// Each target gets its own generator's figures (distribute needs
		// them per target); the whole run's when the engine has no split.
		f := figures(ti.Last)
		for name, cs := range l.client {
			if ts, ok := ti.Last.Targets[name]; ok {
				cs.Update(ti.Last.At, targetFigures(ts))
			} else {
				cs.Update(ti.Last.At, f)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.budget)
	l.readings = l.coll.Read(ctx, start)
	cancel()

	ph := ti.Phase
	snap := &shapers.Snapshot{Tick: ti.Tick, Now: ti.Elapsed, Interval: l.tick, MaxRate: l.plan.Settings.MaxRate, Envelope: l.env,
		Phase: shapers.PhaseInfo{Name: ph.Name, Elapsed: ti.PhaseElapsed, Duration: ph.Duration, PlannedRate: ti.PlannedRate,
			MaxRate: ph.MaxRate, Warmup: ph.Warmup, Chaos: chaosPlans(ph)},
		Targets: map[string]map[string]shapers.Metric{}, Intents: l.intents}
	if ph.Rate != nil && ph.Concurrency == 0 {
		// The growth in force now is part of the planned rate, as in
		// PlannedRate; growth still to come reaches shapers as Intents.
		g := ti.Growth
		if !(g > 0) {
			g = 1
		}
		snap.Phase.Planned = func(e time.Duration) float64 { return ph.Rate.At(e, ph.Duration) * g }
	}
	for _, t := range l.plan.Targets {
		m := map[string]shapers.Metric{}
		for name, s := range l.readings.Targets[t.Name] {
			mt := shapers.Metric{Value: s.Value, Stale: s.Stale, Window: l.windows[t.Name+"/"+name]}
			if !s.At.IsZero() && start.After(s.At) {
				mt.Age = start.Sub(s.At)
			}
			m[name] = mt
		}
		snap.Targets[t.Name] = m
		if snap.Metrics == nil {
			snap.Metrics = m
		}
	}
	l.predictions.Fill(snap)
	out, ds := l.chain.Run(snap, in)
	out, ds = l.safeMode(ti, out, ds)
	if out.EndPhase && out.EndReason == "" {
		out.EndReason = endReason(ds)
	}
	l.decisions = ds
	if in.Growth != l.growth && in.Growth != "" {
		// Recorded in history (not a shaper's act): the plan's growth
		// changed the planned load from this tick on.
		l.decisions = append(l.decisions, growthDecision(ti, in.Growth))
	}
	l.growth = in.Growth
	l.point = l.shapingPoint(snap, in, out, l.decisions)
	l.account(ti, ds, out, time.Since(start))
	l.failFast(ds)
	return out
}

// IntentShaper names the history decisions the plan's growth intents make.
const IntentShaper = "intent"

// growthDecision records that the growth in force changed at this tick.
func growthDecision(ti engine.TickInfo, note string) shapers.Decision {
	return shapers.Decision{Tick: ti.Tick, Shaper: IntentShaper, Strategy: "growth", RateBefore: ti.PlannedRate, RateAfter: ti.PlannedRate,
		Changed: fmt.Sprintf("planned load ×%.3g", ti.Growth), Reason: note + " in force: the plan rehearses that traffic from here on"}
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

func figures(ts *engine.TickStats) metrics.ClientFigures {
	ms := func(v float64) float64 { return v / 1000 }
	return metrics.ClientFigures{
		Throughput: ts.Throughput, ErrorRate: ts.ErrorRate, InFlight: float64(ts.InFlight),
		P50: ms(ts.Latency.P50), P90: ms(ts.Latency.P90), P95: ms(ts.Latency.P95), P99: ms(ts.Latency.P99),
		P999: ms(ts.Latency.P999), Max: ms(ts.Latency.Max), Requests: int(ts.Requests),
	}
}

func targetFigures(ts engine.TargetStats) metrics.ClientFigures {
	ms := func(v float64) float64 { return v / 1000 }
	return metrics.ClientFigures{
		Throughput: ts.Throughput, ErrorRate: ts.ErrorRate, InFlight: float64(ts.InFlight),
		P50: ms(ts.Latency.P50), P90: ms(ts.Latency.P90), P95: ms(ts.Latency.P95), P99: ms(ts.Latency.P99),
		P999: ms(ts.Latency.P999), Max: ms(ts.Latency.Max), Requests: int(ts.Requests),
	}
}

func chaosPlans(ph *lang.Phase) []shapers.ChaosPlan {
	var out []shapers.ChaosPlan
	for _, c := range ph.Chaos {
		out = append(out, shapers.ChaosPlan{Kind: c.Kind, At: c.At, Duration: c.Duration, Factor: c.Factor,
			Fraction: c.Fraction, Headers: c.Headers, WithinEnvelope: c.WithinEnvelope})
	}
	return out
}

// account updates the report with one tick.
func (l *Loop) account(ti engine.TickInfo, ds []shapers.Decision, out shapers.Instruction, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rep.Ticks++
	if took > l.tick {
		l.rep.Overruns++
	}
	l.lat = append(l.lat, took)
	if out.EndPhase {
		l.rep.EndRequests = append(l.rep.EndRequests, fmt.Sprintf("%s at %s", ti.Phase.Name, ti.PhaseElapsed.Round(time.Second)))
	}
	for _, d := range ds {
		if d.Shaper == SafeModeShaper {
			if l.rep.SafeModeTicks == 0 {
				l.rep.SafeModeFirstAt = ti.Elapsed.Seconds()
			}
			l.rep.SafeModeTicks++
			l.rep.SafeModeReason = d.Reason
		}
		r := l.shaperReport(d.Shaper, d.Strategy)
		r.Ticks++
		if d.Changed != "" {
			if r.TicksActed == 0 {
				r.FirstAt = ti.Elapsed.Seconds()
			}
			r.TicksActed++
			r.LastReason = d.Reason
			if d.RateBefore > 0 {
				r.MinRatio = math.Min(r.MinRatio, d.RateAfter/d.RateBefore)
			}
		}
		if d.Contention != "" {
			r.Contention = d.Contention
		}
		if d.Fallback {
			if r.Fallbacks == 0 {
				r.FirstFallbackAt = ti.Elapsed.Seconds()
			}
			r.Fallbacks++
			r.LastError = d.Error
		}
		if d.Finding != "" {
			l.rep.Findings = append(l.rep.Findings, fmt.Sprintf("%s (%s, at %s)", d.Finding, d.Shaper, ti.Elapsed.Round(time.Second)))
		}
	}
}

func (l *Loop) shaperReport(name, strategy string) *ShaperReport {
	for i := range l.rep.Shapers {
		if l.rep.Shapers[i].Shaper == name {
			return &l.rep.Shapers[i]
		}
	}
	l.rep.Shapers = append(l.rep.Shapers, ShaperReport{Shaper: name, Strategy: strategy, FirstAt: -1, MinRatio: 1, OnError: l.onError(name)})
	return &l.rep.Shapers[len(l.rep.Shapers)-1]
}

// OnTick records the tick that just ended in history: the metrics read at
// its start, the instruction the generators followed and the decisions.
func (l *Loop) OnTick(ts *engine.TickStats) {
	ts.Shaping = l.point
	if l.rec == nil {
		return
	}
	fresh, stale := l.readings.Flat()
	_ = l.rec.Record(history.Tick{N: ts.Tick, At: ts.At, Phase: ts.Phase, Metrics: fresh, Stale: stale,
		Instruction: history.FromInstruction(ts.Instruction), Decisions: history.FromDecisions(l.decisions)})
}

// Report returns what the loop did so far.
func (l *Loop) Report() Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rep
	r.Shapers = append([]ShaperReport(nil), l.rep.Shapers...)
	r.Findings = append([]string(nil), l.rep.Findings...)
	if n := len(l.lat); n > 0 {
		s := append([]time.Duration(nil), l.lat...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		r.LatencyP50, r.LatencyP99, r.LatencyMax = ms(s[n/2]), ms(s[min(n-1, n*99/100)]), ms(s[n-1])
	}
	r.Sources = l.coll.Health()
	return r
}

// WriteReport prints the report as the summary's shaping section.
func WriteReport(w io.Writer, r Report) {
	if r.Ticks == 0 {
		return
	}
	fmt.Fprintf(w, "\nshaping: %d ticks, control step p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d overran the tick\n",
		r.Ticks, r.LatencyP50, r.LatencyP99, r.LatencyMax, r.Overruns)
	writeFailures(w, r)
	for _, s := range r.Shapers {
		line := fmt.Sprintf("  %-16s %-22s acted %d ticks", s.Shaper, s.Strategy, s.TicksActed)
		if s.TicksActed > 0 {
			line += fmt.Sprintf(" (first at %.0fs, down to %.0f%% of its input)", s.FirstAt, 100*s.MinRatio)
		}
		if s.Contention != "" {
			line += ", contention " + s.Contention
		}
		if s.Fallbacks > 0 {
			line += fmt.Sprintf(", %d fallbacks (last: %s)", s.Fallbacks, firstLine(s.LastError))
		}
		fmt.Fprintln(w, line)
		if s.LastReason != "" {
			fmt.Fprintf(w, "    last: %s\n", s.LastReason)
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  finding: %s\n", f)
	}
	if r.SafeModeTicks > 0 {
		fmt.Fprintf(w, "  safe mode: %d ticks (first at %.0fs); last: %s\n", r.SafeModeTicks, r.SafeModeFirstAt, r.SafeModeReason)
	}
	for _, h := range r.Sources {
		if h.Errors == 0 && len(h.Stale) == 0 || h.Source == "client" {
			continue
		}
		line := fmt.Sprintf("  source %s of %s: %d of %d reads failed", h.Source, h.Target, h.Errors, h.Reads)
		if len(h.Stale) > 0 {
			line += ", stale at the end: " + strings.Join(h.Stale, ", ")
		}
		if h.Err != "" {
			line += ", last error: " + h.Err
		}
		fmt.Fprintln(w, line)
	}
	for _, e := range r.EndRequests {
		fmt.Fprintf(w, "  end of phase requested: %s\n", e)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
