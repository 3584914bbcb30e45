package lang

import (
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

var targetBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true},
		{Name: "timeout"},
		{Name: "max_connections"},
		{Name: "keep_alive"},
		{Name: "insecure_skip_verify"},
		{Name: "headers"},
		{Name: "config"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "metrics", LabelNames: []string{"kind"}}},
}

// MetricsKinds are the kinds of metrics sources a target can have
// (declared in stdlib.MetricsSources).
var MetricsKinds = stdlib.MetricsKinds()

// OnStaleActions are what a run may do when a source's metric goes stale.
var OnStaleActions = []string{"hold", "lower", "ignore"}

// metricsSettings are the attributes of a metrics block that configure the
// source; every other attribute names a metric and holds its query.
var metricsSettings = map[string]bool{}

func init() {
	for _, n := range stdlib.MetricsSettings() {
		metricsSettings[n] = true
	}
}

const (
	defaultTargetTimeout  = 10 * time.Second
	defaultMetricsTimeout = 2 * time.Second
	defaultTick           = time.Second
)

func (l *loader) decodeTargetBlock(b *hcl.Block) {
	content, diags := b.Body.Content(targetBlockSchema)
	l.diags = append(l.diags, diags...)
	t := &Target{Name: b.Labels[0], DeclRange: b.DefRange, KeepAlive: true, Timeout: defaultTargetTimeout, Headers: map[string]string{}}
	n := &node{kind: KindTarget, name: t.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	type metricsBlock struct {
		src   *MetricsSource
		attrs hcl.Attributes
		block *hcl.Block
	}
	var mbs []metricsBlock
	for _, mb := range content.Blocks {
		kind := mb.Labels[0]
		if !contains(MetricsKinds, kind) {
			l.errorf(mb.LabelRanges[0].Ptr(), "Unknown metrics source", "%q is not a kind of metrics source; use one of %s.%s", kind, quotedList(MetricsKinds), didYouMean(kind, MetricsKinds))
			continue
		}
		attrs, adiags := mb.Body.JustAttributes()
		l.diags = append(l.diags, adiags...)
		n.exprs = append(n.exprs, attrExprs(attrs)...)
		src := &MetricsSource{Kind: kind, Queries: map[string]string{}, Timeout: defaultMetricsTimeout, OnStale: "lower", DeclRange: mb.DefRange}
		mbs = append(mbs, metricsBlock{src, attrs, mb})
		t.Metrics = append(t.Metrics, src)
	}
	n.build = func() {
		if u, ok := l.httpURL(content.Attributes["url"]); ok {
			t.URL = u
		}
		if d, ok := l.duration(content.Attributes["timeout"]); ok {
			if d <= 0 {
				l.errorf(exprRange(content.Attributes["timeout"]), "Invalid timeout", "timeout must be longer than zero.")
			}
			t.Timeout = d
		}
		if v, ok := l.integer(content.Attributes["max_connections"], 0, 1_000_000); ok {
			t.MaxConnections = int(v)
		}
		if v, ok := l.boolean(content.Attributes["keep_alive"]); ok {
			t.KeepAlive = v
		}
		if v, ok := l.boolean(content.Attributes["insecure_skip_verify"]); ok {
			t.InsecureSkipVerify = v
		}
		if v, ok := l.stringMap(content.Attributes["headers"]); ok {
			t.Headers = v
		}
		l.targetConfig(t, content.Attributes["config"])
		for _, mb := range mbs {
			l.buildMetrics(mb.src, mb.attrs, mb.block)
		}
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(t.Name), "url": cty.StringVal(t.URL)})
	}
	l.addNode(n)
	l.plan.Targets = append(l.plan.Targets, t)
}

func (l *loader) buildMetrics(s *MetricsSource, attrs hcl.Attributes, b *hcl.Block) {
	if a := attrs["endpoint"]; a != nil {
		if u, ok := l.httpURL(a); ok {
			s.Endpoint = u
		}
	}
	if d, ok := l.duration(attrs["timeout"]); ok {
		s.Timeout = d
	}
	if d, ok := l.duration(attrs["interval"]); ok {
		s.Interval = d
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"username", &s.Username}, {"password", &s.Password}, {"token", &s.Token}, {"process", &s.Process}} {
		if v, ok := l.str(attrs[f.name]); ok {
			*f.dst = v
		}
	}
	if v, ok := l.integer(attrs["pid"], 1, 1<<31-1); ok {
		s.PID = int(v)
	}
	if v, ok := l.oneOf(attrs["on_stale"], OnStaleActions, "on_stale action"); ok {
		s.OnStale = v
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		if !metricsSettings[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		a := attrs[name]
		if kind, _ := stdlib.LookupMetricsSource(s.Kind); !kind.Queries {
			settings := make([]string, 0, len(metricsSettings))
			for k := range metricsSettings {
				settings = append(settings, k)
			}
			sort.Strings(settings)
			l.errorf(a.NameRange.Ptr(), "Unsupported argument", "A %q metrics source measures cpu and memory itself and takes no queries; %q is not one of its settings (%s).%s",
				s.Kind, name, quotedList(settingsFor(s.Kind)), didYouMean(name, settings))
			continue
		}
		if _, builtin := BuiltinMetrics[name]; !builtin {
			if s := suggest(name, settingsFor(s.Kind)); s != "" {
				l.warnf(a.NameRange.Ptr(), "Query or misspelt setting?", "%q is read as the query of a metric named %q. Did you mean the setting %q? If it is a metric, choose a name further from the settings.", name, name, s)
			}
		}
		if v, ok := l.str(a); ok {
			if v == "" {
				l.errorf(exprRange(a), "Empty query", "The query for metric %q is empty.", name)
				continue
			}
			s.Queries[name] = v
		}
	}
	switch s.Kind {
	case "prometheus", "scrape":
		if attrs["endpoint"] == nil {
			what := "the Prometheus server's URL, e.g. \"http://127.0.0.1:9090\""
			if s.Kind == "scrape" {
				what = "the /metrics URL to scrape, e.g. \"http://127.0.0.1:8080/metrics\""
			}
			l.errorf(b.DefRange.Ptr(), "Missing endpoint", "A %q metrics source needs endpoint: %s.", s.Kind, what)
		}
		if len(names) == 0 {
			l.errorf(b.DefRange.Ptr(), "No queries", "A %q metrics source needs at least one metric, like cpu = \"<query>\".", s.Kind)
		}
	case "process":
		if attrs["pid"] == nil && attrs["process"] == nil {
			l.errorf(b.DefRange.Ptr(), "Missing process", "A \"process\" metrics source needs pid (a process id) or process (a process name).")
		}
		if attrs["pid"] != nil && attrs["process"] != nil {
			l.errorf(attrs["process"].NameRange.Ptr(), "Conflicting arguments", "Set pid or process, not both.")
		}
	}
	if s.Kind != "process" {
		for _, k := range []string{"pid", "process"} {
			if a := attrs[k]; a != nil {
				l.errorf(a.NameRange.Ptr(), "Unsupported argument", "%s is a setting of \"process\" metrics sources, not %q ones.", k, s.Kind)
			}
		}
	}
	if (s.Kind == "process" || s.Kind == "host") && attrs["endpoint"] != nil {
		l.errorf(attrs["endpoint"].NameRange.Ptr(), "Unsupported argument", "A %q metrics source reads the local machine and takes no endpoint.", s.Kind)
	}
}

func settingsFor(kind string) []string {
	s, _ := stdlib.LookupMetricsSource(kind)
	return s.Settings
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
