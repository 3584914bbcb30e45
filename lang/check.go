package lang

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
)

func stdlibDur(d time.Duration) string { return stdlib.FormatDuration(d) }

// checkPlan runs the checks that need the whole plan: defaults that depend
// on other blocks, cross-block consistency, and warnings for likely
// mistakes.
func (l *loader) checkPlan(files []*hcl.File) {
	for _, f := range l.later {
		f()
	}
	l.checkEnvelopeMetrics()
	if len(files) == 0 {
		return
	}
	top := &hcl.Range{Filename: l.plan.Files[0], Start: hcl.InitialPos, End: hcl.InitialPos}

	if len(l.plan.Targets) == 0 {
		l.errorf(top, "No target", "The plan declares no target block: there is nothing to send load to. Add target \"<name>\" { url = \"http://127.0.0.1:8080\" }.")
	}
	if len(l.plan.Phases) == 0 {
		l.errorf(top, "No phase", "The plan declares no phase block: it would send no load. Add phase \"<name>\" { duration = \"1m\"; rate = 100 }.")
	}
	if len(l.plan.Requests) == 0 && len(l.plan.Flows) == 0 && len(l.plan.Phases) > 0 {
		l.errorf(top, "No request", "The plan declares no request or flow block: phases need at least one kind of request to send. Add request \"<name>\" { path = \"/\" }.")
	}
	targetNames := make([]string, len(l.plan.Targets))
	for i, t := range l.plan.Targets {
		targetNames[i] = t.Name
	}
	// A request or flow without a target goes to the only one.
	defaultTarget := func(target *string, set *hcl.Attribute, what, name string, decl hcl.Range) {
		if *target != "" || set != nil {
			return
		}
		switch len(l.plan.Targets) {
		case 0:
		case 1:
			*target = l.plan.Targets[0].Name
		default:
			l.errorf(decl.Ptr(), "Missing target", "The plan has several targets (%s); say which one %s %q goes to with target = target.<name>.", strings.Join(targetNames, ", "), what, name)
		}
	}
	for i, r := range l.plan.Requests {
		defaultTarget(&r.Target, l.requestTargets[i], "request", r.Name, r.DeclRange)
	}
	for i, f := range l.plan.Flows {
		defaultTarget(&f.Target, l.flowTargets[i], "flow", f.Name, f.DeclRange)
		for _, r := range AllRequests(f.Steps) {
			r.Target = f.Target
		}
	}
	l.checkCheckMetrics()
	for i, p := range l.plan.Predictors {
		if p.Target == "" && l.predictorTargets[i] == nil && len(l.plan.Targets) > 1 {
			l.errorf(p.DeclRange.Ptr(), "Missing target", "The plan has several targets (%s); say which one predictor %q watches with target = target.<name>.", strings.Join(targetNames, ", "), p.Name)
		}
	}

	var start time.Duration
	for i, p := range l.plan.Phases {
		p.Start = start
		start += p.Duration
		d := l.phaseDecls[i]
		if !d.rateOK || !d.durOK {
			continue
		}
		peak := p.Rate.Peak(p.Duration)
		limit, by := p.MaxRate, "the phase's max_rate"
		limitRange := d.maxRateR
		if limit == 0 || (l.plan.Settings.MaxRate > 0 && l.plan.Settings.MaxRate < limit) {
			limit, by, limitRange = l.plan.Settings.MaxRate, "settings.max_rate", l.maxRateRange
		}
		if limit > 0 && peak > limit {
			l.warnf(exprRange(d.content.Attributes["rate"]), "Phase can never reach its rate",
				"Phase %q asks for %s (peak %s requests/s), but %s caps every phase at %s requests/s%s; the rate will be clipped.",
				p.Name, p.Rate, fmtNum(peak), by, fmtNum(limit), at(limitRange))
		}
		for j, c := range p.Chaos {
			if c.Kind == "spike" && limit > 0 && peak > 0 && peak*c.Factor > limit && peak <= limit {
				l.warnf(exprRange(d.chaos[j].Attributes["factor"]), "Spike can never reach its rate",
					"A spike of %s× on a peak of %s requests/s asks for %s requests/s, above the %s requests/s of %s%s.",
					fmtNum(c.Factor), fmtNum(peak), fmtNum(peak*c.Factor), fmtNum(limit), by, at(limitRange))
			}
		}
	}

	for _, n := range l.graph.order {
		if n.kind == KindEnvelope && !n.used {
			l.warnf(n.nameRange.Ptr(), "Unused envelope",
				"Envelope %q is not used by any shaper, so nothing keeps the target inside it. Refer to it from a shaper: envelope = envelope.%s.", n.name, n.name)
		}
	}
}

func at(r *hcl.Range) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf(" (%s)", rangeText(*r))
}
