package tick

import (
	"testing"

	"github.com/loadshaper/loadshaper/lang"
)

// The demo names shaper "guard" in its ramp and its hold: both phases must
// get the same shaper, so what it learnt on the ramp carries into the hold —
// in a dry-run exactly as in a run.
func TestPhaseLinksShareShapersAcrossPhases(t *testing.T) {
	plan, diags := lang.Load([]string{"../../examples/demo.lshcl"}, lang.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	links, err := PhaseLinks(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ramp, hold int = -1, -1
	for i, ph := range plan.Phases {
		switch ph.Name {
		case "ramp":
			ramp = i
		case "hold":
			hold = i
		}
	}
	if ramp < 0 || hold < 0 || len(links[ramp]) != 1 || len(links[hold]) != 1 {
		t.Fatalf("demo phases/links changed: %v", links)
	}
	if links[ramp][0].Shaper != links[hold][0].Shaper {
		t.Fatal("ramp and hold got different guard shapers: the hold would start learning from nothing")
	}
	// Separately built chains (no sharing) are distinct, so the check above can fail.
	a, _ := Links(plan, plan.Phases[ramp])
	b, _ := Links(plan, plan.Phases[hold])
	if a[0].Shaper == b[0].Shaper {
		t.Fatal("Links returned one shaper twice")
	}
}
