package tick

// ShapingPoint is what one control tick saw and decided: each envelope
// metric's reading against its limit with the prediction behind it, the
// rate before the shapers, the shapers that acted and why, and safe mode
// (Result.Shaping). A run hands it to the engine as TickStats.Shaping
// before the live view draws the tick; the summary keeps it in
// TickPoint.Shaping, which the HTML report charts.
type ShapingPoint struct {
	// Planned is the instruction's rate before the shapers: the phase's
	// rate shape times the growth in force, chaos spikes included. The
	// shaped rate is TickPoint.Rate.
	Planned  float64           `json:"planned_rate"`
	Envelope []EnvelopeReading `json:"envelope,omitempty"`
	// Decisions are the shapers that changed the instruction, failed or
	// named a contention point this tick, in chain order.
	Decisions []ShaperMark `json:"decisions,omitempty"`
	// SafeMode says why the loop held or lowered the rate when an envelope
	// metric was stale; "" when it did not.
	SafeMode string `json:"safe_mode,omitempty"`
}

// EnvelopeReading is one envelope metric in one tick, in its base unit
// (a fraction for cpu, seconds for latency, bytes for memory).
type EnvelopeReading struct {
	Metric string  `json:"metric"`
	Limit  float64 `json:"limit"`           // the tightest of the plan's envelopes
	Value  float64 `json:"value"`           // the reading the shapers saw (the last one when stale)
	Stale  bool    `json:"stale,omitempty"` // the reading is older than its source's interval
	// Missing: no reading at all this tick (Value is 0).
	Missing bool `json:"missing,omitempty"`
	// Prediction is the band the shapers acted on, when one predicts the
	// metric: a shaper's (at the rate it chose) or a predictor block's.
	Prediction *Band `json:"prediction,omitempty"`
}

// Band is a prediction of an envelope metric made at a tick, for Horizon
// later.
type Band struct {
	Value    float64 `json:"value"` // the point forecast
	Lower    float64 `json:"lower"` // the band's bounds; a one-sided band has Lower = Value
	Upper    float64 `json:"upper"`
	HorizonS float64 `json:"horizon_s"`
	By       string  `json:"by"` // the shaper, or "predictor <name>"
}

// ShaperMark is one shaper's decision in a tick.
type ShaperMark struct {
	Shaper     string  `json:"shaper"`
	Strategy   string  `json:"strategy,omitempty"`
	Changed    string  `json:"changed,omitempty"` // e.g. "rate 500 -> 312"; "" when nothing changed
	Reason     string  `json:"reason,omitempty"`
	RateBefore float64 `json:"rate_before"`
	RateAfter  float64 `json:"rate_after"`
	Contention string  `json:"contention,omitempty"` // the envelope metric that binds
	Fallback   bool    `json:"fallback,omitempty"`   // it failed and the safe built-in took its place
	// Error is the first line of a failure: for a rule, file:line:col, the
	// function and the message (the whole backtrace is in history).
	Error string `json:"error,omitempty"`
}

// Binding is the decision that set the tick's rate: the last in the chain
// that moved it. Nil when no shaper changed the rate.
func (p *ShapingPoint) Binding() *ShaperMark {
	if p == nil {
		return nil
	}
	for i := len(p.Decisions) - 1; i >= 0; i-- {
		if d := &p.Decisions[i]; d.RateAfter != d.RateBefore {
			return d
		}
	}
	return nil
}

// Fallbacks are the tick's decisions whose shaper failed.
func (p *ShapingPoint) Fallbacks() []ShaperMark {
	if p == nil {
		return nil
	}
	var out []ShaperMark
	for _, d := range p.Decisions {
		if d.Fallback {
			out = append(out, d)
		}
	}
	return out
}
