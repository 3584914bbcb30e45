package control

import (
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/shapers"
)

// The plan's intents as the loop and the dry-run hand them to shapers:
// run-time offsets, the factor by kind, unusable ones left out.
func TestIntentsTranslated(t *testing.T) {
	plan := &lang.Plan{Intents: []*lang.Intent{
		{Name: "v2", Kind: "deployment", At: time.Minute, Metric: "cpu", Change: 1.5},
		{Name: "sale", Kind: "growth", At: 2 * time.Minute, Growth: 2},
		{Name: "bad", Kind: "growth", At: time.Minute},
	}}
	got := dryrun.Intents(plan)
	want := []shapers.Intent{{Name: "v2", Kind: "deployment", At: time.Minute, Metric: "cpu", Factor: 1.5},
		{Name: "sale", Kind: "growth", At: 2 * time.Minute, Factor: 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("intents %+v, want %+v", got, want)
	}
}
