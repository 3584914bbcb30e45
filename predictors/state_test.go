package predictors

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// roundTrip passes a state through JSON, as the model store does.
func roundTrip[T any](t *testing.T, s T) T {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return out
}

func TestNumberJSON(t *testing.T) {
	in := Numbers([]float64{1.5, math.NaN(), math.Inf(1), math.Inf(-1), 0.1 + 0.2, -0})
	out := Floats(roundTrip(t, in))
	for i, v := range Floats(in) {
		if !(out[i] == v || math.IsNaN(out[i]) && math.IsNaN(v)) {
			t.Errorf("%d: %v came back as %v", i, v, out[i])
		}
	}
	var n Number
	if err := json.Unmarshal([]byte(`"x"`), &n); err == nil {
		t.Error(`"x" read as a number`)
	}
}

// Restore then continue gives the same numbers as never stopping: the
// line, its drift smoother and the lag estimator, stopped halfway through
// a ramp.
func TestResponseLineStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, inverse := range []bool{false, true} {
		a := NewResponseLine(0.98, inverse)
		ta := &ResidualTrend{Alpha: 0.3, Beta: 0.1}
		var b *ResponseLine
		var tb *ResidualTrend
		for i := 0; i < 300; i++ {
			x := float64(i) + 10*r.Float64()
			y := 0.05 + 0.001*x + 0.01*r.NormFloat64()
			if i == 150 {
				a.CapNoise(0.005) // under the fit's own σ, so it narrows the band
				var err error
				if b, err = RestoreResponseLine(roundTrip(t, a.Export())); err != nil {
					t.Fatal(err)
				}
				if tb, err = RestoreResidualTrend(roundTrip(t, ta.Export())); err != nil {
					t.Fatal(err)
				}
			}
			a.Observe(x, y)
			ta.Update(y - 0.05)
			if b != nil {
				b.Observe(x, y)
				tb.Update(y - 0.05)
			}
		}
		ma, ua, _ := a.Predict(400, 2, 0.01)
		mb, ub, _ := b.Predict(400, 2, 0.01)
		if ma != mb || ua != ub || a.Weight() != b.Weight() || ta.Forecast(5) != tb.Forecast(5) {
			t.Errorf("inverse %v: never stopped %v %v %v, restored %v %v %v", inverse, ma, ua, ta.Forecast(5), mb, ub, tb.Forecast(5))
		}
		if sa, _ := LineSafeRate(a, 0.8, 2, 0.01, 2000); sa <= 0 {
			t.Errorf("no safe rate")
		}
	}
	lag := LagEstimator{D: 2, W: 3, MaxLag: 10, Window: 90}
	if got, err := RestoreLag(roundTrip(t, lag.Export())); err != nil || got != lag {
		t.Errorf("lag %+v, %v", got, err)
	}
}

func TestClassCostsStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	a, _ := NewClassCosts([]string{"browse", "search", "checkout"}, 0.99)
	var b *ClassCosts
	for i := 0; i < 300; i++ {
		rates := []float64{200 * r.Float64(), 60 * r.Float64(), 40 * r.Float64()}
		y := metricAt(r, rates, testCosts, 0.01)
		if i == 120 {
			var err error
			if b, err = RestoreClassCosts(roundTrip(t, a.Export())); err != nil {
				t.Fatal(err)
			}
		}
		a.Observe(rates, y)
		if b != nil {
			b.Observe(rates, y)
		}
	}
	_, ca, _ := a.Costs()
	_, cb, _ := b.Costs()
	for i := range ca {
		if ca[i] != cb[i] {
			t.Errorf("cost %d: never stopped %+v, restored %+v", i, ca[i], cb[i])
		}
	}
	st := a.Export()
	st.SXX = st.SXX[:4]
	if _, err := RestoreClassCosts(st); err == nil {
		t.Error("a state with sums of the wrong size was restored")
	}
}

func TestForecasterStateRoundTrip(t *testing.T) {
	y := make([]float64, 400)
	for i := range y {
		y[i] = 100 + 20*math.Sin(2*math.Pi*float64(i)/24) + float64(i%7)
	}
	y[50] = math.NaN()
	for _, model := range []string{"auto", "holt_winters", "median", "ewma"} {
		a, err := NewForecaster(Spec{Model: model})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Fit(y[:300]); err != nil {
			t.Fatal(err)
		}
		for _, v := range y[300:350] {
			a.Update(v)
		}
		b, err := RestoreForecaster(roundTrip(t, a.Export()))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		for _, v := range y[350:] {
			a.Update(v)
			b.Update(v)
		}
		fa, fb := a.Model.Forecast(12, 0.9), b.Model.Forecast(12, 0.9)
		for i := range fa.Mean {
			if fa.Mean[i] != fb.Mean[i] || fa.Upper[i] != fb.Upper[i] {
				t.Errorf("%s step %d: never stopped %v ≤%v, restored %v ≤%v", model, i+1, fa.Mean[i], fa.Upper[i], fb.Mean[i], fb.Upper[i])
				break
			}
		}
		if a.Model.Name() != b.Model.Name() {
			t.Errorf("%s: restored as %s, was %s", model, b.Model.Name(), a.Model.Name())
		}
	}
	// An unfitted forecaster restores unfitted.
	f, _ := NewForecaster(Spec{Model: "ewma"})
	if g, err := RestoreForecaster(roundTrip(t, f.Export())); err != nil || g.Fitted() {
		t.Errorf("unfitted: %v %v", g, err)
	}
}

func TestCapacityEstimate(t *testing.T) {
	m := NewResponseLine(1, false)
	if _, ok := EstimateCapacity(m, "cpu", 0.8, 2, 1e4); ok {
		t.Error("capacity from an empty line")
	}
	r := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 200; i++ {
		x := 500 * r.Float64()
		m.Observe(x, 0.05+x/1000+0.01*r.NormFloat64())
	}
	c, ok := EstimateCapacity(m, "cpu", 0.8, 2, 1e4)
	if !ok || math.Abs(c.Rate-750) > 25 || !(c.Lower < c.Rate && c.Rate < c.Upper) || c.Upper-c.Lower > 100 {
		t.Errorf("capacity %+v, want about 750 inside its band", c)
	}
	if got, err := RestoreCapacity(roundTrip(t, c)); err != nil || got != c {
		t.Errorf("capacity %+v came back as %+v (%v)", c, got, err)
	}
}

func TestStateVersion(t *testing.T) {
	s := NewResponseLine(0.98, false).Export()
	s.Version = 99
	if _, err := RestoreResponseLine(s); !errors.Is(err, ErrStateVersion) {
		t.Errorf("version 99: %v", err)
	}
	c := ClassCostsState{Version: 2}
	if _, err := RestoreClassCosts(c); !errors.Is(err, ErrStateVersion) {
		t.Errorf("class costs version 2: %v", err)
	}
	if _, err := RestoreForecaster(ForecasterState{}); !errors.Is(err, ErrStateVersion) {
		t.Errorf("forecaster version 0: %v", err)
	}
}
