package shapers

import (
	"fmt"
	"math"
	"strings"

	"github.com/loadshaper/loadshaper/predictors"
)

// The reactive baselines: they act on what the metrics say now, which is
// what the predictive shaper must beat. Both keep a rate limit L and send
// min(planned rate, L).

// overLimit lists the envelope metrics whose fresh reading is over the limit.
func overLimit(s *Snapshot, env Limits) []string {
	var over []string
	for _, m := range env.Names() {
		if v, ok := s.Value(m); ok && v > env[m] {
			over = append(over, fmt.Sprintf("%s %.3g > %.3g", m, v, env[m]))
		}
	}
	return over
}

// allStale reports whether no envelope metric has a fresh reading.
func allStale(s *Snapshot, env Limits) bool {
	for _, m := range env.Names() {
		if _, ok := s.Value(m); ok {
			return false
		}
	}
	return true
}

// aimd is Netflix's AIMDLimit on a rate: on a breach L ← backoff·L, else
// while the limit is in use L ← L + increase.
type aimd struct {
	env                        Limits
	backoff, increase, minRate float64
	limit                      float64
}

func init() {
	Register("aimd", func(cfg Config, p Params) (Shaper, error) {
		return &aimd{env: cfg.Envelope, backoff: p.Float("backoff"), increase: p.Float("increase"), minRate: p.Float("min_rate")}, nil
	})
	Register("gradient", func(cfg Config, p Params) (Shaper, error) {
		return &gradient{env: cfg.Envelope, smoothing: p.Float("smoothing"), tolerance: p.Float("tolerance"),
			queue: p.Float("queue"), alpha: 2 / (p.Float("long_window") + 1), minRate: p.Float("min_rate"), long: map[string]float64{}}, nil
	})
}

func (a *aimd) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := a.env
	if env == nil {
		env = s.Envelope
	}
	if a.limit == 0 {
		a.limit = math.Max(in.Rate, a.minRate)
	}
	d := Decision{}
	switch over := overLimit(s, env); {
	case len(over) > 0:
		a.limit = math.Max(a.minRate, a.limit*a.backoff)
		d.Reason = "over the envelope: " + strings.Join(over, ", ")
		d.Contention = strings.Fields(over[0])[0]
	case allStale(s, env):
		d.Reason = "no fresh metric: holding the limit"
	case in.Rate >= a.limit:
		inc := a.increase
		if inc == 0 {
			inc = math.Max(1, math.Max(0.02*a.limit, 0.01*phasePeak(s, in)))
		}
		a.limit += inc
		d.Reason = "inside the envelope: limit +" + fmtRate(inc)
	}
	out := in
	out.Rate = math.Min(in.Rate, a.limit)
	if out.Rate < in.Rate && d.Reason == "" {
		d.Reason = "limit " + fmtRate(a.limit)
	}
	return out, d, nil
}

// gradient is Netflix's Gradient2Limit on a rate: g is the smallest of
// limit/reading over the envelope metrics (and tolerance·long/short for
// latency metrics), clamped to [0.5, 1]; L ← (1−s)·L + s·(g·L + queue),
// where the queue term is only added while no metric is over its limit
// (otherwise the fixed point would sit above the envelope).
type gradient struct {
	env                                Limits
	smoothing, tolerance, queue, alpha float64
	minRate, limit                     float64
	long                               map[string]float64
}

func (g *gradient) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := g.env
	if env == nil {
		env = s.Envelope
	}
	if g.limit == 0 {
		g.limit = math.Max(in.Rate, g.minRate)
	}
	d := Decision{}
	grad, by := 1.0, ""
	fresh := false
	for _, m := range env.Names() {
		v, ok := s.Value(m)
		if !ok || v <= 0 {
			continue
		}
		fresh = true
		gm := math.Min(1, env[m]/v)
		if predictors.IsLatencyMetric(m) {
			l, seen := g.long[m]
			if !seen {
				l = v
			}
			l = (1-g.alpha)*l + g.alpha*v
			g.long[m] = l
			gm = math.Min(gm, g.tolerance*l/v)
		}
		gm = math.Max(0.5, gm)
		if gm < grad {
			grad, by = gm, m
		}
	}
	if !fresh {
		d.Reason = "no fresh metric: holding the limit"
	} else if grad < 1 || in.Rate >= g.limit {
		q := 0.0
		if grad >= 1 {
			q = g.queue
			if q == 0 {
				q = math.Max(0.1*g.limit, 0.05*phasePeak(s, in))
			}
		}
		g.limit = math.Max(g.minRate, (1-g.smoothing)*g.limit+g.smoothing*(grad*g.limit+q))
		if by != "" {
			d.Contention = by
			d.Reason = fmt.Sprintf("gradient %.2f from %s", grad, by)
		} else {
			d.Reason = "inside the envelope: limit grows"
		}
	}
	out := in
	out.Rate = math.Min(in.Rate, g.limit)
	return out, d, nil
}

// phasePeak is the phase's highest planned rate as far as the snapshot
// tells (the rate at the end of the phase, or now).
func phasePeak(s *Snapshot, in Instruction) float64 {
	peak := math.Max(in.Rate, s.Phase.PlannedRate)
	if s.Phase.Duration > 0 {
		peak = math.Max(peak, s.Phase.PlannedAt(s.Phase.Duration))
	}
	return peak
}
