package dryrun

import (
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/shapers"
)

// Report is the predicted outcome of a plan: what `loadshaper plan` prints
// and what `--format json` writes. Times are seconds from the start of the
// run; rates are requests per second; metrics are in their base units.
type Report struct {
	Plan        string   `json:"plan"`
	Files       []string `json:"files"`
	Seed        int64    `json:"seed"`
	Source      Source   `json:"source"`
	TickSeconds float64  `json:"tick_seconds"`
	// Duration is the predicted length of the run (a phase may end early,
	// e.g. a presoak that settles).
	Duration        float64 `json:"duration_seconds"`
	PlannedDuration float64 `json:"planned_duration_seconds"`
	// Requests are over the non-warmup phases.
	PlannedRequests float64 `json:"planned_requests"`
	ShapedRequests  float64 `json:"shaped_requests"`
	WarmupRequests  float64 `json:"warmup_requests"`
	// CompletedRequests, Errors and Dropped are what the engine would
	// count over the non-warmup phases: requests completed (answered or
	// failed), those that failed, and arrivals dropped unsent.
	CompletedRequests float64 `json:"completed_requests"`
	Errors            float64 `json:"errors"`
	Dropped           float64 `json:"dropped"`

	Limits  []Limit           `json:"limits"`
	Metrics []string          `json:"metrics"` // metrics charted and reported, in order
	Phases  []*PhaseReport    `json:"phases"`
	Shapers []*ShaperActivity `json:"shapers"`
	// Breaches are the first tick each envelope limit is exceeded in the
	// shaped run, in time order; FirstBreach is the earliest (nil: none).
	Breaches    []Breach `json:"breaches"`
	FirstBreach *Breach  `json:"first_breach"`
	// Unshaped is the same timeline at the planned rate with no shaper:
	// where the plan itself would take the target.
	UnshapedBreaches    []Breach          `json:"unshaped_breaches"`
	UnshapedFirstBreach *Breach           `json:"unshaped_first_breach"`
	Thresholds          []ThresholdResult `json:"thresholds"`
	Unsimulated         []string          `json:"unsimulated,omitempty"` // envelope metrics the simulated target does not model
	Notes               []string          `json:"notes,omitempty"`

	Verdict Verdict `json:"verdict"`
	Ticks   []Tick  `json:"ticks"`
	// Coarse are the stretches simulated in coarse steps (nothing changed
	// for a while: see spec/dry-run.md); their ticks have a span_s.
	Coarse []CoarseSpan `json:"coarse,omitempty"`
}

// Verdict is the predicted outcome in two booleans, for --fail-on.
type Verdict struct {
	Breach        bool `json:"breach"`         // an envelope limit is exceeded in the shaped run
	ThresholdFail bool `json:"threshold_fail"` // a threshold is predicted to fail
	// ShaperFailure names the shapers predicted to fail on every tick of a
	// phase: the run would fail with exit 6 (spec/exit-codes.md).
	ShaperFailure string `json:"shaper_failure,omitempty"`
}

// Source says which simulated target the dry-run used and how much data
// stood behind it.
type Source struct {
	Kind   string `json:"kind"` // history | import | simulate | default
	Detail string `json:"detail"`
	Runs   int    `json:"runs"`
	Ticks  int    `json:"ticks"`
	// Model is the parametric target the source was turned into.
	Model simtarget.Model `json:"model"`
}

// Limit is one envelope limit.
type Limit struct {
	Envelope string  `json:"envelope"`
	Metric   string  `json:"metric"`
	Max      float64 `json:"max"`
	Unit     string  `json:"unit"`
}

// Breach is the first tick a limit is exceeded.
type Breach struct {
	Envelope string  `json:"envelope"`
	Metric   string  `json:"metric"`
	At       float64 `json:"at"`
	Phase    string  `json:"phase"`
	Value    float64 `json:"value"`
	Limit    float64 `json:"limit"`
	Rate     float64 `json:"rate"` // the rate sent at that tick
}

// PhaseReport sums up one phase.
type PhaseReport struct {
	Name            string  `json:"name"`
	Start           float64 `json:"start"`
	Duration        float64 `json:"duration"`         // predicted
	PlannedDuration float64 `json:"planned_duration"` // as written
	Warmup          bool    `json:"warmup"`
	RateShape       string  `json:"rate_shape"`
	Concurrency     int     `json:"concurrency,omitempty"`
	PlannedPeak     float64 `json:"planned_peak"`
	ShapedPeak      float64 `json:"shaped_peak"`
	PlannedRequests float64 `json:"planned_requests"`
	ShapedRequests  float64 `json:"shaped_requests"`
	// CompletedRequests (answered or failed), Errors and Dropped (arrivals
	// never sent) as the engine counts them, the phase's end included.
	CompletedRequests float64            `json:"completed_requests"`
	Errors            float64            `json:"errors"`
	Dropped           float64            `json:"dropped"`
	Peaks             map[string]float64 `json:"peaks"` // metric -> peak predicted value
	FirstBreach       *Breach            `json:"first_breach"`
	// UnshapedFirstBreach is when the planned rate alone would first exceed a limit.
	UnshapedFirstBreach *Breach           `json:"unshaped_first_breach"`
	Shapers             []*ShaperActivity `json:"shapers"`
	EndedEarly          bool              `json:"ended_early,omitempty"`
}

// ShaperActivity sums up what one shaper did over a phase (or the run).
type ShaperActivity struct {
	Shaper     string  `json:"shaper"`
	Strategy   string  `json:"strategy"`
	Ticks      int     `json:"ticks_acted"` // ticks in which it changed the instruction
	FirstAt    float64 `json:"first_at"`    // first such tick; -1 when none
	Reason     string  `json:"reason"`      // its reason the first time it acted
	LastReason string  `json:"last_reason"` // its reason the last time it acted
	Prediction string  `json:"prediction"`  // the prediction behind that
	Contention string  `json:"contention"`  // the metric that bound the rate, when it said
	MinRatio   float64 `json:"min_ratio"`   // lowest rate after/before while acting
	Fallbacks  int     `json:"fallbacks"`   // ticks a failing script was replaced by the safe built-in
	LastError  string  `json:"last_error,omitempty"`
}

// ThresholdResult is a threshold's predicted value and status.
type ThresholdResult struct {
	Name      string   `json:"name"`
	Metric    string   `json:"metric"`
	Max       *float64 `json:"max,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Window    float64  `json:"window,omitempty"` // seconds; 0 = the whole run (or phase)
	Phase     string   `json:"phase,omitempty"`
	Predicted float64  `json:"predicted"`
	At        float64  `json:"at"`     // end of the worst window (whole run: end of run)
	Status    string   `json:"status"` // ok | at_risk | fail | unknown
	Abort     bool     `json:"abort"`
	Note      string   `json:"note,omitempty"`
}

// Tick is one control tick of the predicted run.
type Tick struct {
	T       float64 `json:"t"`
	Phase   string  `json:"phase"`
	Planned float64 `json:"planned_rate"`
	// Shaped is the rate the chain sends (after shedding and hard limits).
	Shaped float64 `json:"shaped_rate"`
	// Span is how long the tick lasted when it is not the plan's tick: a
	// coarse step over a stretch where nothing changed (spec/dry-run.md).
	Span float64 `json:"span_s,omitempty"`
	simtarget.Sample
	// UnshapedCPU etc. are not kept per tick: the unshaped run is summarised only.
	Decisions []Decision `json:"decisions,omitempty"` // only those that changed something or fell back
	Breaches  []string   `json:"breaches,omitempty"`  // "envelope.metric" over its limit this tick
}

// seconds is how long the tick lasted, for a plan's tick of tick seconds.
func (tk Tick) seconds(tick float64) float64 {
	if tk.Span > 0 {
		return tk.Span
	}
	return tick
}

// weight is how many of the plan's ticks the tick stands for (1 but for a
// coarse step), so aggregates over ticks count each second once.
func (tk Tick) weight(tick float64) float64 {
	if tk.Span > 0 && tick > 0 {
		return tk.Span / tick
	}
	return 1
}

// Decision is a shapers.Decision as the report writes it.
type Decision struct {
	Shaper     string  `json:"shaper"`
	Strategy   string  `json:"strategy"`
	Changed    string  `json:"changed,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Prediction string  `json:"prediction,omitempty"`
	RateBefore float64 `json:"rate_before"`
	RateAfter  float64 `json:"rate_after"`
	Fallback   bool    `json:"fallback,omitempty"`
	Contention string  `json:"contention,omitempty"`
	Finding    string  `json:"finding,omitempty"`
	Error      string  `json:"error,omitempty"`
}

func decisionOf(d shapers.Decision) Decision {
	return Decision{Shaper: d.Shaper, Strategy: d.Strategy, Changed: d.Changed, Reason: d.Reason, Prediction: d.Prediction,
		RateBefore: d.RateBefore, RateAfter: d.RateAfter, Fallback: d.Fallback, Contention: d.Contention, Finding: d.Finding, Error: d.Error}
}
