package shapers

import (
	"math"
	"testing"
	"time"
)

// A limit with no warning below it, like nginx's limit_req: latency is flat
// up to the limiter's rate and, past it, grows with the queue — with time,
// not with the rate. No line through the readings foresees it, so the
// shaper finds the knee by crossing it; it must then hold under it instead
// of finding it again by crossing it every few seconds.
func TestPredictiveHoldsUnderAKnee(t *testing.T) {
	env := Limits{"latency_p99": 0.1}
	c := predictiveChain(t, env)
	const knee, ticks = 200.0, 120
	plan := func(i int) float64 { return 20 + 280*math.Min(1, float64(i)/60) }
	queue, p99 := 0.0, 0.002
	var starts []int
	over := 0
	served := 0.0
	wasOver := false
	for i := 0; i < ticks; i++ {
		s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env,
			Phase: PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: ticks * time.Second, PlannedRate: plan(i),
				Planned: func(e time.Duration) float64 { return plan(int(e / time.Second)) }},
			// The client's p99 of the tick before, as the control loop gives it.
			Metrics: map[string]Metric{"latency_p99": {Value: p99, Age: time.Millisecond}}}
		out, _ := c.Run(s, Instruction{Rate: plan(i)})
		queue = math.Max(0, queue+out.Rate-knee)
		served += math.Min(out.Rate+queue, knee)
		p99 = 0.002 + 0.0005*math.Sin(float64(i)) + queue/knee // the wait behind the queue
		isOver := p99 > env["latency_p99"]
		if isOver {
			over++
			if !wasOver {
				starts = append(starts, i)
			}
		}
		wasOver = isOver
	}
	t.Logf("excursions over the envelope start at ticks %v, %d ticks over, served %.0f", starts, over, served)
	// Once found, the knee is held under for the forgetting's half-life
	// (25 ticks) before the shaper looks again.
	if len(starts) == 0 {
		t.Fatal("never reached the knee: the plant is too easy")
	}
	if len(starts) > 1 && starts[1]-starts[0] < 20 {
		t.Errorf("crossed the knee again %d ticks after finding it (excursions at %v)", starts[1]-starts[0], starts)
	}
	// Held under the knee, not far below it: at least 70% of what the knee allows once found.
	if served < 0.7*knee*float64(ticks-40) {
		t.Errorf("served %.0f: held far below the knee", served)
	}
}
