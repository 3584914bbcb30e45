package predictors

import "math"

// LinearTrend forecasts by a least-squares line over time, fitted to the
// last Window values (all of them when Window is 0), extrapolated. Update
// keeps running sums, so it is O(1) and allocation-free. Intervals use the
// regression's prediction standard error (which widens with h).
type LinearTrend struct {
	Window int

	ring     []float64
	n        int     // values seen
	s0, s1   float64 // Σy, Σj·y over the window (j = absolute index)
	sse, cnt float64 // one-step residuals, for σ
}

// Name implements Model.
func (m *LinearTrend) Name() string { return "linear" }

// Fit implements Model.
func (m *LinearTrend) Fit(y []float64) error {
	if m.Window < 0 || m.Window == 1 {
		return badParam("linear window %d: want 0 (all) or at least 2", m.Window)
	}
	if err := checkWindow("linear window", m.Window); err != nil {
		return err
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	*m = LinearTrend{Window: m.Window}
	if m.Window > 0 {
		m.ring = make([]float64, m.Window)
	}
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

// line returns intercept a and slope b for x = absolute index, and the
// window's first index and size.
func (m *LinearTrend) line() (a, b float64, lo, k int) {
	k = m.n
	if m.Window > 0 {
		k = min(m.n, m.Window)
	}
	lo = m.n - k
	if k == 0 {
		return 0, 0, 0, 0
	}
	// Σx and Σx² over x = lo..lo+k−1, centred at the window's mean index
	// for conditioning.
	fk := float64(k)
	xm := float64(lo) + (fk-1)/2
	sxx := fk * (fk*fk - 1) / 12
	ym := m.s0 / fk
	if k < 2 || sxx == 0 {
		return ym, 0, lo, k
	}
	sxy := m.s1 - xm*m.s0 // Σ(x − x̄)y
	b = sxy / sxx
	return ym - b*xm, b, lo, k
}

// Update implements Model.
func (m *LinearTrend) Update(y float64) {
	if !isFinite(y) {
		return
	}
	if m.n >= 2 {
		a, b, _, _ := m.line()
		e := y - (a + b*float64(m.n))
		m.sse += e * e
		m.cnt++
	}
	j := float64(m.n)
	if m.Window > 0 {
		if len(m.ring) != m.Window {
			m.ring = make([]float64, m.Window)
		}
		i := m.n % m.Window
		if m.n >= m.Window {
			old := m.ring[i]
			m.s0 -= old
			m.s1 -= float64(m.n-m.Window) * old
		}
		m.ring[i] = y
	}
	m.s0 += y
	m.s1 += j * y
	m.n++
	if m.Window > 0 && m.n%(64*m.Window) == 0 {
		// Re-sum now and then so rounding does not accumulate.
		m.s0, m.s1 = 0, 0
		for j := m.n - m.Window; j < m.n; j++ {
			v := m.ring[j%m.Window]
			m.s0 += v
			m.s1 += float64(j) * v
		}
	}
}

// Point implements Model.
func (m *LinearTrend) Point(dst []float64) {
	a, b, _, _ := m.line()
	for i := range dst {
		dst[i] = a + b*float64(m.n+i)
	}
}

// Forecast implements Model.
func (m *LinearTrend) Forecast(h int, level float64) Forecast {
	sigma := 0.0
	if m.cnt >= 2 {
		sigma = math.Sqrt(m.sse / m.cnt)
	}
	_, _, lo, k := m.line()
	fk := float64(k)
	xm := float64(lo) + (fk-1)/2
	sxx := fk * (fk*fk - 1) / 12
	n := m.n
	return buildForecast(m, h, level, sigma, func(h int) float64 {
		if k < 2 || sxx == 0 {
			return 1
		}
		d := float64(n+h-1) - xm
		return 1 + 1/fk + d*d/sxx
	})
}

// Slope is the fitted change per step.
func (m *LinearTrend) Slope() float64 {
	_, b, _, _ := m.line()
	return b
}
