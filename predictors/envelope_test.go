package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// feed trains a model on metric = f(rate) + noise at rates swept over
// [lo, hi].
func feed(t testing.TB, m *LoadResponse, n int, lo, hi, sd float64, f func(float64) float64, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	for i := 0; i < n; i++ {
		rate := lo + (hi-lo)*float64(i%50)/49
		m.Update(rate, f(rate)+sd*r.NormFloat64())
	}
}

func TestLoadResponseRecoversLine(t *testing.T) {
	m, err := NewLoadResponse(LoadResponseConfig{Forget: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, m, 500, 100, 2000, 0.01, func(r float64) float64 { return 0.1 + 0.0002*r }, 1)
	a, b, _ := m.Coef()
	if math.Abs(a-0.1) > 0.01 || math.Abs(b-0.0002)/0.0002 > 0.03 {
		t.Errorf("a=%v b=%v, want 0.1, 0.0002", a, b)
	}
	if s := m.Sigma(); math.Abs(s-0.01) > 0.003 {
		t.Errorf("sigma %v, want ≈ 0.01", s)
	}
	// The band is wider far from the data than inside it.
	_, seIn := m.Predict(1000)
	_, seOut := m.Predict(10000)
	if !(seOut > seIn) {
		t.Errorf("se in range %v, extrapolated %v", seIn, seOut)
	}
}

func TestLoadResponseQuadratic(t *testing.T) {
	m, _ := NewLoadResponse(LoadResponseConfig{Quadratic: true, Forget: 1})
	feed(t, m, 400, 0, 1000, 0.001, func(r float64) float64 { return 0.05 + 1e-4*r + 3e-7*r*r }, 2)
	a, b, c := m.Coef()
	if math.Abs(a-0.05) > 0.002 || math.Abs(b-1e-4) > 1e-5 || math.Abs(c-3e-7)/3e-7 > 0.05 {
		t.Errorf("coef %v %v %v", a, b, c)
	}
}

func TestLoadResponseForgetsOldRegime(t *testing.T) {
	m, _ := NewLoadResponse(LoadResponseConfig{Forget: 0.95})
	feed(t, m, 300, 100, 1000, 0.005, func(r float64) float64 { return 0.1 + 0.0002*r }, 3)
	feed(t, m, 300, 100, 1000, 0.005, func(r float64) float64 { return 0.1 + 0.0004*r }, 4)
	if _, b, _ := m.Coef(); math.Abs(b-0.0004)/0.0004 > 0.05 {
		t.Errorf("after the change b = %v, want ≈ 0.0004", b)
	}
}

func TestLoadResponseSaturationAndReadiness(t *testing.T) {
	m, _ := NewLoadResponse(LoadResponseConfig{Saturation: 0.95})
	if m.Ready() {
		t.Fatal("empty model ready")
	}
	for i := 0; i < 20; i++ {
		m.Update(500, 0.2) // one rate only: slope unknown
	}
	if m.Ready() {
		t.Error("ready after one distinct rate")
	}
	if _, se := m.Predict(1000); !math.IsInf(se, 1) {
		t.Errorf("se = %v before ready", se)
	}
	feed(t, m, 200, 100, 1000, 0.001, func(r float64) float64 { return 0.1 + 0.0002*r }, 5)
	n := m.Samples()
	m.Update(5000, 0.99) // pinned: ignored
	m.Update(math.NaN(), 0.3)
	if m.Samples() != n {
		t.Error("saturated or NaN sample was used")
	}
}

func TestEnvelopeLinearInversion(t *testing.T) {
	m, _ := NewLoadResponse(LoadResponseConfig{Forget: 0.99})
	const sd = 0.01
	feed(t, m, 600, 200, 3000, sd, func(r float64) float64 { return 0.1 + 0.0002*r }, 6)
	var env Envelope
	req := &EnvelopeRequest{
		Now: 100, Horizon: 30, Step: 1, PlannedRate: 5000, MaxRate: 10000,
		Metrics: []MetricLimit{{Name: "cpu", Limit: 0.8, Model: m}},
	}
	if err := ComputeEnvelope(req, &env); err != nil {
		t.Fatal(err)
	}
	// Exact inversion is 3500; the 95% upper bound costs ≈ 1.645·σ/b ≈ 82
	// req/s (plus a little for the uncertainty of the fit just past the data).
	if !(env.SafeRate < 3500 && env.SafeRate > 3500-200) {
		t.Errorf("safe rate %v, want a little under 3500", env.SafeRate)
	}
	if env.Binding != "cpu" || !env.Confident {
		t.Errorf("binding %q confident %v", env.Binding, env.Confident)
	}
	// Planned 5000 already breaches now.
	if env.BreachMetric != "cpu" || env.BreachIn != 0 {
		t.Errorf("breach %q in %v", env.BreachMetric, env.BreachIn)
	}
	// A ramp from 1000 at +100 req/s per second reaches ≈ 3450 after ~24.5 s.
	req.Planned = func(t float64) float64 { return 1000 + 100*(t-100) }
	_ = ComputeEnvelope(req, &env)
	if env.BreachMetric != "cpu" || env.BreachIn < 22 || env.BreachIn > 26 {
		t.Errorf("ramp: breach %q in %v s, want ≈ 24", env.BreachMetric, env.BreachIn)
	}
	// A margin lowers it; a deploy that doubles cost per request halves the
	// load-dependent headroom.
	req.Planned = nil
	req.PlannedRate = 1000
	req.Margin = 0.1 // limit 0.72 → 3100
	_ = ComputeEnvelope(req, &env)
	if !(env.SafeRate < 3100 && env.SafeRate > 2900) || env.BreachMetric != "" {
		t.Errorf("margin: safe %v breach %q", env.SafeRate, env.BreachMetric)
	}
	req.Margin = 0
	req.Intents = []Intent{{Kind: IntentDeploy, At: 110, Factor: 2}}
	_ = ComputeEnvelope(req, &env)
	if !(env.SafeRate < 1750 && env.SafeRate > 1600) {
		t.Errorf("deploy ×2: safe %v, want a little under 1750", env.SafeRate)
	}
	// Growth ×4 at t=120 takes planned 1000 to 4000: a breach 20 s out.
	req.Intents = []Intent{{Kind: IntentGrowth, At: 120, Factor: 4}}
	_ = ComputeEnvelope(req, &env)
	if env.BreachMetric != "cpu" || env.BreachIn != 20 {
		t.Errorf("growth: breach %q in %v", env.BreachMetric, env.BreachIn)
	}
}

func TestEnvelopeContentionPointAndProbe(t *testing.T) {
	cpu, _ := NewLoadResponse(LoadResponseConfig{})
	mem, _ := NewLoadResponse(LoadResponseConfig{})
	feed(t, cpu, 300, 100, 1000, 0.005, func(r float64) float64 { return 0.1 + 0.0002*r }, 7) // 0.8 at 3500
	feed(t, mem, 300, 100, 1000, 5, func(r float64) float64 { return 300 + 0.5*r }, 8)        // 1500 at 2400
	fresh, _ := NewLoadResponse(LoadResponseConfig{})
	var env Envelope
	req := &EnvelopeRequest{PlannedRate: 1000, MaxRate: 20000, Metrics: []MetricLimit{
		{Name: "cpu", Limit: 0.8, Model: cpu}, {Name: "memory", Limit: 1500, Model: mem},
	}}
	if err := ComputeEnvelope(req, &env); err != nil {
		t.Fatal(err)
	}
	if env.Binding != "memory" || env.SafeRate > 2400 || env.SafeRate < 2200 {
		t.Errorf("binding %q at %v, want memory just under 2400", env.Binding, env.SafeRate)
	}
	if len(env.Metrics) != 2 || env.Metrics[0].SafeRate < env.Metrics[1].SafeRate {
		t.Errorf("metrics %+v", env.Metrics)
	}
	// A model with no data: not confident, safe rate is the probe floor.
	req.Metrics = append(req.Metrics, MetricLimit{Name: "p99", Limit: 0.25, Model: fresh})
	req.MinRate = 50
	_ = ComputeEnvelope(req, &env)
	if env.Confident || env.SafeRate != 50 || env.Binding != "p99" {
		t.Errorf("fresh model: %+v", env)
	}
	for i := 0; i < 10; i++ {
		fresh.Update(200, 0.05)
	}
	_ = ComputeEnvelope(req, &env)
	if math.Abs(env.SafeRate-220) > 1e-9 {
		t.Errorf("probe past 200 = %v, want 220", env.SafeRate)
	}
	// Bad requests are errors, not NaNs.
	if err := ComputeEnvelope(&EnvelopeRequest{MaxRate: 0}, &env); err == nil {
		t.Error("MaxRate 0 accepted")
	}
	if err := ComputeEnvelope(&EnvelopeRequest{MaxRate: 1, Metrics: []MetricLimit{{Name: "x"}}}, &env); err == nil {
		t.Error("nil model accepted")
	}
}

func TestEnvelopeDriftLowersSafeRate(t *testing.T) {
	flat, _ := NewLoadResponse(LoadResponseConfig{Forget: 0.98})
	rising, _ := NewLoadResponse(LoadResponseConfig{Forget: 0.98})
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 600; i++ {
		rate := 100 + 900*float64(i%50)/49
		n := 0.002 * r.NormFloat64()
		flat.Update(rate, 0.1+0.0002*rate+n)
		rising.Update(rate, 0.1+0.0002*rate+0.0005*float64(i)+n) // memory creeping up
	}
	var a, b Envelope
	base := EnvelopeRequest{PlannedRate: 500, MaxRate: 10000, Horizon: 60}
	ra, rb := base, base
	ra.Metrics = []MetricLimit{{Name: "m", Limit: 0.9, Model: flat}}
	rb.Metrics = []MetricLimit{{Name: "m", Limit: 0.9, Model: rising}}
	_ = ComputeEnvelope(&ra, &a)
	_ = ComputeEnvelope(&rb, &b)
	if d, _ := rising.Drift(60); d <= 0 {
		t.Errorf("drift of a rising intercept = %v", d)
	}
	if !(b.SafeRate < a.SafeRate) {
		t.Errorf("rising intercept safe %v, flat %v", b.SafeRate, a.SafeRate)
	}
}

func TestLaggedAndEstimateLag(t *testing.T) {
	l := NewLagged(3)
	for i := 1; i <= 3; i++ {
		l.Push(float64(i))
		if _, ok := l.At(); ok {
			t.Fatal("ready too early")
		}
	}
	l.Push(4)
	if v, ok := l.At(); !ok || v != 1 {
		t.Errorf("At = %v %v, want 1", v, ok)
	}
	r := rand.New(rand.NewPCG(1, 1))
	rate := make([]float64, 300)
	metric := make([]float64, 300)
	for i := range rate {
		rate[i] = 1000 + 500*r.Float64()
		if i >= 4 {
			metric[i] = 0.0002*rate[i-4] + 0.001*r.NormFloat64()
		}
	}
	if lag, c := EstimateLag(rate, metric, 10); lag != 4 || c < 0.5 {
		t.Errorf("lag %d corr %v, want 4", lag, c)
	}
}

func TestRegressionFits(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, math.NaN()}
	y := []float64{1, 3, 5, 7, 9, 11, 4}
	r, err := LinearFit(x, y)
	if err != nil || math.Abs(r.Coef[0]-1) > 1e-9 || math.Abs(r.Coef[1]-2) > 1e-9 {
		t.Fatalf("linear %+v %v", r, err)
	}
	if m, _ := r.Predict(10); math.Abs(m-21) > 1e-9 {
		t.Errorf("predict 10 = %v", m)
	}
	q, err := QuadraticFit([]float64{0, 1, 2, 3, 4}, []float64{2, 3, 6, 11, 18})
	if err != nil || math.Abs(q.Coef[2]-1) > 1e-9 || math.Abs(q.Coef[0]-2) > 1e-9 {
		t.Errorf("quadratic %+v %v", q, err)
	}
	if _, err := LinearFit([]float64{1, 1, 1}, []float64{1, 2, 3}); err == nil {
		t.Error("degenerate x accepted")
	}
	if _, err := LinearFit([]float64{1}, []float64{1}); err == nil {
		t.Error("one point accepted")
	}
}

func BenchmarkEnvelope10Metrics(b *testing.B) {
	req := &EnvelopeRequest{Now: 0, Horizon: 30, Step: 1, PlannedRate: 2000, MaxRate: 20000}
	for i := 0; i < 10; i++ {
		m, _ := NewLoadResponse(LoadResponseConfig{Quadratic: i%2 == 0})
		s := float64(i+1) * 1e-5
		feed(b, m, 300, 100, 3000, 0.01, func(r float64) float64 { return 0.1 + s*r }, uint64(i))
		req.Metrics = append(req.Metrics, MetricLimit{Name: "m", Limit: 0.8, Model: m})
	}
	req.Intents = []Intent{{Kind: IntentDeploy, At: 10, Factor: 1.2}}
	var env Envelope
	b.ReportAllocs()
	for b.Loop() {
		_ = ComputeEnvelope(req, &env)
	}
}

func BenchmarkLoadResponseUpdate(b *testing.B) {
	m, _ := NewLoadResponse(LoadResponseConfig{Quadratic: true})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := float64(100 + i%1000)
		m.Update(r, 0.1+0.0002*r)
	}
}

func TestSelfCheck(t *testing.T) {
	s := NewSelfCheck(2, 20, 0.8)
	// Predictions 2 ticks ahead that are right: trusted, zero error.
	for i := 0; i < 30; i++ {
		s.Predict(float64(i+2), float64(i+2)+1)
		s.Observe(float64(i))
	}
	if mae, bias, cov, n := s.Stats(); mae != 0 || bias != 0 || cov != 1 || n != 20 || !s.Trusted() {
		t.Errorf("accurate: mae %v bias %v cov %v n %d", mae, bias, cov, n)
	}
	// Now the metric runs 5 above every prediction: coverage collapses.
	for i := 30; i < 60; i++ {
		s.Predict(float64(i+2), float64(i+2)+1)
		s.Observe(float64(i) + 5)
	}
	if mae, bias, cov, _ := s.Stats(); mae != 5 || bias != 5 || cov != 0 || s.Trusted() {
		t.Errorf("biased: mae %v bias %v cov %v trusted %v", mae, bias, cov, s.Trusted())
	}
	// A tick without a prediction is not scored against an old one.
	s2 := NewSelfCheck(1, 10, 0.8)
	s2.Observe(1)
	s2.Observe(2)
	if _, _, _, n := s2.Stats(); n != 0 {
		t.Errorf("scored %d ticks without predictions", n)
	}
}
