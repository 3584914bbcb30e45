package lang

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"strings"
)

// Units of metric values, in the metric's base unit.
const (
	UnitFraction = "fraction" // 0..1
	UnitBytes    = "bytes"
	UnitSeconds  = "seconds"
	UnitRPS      = "rps"
	UnitNumber   = "number"
)

// BuiltinMetrics are the metrics loadshaper knows without a query: the
// generators' own figures (latency, errors, throughput) and the resource
// metrics a metrics source provides (cpu, memory). The unit decides how a
// limit or threshold value is written ("250ms", "1.5GiB", 0.8).
var BuiltinMetrics = map[string]string{
	"cpu":          UnitFraction,
	"memory":       UnitBytes,
	"error_rate":   UnitFraction,
	"throughput":   UnitRPS,
	"latency_p50":  UnitSeconds,
	"latency_p90":  UnitSeconds,
	"latency_p95":  UnitSeconds,
	"latency_p99":  UnitSeconds,
	"latency_p999": UnitSeconds,
	"latency_max":  UnitSeconds,
	"latency_mean": UnitSeconds,
	"connections":  UnitNumber,
	// The checks of requests: the fraction that passed (as k6's "checks")
	// and the fraction that failed, which envelopes can bound.
	"checks":             UnitFraction,
	"check_failure_rate": UnitFraction,
}

// MetricUnit is the unit of a metric's values: UnitFraction, UnitBytes,
// UnitSeconds, UnitRPS or UnitNumber (see metricUnit), for the views that
// print a reading against its limit.
func MetricUnit(name string) string { return metricUnit(name) }

// metricUnit is the unit of a metric: built-in, or guessed from a user
// metric's name (memory_*, *_bytes are sizes; latency_*, *_seconds are
// durations; *_ratio, *_fraction are fractions).
func metricUnit(name string) string {
	if u, ok := BuiltinMetrics[name]; ok {
		return u
	}
	switch {
	case strings.HasSuffix(name, "_bytes") || strings.HasPrefix(name, "memory"):
		return UnitBytes
	case strings.HasPrefix(name, "latency") || strings.HasSuffix(name, "_seconds") || strings.HasSuffix(name, "_latency"):
		return UnitSeconds
	case strings.HasSuffix(name, "_ratio") || strings.HasSuffix(name, "_fraction") || strings.HasPrefix(name, "cpu"):
		return UnitFraction
	}
	return UnitNumber
}

// metricNames lists the built-in metrics and those the plan's targets
// query, sorted, for validation and suggestions.
func (l *loader) metricNames() []string {
	seen := map[string]bool{}
	for m := range BuiltinMetrics {
		seen[m] = true
	}
	for _, t := range l.plan.Targets {
		for _, s := range t.Metrics {
			for q := range s.Queries {
				seen[q] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func (l *loader) isMetric(name string) bool {
	for _, m := range l.metricNames() {
		if m == name {
			return true
		}
	}
	return false
}

// checkMetricLater checks a metric name once every target is built (their
// queries declare user metrics).
func (l *loader) checkMetricLater(name string, rng *hcl.Range) {
	l.later = append(l.later, func() {
		if !l.isMetric(name) {
			l.errorf(rng, "Unknown metric", "No metric %q is measured: it is neither built in nor queried by a target's metrics block.%s", name, didYouMean(name, l.metricNames()))
		}
	})
}
