package lang

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

var shaperBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "strategy"},
		{Name: "script"},
		{Name: "envelope"},
		{Name: "on_error"},
	},
}

// OnErrorActions are what a run does when a shaper fails (its rule raises,
// a strategy panics): "fallback", the default, uses the safe built-in for
// that tick and carries on; "fail" stops the run at the first failure.
// Either way a shaper that failed on every tick fails the run.
var OnErrorActions = []string{"fallback", "fail"}

// A shaper is a built-in strategy, whose parameters are declared in
// stdlib.Strategies, or a Starlark script, whose extra attributes are its
// sandbox limits (stdlib.ScriptParams) and the rule's own parameters.
func (l *loader) decodeShaperBlock(b *hcl.Block) {
	content, remain, diags := b.Body.PartialContent(shaperBlockSchema)
	l.diags = append(l.diags, diags...)
	s := &Shaper{Name: b.Labels[0], Params: map[string]cty.Value{}, DeclRange: b.DefRange}
	n := &node{kind: KindShaper, name: s.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	strategies := stdlib.StrategyNames()
	var strategy stdlib.Strategy
	strategyOK := false
	var params hcl.Attributes
	switch {
	case at["strategy"] != nil && at["script"] != nil:
		l.errorf(at["script"].NameRange.Ptr(), "Conflicting arguments", "A shaper has a built-in strategy or a script, not both.")
	case at["strategy"] == nil && at["script"] == nil:
		l.errorf(b.DefRange.Ptr(), "Missing strategy or script", "Shaper %q needs strategy = \"<name>\" (one of %s) or script = \"<file>.star\".", s.Name, quotedList(strategies))
	case at["strategy"] != nil:
		var name string
		name, strategyOK = l.staticName(at["strategy"], strategies, "shaper strategy")
		if strategyOK {
			strategy, _ = stdlib.LookupStrategy(name)
			s.Strategy = name
			params = l.paramContent(remain, strategy.Params)
			n.exprs = append(n.exprs, attrExprs(params)...)
			if strategy.NeedsEnvelope && at["envelope"] == nil {
				l.errorf(b.DefRange.Ptr(), "Missing envelope", "The %q strategy keeps the target inside an envelope; set envelope = envelope.<name>.", name)
			}
		}
	default:
		// A script's block: its sandbox limits and any attribute of the
		// rule's own, which it reads as ctx.params.<name>.
		var pd hcl.Diagnostics
		params, pd = remain.JustAttributes()
		l.diags = append(l.diags, pd...)
		n.exprs = append(n.exprs, attrExprs(params)...)
	}
	n.build = func() {
		if e, ok := l.refAttr(at["envelope"], KindEnvelope, "envelope"); ok {
			s.Envelope = e
		}
		s.OnError = "fallback"
		if v, ok := l.oneOf(at["on_error"], OnErrorActions, "choice for on_error"); ok {
			s.OnError = v
		}
		if strategyOK {
			s.Params = l.decodeParams(params, strategy.Params)
		}
		if a := at["script"]; a != nil && at["strategy"] == nil {
			if p, ok := l.str(a); ok {
				if !strings.HasSuffix(p, ".star") {
					l.errorf(exprRange(a), "Invalid script", "Rule scripts are Starlark files ending in .star; got %q.", p)
				} else {
					s.Script, s.ScriptName = l.abs(p), l.display(p)
					if l.loadScript(p, a) {
						l.later = append(l.later, func() { l.checkScriptAttrs(s, s.Script) })
					}
				}
			}
			s.Params = l.decodeParams(params, stdlib.ScriptParams)
			for name, a := range params {
				if paramNamed(stdlib.ScriptParams, name) {
					continue
				}
				if v, ok := l.eval(a.Expr); ok {
					s.Params[name] = v
				}
			}
		}
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(s.Name)})
	}
	l.addNode(n)
	l.plan.Shapers = append(l.plan.Shapers, s)
}

func paramNamed(params []stdlib.Param, name string) bool {
	for _, p := range params {
		if p.Name == name {
			return true
		}
	}
	return false
}
