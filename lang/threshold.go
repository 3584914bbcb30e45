package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var thresholdBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "metric"},
		{Name: "max"},
		{Name: "min"},
		{Name: "window"},
		{Name: "abort"},
		{Name: "delay"},
		{Name: "phase"},
	},
}

// A threshold's metric is its label (threshold "latency_p99") unless a
// metric attribute names it (threshold "fast_checkout" { metric = ... }).
func (l *loader) decodeThresholdBlock(b *hcl.Block) {
	content, diags := b.Body.Content(thresholdBlockSchema)
	l.diags = append(l.diags, diags...)
	t := &Threshold{Name: b.Labels[0], Metric: b.Labels[0], DeclRange: b.DefRange}
	n := &node{kind: KindThreshold, name: t.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	if at["max"] == nil && at["min"] == nil && !diags.HasErrors() {
		l.errorf(b.DefRange.Ptr(), "Missing max or min", "Threshold %q needs max = <value> and/or min = <value>.", t.Name)
	}
	n.build = func() {
		metricRange := b.LabelRanges[0].Ptr()
		if a := at["metric"]; a != nil {
			if m, ok := l.str(a); ok {
				t.Metric = m
				metricRange = exprRange(a)
			}
		}
		l.later = append(l.later, func() {
			if !l.isMetric(t.Metric) {
				hint := ""
				if at["metric"] == nil {
					hint = " A threshold's label is its metric unless it sets metric = \"<name>\"."
				}
				l.errorf(metricRange, "Unknown metric", "No metric %q is measured: it is neither built in nor queried by a target's metrics block.%s%s", t.Metric, didYouMean(t.Metric, l.metricNames()), hint)
			}
		})
		for _, f := range []struct {
			name string
			dst  **float64
		}{{"max", &t.Max}, {"min", &t.Min}} {
			a := at[f.name]
			if a == nil {
				continue
			}
			lim, ok := l.limit(&hcl.Attribute{Name: t.Metric, Expr: a.Expr, Range: a.Range, NameRange: a.NameRange})
			if ok {
				v := lim.Max
				*f.dst = &v
			}
		}
		if t.Max != nil && t.Min != nil && *t.Min > *t.Max {
			l.errorf(exprRange(at["min"]), "Empty threshold range", "min (%v) is above max (%v): no value can pass.", *t.Min, *t.Max)
		}
		if v, ok := l.duration(at["window"]); ok {
			t.Window = v
		}
		if v, ok := l.boolean(at["abort"]); ok {
			t.Abort = v
		}
		if v, ok := l.duration(at["delay"]); ok {
			t.Delay = v
		}
		if a := at["delay"]; a != nil && !t.Abort {
			l.warnf(a.NameRange.Ptr(), "delay without abort", "delay postpones aborting the run; it has no effect unless abort = true.")
		}
		if v, ok := l.refAttr(at["phase"], KindPhase, "phase"); ok {
			t.Phase = v
		}
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(t.Name), "metric": cty.StringVal(t.Metric)})
	}
	l.addNode(n)
	l.plan.Thresholds = append(l.plan.Thresholds, t)
}
