package predictors

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func noisyLine(n int, a, b, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, n)
	for i := range y {
		y[i] = a + b*float64(i) + sd*r.NormFloat64()
	}
	return y
}

func TestHoltRecoversTrend(t *testing.T) {
	for _, tc := range []struct{ a, b, sd float64 }{{10, 0.5, 0.2}, {100, -2, 1}, {0, 0.01, 0.001}} {
		y := noisyLine(400, tc.a, tc.b, tc.sd, 7)
		m := &Holt{}
		if err := m.Fit(y); err != nil {
			t.Fatal(err)
		}
		_, trend := m.State()
		if math.Abs(trend-tc.b) > 0.1*math.Abs(tc.b)+3*tc.sd/20 {
			t.Errorf("%+v: trend %v", tc, trend)
		}
		f := m.Forecast(10, 0.95)
		want := tc.a + tc.b*float64(len(y)-1+10)
		if math.Abs(f.Mean[9]-want) > 4*tc.sd+0.05*math.Abs(tc.b)*10 {
			t.Errorf("%+v: forecast 10 ahead %v, want ≈ %v", tc, f.Mean[9], want)
		}
		if !(f.Lower[9] < f.Mean[9] && f.Mean[9] < f.Upper[9]) || f.Upper[9]-f.Lower[9] < f.Upper[0]-f.Lower[0] {
			t.Errorf("interval not widening: %v %v", f.Lower, f.Upper)
		}
	}
}

func TestHoltDampedFlattens(t *testing.T) {
	y := noisyLine(200, 0, 1, 0.1, 3)
	m := &Holt{Damped: true, Phi: 0.9}
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	f := m.Forecast(200, 0.9)
	// Σφʲ converges to φ/(1−φ) = 9 trend steps.
	if d := f.Mean[199] - f.Mean[0]; d > 9 || d < 5 {
		t.Errorf("damped growth over 200 steps = %v, want < 9", d)
	}
}

func TestEWMAFitsAlpha(t *testing.T) {
	// A random walk observed exactly: the best α is 1.
	r := rand.New(rand.NewPCG(1, 2))
	y := make([]float64, 300)
	for i := 1; i < len(y); i++ {
		y[i] = y[i-1] + r.NormFloat64()
	}
	m := &EWMA{}
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	if m.FittedAlpha() < 0.9 {
		t.Errorf("alpha = %v on a random walk, want ≈ 1", m.FittedAlpha())
	}
	// White noise around 5: α small, level ≈ 5.
	y = noisyLine(500, 5, 0, 1, 9)
	m = &EWMA{}
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	if m.FittedAlpha() > 0.2 || math.Abs(m.Level()-5) > 0.6 {
		t.Errorf("white noise: alpha %v level %v", m.FittedAlpha(), m.Level())
	}
}

func TestModelsHandleBadSeries(t *testing.T) {
	nan := math.NaN()
	models := func() []Model { return []Model{&EWMA{}, &Holt{}, &Holt{Damped: true}} }
	for _, m := range models() {
		if err := m.Fit(nil); !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: empty: %v", m.Name(), err)
		}
		if err := m.Fit([]float64{nan, math.Inf(1)}); !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: all-NaN: %v", m.Name(), err)
		}
	}
	for _, y := range [][]float64{{3}, {3, 3}, {1, nan, 3, nan, 5}, {7, 7, 7, 7, 7, 7, 7, 7}} {
		for _, m := range models() {
			if err := m.Fit(y); err != nil {
				t.Errorf("%s %v: %v", m.Name(), y, err)
				continue
			}
			m.Update(nan)
			f := m.Forecast(5, 0.95)
			for i := range f.Mean {
				if !isFinite(f.Mean[i]) || !isFinite(f.Lower[i]) || !isFinite(f.Upper[i]) {
					t.Errorf("%s %v: non-finite forecast %+v", m.Name(), y, f)
				}
			}
		}
	}
	if err := (&EWMA{Alpha: 2}).Fit([]float64{1, 2}); !errors.Is(err, ErrBadParam) {
		t.Errorf("alpha 2: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	y := noisyLine(500, 3, 0.1, 2, 5)
	a, b := &Holt{Damped: true}, &Holt{Damped: true}
	_ = a.Fit(y)
	_ = b.Fit(y)
	fa, fb := a.Forecast(20, 0.8), b.Forecast(20, 0.8)
	for i := range fa.Mean {
		if fa.Mean[i] != fb.Mean[i] || fa.Upper[i] != fb.Upper[i] {
			t.Fatal("same series, different forecasts")
		}
	}
}

func TestStats(t *testing.T) {
	y := []float64{4, math.NaN(), 1, 3, 2, 5}
	check := func(name string, got, want float64, err error) {
		t.Helper()
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	v, err := Mean(y)
	check("mean", v, 3, err)
	v, err = Median(y)
	check("median", v, 3, err)
	v, err = Percentile(y, 90)
	check("p90", v, 4.6, err)
	v, err = Stddev(y)
	check("stddev", v, math.Sqrt(2.5), err)
	v, err = Min(y)
	check("min", v, 1, err)
	v, err = Max(y)
	check("max", v, 5, err)
	v, err = MAD(y)
	check("mad", v, 1, err)
	if _, err := Percentile(y, 101); !errors.Is(err, ErrBadParam) {
		t.Errorf("p101: %v", err)
	}
	if _, err := Mean([]float64{math.NaN()}); !errors.Is(err, ErrEmpty) {
		t.Errorf("mean(NaN): %v", err)
	}
	if z := Z(0.95); math.Abs(z-1.959964) > 1e-5 {
		t.Errorf("Z(0.95) = %v", z)
	}
}

func BenchmarkHoltUpdate(b *testing.B) {
	m := &Holt{Damped: true}
	_ = m.Fit(noisyLine(1000, 1, 0.1, 1, 1))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Update(float64(i % 100))
	}
}

func BenchmarkEWMAUpdate(b *testing.B) {
	m := &EWMA{}
	_ = m.Fit(noisyLine(1000, 1, 0.1, 1, 1))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Update(float64(i % 100))
	}
}

func TestLinearTrend(t *testing.T) {
	for _, w := range []int{0, 50} {
		m := &LinearTrend{Window: w}
		y := noisyLine(300, 5, 0.3, 0.5, 12)
		if err := m.Fit(y); err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Slope()-0.3) > 0.02 {
			t.Errorf("window %d: slope %v", w, m.Slope())
		}
		f := m.Forecast(10, 0.95)
		if want := 5 + 0.3*309; math.Abs(f.Mean[9]-want) > 1.5 {
			t.Errorf("window %d: %v, want ≈ %v", w, f.Mean[9], want)
		}
		if !(f.Upper[9]-f.Lower[9] > f.Upper[0]-f.Lower[0]) {
			t.Errorf("interval does not widen")
		}
	}
	// The window forgets an old slope.
	y := append(noisyLine(200, 0, 1, 0.1, 1), make([]float64, 100)...)
	for i := 200; i < 300; i++ {
		y[i] = 200 - 0.5*float64(i-200)
	}
	m := &LinearTrend{Window: 40}
	_ = m.Fit(y)
	if math.Abs(m.Slope()+0.5) > 0.01 {
		t.Errorf("windowed slope %v, want -0.5", m.Slope())
	}
}

func TestCubicLoadResponse(t *testing.T) {
	m, err := NewLoadResponse(LoadResponseConfig{Degree: 3, Forget: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		r := float64(i % 100 * 10)
		m.Update(r, 0.1+1e-4*r+1e-10*r*r*r)
	}
	c := m.Coefs()
	if math.Abs(c[0]-0.1) > 1e-6 || math.Abs(c[3]-1e-10)/1e-10 > 1e-3 {
		t.Errorf("coefs %v", c)
	}
	if _, err := NewLoadResponse(LoadResponseConfig{Degree: 4}); err == nil {
		t.Error("degree 4 accepted")
	}
}

// Series simulated from the models' own state-space form: fitting must
// recover the smoothing parameters that generated them.
func TestSmoothingParametersRecovered(t *testing.T) {
	r := rand.New(rand.NewPCG(99, 1))
	// ETS(A,N,N): y = l + e; l ← l + α·e.
	const alpha = 0.3
	y := make([]float64, 3000)
	l := 100.0
	for i := range y {
		e := r.NormFloat64()
		y[i] = l + e
		l += alpha * e
	}
	m := &EWMA{}
	_ = m.Fit(y)
	if math.Abs(m.FittedAlpha()-alpha) > 0.05 {
		t.Errorf("ewma alpha %v, want %v", m.FittedAlpha(), alpha)
	}
	// ETS(A,A,N) in Holt's form: y = l + b + e; l ← l + b + α·e;
	// b ← b + αβ·e.
	const a2, b2 = 0.5, 0.2
	l, b := 0.0, 0.5
	for i := range y {
		e := r.NormFloat64()
		y[i] = l + b + e
		l += b + a2*e
		b += a2 * b2 * e
	}
	h := &Holt{}
	_ = h.Fit(y)
	ga, gb, _ := h.Params()
	if math.Abs(ga-a2) > 0.07 || math.Abs(gb-b2) > 0.08 {
		t.Errorf("holt alpha %v beta %v, want %v %v", ga, gb, a2, b2)
	}
}
