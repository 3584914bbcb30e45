package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/loadshaper/loadshaper/lang"
)

// ThresholdMetrics are the metrics a threshold can bound, with the unit of
// their Max/Min: latency in seconds, error_rate as a fraction, throughput in
// completed requests per second.
var ThresholdMetrics = map[string]string{
	"latency_p50": "seconds", "latency_p90": "seconds", "latency_p95": "seconds", "latency_p99": "seconds",
	"latency_p999": "seconds", "latency_max": "seconds", "latency_mean": "seconds", "error_rate": "fraction", "throughput": "rps",
	"checks": "fraction", "check_failure_rate": "fraction",
}

// ThresholdResult is a threshold's outcome in the summary.
type ThresholdResult struct {
	Name     string   `json:"name"`
	Metric   string   `json:"metric"`
	Max      *float64 `json:"max,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Unit     string   `json:"unit"`
	Window   float64  `json:"window,omitempty"` // seconds; 0 = the whole run (or phase)
	Phase    string   `json:"phase,omitempty"`
	Observed *float64 `json:"observed"` // whole run: the final value; window: the worst window; null: no data
	Pass     bool     `json:"pass"`
	Abort    bool     `json:"abort"`
	Aborted  bool     `json:"aborted"` // this threshold stopped the run
	// Skipped is set when the metric is not one the load engine measures
	// (cpu, memory, a target's own metrics): the threshold was not evaluated.
	Skipped bool `json:"skipped,omitempty"`
}

func checkThresholds(ths []*lang.Threshold, phases []*lang.Phase) error {
	for _, th := range ths {
		if th.Metric == "" {
			return fmt.Errorf("threshold %q: no metric", th.Name)
		}
		if th.Max == nil && th.Min == nil {
			return fmt.Errorf("threshold %q: needs max or min", th.Name)
		}
		if th.Phase != "" {
			found := false
			for _, p := range phases {
				found = found || p.Name == th.Phase
			}
			if !found {
				return fmt.Errorf("threshold %q: no phase %q", th.Name, th.Phase)
			}
		}
	}
	return nil
}

// metricValue computes metric over a span; ok is false when there is no data.
func metricValue(metric string, lat *hdrhistogram.Histogram, requests, errors int64, span time.Duration) (float64, bool) {
	sec := func(q float64) (float64, bool) {
		if lat.TotalCount() == 0 {
			return 0, false
		}
		if q == 100 {
			return float64(lat.Max()) / 1e6, true
		}
		return float64(lat.ValueAtQuantile(q)) / 1e6, true
	}
	switch metric {
	case "latency_p50":
		return sec(50)
	case "latency_p90":
		return sec(90)
	case "latency_p95":
		return sec(95)
	case "latency_p99":
		return sec(99)
	case "latency_p999":
		return sec(99.9)
	case "latency_max":
		return sec(100)
	case "latency_mean":
		if lat.TotalCount() == 0 {
			return 0, false
		}
		return lat.Mean() / 1e6, true
	case "error_rate":
		if requests == 0 {
			return 0, false
		}
		return float64(errors) / float64(requests), true
	case "throughput":
		if span <= 0 {
			return 0, false
		}
		return float64(requests) / span.Seconds(), true
	}
	return 0, false
}

// breaches reports whether v is outside th's bounds.
func breaches(th *lang.Threshold, v float64) bool {
	return (th.Max != nil && v > *th.Max) || (th.Min != nil && v < *th.Min)
}

// worse reports whether a is a worse observation than b for th.
func worse(th *lang.Threshold, a, b float64) bool {
	if th.Max != nil {
		return a > b
	}
	return a < b
}

type winEntry struct {
	lat              *hdrhistogram.Histogram
	requests         int64
	errors           int64
	chkPass, chkFail int64
	span             time.Duration
}

// thState tracks one threshold through the run.
type thState struct {
	th       *lang.Threshold
	ring     []winEntry // window thresholds: the last ticks
	next     int
	covered  time.Duration // time observed in relevant phases so far
	scratch  *hdrhistogram.Histogram
	observed float64
	hasObs   bool
	failed   bool
	aborted  bool
}

func newThState(th *lang.Threshold, tick time.Duration) *thState {
	s := &thState{th: th}
	if th.Window > 0 {
		n := int(math.Ceil(float64(th.Window)/float64(tick))) + 1
		s.ring = make([]winEntry, n)
		for i := range s.ring {
			s.ring[i].lat = newHist()
		}
		s.scratch = newHist()
	}
	return s
}

func (s *thState) applies(ph *lang.Phase) bool {
	if s.th.Phase != "" {
		return s.th.Phase == ph.Name
	}
	return !ph.Warmup
}

// observeWindow adds a tick to a window threshold and evaluates the window
// once it covers th.Window (or at the end of the run, whatever it covers).
// It reports a breach.
func (s *thState) observeWindow(t *agg, span time.Duration, final bool) bool {
	e := &s.ring[s.next%len(s.ring)]
	s.next++
	e.lat.Reset()
	e.lat.Merge(t.lat)
	e.requests, e.errors, e.span = t.requests, t.errors, span
	e.chkPass, e.chkFail = t.checkTotals()
	s.covered += span
	if s.covered < s.th.Window && !(final && !s.hasObs) {
		return false
	}
	s.scratch.Reset()
	var req, errs, pass, fail int64
	var sp time.Duration
	for k := 0; k < len(s.ring) && k < s.next; k++ {
		e := &s.ring[(s.next-1-k)%len(s.ring)]
		if sp >= s.th.Window {
			break
		}
		s.scratch.Merge(e.lat)
		req += e.requests
		errs += e.errors
		pass += e.chkPass
		fail += e.chkFail
		sp += e.span
	}
	v, ok := metricValue(s.th.Metric, s.scratch, req, errs, sp)
	if cv, cok, isCheck := checkMetric(s.th.Metric, pass, fail); isCheck {
		v, ok = cv, cok
	}
	if !ok {
		return false
	}
	if !s.hasObs || worse(s.th, v, s.observed) {
		s.observed, s.hasObs = v, true
	}
	if breaches(s.th, v) {
		s.failed = true
		return true
	}
	return false
}

// observeTotal evaluates a whole-run threshold over the cumulative figures.
func (s *thState) observeTotal(a *agg, span time.Duration) bool {
	v, ok := metricValue(s.th.Metric, a.lat, a.requests, a.errors, span)
	pass, fail := a.checkTotals()
	if cv, cok, isCheck := checkMetric(s.th.Metric, pass, fail); isCheck {
		v, ok = cv, cok
	}
	if !ok {
		return false
	}
	s.observed, s.hasObs = v, true
	return breaches(s.th, v)
}

// measured reports whether the engine computes the threshold's metric.
func (s *thState) measured() bool {
	_, ok := ThresholdMetrics[s.th.Metric]
	return ok
}

func (s *thState) result() ThresholdResult {
	r := ThresholdResult{Name: s.th.Name, Metric: s.th.Metric, Max: s.th.Max, Min: s.th.Min, Unit: ThresholdMetrics[s.th.Metric],
		Window: s.th.Window.Seconds(), Phase: s.th.Phase, Abort: s.th.Abort, Aborted: s.aborted}
	if s.hasObs {
		v := s.observed
		r.Observed = &v
	}
	r.Pass = !s.failed
	r.Skipped = !s.measured()
	return r
}

func (s *thState) describe() string {
	bound := ""
	if s.th.Max != nil && s.observed > *s.th.Max {
		bound = fmt.Sprintf("> max %s", fmtMetric(s.th.Metric, *s.th.Max))
	} else if s.th.Min != nil {
		bound = fmt.Sprintf("< min %s", fmtMetric(s.th.Metric, *s.th.Min))
	}
	return fmt.Sprintf("threshold %q: %s %s %s", s.th.Name, s.th.Metric, fmtMetric(s.th.Metric, s.observed), bound)
}

func fmtMetric(metric string, v float64) string {
	switch ThresholdMetrics[metric] {
	case "seconds":
		return fmt.Sprintf("%.1fms", v*1000)
	case "fraction":
		return fmt.Sprintf("%.2f%%", v*100)
	default:
		return fmt.Sprintf("%.1f/s", v)
	}
}

// checkMetric computes the metrics of checks ("checks": the fraction that
// passed; "check_failure_rate": that failed); isCheck is false for other
// metrics, ok false when no check ran.
func checkMetric(metric string, passed, failed int64) (v float64, ok, isCheck bool) {
	switch metric {
	case "checks":
		return passRate(passed, failed), passed+failed > 0, true
	case "check_failure_rate":
		return 1 - passRate(passed, failed), passed+failed > 0, true
	}
	return 0, false, false
}
