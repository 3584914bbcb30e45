package predictors

import "math"

// ZScoreDetector is the robust z-score detector loadshaper used before
// AnomalyDetector; `make eval-forecast` keeps it as a baseline. It
// forecasts each value with a rolling median of the values before it
// (robust: one spike does not move it), and scores the residual r against the recent residuals with a
// robust z-score
//
//	z = (r − median(R)) / (1.4826·MAD(R))
//
// over a trailing window R. |z| > Threshold for Consecutive ticks is a
// "spike" event. Separately, a level-shift detector compares the medians of
// two adjacent windows of ShiftWindow values: a difference larger than
// ShiftThreshold robust standard deviations (of the older window) is a
// "level_shift" event (the changepoint idea from Prophet, made robust).
// After an event the detector stays quiet for Cooldown ticks, so one
// incident is one event.

// ZScoreConfig configures a ZScoreDetector; zero values take defaults.
type ZScoreConfig struct {
	Window         int     // residuals the z-score is computed over; default 288
	Level          int     // rolling-median window of the forecast; default 9
	Threshold      float64 // |z| to flag; default 3.5
	Consecutive    int     // ticks over Threshold before a spike event; default 3
	ShiftWindow    int     // each half of the level-shift comparison; default 24
	ShiftThreshold float64 // level shift in robust σ; default 8; < 0 disables
	Cooldown       int     // quiet ticks after an event; default Window
}

func (c ZScoreConfig) withDefaults() ZScoreConfig {
	// Windows are clamped rather than refused: the detector has no error
	// path, and a day of 1 s ticks (86,400) is far below the bound.
	c.Window = min(c.Window, MaxWindow)
	c.Level = min(c.Level, MaxWindow)
	c.ShiftWindow = min(c.ShiftWindow, MaxWindow)
	if c.Window <= 0 {
		c.Window = 288
	}
	if c.Level <= 0 {
		c.Level = 9
	}
	if c.Threshold <= 0 {
		c.Threshold = 3.5
	}
	if c.Consecutive <= 0 {
		c.Consecutive = 3
	}
	if c.ShiftWindow <= 0 {
		c.ShiftWindow = 24
	}
	if c.ShiftThreshold == 0 {
		c.ShiftThreshold = 8
	}
	if c.Cooldown <= 0 {
		c.Cooldown = c.Window
	}
	return c
}

// ZScoreDetector is the online detector. Observe does not allocate.
type ZScoreDetector struct {
	c       ZScoreConfig
	level   RollingMedian
	resid   []float64 // ring of residuals
	values  []float64 // ring of the last 2·ShiftWindow values
	scratch []float64
	n       int // observations, gaps included (event indices)
	nres    int // residuals stored
	nval    int // finite values seen
	over    int
	quiet   int
}

// NewZScoreDetector returns a detector.
func NewZScoreDetector(c ZScoreConfig) *ZScoreDetector {
	c = c.withDefaults()
	d := &ZScoreDetector{c: c}
	d.level = RollingMedian{Window: c.Level, ring: make([]float64, c.Level), sorted: make([]float64, 0, c.Level)}
	d.resid = make([]float64, c.Window)
	d.values = make([]float64, 2*c.ShiftWindow)
	d.scratch = make([]float64, max(c.Window, 2*c.ShiftWindow))
	return d
}

// Observe feeds one value and returns an event when one fires. NaN values
// count as a position but are otherwise skipped (a gap is not an anomaly).
func (d *ZScoreDetector) Observe(y float64) (AnomalyEvent, bool) {
	idx := d.n
	d.n++
	if !isFinite(y) {
		return AnomalyEvent{}, false
	}
	var ev AnomalyEvent
	fired := false
	if d.level.n > 0 {
		exp := d.level.median()
		r := y - exp
		if k := min(d.nres, len(d.resid)); k >= 30 {
			sc := d.scratch[:k]
			copy(sc, d.resid[:k])
			med, mad := medianMAD(sc)
			z := 0.0
			if s := 1.4826 * mad; s > 0 {
				z = (r - med) / s
			} else if r != med {
				z = math.Copysign(math.Inf(1), r-med)
			}
			if math.Abs(z) > d.c.Threshold {
				d.over++
			} else {
				d.over = 0
			}
			if d.over >= d.c.Consecutive && d.quiet == 0 {
				ev, fired = AnomalyEvent{Index: idx, Kind: AnomalySpike, Value: y, Expected: exp, Score: clampScore(z)}, true
			}
		}
		d.resid[d.nres%len(d.resid)] = r
		d.nres++
	}
	d.level.Update(y)
	w := d.c.ShiftWindow
	d.values[d.nval%len(d.values)] = y
	d.nval++
	if !fired && d.c.ShiftThreshold > 0 && d.nval >= 2*w && d.quiet == 0 {
		old, recent := d.scratch[:w], d.scratch[w:2*w]
		for i := 0; i < w; i++ {
			old[i] = d.values[(d.nval+i)%len(d.values)]
			recent[i] = d.values[(d.nval+w+i)%len(d.values)]
		}
		mo, mado := medianMAD(old)
		mr := median(recent)
		s := 1.4826 * mado
		if s == 0 {
			s = 1e-9 * math.Max(math.Abs(mo), 1)
		}
		if score := (mr - mo) / s; math.Abs(score) > d.c.ShiftThreshold {
			ev, fired = AnomalyEvent{Index: idx, Kind: AnomalyLevelShift, Value: mr, Expected: mo, Score: clampScore(score)}, true
		}
	}
	if d.quiet > 0 {
		d.quiet--
	}
	if fired {
		d.quiet, d.over = d.c.Cooldown, 0
	}
	return ev, fired
}

func clampScore(z float64) float64 { return clamp(z, -1e9, 1e9) }

// DetectZScoreAnomalies runs a ZScoreDetector over a whole series.
func DetectZScoreAnomalies(y []float64, c ZScoreConfig) []AnomalyEvent {
	d := NewZScoreDetector(c)
	var out []AnomalyEvent
	for _, v := range y {
		if ev, ok := d.Observe(v); ok {
			out = append(out, ev)
		}
	}
	return out
}
