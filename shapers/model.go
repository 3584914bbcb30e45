package shapers

import (
	"math"
	"strings"
)

// responseModel is the online load-response fit metric ≈ a + b·rate, a
// weighted least-squares line with exponential forgetting (the same
// estimate recursive least squares with a forgetting factor gives), with
// the prediction band of ordinary regression. It is what
// predictive_rate_limit and capacity_search invert.
//
// Latency metrics are fitted as −1/latency: for a queue, 1/T = μ − λ is a
// straight line in the arrival rate (M/M/1), and the transform keeps
// "larger is worse", so the same inversion works.
type responseModel struct {
	lambda  float64 // forgetting factor per sample
	inverse bool    // fit −1/y instead of y

	w, sx, sy, sxx, sxy, syy float64 // weighted sums
	n                        int     // samples ever used
}

func newResponseModel(metric string, lambda float64) *responseModel {
	return &responseModel{lambda: lambda, inverse: isLatency(metric)}
}

// isLatency tells metrics that grow like a queue's waiting time.
func isLatency(metric string) bool {
	return strings.HasPrefix(metric, "latency") || strings.HasSuffix(metric, "_latency")
}

func (m *responseModel) fwd(y float64) float64 {
	if m.inverse {
		if y <= 0 {
			return math.Inf(-1)
		}
		return -1 / y
	}
	return y
}

func (m *responseModel) back(z float64) float64 {
	if m.inverse {
		if z >= 0 {
			return math.Inf(1)
		}
		return -1 / z
	}
	return z
}

// observe folds in one lag-aligned pair (rate sent, metric seen).
func (m *responseModel) observe(x, y float64) {
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

// forget shrinks the weight of everything seen so far: after a level shift
// the old points describe another system.
func (m *responseModel) forget(keep float64) {
	m.w *= keep
	m.sx *= keep
	m.sy *= keep
	m.sxx *= keep
	m.sxy *= keep
	m.syy *= keep
}

// fit returns intercept, slope, residual σ (in the fitted scale) and the
// centred rate spread; ok is false until the slope is identified.
func (m *responseModel) fit() (a, b, sigma, sxxc float64, ok bool) {
	if m.w < 5 {
		return 0, 0, 0, 0, false
	}
	xm, zm := m.sx/m.w, m.sy/m.w
	sxxc = m.sxx - m.w*xm*xm
	sxyc := m.sxy - m.w*xm*zm
	syyc := m.syy - m.w*zm*zm
	// The rates must have moved by a few percent for the slope to mean anything.
	if sxxc <= 0 || math.Sqrt(sxxc/m.w) < 0.01*math.Max(math.Abs(xm), 1) {
		return zm, 0, math.Sqrt(math.Max(syyc, 0) / m.w), sxxc, false
	}
	b = sxyc / sxxc
	a = zm - b*xm
	sse := math.Max(syyc-b*sxyc, 0)
	dof := math.Max(m.w-2, 1)
	return a, b, math.Sqrt(sse / dof), sxxc, true
}

// predict is the mean and the upper bound (z standard errors, σ at least
// floor in the metric's own unit) of the metric at rate x.
func (m *responseModel) predict(x, z, floor float64) (mean, upper float64, ok bool) {
	a, b, sigma, sxxc, ok := m.fit()
	if !ok {
		return 0, 0, false
	}
	xm := m.sx / m.w
	se := sigma * math.Sqrt(1+1/m.w+(x-xm)*(x-xm)/sxxc)
	zmean := a + b*x
	mean = m.back(zmean)
	upper = m.back(zmean + z*se)
	// With few samples σ itself is uncertain: widen the floor.
	floor *= 1 + 10/m.w
	if upper-mean < z*floor {
		upper = mean + z*floor
	}
	return mean, upper, true
}

// safeRate is the largest rate whose upper bound stays at or under limit,
// searched in [0, hi]. ok is false when the model is not identified or the
// metric does not grow with load (then it does not bind).
func (m *responseModel) safeRate(limit, z, floor, hi float64) (float64, bool) {
	_, b, _, _, ok := m.fit()
	if !ok || b <= 0 {
		return 0, false
	}
	over := func(x float64) bool {
		_, up, _ := m.predict(x, z, floor)
		return up > limit
	}
	if over(0) {
		return 0, true
	}
	lo := 0.0
	if !over(hi) {
		return hi, true
	}
	for i := 0; i < 50 && hi-lo > 1e-6*math.Max(hi, 1); i++ {
		mid := (lo + hi) / 2
		if over(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo, true
}

// holt is Holt's linear trend smoother with fixed gains, used on the
// model's residuals to forecast drift of the intercept.
type holt struct {
	alpha, beta  float64
	level, trend float64
	n            int
}

func (h *holt) update(y float64) {
	if math.IsNaN(y) {
		return
	}
	if h.n == 0 {
		h.level = y
	} else {
		prev := h.level
		h.level = h.alpha*y + (1-h.alpha)*(h.level+h.trend)
		h.trend = h.beta*(h.level-prev) + (1-h.beta)*h.trend
	}
	h.n++
}

func (h *holt) forecast(steps float64) float64 {
	if h.n < 3 {
		return 0
	}
	return h.level + steps*h.trend
}

// lagEstimator finds how a reading relates in time to the rates sent: a
// reading at tick k describes the mean rate of the w ticks ending d ticks
// earlier (a Prometheus rate() over a window, scraped and queried late).
// It picks the (d, w) whose linear fit over a recent window leaves the
// smallest error — a cross-correlation, in effect — and only moves off its
// current estimate when another is clearly better, since on a steady ramp
// all lags fit alike.
type lagEstimator struct {
	d, w, maxLag, window int
	fixed                bool
}

// aligned is the rate a reading at index k of ys pairs with: the mean of
// the rates of ticks k−d−w+1 … k−d. sentPrev[i] is the rate of tick i−1.
func aligned(sentPrev []float64, k, d, w int) float64 {
	hi := k - d + 1
	lo := hi - w + 1
	if lo < 0 || hi >= len(sentPrev) {
		return math.NaN()
	}
	sum := 0.0
	for i := lo; i <= hi; i++ {
		sum += sentPrev[i]
	}
	return sum / float64(w)
}

// estimate revises (d, w) from two series appended together every tick:
// the rate of the tick before (sentPrev) and the reading (ys, NaN where
// missing or not to be learnt from).
func (l *lagEstimator) estimate(sentPrev, ys []float64) (int, int) {
	if l.fixed || len(ys) < l.maxLag+10 || len(sentPrev) != len(ys) {
		return l.d, l.w
	}
	// Every candidate is scored on the same readings: those for which the
	// longest lag and window have a rate.
	start := max(len(ys)-l.window, l.maxLag+1)
	// Prefix sums make each aligned rate O(1); NaN rates poison their windows.
	from := max(0, start-l.maxLag-1)
	prefix := make([]float64, len(sentPrev)-from+1)
	nans := make([]int, len(sentPrev)-from+1)
	for i := from; i < len(sentPrev); i++ {
		v, nan := sentPrev[i], 0
		if math.IsNaN(v) {
			v, nan = 0, 1
		}
		prefix[i-from+1] = prefix[i-from] + v
		nans[i-from+1] = nans[i-from] + nan
	}
	sse := func(d, w int) float64 {
		var n, sx, sy, sxx, sxy, syy float64
		for t := start; t < len(ys); t++ {
			hi := t - d + 1
			lo := hi - w + 1
			y, x := ys[t], (prefix[hi-from+1]-prefix[lo-from])/float64(w)
			if nans[hi-from+1] != nans[lo-from] {
				continue
			}
			if math.IsNaN(y) || math.IsNaN(x) {
				continue
			}
			n++
			sx += x
			sy += y
			sxx += x * x
			sxy += x * y
			syy += y * y
		}
		if n < 8 {
			return math.Inf(1)
		}
		xm, ym := sx/n, sy/n
		cxx, cxy, cyy := sxx-n*xm*xm, sxy-n*xm*ym, syy-n*ym*ym
		// Without rate changes every lag fits alike.
		if math.Sqrt(math.Max(cxx, 0)/n) < 0.1*math.Abs(xm) || cyy <= 1e-12 {
			return math.Inf(1)
		}
		return math.Max(cyy-cxy*cxy/cxx, 0) / n
	}
	cur := sse(l.d, l.w)
	best, bestD, bestW := cur, l.d, l.w
	for d := 1; d <= l.maxLag; d++ {
		for w := 1; d+w-1 <= l.maxLag; w++ {
			if e := sse(d, w); e < best {
				best, bestD, bestW = e, d, w
			}
		}
	}
	if (bestD != l.d || bestW != l.w) && best < 0.5*cur {
		l.d, l.w = bestD, bestW
	}
	return l.d, l.w
}
