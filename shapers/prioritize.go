package shapers

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/loadshaper/loadshaper/stdlib"
)

// prioritize turns pressure — a rate cut made by an earlier shaper, or an
// envelope metric near its limit — into shedding by priority class, lowest
// first, so the classes that matter keep their full rate. critical is shed
// only while a reading is over its limit by more than hard_margin.
type prioritize struct {
	env       Limits
	reqs      []RequestClass
	threshold float64
	hard      float64
	predicted bool
	restore   bool
}

func init() {
	Register("prioritize", func(cfg Config, p Params) (Shaper, error) {
		if len(cfg.Requests) == 0 {
			return nil, fmt.Errorf("prioritize needs the plan's requests and their priorities")
		}
		return &prioritize{env: cfg.Envelope, reqs: cfg.Requests, threshold: p.Float("threshold"), hard: p.Float("hard_margin"),
			predicted: p.Bool("predicted"), restore: p.Bool("restore_rate")}, nil
	})
}

func (pz *prioritize) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	env := pz.env
	if env == nil {
		env = s.Envelope
	}
	out := in
	d := Decision{}
	base, cut := in.Rate, 0.0
	var why []string
	if pz.restore && s.Phase.PlannedRate > in.Rate && s.Phase.PlannedRate > 0 {
		base = s.Phase.PlannedRate
		cut = 1 - in.Rate/base
		why = append(why, fmt.Sprintf("rate cut to %s of the planned %s rps", fmtRate(in.Rate), fmtRate(base)))
	}
	p, by := s.Pressure(env)
	if pz.predicted {
		if pp, pby := s.PredictedPressure(env); pp > p {
			p, by = pp, pby
		}
	}
	if p > pz.threshold {
		c2 := 1 - pz.threshold/p
		cut = 1 - (1-cut)*(1-c2)
		why = append(why, fmt.Sprintf("%s at %.0f%% of its limit", by, 100*p))
		d.Contention = by
	}
	hard := false
	for _, m := range env.Names() {
		if v, ok := s.Value(m); ok && v > env[m]*(1+pz.hard) {
			hard = true
		}
	}
	if cut <= 0 {
		return in, Decision{}, nil
	}
	shares := classShares(in, pz.reqs)
	out.Shed = cloneMap(in.Shed)
	if out.Shed == nil {
		out.Shed = map[string]float64{}
	}
	remaining := cut
	shed := 0.0
	d.ShedRate = map[string]float64{}
	var parts []string
	for _, class := range stdlib.PriorityClasses {
		share := shares[class]
		if share <= 0 || remaining <= 1e-12 {
			continue
		}
		if class == "critical" && !hard {
			continue
		}
		take := math.Min(share, remaining)
		f := take / share
		out.Shed[class] = math.Max(out.Shed[class], f)
		remaining -= take
		shed += take
		d.ShedRate[class] = base * take
		parts = append(parts, fmt.Sprintf("%s %.0f%%", class, 100*f))
	}
	// The admitted rate is what the cut allows; when the classes that may be
	// shed are not enough, the rate itself goes down for the rest.
	if shed < 1 {
		out.Rate = base * (1 - cut) / (1 - shed)
	} else {
		out.Rate = base
	}
	sort.Strings(why)
	if len(parts) == 0 {
		d.Reason = strings.Join(why, "; ") + ": nothing below critical to shed"
	} else {
		d.Reason = strings.Join(why, "; ") + ": shedding " + strings.Join(parts, ", ")
	}
	if !hard && shares["critical"] > 0 {
		d.Reason += " (critical kept)"
	}
	d.Changed = fmt.Sprintf("shed %.0f%% of the mix", 100*shed)
	return out, d, nil
}
