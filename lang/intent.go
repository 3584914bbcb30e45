package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var intentBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "kind"},
		{Name: "at"},
		{Name: "metric"},
		{Name: "change"},
		{Name: "growth"},
	},
}

// IntentKinds are the anticipated changes a plan can declare.
var IntentKinds = []string{"deployment", "growth"}

// An intent is a deployment (the cost of a request changes at a time:
// change = 1.2 means 20% more of the metric per unit of load) or expected
// growth (the planned traffic is multiplied: growth = 1.5). kind may be
// left out when change or growth makes it obvious.
func (l *loader) decodeIntentBlock(b *hcl.Block) {
	content, diags := b.Body.Content(intentBlockSchema)
	l.diags = append(l.diags, diags...)
	it := &Intent{Name: b.Labels[0], DeclRange: b.DefRange}
	n := &node{kind: KindIntent, name: it.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	n.build = func() {
		if k, ok := l.oneOf(at["kind"], IntentKinds, "intent kind"); ok {
			it.Kind = k
		} else if at["kind"] == nil {
			switch {
			case at["change"] != nil && at["growth"] == nil:
				it.Kind = "deployment"
			case at["growth"] != nil && at["change"] == nil:
				it.Kind = "growth"
			default:
				l.errorf(b.DefRange.Ptr(), "Missing kind", "Intent %q needs kind = %s, with change (deployment) or growth (growth).", it.Name, quotedList(IntentKinds))
			}
		}
		if v, ok := l.duration(at["at"]); ok {
			it.At = v
		}
		if v, ok := l.str(at["metric"]); ok {
			it.Metric = v
			l.checkMetricLater(v, exprRange(at["metric"]))
		}
		if v, ok := l.positive(at["change"]); ok {
			it.Change = v
		}
		if v, ok := l.positive(at["growth"]); ok {
			it.Growth = v
		}
		switch it.Kind {
		case "deployment":
			if at["change"] == nil {
				l.errorf(b.DefRange.Ptr(), "Missing change", "A deployment intent says how the metric per unit of load changes: change = 1.2 means 20%% more.")
			}
			if a := at["growth"]; a != nil {
				l.errorf(a.NameRange.Ptr(), "Unsupported argument", "growth belongs to growth intents; a deployment sets change.")
			}
		case "growth":
			if at["growth"] == nil {
				l.errorf(b.DefRange.Ptr(), "Missing growth", "A growth intent says how traffic grows: growth = 1.5 means 50%% more.")
			}
			if a := at["change"]; a != nil {
				l.errorf(a.NameRange.Ptr(), "Unsupported argument", "change belongs to deployment intents; a growth intent sets growth.")
			}
		}
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(it.Name), "kind": cty.StringVal(it.Kind)})
	}
	l.addNode(n)
	l.plan.Intents = append(l.plan.Intents, it)
}
