package predictors

import "math"

// Anomaly detection that earns its alarms. An operator wants to hear about
// what this series has not done before, not about every value that is
// improbable under a bell curve: real metrics have heavy tails, bursts and
// routine spikes (a nightly job, a cron), and a detector that flags each of
// them is soon ignored. So the detector keeps a few robust statistics of
// the series and raises an event only when one of them makes an excursion
// that is
//
//  1. a record: larger, by Margin, than every value of the same statistic
//     (on the same side) over the last Memory observations, and
//  2. large: at least Threshold robust standard deviations (1.4826·MAD of
//     that statistic over the memory) from its median,
//
// after Warmup observations (what "normal" is must be seen first), and
// then stays quiet for Cooldown observations (one incident, one event).
//
// The statistics, each taken on both sides (up and down):
//
//   - spike: the value minus the median of the Level values before it;
//   - level_shift: the median of the last ShiftWindow values minus the
//     median of the ShiftBase values before them;
//   - seasonal_spike and seasonal_shift, when the series has a season (a
//     period of at least MinPeriod found by DetectPeriod on the values
//     seen, re-checked every Warmup observations): the value minus the
//     median of the values one, two and three periods earlier, and the mean
//     of the last ShiftWindow of those differences (a day unlike the same
//     day of the weeks before).
//
// A routine spike sets the record once, during warm-up or at its first
// occurrence, and is not news afterwards; an incident bigger than anything
// in the memory is. The choice of each default is explained in
// spec/predictors.md, with the figures on the NAB series.

// AnomalyConfig configures an AnomalyDetector; zero values take defaults.
// The defaults count observations and suit 5-minute samples (a day is 288
// of them); a run's 1 s control ticks use smaller windows (runtime/prediction).
type AnomalyConfig struct {
	Warmup      int     // observations before the first event (and between season checks); default 600
	Memory      int     // an excursion must beat this many observations of its statistic; default 8064
	Margin      float64 // ... by this factor; default 1.1
	Threshold   float64 // and lie this many robust σ from the statistic's median; default 5
	Level       int     // values the spike's median is taken over; default 9
	ShiftWindow int     // recent values of the level shift (and of the seasonal shift); default 24; < 0 disables both
	ShiftBase   int     // older values the level shift compares them with; default 288
	MinPeriod   int     // shortest season looked for; default 24; < 0 disables the seasonal statistics
	MaxPeriod   int     // longest season looked for; default 2016 (and a third of the values seen)
	SeasonGain  float64 // the seasonal statistics replace the level ones when their spread is under this fraction of the level's; default 0.5
	Cooldown    int     // quiet observations after an event; default 288
}

// DefaultAnomalyConfig is the configuration the zero AnomalyConfig stands for.
func DefaultAnomalyConfig() AnomalyConfig { return AnomalyConfig{}.withDefaults() }

func (c AnomalyConfig) withDefaults() AnomalyConfig {
	// Windows are clamped rather than refused: the detector has no error
	// path, and a day of 1 s ticks (86,400) is far below the bound.
	if c.Warmup <= 0 {
		c.Warmup = 600
	}
	if c.Memory <= 0 {
		c.Memory = 8064
	}
	if c.Margin <= 0 {
		c.Margin = 1.1
	}
	if c.Threshold <= 0 {
		c.Threshold = 5
	}
	if c.Level <= 0 {
		c.Level = 9
	}
	if c.ShiftWindow == 0 {
		c.ShiftWindow = 24
	}
	if c.ShiftBase <= 0 {
		c.ShiftBase = 288
	}
	if c.MinPeriod == 0 {
		c.MinPeriod = 24
	}
	if c.MaxPeriod <= 0 {
		c.MaxPeriod = 2016
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 288
	}
	if c.SeasonGain <= 0 {
		c.SeasonGain = 0.5
	}
	c.Memory = min(max(c.Memory, 30), MaxWindow)
	c.Warmup = min(c.Warmup, MaxWindow)
	c.Level = min(c.Level, MaxWindow)
	c.ShiftWindow = min(c.ShiftWindow, MaxWindow)
	c.ShiftBase = min(c.ShiftBase, MaxWindow)
	c.Cooldown = min(c.Cooldown, MaxWindow)
	return c
}

// AnomalyKind says which statistic fired.
type AnomalyKind string

const (
	AnomalySpike         AnomalyKind = "spike"
	AnomalyLevelShift    AnomalyKind = "level_shift"
	AnomalySeasonalSpike AnomalyKind = "seasonal_spike"
	AnomalySeasonalShift AnomalyKind = "seasonal_shift"
)

// AnomalyEvent is one detected anomaly.
type AnomalyEvent struct {
	Index    int         `json:"index"` // position in the series (observations since the detector started)
	Kind     AnomalyKind `json:"kind"`
	Value    float64     `json:"value"`    // the value (spike), or the recent median (level shift), or the recent mean (seasonal shift)
	Expected float64     `json:"expected"` // what it was compared with: the level, the older median, the same phase of earlier seasons
	Score    float64     `json:"score"`    // the statistic in robust σ from its median over the memory, signed
	Ratio    float64     `json:"ratio,omitempty"`
}

// AnomalyDetector is the online detector. Observe allocates only when it
// checks for a season (every Warmup observations).
type AnomalyDetector struct {
	c        AnomalyConfig
	level    RollingMedian
	values   ring // finite values seen, newest last
	stats    [4]recordStat
	sres     ring // seasonal residuals of the last ShiftWindow values
	sresOK   int  // how many of them are defined
	period   int
	seasonal bool // the seasonal statistics are the ones tested
	// The ShiftBase + ShiftWindow values of the level shift, the 3 of the
	// seasonal median, and the memory's statistic for the MAD.
	scratch []float64
	n       int // observations, gaps included (event indices)
	nval    int // finite values seen
	quiet   int
}

// The statistics, in the order a tie is resolved.
const (
	statSpike = iota
	statShift
	statSeasonalSpike
	statSeasonalShift
)

var statKinds = [4]AnomalyKind{AnomalySpike, AnomalyLevelShift, AnomalySeasonalSpike, AnomalySeasonalShift}

// NewAnomalyDetector returns a detector.
func NewAnomalyDetector(c AnomalyConfig) *AnomalyDetector {
	c = c.withDefaults()
	d := &AnomalyDetector{c: c}
	d.level = RollingMedian{Window: c.Level, ring: make([]float64, c.Level), sorted: make([]float64, 0, c.Level)}
	keep := c.Memory
	if c.ShiftWindow > 0 {
		keep = max(keep, c.ShiftWindow+c.ShiftBase)
		d.sres = newRing(c.ShiftWindow)
	}
	d.values = newRing(keep)
	for i := range d.stats {
		d.stats[i] = newRecordStat(c.Memory)
	}
	d.scratch = make([]float64, max(keep, c.Memory))
	return d
}

// Period is the season the seasonal statistics use (0: none found yet).
func (d *AnomalyDetector) Period() int { return d.period }

// Observe feeds one value and returns an event when one fires. NaN values
// count as a position but are otherwise skipped (a gap is not an anomaly;
// the seasonal statistics count periods in values, not positions).
func (d *AnomalyDetector) Observe(y float64) (AnomalyEvent, bool) {
	idx := d.n
	d.n++
	if !isFinite(y) {
		return AnomalyEvent{}, false
	}
	var cand [4]struct {
		v, value, expected float64
		ok                 bool
	}
	c := d.c
	if d.level.n > 0 {
		exp := d.level.median()
		cand[statSpike].v, cand[statSpike].value, cand[statSpike].expected, cand[statSpike].ok = y-exp, y, exp, true
	}
	d.level.Update(y)
	d.values.push(y)
	d.nval++
	if w := c.ShiftWindow; w > 0 && d.values.len() >= w+c.ShiftBase {
		recent := d.scratch[:w]
		d.values.copyLast(recent, 0, w)
		mr := median(recent)
		old := d.scratch[:c.ShiftBase]
		d.values.copyLast(old, w, c.ShiftBase)
		mo := median(old)
		cand[statShift].v, cand[statShift].value, cand[statShift].expected, cand[statShift].ok = mr-mo, mr, mo, true
	}
	if c.MinPeriod > 0 && d.nval%c.Warmup == 0 {
		d.checkSeason()
	}
	if p := d.period; p > 0 && d.values.len() > 3*p {
		s := d.scratch[:3]
		for k := 1; k <= 3; k++ {
			s[k-1] = d.values.at(k * p)
		}
		exp := median(s)
		r := y - exp
		cand[statSeasonalSpike].v, cand[statSeasonalSpike].value, cand[statSeasonalSpike].expected, cand[statSeasonalSpike].ok = r, y, exp, true
		if c.ShiftWindow > 0 {
			d.sres.push(r)
			d.sresOK = min(d.sresOK+1, c.ShiftWindow)
			if d.sresOK == c.ShiftWindow {
				sum := 0.0
				for i := 0; i < c.ShiftWindow; i++ {
					sum += d.sres.at(i)
				}
				m := sum / float64(c.ShiftWindow)
				cand[statSeasonalShift].v, cand[statSeasonalShift].value, cand[statSeasonalShift].expected, cand[statSeasonalShift].ok = m, exp+m, exp, true
			}
		}
	}

	var ev AnomalyEvent
	fired, bestZ := false, 0.0
	live := d.nval > c.Warmup && d.quiet == 0
	for i := range d.stats {
		if !cand[i].ok {
			continue
		}
		st := &d.stats[i]
		if live && (i >= statSeasonalSpike) == d.seasonal {
			// The statistic furthest out names the event; a tie goes to
			// the earlier one (a spike before the shift it causes).
			if z, ratio, ok := st.excursion(cand[i].v, c, d.scratch); ok && (!fired || math.Abs(z) > bestZ) {
				ev = AnomalyEvent{Index: idx, Kind: statKinds[i], Value: cand[i].value, Expected: cand[i].expected, Score: clampScore(z), Ratio: clampScore(ratio)}
				fired, bestZ = true, math.Abs(z)
			}
		}
		st.push(cand[i].v)
	}
	if d.quiet > 0 {
		d.quiet--
	}
	if fired {
		d.quiet = c.Cooldown
	}
	return ev, fired
}

// checkSeason looks for a season in the values seen. A new period starts
// the seasonal statistics afresh: their records were of another model.
func (d *AnomalyDetector) checkSeason() {
	n := d.values.len()
	if n < 3*d.c.MinPeriod {
		return
	}
	y := make([]float64, n)
	d.values.copyLast(y, 0, n)
	// Three periods must fit: the seasonal median needs them.
	p := DetectPeriod(y, d.c.MinPeriod, min(n/3, d.c.MaxPeriod))
	if p == d.period {
		sc, g := d.scratch, d.c.SeasonGain
		d.seasonal = p > 0 && (d.stats[statSeasonalSpike].spread(sc) < g*d.stats[statSpike].spread(sc) ||
			d.stats[statSeasonalShift].spread(sc) < g*d.stats[statShift].spread(sc))
		return
	}
	d.period, d.seasonal = p, false
	d.stats[statSeasonalSpike] = newRecordStat(d.c.Memory)
	d.stats[statSeasonalShift] = newRecordStat(d.c.Memory)
	if d.c.ShiftWindow > 0 {
		d.sres = newRing(d.c.ShiftWindow)
		d.sresOK = 0
	}
}

// recordStat keeps one statistic over the memory: its values (for the
// robust scale) and the sliding maximum of each side.
type recordStat struct {
	vals     ring
	up, down slidingMax
	n        int
}

func newRecordStat(memory int) recordStat {
	return recordStat{vals: newRing(memory), up: newSlidingMax(memory), down: newSlidingMax(memory)}
}

// minStatValues is how many values of a statistic the memory must hold
// before its records mean anything.
const minStatValues = 30

// excursion tests v against the memory (before v joins it): the signed
// robust z and how many times the side's previous maximum it is.
func (s *recordStat) excursion(v float64, c AnomalyConfig, scratch []float64) (z, ratio float64, ok bool) {
	if s.vals.len() < minStatValues || v == 0 {
		return 0, 0, false
	}
	side := &s.up
	x := v
	if v < 0 {
		side, x = &s.down, -v
	}
	prev := math.Max(side.max(s.n, c.Memory), 0)
	if x <= c.Margin*prev {
		return 0, 0, false
	}
	med, sd := s.scale(scratch)
	switch {
	case sd > 0:
		z = (v - med) / sd
	case v != med:
		z = math.Copysign(math.Inf(1), v-med)
	}
	if z*math.Copysign(1, v) < c.Threshold {
		return 0, 0, false
	}
	ratio = math.Inf(1)
	if prev > 0 {
		ratio = x / prev
	}
	return z, ratio, true
}

// scale is the median of the statistic over the memory and its robust
// standard deviation: 1.4826·MAD, or, when more than half the values are
// equal (a statistic that is 0 except in bursts, a quantised metric) and
// the MAD is 0, 1.2533·mean absolute deviation from the median (the usual
// fallback of the modified z-score; both are σ for normal data).
func (s *recordStat) scale(scratch []float64) (med, sd float64) {
	k := s.vals.len()
	sc := scratch[:k]
	s.vals.copyLast(sc, 0, k)
	med, mad := medianMAD(sc) // sc now holds the absolute deviations
	if mad > 0 {
		return med, 1.4826 * mad
	}
	sum := 0.0
	for _, d := range sc {
		sum += d
	}
	return med, 1.2533 * sum / float64(max(k, 1))
}

// spread is the robust standard deviation of the statistic over the
// memory; +Inf with too few values.
func (s *recordStat) spread(scratch []float64) float64 {
	if s.vals.len() < minStatValues {
		return math.Inf(1)
	}
	_, sd := s.scale(scratch)
	return sd
}

func (s *recordStat) push(v float64) {
	s.vals.push(v)
	s.up.push(s.n, v)
	s.down.push(s.n, -v)
	s.n++
}

// ring is a fixed-size buffer of the last values pushed.
type ring struct {
	buf []float64
	n   int // values ever pushed
}

func newRing(size int) ring { return ring{buf: make([]float64, max(size, 1))} }

func (r *ring) push(v float64) {
	r.buf[r.n%len(r.buf)] = v
	r.n++
}

func (r *ring) len() int { return min(r.n, len(r.buf)) }

// at is the value pushed k pushes ago (0: the last one).
func (r *ring) at(k int) float64 { return r.buf[(r.n-1-k)%len(r.buf)] }

// copyLast copies into dst, oldest first, the len(dst) values that end
// skip pushes ago.
func (r *ring) copyLast(dst []float64, skip, count int) {
	for i := 0; i < count; i++ {
		dst[i] = r.at(skip + count - 1 - i)
	}
}

// slidingMax is the maximum over the last window values pushed (a
// monotonic deque: amortised O(1) per push).
type slidingMax struct {
	idx        []int
	val        []float64
	head, size int
}

func newSlidingMax(window int) slidingMax {
	return slidingMax{idx: make([]int, window+1), val: make([]float64, window+1)}
}

// push adds the value at position i; the deque never holds more than the
// window (len(idx) − 1) positions.
func (m *slidingMax) push(i int, v float64) {
	c := len(m.idx)
	m.expire(i+1, c-1)
	for m.size > 0 && m.val[(m.head+m.size-1)%c] <= v {
		m.size--
	}
	t := (m.head + m.size) % c
	m.idx[t], m.val[t] = i, v
	m.size++
}

// max is the maximum of the values pushed at positions [next−window,
// next); −Inf when there are none.
func (m *slidingMax) max(next, window int) float64 {
	m.expire(next, window)
	if m.size == 0 {
		return math.Inf(-1)
	}
	return m.val[m.head]
}

// expire drops the positions before next−window.
func (m *slidingMax) expire(next, window int) {
	c := len(m.idx)
	for m.size > 0 && m.idx[m.head] < next-window {
		m.head = (m.head + 1) % c
		m.size--
	}
}

// DetectAnomalies runs a detector over a whole series.
func DetectAnomalies(y []float64, c AnomalyConfig) []AnomalyEvent {
	d := NewAnomalyDetector(c)
	var out []AnomalyEvent
	for _, v := range y {
		if ev, ok := d.Observe(v); ok {
			out = append(out, ev)
		}
	}
	return out
}
