package shapers

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/loadshaper/loadshaper/stdlib"
)

// Link is one shaper of a chain with the names its decisions carry.
type Link struct {
	Name     string // the shaper block's name
	Strategy string // built-in strategy, or "script"
	Shaper   Shaper
	Envelope Limits // the block's envelope, used by the safe fallback; nil = the plan's
}

// ChainOptions configure a chain.
type ChainOptions struct {
	// Requests tell the chain each request's priority class, so the rate it
	// remembers as sent is the rate less what was shed.
	Requests []RequestClass
	// Memory is how many ticks of readings the chain keeps for
	// Snapshot.Series when no history store is wired; default 900.
	Memory int
}

// Chain runs shapers in plan order every tick, records a Decision per
// shaper, replaces a failing shaper by the safe built-in for that tick, and
// clamps the result to the hard limits.
type Chain struct {
	links    []Link
	opts     ChainOptions
	sent     []float64
	previous []Decision
	recent   map[string][]Point
}

// NewChain returns a chain of links, run in the given order.
func NewChain(links []Link, opts ChainOptions) *Chain {
	if opts.Memory <= 0 {
		opts.Memory = 900
	}
	return &Chain{links: links, opts: opts, recent: map[string][]Point{}}
}

// Links returns the chain's links in order.
func (c *Chain) Links() []Link { return c.links }

// WithLinks returns a chain over other links that keeps this chain's memory
// (rates sent, readings, previous decisions): the runtime uses it when a
// new phase names other shapers, so models are not restarted blind.
func (c *Chain) WithLinks(links []Link) *Chain {
	n := *c
	n.links = links
	return &n
}

// Run passes in through every shaper and the hard limits, and returns the
// instruction for the generators with one Decision per shaper (plus one for
// the clamp when it changed something). It never panics because of a shaper.
func (c *Chain) Run(s *Snapshot, in Instruction) (Instruction, []Decision) {
	if s.Interval <= 0 {
		s.Interval = time.Second
	}
	c.remember(s)
	s.Sent = c.sent
	s.Previous = c.previous
	s.recent = c.series

	cur := in.Clone()
	decisions := make([]Decision, 0, len(c.links)+1)
	for _, l := range c.links {
		out, d, err := callShaper(l.Shaper, s, cur)
		if err == nil {
			err = checkInstruction(out)
		}
		if err != nil {
			env := l.Envelope
			if env == nil {
				env = s.Envelope
			}
			out, d = safeShape(s, cur, env)
			d.Fallback = true
			d.Error = err.Error()
			d.Reason = fmt.Sprintf("shaper %q failed, used the safe built-in for this tick: %s", l.Name, d.Reason)
		}
		d.Tick = s.Tick
		d.Shaper = l.Name
		d.Strategy = l.Strategy
		d.RateBefore = cur.Rate
		d.RateAfter = out.Rate
		if d.Changed == "" && out.Rate != cur.Rate {
			d.Changed = fmt.Sprintf("rate %s -> %s", fmtRate(cur.Rate), fmtRate(out.Rate))
		}
		decisions = append(decisions, d)
		cur = out
	}
	final, cd, changed := Clamp(s, in, cur)
	if changed {
		cd.Tick = s.Tick
		decisions = append(decisions, cd)
	}
	c.sent = appendCapped(c.sent, EffectiveRate(final, c.opts.Requests), c.opts.Memory)
	c.recentAppend("rate", Point{At: s.Now, Value: c.sent[len(c.sent)-1]})
	c.previous = decisions
	return final, decisions
}

// Sent corrects what the chain remembers as sent at its last Run when the
// runtime cut the chain's output further after it (safe mode lowers or
// holds the rate after the chain): shapers then learn from the rate that
// reached the targets, not from the one they asked for.
func (c *Chain) Sent(final Instruction) {
	n := len(c.sent)
	if n == 0 {
		return
	}
	r := EffectiveRate(final, c.opts.Requests)
	c.sent[n-1] = r
	if pts := c.recent["rate"]; len(pts) > 0 {
		pts[len(pts)-1].Value = r
	}
}

// callShaper calls sh, turning a panic into an error so one bad shaper
// cannot bring the run down.
func callShaper(sh Shaper, s *Snapshot, in Instruction) (out Instruction, d Decision, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if sh == nil {
		return in, Decision{}, fmt.Errorf("no shaper")
	}
	return sh.Shape(s, in.Clone())
}

// checkInstruction rejects instructions no generator can follow.
func checkInstruction(in Instruction) error {
	if math.IsNaN(in.Rate) || math.IsInf(in.Rate, 0) || in.Rate < 0 {
		return fmt.Errorf("invalid rate %v", in.Rate)
	}
	for k, v := range in.Shed {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("invalid shed fraction %v for class %q", v, k)
		}
		if stdlib.PriorityIndex(k) < 0 {
			return fmt.Errorf("unknown priority class %q in shed (classes: %v)", k, stdlib.PriorityClasses)
		}
	}
	for k, v := range in.Mix {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("invalid mix weight %v for %q", v, k)
		}
	}
	for k, v := range in.Distribution {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("invalid distribution share %v for %q", v, k)
		}
	}
	return nil
}

// Clamp applies the hard limits no shaper can exceed, to the chain's
// output out for the planned instruction in: the rate is capped by the
// phase's and the plan's max_rate and is never negative or NaN; a closed
// model never runs more users than planned (growth included: the phase
// started no more); a mix left empty is the planned one; the distribution
// is normalised to sum to 1. It is the only clamp: runs and dry-runs both
// reach the generators through it. The Decision says what it cut.
func Clamp(s *Snapshot, in, out Instruction) (Instruction, Decision, bool) {
	d := Decision{Shaper: "limits", Strategy: "clamp", RateBefore: out.Rate}
	limit, which := math.Inf(1), ""
	if s.Phase.MaxRate > 0 && s.Phase.MaxRate < limit {
		limit, which = s.Phase.MaxRate, fmt.Sprintf("phase %q max_rate", s.Phase.Name)
	}
	if s.MaxRate > 0 && s.MaxRate < limit {
		limit, which = s.MaxRate, "plan max_rate"
	}
	changed := false
	if out.Rate > limit {
		d.Changed = fmt.Sprintf("rate %s -> %s", fmtRate(out.Rate), fmtRate(limit))
		d.Reason = "hard limit: " + which + " " + fmtRate(limit)
		out.Rate = limit
		changed = true
	}
	if out.Rate < 0 || math.IsNaN(out.Rate) {
		out.Rate = 0
	}
	out.Concurrency = min(max(out.Concurrency, 0), in.Concurrency)
	if out.Mix == nil {
		out.Mix = in.Mix
	}
	if len(out.Distribution) > 0 {
		sum := 0.0
		for _, v := range out.Distribution {
			sum += v
		}
		if sum > 0 && math.Abs(sum-1) > 1e-9 {
			out.Distribution = cloneMap(out.Distribution)
			for k, v := range out.Distribution {
				out.Distribution[k] = v / sum
			}
		}
	}
	d.RateAfter = out.Rate
	return out, d, changed
}

// EffectiveRate is the rate that reaches the targets: Rate less the share
// of the mix that is shed. Without request classes it is Rate.
func EffectiveRate(in Instruction, reqs []RequestClass) float64 {
	if len(in.Shed) == 0 || len(reqs) == 0 {
		return in.Rate
	}
	shares := classShares(in, reqs)
	admitted := 1.0
	for class, share := range shares {
		admitted -= share * in.Shed[class]
	}
	return in.Rate * math.Max(0, admitted)
}

// mixWeight is request r's weight in the instruction's mix. A request the
// mix leaves out is not sent this tick (a phase's `requests` list): 0. An
// instruction without a mix sends the plan's weights.
func mixWeight(in Instruction, r RequestClass) float64 {
	if in.Mix == nil {
		return r.Weight
	}
	return in.Mix[r.Name]
}

// classShares is each priority class's share of the mix (by Instruction.Mix
// weights when set, else the plan's weights).
func classShares(in Instruction, reqs []RequestClass) map[string]float64 {
	shares := map[string]float64{}
	total := 0.0
	for _, r := range reqs {
		w := mixWeight(in, r)
		if w <= 0 {
			continue
		}
		p := r.Priority
		if p == "" {
			p = "normal"
		}
		shares[p] += w
		total += w
	}
	if total > 0 {
		for k := range shares {
			shares[k] /= total
		}
	}
	return shares
}

// remember stores this tick's readings for Snapshot.Series.
func (c *Chain) remember(s *Snapshot) {
	names := make([]string, 0, len(s.Metrics))
	for n := range s.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := s.Metrics[n]
		if m.Stale || math.IsNaN(m.Value) {
			continue
		}
		c.recentAppend(n, Point{At: s.Now, Value: m.Value})
	}
}

func (c *Chain) recentAppend(name string, p Point) {
	c.recent[name] = appendCapped(c.recent[name], p, c.opts.Memory)
}

func (c *Chain) series(name string, window time.Duration) []Point {
	pts := c.recent[name]
	if len(pts) == 0 {
		return nil
	}
	from := pts[len(pts)-1].At - window
	i := sort.Search(len(pts), func(i int) bool { return pts[i].At > from })
	return append([]Point(nil), pts[i:]...)
}

func appendCapped[T any](s []T, v T, max int) []T {
	if len(s) >= max {
		// Copy into a fresh slice so a Snapshot holding the old one keeps a
		// consistent view.
		n := make([]T, max-1, max)
		copy(n, s[len(s)-max+1:])
		s = n
	}
	return append(s, v)
}

func fmtRate(r float64) string {
	if r == math.Trunc(r) && math.Abs(r) < 1e12 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// safeShape is the safe built-in the chain falls back to: never more than
// the previous tick's rate, and 10% less while an envelope metric is over
// its limit. It has no state, so it cannot itself be broken by a bad tick.
func safeShape(s *Snapshot, in Instruction, env Limits) (Instruction, Decision) {
	out := in
	prev := s.LastSent(in.Rate)
	reason := "hold at the previous rate"
	if out.Rate > prev {
		out.Rate = prev
	} else {
		reason = "planned rate is below the previous rate"
	}
	d := Decision{}
	if p, m := s.Pressure(env); p > 1 {
		out.Rate = math.Min(out.Rate, prev*0.9)
		reason = fmt.Sprintf("%s %.3g is over its limit %.3g: 10%% less", m, s.Metrics[m].Value, env[m])
		d.Contention = m
	}
	d.Reason = reason
	return out, d
}

func init() {
	Register("safe", func(cfg Config, _ Params) (Shaper, error) {
		env := cfg.Envelope
		return ShaperFunc(func(s *Snapshot, in Instruction) (Instruction, Decision, error) {
			e := env
			if e == nil {
				e = s.Envelope
			}
			out, d := safeShape(s, in, e)
			return out, d, nil
		}), nil
	})
}
