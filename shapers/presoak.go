package shapers

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// presoak ends a warm-up phase once the metrics have settled — their
// coefficient of variation over a window below a threshold — or at a time
// limit, instead of after a fixed guess. The rate is left alone.
type presoak struct {
	env       Limits
	metrics   []string
	window    time.Duration
	threshold float64
	minDur    time.Duration
	maxDur    time.Duration
	done      map[string]bool
}

func init() {
	Register("presoak", func(cfg Config, p Params) (Shaper, error) {
		return &presoak{env: cfg.Envelope, metrics: p.Strings("metrics"), window: p.Duration("window"), threshold: p.Float("threshold"),
			minDur: p.Duration("min_duration"), maxDur: p.Duration("max_duration"), done: map[string]bool{}}, nil
	})
}

func (ps *presoak) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	if ps.done[s.Phase.Name] {
		return in, Decision{}, nil
	}
	names := ps.metrics
	if len(names) == 0 {
		env := ps.env
		if env == nil {
			env = s.Envelope
		}
		names = env.Names()
	}
	if len(names) == 0 {
		for n := range s.Metrics {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	settled := len(names) > 0 && s.Phase.Elapsed >= ps.minDur
	var parts []string
	need := int(0.8 * float64(ps.window) / float64(s.interval()))
	for _, m := range names {
		pts := s.Series(m, ps.window)
		if len(pts) < max(need, 3) {
			settled = false
			parts = append(parts, fmt.Sprintf("%s: %d of %d readings", m, len(pts), max(need, 3)))
			continue
		}
		cv := coeffVar(pts)
		parts = append(parts, fmt.Sprintf("%s cv %.1f%%", m, 100*cv))
		if cv > ps.threshold {
			settled = false
		}
	}
	maxDur := ps.maxDur
	if maxDur == 0 || (s.Phase.Duration > 0 && maxDur > s.Phase.Duration) {
		maxDur = s.Phase.Duration
	}
	out := in
	d := Decision{}
	// End at the tick whose end reaches the limit.
	atLimit := maxDur > 0 && s.Phase.Elapsed+s.interval() >= maxDur
	switch {
	case settled:
		out.EndPhase = true
		d.Finding = fmt.Sprintf("presoak settled after %s (%s over %s)", s.Phase.Elapsed+s.interval(), strings.Join(parts, ", "), ps.window)
	case atLimit:
		out.EndPhase = true
		d.Finding = fmt.Sprintf("presoak ended at its time limit %s without settling (%s)", maxDur, strings.Join(parts, ", "))
	default:
		return in, Decision{Reason: "settling: " + strings.Join(parts, ", ")}, nil
	}
	ps.done[s.Phase.Name] = true
	d.Reason = d.Finding
	d.Changed = "end of phase " + s.Phase.Name
	return out, d, nil
}

// coeffVar is stddev/|mean| of the points (stddev alone when the mean is ~0).
func coeffVar(pts []Point) float64 {
	var sum, sq float64
	for _, p := range pts {
		sum += p.Value
	}
	mean := sum / float64(len(pts))
	for _, p := range pts {
		sq += (p.Value - mean) * (p.Value - mean)
	}
	sd := math.Sqrt(sq / float64(len(pts)))
	if math.Abs(mean) < 1e-9 {
		return sd
	}
	return sd / math.Abs(mean)
}
