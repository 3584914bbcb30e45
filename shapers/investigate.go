package shapers

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// investigate reacts to an anomaly — flagged by the predictors, or a
// metric that moves while the load is steady — by holding the rate, then
// stepping back and re-approaching, to tell a load-driven change from a
// transient one. The conclusion is recorded as a finding.
type investigate struct {
	env                  Limits
	hold, approach, cool time.Duration
	back, tolerance, z   float64
	detect               bool

	state   int // idle, holding, back, approaching
	since   time.Duration
	metric  string
	rate    float64 // rate at the anomaly
	atAnom  float64 // the metric at the anomaly
	atBack  float64 // the metric after stepping back
	coolEnd time.Duration
	streak  map[string]int
}

const (
	invIdle = iota
	invHold
	invBack
	invApproach
)

func init() {
	Register("investigate", func(cfg Config, p Params) (Shaper, error) {
		return &investigate{env: cfg.Envelope, hold: p.Duration("hold"), approach: p.Duration("approach"), cool: p.Duration("cooldown"),
			back: p.Float("step_back"), tolerance: p.Float("tolerance"), z: 3.5, detect: p.Bool("detect"), streak: map[string]int{}}, nil
	})
}

func (iv *investigate) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := iv.env
	if env == nil {
		env = s.Envelope
	}
	out := in
	d := Decision{}
	now := s.Now
	prev := s.LastSent(in.Rate)
	switch iv.state {
	case invIdle:
		if now < iv.coolEnd {
			return in, d, nil
		}
		m, why := iv.anomaly(s, env)
		if m == "" {
			return in, d, nil
		}
		v, _ := s.Value(m)
		iv.state, iv.since, iv.metric, iv.rate, iv.atAnom = invHold, now, m, prev, v
		out.Rate = math.Min(in.Rate, iv.rate)
		d.Reason = fmt.Sprintf("anomaly on %s (%s) at %s rps: holding", m, why, fmtRate(iv.rate))
	case invHold:
		out.Rate = math.Min(in.Rate, iv.rate)
		d.Reason = fmt.Sprintf("investigating %s: holding at %s rps", iv.metric, fmtRate(iv.rate))
		if now-iv.since >= iv.hold {
			iv.state, iv.since = invBack, now
		}
	case invBack:
		out.Rate = math.Min(in.Rate, iv.rate*iv.back)
		d.Reason = fmt.Sprintf("investigating %s: stepped back to %s rps", iv.metric, fmtRate(out.Rate))
		if now-iv.since >= iv.hold {
			iv.atBack, _ = s.Value(iv.metric)
			iv.state, iv.since = invApproach, now
		}
	case invApproach:
		f := math.Min(1, float64(now-iv.since)/float64(iv.approach))
		target := iv.rate * (iv.back + (1-iv.back)*f)
		out.Rate = math.Min(in.Rate, target)
		d.Reason = fmt.Sprintf("investigating %s: re-approaching %s rps (%.0f%%)", iv.metric, fmtRate(iv.rate), 100*f)
		// Conclude once back at the anomaly's rate for a hold period.
		if now-iv.since >= iv.approach+iv.hold {
			v, _ := s.Value(iv.metric)
			rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-9) }
			if rel(iv.atBack, iv.atAnom) >= iv.tolerance && rel(v, iv.atAnom) < iv.tolerance {
				d.Finding = fmt.Sprintf("%s anomaly is load-driven: %.3g at %s rps, %.3g at %s rps, %.3g again at %s rps",
					iv.metric, iv.atAnom, fmtRate(iv.rate), iv.atBack, fmtRate(iv.rate*iv.back), v, fmtRate(iv.rate))
			} else {
				d.Finding = fmt.Sprintf("%s anomaly is not load-driven: %.3g at %s rps at the anomaly, %.3g stepped back to %s rps, %.3g on re-approach",
					iv.metric, iv.atAnom, fmtRate(iv.rate), iv.atBack, fmtRate(iv.rate*iv.back), v)
			}
			d.Reason = d.Finding
			iv.state, iv.coolEnd = invIdle, now+iv.cool
			iv.streak = map[string]int{}
		}
	}
	return out, d, nil
}

// anomaly returns the metric to investigate and why, or "".
func (iv *investigate) anomaly(s *Snapshot, env Limits) (string, string) {
	for _, a := range s.Anomalies {
		if _, ok := s.Value(a.Metric); ok {
			return a.Metric, fmt.Sprintf("%s, score %.1f", a.Kind, a.Score)
		}
	}
	if !iv.detect {
		return "", ""
	}
	// A metric that moves while the rate is steady.
	rates := s.Sent
	if len(rates) < 30 {
		return "", ""
	}
	recent := rates[len(rates)-30:]
	lo, hi := math.Inf(1), 0.0
	for _, r := range recent {
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	if hi-lo > 0.05*hi {
		iv.streak = map[string]int{}
		return "", ""
	}
	names := env.Names()
	if len(names) == 0 {
		for n := range s.Metrics {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	for _, m := range names {
		pts := s.Series(m, 60*s.interval())
		v, ok := s.Value(m)
		if !ok || len(pts) < 20 {
			continue
		}
		vals := make([]float64, 0, len(pts)-1)
		for _, p := range pts[:len(pts)-1] {
			vals = append(vals, p.Value)
		}
		med := median(vals)
		dev := make([]float64, len(vals))
		for i, x := range vals {
			dev[i] = math.Abs(x - med)
		}
		mad := 1.4826 * median(dev)
		mad = math.Max(mad, 1e-3*math.Max(math.Abs(med), 1e-9))
		if z := (v - med) / mad; math.Abs(z) > iv.z {
			iv.streak[m]++
			if iv.streak[m] >= 3 {
				return m, fmt.Sprintf("robust z %.1f at a steady rate", z)
			}
		} else {
			iv.streak[m] = 0
		}
	}
	return "", ""
}

func median(x []float64) float64 {
	c := append([]float64(nil), x...)
	sort.Float64s(c)
	n := len(c)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}
