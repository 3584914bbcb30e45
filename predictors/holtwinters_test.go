package predictors

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// seasonal returns level + slope·t + amp·sin(2πt/p) + noise.
func seasonal(n, p int, level, slope, amp, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 5))
	y := make([]float64, n)
	for i := range y {
		y[i] = level + slope*float64(i) + amp*math.Sin(2*math.Pi*float64(i)/float64(p)) + sd*r.NormFloat64()
	}
	return y
}

func TestDetectPeriod(t *testing.T) {
	for _, p := range []int{7, 24, 48, 288} {
		y := seasonal(max(10*p, 400), p, 50, 0.01, 10, 2, uint64(p))
		if got := DetectPeriod(y, 2, 0); got != p {
			t.Errorf("period %d: detected %d", p, got)
		}
	}
	// White noise and a random walk have no season.
	r := rand.New(rand.NewPCG(2, 2))
	noise, walk := make([]float64, 2000), make([]float64, 2000)
	for i := range noise {
		noise[i] = r.NormFloat64()
		if i > 0 {
			walk[i] = walk[i-1] + r.NormFloat64()
		}
	}
	if got := DetectPeriod(noise, 2, 0); got != 0 {
		t.Errorf("white noise: period %d", got)
	}
	if got := DetectPeriod(walk, 2, 0); got != 0 {
		t.Errorf("random walk: period %d", got)
	}
	if got := DetectPeriod([]float64{1, 2}, 2, 0); got != 0 {
		t.Errorf("tiny: %d", got)
	}
}

func TestHoltWintersRecoversSeason(t *testing.T) {
	const p = 24
	y := seasonal(40*p, p, 100, 0.05, 20, 1, 11)
	m := &HoltWinters{Period: p}
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	level, trend, season := m.State()
	n := float64(len(y))
	if math.Abs(trend-0.05) > 0.02 {
		t.Errorf("trend %v, want 0.05", trend)
	}
	if want := 100 + 0.05*(n-1); math.Abs(level-want) > 2 {
		t.Errorf("level %v, want ≈ %v", level, want)
	}
	for i, s := range season {
		want := 20 * math.Sin(2*math.Pi*float64(len(y)+i)/p)
		if math.Abs(s-want) > 2 {
			t.Errorf("season[%d] = %v, want ≈ %v", i, s, want)
		}
	}
	f := m.Forecast(2*p, 0.95)
	for h := 1; h <= 2*p; h++ {
		t0 := float64(len(y) - 1 + h)
		want := 100 + 0.05*t0 + 20*math.Sin(2*math.Pi*t0/p)
		if math.Abs(f.Mean[h-1]-want) > 3 {
			t.Errorf("h=%d: %v, want ≈ %v", h, f.Mean[h-1], want)
		}
		if !(f.Lower[h-1] < want && want < f.Upper[h-1]) {
			t.Errorf("h=%d: %v outside [%v, %v]", h, want, f.Lower[h-1], f.Upper[h-1])
		}
	}
}

func TestHoltWintersMultiplicative(t *testing.T) {
	const p = 12
	r := rand.New(rand.NewPCG(4, 4))
	y := make([]float64, 30*p)
	for i := range y {
		base := 50 + 0.2*float64(i)
		y[i] = base * (1 + 0.3*math.Sin(2*math.Pi*float64(i)/p)) * (1 + 0.01*r.NormFloat64())
	}
	m := &HoltWinters{Period: p, Multiplicative: true}
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	f := m.Forecast(p, 0.9)
	for h := 1; h <= p; h++ {
		t0 := float64(len(y) - 1 + h)
		want := (50 + 0.2*t0) * (1 + 0.3*math.Sin(2*math.Pi*t0/p))
		if math.Abs(f.Mean[h-1]-want)/want > 0.05 {
			t.Errorf("h=%d: %v, want ≈ %v", h, f.Mean[h-1], want)
		}
	}
	if err := (&HoltWinters{Period: p, Multiplicative: true}).Fit([]float64{1, 0, 2}); err == nil {
		t.Error("short/non-positive series accepted")
	}
	y[5] = -1
	if err := (&HoltWinters{Period: p, Multiplicative: true}).Fit(y); !errors.Is(err, ErrBadParam) {
		t.Errorf("negative value: %v", err)
	}
}

func TestHoltWintersEdgeCases(t *testing.T) {
	if err := (&HoltWinters{Period: 24}).Fit(make([]float64, 30)); !errors.Is(err, ErrTooShort) {
		t.Errorf("short: %v", err)
	}
	if err := (&HoltWinters{Period: 1}).Fit(make([]float64, 30)); !errors.Is(err, ErrBadParam) {
		t.Errorf("period 1: %v", err)
	}
	c := make([]float64, 100)
	for i := range c {
		c[i] = 3
	}
	m := &HoltWinters{Period: 10}
	if err := m.Fit(c); err != nil {
		t.Fatal(err)
	}
	f := m.Forecast(15, 0.95)
	for i := range f.Mean {
		if math.Abs(f.Mean[i]-3) > 1e-9 || !isFinite(f.Upper[i]) {
			t.Fatalf("constant series: %+v", f)
		}
	}
}

func TestBaselines(t *testing.T) {
	y := []float64{1, 2, 3, 4, 100, 6, 7}
	med := &RollingMedian{Window: 5}
	_ = med.Fit(y)
	dst := make([]float64, 2)
	med.Point(dst)
	if dst[0] != 6 { // median of 3 4 100 6 7
		t.Errorf("median = %v", dst[0])
	}
	sn := &SeasonalNaive{Period: 3}
	_ = sn.Fit(y)
	dst = make([]float64, 4)
	sn.Point(dst)
	if want := []float64{100, 6, 7, 100}; dst[0] != want[0] || dst[1] != want[1] || dst[2] != want[2] || dst[3] != want[3] {
		t.Errorf("seasonal naive = %v, want %v", dst, want)
	}
	mean := &RollingMean{Window: 2}
	_ = mean.Fit(y)
	mean.Point(dst[:1])
	if dst[0] != 6.5 {
		t.Errorf("mean = %v", dst[0])
	}
}

func TestAutoPicksSensibly(t *testing.T) {
	// Seasonal series: auto should find the season and beat naive clearly.
	y := seasonal(2000, 48, 10, 0, 5, 0.5, 21)
	a := &Auto{}
	if err := a.Fit(y); err != nil {
		t.Fatal(err)
	}
	if a.DetectedPeriod() != 48 {
		t.Errorf("period %d", a.DetectedPeriod())
	}
	res, err := Evaluate(y, []Spec{{Model: "auto"}, {Model: "naive"}}, EvalOptions{Horizon: 12, MaxOrigins: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !(res[0].MASE < 0.7*res[1].MASE) {
		t.Errorf("seasonal: auto MASE %v vs naive %v", res[0].MASE, res[1].MASE)
	}
	// Noisy level (CPU-like): a robust level beats naive.
	noisy := noisyLine(2000, 40, 0, 5, 22)
	res, _ = Evaluate(noisy, []Spec{{Model: "auto"}, {Model: "naive"}}, EvalOptions{Horizon: 12, MaxOrigins: 20})
	if !(res[0].MASE < 0.8*res[1].MASE) {
		t.Errorf("noisy: auto %v naive %v", res[0].MASE, res[1].MASE)
	}
	// A random walk: naive is optimal and auto must not be much worse.
	r := rand.New(rand.NewPCG(3, 3))
	walk := make([]float64, 2000)
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + r.NormFloat64()
	}
	res, _ = Evaluate(walk, []Spec{{Model: "auto"}, {Model: "naive"}}, EvalOptions{Horizon: 12, MaxOrigins: 20})
	if !(res[0].MASE < 1.05*res[1].MASE) {
		t.Errorf("random walk: auto %v naive %v", res[0].MASE, res[1].MASE)
	}
	// Tiny and constant series do not fail.
	for _, y := range [][]float64{{5}, {1, 2, 3}, {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4}} {
		a := &Auto{}
		if err := a.Fit(y); err != nil {
			t.Errorf("%v: %v", y, err)
		}
		f := a.Forecast(3, 0.9)
		for _, v := range f.Mean {
			if !isFinite(v) {
				t.Errorf("%v: forecast %v", y, f.Mean)
			}
		}
	}
}

func TestEvaluateMASEScale(t *testing.T) {
	// y alternates 0, 1: in-sample naive error is 1 per step; the mean (0.5)
	// misses by 0.5 each step → MASE 0.5; sMAPE of 0.5 against 0 and 1 is
	// (200 + 66.67)/2 (horizon 1, so the 20 origins split evenly).
	y := make([]float64, 100)
	for i := range y {
		y[i] = float64(i % 2)
	}
	res, err := Evaluate(y, []Spec{{Model: "mean", Window: 2}, {Model: "naive"}}, EvalOptions{Horizon: 1, MaxOrigins: -1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res[0].MASE-0.5) > 1e-9 {
		t.Errorf("mean MASE %v, want 0.5", res[0].MASE)
	}
	if want := (200 + 200.0/3) / 2; math.Abs(res[0].SMAPE-want) > 1e-9 {
		t.Errorf("sMAPE %v, want %v", res[0].SMAPE, want)
	}
	if res[0].Origins != 20 {
		t.Errorf("origins %d, want 20", res[0].Origins)
	}
	if _, err := Evaluate([]float64{1, 2, 3}, []Spec{{Model: "naive"}}, EvalOptions{}); !errors.Is(err, ErrTooShort) {
		t.Errorf("short: %v", err)
	}
	if _, err := NewModel(Spec{Model: "prophet"}); err == nil {
		t.Error("unknown model accepted")
	}
}

func BenchmarkHoltWintersFit4000(b *testing.B) {
	y := seasonal(4000, 288, 50, 0.001, 10, 2, 1)
	b.ReportAllocs()
	for b.Loop() {
		m := &HoltWinters{Period: 288}
		if err := m.Fit(y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHoltWintersUpdate(b *testing.B) {
	m := &HoltWinters{Period: 288}
	_ = m.Fit(seasonal(4000, 288, 50, 0.001, 10, 2, 1))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Update(50 + float64(i%10))
	}
}

func BenchmarkRollingMedianUpdate(b *testing.B) {
	m := &RollingMedian{Window: 33}
	_ = m.Fit(noisyLine(100, 1, 0, 1, 1))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Update(float64(i % 17))
	}
}

func TestAdaptiveMedianFollowsLevelShift(t *testing.T) {
	y := noisyLine(300, 0, 0, 1, 31)
	for i := 200; i < len(y); i++ {
		y[i] += 20
	}
	plain, adaptive := &RollingMedian{Window: 33}, &RollingMedian{Window: 33, Adaptive: true}
	_ = plain.Fit(y[:206])
	_ = adaptive.Fit(y[:206])
	p, a := make([]float64, 1), make([]float64, 1)
	plain.Point(p)
	adaptive.Point(a)
	if !(a[0] > 15 && p[0] < 5) {
		t.Errorf("6 ticks after a +20 shift: adaptive %v, plain %v", a[0], p[0])
	}
	// On plain noise the adaptive median stays the plain one.
	y = noisyLine(500, 3, 0, 1, 32)
	_ = plain.Fit(y)
	_ = adaptive.Fit(y)
	plain.Point(p)
	adaptive.Point(a)
	if p[0] != a[0] {
		t.Errorf("noise: adaptive %v plain %v", a[0], p[0])
	}
}
