package predictors

import "math"

// Model is a univariate forecaster. Fit estimates the parameters that were
// left unset (zero) and the state from a whole series; Update folds in one
// new observation in O(1) without allocating (the runtime calls it every
// tick); Forecast predicts h steps past the last observation with a central
// prediction interval at level (0.95 when level is outside (0, 1)).
//
// A Model is not safe for concurrent use; keep one per goroutine.
type Model interface {
	Name() string
	Fit(y []float64) error
	Update(y float64)
	Forecast(h int, level float64) Forecast
	// Point writes the point forecast for 1..len(dst) steps ahead into dst.
	// It does not allocate.
	Point(dst []float64)
}

// resid accumulates one-step-ahead residuals to estimate σ for intervals.
type resid struct {
	sse float64
	n   int
}

func (r *resid) add(e float64) {
	if isFinite(e) {
		r.sse += e * e
		r.n++
	}
}

func (r resid) sigma() float64 {
	if r.n < 2 {
		return 0
	}
	return math.Sqrt(r.sse / float64(r.n))
}

// buildForecast fills a Forecast from point forecasts and per-step
// standard errors se(h) = σ·√v(h).
func buildForecast(m Model, h int, level, sigma float64, v func(h int) float64) Forecast {
	if h < 1 {
		h = 1
	}
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	f := newForecast(h, level)
	m.Point(f.Mean)
	z := Z(level)
	for i := range f.Mean {
		w := z * sigma * math.Sqrt(v(i+1))
		f.Lower[i] = f.Mean[i] - w
		f.Upper[i] = f.Mean[i] + w
	}
	return f
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	if x != x {
		return lo
	}
	return x
}
