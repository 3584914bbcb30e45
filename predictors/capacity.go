package predictors

import (
	"fmt"
	"math"
)

// USL is the Universal Scalability Law (Gunther):
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// throughput X at concurrency N; σ is contention, κ coherency (crosstalk).
type USL struct {
	Lambda float64 `json:"lambda"` // throughput of one unit of concurrency
	Sigma  float64 `json:"sigma"`
	Kappa  float64 `json:"kappa"`
	RMSE   float64 `json:"rmse"` // fit residual, in throughput units
}

// FitUSL fits the law to (concurrency, throughput) measurements by least
// squares with σ, κ ≥ 0: λ is solved exactly for each (σ, κ), and (σ, κ)
// are searched by Nelder–Mead from the quadratic-transform estimate
// (C = X/X(1), y = N/C − 1 = κ(N−1)² + (σ+κ)(N−1)). It needs at least four
// measurements at three or more different concurrencies.
func FitUSL(n, x []float64) (USL, error) {
	if len(n) != len(x) {
		return USL{}, badParam("usl: %d concurrencies, %d throughputs", len(n), len(x))
	}
	var ns, xs []float64
	distinct := map[float64]bool{}
	for i := range n {
		if isFinite(n[i]) && isFinite(x[i]) && n[i] > 0 && x[i] >= 0 {
			ns, xs = append(ns, n[i]), append(xs, x[i])
			distinct[n[i]] = true
		}
	}
	if len(ns) < 4 || len(distinct) < 3 {
		return USL{}, fmt.Errorf("%w: usl needs at least 4 measurements at 3 or more concurrencies, got %d at %d", ErrTooShort, len(ns), len(distinct))
	}
	// X(1) estimate: the per-unit throughput at the smallest concurrency.
	minI := 0
	for i := range ns {
		if ns[i] < ns[minI] {
			minI = i
		}
	}
	x1 := xs[minI] / ns[minI]
	s0, k0 := 0.01, 0.0001
	if x1 > 0 {
		var sxx, sxy, sx3, sx4, sx2y float64
		for i := range ns {
			c := xs[i] / x1
			if c <= 0 {
				continue
			}
			t := ns[i] - 1
			y := ns[i]/c - 1
			sxx += t * t
			sx3 += t * t * t
			sx4 += t * t * t * t
			sxy += t * y
			sx2y += t * t * y
		}
		// y = a·t² + b·t, normal equations.
		if det := sx4*sxx - sx3*sx3; det != 0 {
			a := (sx2y*sxx - sx3*sxy) / det
			b := (sx4*sxy - sx3*sx2y) / det
			k0 = math.Max(a, 0)
			s0 = clamp(b-a, 0, 1)
		}
	}
	// Search in scaled coordinates so both parameters move on a unit scale.
	ks := math.Max(k0, 1e-6) * 10
	g := make([]float64, len(ns))
	fit := func(sigma, kappa float64) (lambda, sse float64) {
		var sgx, sgg float64
		for i, nn := range ns {
			g[i] = nn / (1 + sigma*(nn-1) + kappa*nn*(nn-1))
			sgx += g[i] * xs[i]
			sgg += g[i] * g[i]
		}
		if sgg == 0 {
			return 0, math.Inf(1)
		}
		lambda = sgx / sgg
		for i := range ns {
			e := xs[i] - lambda*g[i]
			sse += e * e
		}
		return lambda, sse
	}
	obj := func(p []float64) float64 {
		_, sse := fit(p[0], p[1]*ks)
		return sse
	}
	p := nelderMead(obj, []float64{s0, k0 / ks}, []float64{0.05, 0.05}, 0, 1e6, 600)
	u := USL{Sigma: p[0], Kappa: p[1] * ks}
	var sse float64
	u.Lambda, sse = fit(u.Sigma, u.Kappa)
	u.RMSE = math.Sqrt(sse / float64(len(ns)))
	return u, nil
}

// Throughput is X(N).
func (u USL) Throughput(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Peak returns the concurrency of maximum throughput N* = √((1−σ)/κ) and
// that throughput. With κ = 0 throughput never peaks: ok is false and the
// asymptote λ/σ (or +Inf) is returned as the maximum.
func (u USL) Peak() (n, x float64, ok bool) {
	if u.Kappa <= 0 {
		if u.Sigma > 0 {
			return math.Inf(1), u.Lambda / u.Sigma, false
		}
		return math.Inf(1), math.Inf(1), false
	}
	n = math.Sqrt(math.Max(1-u.Sigma, 0) / u.Kappa)
	n = math.Max(n, 1)
	return n, u.Throughput(n), true
}

// MMc is an M/M/c queue: Poisson arrivals, C servers, exponential service
// at rate Mu per server. It answers "where does latency turn up?": the
// mean and the quantiles of response time against arrival rate.
type MMc struct {
	C  int     // servers (workers, cores)
	Mu float64 // service rate of one server, per second (1 / service time)
}

func (q MMc) valid() error {
	if q.C < 1 || !(q.Mu > 0) || !isFinite(q.Mu) {
		return badParam("m/m/c needs c ≥ 1 and μ > 0 (got c=%d μ=%v)", q.C, q.Mu)
	}
	return nil
}

// Utilization is ρ = λ/(cμ).
func (q MMc) Utilization(lambda float64) float64 { return lambda / (float64(q.C) * q.Mu) }

// WaitProbability is Erlang C: the probability an arrival has to queue.
// 1 at or beyond saturation.
func (q MMc) WaitProbability(lambda float64) float64 {
	if q.valid() != nil || lambda <= 0 {
		return 0
	}
	rho := q.Utilization(lambda)
	if rho >= 1 {
		return 1
	}
	a := lambda / q.Mu
	// Erlang B by the stable recursion, then C from B.
	b := 1.0
	for k := 1; k <= q.C; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b / (1 - rho*(1-b))
}

// MeanResponse is E[T] = P_wait/(cμ − λ) + 1/μ, in seconds; +Inf at or
// beyond saturation.
func (q MMc) MeanResponse(lambda float64) float64 {
	if q.valid() != nil {
		return math.NaN()
	}
	if q.Utilization(lambda) >= 1 {
		return math.Inf(1)
	}
	return q.WaitProbability(lambda)/(float64(q.C)*q.Mu-math.Max(lambda, 0)) + 1/q.Mu
}

// WaitQuantile is the p-quantile (0 < p < 1) of the time spent queueing:
// P(W > t) = P_wait·e^{−(cμ−λ)t}.
func (q MMc) WaitQuantile(lambda, p float64) float64 {
	if q.valid() != nil || !(p > 0 && p < 1) {
		return math.NaN()
	}
	if q.Utilization(lambda) >= 1 {
		return math.Inf(1)
	}
	pw := q.WaitProbability(lambda)
	if pw <= 1-p {
		return 0
	}
	return math.Log(pw/(1-p)) / (float64(q.C)*q.Mu - math.Max(lambda, 0))
}

// ResponseQuantile approximates the p-quantile of response time as the
// wait quantile plus the mean service time (exact for the mean; a close,
// slightly low estimate for tail quantiles at low load).
func (q MMc) ResponseQuantile(lambda, p float64) float64 {
	return q.WaitQuantile(lambda, p) + 1/q.Mu
}

// MaxRate returns the largest arrival rate whose p-quantile response time
// stays at or under target seconds (0 if even an idle system misses it).
func (q MMc) MaxRate(target, p float64) float64 {
	if q.valid() != nil || !(target > 0) {
		return 0
	}
	hi := float64(q.C) * q.Mu
	if q.ResponseQuantile(0, p) > target {
		return 0
	}
	lo := 0.0
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if q.ResponseQuantile(mid, p) <= target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
