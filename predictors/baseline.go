package predictors

// Naive forecasts the last value: the benchmark every model must beat (on
// smooth series it is hard to beat). Intervals grow as σ√h (random walk).
type Naive struct {
	last float64
	init bool
	res  resid
}

// Name implements Model.
func (m *Naive) Name() string { return "naive" }

// Fit implements Model.
func (m *Naive) Fit(y []float64) error {
	y, err := Clean(y)
	if err != nil {
		return err
	}
	*m = Naive{}
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

// Update implements Model.
func (m *Naive) Update(y float64) {
	if !isFinite(y) {
		return
	}
	if m.init {
		m.res.add(y - m.last)
	}
	m.last, m.init = y, true
}

// Point implements Model.
func (m *Naive) Point(dst []float64) {
	for i := range dst {
		dst[i] = m.last
	}
}

// Forecast implements Model.
func (m *Naive) Forecast(h int, level float64) Forecast {
	return buildForecast(m, h, level, m.res.sigma(), func(h int) float64 { return float64(h) })
}

// SeasonalNaive forecasts the value one season earlier.
type SeasonalNaive struct {
	Period int

	ring []float64
	n    int // values seen
	res  resid
}

// Name implements Model.
func (m *SeasonalNaive) Name() string { return "seasonal_naive" }

// Fit implements Model.
func (m *SeasonalNaive) Fit(y []float64) error {
	if m.Period < 1 {
		return badParam("seasonal naive period %d < 1", m.Period)
	}
	if err := checkWindow("seasonal naive period", m.Period); err != nil {
		return err
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	m.ring, m.n, m.res = make([]float64, m.Period), 0, resid{}
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

// Update implements Model.
func (m *SeasonalNaive) Update(y float64) {
	if !isFinite(y) || len(m.ring) == 0 {
		return
	}
	i := m.n % len(m.ring)
	if m.n >= len(m.ring) {
		m.res.add(y - m.ring[i])
	}
	m.ring[i] = y
	m.n++
}

// Point implements Model. With less than a season seen it repeats the
// last value.
func (m *SeasonalNaive) Point(dst []float64) {
	p := len(m.ring)
	if p == 0 || m.n == 0 {
		for i := range dst {
			dst[i] = 0
		}
		return
	}
	for i := range dst {
		if m.n < p {
			dst[i] = m.ring[(m.n-1)%p]
			continue
		}
		dst[i] = m.ring[(m.n+i)%p]
	}
}

// Forecast implements Model. Variance grows per whole season ahead.
func (m *SeasonalNaive) Forecast(h int, level float64) Forecast {
	p := max(1, len(m.ring))
	return buildForecast(m, h, level, m.res.sigma(), func(h int) float64 { return float64((h-1)/p + 1) })
}

// RollingMedian forecasts the median of the last Window values (flat).
// On noisy, mean-reverting series (CPU of a busy host) it beats smoothing:
// it ignores spikes that EWMA would chase. Update keeps a sorted copy of
// the window, O(Window) and allocation-free. Intervals are flat at the
// empirical one-step σ (the series is assumed locally stationary).
//
// With Adaptive set, a level shift restarts the window: when the last
// shiftRun values all fall beyond the window's Tukey fences (quartile ±
// 1.5·IQR) on the same side, the window keeps only those values, so a long
// median follows a step change within a few ticks instead of Window/2.
type RollingMedian struct {
	Window   int
	Adaptive bool

	ring   []float64
	sorted []float64
	n      int // values seen
	count  int // values in the window
	run    int // consecutive values beyond a fence, signed by side
	res    resid
}

const shiftRun = 4

// Name implements Model.
func (m *RollingMedian) Name() string { return "median" }

// Fit implements Model.
func (m *RollingMedian) Fit(y []float64) error {
	if m.Window < 1 {
		return badParam("median window %d < 1", m.Window)
	}
	if err := checkWindow("median window", m.Window); err != nil {
		return err
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	m.ring = make([]float64, m.Window)
	m.sorted = make([]float64, 0, m.Window)
	m.n, m.count, m.run, m.res = 0, 0, 0, resid{}
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

func (m *RollingMedian) median() float64 {
	k := len(m.sorted)
	if k == 0 {
		return 0
	}
	if k%2 == 1 {
		return m.sorted[k/2]
	}
	return (m.sorted[k/2-1] + m.sorted[k/2]) / 2
}

// Update implements Model.
func (m *RollingMedian) Update(y float64) {
	if !isFinite(y) || len(m.ring) == 0 {
		return
	}
	if m.n > 0 {
		m.res.add(y - m.median())
	}
	w := len(m.ring)
	if m.Adaptive && m.count >= 8 {
		k := len(m.sorted)
		q1, q3 := m.sorted[k/4], m.sorted[(3*k)/4]
		iqr := q3 - q1
		switch {
		case iqr > 0 && y > q3+1.5*iqr:
			m.run = max(m.run, 0) + 1
		case iqr > 0 && y < q1-1.5*iqr:
			m.run = min(m.run, 0) - 1
		default:
			m.run = 0
		}
	}
	i := m.n % w
	if m.count == w {
		// Remove the value leaving the window.
		old := m.ring[i]
		j := searchFloat(m.sorted, old)
		copy(m.sorted[j:], m.sorted[j+1:])
		m.sorted = m.sorted[:len(m.sorted)-1]
		m.count--
	}
	m.ring[i] = y
	j := searchFloat(m.sorted, y)
	m.sorted = append(m.sorted, 0)
	copy(m.sorted[j+1:], m.sorted[j:])
	m.sorted[j] = y
	m.n++
	m.count++
	if m.run >= shiftRun || m.run <= -shiftRun {
		// A level shift: restart the window from the values beyond the fence.
		k := min(shiftRun, w)
		m.sorted = m.sorted[:0]
		for b := 0; b < k; b++ {
			v := m.ring[(m.n-1-b)%w]
			j := searchFloat(m.sorted, v)
			m.sorted = append(m.sorted, 0)
			copy(m.sorted[j+1:], m.sorted[j:])
			m.sorted[j] = v
		}
		m.count, m.run = k, 0
	}
}

// searchFloat returns the first index with s[i] >= x.
func searchFloat(s []float64, x float64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		mid := (lo + hi) / 2
		if s[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Point implements Model.
func (m *RollingMedian) Point(dst []float64) {
	v := m.median()
	for i := range dst {
		dst[i] = v
	}
}

// Forecast implements Model.
func (m *RollingMedian) Forecast(h int, level float64) Forecast {
	return buildForecast(m, h, level, m.res.sigma(), func(int) float64 { return 1 })
}

// RollingMean forecasts the mean of the last Window values (flat).
type RollingMean struct {
	Window int

	ring []float64
	sum  float64
	n    int
	res  resid
}

// Name implements Model.
func (m *RollingMean) Name() string { return "mean" }

// Fit implements Model.
func (m *RollingMean) Fit(y []float64) error {
	if m.Window < 1 {
		return badParam("mean window %d < 1", m.Window)
	}
	if err := checkWindow("mean window", m.Window); err != nil {
		return err
	}
	y, err := Clean(y)
	if err != nil {
		return err
	}
	m.ring, m.sum, m.n, m.res = make([]float64, m.Window), 0, 0, resid{}
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

func (m *RollingMean) mean() float64 {
	k := min(m.n, len(m.ring))
	if k == 0 {
		return 0
	}
	return m.sum / float64(k)
}

// Update implements Model.
func (m *RollingMean) Update(y float64) {
	if !isFinite(y) || len(m.ring) == 0 {
		return
	}
	if m.n > 0 {
		m.res.add(y - m.mean())
	}
	i := m.n % len(m.ring)
	if m.n >= len(m.ring) {
		m.sum -= m.ring[i]
	}
	m.ring[i] = y
	m.sum += y
	m.n++
	if m.n%(64*len(m.ring)) == 0 {
		// Re-sum now and then so rounding does not accumulate.
		m.sum = 0
		for _, v := range m.ring {
			m.sum += v
		}
	}
}

// Point implements Model.
func (m *RollingMean) Point(dst []float64) {
	v := m.mean()
	for i := range dst {
		dst[i] = v
	}
}

// Forecast implements Model.
func (m *RollingMean) Forecast(h int, level float64) Forecast {
	return buildForecast(m, h, level, m.res.sigma(), func(int) float64 { return 1 })
}
