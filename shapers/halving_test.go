package shapers

import (
	"math"
	"testing"
	"time"
)

// A target like the bundled testbed behind Prometheus: utilisation is the
// served rate over capacity, requests queue past capacity and clients give
// up after 2 s, and the reading is a 5 s average two ticks late. Its
// capacity halves at tick 30 of a hold at 0.9 of the old capacity. The
// predictive shaper must come back inside the envelope and not leave it
// again while it relearns (the re-climb after the cut is where a
// line fitted on the cut's pairs overshoots).
func TestPredictiveHalvingWithQueueStaysInside(t *testing.T) {
	env := Limits{"cpu": 0.8}
	for _, seedNoise := range []float64{0.002, 0.005, 0.01} {
		c := predictiveChain(t, env)
		const capacity, halveAt, ticks = 300.0, 30, 90
		plan := func(i int) float64 {
			if i >= 15 {
				return 0.9 * capacity
			}
			return 0.1*capacity + 0.8*capacity*float64(i)/15
		}
		var util []float64
		backlog := 0.0
		reading := func(i int) Metric {
			hi := i - 2
			if hi < 0 {
				return Metric{Value: math.NaN(), Stale: true}
			}
			s, n := 0.0, 0
			for k := max(hi-4, 0); k <= hi; k++ {
				s += util[k]
				n++
			}
			return Metric{Value: s/float64(n) + seedNoise*math.Sin(float64(i)*1.7), Age: 2 * time.Second, Window: 5 * time.Second}
		}
		var overAfter []int
		backInside := -1
		for i := 0; i < ticks; i++ {
			cp := capacity
			if i >= halveAt {
				cp = capacity / 2
			}
			s := &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Interval: time.Second, Envelope: env,
				Phase: PhaseInfo{Name: "p", Elapsed: time.Duration(i) * time.Second, Duration: ticks * time.Second, PlannedRate: plan(i),
					Planned: func(e time.Duration) float64 { return plan(int(e / time.Second)) }},
				Metrics: map[string]Metric{"cpu": reading(i)}}
			out, _ := c.Run(s, Instruction{Rate: plan(i)})
			backlog += out.Rate
			served := math.Min(backlog, cp)
			backlog = math.Min(backlog-served, 2*cp) // clients give up after 2 s
			util = append(util, served/cp)
			over := served/cp > env["cpu"]+0.02
			switch {
			case over && i < halveAt:
				t.Errorf("noise %v: over the envelope before the halving, at tick %d (%.2f)", seedNoise, i, served/cp)
			case over && backInside >= 0:
				overAfter = append(overAfter, i)
			case !over && i > halveAt && backInside < 0:
				backInside = i
			}
		}
		// The reading lags by up to 7 ticks and stays pinned while the queue
		// drains, so the first return takes longer here than the 10 s the
		// real testbed needs; what matters is that it is bounded and final.
		if backInside < 0 || backInside > halveAt+15 {
			t.Errorf("noise %v: back inside the envelope at tick %d, halved at %d", seedNoise, backInside, halveAt)
		}
		if len(overAfter) > 0 {
			t.Errorf("noise %v: left the envelope again after the halving, at ticks %v (back inside at %d)", seedNoise, overAfter, backInside)
		}
	}
}
