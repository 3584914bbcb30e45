package predictors

import "math"

// LagEstimator finds how a reading relates in time to the rates sent: a
// reading at tick k describes the mean rate of the W ticks ending D ticks
// earlier (a Prometheus rate() over a window, scraped and queried late).
// It picks the (D, W) whose linear fit over the last Window readings leaves
// the smallest error — a cross-correlation, in effect — and only moves off
// its current estimate when another is clearly better (half the error),
// since on a steady ramp all lags fit alike. EstimateLag is the simpler
// single-delay estimate on first differences.
//
// Set D and W to the first guess, MaxLag to the largest D+W−1 considered;
// Fixed keeps D and W as they are.
type LagEstimator struct {
	D, W, MaxLag, Window int
	Fixed                bool
}

// AlignedRate is the rate a reading at index k pairs with: the mean of the
// rates of ticks k−d−w+1 … k−d, where sentPrev[i] is the rate of tick i−1.
// NaN when the window reaches outside sentPrev.
func AlignedRate(sentPrev []float64, k, d, w int) float64 {
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

// Estimate revises (D, W) from two series appended together every tick:
// the rate of the tick before (sentPrev) and the reading (ys, NaN where
// missing or not to be learnt from). It returns the current estimate.
func (l *LagEstimator) Estimate(sentPrev, ys []float64) (int, int) {
	if l.Fixed || len(ys) < l.MaxLag+10 || len(sentPrev) != len(ys) {
		return l.D, l.W
	}
	// Every candidate is scored on the same readings: those for which the
	// longest lag and window have a rate.
	start := max(len(ys)-l.Window, l.MaxLag+1)
	// Prefix sums make each aligned rate O(1); NaN rates poison their windows.
	from := max(0, start-l.MaxLag-1)
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
	cur := sse(l.D, l.W)
	best, bestD, bestW := cur, l.D, l.W
	for d := 1; d <= l.MaxLag; d++ {
		for w := 1; d+w-1 <= l.MaxLag; w++ {
			if e := sse(d, w); e < best {
				best, bestD, bestW = e, d, w
			}
		}
	}
	if (bestD != l.D || bestW != l.W) && best < 0.5*cur {
		l.D, l.W = bestD, bestW
	}
	return l.D, l.W
}
