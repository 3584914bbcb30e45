package predictors

import "math"

// GaussianDetector is the Numenta Anomaly Benchmark's windowed Gaussian
// baseline: each value is scored against the mean and standard deviation
// of the Window values before it, and every value more than Threshold
// standard deviations away is an alarm (no cooldown: NAB counts each
// flagged value). `make eval-forecast` runs it beside AnomalyDetector.
type GaussianDetector struct {
	Window    int     // default 1000, NAB's tuned window
	Threshold float64 // default 3 (the three-sigma rule)

	ring        ring
	sum, sumSq  float64
	n, nval     int
	initialised bool
}

func (g *GaussianDetector) init() {
	if g.Window <= 0 {
		g.Window = 1000
	}
	g.Window = min(g.Window, MaxWindow)
	if g.Threshold <= 0 {
		g.Threshold = 3
	}
	g.ring = newRing(g.Window)
	g.initialised = true
}

// Observe feeds one value and returns an event when it is an alarm. NaN
// values count as a position and are otherwise skipped.
func (g *GaussianDetector) Observe(y float64) (AnomalyEvent, bool) {
	if !g.initialised {
		g.init()
	}
	idx := g.n
	g.n++
	if !isFinite(y) {
		return AnomalyEvent{}, false
	}
	var ev AnomalyEvent
	fired := false
	if k := g.ring.len(); k >= 2 {
		mean := g.sum / float64(k)
		sd := math.Sqrt(math.Max(g.sumSq/float64(k)-mean*mean, 0))
		if sd == 0 {
			sd = 1e-6 // NAB's floor
		}
		if z := (y - mean) / sd; math.Abs(z) > g.Threshold {
			ev, fired = AnomalyEvent{Index: idx, Kind: AnomalySpike, Value: y, Expected: mean, Score: clampScore(z)}, true
		}
	}
	if g.ring.len() == len(g.ring.buf) {
		old := g.ring.at(len(g.ring.buf) - 1)
		g.sum -= old
		g.sumSq -= old * old
	}
	g.ring.push(y)
	g.sum += y
	g.sumSq += y * y
	g.nval++
	if g.nval%g.Window == 0 {
		// Refresh the running sums so that rounding does not accumulate.
		g.sum, g.sumSq = 0, 0
		for i := 0; i < g.ring.len(); i++ {
			v := g.ring.at(i)
			g.sum += v
			g.sumSq += v * v
		}
	}
	return ev, fired
}

// DetectGaussianAnomalies runs a GaussianDetector over a whole series.
func DetectGaussianAnomalies(y []float64, g GaussianDetector) []AnomalyEvent {
	var out []AnomalyEvent
	for _, v := range y {
		if ev, ok := g.Observe(v); ok {
			out = append(out, ev)
		}
	}
	return out
}
