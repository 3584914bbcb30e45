package predictors

import (
	"math"
	"testing"
)

// rates sweeps up and down so the slope is identified.
func sweepRate(i int) float64 { return 500 + 400*math.Sin(float64(i)*0.3) }

func TestResponseLineRecoversLineAndFollowsShift(t *testing.T) {
	m := NewResponseLine(0.9, false)
	for i := 0; i < 4; i++ {
		m.Observe(sweepRate(i), 0.1+0.0002*sweepRate(i))
	}
	if _, _, _, _, ok := m.Fit(); ok {
		t.Fatal("identified with 4 samples")
	}
	for i := 4; i < 100; i++ {
		m.Observe(sweepRate(i), 0.1+0.0002*sweepRate(i))
	}
	a, b, sigma, _, ok := m.Fit()
	if !ok || math.Abs(a-0.1) > 1e-9 || math.Abs(b-0.0002) > 1e-12 || sigma > 1e-6 {
		t.Fatalf("fit a=%v b=%v σ=%v ok=%v, want 0.1, 0.0002, 0", a, b, sigma, ok)
	}
	// The system changes: with λ = 0.9 the old line's weight after 150
	// samples is 0.9¹⁵⁰ ≈ 1e-7, so the fit is the new line.
	for i := 100; i < 250; i++ {
		m.Observe(sweepRate(i), 0.2+0.0004*sweepRate(i))
	}
	a, b, _, _, _ = m.Fit()
	if math.Abs(a-0.2) > 1e-4 || math.Abs(b-0.0004) > 1e-7 {
		t.Fatalf("after the shift a=%v b=%v, want 0.2, 0.0004", a, b)
	}
	if w := m.Weight(); math.Abs(w-10) > 1e-3 {
		t.Fatalf("weight %v, want 1/(1−λ) = 10", w)
	}
	m.Forget(0)
	if _, _, _, _, ok := m.Fit(); ok {
		t.Fatal("still identified after Forget(0)")
	}
}

func TestResponseLineNeedsRateSpread(t *testing.T) {
	m := NewResponseLine(1, false)
	for i := 0; i < 50; i++ {
		m.Observe(1000+0.001*float64(i%2), 0.5)
	}
	if _, _, _, _, ok := m.Fit(); ok {
		t.Fatal("slope identified from rates that did not move")
	}
	if _, ok := LineSafeRate(m, 0.8, 2, 0.008, 4000); ok {
		t.Fatal("safe rate from an unidentified line")
	}
}

func TestResponseLineLatencyTransform(t *testing.T) {
	if !IsLatencyMetric("latency_p99") || !IsLatencyMetric("db_latency") || IsLatencyMetric("cpu") {
		t.Fatal("IsLatencyMetric")
	}
	// M/M/1 mean response time T = 1/(μ − λ) with μ = 1000/s.
	const mu = 1000.0
	m := NewResponseLine(1, true)
	for i := 0; i < 60; i++ {
		x := 400 + 10*float64(i)
		m.Observe(x, 1/(mu-x))
	}
	m.Observe(500, 0) // not a latency: ignored
	if !m.Inverse() || m.Weight() != 60 {
		t.Fatalf("inverse %v weight %v", m.Inverse(), m.Weight())
	}
	a, b, _, _, ok := m.Fit()
	if !ok || math.Abs(b-1) > 1e-9 || math.Abs(a+mu) > 1e-6 {
		t.Fatalf("−1/T fit a=%v b=%v, want −1000, 1", a, b)
	}
	mean, upper, _ := m.Predict(900, 2, 0)
	if math.Abs(mean-0.01) > 1e-9 || upper < mean {
		t.Fatalf("T(900) = %v (upper %v), want 0.01", mean, upper)
	}
	if mean, _, _ := m.Predict(1200, 2, 0); !math.IsInf(mean, 1) {
		t.Fatalf("past saturation T = %v, want +Inf", mean)
	}
	// Limit 20 ms: T = 0.02 at λ = 950; a noise-free fit has no band.
	r, ok := LineSafeRate(m, 0.02, 2, 0, 4000)
	if !ok || math.Abs(r-950) > 0.01 {
		t.Fatalf("safe rate %v, want 950", r)
	}
}

func TestResponseLineBand(t *testing.T) {
	// Noise with σ = 0.02 (a fixed pseudo-random sequence).
	noise := func(i int) float64 {
		return 0.02 * math.Sqrt(3) * (2*math.Mod(float64(i)*0.6180339887, 1) - 1)
	}
	m := NewResponseLine(1, false)
	for i := 0; i < 400; i++ {
		m.Observe(sweepRate(i), 0.1+0.0002*sweepRate(i)+noise(i))
	}
	_, _, sigma, _, _ := m.Fit()
	if math.Abs(sigma-0.02) > 0.004 {
		t.Fatalf("σ %v, want ≈ 0.02", sigma)
	}
	mean, upper, _ := m.Predict(500, 2, 0)
	if w := upper - mean; math.Abs(w-2*sigma) > 0.05*sigma {
		t.Fatalf("band at the mean rate %v, want ≈ 2σ = %v", w, 2*sigma)
	}
	_, far, _ := m.Predict(5000, 2, 0)
	m5, _, _ := m.Predict(5000, 2, 0)
	if far-m5 <= upper-mean {
		t.Fatal("band does not widen away from the rates seen")
	}
	// Coverage of new observations by the 2σ bound (≈ 97.7% for normal noise).
	in := 0
	for i := 400; i < 800; i++ {
		x := sweepRate(i)
		if _, up, _ := m.Predict(x, 2, 0); 0.1+0.0002*x+noise(i) <= up {
			in++
		}
	}
	if in < 380 {
		t.Fatalf("upper bound covered %d/400 new observations", in)
	}
	// The floor: at least z·floor·(1 + 10/w) above the mean.
	_, up, _ := m.Predict(500, 2, 0.05)
	if want := mean + 2*0.05*(1+10/m.Weight()); math.Abs(up-want) > 1e-12 {
		t.Fatalf("floored upper %v, want %v", up, want)
	}
}

func TestLineSafeRate(t *testing.T) {
	m := NewResponseLine(1, false)
	for i := 0; i < 200; i++ {
		m.Observe(sweepRate(i), 0.1+0.0002*sweepRate(i))
	}
	// Noise-free: the band is the floor, 2·0.008·(1 + 10/200).
	band := 2 * 0.008 * (1 + 10.0/200)
	want := (0.8 - band - 0.1) / 0.0002
	r, ok := LineSafeRate(m, 0.8, 2, 0.008, 10000)
	if !ok || math.Abs(r-want) > 1e-6*10000 {
		t.Fatalf("safe rate %v, want %v", r, want)
	}
	if r, _ := LineSafeRate(m, 0.8, 2, 0.008, 1000); r != 1000 {
		t.Fatalf("under the limit up to hi: %v, want hi", r)
	}
	if r, ok := LineSafeRate(m, 0.05, 2, 0.008, 1000); !ok || r != 0 {
		t.Fatalf("over the limit at rate 0: %v %v, want 0 true", r, ok)
	}
	down := NewResponseLine(1, false)
	for i := 0; i < 50; i++ {
		down.Observe(sweepRate(i), 1-0.0002*sweepRate(i))
	}
	if _, ok := LineSafeRate(down, 0.5, 2, 0.008, 1000); ok {
		t.Fatal("a metric falling with load binds")
	}
}

func TestLagEstimatorFindsDelayAndWindow(t *testing.T) {
	// The reading at tick k is the mean rate of ticks k−3−2+1 … k−3 (d 3, w 2).
	var sent, sentPrev, ys []float64
	for k := 0; k < 120; k++ {
		sent = append(sent, 100+50*math.Sin(float64(k)*0.37)+20*math.Sin(float64(k)*1.1))
		if k == 0 {
			sentPrev = append(sentPrev, math.NaN())
		} else {
			sentPrev = append(sentPrev, sent[k-1])
		}
		x := AlignedRate(sentPrev, k, 3, 2)
		ys = append(ys, 0.05+0.001*x)
	}
	l := LagEstimator{D: 1, W: 1, MaxLag: 8, Window: 90}
	if d, w := l.Estimate(sentPrev, ys); d != 3 || w != 2 {
		t.Fatalf("lag (%d, %d), want (3, 2)", d, w)
	}
	fixed := LagEstimator{D: 1, W: 1, MaxLag: 8, Window: 90, Fixed: true}
	if d, w := fixed.Estimate(sentPrev, ys); d != 1 || w != 1 {
		t.Fatalf("fixed lag moved to (%d, %d)", d, w)
	}
}

func TestResidualTrendForecastsALine(t *testing.T) {
	h := ResidualTrend{Alpha: 0.3, Beta: 0.1}
	if h.Forecast(5) != 0 {
		t.Fatal("forecast before 3 residuals")
	}
	for i := 0; i < 300; i++ {
		h.Update(0.001 * float64(i))
	}
	h.Update(math.NaN())
	if f := h.Forecast(10); math.Abs(f-0.001*309) > 1e-6 {
		t.Fatalf("forecast %v, want %v", f, 0.001*309)
	}
}

// Pairs in a narrow band of rates (340–380 rps) with noise: the band
// bulges far above the limit at rate 0, far below the data, yet the rates
// the line was fitted on read under the limit. The inversion must answer
// near the data, not 0.
func TestLineSafeRateNarrowNoisyPairs(t *testing.T) {
	m := NewResponseLine(0.98, false)
	xs := []float64{340, 372, 355, 380, 348, 366, 359, 377, 343, 369}
	noise := []float64{0.05, -0.06, 0.04, 0.06, -0.05, 0.02, 0.06, -0.04, -0.06, 0.05}
	for i, x := range xs {
		m.Observe(x, x/600+noise[i])
	}
	_, up0, _ := m.Predict(0, 2, 0.008)
	_, upMid, _ := m.Predict(360, 2, 0.008)
	if !(up0 > 0.8 && upMid < 0.8) {
		t.Fatalf("the case needs a band over the limit at 0 (%.3f) and under it at the data (%.3f)", up0, upMid)
	}
	r, ok := LineSafeRate(m, 0.8, 2, 0.008, 4000)
	if !ok {
		t.Fatal("line not identified")
	}
	if r < 360 {
		t.Errorf("safe rate %.1f rps, though the band at 360 rps is %.3f, under the limit", r, upMid)
	}
	if _, up, _ := m.Predict(r, 2, 0.008); up > 0.8+1e-9 {
		t.Errorf("safe rate %.1f rps has its band at %.3f, over the limit", r, up)
	}
	// No rate under the limit at all: 0.
	if r, ok := LineSafeRate(m, 0.1, 2, 0.008, 4000); !ok || r != 0 {
		t.Errorf("limit under every rate's band: got %.1f, %v; want 0, true", r, ok)
	}
}
