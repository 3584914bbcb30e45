package tick

import (
	"fmt"
	"sort"
	"strings"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/metrics"
	"github.com/loadshaper/loadshaper/shapers"
)

// Safe mode's "lower" policy: each tick the rate (or the number of users)
// is cut to SafeLowerFactor of what was sent the tick before, but never
// below SafeLowerFloor of what was sent when safe mode began, so the run
// keeps measuring something while the metric is blind.
const (
	SafeLowerFactor = 0.8
	SafeLowerFloor  = 0.1
)

// SafeModeShaper is the name safe mode's decisions carry.
const SafeModeShaper = "safe_mode"

// safeState is what safe mode remembers across ticks.
type safeState struct {
	need      [][]string      // per phase: the envelope metrics its shapers depend on
	seen      map[string]bool // "target/metric" read fresh at least once in the run
	lastRate  float64         // what the generators were told last tick
	lastConc  int
	haveLast  bool
	active    bool
	floorRate float64
	floorConc int
}

// clientMetric reports whether name is one of the generators' own figures:
// those are stale when nothing completed in a tick, which is not a blind
// metric, so they never trigger safe mode.
func clientMetric(name string) bool {
	switch name {
	case metrics.Throughput, metrics.ErrorRate, metrics.InFlight, metrics.LatencyP50, metrics.LatencyP90,
		metrics.LatencyP95, metrics.LatencyP99, metrics.LatencyP999, metrics.LatencyMax, metrics.LatencyMean:
		return true
	}
	return false
}

// envelopeNeeds lists, per phase, the metrics of the plan's envelope and
// of the envelopes of the phase's shapers. A phase without shapers needs
// none: nothing in it flies on metrics, so nothing goes to safe mode.
func envelopeNeeds(plan *lang.Plan, env shapers.Limits) [][]string {
	out := make([][]string, len(plan.Phases))
	for i, ph := range plan.Phases {
		if len(ph.Shapers) == 0 {
			continue
		}
		set := map[string]bool{}
		for m := range env {
			set[m] = true
		}
		for _, sn := range ph.Shapers {
			for _, sh := range plan.Shapers {
				if sh.Name != sn || sh.Envelope == "" {
					continue
				}
				for _, env := range plan.Envelopes {
					if env.Name == sh.Envelope {
						for _, lim := range env.Limits {
							set[lim.Metric] = true
						}
					}
				}
			}
		}
		for m := range set {
			out[i] = append(out[i], m)
		}
		sort.Strings(out[i])
	}
	return out
}

// safeMode applies the plan's on_stale policy after the shaper chain:
// when an envelope metric that was read fresh earlier in the run is stale
// now, hold keeps the rate from rising above the last one sent, lower cuts
// it (SafeLowerFactor per tick down to SafeLowerFloor). It appends a
// decision naming the stale metrics and their sources.
func (c *Controller) safeMode(pos Position, out shapers.Instruction, ds []shapers.Decision, r Readings, readings metrics.Snapshot) (shapers.Instruction, []shapers.Decision) {
	s := &c.safe
	lastRate, lastConc := s.lastRate, s.lastConc
	action := ""
	var why, stale []string
	rank := map[string]int{"": 0, metrics.OnStaleHold: 1, metrics.OnStaleLower: 2}
	for _, t := range c.plan.Targets {
		var check []string
		for _, m := range s.need[pos.Phase] {
			smp, ok := readings.Get(t.Name, m)
			if !ok || clientMetric(m) {
				continue
			}
			key := t.Name + "/" + m
			if !smp.Stale {
				s.seen[key] = true
			}
			// Before a metric's first value there is no last known good
			// state to protect (a PromQL rate() needs a few scrapes).
			if s.seen[key] {
				check = append(check, m)
			}
		}
		if len(check) == 0 {
			continue
		}
		v := r.SafeMode(readings, t.Name, check)
		if v.Action == "" {
			continue
		}
		if rank[v.Action] > rank[action] {
			action = v.Action
		}
		for _, m := range v.Stale {
			stale = append(stale, t.Name+"/"+m)
		}
		why = append(why, fmt.Sprintf("%s on target %s (source %s)", strings.TrimPrefix(v.Reason, "safe mode: "), t.Name,
			strings.Join(staleSources(readings, t.Name, v.Stale), ", ")))
	}
	if action == "" {
		s.active = false
		s.lastRate, s.lastConc, s.haveLast = out.Rate, out.Concurrency, true
		return out, ds
	}
	if !s.active {
		s.floorRate, s.floorConc = SafeLowerFloor*lastRate, int(SafeLowerFloor*float64(lastConc))
		s.active = true
	}
	before, beforeConc := out.Rate, out.Concurrency
	if s.haveLast {
		capRate, capConc := lastRate, lastConc
		if action == metrics.OnStaleLower {
			capRate = max(lastRate*SafeLowerFactor, s.floorRate)
			capConc = max(int(float64(lastConc)*SafeLowerFactor), s.floorConc, 1)
		}
		if out.Concurrency > 0 {
			out.Concurrency = min(out.Concurrency, capConc)
		} else {
			out.Rate = min(out.Rate, capRate)
		}
	}
	d := shapers.Decision{Tick: pos.Tick, Shaper: SafeModeShaper, Strategy: SafeModeShaper, RateBefore: before, RateAfter: out.Rate,
		Reason: "safe mode: " + strings.Join(why, "; ")}
	switch {
	case out.Rate != before:
		d.Changed = fmt.Sprintf("rate %.0f -> %.0f", before, out.Rate)
	case out.Concurrency != beforeConc:
		d.Changed = fmt.Sprintf("users %d -> %d", beforeConc, out.Concurrency)
	}
	out.SafeMode = fmt.Sprintf("safe mode %s: %s stale", action, strings.Join(stale, ", "))
	s.lastRate, s.lastConc, s.haveLast = out.Rate, out.Concurrency, true
	return out, append(ds, d)
}

// staleSources names the sources of target whose metrics in names are
// stale, with their last error.
func staleSources(snap metrics.Snapshot, target string, names []string) []string {
	var out []string
	for _, h := range snap.Health {
		if h.Target != target || h.Source == "client" {
			continue
		}
		for _, n := range names {
			if contains(h.Stale, n) {
				src := h.Source
				if h.Err != "" {
					src += ": " + h.Err
				}
				out = append(out, src)
				break
			}
		}
	}
	if len(out) == 0 {
		out = append(out, "none provides it")
	}
	return out
}
