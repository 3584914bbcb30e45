package engine

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
)

func shapedTick() *TickStats {
	return &TickStats{Tick: 3, Elapsed: 4 * time.Second, Phase: "ramp", PhaseElapsed: 4 * time.Second,
		Instruction: shapers.Instruction{Rate: 312},
		Shaping: &ShapingPoint{Planned: 500,
			Envelope: []EnvelopeReading{
				{Metric: "cpu", Limit: 0.8, Value: 0.74},
				{Metric: "error_rate", Limit: 0.01, Value: 0.012},
				{Metric: "latency_p99", Limit: 0.25, Value: 0.212, Stale: true},
				{Metric: "memory", Limit: 1.5 * (1 << 30), Missing: true},
			},
			Decisions: []ShaperMark{
				{Shaper: "rule", Strategy: "script", Fallback: true, RateBefore: 500, RateAfter: 500,
					Error: `rules/r.star:2:16: in shape: key "checkout" not in dict`},
				{Shaper: "guard", Strategy: "predictive_rate_limit", Changed: "rate 500 -> 312", RateBefore: 500, RateAfter: 312,
					Reason: "cpu binds: predicted to reach 0.8 at 312 rps; the planned rate would reach the cpu limit in 12s"},
			}}}
}

// The live view shows why the rate is what it is: every envelope metric
// against its limit, the binding shaper's short reason, and a failing
// shaper with its file:line — in lines mode and beside the bars alike.
func TestLiveViewShowsShaping(t *testing.T) {
	wants := []string{
		"target 312/s",
		"  cpu 0.74/0.80",
		"  error_rate 0.012!/0.010",
		"  latency_p99 212ms?/250ms",
		"  memory -/1.5GiB",
		`  [rule FAILED: rules/r.star:2:16: in shape: key "checkout" not in dict]`,
		"  guard: cpu binds: predicted to reach 0.8 at 312 rps",
	}
	var lines bytes.Buffer
	LineProgress{W: &lines}.Tick(shapedTick())
	b := NewBarProgress(io.Discard)
	b.PhaseStart(0, &lang.Phase{Name: "ramp", Duration: 10 * time.Second})
	b.Tick(shapedTick())
	bar := b.cur.get()
	b.PhaseEnd(0, &lang.Phase{Name: "ramp"}, &PhaseSummary{})
	b.Close()
	for _, view := range []string{lines.String(), bar} {
		for _, w := range wants {
			if !strings.Contains(view, w) {
				t.Errorf("live view lacks %q:\n%s", w, view)
			}
		}
		if strings.Contains(view, "would reach the cpu limit") {
			t.Errorf("the reason is not cut to its first clause:\n%s", view)
		}
	}
	// No control loop (attack): the line is the engine's figures alone.
	plain := shapedTick()
	plain.Shaping = nil
	if l := tickLine(plain); strings.Contains(l, "cpu") || strings.Contains(l, "guard") {
		t.Errorf("tick line without shaping: %s", l)
	}
}

func TestShortReason(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"cpu binds; step limit", 20, "cpu binds"},
		{"probing", 20, "probing"},
		{"probing the line", 8, "probing…"},
		{"éééééé", 4, "ééé…"}, // runes, not bytes
	} {
		if got := ShortReason(c.in, c.n); got != c.want {
			t.Errorf("ShortReason(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
