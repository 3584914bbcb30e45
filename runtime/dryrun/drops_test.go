package dryrun

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
)

// overPlan is testdata/over.lshcl (300 req/s for 10 s to a 200 req/s
// target) with a pool of conns connections and the given timeout. Real
// runs of it against `loadshaper demo --capacity 200 --workers 16`: with
// 32 connections and 2s, 0 errors and 809 dropped of 3000; with 1000
// connections and 1s, 2458 errors (82%) and 0 dropped.
func overPlan(t *testing.T, conns int, timeout string) *lang.Plan {
	t.Helper()
	plan, diags := lang.Load([]string{"testdata/over.lshcl"}, lang.LoadOptions{Environ: []string{},
		Vars: map[string]string{"conns": fmt.Sprint(conns), "timeout": timeout}})
	if diags.HasErrors() || plan == nil {
		t.Fatalf("plan: %s", diags.Error())
	}
	return plan
}

// Past capacity with a pool the target drains within the timeout, the
// engine drops what it cannot send; the dry-run must predict drops, not
// errors (it predicted 600 errors and no drop before it modelled the pool).
func TestSmallPoolPastCapacityPredictsDrops(t *testing.T) {
	rep := mustRun(t, overPlan(t, 32, "2s"), Options{Seed: 1})
	over := rep.Phases[1]
	if over.Errors != 0 || rep.Errors != 0 {
		t.Fatalf("predicted %g errors in %s (%g in all), want none", over.Errors, over.Name, rep.Errors)
	}
	if over.Dropped < 700 || over.Dropped > 900 {
		t.Fatalf("predicted %g dropped in %s, want about 800 (a real run: 809)", over.Dropped, over.Name)
	}
	if got := over.CompletedRequests + over.Dropped; got < 2999 || got > 3001 {
		t.Fatalf("completed %g + dropped %g, want the phase's 3000 arrivals", over.CompletedRequests, over.Dropped)
	}
	// The drop is on the phase's closing tick, and nowhere else.
	for i, tk := range rep.Ticks {
		last := i+1 == len(rep.Ticks) || rep.Ticks[i+1].Phase != tk.Phase
		if (tk.Dropped > 0) != (last && tk.Phase == "over") {
			t.Fatalf("tick %g (%s) dropped %g", tk.T, tk.Phase, tk.Dropped)
		}
	}
	for _, th := range rep.Thresholds {
		if th.Name == "error_rate" && th.Status != "ok" {
			t.Fatalf("error_rate threshold %s (%g), want ok: drops are not errors", th.Status, th.Predicted)
		}
	}
	var text, js bytes.Buffer
	if err := WriteText(&text, rep, TextOptions{Charts: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dropped", "all 32 connections are busy", "queued at the client"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"dropped": `) || !strings.Contains(js.String(), `"queued": `) {
		t.Error("JSON report lacks dropped/queued")
	}
}

// A pool larger than what the target answers within the timeout: its
// queue outgrows the timeout and requests fail (the target's FIFO queue
// then answers only requests whose client has gone); nothing is dropped.
func TestLargePoolPastCapacityPredictsErrors(t *testing.T) {
	rep := mustRun(t, overPlan(t, 1000, "1s"), Options{Seed: 1})
	over := rep.Phases[1]
	if over.Dropped != 0 {
		t.Fatalf("predicted %g dropped, want none: the pool never fills", over.Dropped)
	}
	if share := over.Errors / over.CompletedRequests; share < 0.7 || share > 0.9 {
		t.Fatalf("predicted error share %g (%g of %g), want about 0.82 (a real run)", share, over.Errors, over.CompletedRequests)
	}
	for _, th := range rep.Thresholds {
		if th.Name == "error_rate" && th.Status != "fail" {
			t.Fatalf("error_rate threshold %s (%g), want fail", th.Status, th.Predicted)
		}
	}
}
