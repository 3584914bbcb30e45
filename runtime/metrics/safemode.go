package metrics

import (
	"fmt"
	"sort"
	"strings"
)

// On-stale policies of a metrics source (the plan's on_stale).
const (
	OnStaleHold   = "hold"   // keep the current rate until the metric is fresh again
	OnStaleLower  = "lower"  // lower the rate (the control loop decides by how much)
	OnStaleIgnore = "ignore" // carry on as if the limit on that metric were absent
)

// MetricState is what SafeMode needs to know about one envelope metric.
type MetricState struct {
	Name    string
	Stale   bool
	Reason  string
	OnStale string // "" = lower
}

// Verdict is SafeMode's answer. Action is "" when the run may go on
// normally, else hold or lower; Stale lists the envelope metrics that are
// stale (including ignored ones), Reason says it in the user's words.
type Verdict struct {
	Action string
	Stale  []string
	Reason string
}

// SafeMode decides what a run does when metrics its envelope depends on
// are stale: lower wins over hold, hold over ignore. It is a pure
// function so shapers and dry-runs can use it as they are.
func SafeMode(metrics []MetricState) Verdict {
	var v Verdict
	var why []string
	rank := map[string]int{"": 0, OnStaleHold: 1, OnStaleLower: 2}
	for _, m := range metrics {
		if !m.Stale {
			continue
		}
		v.Stale = append(v.Stale, m.Name)
		pol := m.OnStale
		if pol == "" {
			pol = OnStaleLower
		}
		if pol == OnStaleIgnore {
			continue
		}
		r := m.Reason
		if r == "" {
			r = "stale"
		}
		why = append(why, fmt.Sprintf("%s (%s)", m.Name, r))
		if rank[pol] > rank[v.Action] {
			v.Action = pol
		}
	}
	sort.Strings(v.Stale)
	if v.Action != "" {
		verb := "holding the rate"
		if v.Action == OnStaleLower {
			verb = "lowering the rate"
		}
		v.Reason = fmt.Sprintf("safe mode: %s: envelope metric stale: %s", verb, strings.Join(why, ", "))
	}
	return v
}

// SafeMode applies the package's SafeMode to a snapshot: need are the
// envelope's metric names for target. A metric no source of the target
// provides counts as stale, with the hold policy.
func (c *Collector) SafeMode(snap Snapshot, target string, need []string) Verdict {
	policy := map[string]string{}
	for _, e := range c.entries {
		if e.Target != target {
			continue
		}
		e.mu.Lock()
		for n := range e.last {
			policy[n] = e.OnStale
		}
		for _, n := range e.Metrics {
			policy[n] = e.OnStale
		}
		e.mu.Unlock()
	}
	states := make([]MetricState, 0, len(need))
	for _, n := range need {
		s, ok := snap.Get(target, n)
		st := MetricState{Name: n, Stale: !ok || s.Stale, Reason: s.Reason, OnStale: policy[n]}
		if !ok {
			// A plan that reads no such metric is a configuration matter,
			// not a target in trouble: the rate is held, not lowered.
			st.Reason = "no source provides it"
			if st.OnStale == "" {
				st.OnStale = OnStaleHold
			}
		}
		states = append(states, st)
	}
	return SafeMode(states)
}
