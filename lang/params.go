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
	Doc      string
}

// StrategyParams is the table of built-in shaper strategies and their
// parameters: the one place to add a strategy or a parameter. The shapers
// package reads the decoded values from Shaper.Params.
var StrategyParams = map[string][]Param{
	"predictive_rate_limit": {
		{Name: "headroom", Kind: ParamFraction, Default: cty.NumberFloatVal(0.1), Doc: "share of each envelope limit kept free: act when a prediction exceeds (1 - headroom) of the limit"},
		{Name: "horizon", Kind: ParamDuration, Default: cty.NumberIntVal(30), Doc: "how far ahead predictions look"},
		{Name: "backoff", Kind: ParamFraction, Default: cty.NumberFloatVal(0.2), Doc: "share of the rate removed when a breach is predicted"},
		{Name: "recover", Kind: ParamFraction, Default: cty.NumberFloatVal(0.05), Doc: "share of the planned rate given back per tick while predictions are safe"},
		{Name: "min_rate", Kind: ParamRate, Default: cty.NumberIntVal(0), Doc: "never limit below this rate"},
	},
	"aimd": {
		{Name: "increase", Kind: ParamRate, Default: cty.NumberIntVal(10), Doc: "requests/s added per tick while within the envelope"},
		{Name: "decrease", Kind: ParamFraction, Default: cty.NumberFloatVal(0.5), Doc: "multiplicative cut when the envelope is breached (0.5 halves the rate)"},
		{Name: "min_rate", Kind: ParamRate, Default: cty.NumberIntVal(1), Doc: "never go below this rate"},
	},
	"gradient": {
		{Name: "tolerance", Kind: ParamPositive, Default: cty.NumberFloatVal(1.5), Doc: "latency may grow to this multiple of the no-load latency before the rate is cut"},
		{Name: "smoothing", Kind: ParamFraction, Default: cty.NumberFloatVal(0.2), Doc: "weight of the newest latency sample in the moving average"},
		{Name: "min_rate", Kind: ParamRate, Default: cty.NumberIntVal(1), Doc: "never go below this rate"},
	},
	"distribute": {
		{Name: "agents", Kind: ParamInt, Default: cty.NumberIntVal(1), Doc: "number of agents sharing the rate"},
		{Name: "mode", Kind: ParamString, Default: cty.StringVal("even"), Options: []string{"even", "capacity"}, Doc: "even slices, or slices by each agent's measured capacity"},
	},
	"prioritize": {
		{Name: "protect", Kind: ParamPriority, Default: cty.StringVal("high"), Doc: "requests of this class and above are never shed"},
		{Name: "shed_step", Kind: ParamFraction, Default: cty.NumberFloatVal(0.25), Doc: "share of the lowest shed class dropped per tick of predicted breach"},
	},
	"presoak": {
		{Name: "duration", Kind: ParamDuration, Required: true, Doc: "how long to hold the presoak rate before the phase's own rate"},
		{Name: "rate", Kind: ParamRate, Required: true, Doc: "the presoak rate"},
		{Name: "until_stable", Kind: ParamBool, Default: cty.False, Doc: "end the presoak early once the metrics are stable"},
	},
	"chaos": {
		{Name: "probability", Kind: ParamFraction, Default: cty.NumberFloatVal(0.1), Doc: "chance per tick of injecting a fault"},
		{Name: "within_envelope", Kind: ParamBool, Default: cty.True, Doc: "inject only while predictions leave headroom"},
	},
	"capacity_search": {
		{Name: "metric", Kind: ParamMetric, Default: cty.StringVal("latency_p99"), Doc: "metric whose envelope limit bounds the search"},
		{Name: "start", Kind: ParamRate, Default: cty.NumberIntVal(10), Doc: "first rate tried"},
		{Name: "max", Kind: ParamRate, Doc: "highest rate tried; default the phase's peak"},
		{Name: "growth", Kind: ParamPositive, Default: cty.NumberFloatVal(1.5), Doc: "factor between successive rates while no limit is hit"},
		{Name: "tolerance", Kind: ParamFraction, Default: cty.NumberFloatVal(0.05), Doc: "stop when the bracket around the capacity is this narrow"},
		{Name: "hold", Kind: ParamDuration, Default: cty.NumberIntVal(30), Doc: "how long each rate is held"},
	},
	"investigate": {
		{Name: "window", Kind: ParamDuration, Default: cty.NumberIntVal(60), Doc: "history window anomalies are judged against"},
		{Name: "sensitivity", Kind: ParamPositive, Default: cty.NumberFloatVal(3), Doc: "z-score beyond which a metric is anomalous"},
		{Name: "hold", Kind: ParamBool, Default: cty.True, Doc: "hold the rate while an anomaly is investigated"},
	},
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

// decodeParams evaluates and checks parameters, filling in defaults.
func (l *loader) decodeParams(attrs hcl.Attributes, params []Param) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, p := range params {
		a := attrs[p.Name]
		if a == nil {
			if p.Default != cty.NilVal {
				out[p.Name] = p.Default
			}
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
