package predictors

import "math"

// MetricLimit is one metric of the envelope: its limit and the model of
// how it responds to offered rate.
type MetricLimit struct {
	Name  string
	Limit float64 // the envelope's ceiling for the metric, in the metric's unit
	Model *LoadResponse
}

// EnvelopeRequest is the input of ComputeEnvelope. Times are seconds on the
// caller's clock; rates are requests per second. Zero values take the
// documented defaults.
type EnvelopeRequest struct {
	Now     float64 // current time
	Horizon float64 // look-ahead, seconds; default 30
	Step    float64 // control tick, seconds (one model sample per tick); default 1

	PlannedRate float64                 // the rate the plan wants now
	Planned     func(t float64) float64 // optional: the planned rate at time t (a ramp); overrides PlannedRate
	MaxRate     float64                 // search ceiling for the safe rate (the plan's max_rate); required > 0
	MinRate     float64                 // floor for a metric whose model is not ready yet

	Level  float64 // one-sided level of the upper bound; default 0.95
	Margin float64 // extra fraction kept below each limit (0.05 = stay under 95%); default 0
	Probe  float64 // growth allowed past the highest rate seen while a model is not ready; default 0.1

	Metrics []MetricLimit
	Intents []Intent
}

// MetricEnvelope is the per-metric part of an Envelope.
type MetricEnvelope struct {
	Name      string  `json:"name"`
	Limit     float64 `json:"limit"`
	SafeRate  float64 `json:"safe_rate"`
	Expected  float64 `json:"expected"`  // predicted value at the planned rate now
	Upper     float64 `json:"upper"`     // its upper bound (with drift)
	Breaches  bool    `json:"breaches"`  // the planned rate passes the limit within the horizon
	BreachIn  float64 `json:"breach_in"` // seconds from Now, when Breaches
	Confident bool    `json:"confident"` // the model was ready
}

// Envelope is the result of ComputeEnvelope.
type Envelope struct {
	SafeRate     float64          `json:"safe_rate"`     // the largest rate that stays inside every limit for the horizon
	Binding      string           `json:"binding"`       // contention point: the metric that sets SafeRate ("" if none binds below MaxRate)
	BreachMetric string           `json:"breach_metric"` // first metric the planned rate would push past its limit ("" if none)
	BreachIn     float64          `json:"breach_in"`     // seconds from Now until that breach (0 when BreachMetric is "")
	Confident    bool             `json:"confident"`     // every model was ready
	Metrics      []MetricEnvelope `json:"metrics"`
}

const maxEnvelopeSteps = 240

// ComputeEnvelope computes the safe operating envelope: the calculation the
// predictive shaper runs every tick (see PREDICTION.md, "the predictive
// rate limit"). It fills out from req and returns an error only for an
// unusable request (no MaxRate, a metric without a model, a bad limit).
//
// For each limited metric m with a load-response model, the upper
// prediction bound of m at offered rate r and time t in the horizon is
//
//	U_m(r, t) = a + f_m(t)·(μ(r) − a) + D_m + z·√(se(r)² + se_D²)
//
// where μ(r) and se(r) come from the model (a = μ(0) is the intercept),
// f_m(t) is the product of the deploy intents for m that take effect
// after Now and by t, D_m is the worst forecast drift of the model's
// residuals over the horizon (with standard error se_D) and z is the
// one-sided normal quantile of Level. The metric's safe rate is the largest
// r in [0, MaxRate] such that U_m(r', t) ≤ Limit·(1 − Margin) for every r' ≤ r
// and every t in the horizon; the envelope's safe rate is the minimum over
// metrics, and the metric attaining it is the contention point.
//
// Separately, the planned rate (PlannedRate or Planned(t), times growth
// intents in effect) is walked through the horizon tick by tick; the first
// metric whose upper bound passes its limit, and when, is reported as the
// predicted breach.
//
// A metric whose model is not Ready (too few samples, or only one rate
// seen) cannot be inverted honestly: its safe rate is the highest rate the
// model has seen times (1 + Probe) (at least MinRate), and the envelope is
// marked not Confident — the shaper should ramp in small steps until the
// band narrows.
//
// Intents whose At is at or before Now are ignored: the forgetting factor
// lets the models learn a change once it has happened.
//
// ComputeEnvelope does not allocate when out.Metrics has capacity for the
// request's metrics; it is a few microseconds per metric.
func ComputeEnvelope(req *EnvelopeRequest, out *Envelope) error {
	r := *req
	if r.Horizon <= 0 {
		r.Horizon = 30
	}
	if r.Step <= 0 {
		r.Step = 1
	}
	if !(r.Level > 0 && r.Level < 1) {
		r.Level = 0.95
	}
	if r.Probe <= 0 {
		r.Probe = 0.1
	}
	if !(r.MaxRate > 0) || !isFinite(r.MaxRate) {
		return badParam("envelope: MaxRate must be a positive number, got %v", r.MaxRate)
	}
	if r.Margin < 0 || r.Margin >= 1 {
		return badParam("envelope: Margin %v outside [0, 1)", r.Margin)
	}
	for _, m := range r.Metrics {
		if m.Model == nil {
			return badParam("envelope: metric %q has no model", m.Name)
		}
		if !isFinite(m.Limit) {
			return badParam("envelope: metric %q has limit %v", m.Name, m.Limit)
		}
	}
	z := normQuantile(r.Level)
	steps := int(math.Ceil(r.Horizon / r.Step))
	if steps < 1 {
		steps = 1
	}

	// The highest planned rate over the horizon: a metric whose safe rate
	// is above it cannot breach, which saves walking its horizon.
	stride := max(1, steps/maxEnvelopeSteps)
	maxPlanned := 0.0
	for k := 0; k <= steps; k += stride {
		maxPlanned = math.Max(maxPlanned, plannedAt(&r, r.Now+float64(k)*r.Step))
	}
	*out = Envelope{SafeRate: r.MaxRate, Confident: true, Metrics: out.Metrics[:0]}
	for _, ml := range r.Metrics {
		me := MetricEnvelope{Name: ml.Name, Limit: ml.Limit, Confident: ml.Model.Ready()}
		lim := ml.Limit * (1 - r.Margin)
		fmin, fmax := deployRange(&r, ml.Name)
		var d, sd float64
		if me.Confident {
			d, sd = ml.Model.Drift(steps)
		}
		sd2 := sd * sd
		ev := ml.Model.eval()
		a, _ := ev.at(0)
		upper := func(rate, f float64) float64 {
			mu, se := ev.at(rate)
			return a + f*(mu-a) + d + z*math.Sqrt(se*se+sd2)
		}
		// The bound is linear in the deploy factor f, so its worst case
		// over the horizon is at fmax where the load adds to the metric
		// and at fmin where it (oddly) subtracts: one prediction per rate.
		worst := func(rate float64) float64 {
			mu, se := ev.at(rate)
			f := fmax
			if mu < a {
				f = fmin
			}
			return a + f*(mu-a) + d + z*math.Sqrt(se*se+sd2)
		}

		if me.Confident {
			me.SafeRate = invertUpper(worst, lim, r.MaxRate)
		} else {
			out.Confident = false
			me.SafeRate = math.Min(r.MaxRate, math.Max(ml.Model.MaxRate()*(1+r.Probe), r.MinRate))
		}
		p0 := plannedAt(&r, r.Now)
		me.Expected, _ = ev.at(p0)
		me.Upper = upper(p0, 1)
		if !isFinite(me.Expected) {
			me.Expected = 0
		}
		if !isFinite(me.Upper) {
			me.Upper = 0
		}
		if me.Confident && maxPlanned > me.SafeRate {
			// Only a plan that goes past the safe rate can breach; walk it.
			for k := 0; k <= steps; k += stride {
				t := r.Now + float64(k)*r.Step
				if upper(plannedAt(&r, t), deployAt(&r, ml.Name, t)) > lim {
					me.Breaches, me.BreachIn = true, t-r.Now
					break
				}
			}
		} else if p0 > me.SafeRate {
			// Not ready: planning past the probe ceiling is itself the risk.
			me.Breaches, me.BreachIn = true, 0
		}
		if me.SafeRate < out.SafeRate {
			out.SafeRate, out.Binding = me.SafeRate, ml.Name
		}
		if me.Breaches && (out.BreachMetric == "" || me.BreachIn < out.BreachIn) {
			out.BreachMetric, out.BreachIn = ml.Name, me.BreachIn
		}
		out.Metrics = append(out.Metrics, me)
	}
	return nil
}

// invertUpper returns the largest r in [0, hi] with u(r') ≤ lim for all
// r' ≤ r: a coarse scan finds the first crossing (u need not be monotone
// for a quadratic), then bisection narrows it to hi·2⁻²⁰ (a millionth of
// the search range is far below any rate a generator can hold).
func invertUpper(u func(float64) float64, lim, hi float64) float64 {
	const scan = 16
	if !(u(0) <= lim) {
		return 0
	}
	lo := 0.0
	for i := 1; i <= scan; i++ {
		x := hi * float64(i) / scan
		if !(u(x) <= lim) {
			a, b := lo, x
			for j := 0; j < 16; j++ {
				mid := (a + b) / 2
				if u(mid) <= lim {
					a = mid
				} else {
					b = mid
				}
			}
			return a
		}
		lo = x
	}
	return hi
}

func plannedAt(r *EnvelopeRequest, t float64) float64 {
	p := r.PlannedRate
	if r.Planned != nil {
		p = r.Planned(t)
	}
	for _, in := range r.Intents {
		if in.Kind == IntentGrowth && in.Factor > 0 && in.At > r.Now && in.At <= t {
			p *= in.Factor
		}
	}
	if !isFinite(p) || p < 0 {
		return 0
	}
	return p
}

func deployAt(r *EnvelopeRequest, metric string, t float64) float64 {
	f := 1.0
	for _, in := range r.Intents {
		if in.Kind == IntentDeploy && in.Factor > 0 && in.At > r.Now && in.At <= t && (in.Metric == "" || in.Metric == metric) {
			f *= in.Factor
		}
	}
	return f
}

// deployRange is the smallest and largest cumulative deploy factor for
// metric over the horizon (1 included: the time before the first intent).
func deployRange(r *EnvelopeRequest, metric string) (lo, hi float64) {
	lo, hi = 1, 1
	end := r.Now + r.Horizon
	// Cumulative products in time order; intents are few (at most 8 are
	// considered per metric), so an insertion sort on the stack will do.
	var at [8]float64
	n := 0
	for _, in := range r.Intents {
		if in.Kind == IntentDeploy && in.Factor > 0 && in.At > r.Now && in.At <= end && (in.Metric == "" || in.Metric == metric) {
			if n < len(at) {
				at[n] = in.At
				n++
			}
		}
	}
	if n == 0 {
		return
	}
	ts := at[:n]
	for i := 1; i < n; i++ {
		for j := i; j > 0 && ts[j] < ts[j-1]; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
	for _, t := range ts {
		f := deployAt(r, metric, t)
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	return
}

// LineSafeRate is the envelope inversion for a ResponseLine: the largest
// rate in [0, hi] whose upper bound (Predict with z and floor) stays at or
// under limit, found by bisection to a millionth of hi. The bound is the
// line plus a band that widens away from the rates the line was fitted on
// (convex in the rate, so the rates under the limit are one interval):
// the search starts inside that interval — at the fitted rates' mean, or
// at 0 — and bisects towards hi, so a band that only bulges over the limit
// far below the data (pairs in a narrow band of rates) does not turn the
// answer into 0. It returns hi when even hi stays under the limit and 0
// when no rate does. ok is false when the line is not identified or the
// metric does not grow with load (it does not bind).
//
// It is what predictive_rate_limit and capacity_search run for each metric
// every tick; ComputeEnvelope is the richer calculation over LoadResponse
// models (intents, drift, the planned rate's breach time).
func LineSafeRate(m *ResponseLine, limit, z, floor, hi float64) (float64, bool) {
	_, b, _, _, ok := m.Fit()
	if !ok || b <= 0 {
		return 0, false
	}
	over := func(x float64) bool {
		_, up, _ := m.Predict(x, z, floor)
		return !(up <= limit)
	}
	if !over(hi) {
		return hi, true
	}
	// A rate under the limit to search up from: the data's centre, where
	// the band is narrowest, else 0 (the interval lies below the centre).
	lo := math.Min(math.Max(m.sx/m.w, 0), hi)
	if over(lo) {
		if over(0) {
			return 0, true
		}
		hi, lo = lo, 0
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
