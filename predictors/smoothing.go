package predictors

import "fmt"

// EWMA is simple exponential smoothing: level ← α·y + (1−α)·level; the
// forecast is flat at the level. Alpha 0 means "fit it" (minimise the
// one-step squared error over the series).
type EWMA struct {
	Alpha float64

	alpha float64
	level float64
	init  bool
	res   resid
}

// Name implements Model.
func (m *EWMA) Name() string { return "ewma" }

// Fit implements Model.
func (m *EWMA) Fit(y []float64) error {
	if m.Alpha < 0 || m.Alpha > 1 {
		return badParam("ewma alpha %v outside (0, 1]", m.Alpha)
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	m.alpha = m.Alpha
	if m.alpha == 0 {
		m.alpha = 0.3
		if len(y) >= 4 {
			m.alpha = golden(func(a float64) float64 { return ewmaSSE(y, a) }, 0.001, 1, 40)
		}
	}
	m.init, m.res = false, resid{}
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

func ewmaSSE(y []float64, a float64) float64 {
	l, s := y[0], 0.0
	for _, v := range y[1:] {
		e := v - l
		s += e * e
		l += a * e
	}
	return s
}

// Update implements Model.
func (m *EWMA) Update(y float64) {
	if !isFinite(y) {
		return
	}
	if m.alpha == 0 {
		m.alpha = m.Alpha
		if m.alpha == 0 {
			m.alpha = 0.3
		}
	}
	if !m.init {
		m.level, m.init = y, true
		return
	}
	e := y - m.level
	m.res.add(e)
	m.level += m.alpha * e
}

// Point implements Model.
func (m *EWMA) Point(dst []float64) {
	for i := range dst {
		dst[i] = m.level
	}
}

// Forecast implements Model. Variance grows as σ²(1 + (h−1)α²).
func (m *EWMA) Forecast(h int, level float64) Forecast {
	a := m.alpha
	return buildForecast(m, h, level, m.res.sigma(), func(h int) float64 { return 1 + float64(h-1)*a*a })
}

// Level is the current smoothed value; FittedAlpha the α in use.
func (m *EWMA) Level() float64       { return m.level }
func (m *EWMA) FittedAlpha() float64 { return m.alpha }

// Holt is linear-trend exponential smoothing (R's HoltWinters with gamma
// off), optionally damped:
//
//	level ← α·y + (1−α)(level + φ·trend)
//	trend ← β(level − level₋₁) + (1−β)·φ·trend
//	ŷ(t+h) = level + (φ + φ² + … + φʰ)·trend
//
// Alpha and Beta 0 mean "fit" (Nelder–Mead on one-step SSE from α=0.3,
// β=0.1). Damped with Phi 0 uses φ = 0.98; undamped φ = 1.
type Holt struct {
	Alpha, Beta float64
	Damped      bool
	Phi         float64

	alpha, beta, phi float64
	level, trend     float64
	n                int
	first            float64
	res              resid
}

// Name implements Model.
func (m *Holt) Name() string {
	if m.Damped {
		return "holt_damped"
	}
	return "holt"
}

func (m *Holt) params() error {
	if m.Alpha < 0 || m.Alpha > 1 || m.Beta < 0 || m.Beta > 1 {
		return badParam("holt alpha %v / beta %v outside [0, 1]", m.Alpha, m.Beta)
	}
	m.phi = 1
	if m.Damped {
		m.phi = m.Phi
		if m.phi == 0 {
			m.phi = 0.98
		}
		if m.phi <= 0 || m.phi > 1 {
			return badParam("holt phi %v outside (0, 1]", m.Phi)
		}
	}
	return nil
}

// Fit implements Model.
func (m *Holt) Fit(y []float64) error {
	if err := m.params(); err != nil {
		return err
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	m.alpha, m.beta = m.Alpha, m.Beta
	if (m.Alpha == 0 || m.Beta == 0) && len(y) >= 5 {
		x0 := []float64{0.3, 0.1}
		fixed := []float64{m.Alpha, m.Beta}
		obj := func(x []float64) float64 {
			a, b := x[0], x[1]
			if fixed[0] != 0 {
				a = fixed[0]
			}
			if fixed[1] != 0 {
				b = fixed[1]
			}
			return holtSSE(y, a, b, m.phi)
		}
		x := nelderMead(obj, x0, []float64{0.2, 0.1}, 0, 1, 200)
		if m.alpha == 0 {
			m.alpha = x[0]
		}
		if m.beta == 0 {
			m.beta = x[1]
		}
	}
	if m.alpha == 0 {
		m.alpha = 0.3
	}
	if m.beta == 0 {
		m.beta = 0.1
	}
	m.reset()
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

func (m *Holt) reset() { m.n, m.res, m.level, m.trend = 0, resid{}, 0, 0 }

func holtSSE(y []float64, a, b, phi float64) float64 {
	if len(y) < 3 {
		return 0
	}
	l, t := y[1], y[1]-y[0]
	s := 0.0
	for _, v := range y[2:] {
		f := l + phi*t
		e := v - f
		s += e * e
		nl := f + a*e
		t = b*(nl-l) + (1-b)*phi*t
		l = nl
	}
	return s
}

// Update implements Model.
func (m *Holt) Update(y float64) {
	if !isFinite(y) {
		return
	}
	if m.alpha == 0 {
		_ = m.params()
		m.alpha, m.beta = m.Alpha, m.Beta
		if m.alpha == 0 {
			m.alpha = 0.3
		}
		if m.beta == 0 {
			m.beta = 0.1
		}
	}
	switch m.n {
	case 0:
		m.first, m.level = y, y
	case 1:
		m.level, m.trend = y, y-m.first
	default:
		f := m.level + m.phi*m.trend
		e := y - f
		m.res.add(e)
		nl := f + m.alpha*e
		m.trend = m.beta*(nl-m.level) + (1-m.beta)*m.phi*m.trend
		m.level = nl
	}
	m.n++
}

// Point implements Model.
func (m *Holt) Point(dst []float64) {
	damp, p := 0.0, 1.0
	for i := range dst {
		p *= m.phi
		damp += p
		dst[i] = m.level + damp*m.trend
	}
}

// Forecast implements Model. Variance σ²(1 + Σⱼ<h (α(1 + β·φⱼ))²), with
// φⱼ = φ + … + φʲ (Hyndman et al., class 1 ETS(A,Ad,N)).
func (m *Holt) Forecast(h int, level float64) Forecast {
	a, b, phi := m.alpha, m.beta, m.phi
	return buildForecast(m, h, level, m.res.sigma(), func(h int) float64 {
		v, pj, p := 1.0, 0.0, 1.0
		for j := 1; j < h; j++ {
			p *= phi
			pj += p
			c := a * (1 + b*pj)
			v += c * c
		}
		return v
	})
}

// State returns the current level and trend.
func (m *Holt) State() (level, trend float64) { return m.level, m.trend }

// Params returns the α, β, φ in use (fitted or given).
func (m *Holt) Params() (alpha, beta, phi float64) { return m.alpha, m.beta, m.phi }

func (m *Holt) String() string {
	return fmt.Sprintf("%s(α=%.3f β=%.3f φ=%.3f)", m.Name(), m.alpha, m.beta, m.phi)
}
