package tick

import (
	"time"

	"github.com/loadshaper/loadshaper/predictors"
	"github.com/loadshaper/loadshaper/shapers"
)

// applyDeploys scales a forecast made at run time now, one point per tick,
// by the deployment intents for metric that take effect after now: every
// point at or after an intent's At is multiplied by its Change (value and
// band). Growth intents are left out: they change the planned rate, which a
// time series of the metric does not see (shapers apply them).
func applyDeploys(fc *predictors.Forecast, metric string, now, tick time.Duration, intents []shapers.Intent) {
	var ins []predictors.Intent
	for _, in := range intents {
		if in.Kind == "deployment" && in.At > now && in.Factor > 0 && (in.Metric == "" || in.Metric == metric) {
			ins = append(ins, in.Predictor())
		}
	}
	if len(ins) > 0 {
		predictors.ApplyIntents(fc, metric, now.Seconds(), tick.Seconds(), ins)
	}
}
