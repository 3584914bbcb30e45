package stdlib

import (
	"math"
	"slices"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
	"github.com/zclconf/go-cty/cty"
)

// Model is a predictor model a plan may name (predictor "x" { model = … })
// and its parameters.
type Model struct {
	Name string
	// OverTime: the runtime forecasts the metric over time with
	// predictors.NewModel(ModelSpec(…)). The others (load_response, usl)
	// relate a metric to load; predictive_rate_limit learns that itself.
	OverTime bool
	Params   []Param
}

var (
	modelAlpha = Param{Name: "alpha", Kind: ParamFraction, Doc: "level smoothing; fitted when not set"}
	modelBeta  = Param{Name: "beta", Kind: ParamFraction, Doc: "trend smoothing; fitted when not set"}
)

// models is the table of predictor models, sorted by name (spec/predictors.md
// says what each computes).
var models = []Model{
	{Name: "auto", OverTime: true},
	{Name: "ewma", OverTime: true, Params: []Param{
		{Name: "alpha", Kind: ParamFraction, Doc: "smoothing factor; fitted when not set"},
	}},
	{Name: "holt", OverTime: true, Params: []Param{modelAlpha, modelBeta}},
	{Name: "holt_winters", OverTime: true, Params: []Param{
		{Name: "season", Kind: ParamDuration, Required: true, Doc: "length of one season"},
		modelAlpha, modelBeta,
		{Name: "gamma", Kind: ParamFraction, Doc: "seasonal smoothing; fitted when not set"},
	}},
	{Name: "linear", OverTime: true},
	{Name: "load_response", Params: []Param{
		{Name: "degree", Kind: ParamInt, Default: 2.0, Doc: "degree of the polynomial relating load to the metric (1-3)"},
		{Name: "forgetting", Kind: ParamFraction, Default: 0.99, Doc: "recursive least squares forgetting factor"},
	}},
	{Name: "usl"},
}

// Models returns the predictor models, sorted by name.
func Models() []Model { return slices.Clone(models) }

// LookupModel returns the predictor model called name.
func LookupModel(name string) (Model, bool) { return lookup(models, name, modelName) }

// ModelNames lists the predictor models, sorted.
func ModelNames() []string { return names(models, modelName) }

func modelName(m Model) string { return m.Name }

// ModelSpec is what predictors.NewModel builds for a predictor block: the
// model and the parameters the plan set (decoded: fractions as numbers,
// durations as seconds), the season in control ticks of step. Parameters
// the plan left out stay zero, which the model fits. ok is false for a
// model that does not forecast over time.
func ModelSpec(name string, set map[string]cty.Value, step time.Duration) (spec predictors.Spec, ok bool) {
	m, ok := LookupModel(name)
	if !ok || !m.OverTime {
		return predictors.Spec{}, false
	}
	spec.Model = name
	for _, p := range m.Params {
		v, given := set[p.Name]
		if !given || v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
			continue
		}
		f, _ := v.AsBigFloat().Float64()
		switch p.Name {
		case "alpha":
			spec.Alpha = f
		case "beta":
			spec.Beta = f
		case "gamma":
			spec.Gamma = f
		case "season":
			if step > 0 {
				spec.Period = int(math.Round(f / step.Seconds()))
			}
		}
	}
	return spec, true
}
