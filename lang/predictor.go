package lang

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

var predictorBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "metric", Required: true},
		{Name: "model"},
		{Name: "horizon"},
		{Name: "history"},
		{Name: "target"},
	},
}

const (
	defaultHorizon = 30 * time.Second
	defaultHistory = time.Hour
)

// A predictor block's own attributes are fixed; the rest are the model's
// parameters (declared in stdlib.Models), checked with the model's hcldec
// spec.
func (l *loader) decodePredictorBlock(b *hcl.Block) {
	content, remain, diags := b.Body.PartialContent(predictorBlockSchema)
	l.diags = append(l.diags, diags...)
	p := &Predictor{Name: b.Labels[0], Model: "auto", Horizon: defaultHorizon, History: defaultHistory, Params: map[string]cty.Value{}, DeclRange: b.DefRange}
	n := &node{kind: KindPredictor, name: p.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	model := "auto"
	modelOK := true
	if at["model"] != nil {
		model, modelOK = l.staticName(at["model"], stdlib.ModelNames(), "predictor model")
	}
	decl, _ := stdlib.LookupModel(model)
	var params hcl.Attributes
	if modelOK {
		p.Model = model
		params = l.paramContent(remain, decl.Params)
		n.exprs = append(n.exprs, attrExprs(params)...)
	}
	n.build = func() {
		if m, ok := l.str(at["metric"]); ok {
			p.Metric = m
			l.checkMetricLater(m, exprRange(at["metric"]))
		}
		if d, ok := l.duration(at["horizon"]); ok {
			if d <= 0 {
				l.errorf(exprRange(at["horizon"]), "Invalid horizon", "horizon must be longer than zero.")
			}
			p.Horizon = d
		}
		if d, ok := l.duration(at["history"]); ok {
			p.History = d
		}
		if t, ok := l.refAttr(at["target"], KindTarget, "target"); ok {
			p.Target = t
		}
		if modelOK {
			p.Params = l.decodeParams(params, decl.Params)
			if d, ok := p.Params["degree"]; ok && model == "load_response" && params["degree"] != nil {
				if f := mustFloat(d); f < 1 || f > 3 {
					l.errorf(exprRange(params["degree"]), "Invalid degree", "degree must be 1, 2 or 3; got %v.", f)
				}
			}
		}
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(p.Name), "metric": cty.StringVal(p.Metric), "horizon": durVal(p.Horizon)})
	}
	l.addNode(n)
	l.plan.Predictors = append(l.plan.Predictors, p)
	l.predictorTargets = append(l.predictorTargets, at["target"])
}
