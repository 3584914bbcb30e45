// Package dryrun is `loadshaper plan`: it walks a plan's timeline tick by
// tick without sending a request, runs the plan's real shaper chain against
// a simulated target (runtime/simtarget) and predicts, per phase, the
// shaped rate, the target's metrics against the envelope, the first limit
// reached, which shaper acts and why, and which thresholds are at risk.
// It renders the prediction as a terminal report with charts, JSON (the
// full tick series) or a self-contained HTML page, and compares two plans.
//
// It is deterministic for a given seed and reads no clock.
package dryrun

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

// Options are the inputs of a dry-run besides the plan.
type Options struct {
	Seed int64
	// Model is the simulated target; Source says where it came from.
	Model  simtarget.Model
	Source Source
	// Links builds a phase's shapers, in chain order; nil = tick.Links
	// (the plan's own shaper blocks, built by the shapers package).
	Links func(plan *lang.Plan, phase *lang.Phase) ([]shapers.Link, error)
}

// ScriptDeadline is the least wall-clock deadline a Starlark rule gets
// per call in a dry-run: its own deadline (100 ms by default) could fire on
// a busy machine and change the prediction, which must depend only on the
// plan, its history and the seed. The rule's step budget still bounds
// every call.
const ScriptDeadline = 5 * time.Second

// Run predicts the outcome of plan.
func Run(plan *lang.Plan, opts Options) (*Report, error) {
	if plan == nil {
		return nil, fmt.Errorf("dry-run: no plan")
	}
	if len(plan.Phases) == 0 {
		return nil, fmt.Errorf("dry-run: plan %q has no phase", plan.Name)
	}
	interval := plan.Settings.Tick
	if interval <= 0 {
		interval = time.Second
	}
	rep := &Report{Plan: plan.Name, Files: plan.Files, Seed: opts.Seed, Source: opts.Source, TickSeconds: interval.Seconds()}
	rep.Source.Model = opts.Model
	rep.PlannedDuration = plan.TotalDuration().Seconds()

	// The same control tick as a run; the unshaped pass keeps only the
	// hard limits, to show what the shapers changed.
	ctl, err := tick.New(plan, tick.Options{Links: opts.Links, MinScriptDeadline: ScriptDeadline})
	if err != nil {
		return nil, err
	}
	bareCtl, err := tick.New(plan, tick.Options{Unshaped: true})
	if err != nil {
		return nil, err
	}
	cpuWindow := opts.Model.CPUWindow
	if cpuWindow <= 0 {
		cpuWindow = simtarget.DefaultCPUWindow
	}
	sim, err := simtarget.New(opts.Model, opts.Seed)
	if err != nil {
		return nil, err
	}
	// An imported background series is played one value a tick: coarse
	// steps would play it too fast.
	coarsen := len(opts.Model.BackgroundCPU) == 0
	shaped := walk(plan, sim, ctl, cpuWindow, coarsen)
	bare, err := simtarget.New(opts.Model, opts.Seed)
	if err != nil {
		return nil, err
	}
	unshaped := walk(plan, bare, bareCtl, cpuWindow, coarsen)

	rep.Limits = planLimits(plan)
	rep.Metrics, rep.Unsimulated = reportMetrics(rep.Limits)
	rep.Ticks = shaped.ticks
	markBreaches(rep.Ticks, rep.Limits)
	rep.Breaches = firstBreaches(shaped.ticks, rep.Limits)
	rep.UnshapedBreaches = firstBreaches(unshaped.ticks, rep.Limits)
	if len(rep.Breaches) > 0 {
		rep.FirstBreach = &rep.Breaches[0]
	}
	if len(rep.UnshapedBreaches) > 0 {
		rep.UnshapedFirstBreach = &rep.UnshapedBreaches[0]
	}

	var start time.Duration
	for i, ph := range plan.Phases {
		pr := &PhaseReport{Name: ph.Name, Start: start.Seconds(), Duration: shaped.phaseDur[i].Seconds(),
			PlannedDuration: ph.Duration.Seconds(), Warmup: ph.Warmup, Concurrency: ph.Concurrency,
			Peaks: map[string]float64{}, EndedEarly: shaped.endedEarl[i]}
		if ph.Rate != nil {
			pr.RateShape = ph.Rate.String()
		}
		start += shaped.phaseDur[i]
		var acts []*ShaperActivity
		for _, tk := range shaped.ticks {
			if tk.Phase != ph.Name {
				continue
			}
			pr.PlannedPeak = math.Max(pr.PlannedPeak, tk.Planned)
			pr.ShapedPeak = math.Max(pr.ShapedPeak, tk.Shaped)
			pr.PlannedRequests += tk.Planned * tk.seconds(rep.TickSeconds)
			pr.ShapedRequests += tk.Shaped * tk.seconds(rep.TickSeconds)
			pr.CompletedRequests += tk.Requests
			pr.Errors += tk.Errors
			for _, m := range rep.Metrics {
				v, _ := tk.Sample.Metric(m)
				pr.Peaks[m] = math.Max(pr.Peaks[m], v)
			}
			acts = addActivity(acts, tk)
		}
		// The planned request count does not depend on shaping.
		pr.PlannedRequests = 0
		for _, tk := range unshaped.ticks {
			if tk.Phase == ph.Name {
				pr.PlannedRequests += tk.Planned * tk.seconds(rep.TickSeconds)
			}
		}
		end := shaped.ends[i]
		pr.CompletedRequests += end.Requests
		pr.Errors += end.Errors
		pr.Dropped = end.Dropped
		pr.Shapers = acts
		for j := range rep.Breaches {
			if rep.Breaches[j].Phase == ph.Name && pr.FirstBreach == nil {
				pr.FirstBreach = &rep.Breaches[j]
			}
		}
		for j := range rep.UnshapedBreaches {
			if rep.UnshapedBreaches[j].Phase == ph.Name && pr.UnshapedFirstBreach == nil {
				pr.UnshapedFirstBreach = &rep.UnshapedBreaches[j]
			}
		}
		if ph.Warmup {
			rep.WarmupRequests += pr.ShapedRequests
		} else {
			rep.PlannedRequests += pr.PlannedRequests
			rep.ShapedRequests += pr.ShapedRequests
			rep.CompletedRequests += pr.CompletedRequests
			rep.Errors += pr.Errors
			rep.Dropped += pr.Dropped
		}
		rep.Phases = append(rep.Phases, pr)
	}
	rep.Duration = start.Seconds()
	if dropped := dropsOf(rep.Phases); dropped >= 0.5 {
		conns := opts.Model.MaxConnections
		rep.Notes = append(rep.Notes, fmt.Sprintf("past capacity all %d connections are busy: arrivals wait at the client (the wait counts in latency) and those still waiting %s after their phase are dropped, never sent (%s in all)",
			conns, fmtDur(engine.DropGrace.Seconds()), fmtCount(dropped)))
	}
	rep.Coarse = shaped.coarse
	for _, c := range shaped.coarse {
		rep.Notes = append(rep.Notes, fmt.Sprintf("phase %s from %s to %s simulated in %d coarse steps for %d ticks: nothing changed for %d ticks before (the planned and shaped rate constant, no decision, no arrival waiting)",
			c.Phase, fmtDur(c.From), fmtDur(c.To), c.Steps, c.Ticks, quietTicks))
	}
	var all []*ShaperActivity
	for _, tk := range shaped.ticks {
		all = addActivity(all, tk)
	}
	rep.Shapers = all
	rep.Thresholds = evalThresholds(plan, rep)
	rep.Verdict.Breach = len(rep.Breaches) > 0
	for _, t := range rep.Thresholds {
		if t.Status == "fail" {
			rep.Verdict.ThresholdFail = true
		}
	}
	rep.Verdict.ShaperFailure = shaperFailure(rep)
	return rep, nil
}

// shaperFailure names the shapers that fail on every tick of a phase, as
// a run counts them (tick.Report.ShaperFailure).
func shaperFailure(r *Report) string {
	var why []string
	for _, p := range r.Phases {
		ticks := 0
		for _, tk := range r.Ticks {
			if tk.Phase == p.Name {
				ticks++
			}
		}
		for _, a := range p.Shapers {
			if a.Fallbacks > 0 && a.Fallbacks >= ticks {
				why = append(why, fmt.Sprintf("shaper %q fails on every tick of phase %s", a.Shaper, p.Name))
			}
		}
	}
	return strings.Join(why, "; ")
}

// dropsOf is the arrivals dropped over the phases, warm-up included.
func dropsOf(phases []*PhaseReport) float64 {
	n := 0.0
	for _, p := range phases {
		n += p.Dropped
	}
	return n
}

// planLimits lists every envelope limit of the plan.
func planLimits(plan *lang.Plan) []Limit {
	var out []Limit
	for _, e := range plan.Envelopes {
		for _, l := range e.Limits {
			out = append(out, Limit{Envelope: e.Name, Metric: l.Metric, Max: l.Max, Unit: l.Unit})
		}
	}
	return out
}

// reportMetrics chooses the metrics to chart: the envelope's (those the
// simulated target models), then cpu and latency_p99 if absent.
func reportMetrics(limits []Limit) (metrics, unsimulated []string) {
	seen := map[string]bool{}
	for _, l := range limits {
		if seen[l.Metric] {
			continue
		}
		seen[l.Metric] = true
		if _, ok := (Sample{}).Metric(l.Metric); !ok {
			unsimulated = append(unsimulated, l.Metric)
			continue
		}
		metrics = append(metrics, l.Metric)
	}
	for _, m := range []string{"cpu", "latency_p99"} {
		if !seen[m] {
			metrics = append(metrics, m)
		}
	}
	return metrics, unsimulated
}

func markBreaches(ticks []Tick, limits []Limit) {
	for i := range ticks {
		for _, l := range limits {
			if v, ok := ticks[i].Sample.Metric(l.Metric); ok && l.Max > 0 && v > l.Max {
				ticks[i].Breaches = append(ticks[i].Breaches, l.Envelope+"."+l.Metric)
			}
		}
	}
}

// firstBreaches returns the first tick each limit is exceeded, in time order.
func firstBreaches(ticks []Tick, limits []Limit) []Breach {
	var out []Breach
	for _, l := range limits {
		if l.Max <= 0 {
			continue
		}
		for _, tk := range ticks {
			v, ok := tk.Sample.Metric(l.Metric)
			if !ok {
				break
			}
			if v > l.Max {
				out = append(out, Breach{Envelope: l.Envelope, Metric: l.Metric, At: tk.T, Phase: tk.Phase, Value: v, Limit: l.Max, Rate: tk.Shaped})
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// addActivity folds one tick's decisions into per-shaper activity.
func addActivity(acts []*ShaperActivity, tk Tick) []*ShaperActivity {
	for _, d := range tk.Decisions {
		var a *ShaperActivity
		for _, x := range acts {
			if x.Shaper == d.Shaper {
				a = x
			}
		}
		if a == nil {
			a = &ShaperActivity{Shaper: d.Shaper, Strategy: d.Strategy, FirstAt: -1, MinRatio: 1}
			acts = append(acts, a)
		}
		if d.Fallback {
			a.Fallbacks++
			if d.Error != "" {
				a.LastError = d.Error
			}
		}
		if d.Changed == "" {
			continue
		}
		a.Ticks++
		a.LastReason = d.Reason
		if a.FirstAt < 0 {
			a.FirstAt = tk.T
			a.Reason = d.Reason
			a.Prediction = d.Prediction
		}
		if a.Contention == "" && d.Contention != "" {
			a.Contention = d.Contention
		}
		if d.RateBefore > 0 {
			a.MinRatio = math.Min(a.MinRatio, d.RateAfter/d.RateBefore)
		}
	}
	return acts
}

// evalThresholds predicts each threshold's value over the shaped run.
func evalThresholds(plan *lang.Plan, rep *Report) []ThresholdResult {
	warm := map[string]bool{}
	for _, ph := range plan.Phases {
		warm[ph.Name] = ph.Warmup
	}
	var out []ThresholdResult
	for _, th := range plan.Thresholds {
		r := ThresholdResult{Name: th.Name, Metric: th.Metric, Max: th.Max, Min: th.Min, Window: th.Window.Seconds(), Phase: th.Phase, Abort: th.Abort}
		var ticks []Tick
		for _, tk := range rep.Ticks {
			if (th.Phase == "" && !warm[tk.Phase]) || tk.Phase == th.Phase {
				ticks = append(ticks, tk)
			}
		}
		if _, ok := (Sample{}).Metric(th.Metric); !ok {
			r.Status, r.Note = "unknown", "the simulated target does not model "+th.Metric
			out = append(out, r)
			continue
		}
		if len(ticks) == 0 {
			r.Status, r.Note = "unknown", "no tick in scope"
			out = append(out, r)
			continue
		}
		// The windows: every span of the window's length ending at a tick's
		// end (the whole scope without one); a coarse step counts whole.
		window := math.Inf(1)
		if th.Window > 0 {
			window = math.Max(th.Window.Seconds(), rep.TickSeconds)
		}
		first := true
		tickEnd := func(tk Tick) float64 { return tk.T + tk.seconds(rep.TickSeconds) }
		for begin, end := 0, 1; end <= len(ticks); end++ {
			if th.Window <= 0 && end < len(ticks) {
				continue
			}
			for begin < end-1 && tickEnd(ticks[end-1])-tickEnd(ticks[begin]) >= window-1e-9 {
				begin++
			}
			if th.Window > 0 && end < len(ticks) && tickEnd(ticks[end-1])-ticks[0].T < window-1e-9 {
				continue // not a whole window yet
			}
			v := Aggregate(th.Metric, ticks[begin:end], rep.TickSeconds)
			worse := first
			if th.Max != nil && v > r.Predicted {
				worse = true
			}
			if th.Max == nil && th.Min != nil && v < r.Predicted {
				worse = true
			}
			if worse {
				r.Predicted, r.At = v, tickEnd(ticks[end-1])
			}
			first = false
		}
		r.Status = "ok"
		if th.Max != nil {
			switch {
			case r.Predicted > *th.Max:
				r.Status = "fail"
			case r.Predicted >= 0.9**th.Max:
				r.Status = "at_risk"
			}
		}
		if th.Min != nil && r.Status != "fail" {
			switch {
			case r.Predicted < *th.Min:
				r.Status = "fail"
			case r.Predicted <= 1.1**th.Min && r.Status == "ok":
				r.Status = "at_risk"
			}
		}
		out = append(out, r)
	}
	return out
}

// Aggregate is a metric over a span of ticks, the way a threshold reads
// it: latency quantiles as the request-weighted quantile of the per-tick
// quantiles (an approximation of the pooled histogram), error rate as
// errors over requests, throughput as served requests over time, cpu and
// memory as their peak.
func Aggregate(metric string, ticks []Tick, tickSeconds float64) float64 {
	val := func(tk Tick) float64 { v, _ := tk.Sample.Metric(metric); return v }
	switch {
	case strings.HasPrefix(metric, "latency_p") || metric == "latency_max":
		q := map[string]float64{"latency_p50": 0.5, "latency_p90": 0.9, "latency_p95": 0.95, "latency_p99": 0.99, "latency_p999": 0.999, "latency_max": 1}[metric]
		type wv struct{ v, w float64 }
		var xs []wv
		var tw float64
		for _, tk := range ticks {
			w := tk.Shaped * tk.weight(tickSeconds)
			xs = append(xs, wv{val(tk), w})
			tw += w
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i].v < xs[j].v })
		if tw == 0 {
			return xs[len(xs)-1].v
		}
		acc := 0.0
		for _, x := range xs {
			acc += x.w
			if acc >= q*tw-1e-12 {
				return x.v
			}
		}
		return xs[len(xs)-1].v
	case metric == "error_rate":
		// Errors over the requests completed, as the engine counts them.
		var errs, reqs float64
		for _, tk := range ticks {
			errs += tk.Errors
			reqs += tk.Requests
		}
		if reqs == 0 {
			return 0
		}
		return errs / reqs
	case metric == "latency_mean" || metric == "latency_avg":
		var num, den float64
		for _, tk := range ticks {
			w := tk.Shaped * tk.weight(tickSeconds)
			num += val(tk) * w
			den += w
		}
		if den == 0 {
			return 0
		}
		return num / den
	case metric == "throughput" || metric == "rps":
		var s, n float64
		for _, tk := range ticks {
			w := tk.weight(tickSeconds)
			s += tk.Throughput * w
			n += w
		}
		return s / n
	}
	m := 0.0
	for _, tk := range ticks {
		m = math.Max(m, val(tk))
	}
	return m
}
