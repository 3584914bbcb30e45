package shapers

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// capacity_search ramps past the plan until the first envelope limit is
// predicted to be reached, lets the rate settle there, and reports the
// sustainable rate as a finding; it then holds that rate. The limit is
// found by the same model predictive_rate_limit uses, so the search never
// has to overshoot to find it.
//
// Deployment intents: the model already predicts an envelope metric ×
// change after a deployment's At once At is within its horizon, so the
// rate the search converges to is the one sustainable after it. The
// search keeps track of which deployments its rate accounts for (those
// with At by now + horizon); when that set grows, the capacity it is
// converging to moves, so the window restarts — and a rate already found
// is searched again, giving one finding for before the deployment and one
// for after it.
type capacitySearch struct {
	model  *predictive
	step   float64
	settle time.Duration
	found  float64
	rates  []float64
	bound  string
	start  float64
	deploy string // the deployments the rate accounts for (deployKey)
}

func init() {
	Register("capacity_search", func(cfg Config, p Params) (Shaper, error) {
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
	})
}

func (c *capacitySearch) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	prev := s.LastSent(0)
	ask := in
	env := c.model.env
	if env == nil {
		env = s.Envelope
	}
	research := ""
	if key, ins := deployKey(s.Intents, env, s.Now+c.model.horizon); key != c.deploy {
		// A deployment came within the horizon: the limit moves by its change.
		c.deploy, c.rates = key, c.rates[:0]
		if c.found >= 0 {
			research = fmt.Sprintf("searching again: %s ahead changes the capacity found (%s rps); ", describeIntents(ins), fmtRate(c.found))
			c.found = -1
		}
	}
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
	if research != "" && d.Changed == "" {
		d.Changed = "search restarted"
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
			d.Finding = fmt.Sprintf("sustainable rate %s rps: %s binds (settled within 5%% for %s)", fmtRate(lo), c.bound, c.settle) +
				deployNote(s.Intents, env, s.Now, c.model.horizon)
			d.Reason = d.Finding
			return out, d, nil
		}
	}
	d.Reason = research + "searching: " + d.Reason
	return out, d, nil
}

// deployIntents are the deployment intents on a metric of env (or on
// every metric) with At in (from, to], in time order.
func deployIntents(intents []Intent, env Limits, from, to time.Duration) []Intent {
	var out []Intent
	for _, in := range sortedByAt(intents) {
		if in.Kind != "deployment" || !(in.Factor > 0) || in.At <= from || in.At > to {
			continue
		}
		if _, ok := env[in.Metric]; ok || in.Metric == "" {
			out = append(out, in)
		}
	}
	return out
}

// deployKey names the deployments on the envelope with At by until (the
// ones a rate found now accounts for), and the latest of them.
func deployKey(intents []Intent, env Limits, until time.Duration) (string, []Intent) {
	ins := deployIntents(intents, env, math.MinInt64, until)
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	if len(ins) > 0 {
		ins = ins[len(ins)-1:]
	}
	return strings.Join(names, "\x00"), ins
}

// deployNote says which deployments a sustainable rate found at now is
// for: after those already done or within the horizon (the model predicts
// their change), before those beyond it.
func deployNote(intents []Intent, env Limits, now, horizon time.Duration) string {
	note := ""
	if done := deployIntents(intents, env, math.MinInt64, now); len(done) > 0 {
		note += "; after " + describeIntents(done) + " (measured)"
	}
	if ahead := deployIntents(intents, env, now, now+horizon); len(ahead) > 0 {
		note += "; for after " + describeIntents(ahead) + " (predicted)"
	}
	if later := deployIntents(intents, env, now+horizon, math.MaxInt64); len(later) > 0 {
		note += fmt.Sprintf("; before %s, beyond the %s horizon: searched again once within it", describeIntents(later), horizon)
	}
	return note
}
