package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestUSLRecovery(t *testing.T) {
	truth := USL{Lambda: 1000, Sigma: 0.05, Kappa: 0.0002}
	r := rand.New(rand.NewPCG(6, 6))
	var n, x []float64
	for _, c := range []float64{1, 2, 4, 8, 16, 32, 48, 64, 96, 128} {
		n = append(n, c)
		x = append(x, truth.Throughput(c)*(1+0.01*r.NormFloat64()))
	}
	u, err := FitUSL(n, x)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(u.Lambda-1000)/1000 > 0.03 || math.Abs(u.Sigma-0.05) > 0.01 || math.Abs(u.Kappa-0.0002)/0.0002 > 0.15 {
		t.Errorf("fit %+v, want λ=1000 σ=0.05 κ=0.0002", u)
	}
	pn, px, ok := u.Peak()
	wn, wx, _ := truth.Peak() // √(0.95/0.0002) ≈ 68.9
	if !ok || math.Abs(pn-wn)/wn > 0.1 || math.Abs(px-wx)/wx > 0.03 {
		t.Errorf("peak N*=%v X=%v, want %v %v", pn, px, wn, wx)
	}
	// Linear scaling: κ = σ = 0, no peak.
	lin := USL{Lambda: 10}
	u, err = FitUSL([]float64{1, 2, 3, 4, 5}, []float64{lin.Throughput(1), lin.Throughput(2), lin.Throughput(3), lin.Throughput(4), lin.Throughput(5)})
	if err != nil || u.Sigma > 1e-3 || u.Kappa > 1e-5 {
		t.Errorf("linear: %+v %v", u, err)
	}
	if _, _, ok := u.Peak(); ok && u.Kappa == 0 {
		t.Error("peak reported with κ = 0")
	}
	if _, err := FitUSL([]float64{1, 2, 2}, []float64{1, 2, 2}); err == nil {
		t.Error("too few points accepted")
	}
}

func TestMMc(t *testing.T) {
	// M/M/1 at ρ = 0.8: T = 1/(μ−λ) = 5 service times.
	q := MMc{C: 1, Mu: 100}
	if got := q.MeanResponse(80); math.Abs(got-0.05) > 1e-12 {
		t.Errorf("M/M/1 mean response %v, want 0.05", got)
	}
	if got := q.WaitProbability(80); math.Abs(got-0.8) > 1e-12 {
		t.Errorf("M/M/1 P_wait %v, want ρ", got)
	}
	// Erlang C for c = 2, a = 1 (ρ = 0.5) is 1/3.
	q2 := MMc{C: 2, Mu: 1}
	if got := q2.WaitProbability(1); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("Erlang C(2, 1) = %v, want 1/3", got)
	}
	if !math.IsInf(q.MeanResponse(100), 1) || q.WaitProbability(150) != 1 {
		t.Error("saturation not infinite")
	}
	// The p99 turns up sharply near saturation, and MaxRate inverts it.
	q8 := MMc{C: 8, Mu: 50} // 400/s capacity, 20 ms service
	lo, hi := q8.ResponseQuantile(200, 0.99), q8.ResponseQuantile(380, 0.99)
	if !(hi > 4*lo) {
		t.Errorf("p99 at 50%% %v, at 95%% %v", lo, hi)
	}
	r := q8.MaxRate(0.1, 0.99)
	if math.Abs(q8.ResponseQuantile(r, 0.99)-0.1) > 1e-6 || r <= 200 || r >= 400 {
		t.Errorf("MaxRate(100ms p99) = %v (p99 there %v)", r, q8.ResponseQuantile(r, 0.99))
	}
	if (MMc{}).MaxRate(1, 0.99) != 0 || !math.IsNaN((MMc{}).MeanResponse(1)) {
		t.Error("invalid queue not rejected")
	}
}
