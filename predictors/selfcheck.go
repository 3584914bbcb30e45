package predictors

import "math"

// SelfCheck compares predictions with what happened (step 6 of the
// predictive rate limit: "check yourself"). Each tick, Predict records what
// the model expects Lag ticks ahead (the mean and the upper bound); Observe
// records the value that arrived and scores it against the prediction made
// Lag ticks earlier. Over the last Window scored ticks it reports the mean
// absolute error, the bias, and the coverage (the fraction of values at or
// under their upper bound). A model whose coverage falls well below its
// level is persistently wrong: Trusted turns false, and the shaper should
// fall back to a conservative reactive rule and say so.
//
// No allocation after NewSelfCheck.
type SelfCheck struct {
	lag, window int
	minCover    float64

	pmean, pupper []float64 // predictions by tick, ring of lag+1
	tick          int

	errs, bias []float64 // ring of scored ticks
	cover      []bool
	scored     int
}

// NewSelfCheck scores predictions lag ticks ahead (≥ 1) over the last
// window scored ticks (default 60); trusted while coverage ≥ minCover
// (default 0.8 — a 95% upper bound that holds less than 80% of the time is
// not a bound).
func NewSelfCheck(lag, window int, minCover float64) *SelfCheck {
	lag = max(lag, 1)
	if window <= 0 {
		window = 60
	}
	if !(minCover > 0 && minCover <= 1) {
		minCover = 0.8
	}
	s := &SelfCheck{lag: lag, window: window, minCover: minCover,
		pmean: make([]float64, lag+1), pupper: make([]float64, lag+1),
		errs: make([]float64, window), bias: make([]float64, window), cover: make([]bool, window)}
	for i := range s.pmean {
		s.pmean[i] = math.NaN()
	}
	return s
}

// Predict records this tick's prediction for lag ticks ahead.
func (s *SelfCheck) Predict(mean, upper float64) {
	i := s.tick % len(s.pmean)
	s.pmean[i], s.pupper[i] = mean, upper
}

// Observe records this tick's actual value, scores it against the
// prediction made lag ticks ago (if any), and advances the tick.
func (s *SelfCheck) Observe(actual float64) {
	j := (s.tick - s.lag) % len(s.pmean)
	if s.tick >= s.lag && j >= 0 && isFinite(actual) && isFinite(s.pmean[j]) {
		k := s.scored % s.window
		s.errs[k] = math.Abs(actual - s.pmean[j])
		s.bias[k] = actual - s.pmean[j]
		s.cover[k] = !(actual > s.pupper[j])
		s.scored++
	}
	s.tick++
	// The slot for the next tick's prediction is cleared so a skipped
	// Predict is not scored against a stale one.
	n := s.tick % len(s.pmean)
	s.pmean[n] = math.NaN()
}

// Stats returns the mean absolute error, the mean error (actual −
// predicted: positive means the model under-predicts), the coverage of the
// upper bound and how many ticks were scored (at most the window).
func (s *SelfCheck) Stats() (mae, bias, coverage float64, n int) {
	n = min(s.scored, s.window)
	if n == 0 {
		return 0, 0, 1, 0
	}
	c := 0
	for i := 0; i < n; i++ {
		mae += s.errs[i]
		bias += s.bias[i]
		if s.cover[i] {
			c++
		}
	}
	return mae / float64(n), bias / float64(n), float64(c) / float64(n), n
}

// Trusted is false once at least a quarter of the window has been scored
// and the upper bound's coverage is below minCover.
func (s *SelfCheck) Trusted() bool {
	_, _, cov, n := s.Stats()
	return n < max(s.window/4, 4) || cov >= s.minCover
}
