package shapers

import (
	"fmt"
	"math"
)

// cost trades throughput against money where the plan declares prices: a
// budget per hour caps the rate, and a generator that would run mostly
// idle (filled below min_fill) is not started — a little throughput given
// up for a generator-hour saved. Each decision reports the trade.
type cost struct {
	perReq, perGenHour, genRate, budget, minFill float64
}

func init() {
	Register("cost", func(_ Config, p Params) (Shaper, error) {
		c := &cost{perReq: p.Float("per_request"), perGenHour: p.Float("per_generator_hour"), genRate: p.Float("generator_rate"),
			budget: p.Float("budget_per_hour"), minFill: p.Float("min_fill")}
		if c.perReq == 0 && c.perGenHour == 0 {
			return nil, fmt.Errorf("cost needs per_request or per_generator_hour")
		}
		if c.perGenHour > 0 && c.genRate == 0 && c.budget > 0 && c.perReq == 0 {
			return nil, fmt.Errorf("a budget with only per_generator_hour needs generator_rate")
		}
		return c, nil
	})
}

func (c *cost) generators(r float64) float64 {
	if c.genRate <= 0 {
		return 1
	}
	return math.Max(1, math.Ceil(r/c.genRate-1e-9))
}

// perHour is the spend per hour at rate r.
func (c *cost) perHour(r float64) float64 {
	return r*3600*c.perReq + c.generators(r)*c.perGenHour
}

func (c *cost) Shape(s *Snapshot, in Instruction) (Instruction, Decision, error) {
	out := in
	r := in.Rate
	var notes []string
	if c.genRate > 0 && c.perGenHour > 0 {
		k := c.generators(r)
		if fill := r/c.genRate - (k - 1); k > 1 && fill < c.minFill {
			nr := (k - 1) * c.genRate
			notes = append(notes, fmt.Sprintf("%s rps less saves a generator (%.2f/h)", fmtRate(r-nr), c.perGenHour))
			r = nr
		}
	}
	if c.budget > 0 && c.perHour(r) > c.budget {
		// Largest rate within the budget: per generator count, solve the linear part.
		best := 0.0
		maxK := c.generators(r)
		for k := 1.0; k <= maxK; k++ {
			left := c.budget - k*c.perGenHour
			if left < 0 {
				break
			}
			lim := r
			if c.genRate > 0 {
				lim = math.Min(lim, k*c.genRate)
			}
			if c.perReq > 0 {
				lim = math.Min(lim, left/(3600*c.perReq))
			}
			best = math.Max(best, lim)
		}
		notes = append(notes, fmt.Sprintf("budget %.2f/h caps the rate at %s rps", c.budget, fmtRate(best)))
		r = best
	}
	out.Rate = r
	d := Decision{}
	spend := c.perHour(r)
	per1k := 0.0
	if r > 0 {
		per1k = spend / (r * 3.6)
	}
	d.Reason = fmt.Sprintf("cost %.2f/h at %s rps (%.4f per 1000 requests, %g generators)", spend, fmtRate(r), per1k, c.generators(r))
	if len(notes) > 0 {
		d.Reason = fmt.Sprintf("%s; was %.2f/h at %s rps", d.Reason, c.perHour(in.Rate), fmtRate(in.Rate))
		for _, n := range notes {
			d.Reason += "; " + n
		}
	}
	return out, d, nil
}
