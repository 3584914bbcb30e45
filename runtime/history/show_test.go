package history

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// show prints the generators' latencies in milliseconds, as every other
// view does, and a failing shaper with its whole error: the rule's
// file:line and the backtrace.
func TestShowLatencyInMsAndFallbacks(t *testing.T) {
	s := openTemp(t)
	rec, err := s.Begin(Run{Plan: "shop", Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	const msg = "rules/r.star:2:54: in shape: ctx has no \"envelop\" (did you mean \"envelope\"?)\nTraceback (most recent call last):\n  rules/r.star:2:54: in shape\nError: ctx has no \"envelop\""
	for i := 0; i < 4; i++ {
		tk := Tick{N: i, At: t0.Add(time.Duration(i) * time.Second),
			Metrics:   map[string]float64{"api/latency_p99": 0.05549, "api/cpu": 0.5, "api/queue_seconds": 2},
			Decisions: []DecisionRecord{{Shaper: "rule", Strategy: "script", Fallback: i > 0, Error: map[bool]string{true: msg}[i > 0]}}}
		if err := rec.Record(tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Finish("passed", t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteShow(&b, rec.Run().ID); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"api/latency_p99    4      55.5ms  55.5ms",
		"api/cpu            4      0.5     0.5",
		"api/queue_seconds  4      2       2", // a user metric is printed as recorded
		`shaper "rule" FAILED in 3 of its 4 ticks (first at 2026-11-27T12:00:01Z)`,
		"    rules/r.star:2:54: in shape: ctx has no \"envelop\"",
		"    Traceback (most recent call last):",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.05549") {
		t.Errorf("show prints a latency in raw seconds:\n%s", out)
	}
}
