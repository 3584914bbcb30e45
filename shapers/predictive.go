package shapers

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// predictive_rate_limit: every tick, learn metric ≈ a + b·rate on
// lag-aligned pairs, forecast the drift of the residual, and send the
// largest rate whose upper prediction bound stays under the envelope —
// never more than the plan, and never more than a step above last tick.
// See spec/shapers.md and PREDICTION.md ("a sketch of what makes it
// predictive").
type predictive struct {
	env                          Limits
	z, maxStep, minStep, probe   float64
	lambda, sat, maxErr, backoff float64
	minRate                      float64
	horizon                      time.Duration

	models   map[string]*predictors.ResponseLine
	drift    map[string]*predictors.ResidualTrend
	lag      predictors.LagEstimator
	sentPrev []float64            // rate of the tick before each call
	ys       map[string][]float64 // readings at each call (NaN = none)
	calls    int
	errEWMA  float64
	reactive bool
	shifts   map[string]int       // consecutive large residuals, per metric
	skip     map[string]int       // readings not to learn from after a shift (they straddle it)
	settled  int                  // ticks the fit has been identified and accurate; the lag is kept from 30 on
	hinted   bool                 // the lag's first guess came from the readings' Age and Window
	ratios   map[string][]float64 // recent reading/rate of lag-aligned pairs, for the model-free bound's noise
	relearn  map[string]int       // ticks left, after a level shift, during which the model-free bound stays in force
	resid    map[string][]float64 // the line's recent one-step-ahead errors, for its band's noise
	knee     map[string]knee      // the last unforeseen crossing of each metric's limit
	distrust map[string]bool      // the line contradicted the evidence last tick
}

func init() {
	Register("predictive_rate_limit", func(cfg Config, p Params) (Shaper, error) {
		tick := cfg.Tick
		if tick <= 0 {
			tick = time.Second
		}
		pr := &predictive{
			env: cfg.Envelope, z: p.Float("confidence"), maxStep: p.Float("max_step"), minStep: p.Float("min_step"),
			probe: p.Float("probe_start"), lambda: p.Float("forgetting"), sat: p.Float("saturation"),
			maxErr: p.Float("max_error"), backoff: p.Float("backoff"), minRate: p.Float("min_rate"), horizon: p.Duration("horizon"),
			models: map[string]*predictors.ResponseLine{}, drift: map[string]*predictors.ResidualTrend{}, ys: map[string][]float64{}, shifts: map[string]int{}, skip: map[string]int{}, ratios: map[string][]float64{}, relearn: map[string]int{}, resid: map[string][]float64{}, knee: map[string]knee{}, distrust: map[string]bool{},
		}
		maxLag := max(1, int(math.Round(float64(p.Duration("max_lag"))/float64(tick))))
		pr.lag = predictors.LagEstimator{D: min(2, maxLag), W: 3, MaxLag: maxLag, Window: 90}
		if l := p.Duration("lag"); l > 0 {
			pr.lag = predictors.LagEstimator{D: max(1, int(math.Round(float64(l)/float64(tick)))), W: 1, Fixed: true, MaxLag: maxLag}
		}
		return pr, nil
	})
}

func (pr *predictive) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := pr.env
	if env == nil {
		env = s.Envelope
	}
	if len(env) == 0 {
		return in, Decision{}, fmt.Errorf("predictive_rate_limit needs an envelope (envelope = envelope.<name>)")
	}
	out := in
	d := Decision{}
	pr.calls++
	first := len(s.Sent) == 0
	prev := s.LastSent(in.Rate)
	if first {
		pr.sentPrev = append(pr.sentPrev, math.NaN())
	} else {
		pr.sentPrev = append(pr.sentPrev, prev)
	}
	names := env.Names()
	for _, m := range names {
		y := math.NaN()
		if v, ok := s.Value(m); ok {
			y = v
		}
		pr.ys[m] = append(pr.ys[m], y)
	}
	if len(pr.sentPrev) > 2*historyTicks {
		pr.sentPrev = append([]float64(nil), pr.sentPrev[historyTicks:]...)
		for _, m := range names {
			pr.ys[m] = append([]float64(nil), pr.ys[m][historyTicks:]...)
		}
	}
	interval := s.interval()

	// 1. Lag: first guessed from the source's Age and Window, then estimated
	// on the first non-latency metric, from readings below saturation.
	if !pr.hinted && !pr.lag.Fixed {
		for _, m := range names {
			if mt, ok := s.Metrics[m]; ok && !mt.Stale && (mt.Age > 0 || mt.Window > 0) {
				pr.lag.W = min(pr.lag.MaxLag, max(1, int(math.Round(float64(mt.Window)/float64(interval)))))
				pr.lag.D = min(pr.lag.MaxLag-pr.lag.W+1, max(1, int(math.Ceil(float64(mt.Age)/float64(interval)))))
				pr.hinted = true
				break
			}
		}
	}
	for _, m := range names {
		if predictors.IsLatencyMetric(m) || pr.settled >= 30 {
			continue
		}
		ys := make([]float64, len(pr.ys[m]))
		for i, y := range pr.ys[m] {
			if y > pr.sat*env[m] {
				y = math.NaN()
			}
			ys[i] = y
		}
		pr.lag.Estimate(pr.sentPrev, ys)
		break
	}
	lagD, lagW := pr.lag.D, pr.lag.W
	// The reading describes, on average, the load of this long ago.
	lagDur := time.Duration(float64(interval) * (float64(lagD) + float64(lagW-1)/2))

	// 2. Learn from the lag-aligned pair; check the model against it first.
	var errSum float64
	var errN int
	xs := map[string]float64{} // aligned rate of this tick's reading, per metric
	for _, m := range names {
		lim := env[m]
		ys := pr.ys[m]
		k := len(ys) - 1
		x, y := predictors.AlignedRate(pr.sentPrev, k, lagD, lagW), ys[k]
		if math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		xs[m] = x
		if x > 0 && y > 0 && y <= pr.sat*env[m] { // a pinned reading says nothing of the ratio
			r := append(pr.ratios[m], y/x)
			if len(r) > 15 {
				r = r[len(r)-15:]
			}
			pr.ratios[m] = r
		}
		mod := pr.models[m]
		if mod == nil {
			mod = predictors.NewResponseLine(pr.lambda, predictors.IsLatencyMetric(m))
			pr.models[m] = mod
			pr.drift[m] = &predictors.ResidualTrend{Alpha: 0.3, Beta: 0.1}
		}
		floor := 0.01 * lim
		// A reading over the limit that the line did not foresee (above its
		// band, or with no line yet) marks a knee: a limit that gives no
		// warning below it, like a rate limiter's queue or a pool running
		// dry. The rate is held under the rates that crossed it for a
		// while, rather than found again by crossing it.
		// Only the onset counts: the readings after it, over the limit
		// while the rate is being cut, describe the same excursion.
		if y > lim && !first && (k < 1 || !(ys[k-1] > lim)) {
			if _, up, ok := mod.Predict(x, pr.z, floor); !ok || y > up || pr.reactive || pr.distrust[m] {
				pr.knee[m] = knee{rate: pr.spanMax(k, lagD, lagW), ttl: halfLife(pr.lambda), at: s.Now}
			}
		}
		if mean, _, ok := mod.Predict(x, pr.z, floor); ok && y <= pr.sat*lim {
			e := y - mean
			if mod.Weight() >= 10 {
				errSum += math.Abs(e) / lim
				errN++
			}
			_, _, sigma, _, _ := mod.Fit()
			if !mod.Inverse() {
				pr.drift[m].Update(e)
				r := append(pr.resid[m], e)
				if len(r) > residTicks {
					r = r[len(r)-residTicks:]
				}
				pr.resid[m] = r
			}
			// A level shift (capacity halved, a deploy): readings far outside
			// the band twice running. Forget most of the old fit.
			if math.Abs(e) > 4*math.Max(sigma, floor) && math.Abs(e) > 0.05*lim {
				pr.shifts[m]++
			} else {
				pr.shifts[m] = 0
			}
			if pr.shifts[m] >= 2 {
				mod.Forget(0)
				pr.drift[m] = &predictors.ResidualTrend{Alpha: 0.3, Beta: 0.1}
				pr.shifts[m] = 0
				pr.errEWMA, pr.reactive = 0, false // a known shift, not a wrong model
				pr.skip[m] = lagD + lagW
				// The reading/rate ratios of the old system are not noise
				// of the new one; and the new line rests on a few pairs
				// taken while the rate was being cut, so the model-free
				// bound stays in force until the readings have seen the
				// new system for twice the lag, and until the pairs taken
				// during the cut weigh under about 60% of the fit (half the
				// forgetting's time constant).
				delete(pr.ratios, m)
				delete(pr.resid, m)
				pr.relearn[m] = max(2*(lagD+lagW)+5, halfLife(pr.lambda))
				d.Reason = fmt.Sprintf("%s left its predicted band: relearning", m)
			}
		}
		if pr.skip[m] > 0 {
			pr.skip[m]--
		} else if y <= pr.sat*lim {
			mod.Observe(x, y)
		}
		// The band's noise: the line's recent prediction errors (their
		// RMS, so a bias counts too) when there are enough of them.
		if r := pr.resid[m]; len(r) >= residTicks {
			ss := 0.0
			for _, e := range r {
				ss += e * e
			}
			mod.CapNoise(math.Sqrt(ss / float64(len(r))))
		} else {
			mod.CapNoise(0)
		}
	}
	if errN > 0 {
		pr.errEWMA = 0.8*pr.errEWMA + 0.2*errSum/float64(errN)
	}
	if errN > 0 && pr.errEWMA < pr.maxErr/2 {
		pr.settled++
	}
	if !pr.reactive && pr.errEWMA > pr.maxErr {
		pr.reactive = true
	} else if pr.reactive && pr.errEWMA < pr.maxErr/2 {
		pr.reactive = false
	}

	// 3. Safe rate per metric; the lowest binds.
	peak := in.Rate
	if s.Phase.Duration > 0 {
		peak = math.Max(peak, s.Phase.PlannedAt(s.Phase.Duration))
	}
	hi := math.Max(peak, prev)*4 + 1
	safe, binding, pred := math.Inf(1), "", ""
	var bindIns []Intent // the deployment intents behind the binding metric's safe rate
	identified := false
	// Evidence: the highest recent rate each metric's readings were
	// comfortably under its limit at. A line whose safe rate is well below
	// it contradicts what was seen (a steep line through noisy pairs in a
	// narrow band of rates): it is not trusted, and that metric is guarded
	// by the model-free bound as before the fit was identified.
	evid := map[string]float64{}
	contra := map[string]bool{}
	maxFac := 1.0 // the largest deployment factor ahead: the evidence is of the system before it
	for _, m := range names {
		if e, ok := pr.evidence(m, env[m], lagD, lagW); ok {
			evid[m] = e
		}
	}
	for _, m := range names {
		mod := pr.models[m]
		if mod == nil {
			continue
		}
		lim := env[m]
		floor := 0.01 * lim
		eff := lim
		if !mod.Inverse() {
			eff -= math.Max(0, pr.drift[m].Forecast(float64(lagD)))
		}
		// Deployment intents: the metric after At is predicted × Change, so
		// the rate is safe under the limit ÷ Change for the whole horizon.
		// Kept until the readings after At have reached the model (the lag
		// and two ticks), or the old fit would let the rate climb back.
		fac, ins := deployFactor(s.Intents, m, s.Now-lagDur-2*interval, s.Now+pr.horizon)
		maxFac = math.Max(maxFac, fac)
		// The evidence is of the system as it is: the contradiction check
		// is on the line as fitted, before any deployment ahead.
		r, ok := predictors.LineSafeRate(mod, eff, pr.z, floor, hi)
		if ok && r < evidenceDiscount*evid[m] {
			contra[m] = true
			continue
		}
		if _, _, _, _, fitted := mod.Fit(); fitted {
			identified = true
		}
		if fac != 1 {
			r, ok = predictors.LineSafeRate(mod, eff/fac, pr.z, floor, hi)
		}
		if !ok {
			continue
		}
		if r < safe {
			safe, binding = r, m
			mean, up, _ := mod.Predict(in.Rate, pr.z, floor)
			pred = fmt.Sprintf("%s %.3g (band ≤%.3g) at the planned %s rps; safe rate %s rps; lag %s",
				m, mean, up, fmtRate(in.Rate), fmtRate(r), lagDur)
			bindIns = ins
			if len(ins) > 0 {
				pred += fmt.Sprintf("; after %s: %.3g (band ≤%.3g)", describeIntents(ins), mean*fac, up*fac)
			}
		}
	}

	// 4. Model-free bound: scale the rate behind each fresh reading to its
	// limit (a line through the origin, conservative when the metric has a
	// floor). It guards the first ticks, before the fit is identified, and
	// any reading over its limit — against the rate that caused it, so an
	// overshoot the model already corrected is not cut twice.
	guard, guardBy := math.Inf(1), ""
	var guardIns []Intent
	for _, m := range names {
		x, ok := xs[m]
		if !ok || x <= 0 {
			continue
		}
		lim := env[m]
		ys := pr.ys[m]
		y := ys[len(ys)-1]
		if pr.relearn[m] > 0 {
			pr.relearn[m]--
		} else if identified && !pr.reactive && y <= lim && !contra[m] {
			continue
		}
		// Keep the band's floor as margin, or more when the readings are
		// noisy: the robust spread of reading/rate over the last pairs.
		margin := pr.z * math.Max(0.01, relNoise(pr.ratios[m]))
		ratio := lim * (1 - math.Min(margin, 0.5)) / y
		if y > pr.sat*lim {
			ratio = 0.5 // pinned: how far over is unknown
		} else if predictors.IsLatencyMetric(m) {
			ratio = math.Sqrt(ratio)
		}
		g := x * math.Max(ratio, 0.5)
		fac, ins := deployFactor(s.Intents, m, s.Now-lagDur-2*interval, s.Now+pr.horizon)
		if fac > 1 {
			g /= fac // a deployment ahead (or not yet in the readings): the reading × Change must fit too
		}
		if y > lim && !first {
			g = math.Min(g, prev) // never raise the rate while a reading is over its limit
		}
		if k, ok := pr.knee[m]; ok && k.at == s.Now && !first {
			// A knee found this tick: the reading scaled to the limit says
			// how far under the rates that crossed it the knee may lie (a
			// capacity that halved is far under the rate that found it).
			// The reading scaled to its limit without the noise margin
			// (the knee is a level, not a band).
			r := lim / y
			if y > pr.sat*lim {
				r = 0.5
			} else if predictors.IsLatencyMetric(m) {
				r = math.Sqrt(r)
			}
			k.rate = math.Min(k.rate, x*math.Max(r, 0.5)/evidenceDiscount)
			pr.knee[m] = k
		}
		if g < guard {
			guard, guardBy, guardIns = g, m, ins
		}
	}

	target := in.Rate
	var why []string
	if d.Reason != "" {
		why = append(why, d.Reason)
	}
	switch {
	case first:
		target = math.Min(target, in.Rate*pr.probe)
		why = append(why, "first tick: probing")
	case pr.reactive:
		// The conservative rule: the model-free bound below (each reading
		// scaled to its limit, against the rate that caused it); without a
		// reading to scale, AIMD.
		if math.IsInf(guard, 1) {
			if p, m := s.Pressure(env); p > 1 {
				target = math.Min(target, prev*pr.backoff)
				d.Contention = m
			} else {
				target = math.Min(target, prev*1.02+0.005*peak)
			}
		}
		why = append(why, fmt.Sprintf("model error %.2f > %.2f: reactive fallback", pr.errEWMA, pr.maxErr))
	case safe < target:
		target = safe
		d.Contention = binding
		why = append(why, fmt.Sprintf("%s binds: predicted to reach %.3g at %s rps", binding, env[binding], fmtRate(safe)))
		if len(bindIns) > 0 {
			why[len(why)-1] += " after " + describeIntents(bindIns)
		}
	case !identified:
		why = append(why, "probing: the load-response is not learnt yet")
		if len(xs) == 0 && !farBelow(s, env, 0.5) {
			// Nothing seen yet of what was sent, and the readings are not
			// far from the limits: hold. Far below them, stepping up (under
			// the step limit) is safe even before the lag is known.
			target = math.Min(target, prev)
		}
	}
	// Evidence floor: a line or the reactive rule never sends far below
	// the highest recent rate at which every metric read comfortably under
	// its limit (a reading over a limit withdraws the evidence before it).
	// The model-free bound below may still cut under it: it scales a
	// reading to its limit, so it never collapses, and it answers the
	// readings themselves.
	if ev, ok := evidenceFloor(names, evid); ok && !first {
		if fl := math.Min(evidenceDiscount*ev/maxFac, in.Rate); target < fl {
			target = fl
			why = append(why, fmt.Sprintf("evidence floor: readings at %s rps were under every limit", fmtRate(ev)))
		}
	}
	for _, m := range names {
		k, ok := pr.knee[m]
		if !ok || k.ttl <= 0 || math.IsInf(k.rate, 1) || math.IsNaN(k.rate) {
			continue
		}
		k.ttl--
		pr.knee[m] = k
		if c := evidenceDiscount * k.rate; target > c {
			target = c
			d.Contention = m
			why = append(why, fmt.Sprintf("%s crossed its limit unforeseen at %s rps (%s ago): held under that", m, fmtRate(k.rate), (s.Now-k.at).Round(time.Second)))
		}
	}
	if guard < target {
		target = guard
		d.Contention = guardBy
		why = append(why, fmt.Sprintf("%s reading bounds the rate at %s rps", guardBy, fmtRate(guard)))
		if len(guardIns) > 0 {
			why[len(why)-1] += " after " + describeIntents(guardIns)
		}
	}
	for _, m := range names {
		pr.distrust[m] = contra[m]
		if contra[m] {
			why = append(why, fmt.Sprintf("the %s line contradicts readings under its limit at %s rps: not trusted", m, fmtRate(evid[m])))
		}
	}
	if !first {
		up := prev*(1+pr.maxStep) + pr.minStep*peak
		// After a level shift, the readings of a raised rate arrive only a
		// lag later, and a step per tick compounds over that lag (1.1⁷ ≈ 2)
		// with nothing seen of the new system: the rate may rise one step
		// above the highest rate a reading since the shift found under the
		// limit, and holds while there is none.
		for _, m := range names {
			if pr.relearn[m] <= 0 {
				continue
			}
			ceil := prev
			if e, ok := evid[m]; ok {
				ceil = math.Max(prev, e*(1+pr.maxStep)+pr.minStep*peak)
			}
			if ceil < up {
				up = ceil
			}
		}
		if target > up {
			target = up
			why = append(why, "step limit")
		}
	}
	target = math.Max(target, math.Min(pr.minRate, in.Rate))
	out.Rate = target
	d.Prediction = pred
	d.Bands = pr.bands(names, env, target, lagDur)
	if binding != "" && s.Phase.Planned != nil {
		if at, ok := reachTime(s, safe, pr.horizon); ok && at > 0 {
			why = append(why, fmt.Sprintf("the planned rate would reach the %s limit in %s", binding, at))
			if g := upcomingGrowth(s, at); len(g) > 0 {
				why[len(why)-1] += " (with " + describeIntents(g) + ")"
			}
		}
	}
	d.Reason = strings.Join(why, "; ")
	return out, d, nil
}

// bands is what the lines predict each envelope metric will read at rate,
// a lag from now (when the readings of that rate arrive): the point
// forecast and the upper bound the shaper holds under the limit. The band
// is one-sided, so Lower is the point forecast.
func (pr *predictive) bands(names []string, env Limits, rate float64, lag time.Duration) []Prediction {
	var out []Prediction
	for _, m := range names {
		mod := pr.models[m]
		if mod == nil {
			continue
		}
		if mean, up, ok := mod.Predict(rate, pr.z, 0.01*env[m]); ok && !math.IsNaN(mean) && !math.IsInf(up, 0) {
			out = append(out, Prediction{Metric: m, Model: "load_response", Horizon: lag, Value: mean, Lower: mean, Upper: up})
		}
	}
	return out
}

// evidenceTicks is how far back the evidence floor looks; evidenceUnder is
// "comfortably under" a limit; evidenceDiscount is the floor's share of
// the rate seen there.
const (
	evidenceTicks    = 30
	evidenceUnder    = 0.9
	evidenceDiscount = 0.9
)

// evidence is the highest rate behind the last evidenceTicks readings of m
// (the lowest rate sent over the span each may describe) that were at most evidenceUnder of its limit, since its
// last reading over the limit; ok is false with no such reading.
func (pr *predictive) evidence(m string, lim float64, lagD, lagW int) (float64, bool) {
	ys := pr.ys[m]
	best, ok := 0.0, false
	for k := len(ys) - 1; k >= 0 && k >= len(ys)-evidenceTicks; k-- {
		// The lowest rate sent over the span the reading may describe
		// (the aligned window, a tick wider each side, up to the reading):
		// the lag estimate can be off, and the evidence must not be.
		x, y := math.Inf(1), ys[k]
		for i := max(k-lagD-lagW, 0); i <= k; i++ {
			x = math.Min(x, pr.sentPrev[i])
		}
		if math.IsNaN(x) || math.IsInf(x, 1) || math.IsNaN(y) || k-lagD-lagW < 0 {
			continue
		}
		if y > lim {
			// Over the limit: what was seen before it no longer holds
			// (the target may have changed); only later readings count.
			break
		} else if y <= evidenceUnder*lim && x > best {
			best, ok = x, true
		}
	}
	return best, ok
}

// knee is an unforeseen crossing of a limit: the highest rate sent over
// the span the reading that first crossed it may describe — or less, when
// that reading scaled to its limit says the knee lies further under — how
// many more ticks the rate is held under it, and when it was seen. The
// rate is held at evidenceDiscount of it; a knee lower still is found by
// the next crossing, from a lower rate.
type knee struct {
	rate float64
	ttl  int
	at   time.Duration
}

// spanMax is the highest rate sent over the span the reading at k may
// describe (the aligned window, a tick wider each side, up to the
// reading); +Inf when none is known.
func (pr *predictive) spanMax(k, lagD, lagW int) float64 {
	x, ok := 0.0, false
	for i := max(k-lagD-lagW, 0); i <= k && i < len(pr.sentPrev); i++ {
		if v := pr.sentPrev[i]; !math.IsNaN(v) {
			x, ok = math.Max(x, v), true
		}
	}
	if !ok {
		return math.Inf(1)
	}
	return x
}

// evidenceFloor is the lowest evidence over the metrics that have readings
// in the window (every one of them was under its limit there); a metric
// with readings but none comfortably under leaves no floor.
func evidenceFloor(names []string, evid map[string]float64) (float64, bool) {
	fl, ok := math.Inf(1), false
	for _, m := range names {
		if e, has := evid[m]; has {
			fl, ok = math.Min(fl, e), true
		}
	}
	return fl, ok && fl > 0
}

// residTicks is how many recent prediction errors set the band's noise.
const residTicks = 10

// halfLife is half the time constant, in ticks, of a fit that keeps
// lambda of its weight per tick (at most 120 ticks; lambda 1 never forgets).
func halfLife(lambda float64) int {
	if lambda >= 1 {
		return 120
	}
	return min(120, int(math.Round(0.5/(1-lambda))))
}

// historyTicks is how many ticks of rates and readings the shaper keeps.
const historyTicks = 600

// reachTime is how long until the planned rate first exceeds rate, looking
// at most horizon ahead within the phase.
func reachTime(s *Snapshot, rate float64, horizon time.Duration) (time.Duration, bool) {
	step := s.interval()
	for ahead := time.Duration(0); ahead <= horizon; ahead += step {
		e := s.Phase.Elapsed + ahead
		if s.Phase.Duration > 0 && e > s.Phase.Duration {
			break
		}
		if s.Phase.PlannedAt(e)*growthAt(s.Intents, s.Now, s.Now+ahead) > rate {
			return ahead, true
		}
	}
	return 0, false
}

// upcomingGrowth are the growth intents taking effect within ahead of now.
func upcomingGrowth(s *Snapshot, ahead time.Duration) []Intent {
	var out []Intent
	for _, in := range sortedByAt(s.Intents) {
		if in.Kind == "growth" && in.upcoming(s.Now, ahead) {
			out = append(out, in)
		}
	}
	return out
}

// farBelow reports whether every envelope metric has a fresh reading at
// most frac of its limit.
func farBelow(s *Snapshot, env Limits, frac float64) bool {
	for _, m := range env.Names() {
		v, ok := s.Value(m)
		if !ok || v > frac*env[m] {
			return false
		}
	}
	return len(env) > 0
}

// relNoise is the robust relative spread (1.4826·MAD/median) of a few
// values; 0 with fewer than 5.
func relNoise(v []float64) float64 {
	if len(v) < 5 {
		return 0
	}
	med := median(v)
	if med <= 0 {
		return 0
	}
	dev := make([]float64, len(v))
	for i, x := range v {
		dev[i] = math.Abs(x - med)
	}
	return 1.4826 * median(dev) / med
}
