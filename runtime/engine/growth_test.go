package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/testbed"
)

// A closed-model phase under a growth intent runs users × growth from its
// At on: twice the users send about twice the requests to the testbed.
func TestGrowthDoublesClosedModelUsers(t *testing.T) {
	tb := startTestbed(t, testbed.Config{Capacity: 50000, Workers: 64, Cost: time.Microsecond})
	p := onePhase(tb.URL, 2, &lang.Phase{Duration: 3 * time.Second, Concurrency: 2, ThinkTime: 20 * time.Millisecond})
	p.Intents = []*lang.Intent{{Name: "sale", Kind: "growth", At: 1500 * time.Millisecond, Growth: 2}}
	var ticks []*TickStats
	s := mustRun(t, p, Options{OnTick: []func(*TickStats){func(ts *TickStats) { c := *ts; ticks = append(ticks, &c) }}})
	var before, after float64
	var nb, na int
	for _, ts := range ticks {
		switch el := ts.Elapsed.Seconds(); {
		case el > 0.3 && el <= 1.4:
			before += ts.Throughput
			nb++
			if ts.Instruction.Concurrency != 2 {
				t.Errorf("at %.2fs: %d users, want 2", el, ts.Instruction.Concurrency)
			}
		case el > 1.8 && el <= 2.9:
			after += ts.Throughput
			na++
			if ts.Instruction.Concurrency != 4 {
				t.Errorf("at %.2fs: %d users, want 4", el, ts.Instruction.Concurrency)
			}
		}
	}
	if nb == 0 || na == 0 {
		t.Fatalf("ticks: %d before, %d after", nb, na)
	}
	before, after = before/float64(nb), after/float64(na)
	t.Logf("%.1f/s with 2 users, %.1f/s after the growth", before, after)
	if r := after / before; r < 1.6 || r > 2.4 {
		t.Errorf("after/before = %.2f, want about 2", r)
	}
	if len(s.Phases[0].Growth) != 1 {
		t.Errorf("growth notes %q", s.Phases[0].Growth)
	}
	var html strings.Builder
	if err := s.WriteHTML(&html); err != nil || !strings.Contains(html.String(), "growth &#34;sale&#34; ×2 in force from") {
		t.Errorf("the HTML summary does not name the growth (err %v)", err)
	}
}
