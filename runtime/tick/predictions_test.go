package tick

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/zclconf/go-cty/cty"
)

func TestForecasterPredicts(t *testing.T) {
	f := newForecasters(&lang.Plan{Targets: []*lang.Target{{Name: "a"}},
		Predictors: []*lang.Predictor{{Metric: "cpu", Model: "holt", Horizon: 10 * time.Second, History: time.Minute},
			{Metric: "cpu", Model: "load_response", Horizon: 10 * time.Second}}}, time.Second)
	if len(f) != 1 {
		t.Fatalf("%d forecasters, want 1 (load_response is not a time-series model)", len(f))
	}
	var p shapers.Prediction
	ok := false
	for i := 0; i < 40; i++ {
		p, ok = f[0].observe(0.2+0.01*float64(i), time.Second)
	}
	// A steady climb of 0.01 per second, last 0.59: ten seconds on, 0.69.
	if !ok || p.Value < 0.66 || p.Value > 0.72 || p.Upper < p.Value || p.Horizon != 10*time.Second {
		t.Errorf("prediction %+v ok %v", p, ok)
	}
}

// The parameters a predictor block sets reach its model: an ewma with a
// fixed alpha forecasts the level that alpha gives, not the fitted one.
func TestForecasterUsesBlockParameters(t *testing.T) {
	forecast := func(params map[string]cty.Value) float64 {
		f := newForecasters(&lang.Plan{Targets: []*lang.Target{{Name: "a"}},
			Predictors: []*lang.Predictor{{Metric: "cpu", Model: "ewma", Horizon: 5 * time.Second, History: time.Minute, Params: params}}}, time.Second)
		var p shapers.Prediction
		for i := 0; i < 20; i++ {
			// 0 for 19 ticks, then a step to 1.
			p, _ = f[0].observe(float64(i/19), time.Second)
		}
		return p.Value
	}
	// After the step, an ewma's level is alpha·1 + (1−alpha)·0.
	if got := forecast(map[string]cty.Value{"alpha": cty.NumberFloatVal(0.25)}); math.Abs(got-0.25) > 1e-9 {
		t.Errorf("alpha 0.25: forecast %v, want 0.25", got)
	}
	if got := forecast(nil); math.Abs(got-0.25) < 1e-3 {
		t.Errorf("alpha fitted: forecast %v, the same as alpha 0.25", got)
	}
}

// A deployment intent inside the forecast's horizon scales the prediction
// (value and band) after At; one outside the horizon, one already past, or
// one for another metric changes nothing.
func TestPredictionsScaledAfterDeployment(t *testing.T) {
	plan := &lang.Plan{Targets: []*lang.Target{{Name: "a"}},
		Predictors: []*lang.Predictor{{Metric: "cpu", Model: "holt", Horizon: 10 * time.Second, History: time.Minute}}}
	run := func(intents []shapers.Intent) shapers.Prediction {
		f := newForecasters(plan, time.Second)[0]
		var p shapers.Prediction
		ok := false
		for i := 0; i < 40; i++ {
			p, ok = f.observeAt(0.2+0.01*float64(i)+0.003*math.Sin(float64(i)), time.Second, time.Duration(i)*time.Second, intents)
		}
		if !ok {
			t.Fatal("no prediction")
		}
		return p
	}
	base := run(nil)
	// The last reading is at 39 s; the horizon reaches 49 s.
	deploy := func(at time.Duration, metric string) []shapers.Intent {
		return []shapers.Intent{{Name: "v2", Kind: "deployment", At: at, Metric: metric, Factor: 1.5}}
	}
	got := run(deploy(45*time.Second, "cpu"))
	if math.Abs(got.Value-1.5*base.Value) > 1e-9 || math.Abs(got.Upper-1.5*base.Upper) > 1e-9 {
		t.Errorf("with a deployment ×1.5 at 45 s: value %v upper %v, want 1.5 × %v, %v", got.Value, got.Upper, base.Value, base.Upper)
	}
	if got.Lower != base.Lower {
		// The band's lowest point is before At (the first steps), unscaled.
		t.Errorf("lower bound %v, want the unscaled %v", got.Lower, base.Lower)
	}
	for name, ins := range map[string][]shapers.Intent{
		"beyond the horizon": deploy(60*time.Second, "cpu"),
		"already past":       deploy(30*time.Second, "cpu"),
		"another metric":     deploy(45*time.Second, "memory"),
		"growth":             {{Name: "g", Kind: "growth", At: 45 * time.Second, Factor: 2}},
	} {
		if p := run(ins); p != base {
			t.Errorf("%s: prediction %+v, want the unscaled %+v", name, p, base)
		}
	}
	if p := run(deploy(45*time.Second, "")); p.Value != got.Value {
		t.Errorf("a deployment for every metric: %v, want %v", p.Value, got.Value)
	}
}

// A holt_winters block's season is its period in ticks while two seasons
// fit in the readings kept; a longer one is detected instead, so the model
// still forecasts.
func TestForecasterSeason(t *testing.T) {
	period := func(season, history time.Duration) int {
		f := newForecasters(&lang.Plan{Targets: []*lang.Target{{Name: "a"}},
			Predictors: []*lang.Predictor{{Metric: "cpu", Model: "holt_winters", Horizon: 5 * time.Second, History: history,
				Params: map[string]cty.Value{"season": cty.NumberFloatVal(season.Seconds())}}}}, 2*time.Second)
		return f[0].spec.Period
	}
	if p := period(time.Minute, time.Hour); p != 30 {
		t.Errorf("season 1m at a 2s tick: period %d, want 30", p)
	}
	if p := period(time.Hour, time.Hour); p != 0 {
		t.Errorf("season 1h with 600 readings kept: period %d, want 0 (detected)", p)
	}
}

// A forecaster saved mid-run and restored goes on exactly as the one that
// never stopped: every prediction after is the same.
func TestForecasterStateRoundTrip(t *testing.T) {
	plan := &lang.Plan{Targets: []*lang.Target{{Name: "a"}},
		Predictors: []*lang.Predictor{{Name: "cpu", Metric: "cpu", Model: "auto", Horizon: 10 * time.Second, History: time.Minute},
			{Name: "mem", Metric: "memory", Model: "holt", Horizon: 5 * time.Second, History: time.Minute}}}
	reading := func(i int) float64 {
		if i%17 == 5 {
			return math.NaN() // a stale tick
		}
		return 0.3 + 0.1*math.Sin(float64(i)/7) + 0.001*float64(i)
	}
	a := NewPredictions(plan, time.Second, nil)
	var b *Predictions
	for i := 0; i < 200; i++ {
		if i == 93 { // between two refits
			raw, err := json.Marshal(a.Forecasters())
			if err != nil {
				t.Fatal(err)
			}
			var states map[string]ForecasterState
			if err := json.Unmarshal(raw, &states); err != nil {
				t.Fatal(err)
			}
			b = NewPredictions(plan, time.Second, nil)
			if err := b.RestoreForecasters(states); err != nil {
				t.Fatal(err)
			}
		}
		snap := func() *shapers.Snapshot {
			m := map[string]shapers.Metric{"cpu": {Value: reading(i), Stale: math.IsNaN(reading(i))}, "memory": {Value: 100 + float64(i)}}
			return &shapers.Snapshot{Now: time.Duration(i) * time.Second, Metrics: m, Targets: map[string]map[string]shapers.Metric{"a": m}}
		}
		sa := snap()
		a.Fill(sa)
		if b != nil {
			sb := snap()
			b.Fill(sb)
			if !reflect.DeepEqual(sa.Predictions, sb.Predictions) {
				t.Fatalf("tick %d: never stopped %+v, restored %+v", i, sa.Predictions, sb.Predictions)
			}
		}
	}
	if len(a.Forecasters()) != 2 || a.Forecasters()["cpu"].Model == nil || b == nil {
		t.Errorf("states %+v", a.Forecasters())
	}
	// A state of another metric is refused; a state for no block is ignored.
	st := a.Forecasters()
	c := st["cpu"]
	c.Metric = "latency_p99"
	st["cpu"] = c
	st["gone"] = c
	if err := NewPredictions(plan, time.Second, nil).RestoreForecasters(st); err == nil || !strings.Contains(err.Error(), "predictor cpu") {
		t.Errorf("restore of another metric: %v", err)
	}
}
