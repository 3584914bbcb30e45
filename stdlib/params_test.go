package stdlib

import (
	"slices"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
	"github.com/zclconf/go-cty/cty"
)

// Each table is well formed: sorted where lookups rely on it, one entry
// per name, and every default of its parameter's kind and inside its range
// (a default a plan could not write would be applied silently).
func TestParameterTablesAreWellFormed(t *testing.T) {
	if !slices.IsSorted(StrategyNames()) || !slices.IsSorted(ModelNames()) {
		t.Fatalf("tables not sorted: %v %v", StrategyNames(), ModelNames())
	}
	tables := map[string][]Param{"script": ScriptParams}
	for _, s := range Strategies() {
		if s.Summary == "" {
			t.Errorf("strategy %s has no summary", s.Name)
		}
		tables["strategy "+s.Name] = s.Params
	}
	for _, m := range Models() {
		tables["model "+m.Name] = m.Params
	}
	for what, params := range tables {
		seen := map[string]bool{}
		for _, p := range params {
			if seen[p.Name] {
				t.Errorf("%s: %s declared twice", what, p.Name)
			}
			seen[p.Name] = true
			if p.Doc == "" {
				t.Errorf("%s: %s has no doc", what, p.Name)
			}
			if p.Min > p.Max {
				t.Errorf("%s: %s: min %v > max %v", what, p.Name, p.Min, p.Max)
			}
			if p.Default == nil {
				continue
			}
			var f float64
			switch d := p.Default.(type) {
			case float64:
				f = d
				if p.Kind == ParamDuration || p.Kind == ParamBool || p.Kind == ParamString || p.Kind == ParamStrings {
					t.Errorf("%s: %s is a %s with a number default", what, p.Name, p.Kind)
				}
			case time.Duration:
				f = d.Seconds()
				if p.Kind != ParamDuration {
					t.Errorf("%s: %s is a %s with a duration default", what, p.Name, p.Kind)
				}
			case bool:
				if p.Kind != ParamBool {
					t.Errorf("%s: %s is a %s with a bool default", what, p.Name, p.Kind)
				}
				continue
			case string:
				if p.Kind != ParamString || (len(p.Options) > 0 && !slices.Contains(p.Options, d)) {
					t.Errorf("%s: %s: default %q is not a value it takes", what, p.Name, d)
				}
				continue
			default:
				t.Errorf("%s: %s: default of type %T", what, p.Name, d)
				continue
			}
			if (p.Min != 0 || p.Max != 0) && (f < p.Min || f > p.Max) {
				t.Errorf("%s: %s: default %v outside [%v, %v]", what, p.Name, f, p.Min, p.Max)
			}
		}
	}
}

// Every model that forecasts over time is one predictors.NewModel builds,
// and every parameter it declares reaches the predictors.Spec: a parameter
// lint accepts but the model never sees would be a silent no-op.
func TestModelSpecCarriesEveryParameter(t *testing.T) {
	for _, m := range Models() {
		spec, ok := ModelSpec(m.Name, nil, time.Second)
		if ok != m.OverTime {
			t.Errorf("%s: ModelSpec ok = %v, OverTime %v", m.Name, ok, m.OverTime)
		}
		if !ok {
			continue
		}
		if _, err := predictors.NewModel(spec); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
		if !slices.Contains(predictors.ModelNames, m.Name) {
			t.Errorf("%s is not one of predictors.ModelNames", m.Name)
		}
		for _, p := range m.Params {
			with, _ := ModelSpec(m.Name, map[string]cty.Value{p.Name: cty.NumberFloatVal(0.5)}, 250*time.Millisecond)
			if with == spec {
				t.Errorf("%s: parameter %s does not reach predictors.Spec", m.Name, p.Name)
			}
		}
	}
	hw, _ := ModelSpec("holt_winters", map[string]cty.Value{"season": cty.NumberIntVal(60), "gamma": cty.NumberFloatVal(0.2)}, 2*time.Second)
	if hw.Period != 30 || hw.Gamma != 0.2 || hw.Alpha != 0 {
		t.Errorf("holt_winters spec %+v: want a period of 30 ticks, gamma 0.2, alpha fitted", hw)
	}
}
