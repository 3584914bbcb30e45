package stdlib

import "slices"

// MetricsSource is a kind of metrics source a target's metrics "KIND" block
// can name. runtime/metrics registers the implementation under the same
// name.
type MetricsSource struct {
	Kind string
	Doc  string
	// Settings are the attributes that configure the source, in the order
	// diagnostics list them.
	Settings []string
	// Queries: every other attribute names a metric and holds its query
	// (at least one); a source without queries measures cpu and memory
	// itself.
	Queries bool
}

// remoteSettings are the settings of a source read over HTTP.
var remoteSettings = []string{"endpoint", "timeout", "interval", "username", "password", "token", "on_stale"}

// metricsSources is the table of metrics source kinds.
var metricsSources = []MetricsSource{
	{Kind: "prometheus", Doc: "a Prometheus server's query API", Settings: remoteSettings, Queries: true},
	{Kind: "scrape", Doc: "a `/metrics` endpoint", Settings: remoteSettings, Queries: true},
	{Kind: "process", Doc: "a local process's cpu and memory", Settings: []string{"pid", "process", "interval", "on_stale"}},
	{Kind: "host", Doc: "the local machine's cpu and memory", Settings: []string{"interval", "on_stale"}},
}

// MetricsSources returns the kinds of metrics source, in the order the
// language reference lists them.
func MetricsSources() []MetricsSource { return slices.Clone(metricsSources) }

// LookupMetricsSource returns the kind of metrics source called kind.
func LookupMetricsSource(kind string) (MetricsSource, bool) {
	return lookup(metricsSources, kind, sourceKind)
}

// MetricsKinds lists the kinds of metrics source, in table order.
func MetricsKinds() []string { return names(metricsSources, sourceKind) }

func sourceKind(s MetricsSource) string { return s.Kind }

// MetricsSettings lists every setting of any kind of metrics source, in
// table order: the attributes of a metrics block that are never read as a
// query.
func MetricsSettings() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range metricsSources {
		for _, n := range s.Settings {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}
