package predictors

import (
	"fmt"
	"math"
)

// HoltWinters is triple exponential smoothing with a season of Period
// steps, additive or multiplicative (R's stats::HoltWinters):
//
//	additive:        a ← α(y − s) + (1−α)(a + b);  s ← γ(y − a) + (1−γ)s
//	multiplicative:  a ← α(y / s) + (1−α)(a + b);  s ← γ(y / a) + (1−γ)s
//	                 b ← β(a − a₋₁) + (1−β)b
//	ŷ(t+h) = a + h·b (+ or ×) s(t − p + 1 + (h−1) mod p)
//
// Alpha, Beta, Gamma 0 mean "fit": Nelder–Mead on the one-step squared
// error from α=0.3, β=0.1, γ=0.1. NoTrend fixes β = 0 and b = 0 (seasonal
// level only), which is the safer choice on series without a real trend.
// Initial states come from the first two seasons (level = mean of the
// first season, trend = difference of the first two seasons' means / p,
// seasonal indices = the average deviation from each season's mean).
// Multiplicative needs a strictly positive series.
type HoltWinters struct {
	Period         int
	Alpha          float64
	Beta           float64
	Gamma          float64
	Multiplicative bool
	NoTrend        bool

	alpha, beta, gamma float64
	level, trend       float64
	season             []float64
	t                  int // index of the next observation within the season
	res                resid
}

// Name implements Model.
func (m *HoltWinters) Name() string {
	if m.Multiplicative {
		return "holt_winters_mul"
	}
	return "holt_winters"
}

// Fit implements Model.
func (m *HoltWinters) Fit(y []float64) error {
	for _, p := range []float64{m.Alpha, m.Beta, m.Gamma} {
		if p < 0 || p > 1 {
			return badParam("holt-winters alpha/beta/gamma %v outside [0, 1]", p)
		}
	}
	if m.Period < 2 {
		return badParam("holt-winters period %d < 2", m.Period)
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	if len(y) < 2*m.Period+2 {
		return fmt.Errorf("%w: holt-winters with period %d needs %d points, got %d", ErrTooShort, m.Period, 2*m.Period+2, len(y))
	}
	if m.Multiplicative {
		for _, v := range y {
			if v <= 0 {
				return badParam("multiplicative holt-winters needs a positive series (found %v)", v)
			}
		}
	}
	if cap(m.season) < m.Period {
		m.season = make([]float64, m.Period)
	}
	m.season = m.season[:m.Period]
	free := []int{}
	x0, step := []float64{}, []float64{}
	for i, p := range []float64{m.Alpha, m.Beta, m.Gamma} {
		if p == 0 && !(i == 1 && m.NoTrend) {
			free = append(free, i)
			x0 = append(x0, []float64{0.3, 0.1, 0.1}[i])
			step = append(step, 0.1)
		}
	}
	m.alpha, m.beta, m.gamma = m.Alpha, m.Beta, m.Gamma
	if m.NoTrend {
		m.beta = 0
	}
	if len(free) > 0 {
		// The state lives in m while the objective runs (no per-call
		// allocation); the best parameters are replayed below.
		obj := func(x []float64) float64 {
			for j, i := range free {
				switch i {
				case 0:
					m.alpha = x[j]
				case 1:
					m.beta = x[j]
				case 2:
					m.gamma = x[j]
				}
			}
			return m.run(y)
		}
		x := nelderMead(obj, x0, step, 0.0001, 1, 300)
		obj(x)
	}
	m.run(y)
	return nil
}

// initial computes the starting level/trend and fills m.season.
func (m *HoltWinters) initial(y []float64) (l0, b0 float64) {
	p := m.Period
	mean := func(s []float64) float64 {
		t := 0.0
		for _, v := range s {
			t += v
		}
		return t / float64(len(s))
	}
	m1, m2 := mean(y[:p]), mean(y[p:2*p])
	if !m.NoTrend {
		b0 = (m2 - m1) / float64(p)
	}
	for i := 0; i < p; i++ {
		// Deviations from each season's mean, detrended within the season.
		d1 := y[i] - (m1 + (float64(i)-float64(p-1)/2)*b0)
		d2 := y[p+i] - (m2 + (float64(i)-float64(p-1)/2)*b0)
		if m.Multiplicative {
			d1 = y[i] / (m1 + (float64(i)-float64(p-1)/2)*b0)
			d2 = y[p+i] / (m2 + (float64(i)-float64(p-1)/2)*b0)
		}
		m.season[i] = (d1 + d2) / 2
	}
	// The level just before y[0].
	l0 = m1 - b0*(float64(p-1)/2+1)
	return l0, b0
}

// run replays the recursion over y from the initial state with the current
// parameters, leaving the final state in m, and returns the one-step SSE
// from the second season on (the first is used by the initial values).
func (m *HoltWinters) run(y []float64) float64 {
	p := m.Period
	m.t, m.res = 0, resid{}
	m.level, m.trend = m.initial(y)
	sse := 0.0
	for i, v := range y {
		e := m.step(v)
		if i >= p {
			sse += e * e
			m.res.add(e)
		}
	}
	return sse
}

// step applies one observation and returns the one-step error.
func (m *HoltWinters) step(y float64) float64 {
	s := m.season[m.t]
	f := m.level + m.trend
	var e float64
	if m.Multiplicative {
		e = y - f*s
		nl := m.alpha*(y/s) + (1-m.alpha)*f
		if nl <= 0 || !isFinite(nl) {
			nl = math.Max(f, 1e-12)
		}
		m.trend = m.beta*(nl-m.level) + (1-m.beta)*m.trend
		m.level = nl
		m.season[m.t] = m.gamma*(y/nl) + (1-m.gamma)*s
	} else {
		e = y - (f + s)
		nl := m.alpha*(y-s) + (1-m.alpha)*f
		m.trend = m.beta*(nl-m.level) + (1-m.beta)*m.trend
		m.level = nl
		m.season[m.t] = m.gamma*(y-nl) + (1-m.gamma)*s
	}
	if m.t++; m.t == len(m.season) {
		m.t = 0
	}
	return e
}

// Update implements Model. Before Fit it is a no-op (the seasonal state
// needs two seasons to start).
func (m *HoltWinters) Update(y float64) {
	if !isFinite(y) || len(m.season) == 0 {
		return
	}
	if m.Multiplicative && y <= 0 {
		return
	}
	m.res.add(m.step(y))
}

// Point implements Model.
func (m *HoltWinters) Point(dst []float64) {
	p := len(m.season)
	for i := range dst {
		base := m.level + float64(i+1)*m.trend
		if p == 0 {
			dst[i] = base
			continue
		}
		s := m.season[(m.t+i)%p]
		if m.Multiplicative {
			dst[i] = base * s
		} else {
			dst[i] = base + s
		}
	}
}

// Forecast implements Model. Variance σ²(1 + Σⱼ<h (α(1 + jβ) + γ(1−α)·[j mod p = 0])²)
// (Hyndman et al., additive case; used as an approximation for the
// multiplicative one).
func (m *HoltWinters) Forecast(h int, level float64) Forecast {
	a, b, g, p := m.alpha, m.beta, m.gamma, len(m.season)
	return buildForecast(m, h, level, m.res.sigma(), func(h int) float64 {
		v := 1.0
		for j := 1; j < h; j++ {
			c := a * (1 + float64(j)*b)
			if p > 0 && j%p == 0 {
				c += g * (1 - a)
			}
			v += c * c
		}
		return v
	})
}

// Params returns the α, β, γ in use.
func (m *HoltWinters) Params() (alpha, beta, gamma float64) { return m.alpha, m.beta, m.gamma }

// State returns the level, trend and a copy of the seasonal indices,
// aligned so that the first index applies to the next observation.
func (m *HoltWinters) State() (level, trend float64, season []float64) {
	p := len(m.season)
	season = make([]float64, p)
	for i := range season {
		season[i] = m.season[(m.t+i)%p]
	}
	return m.level, m.trend, season
}
