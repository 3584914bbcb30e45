package dryrun

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes a report (or reports), with the full tick series, as indented JSON.
func WriteJSON(w io.Writer, r any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// TextOptions tune the terminal report.
type TextOptions struct {
	Width  int  // chart width in columns; default 72
	Charts bool // draw the charts
}

// WriteText writes the readable terminal report.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	if o.Width <= 0 {
		o.Width = 72
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "Dry-run of plan %q (seed %d): no request is sent.\n", r.Plan, r.Seed)
	fmt.Fprintf(b, "Simulated target: %s\n", describeSource(r.Source))
	fmt.Fprintf(b, "  %s\n", describeModel(r.Source))
	dur := fmtDur(r.Duration)
	if r.Duration != r.PlannedDuration {
		dur += " (planned " + fmtDur(r.PlannedDuration) + ")"
	}
	fmt.Fprintf(b, "Duration %s · requests planned %s, shaped %s", dur, fmtCount(r.PlannedRequests), fmtCount(r.ShapedRequests))
	if r.PlannedRequests > 0 {
		fmt.Fprintf(b, " (%.0f%%)", 100*r.ShapedRequests/r.PlannedRequests)
	}
	if r.WarmupRequests > 0 {
		fmt.Fprintf(b, " · warm-up %s", fmtCount(r.WarmupRequests))
	}
	if r.Errors >= 0.5 || r.Dropped >= 0.5 {
		fmt.Fprintf(b, " · errors %s, dropped %s", fmtCount(r.Errors), fmtCount(r.Dropped))
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		fmt.Fprintf(b, "Note: %s\n", n)
	}

	b.WriteString("\nPhases\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  phase\ttime\trate\tpeak planned\tpeak shaped\trequests\t")
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "peak %s\t", shortMetric(m))
	}
	lost := false // any phase predicted to fail or drop requests
	for _, p := range r.Phases {
		lost = lost || p.Errors >= 0.5 || p.Dropped >= 0.5
	}
	if lost {
		fmt.Fprintf(tw, "errors\tdropped\t")
	}
	fmt.Fprintf(tw, "first limit\n")
	for _, p := range r.Phases {
		name := p.Name
		if p.Warmup {
			name += " (warm-up)"
		}
		shape := p.RateShape
		if p.Concurrency > 0 {
			shape = fmt.Sprintf("%d users", p.Concurrency)
		}
		when := fmtDur(p.Start) + "–" + fmtDur(p.Start+p.Duration)
		if p.EndedEarly {
			when += " (ends early)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t", name, when, shape, fmtNum(p.PlannedPeak), fmtNum(p.ShapedPeak), fmtCount(p.ShapedRequests))
		for _, m := range r.Metrics {
			fmt.Fprintf(tw, "%s\t", formatterFor(m)(p.Peaks[m]))
		}
		if lost {
			fmt.Fprintf(tw, "%s\t%s\t", fmtCount(p.Errors), fmtCount(p.Dropped))
		}
		first := "-"
		if p.FirstBreach != nil {
			first = fmt.Sprintf("%s at %s", p.FirstBreach.Metric, fmtDur(p.FirstBreach.At))
		}
		fmt.Fprintf(tw, "%s\n", first)
	}
	tw.Flush()

	if len(r.Limits) > 0 {
		b.WriteString("\nEnvelope\n")
		for _, l := range r.Limits {
			f := formatterFor(l.Metric)
			// From below any reading, so a metric that stays at 0 (no error
			// all run) still has a peak and the tick it was first seen at.
			peak, where := math.Inf(-1), ""
			for _, tk := range r.Ticks {
				if v, ok := tk.Sample.Metric(l.Metric); ok && v > peak {
					peak, where = v, fmt.Sprintf("%s at %s", tk.Phase, fmtDur(tk.T))
				}
			}
			fmt.Fprintf(b, "  %s.%s ≤ %s: ", l.Envelope, l.Metric, f(l.Max))
			if _, ok := (Sample{}).Metric(l.Metric); !ok {
				b.WriteString("not modelled by the simulated target\n")
				continue
			}
			if where == "" {
				b.WriteString("no tick simulated\n")
				continue
			}
			if peak == 0 {
				fmt.Fprintf(b, "%s all run (0%% of the limit)", f(0))
			} else {
				fmt.Fprintf(b, "peak %s (%s, %.0f%% of the limit)", f(peak), where, 100*peak/l.Max)
			}
			if br := findBreach(r.Breaches, l); br != nil {
				fmt.Fprintf(b, " — BREACHED at %s in %s (%s at %s req/s)", fmtDur(br.At), br.Phase, f(br.Value), fmtNum(br.Rate))
			}
			if br := findBreach(r.UnshapedBreaches, l); br != nil {
				fmt.Fprintf(b, "\n      at the planned rate it would be reached at %s in %s (%s req/s)", fmtDur(br.At), br.Phase, fmtNum(br.Rate))
			} else {
				b.WriteString("\n      the planned rate alone stays within it")
			}
			b.WriteString("\n")
		}
	}

	b.WriteString("\nShapers\n")
	if len(r.Shapers) == 0 {
		b.WriteString("  no shaper changes the planned rate\n")
	}
	for _, p := range r.Phases {
		for _, a := range p.Shapers {
			if a.Ticks == 0 && a.Fallbacks == 0 {
				continue
			}
			fmt.Fprintf(b, "  %s: %s (%s) acts in %d ticks from %s", p.Name, a.Shaper, a.Strategy, a.Ticks, fmtDur(a.FirstAt))
			if a.MinRatio < 1 {
				fmt.Fprintf(b, ", down to %.0f%% of the rate it was given", 100*a.MinRatio)
			}
			b.WriteString("\n")
			if a.Reason != "" {
				fmt.Fprintf(b, "      first: %s\n", a.Reason)
			}
			if a.LastReason != "" && a.LastReason != a.Reason {
				fmt.Fprintf(b, "      last:  %s\n", a.LastReason)
			}
			if a.Prediction != "" {
				fmt.Fprintf(b, "      prediction: %s\n", a.Prediction)
			}
			if a.Contention != "" {
				fmt.Fprintf(b, "      binding metric: %s\n", a.Contention)
			}
			if a.Fallbacks > 0 {
				// The error's first line says where (a rule's file:line:col);
				// its backtrace follows, indented under it.
				fmt.Fprintf(b, "      fell back to the safe built-in in %d ticks: %s\n", a.Fallbacks,
					strings.ReplaceAll(strings.TrimRight(a.LastError, "\n"), "\n", "\n        "))
			}
		}
	}

	if len(r.Thresholds) > 0 {
		b.WriteString("\nThresholds\n")
		for _, t := range r.Thresholds {
			f := formatterFor(t.Metric)
			var bound []string
			if t.Max != nil {
				bound = append(bound, "max "+f(*t.Max))
			}
			if t.Min != nil {
				bound = append(bound, "min "+f(*t.Min))
			}
			scope := "whole run"
			if t.Window > 0 {
				scope = "worst " + fmtDur(t.Window) + " window"
			}
			if t.Phase != "" {
				scope += " of " + t.Phase
			}
			status := map[string]string{"ok": "ok", "at_risk": "AT RISK", "fail": "FAILS", "unknown": "unknown"}[t.Status]
			if t.Status == "unknown" {
				fmt.Fprintf(b, "  %s (%s %s): unknown — %s\n", t.Name, t.Metric, strings.Join(bound, ", "), t.Note)
				continue
			}
			fmt.Fprintf(b, "  %s (%s %s, %s): predicted %s — %s\n", t.Name, t.Metric, strings.Join(bound, ", "), scope, f(t.Predicted), status)
		}
	}

	b.WriteString("\nVerdict: ")
	b.WriteString(verdictText(r))
	b.WriteString("\n")

	if o.Charts && len(r.Ticks) > 0 {
		for _, spec := range chartSpecs(r) {
			b.WriteString("\n")
			for _, line := range textChart(spec, o.Width, 8, phaseMarks(r), r.Duration) {
				b.WriteString(strings.TrimRight(line, " "))
				b.WriteString("\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdictText(r *Report) string {
	var parts []string
	if r.FirstBreach != nil {
		fb := r.FirstBreach
		parts = append(parts, fmt.Sprintf("the envelope is breached (first: %s.%s at %s in %s)", fb.Envelope, fb.Metric, fmtDur(fb.At), fb.Phase))
	} else if len(r.Limits) > 0 {
		parts = append(parts, "the shaped run stays within the envelope")
	} else {
		parts = append(parts, "the plan has no envelope")
	}
	fails, risk := 0, 0
	for _, t := range r.Thresholds {
		switch t.Status {
		case "fail":
			fails++
		case "at_risk":
			risk++
		}
	}
	if fails > 0 {
		parts = append(parts, fmt.Sprintf("%d threshold(s) predicted to fail", fails))
	}
	if risk > 0 {
		parts = append(parts, fmt.Sprintf("%d threshold(s) at risk", risk))
	}
	// A failing rule is as loud here as in the run it predicts.
	for _, p := range r.Phases {
		ticks := 0
		for _, tk := range r.Ticks {
			if tk.Phase == p.Name {
				ticks++
			}
		}
		for _, a := range p.Shapers {
			switch {
			case a.Fallbacks == 0:
			case a.Fallbacks >= ticks:
				parts = append(parts, fmt.Sprintf("shaper %q FAILS on every tick of phase %s (the run would exit 6)", a.Shaper, p.Name))
			default:
				parts = append(parts, fmt.Sprintf("shaper %q fails in %d of %d ticks of phase %s", a.Shaper, a.Fallbacks, ticks, p.Name))
			}
		}
	}
	return strings.Join(parts, "; ") + "."
}

func findBreach(bs []Breach, l Limit) *Breach {
	for i := range bs {
		if bs[i].Envelope == l.Envelope && bs[i].Metric == l.Metric {
			return &bs[i]
		}
	}
	return nil
}

func describeSource(s Source) string {
	switch s.Kind {
	case "history":
		return fmt.Sprintf("fitted to %d earlier run(s) of this plan (%d ticks) — %s", s.Runs, s.Ticks, s.Detail)
	case "import":
		return fmt.Sprintf("imported history, %d run(s), %d ticks — %s", s.Runs, s.Ticks, s.Detail)
	case "simulate":
		return "the plan's simulate block — " + s.Detail
	}
	return "defaults — " + s.Detail
}

func describeModel(s Source) string {
	m := s.Model
	capacity := m.Capacity(0)
	cpuAt := math.Min(1, m.BaseCPU+capacity*m.CostPerRequest/m.Cores+m.CPUQuadratic*capacity*capacity)
	out := fmt.Sprintf("capacity %s req/s (cpu %s there) on %g core(s), %s CPU per request, base cpu %s",
		fmtNum(capacity), fmtPct(cpuAt), m.Cores, fmtSeconds(m.CostPerRequest), fmtPct(m.BaseCPU))
	if m.LatencyCurve != nil {
		out += fmt.Sprintf(", fitted p99 %s + %s·u/(1−u)", fmtSeconds(m.LatencyCurve.Base), fmtSeconds(m.LatencyCurve.K))
	} else {
		out += ", base latency " + fmtSeconds(m.BaseLatency.Seconds())
	}
	if len(m.BackgroundCPU) > 0 {
		out += fmt.Sprintf(", background cpu %s→%s", fmtPct(m.BackgroundCPU[0]), fmtPct(m.BackgroundCPU[len(m.BackgroundCPU)-1]))
	}
	if m.CapacityChangeAt > 0 && m.CapacityChangeTo > 0 {
		out += fmt.Sprintf(", capacity ×%g from %s", m.CapacityChangeTo, fmtDur(m.CapacityChangeAt.Seconds()))
	}
	if m.Noise > 0 {
		out += fmt.Sprintf(", noise %.0f%%", m.Noise*100)
	}
	return out
}

func fmtCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func shortMetric(m string) string {
	return strings.TrimPrefix(m, "latency_")
}

// chartSpecs are the report's charts: the rate, then each metric against
// the tightest envelope limit on it.
func chartSpecs(r *Report) []chartSpec {
	rate := chartSpec{Title: "rate (req/s): bars = shaped, · = planned where higher", Name: "rate (req/s)", Format: fmtNum}
	for _, tk := range r.Ticks {
		rate.Values = append(rate.Values, tk.Shaped)
		rate.Dots = append(rate.Dots, tk.Planned)
	}
	out := []chartSpec{rate}
	for _, m := range r.Metrics {
		spec := chartSpec{Title: m, Name: m, Format: formatterFor(m)}
		for _, l := range r.Limits {
			if l.Metric == m && l.Max > 0 && (spec.Limit == 0 || l.Max < spec.Limit) {
				spec.Limit = l.Max
				spec.Title = fmt.Sprintf("%s: ┄ = envelope %s (%s)", m, l.Envelope, formatterFor(m)(l.Max))
				spec.Name = fmt.Sprintf("%s against envelope %s (%s)", m, l.Envelope, formatterFor(m)(l.Max))
			}
		}
		for _, tk := range r.Ticks {
			v, _ := tk.Sample.Metric(m)
			spec.Values = append(spec.Values, v)
		}
		out = append(out, spec)
	}
	// The engine's queue: arrivals waiting for a free connection.
	queued := chartSpec{Title: "queued at the client (arrivals waiting for a connection)", Name: "queued at the client", Format: fmtCount}
	peak := 0.0
	for _, tk := range r.Ticks {
		queued.Values = append(queued.Values, tk.Queued)
		peak = math.Max(peak, tk.Queued)
	}
	if peak >= 1 {
		out = append(out, queued)
	}
	return out
}

// phaseMarks are the phases' starts as fractions of the run.
func phaseMarks(r *Report) []float64 {
	var out []float64
	if r.Duration <= 0 {
		return nil
	}
	for _, p := range r.Phases[1:] {
		out = append(out, p.Start/r.Duration)
	}
	return out
}
