package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// families are synthetic series unlike the NAB files auto was checked on:
// auto must never be much worse than naive on any of them.
func families() map[string][]float64 {
	const n = 1500
	r := rand.New(rand.NewPCG(42, 42))
	gen := func(f func(i int, prev float64) float64) []float64 {
		y := make([]float64, n)
		prev := 0.0
		for i := range y {
			y[i] = f(i, prev)
			prev = y[i]
		}
		return y
	}
	return map[string][]float64{
		"random_walk":     gen(func(i int, p float64) float64 { return p + r.NormFloat64() }),
		"walk_with_drift": gen(func(i int, p float64) float64 { return p + 0.3 + r.NormFloat64() }),
		"ar1_0.9":         gen(func(i int, p float64) float64 { return 0.9*p + r.NormFloat64() }),
		"ar1_0.3":         gen(func(i int, p float64) float64 { return 0.3*p + r.NormFloat64() }),
		"season_noise":    gen(func(i int, p float64) float64 { return 10*math.Sin(2*math.Pi*float64(i)/50) + 3*r.NormFloat64() }),
		"season_trend": gen(func(i int, p float64) float64 {
			return 0.05*float64(i) + 5*math.Sin(2*math.Pi*float64(i)/24) + r.NormFloat64()
		}),
		"level_shifts":      gen(func(i int, p float64) float64 { return float64(i/300)*10 + r.NormFloat64() }),
		"heavy_tail":        gen(func(i int, p float64) float64 { return 20 + math.Abs(r.NormFloat64()) + 10*math.Pow(r.Float64(), 20) }),
		"counts":            gen(func(i int, p float64) float64 { return math.Floor(5 + 3*r.ExpFloat64()) }),
		"long_cycle":        gen(func(i int, p float64) float64 { return 50*math.Sin(2*math.Pi*float64(i)/900) + 0.5*r.NormFloat64() }),
		"smooth_plus_noise": gen(func(i int, p float64) float64 { return 0.95*p + 0.5*r.NormFloat64() + 0.2 }),
	}
}

func TestAutoNeverMuchWorseThanNaive(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates auto on eleven synthetic families (a few seconds)")
	}
	logSum, k := 0.0, 0
	for name, y := range families() {
		res, err := Evaluate(y, []Spec{{Model: "auto"}, {Model: "naive"}}, EvalOptions{Horizon: 12, MaxOrigins: 25})
		if err != nil {
			t.Fatal(name, err)
		}
		ratio := res[0].MASE / res[1].MASE
		logSum += math.Log(ratio)
		k++
		t.Logf("%-18s auto %.3f naive %.3f ratio %.3f", name, res[0].MASE, res[1].MASE, ratio)
		if ratio > 1.05 {
			t.Errorf("%s: auto is %.3f× naive", name, ratio)
		}
	}
	t.Logf("geometric mean ratio %.3f", math.Exp(logSum/float64(k)))
}
