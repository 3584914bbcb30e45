package tick

// The predictions a run and a dry-run keep every tick: one time-series
// model per predictor block of the plan (refitted now and then, updated in
// between, adjusted by deployment intents) and one anomaly detector per
// envelope metric. They fill Snapshot.Predictions and Snapshot.Anomalies,
// so runs and dry-runs show shapers the same thing.

import (
	"math"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/predictors"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

// forecaster keeps one predictor block's model over a metric of the run:
// every tick it takes the reading, refits now and then (Update in
// between), and forecasts the horizon, so shapers see Snapshot.Predictions.
type forecaster struct {
	name           string // the predictor block
	target, metric string
	spec           predictors.Spec
	model          *predictors.Forecaster // nil until the first fit; it can be saved (state.go)
	history        int                    // readings kept
	horizon        int                    // ticks
	ys             []float64
	sinceFit       int
	fitted         bool
}

// refitEvery is how many ticks a model runs on Update before it is refitted
// on the whole window (fitting optimises the smoothing parameters).
const refitEvery = 10

// newForecasters keeps a model per predictor block that forecasts its
// metric over time, built with the parameters the block sets
// (stdlib.ModelSpec; load_response and usl describe the metric against
// load instead, which predictive_rate_limit learns itself).
func newForecasters(plan *lang.Plan, tick time.Duration) []*forecaster {
	var out []*forecaster
	for _, p := range plan.Predictors {
		spec, ok := stdlib.ModelSpec(p.Model, p.Params, tick)
		if !ok {
			continue
		}
		target := p.Target
		if target == "" && len(plan.Targets) > 0 {
			target = plan.Targets[0].Name
		}
		h := max(1, int(p.Horizon/tick))
		hist := min(max(int(p.History/tick), 30), 600)
		if 2*spec.Period+2 > hist {
			// Two seasons do not fit in the readings kept: detect the
			// period instead, rather than never forecasting.
			spec.Period = 0
		}
		out = append(out, &forecaster{name: p.Name, target: target, metric: p.Metric, spec: spec, history: hist, horizon: h})
	}
	return out
}

// observe is observeAt without intents.
func (f *forecaster) observe(y float64, tick time.Duration) (shapers.Prediction, bool) {
	return f.observeAt(y, tick, 0, nil)
}

// observeAt takes this tick's reading (NaN when stale) and returns the
// forecast over the horizon: the point forecast at the horizon and the
// widest band on the way there.
//
// Deployment intents for the metric (or for every metric) whose At falls
// after now scale the forecast points from At on by their Change, value
// and band, as the dry-run's simulated target changes at At. Intents at or
// before now are left to the model, which has seen (or will see) the
// readings after them.
func (f *forecaster) observeAt(y float64, tick, now time.Duration, intents []shapers.Intent) (shapers.Prediction, bool) {
	f.ys = append(f.ys, y)
	if len(f.ys) > f.history {
		f.ys = f.ys[len(f.ys)-f.history:]
	}
	finite := 0
	for _, v := range f.ys {
		if !math.IsNaN(v) {
			finite++
		}
	}
	if finite < 10 {
		return shapers.Prediction{}, false
	}
	if !f.fitted || f.sinceFit >= refitEvery {
		m, err := predictors.NewForecaster(f.spec)
		if err != nil {
			return shapers.Prediction{}, false
		}
		if err := m.Fit(f.ys); err != nil {
			f.fitted = false
			return shapers.Prediction{}, false
		}
		f.model, f.fitted, f.sinceFit = m, true, 0
	} else {
		f.model.Update(y)
		f.sinceFit++
	}
	fc := f.model.Model.Forecast(f.horizon, 0.95)
	if len(fc.Mean) == 0 {
		return shapers.Prediction{}, false
	}
	applyDeploys(&fc, f.metric, now, tick, intents)
	p := shapers.Prediction{Metric: f.metric, Model: f.model.Model.Name(), Horizon: time.Duration(f.horizon) * tick,
		Value: fc.Mean[len(fc.Mean)-1], Lower: math.Inf(1), Upper: math.Inf(-1)}
	for i := range fc.Mean {
		p.Lower = math.Min(p.Lower, fc.Lower[i])
		p.Upper = math.Max(p.Upper, fc.Upper[i])
	}
	if math.IsNaN(p.Value) || math.IsInf(p.Upper, 0) || math.IsNaN(p.Upper) {
		return shapers.Prediction{}, false
	}
	return p, true
}

// detector flags anomalies of one envelope metric of the first target.
type detector struct {
	metric string
	d      *predictors.ZScoreDetector
}

func newDetectors(env shapers.Limits) []*detector {
	var out []*detector
	for _, m := range env.Names() {
		out = append(out, &detector{metric: m, d: predictors.NewZScoreDetector(predictors.ZScoreConfig{Window: 120, ShiftWindow: 15})})
	}
	return out
}

// Predictions are the predictor blocks' forecasters and the envelope
// metrics' anomaly detectors of one run or dry-run.
type Predictions struct {
	plan        *lang.Plan
	tick        time.Duration
	forecasters []*forecaster
	detectors   []*detector
}

// NewPredictions keeps a model per time-series predictor block of plan and
// an anomaly detector per metric of env, for a control tick of tick.
func NewPredictions(plan *lang.Plan, tick time.Duration, env shapers.Limits) *Predictions {
	return &Predictions{plan: plan, tick: tick, forecasters: newForecasters(plan, tick), detectors: newDetectors(env)}
}

// Fill takes this tick's readings from snap and fills its predictions and
// anomalies.
func (l *Predictions) Fill(snap *shapers.Snapshot) {
	if l == nil {
		return
	}
	for _, f := range l.forecasters {
		y := math.NaN()
		if m, ok := snap.Targets[f.target][f.metric]; ok && !m.Stale {
			y = m.Value
		}
		if p, ok := f.observeAt(y, l.tick, snap.Now, snap.Intents); ok {
			if snap.Predictions == nil {
				snap.Predictions = map[string]shapers.Prediction{}
			}
			key := f.metric
			if len(l.plan.Targets) > 1 {
				// Also under "<target>.<metric>", the name distribute reads.
				snap.Predictions[f.target+"."+f.metric] = p
				if f.target != l.plan.Targets[0].Name {
					continue
				}
			}
			snap.Predictions[key] = p
		}
	}
	for _, d := range l.detectors {
		y := math.NaN()
		if v, ok := snap.Value(d.metric); ok {
			y = v
		}
		if ev, ok := d.d.Observe(y); ok {
			snap.Anomalies = append(snap.Anomalies, shapers.Anomaly{Metric: d.metric, Kind: string(ev.Kind), Score: ev.Score, Since: snap.Now})
		}
	}
}
