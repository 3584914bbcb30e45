package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/shapers"
	"github.com/loadshaper/loadshaper/stdlib"
)

// A controller that asks to end the first phase after about a second: that
// phase stops there, the next one runs its full length, and the summary
// has the first phase's real duration and the reason.
func TestControllerEndsPhaseEarly(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 50000, Workers: 16, Cost: time.Microsecond})
	p := onePhase(tb.URL, 8, &lang.Phase{Name: "soak", Duration: 8 * time.Second, Rate: stdlib.Constant(100)})
	p.Phases = append(p.Phases, &lang.Phase{Name: "main", Start: 8 * time.Second, Duration: time.Second, Rate: stdlib.Constant(100)})
	ctl := shapedBy(t, p, func(ti TickInfo, in shapers.Instruction) shapers.Instruction {
		if ti.PhaseIndex == 0 && ti.PhaseElapsed >= time.Second {
			in.EndPhase, in.EndReason = true, "settled"
		}
		return in
	})
	s := mustRun(t, p, Options{Controller: ctl})
	if len(s.Phases) != 2 {
		t.Fatalf("%d phases", len(s.Phases))
	}
	soak, main := s.Phases[0], s.Phases[1]
	if !soak.EndedEarly || soak.EndReason != "settled" || soak.DurationS > 4 || soak.EndedAtS < 1 || soak.PlannedS != 8 {
		t.Errorf("soak: %+v", soak)
	}
	// About 100/s for about a second, nowhere near the 800 of 8 s.
	if soak.Requests > 300 {
		t.Errorf("soak sent %d requests after asking to end at 1 s", soak.Requests)
	}
	if main.EndedEarly || main.DurationS < 0.9 || main.Requests < 80 {
		t.Errorf("main: ended early %v after %.1fs, %d requests", main.EndedEarly, main.DurationS, main.Requests)
	}
	var b strings.Builder
	s.WriteText(&b)
	if !strings.Contains(b.String(), "phase soak ended early: ran") {
		t.Errorf("summary:\n%s", b.String())
	}
}
