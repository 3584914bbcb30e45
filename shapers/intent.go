package shapers

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
)

// Intent is a plan's `intent` block as shapers see it: a change the
// operator knows is coming, at a run-time offset.
type Intent struct {
	Name   string
	Kind   string        // "deployment" | "growth"
	At     time.Duration // run time (the clock of Snapshot.Now) it takes effect
	Metric string        // deployment: the metric affected; "" = every metric
	Factor float64       // deployment: change of the metric per unit of load; growth: factor on the planned rate
}

// Predictor is the intent in the predictors' terms (At in seconds of run time).
func (i Intent) Predictor() predictors.Intent {
	k := predictors.IntentDeploy
	if i.Kind == "growth" {
		k = predictors.IntentGrowth
	}
	return predictors.Intent{Kind: k, At: i.At.Seconds(), Metric: i.Metric, Factor: i.Factor}
}

// upcoming reports whether the intent takes effect after now and by now+horizon.
func (i Intent) upcoming(now, horizon time.Duration) bool {
	return i.Factor > 0 && !math.IsNaN(i.Factor) && i.At > now && i.At <= now+horizon
}

// deployFactor is the largest cumulative factor the deployment intents for
// metric reach with At in (from, to] (1 when none raises the metric), and
// the intents that make it up, for the decision's text. The largest, since
// the rate sent must stay safe for the whole horizon; a deployment that
// lowers the metric does not raise the rate before it has happened.
func deployFactor(intents []Intent, metric string, from, to time.Duration) (float64, []Intent) {
	best, cum := 1.0, 1.0
	var used, upTo []Intent
	for _, in := range sortedByAt(intents) {
		if in.Kind != "deployment" || !in.upcoming(from, to-from) || (in.Metric != "" && in.Metric != metric) {
			continue
		}
		cum *= in.Factor
		upTo = append(upTo, in)
		if cum > best {
			best, used = cum, append([]Intent(nil), upTo...)
		}
	}
	return best, used
}

// growthAt is the product of the growth intents that take effect after now
// and by t: the planned rate the shaper looks ahead at is multiplied by it.
// Growth already in force at now is part of the planned rate the runtime
// hands over (see Snapshot.Intents).
func growthAt(intents []Intent, now, t time.Duration) float64 {
	f := 1.0
	for _, in := range intents {
		if in.Kind == "growth" && in.upcoming(now, t-now) {
			f *= in.Factor
		}
	}
	return f
}

// sortedByAt returns the intents in time order (a copy; intents are few).
func sortedByAt(intents []Intent) []Intent {
	s := append([]Intent(nil), intents...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].At < s[j-1].At; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// describeIntents names intents for a decision: `deployment "v2" at 1m0s (cpu ×1.5)`.
func describeIntents(ins []Intent) string {
	parts := make([]string, len(ins))
	for i, in := range ins {
		what := in.Metric
		if what == "" {
			what = "every metric"
		}
		if in.Kind == "growth" {
			what = "planned rate"
		}
		parts[i] = fmt.Sprintf("%s %q at %s (%s ×%.3g)", in.Kind, in.Name, in.At, what, in.Factor)
	}
	return strings.Join(parts, ", ")
}
