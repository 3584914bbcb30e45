package stdlib

import (
	"slices"
	"time"
)

// ParamKind says how a parameter of a built-in strategy, a script shaper
// or a predictor model is written in a plan and checked. lang checks a
// plan's values by kind (with a diagnostic at the value); shapers checks
// the Go values it is handed by the same kinds.
type ParamKind int

const (
	ParamNumber   ParamKind = iota // any finite number
	ParamRate                      // requests per second, >= 0
	ParamFraction                  // 0..1
	ParamPositive                  // > 0
	ParamInt                       // whole number >= 0
	ParamDuration                  // "30s"; decoded plans hold seconds
	ParamSize                      // "1GiB"; decoded plans hold bytes
	ParamString                    // free text, or one of Options
	ParamStrings                   // a list of strings, or one string of comma-separated names
	ParamBool
	ParamPriority // one of PriorityClasses
	ParamMetric   // a metric name the plan measures
)

func (k ParamKind) String() string {
	return [...]string{"number", "rate (requests/s)", "fraction 0..1", "number > 0", "whole number", "duration", "size", "string", "list of strings", "bool", "priority class", "metric name"}[k]
}

// Param declares one parameter: its name, kind, default, bounds and what it
// means. The tables below are the only declaration: lang checks plans
// against them, shapers fills defaults and decodes from them, and the
// parameter tables of spec/language.md and spec/shapers.md are generated
// from them.
type Param struct {
	Name     string
	Kind     ParamKind
	Required bool
	// Default is float64, time.Duration, bool or string, applied by the
	// strategy when the plan leaves the parameter out; nil = none (the
	// strategy or model decides, e.g. fits it). Decoded plans hold only
	// what the plan sets.
	Default  any
	Options  []string // ParamString: the allowed values
	Min, Max float64  // bounds of a number (a duration in seconds); both 0 = unbounded
	Doc      string
}

// Strategy is a built-in shaper strategy as a plan names it. The shapers
// package registers the implementation under the same name.
type Strategy struct {
	Name    string
	Summary string
	// NeedsEnvelope: the strategy keeps the target inside an envelope, so
	// its block must name one.
	NeedsEnvelope bool
	Params        []Param
}

// ScriptParams are the parameters of a shaper with a script: the sandbox
// limits of each call into it.
var ScriptParams = []Param{
	{Name: "max_steps", Kind: ParamNumber, Default: 1e6, Min: 1000, Max: 1e9, Doc: "Starlark computation steps per call"},
	{Name: "deadline", Kind: ParamDuration, Default: 100 * time.Millisecond, Min: 0.001, Max: 10, Doc: "wall-clock limit per call"},
}

// strategies is the table of built-in strategies, sorted by name: the one
// place to add a strategy or a parameter (spec/shapers.md says what each
// does).
var strategies = []Strategy{
	{
		Name:          "aimd",
		Summary:       "Reactive baseline (Netflix AIMD): multiplicative decrease while an envelope metric is over its limit, additive increase otherwise.",
		NeedsEnvelope: true,
		Params: []Param{
			{Name: "backoff", Kind: ParamNumber, Default: 0.9, Min: 0.1, Max: 0.99, Doc: "factor applied to the limit on each tick with a metric over the envelope"},
			{Name: "increase", Kind: ParamRate, Default: 0.0, Min: 0, Max: 1e9, Doc: "requests/s added per tick while the limit is in use; 0 = 2% of the limit or 1% of the phase's peak rate, whichever is more"},
			{Name: "min_rate", Kind: ParamRate, Default: 1.0, Min: 0, Max: 1e9, Doc: "the limit never goes below this"},
		},
	},
	{
		Name:          "capacity_search",
		Summary:       "Ramp until the first envelope limit is predicted, settle, and report the sustainable rate.",
		NeedsEnvelope: true,
		Params: []Param{
			{Name: "step", Kind: ParamNumber, Default: 0.05, Min: 0.001, Max: 1, Doc: "increase per tick while searching, as a fraction of the rate"},
			{Name: "start", Kind: ParamNumber, Default: 0.0, Min: 0, Max: 1e9, Doc: "rate to start from; 0 = the phase's rate"},
			{Name: "settle", Kind: ParamDuration, Default: 20 * time.Second, Min: 1, Max: 3600, Doc: "how long the rate must stay bound by the limit, within 5%, to count as found"},
			{Name: "confidence", Kind: ParamNumber, Default: 2.0, Min: 0, Max: 6, Doc: "width of the prediction band in standard errors"},
		},
	},
	{
		Name:    "chaos",
		Summary: "Schedule the phase's chaos actions (spike, abort, slow_client, fault_header); within_envelope ones only while predicted headroom allows.",
		Params: []Param{
			{Name: "min_headroom", Kind: ParamFraction, Default: 0.1, Min: 0, Max: 1, Doc: "headroom (1 − predicted pressure) an abort, slow_client or fault_header needs when within_envelope"},
		},
	},
	{
		Name:    "cost",
		Summary: "Trade throughput against cost per request and per generator-hour (a budget, and no nearly idle generators), reporting the trade.",
		Params: []Param{
			{Name: "per_request", Kind: ParamNumber, Default: 0.0, Min: 0, Max: 1e9, Doc: "cost of one request"},
			{Name: "per_generator_hour", Kind: ParamNumber, Default: 0.0, Min: 0, Max: 1e9, Doc: "cost of one generator for an hour"},
			{Name: "generator_rate", Kind: ParamRate, Default: 0.0, Min: 0, Max: 1e9, Doc: "requests/s one generator sustains; 0 = one generator whatever the rate"},
			{Name: "budget_per_hour", Kind: ParamNumber, Default: 0.0, Min: 0, Max: 1e12, Doc: "largest spend per hour; 0 = none"},
			{Name: "min_fill", Kind: ParamFraction, Default: 0.25, Min: 0, Max: 1, Doc: "do not start another generator for less than this fraction of its capacity"},
		},
	},
	{
		Name:    "distribute",
		Summary: "Shift rate between generators/targets by their headroom, within bounds and a per-tick step.",
		Params: []Param{
			{Name: "min_share", Kind: ParamFraction, Default: 0.05, Min: 0, Max: 1, Doc: "smallest share of the rate any generator keeps"},
			{Name: "max_share", Kind: ParamFraction, Default: 0.95, Min: 0, Max: 1, Doc: "largest share of the rate any generator gets"},
			{Name: "max_shift", Kind: ParamNumber, Default: 0.05, Min: 0.001, Max: 1, Doc: "largest change of a share per tick"},
			{Name: "predicted", Kind: ParamBool, Default: true, Doc: "use a target's predicted upper bound (metric name \"<target>.<metric>\") when there is one"},
		},
	},
	{
		Name:    "gradient",
		Summary: "Reactive baseline (Netflix Gradient2): the limit follows the gradient limit/reading (and long/short latency), smoothed.",
		Params: []Param{
			{Name: "smoothing", Kind: ParamNumber, Default: 0.2, Min: 0.01, Max: 1, Doc: "weight of the new estimate per tick"},
			{Name: "tolerance", Kind: ParamNumber, Default: 1.5, Min: 1, Max: 10, Doc: "latency may reach this multiple of its long-run average before it counts as queueing"},
			{Name: "queue", Kind: ParamRate, Default: 0.0, Min: 0, Max: 1e9, Doc: "headroom added while under the envelope, requests/s; 0 = 10% of the limit or 5% of the phase's peak rate, whichever is more"},
			{Name: "long_window", Kind: ParamNumber, Default: 600.0, Min: 2, Max: 1e6, Doc: "samples in the long-run latency average"},
			{Name: "min_rate", Kind: ParamRate, Default: 1.0, Min: 0, Max: 1e9, Doc: "the limit never goes below this"},
		},
	},
	{
		Name:    "investigate",
		Summary: "On an anomaly: hold the rate, step back, re-approach, and record whether it is load-driven.",
		Params: []Param{
			{Name: "hold", Kind: ParamDuration, Default: 10 * time.Second, Min: 1, Max: 3600, Doc: "how long to hold, and to stay stepped back"},
			{Name: "step_back", Kind: ParamNumber, Default: 0.7, Min: 0.1, Max: 0.99, Doc: "rate factor while stepped back"},
			{Name: "approach", Kind: ParamDuration, Default: 20 * time.Second, Min: 1, Max: 3600, Doc: "how long the re-approach to the anomaly's rate takes"},
			{Name: "tolerance", Kind: ParamNumber, Default: 0.1, Min: 0.01, Max: 1, Doc: "relative change of the metric that counts as a difference"},
			{Name: "cooldown", Kind: ParamDuration, Default: 60 * time.Second, Min: 0, Max: 86400, Doc: "quiet time after an investigation"},
			{Name: "detect", Kind: ParamBool, Default: true, Doc: "also flag a metric whose robust z-score exceeds 3.5 for 3 ticks while the rate is steady"},
		},
	},
	{
		Name:          "learned",
		Summary:       "A rate policy learned by `loadshaper train` against simulated targets: features of the readings, their trend and the lag relative to the envelope in, a rate change per tick out.",
		NeedsEnvelope: true,
		Params: []Param{
			{Name: "policy", Kind: ParamString, Doc: "a policy file written by `loadshaper train --out`, relative to the plan's directory; default the untrained default policy"},
			{Name: "over_penalty", Kind: ParamNumber, Default: 20.0, Min: 0, Max: 1000, Doc: "training: the reward lost per second above the envelope, in seconds of the target's full capacity served"},
			{Name: "oscillation_penalty", Kind: ParamNumber, Default: 0.5, Min: 0, Max: 100, Doc: "training: the reward lost per unit of relative rate change per tick (mean |Δrate|/rate)"},
			{Name: "probe_start", Kind: ParamNumber, Default: 0.5, Min: 0.01, Max: 1, Doc: "first tick: this fraction of the planned rate"},
			{Name: "min_rate", Kind: ParamRate, Default: 1.0, Min: 0, Max: 1e9, Doc: "never send less than this"},
		},
	},
	{
		Name:          "predictive_rate_limit",
		Summary:       "Send min(planned rate, the largest rate whose predicted upper bound stays inside the envelope), with a per-tick step limit.",
		NeedsEnvelope: true,
		Params: []Param{
			{Name: "horizon", Kind: ParamDuration, Default: 30 * time.Second, Min: 1, Max: 3600, Doc: "how far ahead to say when the planned rate would reach the limit"},
			{Name: "confidence", Kind: ParamNumber, Default: 2.0, Min: 0, Max: 6, Doc: "width of the prediction band in standard errors (the upper bound: at 2, about 98% of readings fall under it)"},
			{Name: "max_step", Kind: ParamNumber, Default: 0.1, Min: 0.001, Max: 10, Doc: "largest increase per tick, as a fraction of the previous rate"},
			{Name: "min_step", Kind: ParamNumber, Default: 0.01, Min: 0, Max: 1, Doc: "increase per tick always allowed, as a fraction of the phase's peak rate"},
			{Name: "probe_start", Kind: ParamNumber, Default: 0.5, Min: 0.01, Max: 1, Doc: "first tick: this fraction of the planned rate (nothing is known yet)"},
			{Name: "forgetting", Kind: ParamNumber, Default: 0.98, Min: 0.5, Max: 1, Doc: "weight kept per tick by the load-response fit, so it follows drift"},
			{Name: "lag", Kind: ParamDuration, Default: time.Duration(0), Min: 0, Max: 120, Doc: "delay between the rate sent and the metric's response; 0 = estimate it"},
			{Name: "max_lag", Kind: ParamDuration, Default: 10 * time.Second, Min: 1, Max: 120, Doc: "largest lag the estimate considers"},
			{Name: "saturation", Kind: ParamNumber, Default: 1.2, Min: 1, Max: 10, Doc: "readings above this multiple of the limit are not learnt from (a pinned CPU says nothing about the next rate)"},
			{Name: "max_error", Kind: ParamNumber, Default: 0.1, Min: 0.001, Max: 10, Doc: "model error (fraction of the limit, smoothed) above which the shaper falls back to a reactive rule"},
			{Name: "backoff", Kind: ParamNumber, Default: 0.9, Min: 0.1, Max: 0.99, Doc: "multiplicative decrease of the reactive fallback"},
			{Name: "min_rate", Kind: ParamRate, Default: 1.0, Min: 0, Max: 1e9, Doc: "never send less than this"},
		},
	},
	{
		Name:    "presoak",
		Summary: "End the warm-up phase once the metrics have settled (variation below a threshold over a window) or at a time limit.",
		Params: []Param{
			{Name: "metrics", Kind: ParamStrings, Doc: "metrics that must settle; default the envelope's, else every metric read"},
			{Name: "window", Kind: ParamDuration, Default: 30 * time.Second, Min: 1, Max: 3600, Doc: "window over which the variation is measured"},
			{Name: "threshold", Kind: ParamNumber, Default: 0.05, Min: 0, Max: 10, Doc: "largest coefficient of variation (stddev/mean) that counts as settled"},
			{Name: "min_duration", Kind: ParamDuration, Default: 10 * time.Second, Min: 0, Max: 86400, Doc: "never end before this"},
			{Name: "max_duration", Kind: ParamDuration, Default: time.Duration(0), Min: 0, Max: 86400, Doc: "end here even if not settled; 0 = the phase's duration"},
		},
	},
	{
		Name:    "prioritize",
		Summary: "Under pressure, shed the lowest priority classes first; critical only when a hard limit is breached.",
		Params: []Param{
			{Name: "threshold", Kind: ParamNumber, Default: 1.0, Min: 0.1, Max: 10, Doc: "envelope pressure (reading/limit) at which shedding starts"},
			{Name: "hard_margin", Kind: ParamNumber, Default: 0.1, Min: 0, Max: 10, Doc: "critical may be shed only while a reading is over its limit by more than this fraction"},
			{Name: "predicted", Kind: ParamBool, Default: true, Doc: "count the predictors' upper bound as pressure too, not only live readings"},
			{Name: "restore_rate", Kind: ParamBool, Default: true, Doc: "turn a rate cut by an earlier shaper into shedding of the lowest classes at the planned rate"},
		},
	},
	{
		Name:    "safe",
		Summary: "The fallback: hold at the previous tick's rate, 10% less while an envelope metric is over its limit.",
	},
}

// Strategies returns the built-in strategies, sorted by name.
func Strategies() []Strategy { return slices.Clone(strategies) }

// LookupStrategy returns the built-in strategy called name.
func LookupStrategy(name string) (Strategy, bool) { return lookup(strategies, name, strategyName) }

// StrategyNames lists the built-in strategies, sorted.
func StrategyNames() []string { return names(strategies, strategyName) }

func strategyName(s Strategy) string { return s.Name }

// lookup finds the entry of a table called name.
func lookup[T any](table []T, name string, nameOf func(T) string) (T, bool) {
	for _, e := range table {
		if nameOf(e) == name {
			return e, true
		}
	}
	var zero T
	return zero, false
}

// names lists the names of a table's entries, in table order.
func names[T any](table []T, nameOf func(T) string) []string {
	out := make([]string, len(table))
	for i, e := range table {
		out[i] = nameOf(e)
	}
	return out
}
