package tick

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
)

// Position says where a tick is on the run's timeline. Elapsed is always
// PhaseStart + PhaseElapsed, so a shaper that derives the phase's start
// from Snapshot.Now and Phase.Elapsed finds exactly PhaseStart.
type Position struct {
	Tick         int           // counts from 0 over the whole run
	Phase        int           // index into the plan's phases
	PhaseStart   time.Duration // run time at which the phase started
	PhaseElapsed time.Duration // offset of the tick's start into the phase
}

// Elapsed is the run time at the start of the tick.
func (p Position) Elapsed() time.Duration { return p.PhaseStart + p.PhaseElapsed }

// Growth is the factor the plan's growth intents put on the planned load
// at run time at: the product of every growth intent with At ≤ at (1 when
// none is in force). A plan with `intent "sale" { growth = 2, at = "1m" }`
// rehearses that traffic: from 1m on, every open-model phase's planned
// rate is doubled, and a closed-model phase runs twice the users. The
// shapers still see the intent ahead (Snapshot.Intents) and the hard
// limits still clamp the result.
func Growth(intents []*lang.Intent, at time.Duration) float64 {
	f := 1.0
	for _, in := range intents {
		if inForce(in, at) {
			f *= in.Growth
		}
	}
	return f
}

// GrowthNote names the growth intents in force at run time at, for the
// live view, the summary and history: `growth "sale" ×2`; "" when none is.
func GrowthNote(intents []*lang.Intent, at time.Duration) string {
	var parts []string
	for _, in := range intents {
		if inForce(in, at) {
			parts = append(parts, fmt.Sprintf("growth %q ×%.3g", in.Name, in.Growth))
		}
	}
	return strings.Join(parts, ", ")
}

// GrownUsers is a closed-model phase's users under growth factor g: users × g,
// rounded (never negative).
func GrownUsers(users int, g float64) int {
	if users <= 0 || !(g > 0) || math.IsInf(g, 0) {
		return max(users, 0)
	}
	return int(math.Round(float64(users) * g))
}

// MaxGrowth is the largest Growth at any run time in [from, to]: how many
// closed-model users a phase running then may need at most.
func MaxGrowth(intents []*lang.Intent, from, to time.Duration) float64 {
	best := Growth(intents, from)
	for _, in := range intents {
		if in != nil && in.At > from && in.At <= to {
			best = math.Max(best, Growth(intents, in.At))
		}
	}
	return best
}

func inForce(in *lang.Intent, at time.Duration) bool {
	return in != nil && in.Kind == "growth" && in.Growth > 0 && !math.IsInf(in.Growth, 0) && at >= in.At
}

// Limit is the hard rate limit of a phase: the smaller of the plan's and
// the phase's max_rate (0 = none). No shaper can exceed it.
func Limit(plan *lang.Plan, ph *lang.Phase) float64 {
	l := plan.Settings.MaxRate
	if ph.MaxRate > 0 && (l == 0 || ph.MaxRate < l) {
		l = ph.MaxRate
	}
	return l
}

// RateAt is an open-model phase's planned rate at elapsed into the phase,
// with the growth in force at run time at: the rate shape, times growth,
// times the chaos spikes in force at elapsed. It is what a tick plans, what
// shapers look ahead at, and what the engine's pacers follow between ticks
// while the chain leaves the rate as planned. It is 0 for a closed-model
// phase; never negative or NaN; the hard limits are not applied.
func RateAt(plan *lang.Plan, ph *lang.Phase, at, elapsed time.Duration) float64 {
	if ph.Rate == nil || ph.Concurrency > 0 {
		return 0
	}
	r := ph.Rate.At(elapsed, ph.Duration) * Growth(plan.Intents, at)
	for _, c := range ph.Chaos {
		if c.Kind == "spike" && c.Factor > 0 && chaosActive(c, elapsed) {
			r *= c.Factor
		}
	}
	if math.IsNaN(r) || r < 0 {
		return 0
	}
	return r
}

func chaosActive(c *lang.Chaos, elapsed time.Duration) bool {
	return elapsed >= c.At && elapsed < c.At+c.Duration
}

// chaosFraction is the share of requests a chaos block affects: its
// fraction, or all of them when it has none (spec/language.md).
func chaosFraction(c *lang.Chaos) float64 {
	if c.Kind != "spike" && c.Fraction <= 0 {
		return 1
	}
	return c.Fraction
}

// ChaosPlans are the phase's chaos blocks as shapers see them
// (Snapshot.Phase.Chaos).
func ChaosPlans(ph *lang.Phase) []shapers.ChaosPlan {
	var out []shapers.ChaosPlan
	for _, c := range ph.Chaos {
		out = append(out, shapers.ChaosPlan{Kind: c.Kind, At: c.At, Duration: c.Duration, Factor: c.Factor,
			Fraction: chaosFraction(c), Headers: c.Headers, WithinEnvelope: c.WithinEnvelope})
	}
	return out
}

// chaosActions are the phase's chaos actions in force at pos, every kind
// (a spike's factor is already in the planned rate), each ending at its
// run time.
func chaosActions(ph *lang.Phase, pos Position) []shapers.ChaosAction {
	var out []shapers.ChaosAction
	for _, c := range ph.Chaos {
		if chaosActive(c, pos.PhaseElapsed) {
			out = append(out, shapers.ChaosAction{Kind: c.Kind, Factor: c.Factor, Fraction: chaosFraction(c),
				Headers: c.Headers, Until: pos.PhaseStart + c.At + c.Duration})
		}
	}
	return out
}

// Mix is the weight of each request and flow a phase sends, by name:
// every request and flow of the plan, or those the phase's `requests` and
// `flows` lists name; a weight of 0 or less counts as 1, as in the
// language's default. A flow's weight counts flow starts.
func Mix(plan *lang.Plan, ph *lang.Phase) map[string]float64 {
	entries := plan.Mix()
	m := make(map[string]float64, len(entries))
	for _, r := range entries {
		if !ph.Uses(r.Name, r.Flow) {
			continue
		}
		w := r.Weight
		if w <= 0 {
			w = 1
		}
		m[r.Name] = w
	}
	return m
}

// Planned is the phase's instruction at pos before any shaper: the rate
// (the rate shape times the growth in force times chaos spikes; 0 in the
// closed model) or the users (times the growth), the chaos actions in
// force, the phase's request mix, and the growth note.
func Planned(plan *lang.Plan, pos Position) shapers.Instruction {
	ph := plan.Phases[pos.Phase]
	at := pos.Elapsed()
	in := shapers.Instruction{Mix: Mix(plan, ph), Chaos: chaosActions(ph, pos), Growth: GrowthNote(plan.Intents, at)}
	if ph.Concurrency > 0 {
		in.Concurrency = GrownUsers(ph.Concurrency, Growth(plan.Intents, at))
	} else {
		in.Rate = RateAt(plan, ph, at, pos.PhaseElapsed)
	}
	return in
}

// MaxUsers is the most closed-model users phase ph may run when it starts
// at run time start (growth intents may add users while it runs).
func MaxUsers(plan *lang.Plan, ph *lang.Phase, start time.Duration) int {
	return GrownUsers(ph.Concurrency, MaxGrowth(plan.Intents, start, start+ph.Duration))
}

// Intents translates the plan's intent blocks for shapers
// (Snapshot.Intents): the same list in runs and dry-runs, with At as the
// offset from the start of the run and Factor the deployment's change or
// the growth. Intents without a usable factor are left out.
func Intents(plan *lang.Plan) []shapers.Intent {
	var out []shapers.Intent
	for _, in := range plan.Intents {
		if in == nil {
			continue
		}
		f := in.Change
		if in.Kind == "growth" {
			f = in.Growth
		}
		if !(f > 0) {
			continue
		}
		out = append(out, shapers.Intent{Name: in.Name, Kind: in.Kind, At: in.At, Metric: in.Metric, Factor: f})
	}
	return out
}

// RequestClasses are the plan's requests and flows as the shapers see them.
func RequestClasses(plan *lang.Plan) []shapers.RequestClass {
	var out []shapers.RequestClass
	for _, r := range plan.Mix() {
		out = append(out, shapers.RequestClass{Name: r.Name, Priority: r.Priority, Weight: r.Weight})
	}
	return out
}

// EnvelopeLimits are an envelope block's limits by metric.
func EnvelopeLimits(e *lang.Envelope) shapers.Limits {
	l := shapers.Limits{}
	for _, lim := range e.Limits {
		l[lim.Metric] = lim.Max
	}
	return l
}

// FirstEnvelope is the plan's first envelope, the one shapers without
// their own use (Snapshot.Envelope); nil without one.
func FirstEnvelope(plan *lang.Plan) shapers.Limits {
	if len(plan.Envelopes) == 0 {
		return nil
	}
	return EnvelopeLimits(plan.Envelopes[0])
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
