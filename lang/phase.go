package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

var phaseBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "duration", Required: true},
		{Name: "rate"},
		{Name: "concurrency"},
		{Name: "think_time"},
		{Name: "arrival"},
		{Name: "max_rate"},
		{Name: "shapers"},
		{Name: "requests"},
		{Name: "flows"},
		{Name: "warmup"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "chaos", LabelNames: []string{"kind"}}},
}

var chaosBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "at"},
		{Name: "duration"},
		{Name: "factor"},
		{Name: "fraction"},
		{Name: "headers"},
		{Name: "within_envelope"},
	},
}

// ChaosKinds are the faults a phase can inject.
var ChaosKinds = []string{"spike", "abort", "slow_client", "fault_header"}

// Arrivals are the open-model arrival processes.
var Arrivals = []string{"uniform", "poisson"}

type phaseDecl struct {
	phase    *Phase
	content  *hcl.BodyContent
	chaos    []*hcl.BodyContent
	rateOK   bool
	durOK    bool
	maxRateR *hcl.Range
}

func (l *loader) decodePhaseBlock(b *hcl.Block) {
	content, diags := b.Body.Content(phaseBlockSchema)
	l.diags = append(l.diags, diags...)
	p := &Phase{Name: b.Labels[0], Arrival: "uniform", DeclRange: b.DefRange}
	n := &node{kind: KindPhase, name: p.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	d := &phaseDecl{phase: p, content: content}
	at := content.Attributes
	for _, cb := range content.Blocks {
		kind := cb.Labels[0]
		if !contains(ChaosKinds, kind) {
			l.errorf(cb.LabelRanges[0].Ptr(), "Unknown chaos kind", "%q is not a kind of chaos; use one of %s.%s", kind, quotedList(ChaosKinds), didYouMean(kind, ChaosKinds))
			continue
		}
		cc, cdiags := cb.Body.Content(chaosBlockSchema)
		l.diags = append(l.diags, cdiags...)
		n.exprs = append(n.exprs, attrExprs(cc.Attributes)...)
		d.chaos = append(d.chaos, cc)
		p.Chaos = append(p.Chaos, &Chaos{Kind: kind, DeclRange: cb.DefRange})
	}
	switch {
	case at["rate"] != nil && at["concurrency"] != nil:
		l.errorf(at["concurrency"].NameRange.Ptr(), "Conflicting arguments", "A phase sets rate (open model: arrivals per second) or concurrency (closed model: a fixed number of virtual users), not both.")
	case at["rate"] == nil && at["concurrency"] == nil:
		l.errorf(b.DefRange.Ptr(), "Missing rate", "Phase %q needs rate = <requests per second> (or a shape such as ramp(100, 1000)), or concurrency = <users> for a closed model.", p.Name)
	}
	if at["think_time"] != nil && at["concurrency"] == nil {
		l.errorf(at["think_time"].NameRange.Ptr(), "think_time without concurrency", "think_time is the pause of each virtual user in a closed-model phase; set concurrency, or drop think_time.")
	}
	if at["arrival"] != nil && at["concurrency"] != nil {
		l.errorf(at["arrival"].NameRange.Ptr(), "arrival with concurrency", "arrival chooses how requests are spread in an open-model phase (rate); a closed-model phase (concurrency) sends when a user is ready.")
	}
	n.build = func() {
		if dur, ok := l.duration(at["duration"]); ok {
			if dur <= 0 {
				l.errorf(exprRange(at["duration"]), "Invalid duration", "A phase must last longer than zero.")
			} else {
				p.Duration, d.durOK = dur, true
			}
		}
		if a := at["rate"]; a != nil {
			if v, ok := l.eval(a.Expr); ok {
				rs, err := stdlib.RateShapeFromValue(v)
				if err != nil {
					l.errorf(exprRange(a), "Invalid rate", "%s.", capitalize(err.Error()))
				} else {
					p.Rate, d.rateOK = rs, true
				}
			}
		}
		if v, ok := l.integer(at["concurrency"], 1, 1_000_000); ok {
			p.Concurrency = int(v)
		}
		if v, ok := l.duration(at["think_time"]); ok {
			p.ThinkTime = v
		}
		if v, ok := l.oneOf(at["arrival"], Arrivals, "arrival process"); ok {
			p.Arrival = v
		}
		if v, ok := l.nonNegative(at["max_rate"]); ok {
			p.MaxRate = v
			d.maxRateR = exprRange(at["max_rate"])
		}
		if v, ok := l.refListAttr(at["shapers"], KindShaper, "shapers"); ok {
			p.Shapers = v
		}
		if v, ok := l.refListAttr(at["requests"], KindRequest, "requests"); ok {
			p.Requests = v
		}
		if v, ok := l.refListAttr(at["flows"], KindFlow, "flows"); ok {
			p.Flows = v
		}
		if v, ok := l.boolean(at["warmup"]); ok {
			p.Warmup = v
		}
		for i, cc := range d.chaos {
			l.buildChaos(p, p.Chaos[i], cc, d.durOK)
		}
		fields := map[string]cty.Value{"name": cty.StringVal(p.Name), "duration": durVal(p.Duration)}
		if p.Rate != nil {
			fields["rate"] = cty.NumberFloatVal(p.Rate.Peak(p.Duration))
		}
		n.value = objectVal(fields)
	}
	l.addNode(n)
	l.plan.Phases = append(l.plan.Phases, p)
	l.phaseDecls = append(l.phaseDecls, d)
}

func (l *loader) buildChaos(p *Phase, c *Chaos, cc *hcl.BodyContent, durOK bool) {
	at := cc.Attributes
	if v, ok := l.duration(at["at"]); ok {
		c.At = v
	}
	if v, ok := l.duration(at["duration"]); ok {
		if v <= 0 {
			l.errorf(exprRange(at["duration"]), "Invalid duration", "A chaos event must last longer than zero.")
		}
		c.Duration = v
	} else if at["duration"] == nil && durOK {
		// Without a duration the fault lasts to the end of the phase.
		c.Duration = max(0, p.Duration-c.At)
	}
	if v, ok := l.positive(at["factor"]); ok {
		c.Factor = v
	}
	if v, ok := l.fraction(at["fraction"]); ok {
		c.Fraction = v
	}
	if v, ok := l.stringMap(at["headers"]); ok {
		c.Headers = v
	}
	if v, ok := l.boolean(at["within_envelope"]); ok {
		c.WithinEnvelope = v
	}
	only := func(name string, kinds ...string) {
		if a := at[name]; a != nil && !contains(kinds, c.Kind) {
			l.errorf(a.NameRange.Ptr(), "Unsupported argument", "%s applies to chaos %s, not %q.", name, quotedList(kinds), c.Kind)
		}
	}
	only("factor", "spike")
	only("fraction", "abort", "slow_client", "fault_header")
	only("headers", "fault_header")
	switch c.Kind {
	case "spike":
		if at["factor"] == nil {
			l.errorf(c.DeclRange.Ptr(), "Missing factor", "A spike multiplies the phase's rate: set factor, e.g. factor = 3.")
		}
	case "fault_header":
		if at["headers"] == nil {
			l.errorf(c.DeclRange.Ptr(), "Missing headers", "A fault_header chaos event adds headers that ask the target to fail: set headers = { \"X-Fault\" = \"500\" }.")
		}
		fallthrough
	default:
		if at["fraction"] == nil {
			c.Fraction = 1
		}
	}
	if durOK && at["at"] != nil && c.At >= p.Duration {
		l.errorf(exprRange(at["at"]), "Chaos outside its phase", "at = %s is not within phase %q, which lasts %s.", stdlibDur(c.At), p.Name, stdlibDur(p.Duration))
	} else if durOK && at["duration"] != nil && c.At+c.Duration > p.Duration {
		l.errorf(exprRange(at["duration"]), "Chaos outside its phase", "The %s from %s lasting %s ends after phase %q, which lasts %s.", c.Kind, stdlibDur(c.At), stdlibDur(c.Duration), p.Name, stdlibDur(p.Duration))
	}
}
