package predictors

// Intent is something the operator knows is coming, declared in the plan
// (`intent` blocks), that predictions should account for.
type Intent struct {
	// Kind is IntentDeploy or IntentGrowth.
	Kind IntentKind
	// At is when it takes effect, in seconds on the caller's clock (the
	// same clock as EnvelopeRequest.Now and the forecast's start time).
	At float64
	// Metric limits a deploy to one metric; empty means every metric.
	Metric string
	// Factor is multiplicative. Deploy: the load-dependent part of the
	// metric is multiplied by Factor from At on (1.2 = a release that costs
	// 20% more CPU per request); in a plain forecast the forecast value is
	// multiplied. Growth: the planned rate is multiplied by Factor from At
	// on (traffic growth the plan does not show).
	Factor float64
}

// IntentKind says what an Intent changes.
type IntentKind uint8

const (
	IntentDeploy IntentKind = iota + 1 // the system changes: metric response × Factor
	IntentGrowth                       // the traffic changes: planned rate × Factor
)

func (k IntentKind) String() string {
	switch k {
	case IntentDeploy:
		return "deploy"
	case IntentGrowth:
		return "growth"
	}
	return "unknown"
}

// ApplyIntents adjusts a time-series forecast of metric in place: the
// forecast for step h (time start + h·step) is multiplied by the Factor of
// every intent in effect by then (deploys for this metric or all metrics,
// and growth, which scales load-driven series). Intents with a Factor ≤ 0
// are ignored.
func ApplyIntents(f *Forecast, metric string, start, step float64, intents []Intent) {
	for _, in := range intents {
		if in.Factor <= 0 || (in.Kind == IntentDeploy && in.Metric != "" && in.Metric != metric) {
			continue
		}
		for i := range f.Mean {
			if start+float64(i+1)*step >= in.At {
				f.Mean[i] *= in.Factor
				if i < len(f.Lower) {
					f.Lower[i] *= in.Factor
				}
				if i < len(f.Upper) {
					f.Upper[i] *= in.Factor
				}
			}
		}
	}
}
