package shapers

import "time"

// Instruction is what the generators are told to do for one control tick.
// The phase builds the first one from the plan; every shaper of the chain
// may return a changed copy; the runtime clamps the last one to the hard
// limits and hands it to the generators.
type Instruction struct {
	// Rate is the total arrival rate in requests per second (open model).
	Rate float64
	// Concurrency is the number of virtual users (closed model); 0 in the open model.
	Concurrency int
	// Mix is the weight of each request by name. Weights need not sum to 1.
	Mix map[string]float64
	// Shed is the fraction (0..1) of each priority class to shed this tick,
	// by class name (stdlib.PriorityClasses). Absent means 0.
	Shed map[string]float64
	// Distribution is each generator's share of Rate, by generator name
	// (one generator per target). Absent or empty means by request mix.
	Distribution map[string]float64
	// Chaos are the chaos actions in force this tick.
	Chaos []ChaosAction
	// EndPhase asks the runtime to end the current phase after this tick
	// (presoak sets it once the metrics have settled).
	EndPhase bool
	// EndReason says why EndPhase is set, for the run's summary; the
	// control loop fills it from the decision that asked.
	EndReason string
	// SafeMode is set by the control loop when an envelope metric is stale
	// and the rate is held or lowered for it: "hold" or "lower" and why.
	// The live view shows it.
	SafeMode string
	// Growth names the plan's growth intents in force this tick, already
	// applied to the planned Rate (or Concurrency) by the runtime:
	// `growth "sale" ×2`; "" when none is. The live view shows it.
	Growth string
}

// ChaosAction is one chaos action in force during a tick.
type ChaosAction struct {
	Kind     string            // spike | abort | slow_client | fault_header
	Factor   float64           // spike: rate multiplier (already applied to Rate)
	Fraction float64           // share of requests affected
	Headers  map[string]string // fault_header
	Until    time.Duration     // run time at which it ends
}

// Clone returns a deep copy, so a shaper can change its copy freely.
func (in Instruction) Clone() Instruction {
	out := in
	out.Mix = cloneMap(in.Mix)
	out.Shed = cloneMap(in.Shed)
	out.Distribution = cloneMap(in.Distribution)
	if in.Chaos != nil {
		out.Chaos = make([]ChaosAction, len(in.Chaos))
		for i, c := range in.Chaos {
			c.Headers = cloneMap(c.Headers)
			out.Chaos[i] = c
		}
	}
	return out
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Decision records what one shaper did in one tick and why.
type Decision struct {
	Tick       int
	Shaper     string  // the shaper block's name
	Strategy   string  // built-in strategy or "script"
	Changed    string  // what changed, e.g. "rate 5000 -> 3120"; "" when nothing did
	Reason     string  // why, in the user's words
	Prediction string  // the prediction that drove it, e.g. "cpu 0.83 at +30s (band 0.78-0.88)"
	RateBefore float64 // Instruction.Rate before this shaper
	RateAfter  float64 // Instruction.Rate after this shaper
	Fallback   bool    // true when a failing script was replaced by the safe built-in

	// Contention is the envelope metric that binds the rate, "" when none does.
	Contention string
	// Finding is a conclusion worth keeping in the run's history and summary
	// (a sustainable rate found, an anomaly confirmed as load-driven).
	Finding string
	// ShedRate is the expected requests per second shed this tick, by
	// priority class; nil when nothing is shed.
	ShedRate map[string]float64
	// Error is the shaper's error when Fallback is set, with the script's
	// backtrace (file:line) for Starlark rules.
	Error string
	// Bands are the predictions behind the decision in numbers, one per
	// envelope metric the shaper predicts: what it expects the metric to
	// read at the rate it chose, Horizon from now. The run's report draws
	// them against the readings and the limit. Nil when it predicts nothing.
	Bands []Prediction
}
