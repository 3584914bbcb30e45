package tick

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/shapers"
)

// report is what the ticks did, for Report.
type report struct {
	mu  sync.Mutex
	rep Report
	lat []time.Duration
}

// Report is what the control ticks did over a run, for the summary.
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

// account updates the report with one tick.
func (c *Controller) account(pos Position, ds []shapers.Decision, out shapers.Instruction) {
	l := &c.rep
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rep.Ticks++
	if out.EndPhase {
		l.rep.EndRequests = append(l.rep.EndRequests, fmt.Sprintf("%s at %s", c.plan.Phases[pos.Phase].Name, pos.PhaseElapsed.Round(time.Second)))
	}
	elapsed := pos.Elapsed()
	for _, d := range ds {
		if d.Shaper == IntentShaper {
			continue // the plan's growth, not a shaper's act
		}
		if d.Shaper == SafeModeShaper {
			if l.rep.SafeModeTicks == 0 {
				l.rep.SafeModeFirstAt = elapsed.Seconds()
			}
			l.rep.SafeModeTicks++
			l.rep.SafeModeReason = d.Reason
		}
		r := l.shaperReport(d.Shaper, d.Strategy, c.onError)
		r.Ticks++
		if d.Changed != "" {
			if r.TicksActed == 0 {
				r.FirstAt = elapsed.Seconds()
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
				r.FirstFallbackAt = elapsed.Seconds()
			}
			r.Fallbacks++
			r.LastError = d.Error
		}
		if d.Finding != "" {
			l.rep.Findings = append(l.rep.Findings, fmt.Sprintf("%s (%s, at %s)", d.Finding, d.Shaper, elapsed.Round(time.Second)))
		}
	}
}

func (l *report) shaperReport(name, strategy string, onError func(string) string) *ShaperReport {
	for i := range l.rep.Shapers {
		if l.rep.Shapers[i].Shaper == name {
			return &l.rep.Shapers[i]
		}
	}
	l.rep.Shapers = append(l.rep.Shapers, ShaperReport{Shaper: name, Strategy: strategy, FirstAt: -1, MinRatio: 1, OnError: onError(name)})
	return &l.rep.Shapers[len(l.rep.Shapers)-1]
}

// Timed adds the duration of one control step (reading the metrics and
// Step) to the report, measured by the caller: a tick that took longer
// than the interval is an overrun.
func (c *Controller) Timed(took time.Duration) {
	l := &c.rep
	l.mu.Lock()
	defer l.mu.Unlock()
	if took > c.tick {
		l.rep.Overruns++
	}
	l.lat = append(l.lat, took)
}

// Report returns what the ticks did so far; sources is the health of the
// metrics sources, when the caller has them.
func (c *Controller) Report(sources []metrics.Health) Report {
	l := &c.rep
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
	r.Sources = sources
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
