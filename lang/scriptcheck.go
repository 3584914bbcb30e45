package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.starlark.net/resolve"
	"go.starlark.net/syntax"
)

// What a rule's ctx and req hold (spec/starlark-api.md; the shapers package
// builds them, and runtime's tests check that the two agree). Lint checks
// the attribute names a rule reads from them wherever it can tell
// statically, so a typo such as ctx.envelop.cpu is an error at file:line
// before the run instead of a fallback on every tick.
var (
	ScriptCtxAttrs        = []string{"envelope", "intents", "interval", "metrics", "mix", "params", "phase", "planned_rate", "predictions", "rate", "sent", "series", "shed", "staleness", "tick", "time"}
	ScriptPhaseAttrs      = []string{"duration", "elapsed", "max_rate", "name", "rate", "warmup"}
	ScriptPredictionAttrs = []string{"horizon", "lower", "model", "upper", "value"}
	ScriptIntentAttrs     = []string{"at", "factor", "in_seconds", "kind", "metric", "name"}
	ScriptRequestAttrs    = []string{"name", "priority", "weight"}
	// ScriptClientMetrics are the generators' own figures every target's
	// ctx.metrics holds, beside BuiltinMetrics and the targets' queries.
	ScriptClientMetrics = []string{"in_flight"}
)

// scriptNumbers are the ctx attributes that are plain numbers: reading an
// attribute of one always fails.
var scriptNumbers = map[string]bool{"interval": true, "planned_rate": true, "rate": true, "tick": true, "time": true}

// scriptUse is what the rule of one shaper block can see: the envelope's
// limits, the block's own parameters, the metrics and predictions the plan
// provides.
type scriptUse struct {
	shaper      string
	envelope    string   // the envelope in force, "" = none
	envNode     *node    // the plan's envelope when the block names none: the rule's reads use it
	limits      []string // its metrics
	params      []string // ctx.params
	metrics     []string // ctx.metrics names known to exist; nil = cannot tell
	predictions []string // metrics a predictor block forecasts
}

// checkScriptAttrs checks the attribute names the entry points of a loaded
// script read from ctx and req, for one shaper block that uses it.
func (l *loader) checkScriptAttrs(s *Shaper, abs string) {
	res := l.scriptCache[abs]
	if res.file == nil {
		return
	}
	u := l.scriptUseOf(s)
	dynamic := usesReflection(res.file)
	for _, st := range res.file.Stmts {
		def, ok := st.(*syntax.DefStmt)
		if !ok {
			continue
		}
		switch def.Name.Name {
		case "shape":
			l.checkParamAttrs(def, 0, "ctx", u, dynamic)
		case "prioritize":
			l.checkParamAttrs(def, 0, "req", u, dynamic)
			l.checkParamAttrs(def, 1, "ctx", u, dynamic)
		default:
			// A helper's parameter named ctx is the rule's ctx, passed on.
			for i, p := range def.Params {
				if id, ok := p.(*syntax.Ident); ok && id.Name == "ctx" {
					l.checkParamAttrs(def, i, "ctx", u, dynamic)
				}
			}
		}
	}
}

func (l *loader) scriptUseOf(s *Shaper) scriptUse {
	u := scriptUse{shaper: s.Name}
	var env *Envelope
	for _, e := range l.plan.Envelopes {
		if e.Name == s.Envelope {
			env = e
		}
	}
	if env == nil && s.Envelope == "" && len(l.plan.Envelopes) > 0 {
		env = l.plan.Envelopes[0] // the plan's envelope, as the runtime gives a rule without one
		u.envNode = l.graph.nodes[string(KindEnvelope)+"."+env.Name]
	}
	if env != nil {
		u.envelope = env.Name
		for _, lim := range env.Limits {
			u.limits = append(u.limits, lim.Metric)
		}
	}
	for k := range s.Params {
		if k != "max_steps" && k != "deadline" {
			u.params = append(u.params, k)
		}
	}
	sort.Strings(u.params)
	known := map[string]bool{}
	for m := range BuiltinMetrics {
		known[m] = true
	}
	for _, m := range ScriptClientMetrics {
		known[m] = true
	}
	for _, t := range l.plan.Targets {
		for _, ms := range t.Metrics {
			if (ms.Kind == "process" || ms.Kind == "host") && len(ms.Queries) == 0 {
				known = nil // every metric the source knows, under its own name: not listed here
			}
			for q := range ms.Queries {
				if known != nil {
					known[q] = true
				}
			}
		}
		if known == nil {
			break
		}
	}
	if known != nil {
		for m := range known {
			u.metrics = append(u.metrics, m)
		}
		sort.Strings(u.metrics)
	}
	for _, p := range l.plan.Predictors {
		u.predictions = append(u.predictions, p.Metric)
	}
	return u
}

// usesReflection reports whether the script asks for attributes by name
// (hasattr, getattr, dir): a rule that guards ctx.envelope.memory with
// hasattr may name a limit the envelope lacks, so those are only warnings.
func usesReflection(f *syntax.File) bool {
	found := false
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && (id.Name == "hasattr" || id.Name == "getattr" || id.Name == "dir") {
			found = true
		}
		return !found
	})
	return found
}

// checkParamAttrs checks the attribute chains read from parameter i of
// def, which the runtime passes as what ("ctx" or "req"). A function that
// assigns to the parameter is skipped: what it holds is no longer known.
func (l *loader) checkParamAttrs(def *syntax.DefStmt, i int, what string, u scriptUse, dynamic bool) {
	if i >= len(def.Params) {
		return
	}
	param, ok := def.Params[i].(*syntax.Ident)
	if !ok {
		return
	}
	if reassigns(def.Body, param) {
		return
	}
	intentVars := map[*syntax.Ident]bool{} // loop variables over ctx.intents
	walk := func(n syntax.Node) bool {
		if f, ok := n.(*syntax.ForStmt); ok && what == "ctx" {
			if v, ok := f.Vars.(*syntax.Ident); ok && isChain(f.X, param, "intents") && boundOnce(def.Body, v) {
				intentVars[firstOf(v)] = true
			}
		}
		d, ok := n.(*syntax.DotExpr)
		if !ok {
			return true
		}
		root, names := flatten(d)
		if root == nil {
			return true
		}
		switch {
		case sameVar(root, param):
			l.checkChain(what, names, u, dynamic)
		case intentVars[firstOf(root)]:
			l.checkChain("intent", names, u, dynamic)
		}
		return false
	}
	for _, st := range def.Body {
		syntax.Walk(st, walk)
	}
}

// flatten turns a.b.c into the root identifier a and [b, c]; root is nil
// when the chain starts elsewhere (a call, an index).
func flatten(d *syntax.DotExpr) (*syntax.Ident, []*syntax.Ident) {
	var names []*syntax.Ident
	var e syntax.Expr = d
	for {
		switch x := e.(type) {
		case *syntax.DotExpr:
			names = append([]*syntax.Ident{x.Name}, names...)
			e = x.X
		case *syntax.ParenExpr:
			e = x.X
		case *syntax.Ident:
			return x, names
		default:
			return nil, nil
		}
	}
}

func isChain(e syntax.Expr, root *syntax.Ident, name string) bool {
	d, ok := e.(*syntax.DotExpr)
	if !ok {
		return false
	}
	r, names := flatten(d)
	return r != nil && sameVar(r, root) && len(names) == 1 && names[0].Name == name
}

// firstOf is the identifier that first binds the variable id refers to:
// the same for every use of one variable, including a closure's.
func firstOf(id *syntax.Ident) *syntax.Ident {
	if b, ok := id.Binding.(*resolve.Binding); ok && b.First != nil {
		return b.First
	}
	return nil
}

func sameVar(a, b *syntax.Ident) bool {
	fa := firstOf(a)
	return fa != nil && fa == firstOf(b)
}

// bindings lists the identifiers that assignments, for loops and nested
// definitions in body bind.
func bindings(body []syntax.Stmt) []*syntax.Ident {
	var out []*syntax.Ident
	var targets func(e syntax.Expr)
	targets = func(e syntax.Expr) {
		switch x := e.(type) {
		case *syntax.Ident:
			out = append(out, x)
		case *syntax.TupleExpr:
			for _, y := range x.List {
				targets(y)
			}
		case *syntax.ListExpr:
			for _, y := range x.List {
				targets(y)
			}
		case *syntax.ParenExpr:
			targets(x.X)
		}
	}
	for _, st := range body {
		syntax.Walk(st, func(n syntax.Node) bool {
			switch x := n.(type) {
			case *syntax.AssignStmt:
				targets(x.LHS)
			case *syntax.ForStmt:
				targets(x.Vars)
			case *syntax.DefStmt:
				out = append(out, x.Name)
			}
			return true
		})
	}
	return out
}

func reassigns(body []syntax.Stmt, param *syntax.Ident) bool {
	for _, id := range bindings(body) {
		if sameVar(id, param) {
			return true
		}
	}
	return false
}

// boundOnce reports whether v is the only binding of its variable in body.
func boundOnce(body []syntax.Stmt, v *syntax.Ident) bool {
	n := 0
	for _, id := range bindings(body) {
		if sameVar(id, v) {
			n++
		}
	}
	return n == 1
}

// checkChain checks one chain of attribute names read from what.
func (l *loader) checkChain(what string, names []*syntax.Ident, u scriptUse, dynamic bool) {
	if len(names) == 0 {
		return
	}
	a := names[0]
	switch what {
	case "req":
		l.unknownAttr(a, "req (the request prioritize is asked about)", ScriptRequestAttrs, true)
		return
	case "intent":
		l.unknownAttr(a, "an intent of ctx.intents", ScriptIntentAttrs, true)
		return
	}
	if !l.unknownAttr(a, "ctx", ScriptCtxAttrs, true) {
		return
	}
	if len(names) < 2 {
		return
	}
	b := names[1]
	switch {
	case scriptNumbers[a.Name]:
		l.scriptDiag(hcl.DiagError, b, "Unknown attribute in script", "ctx.%s is a number; it has no attribute %q.", a.Name, b.Name)
	case a.Name == "phase":
		l.unknownAttr(b, "ctx.phase", ScriptPhaseAttrs, true)
	case a.Name == "params":
		if len(u.params) == 0 {
			l.scriptDiagf(!dynamic, b, "Unknown parameter in script", "ctx.params.%s: shaper %q sets no parameter of its own; add %s = <value> to its block.", b.Name, u.shaper, b.Name)
		} else {
			l.unknownAttrIn(b, fmt.Sprintf("Shaper %q (ctx.params)", u.shaper), "parameter", u.params, !dynamic, "Unknown parameter in script")
		}
	case a.Name == "envelope":
		if u.envNode != nil {
			u.envNode.used = true // not unused: the rule reads it
		}
		if u.envelope == "" {
			l.scriptDiagf(!dynamic, b, "No envelope for the script", "ctx.envelope.%s: shaper %q has no envelope and the plan declares none, so ctx.envelope is empty. Set envelope = envelope.<name> on the shaper.", b.Name, u.shaper)
		} else if l.unknownAttrIn(b, fmt.Sprintf("Envelope %q (ctx.envelope of shaper %q)", u.envelope, u.shaper), "limit", u.limits, !dynamic, "Metric not in the envelope") && len(names) > 2 {
			l.scriptDiag(hcl.DiagError, names[2], "Unknown attribute in script", "ctx.envelope.%s is a number (the limit); it has no attribute %q.", b.Name, names[2].Name)
		}
	case a.Name == "metrics" || a.Name == "staleness":
		if len(names) > 2 {
			l.scriptDiag(hcl.DiagError, names[2], "Unknown attribute in script", "ctx.%s.%s is a number or None; it has no attribute %q.", a.Name, b.Name, names[2].Name)
		}
		if u.metrics != nil && !contains(u.metrics, b.Name) {
			l.scriptDiag(hcl.DiagWarning, b, "Metric no target provides",
				"ctx.%s.%s is always None: no target of the plan provides a metric %q.%s The plan's metrics: %s.",
				a.Name, b.Name, b.Name, didYouMean(b.Name, u.metrics), strings.Join(u.metrics, ", "))
		}
	case a.Name == "predictions":
		if !contains(u.predictions, b.Name) {
			l.scriptDiag(hcl.DiagWarning, b, "No predictor for the metric",
				"ctx.predictions.%s is always None: no predictor block of the plan forecasts %q.%s", b.Name, b.Name, didYouMean(b.Name, u.predictions))
		}
		if len(names) > 2 {
			l.unknownAttr(names[2], "a prediction", ScriptPredictionAttrs, true)
		}
	}
}

// unknownAttr reports name when it is not one of attrs (an error, or a
// warning when !fatal); it returns whether the name is known.
func (l *loader) unknownAttr(name *syntax.Ident, of string, attrs []string, fatal bool) bool {
	return l.unknownAttrIn(name, of, "attribute", attrs, fatal, "Unknown attribute in script")
}

// unknownAttrIn is unknownAttr for a noun other than "attribute" (a
// limit, a parameter) and another summary.
func (l *loader) unknownAttrIn(name *syntax.Ident, of, noun string, attrs []string, fatal bool, summary string) bool {
	if contains(attrs, name.Name) {
		return true
	}
	has := "nothing"
	if len(attrs) > 0 {
		has = strings.Join(attrs, ", ")
	}
	fails := "so reading it fails when the rule runs"
	if !fatal {
		fails = "so reading it fails unless the rule checks first (it uses hasattr, getattr or dir)"
	}
	l.scriptDiagf(fatal, name, summary, "%s has no %s %q, %s.%s It has: %s (spec/starlark-api.md).",
		of, noun, name.Name, fails, didYouMean(name.Name, attrs), has)
	return false
}

func (l *loader) scriptDiagf(fatal bool, at *syntax.Ident, summary, format string, args ...any) {
	sev := hcl.DiagWarning
	if fatal {
		sev = hcl.DiagError
	}
	l.scriptDiag(sev, at, summary, format, args...)
}

// scriptDiag reports at an identifier of a script, once per place and
// message (a script shared by several shapers is checked for each).
func (l *loader) scriptDiag(sev hcl.DiagnosticSeverity, at *syntax.Ident, summary, format string, args ...any) {
	file := at.NamePos.Filename()
	var src []byte
	if f := l.parser.files[file]; f != nil {
		src = f.Bytes
	}
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: starRange(file, src, at.NamePos, len(at.Name))}
	key := fmt.Sprintf("%s:%d:%d %s %s", file, d.Subject.Start.Line, d.Subject.Start.Column, d.Summary, d.Detail)
	if l.scriptDiagSeen == nil {
		l.scriptDiagSeen = map[string]bool{}
	}
	if l.scriptDiagSeen[key] {
		return
	}
	l.scriptDiagSeen[key] = true
	l.diags = append(l.diags, d)
}
