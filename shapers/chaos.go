package shapers

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// chaos puts the phase's planned chaos actions in force at their planned
// times (a spike multiplies the rate) and withholds those marked
// within_envelope while the predicted headroom does not allow them. It is
// idempotent: actions the runtime already put in the instruction are
// recognised by kind and end time, not added twice.
type chaos struct {
	env         Limits
	minHeadroom float64
}

func init() {
	Register("chaos", func(cfg Config, p Params) (Shaper, error) {
		return &chaos{env: cfg.Envelope, minHeadroom: p.Float("min_headroom")}, nil
	})
}

func (c *chaos) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := c.env
	if env == nil {
		env = s.Envelope
	}
	out := in
	phaseStart := s.Now - s.Phase.Elapsed
	// Rate before any spike already applied by the runtime.
	base := in.Rate
	for _, a := range in.Chaos {
		if a.Kind == "spike" && a.Factor > 0 {
			base /= a.Factor
		}
	}
	pressure, by := s.PredictedPressure(env)
	var kept []ChaosAction
	var notes []string
	d := Decision{}
	rate := base
	for _, p := range s.Phase.Chaos {
		el := s.Phase.Elapsed
		if el < p.At || el >= p.At+p.Duration {
			continue
		}
		act := ChaosAction{Kind: p.Kind, Factor: p.Factor, Fraction: p.Fraction, Headers: cloneMap(p.Headers), Until: phaseStart + p.At + p.Duration}
		if p.WithinEnvelope && len(env) > 0 {
			allowed, why := true, ""
			switch p.Kind {
			case "spike":
				// The metric is taken as proportional to load: conservative
				// when it has a floor.
				if f := math.Max(p.Factor, 1); pressure*f > 1 {
					allowed, why = false, fmt.Sprintf("%s would reach %.0f%% of its limit at ×%g", by, 100*pressure*f, p.Factor)
				}
			default:
				if 1-pressure < c.minHeadroom {
					allowed, why = false, fmt.Sprintf("%s headroom %.0f%% < %.0f%%", by, 100*(1-pressure), 100*c.minHeadroom)
				}
			}
			if !allowed {
				notes = append(notes, fmt.Sprintf("%s withheld: %s", p.Kind, why))
				d.Contention = by
				continue
			}
		}
		if p.Kind == "spike" && p.Factor > 0 {
			rate *= p.Factor
		}
		kept = append(kept, act)
		notes = append(notes, fmt.Sprintf("%s until %s", describeChaos(act), act.Until))
	}
	// Keep runtime-added actions the plan does not describe (none expected).
	for _, a := range in.Chaos {
		if !hasAction(s.Phase.Chaos, a, phaseStart) {
			kept = append(kept, a)
			if a.Kind == "spike" && a.Factor > 0 {
				rate *= a.Factor
			}
		}
	}
	out.Chaos = kept
	out.Rate = rate
	if len(notes) == 0 {
		return out, Decision{}, nil
	}
	d.Reason = strings.Join(notes, "; ")
	if !sameKinds(in.Chaos, kept) {
		d.Changed = fmt.Sprintf("chaos [%s] -> [%s]", kinds(in.Chaos), kinds(kept))
	}
	return out, d, nil
}

func describeChaos(a ChaosAction) string {
	switch a.Kind {
	case "spike":
		return fmt.Sprintf("spike ×%g", a.Factor)
	case "fault_header":
		return fmt.Sprintf("fault_header on %.0f%%", 100*a.Fraction)
	default:
		return fmt.Sprintf("%s on %.0f%%", a.Kind, 100*a.Fraction)
	}
}

func hasAction(plans []ChaosPlan, a ChaosAction, phaseStart time.Duration) bool {
	for _, p := range plans {
		if p.Kind == a.Kind && phaseStart+p.At+p.Duration == a.Until {
			return true
		}
	}
	return false
}

func kinds(as []ChaosAction) string {
	var k []string
	for _, a := range as {
		k = append(k, a.Kind)
	}
	return strings.Join(k, ", ")
}

func sameKinds(a, b []ChaosAction) bool { return kinds(a) == kinds(b) }
