package predictors

import "math"

// NAB scoring: the Numenta Anomaly Benchmark's rule for detections against
// labelled anomaly windows (Lavin & Ahmad 2015; the "sweeper" of NAB 1.x).
// A detection inside a window earns the scaled sigmoid of its position —
// about A_TP at the window's left edge, falling to 0 at its right edge, so
// early counts; only the earliest detection of a window counts. A window
// without a detection costs A_FN. A detection outside every window costs
// A_FP, less when it comes just after a window (the sigmoid of its distance
// past it, in window widths). The first 15% of the series (at most 750
// values) is probation: detections there are not scored. The corpus score
// is normalised so that the null detector (no detections) scores 0 and the
// perfect one (a detection at each window's start) scores 100.

// NABProfile is one of NAB's application profiles: the weights of a true
// positive, a false positive and a false negative.
type NABProfile struct {
	TP, FP, FN float64
}

// NABStandard is NAB's standard profile.
var NABStandard = NABProfile{TP: 1, FP: 0.11, FN: 1}

// nabSigmoid is NAB's scaledSigmoid: 2·σ(−5x) − 1, and −1 from 3 on.
func nabSigmoid(x float64) float64 {
	if x >= 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// NABProbation is how many leading values of an n-value series NAB leaves
// unscored.
func NABProbation(n int) int { return int(math.Min(math.Floor(0.15*float64(n)), 0.15*5000)) }

// NABScore scores detections (indices into a series of n values) against
// windows (inclusive index ranges, in order, not overlapping). It returns
// the raw score and the number of windows scored (those that end after
// the probation).
func NABScore(n int, windows [][2]int, detections []int, p NABProfile) (raw float64, scored int) {
	prob := NABProbation(n)
	maxTP := nabSigmoid(-1)
	best := make([]float64, len(windows))
	for i, w := range windows {
		best[i] = math.NaN()
		if w[1] >= prob {
			best[i] = -p.FN
			scored++
		}
	}
	for _, e := range detections {
		if e < prob || e >= n {
			continue
		}
		in, prev := -1, -1
		for k, w := range windows {
			if e >= w[0] && e <= w[1] {
				in = k
			}
			if w[1] < e {
				prev = k
			}
		}
		switch {
		case in >= 0:
			w := windows[in]
			width := float64(w[1] - w[0] + 1)
			s := nabSigmoid(-float64(w[1]-e+1)/width) * p.TP / maxTP
			best[in] = math.Max(best[in], s)
		case prev >= 0 && windows[prev][1] > windows[prev][0]:
			w := windows[prev]
			raw += nabSigmoid(float64(e-w[1])/float64(w[1]-w[0])) * p.FP
		default:
			raw -= p.FP
		}
	}
	for _, b := range best {
		if !math.IsNaN(b) {
			raw += b
		}
	}
	return raw, scored
}

// NABNormalise maps a corpus's raw score over windows scored windows to
// NAB's scale: 0 for the null detector, 100 for the perfect one.
func NABNormalise(raw float64, windows int, p NABProfile) float64 {
	null, perfect := -p.FN*float64(windows), p.TP*float64(windows)
	if perfect == null {
		return 0
	}
	return 100 * (raw - null) / (perfect - null)
}
