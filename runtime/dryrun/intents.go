package dryrun

import (
	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/shapers"
)

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
