package shapers

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// The learned strategy: a rate policy trained by `loadshaper train`
// against simulated targets (runtime/train), not written by hand. It is
// small on purpose, so a user can read what it learnt: a linear map of a
// handful of features of the tick, squashed by tanh, is the relative
// change of the rate for the next tick.

// Features are the inputs of a learned policy, in the order of its
// weights. Pressure is a reading over its envelope limit (the metric with
// the most pressure after the lag binds).
var Features = []string{
	"bias",             // 1
	"pressure",         // reading / limit
	"trend",            // change of pressure per tick, smoothed
	"pressure_at_lag",  // pressure + trend × the lag in ticks: where the reading is heading
	"band",             // a predictor's upper bound / limit (pressure_at_lag without one)
	"share_of_plan",    // the rate sent last tick / the planned rate
	"last_change",      // relative change of the rate sent, last tick
	"headroom_squared", // (1 − pressure_at_lag)², signed: large steps far from the limit
}

// Policy is a learned rate policy: a = tanh(Weights · features); the rate
// becomes the last rate × (1 + a·MaxUp) when a > 0, × (1 + a·MaxDown) when
// a < 0, never above the planned rate.
type Policy struct {
	Version  int       `json:"version"`
	Features []string  `json:"features"`
	Weights  []float64 `json:"weights"`
	MaxUp    float64   `json:"max_up"`   // largest increase per tick, fraction of the rate
	MaxDown  float64   `json:"max_down"` // largest decrease per tick
	// Trained says what it was trained on (episodes, scenarios, seed); ""
	// for the untrained default.
	Trained string `json:"trained,omitempty"`
}

// PolicyVersion is the version of Policy this build reads.
const PolicyVersion = 1

// DefaultPolicy is the untrained policy: a proportional rule on where the
// reading is heading (aim at 90% of the limit), which training starts from.
func DefaultPolicy() Policy {
	w := make([]float64, len(Features))
	w[0], w[3] = 2.7, -3 // a = tanh(3·(0.9 − pressure_at_lag))
	return Policy{Version: PolicyVersion, Features: append([]string(nil), Features...), Weights: w, MaxUp: 0.15, MaxDown: 0.3}
}

// ParsePolicy reads a policy written by `loadshaper train`.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	return p, p.Check()
}

// Check reports a policy this build cannot use.
func (p Policy) Check() error {
	switch {
	case p.Version != PolicyVersion:
		return fmt.Errorf("policy version %d, this loadshaper reads %d: train it again", p.Version, PolicyVersion)
	case len(p.Weights) != len(Features) || strings.Join(p.Features, ",") != strings.Join(Features, ","):
		return fmt.Errorf("policy features %v, this loadshaper computes %v: train it again", p.Features, Features)
	case !(p.MaxUp > 0 && p.MaxUp <= 1 && p.MaxDown > 0 && p.MaxDown < 1):
		return fmt.Errorf("policy steps up %g, down %g: want 0 < up ≤ 1, 0 < down < 1", p.MaxUp, p.MaxDown)
	}
	for _, w := range p.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("policy has a weight %v", w)
		}
	}
	return nil
}

// Act is the policy's relative rate change for features x.
func (p Policy) Act(x []float64) float64 {
	z := 0.0
	for i, w := range p.Weights {
		z += w * x[i]
	}
	a := math.Tanh(z)
	if a >= 0 {
		return a * p.MaxUp
	}
	return a * p.MaxDown
}

// Describe says what the policy does, for the summary and `models show`:
// its weights by feature, largest first.
func (p Policy) Describe() string {
	type fw struct {
		f string
		w float64
	}
	var ws []fw
	for i, w := range p.Weights {
		ws = append(ws, fw{p.Features[i], w})
	}
	for i := range ws {
		for j := i + 1; j < len(ws); j++ {
			if math.Abs(ws[j].w) > math.Abs(ws[i].w) {
				ws[i], ws[j] = ws[j], ws[i]
			}
		}
	}
	parts := make([]string, len(ws))
	for i, x := range ws {
		parts[i] = fmt.Sprintf("%s %+.2f", x.f, x.w)
	}
	return fmt.Sprintf("tanh(%s) → up to +%.0f%%/−%.0f%% a tick", strings.Join(parts, ", "), 100*p.MaxUp, 100*p.MaxDown)
}

// learned is the strategy's shaper.
type learned struct {
	env        Limits
	policy     Policy
	untrained  bool
	probeStart float64
	minRate    float64

	pressure, trend map[string]float64 // per envelope metric, last tick
	last, prev      float64            // rates sent, last tick and the one before
}

func init() {
	Register("learned", func(cfg Config, p Params) (Shaper, error) {
		l := &learned{env: cfg.Envelope, policy: DefaultPolicy(), untrained: true, probeStart: p.Float("probe_start"), minRate: p.Float("min_rate"),
			pressure: map[string]float64{}, trend: map[string]float64{}}
		if cfg.Policy != nil {
			if err := cfg.Policy.Check(); err != nil {
				return nil, fmt.Errorf("shaper %q: %w", cfg.Name, err)
			}
			l.policy, l.untrained = *cfg.Policy, false
		}
		return l, nil
	})
}

// Policy is the policy the shaper acts with.
func (l *learned) Policy() Policy { return l.policy }

// features computes the policy's inputs from the snapshot, for the
// envelope metric whose pressure after the lag is highest; ok is false
// when no envelope metric has a fresh reading.
func (l *learned) features(s *Snapshot, env Limits, planned float64) (x []float64, metric string, ok bool) {
	interval := s.interval().Seconds()
	best := math.Inf(-1)
	var p, at, band float64
	for _, m := range env.Names() {
		v, fresh := s.Value(m)
		lim := env[m]
		if !fresh || lim <= 0 {
			continue
		}
		pm := v / lim
		if prev, seen := l.pressure[m]; seen {
			l.trend[m] = 0.5*l.trend[m] + 0.5*(pm-prev)
		}
		l.pressure[m] = pm
		mt := s.Metrics[m]
		lag := math.Max(1, (mt.Window+mt.Age).Seconds()/interval)
		if a := pm + lag*l.trend[m]; a > best {
			best, metric, p, at, band = a, m, pm, a, a
			if pr, has := s.Predictions[m]; has && !math.IsNaN(pr.Upper) {
				band = pr.Upper / lim
			}
		}
	}
	if metric == "" {
		return nil, "", false
	}
	share, change := 1.0, 0.0
	if planned > 0 && l.last > 0 {
		share = math.Min(l.last/planned, 2)
	}
	if l.prev > 0 {
		change = (l.last - l.prev) / l.prev
	}
	h := 1 - at
	return []float64{1, clip(p, 0, 3), clip(l.trend[metric], -1, 1), clip(at, 0, 3), clip(band, 0, 3), share, clip(change, -1, 1), math.Copysign(h*h, h)}, metric, true
}

func clip(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }

func (l *learned) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := l.env
	if env == nil {
		env = s.Envelope
	}
	d := Decision{}
	if l.last <= 0 {
		l.last = math.Max(l.minRate, in.Rate*l.probeStart)
	}
	rate := l.last
	x, metric, ok := l.features(s, env, in.Rate)
	switch {
	case !ok:
		d.Reason = "no fresh envelope reading: holding the rate"
	default:
		a := l.policy.Act(x)
		rate = math.Max(l.minRate, l.last*(1+a))
		d.Contention = metric
		d.Reason = fmt.Sprintf("%s pressure %.2f, heading to %.2f: rate %+.1f%%", metric, x[1], x[3], 100*a)
		if l.untrained {
			d.Reason += " (untrained default policy: run loadshaper train)"
		}
	}
	out := in
	out.Rate = math.Min(in.Rate, rate)
	l.prev, l.last = l.last, out.Rate
	return out, d, nil
}
