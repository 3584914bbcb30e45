package tick

import (
	"fmt"
	"sync"

	"github.com/loadshaper/loadshaper/shapers"
)

// OperatorShaper names the decisions an operator's actions make.
const OperatorShaper = "operator"

// operator is what a person (through the admin API) asked of the run: an
// upper bound on the planned rate, fed into the shaper chain as its input
// so the shapers still protect the envelope and the hard limits still
// clamp, or a pause. Every change becomes a decision at the next tick, with
// who asked.
type operator struct {
	mu      sync.Mutex
	rate    float64 // upper bound on the input rate; 0 = none
	paused  bool
	pending []shapers.Decision
}

// operatorTick is the operator's state for one tick.
type operatorTick struct {
	rate      float64
	paused    bool
	decisions []shapers.Decision
}

// SetRate bounds the rate the chain starts from (0 lifts the bound) from
// the next tick on; who says who asked, for history.
func (c *Controller) SetRate(rate float64, who string) {
	c.op.mu.Lock()
	defer c.op.mu.Unlock()
	c.op.rate = max(rate, 0)
	change := fmt.Sprintf("rate bound %s req/s", fmtRate(rate))
	if rate <= 0 {
		change = "rate bound lifted"
	}
	c.op.pending = append(c.op.pending, shapers.Decision{Shaper: OperatorShaper, Strategy: "operator", Changed: change, Reason: "set by " + who})
}

// Pause holds the load at nothing from the next tick on, until Resume; the
// plan's timeline runs on.
func (c *Controller) Pause(who string) { c.setPaused(true, who) }

// Resume ends a pause.
func (c *Controller) Resume(who string) { c.setPaused(false, who) }

func (c *Controller) setPaused(p bool, who string) {
	c.op.mu.Lock()
	defer c.op.mu.Unlock()
	if c.op.paused == p {
		return
	}
	c.op.paused = p
	change := "paused"
	if !p {
		change = "resumed"
	}
	c.op.pending = append(c.op.pending, shapers.Decision{Shaper: OperatorShaper, Strategy: "operator", Changed: change, Reason: change + " by " + who})
}

// Operator reports the operator's bound (0 = none) and whether the run is paused.
func (c *Controller) Operator() (rate float64, paused bool) {
	c.op.mu.Lock()
	defer c.op.mu.Unlock()
	return c.op.rate, c.op.paused
}

// take returns the operator's state for the tick at pos and the decisions
// of the actions since the last tick.
func (o *operator) take(pos Position) operatorTick {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := operatorTick{rate: o.rate, paused: o.paused, decisions: o.pending}
	o.pending = nil
	for i := range t.decisions {
		t.decisions[i].Tick = pos.Tick
	}
	return t
}
