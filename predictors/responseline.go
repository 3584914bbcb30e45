package predictors

import (
	"math"
	"strings"
)

// ResponseLine is the online load-response line metric ≈ a + b·rate that
// the predictive shapers invert every tick: a weighted least-squares line
// with exponential forgetting (the estimate recursive least squares with a
// forgetting factor gives), with the prediction band of ordinary
// regression. LoadResponse is its general sibling (polynomial, drift,
// readiness for ComputeEnvelope); ResponseLine is the lighter model the
// shapers' evaluation figures were measured with, kept as it is so those
// figures still hold. Invert it with LineSafeRate.
//
// With Inverse set (latency metrics; see IsLatencyMetric) it fits −1/y:
// for a queue 1/T = μ − λ is a straight line in the arrival rate (M/M/1),
// and the transform keeps "larger is worse", so the same inversion works.
//
// A ResponseLine does not allocate and is not safe for concurrent use.
type ResponseLine struct {
	lambda  float64 // forgetting factor per sample
	inverse bool    // fit −1/y instead of y

	w, sx, sy, sxx, sxy, syy float64 // weighted sums
	n                        int     // samples ever used
	noiseCap                 float64 // 0 = none; see CapNoise
}

// CapNoise caps the residual σ the prediction band uses (in the fitted
// scale) at s: the error of the line's recent one-step-ahead predictions,
// which the caller measures. The fit's own σ remembers a transient (lag
// misalignment while the rate moved fast) for as long as the forgetting
// keeps its pairs; the recent errors say what the line misses now. 0
// removes the cap.
func (m *ResponseLine) CapNoise(s float64) {
	if math.IsNaN(s) || s < 0 {
		s = 0
	}
	m.noiseCap = s
}

// NewResponseLine returns an empty line with forgetting factor forget per
// sample (1 = never forget), fitted on −1/y when inverse is set.
func NewResponseLine(forget float64, inverse bool) *ResponseLine {
	return &ResponseLine{lambda: forget, inverse: inverse}
}

// IsLatencyMetric tells metrics that grow like a queue's waiting time by
// their name (latency*, *_latency): those a ResponseLine fits inverted.
func IsLatencyMetric(name string) bool {
	return strings.HasPrefix(name, "latency") || strings.HasSuffix(name, "_latency")
}

// Inverse reports whether the line is fitted on −1/y.
func (m *ResponseLine) Inverse() bool { return m.inverse }

// Weight is the discounted number of samples the fit rests on.
func (m *ResponseLine) Weight() float64 { return m.w }

func (m *ResponseLine) fwd(y float64) float64 {
	if m.inverse {
		if y <= 0 {
			return math.Inf(-1)
		}
		return -1 / y
	}
	return y
}

func (m *ResponseLine) back(z float64) float64 {
	if m.inverse {
		if z >= 0 {
			return math.Inf(1)
		}
		return -1 / z
	}
	return z
}

// Observe folds in one lag-aligned pair (rate sent x, metric seen y).
// Pairs that do not transform to a finite value are ignored.
func (m *ResponseLine) Observe(x, y float64) {
	z := m.fwd(y)
	if math.IsNaN(z) || math.IsInf(z, 0) || math.IsNaN(x) {
		return
	}
	l := m.lambda
	m.w = l*m.w + 1
	m.sx = l*m.sx + x
	m.sy = l*m.sy + z
	m.sxx = l*m.sxx + x*x
	m.sxy = l*m.sxy + x*z
	m.syy = l*m.syy + z*z
	m.n++
}

// Forget multiplies the weight of everything seen so far by keep: after a
// level shift the old points describe another system (keep 0 starts over).
func (m *ResponseLine) Forget(keep float64) {
	m.w *= keep
	m.sx *= keep
	m.sy *= keep
	m.sxx *= keep
	m.sxy *= keep
	m.syy *= keep
}

// Fit returns the intercept, the slope, the residual σ (in the fitted
// scale) and the centred rate spread; ok is false until the slope is
// identified: at least 5 (discounted) samples over rates that moved by
// more than 1% of their mean (or of 1).
func (m *ResponseLine) Fit() (a, b, sigma, sxxc float64, ok bool) {
	if m.w < 5 {
		return 0, 0, 0, 0, false
	}
	xm, zm := m.sx/m.w, m.sy/m.w
	sxxc = m.sxx - m.w*xm*xm
	sxyc := m.sxy - m.w*xm*zm
	syyc := m.syy - m.w*zm*zm
	if sxxc <= 0 || math.Sqrt(sxxc/m.w) < 0.01*math.Max(math.Abs(xm), 1) {
		return zm, 0, math.Sqrt(math.Max(syyc, 0) / m.w), sxxc, false
	}
	b = sxyc / sxxc
	a = zm - b*xm
	sse := math.Max(syyc-b*sxyc, 0)
	dof := math.Max(m.w-2, 1)
	return a, b, math.Sqrt(sse / dof), sxxc, true
}

// Predict is the mean and the upper bound of the metric at rate x: z
// standard errors of a new observation, σ·√(1 + 1/w + (x − x̄)²/Sxx), in
// the fitted scale, and at least z·floor·(1 + 10/w) above the mean in the
// metric's own unit (with few samples σ itself is uncertain). ok is false
// until Fit is.
func (m *ResponseLine) Predict(x, z, floor float64) (mean, upper float64, ok bool) {
	a, b, sigma, sxxc, ok := m.Fit()
	if !ok {
		return 0, 0, false
	}
	if m.noiseCap > 0 && m.noiseCap < sigma {
		sigma = m.noiseCap
	}
	xm := m.sx / m.w
	se := sigma * math.Sqrt(1+1/m.w+(x-xm)*(x-xm)/sxxc)
	zmean := a + b*x
	mean = m.back(zmean)
	upper = m.back(zmean + z*se)
	floor *= 1 + 10/m.w
	if upper-mean < z*floor {
		upper = mean + z*floor
	}
	return mean, upper, true
}

// ResidualTrend is Holt's linear trend smoother with fixed gains and no
// damping, for forecasting the drift of a model's residuals (a creeping
// intercept). Its first value sets the level with a zero trend.
type ResidualTrend struct {
	Alpha, Beta  float64
	level, trend float64
	n            int
}

// Update folds in one residual; NaN is ignored.
func (h *ResidualTrend) Update(y float64) {
	if math.IsNaN(y) {
		return
	}
	if h.n == 0 {
		h.level = y
	} else {
		prev := h.level
		h.level = h.Alpha*y + (1-h.Alpha)*(h.level+h.trend)
		h.trend = h.Beta*(h.level-prev) + (1-h.Beta)*h.trend
	}
	h.n++
}

// Forecast is the expected residual steps ahead; 0 before 3 residuals.
func (h *ResidualTrend) Forecast(steps float64) float64 {
	if h.n < 3 {
		return 0
	}
	return h.level + steps*h.trend
}
