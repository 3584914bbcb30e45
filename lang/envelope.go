package lang

import (
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// An envelope block is a set of `metric = limit` attributes. Any metric a
// target provides may be limited; the unit follows the metric (see
// metricUnit): cpu = 0.8, memory = "1.5GiB", latency_p99 = "250ms".
func (l *loader) decodeEnvelopeBlock(b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	e := &Envelope{Name: b.Labels[0], DeclRange: b.DefRange}
	n := &node{kind: KindEnvelope, name: e.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(attrs)}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(attrs) == 0 && !diags.HasErrors() {
		l.errorf(b.DefRange.Ptr(), "Empty envelope", "Envelope %q sets no limits. Add at least one, like cpu = 0.8 or latency_p99 = \"250ms\".", e.Name)
	}
	n.build = func() {
		fields := map[string]cty.Value{"name": cty.StringVal(e.Name)}
		for _, name := range names {
			lim, ok := l.limit(attrs[name])
			if !ok {
				continue
			}
			e.Limits = append(e.Limits, lim)
			fields[name] = cty.NumberFloatVal(lim.Max)
		}
		n.value = objectVal(fields)
	}
	l.addNode(n)
	l.plan.Envelopes = append(l.plan.Envelopes, e)
	l.envelopeAttrs = append(l.envelopeAttrs, attrs)
}

// limit reads `metric = value` in the metric's unit.
func (l *loader) limit(a *hcl.Attribute) (Limit, bool) {
	unit := metricUnit(a.Name)
	lim := Limit{Metric: a.Name, Unit: unit}
	var ok bool
	switch unit {
	case UnitFraction:
		lim.Max, ok = l.fraction(a)
	case UnitBytes:
		lim.Max, ok = l.size(a)
	case UnitSeconds:
		var d time.Duration
		d, ok = l.duration(a)
		lim.Max = d.Seconds()
	case UnitRPS:
		lim.Max, ok = l.nonNegative(a)
	default:
		// A user metric of unknown unit: a number, or a duration or size
		// string whose unit says what it is.
		v, vok := l.eval(a.Expr)
		if !vok {
			return lim, false
		}
		if v.Type() == cty.String && !v.IsNull() {
			if d, err := stdlib.ParseDuration(v.AsString()); err == nil {
				return Limit{Metric: a.Name, Max: d.Seconds(), Unit: UnitSeconds}, true
			}
			if s, err := stdlib.ParseSize(v.AsString()); err == nil {
				return Limit{Metric: a.Name, Max: s, Unit: UnitBytes}, true
			}
		}
		if _, err := convert.Convert(v, cty.Number); err != nil {
			l.errorf(exprRange(a), "Invalid limit", "The limit for %s must be a number, a duration like \"250ms\" or a size like \"1GiB\".", a.Name)
			return lim, false
		}
		lim.Max, ok = l.number(a)
	}
	return lim, ok
}

// checkEnvelopeMetrics runs once targets are built: every limited metric
// must be one loadshaper measures or one a target queries.
func (l *loader) checkEnvelopeMetrics() {
	known := l.metricNames()
	for _, attrs := range l.envelopeAttrs {
		for name, a := range attrs {
			if !contains(known, name) {
				l.errorf(a.NameRange.Ptr(), "Unknown metric", "No metric %q is measured: it is neither built in nor queried by a target's metrics block.%s", name, didYouMean(name, known))
			}
		}
	}
}
