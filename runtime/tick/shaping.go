package tick

import (
	"maps"
	"math"
	"slices"

	"github.com/loadshaper/loadshaper/shapers"
)

// shapingPoint is the tick's ShapingPoint, for the live view and the
// run's report: built from what one control step has in hand — the
// snapshot the shapers saw (readings and predictor blocks' forecasts), the
// instruction before them, the instruction the step hands the engine and
// the tick's decisions (the chain's, safe mode's and the intents'). A new
// point every tick: the summary's timeline keeps each one.
func (c *Controller) shapingPoint(snap *shapers.Snapshot, in, out shapers.Instruction, ds []shapers.Decision) *ShapingPoint {
	p := &ShapingPoint{Planned: in.Rate, SafeMode: out.SafeMode}
	for _, d := range ds {
		if d.Changed == "" && !d.Fallback && d.Contention == "" {
			continue
		}
		p.Decisions = append(p.Decisions, ShaperMark{Shaper: d.Shaper, Strategy: d.Strategy, Changed: d.Changed, Reason: d.Reason,
			RateBefore: d.RateBefore, RateAfter: d.RateAfter, Contention: d.Contention, Fallback: d.Fallback, Error: firstLine(d.Error)})
	}
	binding := ""
	if b := p.Binding(); b != nil {
		binding = b.Shaper
	}
	limits := c.reportLimits()
	for _, m := range slices.Sorted(maps.Keys(limits)) {
		r := EnvelopeReading{Metric: m, Limit: limits[m]}
		var mt shapers.Metric
		ok := false
		if snap != nil { // nil while paused
			mt, ok = snap.Metrics[m]
		}
		if ok && !math.IsNaN(mt.Value) {
			r.Value, r.Stale = mt.Value, mt.Stale
		} else {
			r.Missing = true
		}
		r.Prediction = bandOf(m, binding, ds, snap)
		p.Envelope = append(p.Envelope, r)
	}
	return p
}

// bandOf is the prediction of metric m the tick acted on: the binding
// shaper's, else the last shaper's that predicts m, else a predictor
// block's forecast.
func bandOf(m, binding string, ds []shapers.Decision, snap *shapers.Snapshot) *Band {
	var best *Band
	for _, d := range ds {
		for _, b := range d.Bands {
			if b.Metric != m || math.IsNaN(b.Value) || math.IsInf(b.Upper, 0) {
				continue
			}
			band := &Band{Value: b.Value, Lower: b.Lower, Upper: b.Upper, HorizonS: b.Horizon.Seconds(), By: d.Shaper}
			if best == nil || best.By != binding {
				best = band
			}
		}
	}
	if best != nil {
		return best
	}
	if snap == nil {
		return nil
	}
	if pr, ok := snap.Predictions[m]; ok && !math.IsNaN(pr.Value) && !math.IsInf(pr.Upper, 0) && !math.IsInf(pr.Lower, 0) {
		return &Band{Value: pr.Value, Lower: pr.Lower, Upper: pr.Upper, HorizonS: pr.Horizon.Seconds(), By: "predictor " + pr.Model}
	}
	return nil
}

// reportLimits are the metrics of every envelope of the plan with the
// tightest limit of each: what the report draws each reading against.
func (c *Controller) reportLimits() shapers.Limits {
	out := shapers.Limits{}
	for _, e := range c.plan.Envelopes {
		for _, lim := range e.Limits {
			if v, ok := out[lim.Metric]; !ok || lim.Max < v {
				out[lim.Metric] = lim.Max
			}
		}
	}
	return out
}
