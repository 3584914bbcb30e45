package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poisson draws a Poisson count (what a generator counts of a class in one
// tick): Knuth's method for small means, the normal approximation above.
func poisson(r *rand.Rand, mean float64) float64 {
	if mean > 50 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// A cpu-like metric: base + Σ cost·rate + noise.
var testCosts = []float64{0.0005, 0.002, 0.004} // browse, search, checkout: cpu per request/s

func metricAt(r *rand.Rand, rates []float64, costs []float64, noise float64) float64 {
	y := 0.05
	for i, x := range rates {
		y += costs[i] * x
	}
	return y + noise*r.NormFloat64()
}

func TestClassCostsRecoversKnownCosts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, err := NewClassCosts([]string{"browse", "search", "checkout"}, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.Costs(); ok {
		t.Fatal("costs before any sample")
	}
	for i := 0; i < 400; i++ {
		rates := []float64{200 * r.Float64(), 60 * r.Float64(), 40 * r.Float64()}
		m.Observe(rates, metricAt(r, rates, testCosts, 0.01))
	}
	base, costs, ok := m.Costs()
	if !ok {
		t.Fatal("no fit after 400 samples")
	}
	// The stated tolerance: every cost within 3 standard errors of the
	// truth, and those standard errors under 10% of the cost (the rates
	// moved independently, so each cost is pinned down).
	for i, c := range costs {
		if d := math.Abs(c.Cost - testCosts[i]); d > 3*c.StdErr || c.StdErr > 0.1*testCosts[i] {
			t.Errorf("%s: cost %.5f ± %.5f, want %.5f", c.Class, c.Cost, c.StdErr, testCosts[i])
		}
	}
	if math.Abs(base.Cost-0.05) > 3*base.StdErr {
		t.Errorf("base %.4f ± %.4f, want 0.05", base.Cost, base.StdErr)
	}
	if s := m.Noise(); s < 0.008 || s > 0.012 {
		t.Errorf("noise %.4f, want about 0.01", s)
	}
	// Shedding a checkout frees the most cpu per request.
	best, ok := m.MostHeadroomPerShed([]string{"browse", "checkout", "search"}, 2)
	if !ok || best.Class != "checkout" || best.AtLeast > best.Frees {
		t.Errorf("best to shed %+v, %v", best, ok)
	}
}

// The usual load test: a fixed mix (weights 8:2), the total rate ramping,
// each tick's counts Poisson. Only the counts' noise moves the classes
// apart, and that is enough over a few hundred ticks: when the heavy
// class's weight doubles, the prediction for the new mix — before a single
// reading of it — is within 5% of the truth (the evaluation's goal on a
// real target is 15%).
func TestClassCostsFollowsAMixChange(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	costs := []float64{0.0004, 0.003} // browse, checkout
	m, _ := NewClassCosts([]string{"browse", "checkout"}, 0.995)
	line := NewResponseLine(0.995, false) // the same data through the total-rate line
	weights := []float64{0.8, 0.2}
	for i := 0; i < 600; i++ {
		total := 50 + 350*float64(i)/600
		rates := []float64{poisson(r, weights[0]*total), poisson(r, weights[1]*total)}
		y := metricAt(r, rates, costs, 0.01)
		m.Observe(rates, y)
		line.Observe(rates[0]+rates[1], y)
	}
	// The new mix: checkout's weight doubled, at 300 requests/s.
	newRates := []float64{300 * 0.8 / 1.2, 300 * 0.4 / 1.2}
	want := 0.05 + costs[0]*newRates[0] + costs[1]*newRates[1]
	got, se, ok := m.Predict(newRates)
	if !ok || math.Abs(got-want) > 0.05*want {
		t.Errorf("new mix: predicted %.3f ± %.3f, want %.3f within 5%%", got, se, want)
	}
	// The total-rate line cannot know the mix moved: it is further off.
	lineMean, _, _ := line.Predict(300, 2, 0)
	if math.Abs(lineMean-want) <= math.Abs(got-want) {
		t.Errorf("the line (%.3f) did as well as the per-class costs (%.3f); want %.3f", lineMean, got, want)
	}
	// The prediction's band widens away from the mix it learned.
	_, seOld, _ := m.Predict([]float64{240, 60})
	if se <= seOld {
		t.Errorf("band at the new mix %.4f not wider than at the old %.4f", se, seOld)
	}
}

// A deploy doubles what a checkout costs: with forgetting the model follows.
func TestClassCostsFollowsACostChange(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, _ := NewClassCosts([]string{"browse", "search", "checkout"}, 0.95)
	costs := append([]float64(nil), testCosts...)
	for i := 0; i < 400; i++ {
		if i == 200 {
			costs[2] *= 2
		}
		rates := []float64{200 * r.Float64(), 60 * r.Float64(), 40 * r.Float64()}
		m.Observe(rates, metricAt(r, rates, costs, 0.01))
	}
	_, got, _ := m.Costs()
	if c := got[2]; math.Abs(c.Cost-costs[2]) > 0.1*costs[2] {
		t.Errorf("checkout after the deploy: %.5f ± %.5f, want %.5f", c.Cost, c.StdErr, costs[2])
	}
}

// A class whose rate never moved has no known cost: it is not chosen to be
// shed on a guess, and its standard error says so.
func TestClassCostsUnidentified(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m, _ := NewClassCosts([]string{"browse", "batch"}, 0.99)
	for i := 0; i < 300; i++ {
		rates := []float64{200 * r.Float64(), 10}
		m.Observe(rates, 0.05+0.0005*rates[0]+0.01*rates[1]+0.01*r.NormFloat64())
	}
	_, costs, ok := m.Costs()
	if !ok {
		t.Fatal("no fit")
	}
	if costs[1].StdErr < 10*costs[0].StdErr {
		t.Errorf("batch's cost looks known: %+v", costs)
	}
	order, _ := m.ShedOrder([]string{"batch", "browse", "unknown"}, 2)
	if len(order) != 2 || order[0].Class != "browse" {
		t.Errorf("shed order %+v: want browse first, batch after, unknown left out", order)
	}
	// Bad samples are ignored.
	n := m.Samples()
	m.Observe([]float64{1}, 1)
	m.Observe([]float64{1, math.NaN()}, 1)
	m.Observe([]float64{1, -1}, 1)
	m.Observe([]float64{1, 1}, math.Inf(1))
	if m.Samples() != n {
		t.Errorf("bad samples were used")
	}
	if _, err := NewClassCosts([]string{"a", "a"}, 0.99); err == nil {
		t.Error("duplicate classes accepted")
	}
	if _, err := NewClassCosts([]string{"a"}, 0); err == nil {
		t.Error("forget 0 accepted")
	}
}
