package shapers

import (
	"fmt"
	"math"
	"time"
)

// capacity_search ramps past the plan until the first envelope limit is
// predicted to be reached, lets the rate settle there, and reports the
// sustainable rate as a finding; it then holds that rate. The limit is
// found by the same model predictive_rate_limit uses, so the search never
// has to overshoot to find it.
type capacitySearch struct {
	model  *predictive
	step   float64
	settle time.Duration
	found  float64
	rates  []float64
	bound  string
	start  float64
}

func init() {
	Register(Strategy{
		Name:    "capacity_search",
		Summary: "Ramp until the first envelope limit is predicted, settle, and report the sustainable rate.",
		Params: []Param{
			{Name: "step", Kind: Number, Default: 0.05, Min: 0.001, Max: 1, Doc: "increase per tick while searching, as a fraction of the rate"},
			{Name: "start", Kind: Number, Default: 0.0, Min: 0, Max: 1e9, Doc: "rate to start from; 0 = the phase's rate"},
			{Name: "settle", Kind: Duration, Default: 20 * time.Second, Min: 1, Max: 3600, Doc: "how long the rate must stay bound by the limit, within 5%, to count as found"},
			{Name: "confidence", Kind: Number, Default: 2.0, Min: 0, Max: 6, Doc: "width of the prediction band in standard errors"},
		},
		New: func(cfg Config, p Params) (Shaper, error) {
			st, _ := Lookup("predictive_rate_limit")
			pp, err := ValidateParams(st, map[string]any{"confidence": p.Float("confidence"), "max_step": p.Float("step")})
			if err != nil {
				return nil, err
			}
			m, err := st.New(cfg, pp)
			if err != nil {
				return nil, err
			}
			return &capacitySearch{model: m.(*predictive), step: p.Float("step"), settle: p.Duration("settle"), found: -1, start: p.Float("start")}, nil
		},
	})
}

func (c *capacitySearch) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	prev := s.LastSent(0)
	ask := in
	if c.found >= 0 {
		ask.Rate = c.found
	} else {
		from := prev
		if from <= 0 {
			from = in.Rate
			if c.start > 0 {
				from = c.start
			}
		}
		// Ask for more than the step limit allows: the model decides how much.
		ask.Rate = math.Max(from*(1+2*c.step), 1)
	}
	out, d, err := c.model.Shape(s, ask)
	if err != nil {
		return in, Decision{}, err
	}
	if c.found >= 0 {
		d.Reason = fmt.Sprintf("holding the sustainable rate %s rps found earlier; %s", fmtRate(c.found), d.Reason)
		return out, d, nil
	}
	need := int(c.settle / s.interval())
	if d.Contention != "" {
		c.rates = append(c.rates, out.Rate)
		c.bound = d.Contention
	} else {
		c.rates = c.rates[:0]
	}
	if len(c.rates) >= need && need > 0 {
		win := c.rates[len(c.rates)-need:]
		lo, hi, sum := math.Inf(1), 0.0, 0.0
		for _, r := range win {
			lo, hi, sum = math.Min(lo, r), math.Max(hi, r), sum+r
		}
		if mean := sum / float64(len(win)); hi-lo <= 0.05*mean {
			c.found = lo
			out.Rate = lo
			d.Finding = fmt.Sprintf("sustainable rate %s rps: %s binds (settled within 5%% for %s)", fmtRate(lo), c.bound, c.settle)
			d.Reason = d.Finding
			return out, d, nil
		}
	}
	d.Reason = "searching: " + d.Reason
	return out, d, nil
}
