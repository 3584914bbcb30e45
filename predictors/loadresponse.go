package predictors

import "math"

// LoadResponse is the online load-response model of one metric: metric ≈
// a + b·rate (+ c·rate² (+ d·rate³)), fitted by recursive least squares with a
// forgetting factor λ so that it follows drift (caches warming, GC, a
// deploy). It keeps exponentially weighted sufficient statistics, which is
// exactly RLS with forgetting and gives prediction intervals for free:
//
//	S ← λS + φφᵀ,  g ← λg + φ·y,  θ = S⁻¹g,  se(r)² = σ²(1 + φᵀS⁻¹φ)
//
// Feed it lag-aligned pairs (the rate that produced this metric sample; see
// Lagged and EstimateLag). Samples at or above Saturation are ignored: a
// pinned CPU says nothing about the next rate.
//
// It also forecasts the drift of its own one-step residuals with a damped
// Holt model, so a slowly rising intercept (memory growth) shows up in the
// envelope before it breaches.
//
// Update and Predict do not allocate. A model is not safe for concurrent
// use.
type LoadResponse struct {
	k          int
	forget     float64
	saturation float64
	scale      float64 // rates are divided by scale (the first positive rate) for conditioning

	s      [4][4]float64
	g      [4]float64
	yy     float64
	n      float64 // effective (discounted) sample count
	seen   int
	maxR   float64
	dirty  bool
	theta  [4]float64
	inv    [4][4]float64
	sigma  float64
	solved bool

	drift Holt
}

// LoadResponseConfig configures a LoadResponse; zero values take defaults.
type LoadResponseConfig struct {
	Degree     int     // polynomial degree 1..3; 0 means 2 if Quadratic, else 1
	Quadratic  bool    // add the c·rate² term (a curve that bends up near saturation)
	Forget     float64 // λ per sample, in (0, 1]; default 0.99 (a memory of ~100 samples)
	Saturation float64 // ignore samples with metric ≥ Saturation; 0 means no cut-off
}

// NewLoadResponse returns an empty model.
func NewLoadResponse(c LoadResponseConfig) (*LoadResponse, error) {
	if c.Forget == 0 {
		c.Forget = 0.99
	}
	if !(c.Forget > 0 && c.Forget <= 1) {
		return nil, badParam("forget %v outside (0, 1]", c.Forget)
	}
	deg := c.Degree
	if deg == 0 {
		deg = 1
		if c.Quadratic {
			deg = 2
		}
	}
	if deg < 1 || deg > 3 {
		return nil, badParam("load-response degree %d outside 1..3", c.Degree)
	}
	k := deg + 1
	m := &LoadResponse{k: k, forget: c.Forget, saturation: c.Saturation}
	m.drift = Holt{Alpha: 0.1, Beta: 0.05, Damped: true, Phi: 0.95}
	_ = m.drift.params()
	return m, nil
}

// Update folds in one lag-aligned (rate, metric) pair.
func (m *LoadResponse) Update(rate, metric float64) {
	if !isFinite(rate) || !isFinite(metric) || rate < 0 {
		return
	}
	if m.saturation > 0 && metric >= m.saturation {
		return
	}
	if m.scale == 0 && rate > 0 {
		// Idle samples (rate 0) have features [1 0 0] under any scale, so
		// fixing the scale at the first positive rate is consistent.
		m.scale = rate
	}
	if m.solved && m.n >= float64(m.k)+2 {
		// The a-priori residual: coefficients from before this sample.
		m.drift.Update(metric - dot(m.theta, features(rate/m.sc(), m.k), m.k))
	}
	phi := features(rate/m.sc(), m.k)
	l := m.forget
	for r := 0; r < m.k; r++ {
		for c := 0; c < m.k; c++ {
			m.s[r][c] = l*m.s[r][c] + phi[r]*phi[c]
		}
		m.g[r] = l*m.g[r] + phi[r]*metric
	}
	m.yy = l*m.yy + metric*metric
	m.n = l*m.n + 1
	m.seen++
	m.maxR = math.Max(m.maxR, rate)
	m.dirty = true
	// Solve now: the next sample's a-priori residual (for the drift
	// forecast) needs current coefficients. A 2×2–4×4 solve is cheap.
	m.solve()
}

func (m *LoadResponse) sc() float64 {
	if m.scale == 0 {
		return 1
	}
	return m.scale
}

// solve refreshes θ, S⁻¹ and σ. A tiny ridge keeps S invertible while
// the rates seen are still all alike (the intercept is then all we know).
func (m *LoadResponse) solve() {
	if !m.dirty {
		return
	}
	m.dirty = false
	s := m.s
	ridge := 1e-9 * (s[0][0] + 1)
	for i := 0; i < m.k; i++ {
		s[i][i] += ridge
	}
	inv, ok := invert(s, m.k)
	if !ok {
		m.solved = false
		return
	}
	var th [4]float64
	for r := 0; r < m.k; r++ {
		for c := 0; c < m.k; c++ {
			th[r] += inv[r][c] * m.g[c]
		}
	}
	// RSS = yy − 2θᵀg + θᵀSθ (weighted), clamped: cancellation can make it
	// slightly negative on an exact fit.
	rss := m.yy - 2*dot(th, m.g, m.k) + quad(m.s, th, m.k)
	if rss < 0 {
		rss = 0
	}
	dof := m.n - float64(m.k)
	m.theta, m.inv, m.solved = th, inv, true
	if dof > 0.5 {
		m.sigma = math.Sqrt(rss / dof)
	} else {
		m.sigma = math.Inf(1)
	}
}

// Ready reports whether the model has enough (effective) samples for its
// intervals to mean something: more than the number of coefficients + 2.
func (m *LoadResponse) Ready() bool {
	m.solve()
	return m.solved && m.n >= float64(m.k)+2 && m.spread()
}

// spread is false until two clearly different rates were seen: with one
// rate the slope is unknown and extrapolation would be a guess.
func (m *LoadResponse) spread() bool {
	// Var of x under the weights: S11/n − (S01/n)².
	if m.n <= 0 {
		return false
	}
	mx := m.s[0][1] / m.n
	v := m.s[1][1]/m.n - mx*mx
	return v > 1e-6*(mx*mx+1e-12)
}

// Predict returns the expected metric at the given offered rate and the
// standard error of a new observation there. Before the model is Ready the
// standard error is +Inf.
func (m *LoadResponse) Predict(rate float64) (mean, se float64) {
	m.solve()
	if !m.solved {
		return math.NaN(), math.Inf(1)
	}
	phi := features(rate/m.sc(), m.k)
	mean = dot(m.theta, phi, m.k)
	if m.n < float64(m.k)+2 || !m.spread() {
		return mean, math.Inf(1)
	}
	return mean, m.sigma * math.Sqrt(1+quad(m.inv, phi, m.k))
}

// lrEval is a snapshot of a solved model for many evaluations in a row
// (the envelope's inversion): no method calls, no readiness checks.
type lrEval struct {
	theta [4]float64
	inv   [4][4]float64
	sigma float64
	inv1  float64 // 1/scale
	k     int
	ready bool
	ok    bool
}

func (m *LoadResponse) eval() lrEval {
	m.solve()
	e := lrEval{theta: m.theta, inv: m.inv, sigma: m.sigma, inv1: 1 / m.sc(), k: m.k, ok: m.solved}
	e.ready = m.solved && m.n >= float64(m.k)+2 && m.spread()
	return e
}

// at is Predict on the snapshot.
func (e *lrEval) at(rate float64) (mean, se float64) {
	if !e.ok {
		return math.NaN(), math.Inf(1)
	}
	x := rate * e.inv1
	var phi [4]float64
	phi[0] = 1
	p := 1.0
	for i := 1; i < e.k; i++ {
		p *= x
		phi[i] = p
	}
	q := 0.0
	for r := 0; r < e.k; r++ {
		mean += e.theta[r] * phi[r]
		row := 0.0
		for c := 0; c < e.k; c++ {
			row += e.inv[r][c] * phi[c]
		}
		q += phi[r] * row
	}
	if !e.ready {
		return mean, math.Inf(1)
	}
	return mean, e.sigma * math.Sqrt(1+q)
}

// Coef returns a, b, c of metric ≈ a + b·rate + c·rate² (c = 0 for
// linear; see Coefs for a cubic's d).
func (m *LoadResponse) Coef() (a, b, c float64) {
	cs := m.Coefs()
	return cs[0], cs[1], cs[2]
}

// Coefs returns all coefficients, constant first (unused ones are 0).
func (m *LoadResponse) Coefs() [4]float64 {
	m.solve()
	var out [4]float64
	p := 1.0
	for i := 0; i < m.k; i++ {
		out[i] = m.theta[i] / p
		p *= m.sc()
	}
	return out
}

// Sigma is the residual standard deviation; Samples the number of pairs
// used; MaxRate the highest rate seen.
func (m *LoadResponse) Sigma() float64   { m.solve(); return m.sigma }
func (m *LoadResponse) Samples() int     { return m.seen }
func (m *LoadResponse) MaxRate() float64 { return m.maxR }

// Drift forecasts the model's residual steps ahead (in samples): a positive
// value means the metric is creeping above what the rate explains. It
// returns the worst (largest) expected drift over 1..steps and its standard
// error at the far end. Zero until enough residuals were seen.
func (m *LoadResponse) Drift(steps int) (worst, se float64) {
	if m.drift.n < 10 || steps < 1 {
		return 0, 0
	}
	l, t := m.drift.State()
	d1 := l + m.drift.phi*t
	damp, p := 0.0, 1.0
	for i := 0; i < steps; i++ {
		p *= m.drift.phi
		damp += p
	}
	dh := l + damp*t
	worst = math.Max(d1, dh)
	// Only the trend is extrapolated: the level's noise is already in σ.
	return worst, m.drift.res.sigma() * m.drift.alpha * math.Sqrt(float64(steps))
}

// Lagged pairs each metric sample with the offered rate of Lag ticks
// earlier: push the rate sent this tick, then read At() when the metric
// arrives. Zero allocations after construction.
type Lagged struct {
	buf  []float64
	head int
	n    int
}

// NewLagged returns a buffer for a lag of lag ticks (≥ 0).
func NewLagged(lag int) *Lagged {
	if lag < 0 {
		lag = 0
	}
	return &Lagged{buf: make([]float64, lag+1)}
}

// Push records this tick's offered rate.
func (l *Lagged) Push(rate float64) {
	l.head = (l.head + 1) % len(l.buf)
	l.buf[l.head] = rate
	if l.n < len(l.buf) {
		l.n++
	}
}

// At returns the rate pushed Lag ticks ago; ok is false until that many
// ticks have passed.
func (l *Lagged) At() (rate float64, ok bool) {
	if l.n < len(l.buf) {
		return 0, false
	}
	return l.buf[(l.head+1)%len(l.buf)], true
}

// EstimateLag finds the delay (in samples, 0..maxLag) between an offered
// rate series and a metric series that maximises the correlation of their
// first differences (differences, so that two trending series do not
// correlate at every lag). It returns the lag and that correlation; lag 0
// with corr 0 when the series are too short or flat.
func EstimateLag(rate, metric []float64, maxLag int) (lag int, corr float64) {
	n := min(len(rate), len(metric))
	if n < 4 || maxLag < 0 {
		return 0, 0
	}
	dr := make([]float64, n-1)
	dm := make([]float64, n-1)
	for i := 1; i < n; i++ {
		dr[i-1] = rate[i] - rate[i-1]
		dm[i-1] = metric[i] - metric[i-1]
	}
	best, bestLag := 0.0, 0
	for d := 0; d <= maxLag && d < len(dr)-2; d++ {
		// metric at i responds to rate at i−d.
		c := pearson(dr[:len(dr)-d], dm[d:])
		if c > best {
			best, bestLag = c, d
		}
	}
	return bestLag, best
}

func pearson(a, b []float64) float64 {
	n := 0.0
	var sa, sb, saa, sbb, sab float64
	for i := range a {
		x, y := a[i], b[i]
		if !isFinite(x) || !isFinite(y) {
			continue
		}
		n++
		sa += x
		sb += y
		saa += x * x
		sbb += y * y
		sab += x * y
	}
	if n < 3 {
		return 0
	}
	cov := sab/n - sa/n*sb/n
	va := saa/n - sa/n*sa/n
	vb := sbb/n - sb/n*sb/n
	if va <= 0 || vb <= 0 {
		return 0
	}
	return cov / math.Sqrt(va*vb)
}
