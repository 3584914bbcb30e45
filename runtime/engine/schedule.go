package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Schedule yields the intended start times of an open-model phase: offsets
// from the phase start, following a rate that may change over time. It is a
// pure function of its arrival process, seed and rate, so a seeded Poisson
// schedule is reproducible.
type Schedule struct {
	poisson bool
	rng     *rand.Rand
	rate    func(at time.Duration) float64
	pos     float64 // nanoseconds: the offset of the next arrival
}

// idleStep is how far a schedule moves when the rate is zero before it looks again.
const idleStep = 10 * time.Millisecond

// NewSchedule returns a schedule of arrivals ("uniform" or "poisson") at
// rate(t) requests per second, t being the offset into the phase.
func NewSchedule(arrival string, seed uint64, rate func(at time.Duration) float64) *Schedule {
	return &Schedule{
		poisson: arrival == "poisson",
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rate:    rate,
	}
}

// Next returns the offset of the next arrival, or false when it would be at
// or past end.
func (s *Schedule) Next(end time.Duration) (time.Duration, bool) {
	for {
		if s.pos >= float64(end) {
			return 0, false
		}
		at := time.Duration(s.pos)
		r := s.rate(at)
		if r <= 0 || math.IsNaN(r) {
			s.pos += float64(idleStep)
			continue
		}
		x := 1.0
		if s.poisson {
			x = s.rng.ExpFloat64()
		}
		// Take the rate at the middle of the gap, so a changing rate
		// (a ramp) is followed without lagging behind by one gap.
		gap := x * 1e9 / r
		if rm := s.rate(time.Duration(s.pos + gap/2)); rm > 0 && !math.IsNaN(rm) {
			gap = x * 1e9 / rm
		}
		s.pos += gap
		// The first arrival of a uniform schedule is at 0, each next one a gap later.
		if !s.poisson {
			return at, true
		}
		if t := time.Duration(s.pos); t < end {
			return t, true
		}
		return 0, false
	}
}

// Waiting for an intended start. Sleeps on this kind of machine overshoot by
// up to about a millisecond, so a pacer sleeps for the bulk of a wait and
// spins for the last stretch. To keep the CPU cost low at high rates (where
// arrivals are closer than a sleep can resolve) it spins at most once after
// each sleep and otherwise releases the arrivals that came due during the
// sleep in one batch; each keeps its own intended time, so latency stays
// honest and the batch shows as send lag.
const (
	sleepOvershoot = time.Millisecond
	spinWindow     = 250 * time.Microsecond
)

type pacer struct {
	start     time.Time
	sleptLast bool
}

// wait blocks until off (an offset from p.start) or ctx is done.
func (p *pacer) wait(ctx context.Context, off time.Duration) bool {
	for {
		d := off - time.Since(p.start)
		if d <= 0 {
			return true
		}
		if d <= spinWindow && p.sleptLast {
			for time.Since(p.start) < off {
			}
			p.sleptLast = false
			return true
		}
		s := d
		if d > sleepOvershoot+spinWindow {
			s = d - sleepOvershoot
		}
		if !sleepCtx(ctx, s) {
			return false
		}
		p.sleptLast = true
	}
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d < 20*time.Millisecond {
		time.Sleep(d)
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
