package lang

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

// ParamKind says how a strategy or model parameter is written and checked.
// Decoded parameters are stored in base units: durations as seconds
// (cty.Number), sizes as bytes, fractions as numbers in [0,1].
type ParamKind int

const (
	ParamNumber   ParamKind = iota // any finite number
	ParamRate                      // requests per second, >= 0
	ParamFraction                  // 0..1
	ParamPositive                  // > 0
	ParamInt                       // whole number >= 0
	ParamDuration                  // "30s" -> seconds
	ParamSize                      // "1GiB" -> bytes
	ParamString                    // free text, or one of Options
	ParamBool
	ParamPriority // one of stdlib.PriorityClasses
	ParamMetric   // a metric name the plan measures
)

func (k ParamKind) String() string {
	return [...]string{"number", "rate (requests/s)", "fraction 0..1", "number > 0", "whole number", "duration", "size", "string", "bool", "priority class", "metric name"}[k]
}

// Param is one parameter of a built-in strategy or model.
type Param struct {
	Name     string
	Kind     ParamKind
	Required bool
	Default  cty.Value // cty.NilVal: absent from Params when not set
	Options  []string  // ParamString: the allowed values
	Min, Max float64   // bounds for numbers (durations in seconds); both 0 = unbounded
	Doc      string
}

// ScriptParams are the parameters of a shaper with a script: the sandbox
// limits of each call into it.
var ScriptParams = []Param{
	{Name: "max_steps", Kind: ParamNumber, Default: cty.NumberIntVal(1_000_000), Min: 1000, Max: 1e9, Doc: "Starlark computation steps per call"},
	{Name: "deadline", Kind: ParamDuration, Default: cty.NumberFloatVal(0.1), Min: 0.001, Max: 10, Doc: "wall-clock limit per call"},
}

// StrategyParams is the table of built-in shaper strategies and their
// parameters: the one place to add a strategy or a parameter. The shapers
// package reads the decoded values from Shaper.Params.
var StrategyParams = map[string][]Param{
	// predictive_rate_limit, aimd and gradient mirror the parameters the
	// shapers package declares for them (shapers/predictive.go, reactive.go).
	"predictive_rate_limit": {
		{Name: "horizon", Kind: ParamDuration, Default: cty.NumberIntVal(30), Min: 1, Max: 3600, Doc: "how far ahead to say when the planned rate would reach the limit"},
		{Name: "confidence", Kind: ParamNumber, Default: cty.NumberFloatVal(2), Min: 0, Max: 6, Doc: "width of the prediction band in standard errors (the upper bound: at 2, about 98% of readings fall under it)"},
		{Name: "max_step", Kind: ParamNumber, Default: cty.NumberFloatVal(0.1), Min: 0.001, Max: 10, Doc: "largest increase per tick, as a fraction of the previous rate"},
		{Name: "min_step", Kind: ParamNumber, Default: cty.NumberFloatVal(0.01), Min: 0, Max: 1, Doc: "increase per tick always allowed, as a fraction of the phase's peak rate"},
		{Name: "probe_start", Kind: ParamNumber, Default: cty.NumberFloatVal(0.5), Min: 0.01, Max: 1, Doc: "first tick: this fraction of the planned rate (nothing is known yet)"},
		{Name: "forgetting", Kind: ParamNumber, Default: cty.NumberFloatVal(0.98), Min: 0.5, Max: 1, Doc: "weight kept per tick by the load-response fit, so it follows drift"},
		{Name: "lag", Kind: ParamDuration, Default: cty.NumberIntVal(0), Min: 0, Max: 120, Doc: "delay between the rate sent and the metric's response; 0 = estimate it"},
		{Name: "max_lag", Kind: ParamDuration, Default: cty.NumberIntVal(10), Min: 1, Max: 120, Doc: "largest lag the estimate considers"},
		{Name: "saturation", Kind: ParamNumber, Default: cty.NumberFloatVal(1.2), Min: 1, Max: 10, Doc: "readings above this multiple of the limit are not learnt from"},
		{Name: "max_error", Kind: ParamNumber, Default: cty.NumberFloatVal(0.1), Min: 0.001, Max: 10, Doc: "model error (fraction of the limit, smoothed) above which the shaper falls back to a reactive rule"},
		{Name: "backoff", Kind: ParamNumber, Default: cty.NumberFloatVal(0.9), Min: 0.1, Max: 0.99, Doc: "multiplicative decrease of the reactive fallback"},
		{Name: "min_rate", Kind: ParamRate, Default: cty.NumberIntVal(1), Min: 0, Max: 1e9, Doc: "never send less than this"},
	},
	"aimd": {
		{Name: "backoff", Kind: ParamNumber, Default: cty.NumberFloatVal(0.9), Min: 0.1, Max: 0.99, Doc: "factor applied to the limit on each tick with a metric over the envelope"},
		{Name: "increase", Kind: ParamRate, Default: cty.NumberIntVal(0), Min: 0, Max: 1e9, Doc: "requests/s added per tick while the limit is in use; 0 = 2% of the limit or 1% of the phase's peak rate, whichever is more"},
		{Name: "min_rate", Kind: ParamRate, Default: cty.NumberIntVal(1), Min: 0, Max: 1e9, Doc: "the limit never goes below this"},
	},
	"gradient": {
		{Name: "smoothing", Kind: ParamNumber, Default: cty.NumberFloatVal(0.2), Min: 0.01, Max: 1, Doc: "weight of the new estimate per tick"},
		{Name: "tolerance", Kind: ParamNumber, Default: cty.NumberFloatVal(1.5), Min: 1, Max: 10, Doc: "latency may reach this multiple of its long-run average before it counts as queueing"},
		{Name: "queue", Kind: ParamRate, Default: cty.NumberIntVal(0), Min: 0, Max: 1e9, Doc: "headroom added while under the envelope, requests/s; 0 = 10% of the limit or 5% of the phase's peak rate, whichever is more"},
		{Name: "long_window", Kind: ParamNumber, Default: cty.NumberIntVal(600), Min: 2, Max: 1e6, Doc: "samples in the long-run latency average"},
		{Name: "min_rate", Kind: ParamRate, Default: cty.NumberIntVal(1), Min: 0, Max: 1e9, Doc: "the limit never goes below this"},
	},
	// The other strategies mirror shapers/*.go too (spec/shapers.md).
	"capacity_search": {
		{Name: "step", Kind: ParamNumber, Default: cty.NumberFloatVal(0.05), Min: 0.001, Max: 1, Doc: "increase per tick while searching, as a fraction of the rate"},
		{Name: "start", Kind: ParamNumber, Default: cty.NumberIntVal(0), Min: 0, Max: 1e+09, Doc: "rate to start from; 0 = the phase's rate"},
		{Name: "settle", Kind: ParamDuration, Default: cty.NumberIntVal(20), Min: 1, Max: 3600, Doc: "how long the rate must stay bound by the limit, within 5%, to count as found"},
		{Name: "confidence", Kind: ParamNumber, Default: cty.NumberIntVal(2), Min: 0, Max: 6, Doc: "width of the prediction band in standard errors"},
	},
	"chaos": {
		{Name: "min_headroom", Kind: ParamFraction, Default: cty.NumberFloatVal(0.1), Min: 0, Max: 1, Doc: "headroom (1 − predicted pressure) an abort, slow_client or fault_header needs when within_envelope"},
	},
	"cost": {
		{Name: "per_request", Kind: ParamNumber, Default: cty.NumberIntVal(0), Min: 0, Max: 1e+09, Doc: "cost of one request"},
		{Name: "per_generator_hour", Kind: ParamNumber, Default: cty.NumberIntVal(0), Min: 0, Max: 1e+09, Doc: "cost of one generator for an hour"},
		{Name: "generator_rate", Kind: ParamRate, Default: cty.NumberIntVal(0), Min: 0, Max: 1e+09, Doc: "requests/s one generator sustains; 0 = one generator whatever the rate"},
		{Name: "budget_per_hour", Kind: ParamNumber, Default: cty.NumberIntVal(0), Min: 0, Max: 1e+12, Doc: "largest spend per hour; 0 = none"},
		{Name: "min_fill", Kind: ParamFraction, Default: cty.NumberFloatVal(0.25), Min: 0, Max: 1, Doc: "do not start another generator for less than this fraction of its capacity"},
	},
	"distribute": {
		{Name: "min_share", Kind: ParamFraction, Default: cty.NumberFloatVal(0.05), Min: 0, Max: 1, Doc: "smallest share of the rate any generator keeps"},
		{Name: "max_share", Kind: ParamFraction, Default: cty.NumberFloatVal(0.95), Min: 0, Max: 1, Doc: "largest share of the rate any generator gets"},
		{Name: "max_shift", Kind: ParamNumber, Default: cty.NumberFloatVal(0.05), Min: 0.001, Max: 1, Doc: "largest change of a share per tick"},
		{Name: "predicted", Kind: ParamBool, Default: cty.BoolVal(true), Doc: "use a target's predicted upper bound (metric name \"<target>.<metric>\") when there is one"},
	},
	"investigate": {
		{Name: "hold", Kind: ParamDuration, Default: cty.NumberIntVal(10), Min: 1, Max: 3600, Doc: "how long to hold, and to stay stepped back"},
		{Name: "step_back", Kind: ParamNumber, Default: cty.NumberFloatVal(0.7), Min: 0.1, Max: 0.99, Doc: "rate factor while stepped back"},
		{Name: "approach", Kind: ParamDuration, Default: cty.NumberIntVal(20), Min: 1, Max: 3600, Doc: "how long the re-approach to the anomaly's rate takes"},
		{Name: "tolerance", Kind: ParamNumber, Default: cty.NumberFloatVal(0.1), Min: 0.01, Max: 1, Doc: "relative change of the metric that counts as a difference"},
		{Name: "cooldown", Kind: ParamDuration, Default: cty.NumberIntVal(60), Min: 0, Max: 86400, Doc: "quiet time after an investigation"},
		{Name: "detect", Kind: ParamBool, Default: cty.BoolVal(true), Doc: "also flag a metric whose robust z-score exceeds 3.5 for 3 ticks while the rate is steady"},
	},
	"presoak": {
		{Name: "metrics", Kind: ParamString, Doc: "metrics that must settle; default the envelope's, else every metric read"},
		{Name: "window", Kind: ParamDuration, Default: cty.NumberIntVal(30), Min: 1, Max: 3600, Doc: "window over which the variation is measured"},
		{Name: "threshold", Kind: ParamNumber, Default: cty.NumberFloatVal(0.05), Min: 0, Max: 10, Doc: "largest coefficient of variation (stddev/mean) that counts as settled"},
		{Name: "min_duration", Kind: ParamDuration, Default: cty.NumberIntVal(10), Min: 0, Max: 86400, Doc: "never end before this"},
		{Name: "max_duration", Kind: ParamDuration, Default: cty.NumberIntVal(0), Min: 0, Max: 86400, Doc: "end here even if not settled; 0 = the phase's duration"},
	},
	"prioritize": {
		{Name: "threshold", Kind: ParamNumber, Default: cty.NumberIntVal(1), Min: 0.1, Max: 10, Doc: "envelope pressure (reading/limit) at which shedding starts"},
		{Name: "hard_margin", Kind: ParamNumber, Default: cty.NumberFloatVal(0.1), Min: 0, Max: 10, Doc: "critical may be shed only while a reading is over its limit by more than this fraction"},
		{Name: "predicted", Kind: ParamBool, Default: cty.BoolVal(true), Doc: "count the predictors' upper bound as pressure too, not only live readings"},
		{Name: "restore_rate", Kind: ParamBool, Default: cty.BoolVal(true), Doc: "turn a rate cut by an earlier shaper into shedding of the lowest classes at the planned rate"},
	},
	"safe": {},
}

// ModelParams is the table of predictor models and their parameters.
var ModelParams = map[string][]Param{
	"auto": {},
	"ewma": {
		{Name: "alpha", Kind: ParamFraction, Default: cty.NumberFloatVal(0.3), Doc: "smoothing factor"},
	},
	"holt": {
		{Name: "alpha", Kind: ParamFraction, Doc: "level smoothing; fitted when not set"},
		{Name: "beta", Kind: ParamFraction, Doc: "trend smoothing; fitted when not set"},
	},
	"holt_winters": {
		{Name: "season", Kind: ParamDuration, Required: true, Doc: "length of one season"},
		{Name: "alpha", Kind: ParamFraction, Doc: "level smoothing; fitted when not set"},
		{Name: "beta", Kind: ParamFraction, Doc: "trend smoothing; fitted when not set"},
		{Name: "gamma", Kind: ParamFraction, Doc: "seasonal smoothing; fitted when not set"},
	},
	"linear": {},
	"load_response": {
		{Name: "degree", Kind: ParamInt, Default: cty.NumberIntVal(2), Doc: "degree of the polynomial relating load to the metric (1-3)"},
		{Name: "forgetting", Kind: ParamFraction, Default: cty.NumberFloatVal(0.99), Doc: "recursive least squares forgetting factor"},
	},
	"usl": {},
}

func tableNames(t map[string][]Param) []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// paramSpec is the hcldec spec of a parameter set; its implied schema
// checks names (with suggestions) and required parameters.
func paramSpec(params []Param) hcldec.ObjectSpec {
	spec := hcldec.ObjectSpec{}
	for _, p := range params {
		spec[p.Name] = &hcldec.AttrSpec{Name: p.Name, Type: cty.DynamicPseudoType, Required: p.Required}
	}
	return spec
}

// paramContent checks a body against a parameter table and returns its
// attributes.
func (l *loader) paramContent(body hcl.Body, params []Param) hcl.Attributes {
	content, diags := body.Content(hcldec.ImpliedSchema(paramSpec(params)))
	l.diags = append(l.diags, diags...)
	return content.Attributes
}

// decodeParams evaluates and checks the parameters a block sets. Defaults
// are not filled in: the strategy (or model) applies its own, so the
// runtime sees exactly what the user wrote. Default in the tables is
// documentation.
func (l *loader) decodeParams(attrs hcl.Attributes, params []Param) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, p := range params {
		a := attrs[p.Name]
		if a == nil {
			continue
		}
		var v cty.Value
		ok := false
		switch p.Kind {
		case ParamNumber:
			var f float64
			f, ok = l.number(a)
			v = cty.NumberFloatVal(f)
		case ParamRate:
			var f float64
			f, ok = l.nonNegative(a)
			v = cty.NumberFloatVal(f)
		case ParamFraction:
			var f float64
			f, ok = l.fraction(a)
			v = cty.NumberFloatVal(f)
		case ParamPositive:
			var f float64
			f, ok = l.positive(a)
			v = cty.NumberFloatVal(f)
		case ParamInt:
			var i int64
			i, ok = l.integer(a, 0, 1<<31-1)
			v = cty.NumberIntVal(i)
		case ParamDuration:
			d, dok := l.duration(a)
			ok, v = dok, durVal(d)
		case ParamSize:
			var f float64
			f, ok = l.size(a)
			v = cty.NumberFloatVal(f)
		case ParamString:
			var s string
			if len(p.Options) > 0 {
				s, ok = l.oneOf(a, p.Options, p.Name)
			} else {
				s, ok = l.str(a)
			}
			v = cty.StringVal(s)
		case ParamBool:
			var b bool
			b, ok = l.boolean(a)
			v = cty.BoolVal(b)
		case ParamPriority:
			var s string
			s, ok = l.oneOf(a, stdlib.PriorityClasses, "priority class")
			v = cty.StringVal(s)
		case ParamMetric:
			var s string
			s, ok = l.str(a)
			if ok {
				l.checkMetricLater(s, exprRange(a))
			}
			v = cty.StringVal(s)
		default:
			panic(fmt.Sprintf("lang: unhandled ParamKind %d", p.Kind))
		}
		if ok && (p.Min != 0 || p.Max != 0) && v.Type() == cty.Number {
			if f := mustFloat(v); f < p.Min || f > p.Max {
				unit := ""
				if p.Kind == ParamDuration {
					unit = " seconds"
				}
				l.errorf(exprRange(a), "Parameter out of range", "%s must be between %s and %s%s; got %s%s.", p.Name, fmtNum(p.Min), fmtNum(p.Max), unit, fmtNum(f), unit)
				ok = false
			}
		}
		if ok {
			out[p.Name] = v
		}
	}
	return out
}

// staticName reads an attribute that selects a schema (strategy, model):
// it must be a literal string, because what else the block may hold
// depends on it.
func (l *loader) staticName(a *hcl.Attribute, options []string, what string) (string, bool) {
	if a == nil {
		return "", false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
		l.errorf(exprRange(a), "Invalid "+a.Name, "%s must be a literal string (one of %s): it decides which other arguments the block takes.", a.Name, quotedList(options))
		return "", false
	}
	s := v.AsString()
	if !contains(options, s) {
		l.errorf(exprRange(a), "Unknown "+what, "%q is not a %s; use one of %s.%s", s, what, quotedList(options), didYouMean(s, options))
		return "", false
	}
	return s, true
}
