package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Kind is what a reference points at: the first word of a traversal.
type Kind string

// The kinds of things a plan expression can refer to.
const (
	KindVar       Kind = "var"
	KindLocal     Kind = "local"
	KindTarget    Kind = "target"
	KindEnvelope  Kind = "envelope"
	KindRequest   Kind = "request"
	KindFlow      Kind = "flow"
	KindPredictor Kind = "predictor"
	KindShaper    Kind = "shaper"
	KindPhase     Kind = "phase"
	KindThreshold Kind = "threshold"
	KindOutput    Kind = "output"
	KindIntent    Kind = "intent"
)

var refKinds = []Kind{KindVar, KindLocal, KindTarget, KindEnvelope, KindRequest, KindFlow, KindPredictor, KindShaper, KindPhase, KindThreshold, KindOutput, KindIntent}

func isRefKind(s string) bool {
	for _, k := range refKinds {
		if string(k) == s {
			return true
		}
	}
	return false
}

// noun is how a diagnostic names a kind: "an envelope", "a shaper".
func (k Kind) noun() string {
	switch k {
	case KindVar:
		return "an input variable"
	case KindLocal:
		return "a local value"
	case KindEnvelope, KindIntent, KindOutput:
		return "an " + string(k)
	}
	return "a " + string(k)
}

// Ref is a parsed reference such as `shaper.guard`: the kind, the name, and
// where it was written.
type Ref struct {
	Kind  Kind
	Name  string
	Range hcl.Range
}

func (r Ref) key() string    { return string(r.Kind) + "." + r.Name }
func (r Ref) String() string { return r.key() }

// parseRef turns a traversal into a Ref. Traversals whose root is not a
// reference kind are reported with a suggestion.
func parseRef(t hcl.Traversal) (Ref, hcl.Diagnostics) {
	root := t.RootName()
	rr := t.SourceRange()
	if !isRefKind(root) {
		names := make([]string, len(refKinds))
		for i, k := range refKinds {
			names[i] = string(k)
		}
		detail := fmt.Sprintf("There is nothing named %q in a plan. References start with one of %s, e.g. var.base_url or shaper.guard.", root, quotedList(names))
		if s := suggest(root, names); s != "" {
			detail = fmt.Sprintf("There is nothing named %q in a plan. Did you mean %q?", root, s)
		}
		return Ref{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown reference",
			Detail:   detail,
			Subject:  t[0].SourceRange().Ptr(),
		}}
	}
	if len(t) < 2 {
		return Ref{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incomplete reference",
			Detail:   fmt.Sprintf("A reference to %s must name it, like %s.<name>.", Kind(root).noun(), root),
			Subject:  &rr,
		}}
	}
	attr, ok := t[1].(hcl.TraverseAttr)
	if !ok {
		return Ref{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   fmt.Sprintf("A reference to %s is written %s.<name>, with the name as a bare word.", Kind(root).noun(), root),
			Subject:  &rr,
		}}
	}
	return Ref{Kind: Kind(root), Name: attr.Name, Range: hcl.RangeBetween(t[0].SourceRange(), t[1].SourceRange())}, nil
}

// graph is the dependency graph between the named things of a plan.
type graph struct {
	nodes map[string]*node
	order []*node // declaration order, for stable output
}

// sort returns the nodes so that every node comes after the nodes it
// refers to. Each cycle is reported once, at a reference in it, citing the
// range of the other end.
func (g *graph) sort() ([]*node, hcl.Diagnostics) {
	const (
		white = iota
		grey
		black
	)
	color := map[*node]int{}
	var out []*node
	var diags hcl.Diagnostics
	var stack []*node
	var stackRefs []Ref
	var visit func(n *node)
	visit = func(n *node) {
		color[n] = grey
		stack = append(stack, n)
		for _, r := range n.deps {
			d := g.nodes[r.key()]
			if d == nil {
				continue
			}
			switch color[d] {
			case white:
				stackRefs = append(stackRefs, r)
				visit(d)
				stackRefs = stackRefs[:len(stackRefs)-1]
			case grey:
				diags = append(diags, cycleDiag(stack, append(stackRefs, r), d))
				n.broken = true
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		out = append(out, n)
	}
	for _, n := range g.order {
		if color[n] == white {
			visit(n)
		}
	}
	return out, diags
}

func cycleDiag(stack []*node, refs []Ref, to *node) *hcl.Diagnostic {
	start := 0
	for i, n := range stack {
		if n == to {
			start = i
		}
	}
	cyc := stack[start:]
	crefs := refs[start:]
	names := make([]string, 0, len(cyc)+1)
	for _, n := range cyc {
		names = append(names, n.key())
	}
	names = append(names, to.key())
	last := crefs[len(crefs)-1]
	first := crefs[0]
	detail := fmt.Sprintf("These references form a cycle: %s. ", strings.Join(names, " -> "))
	if len(crefs) == 1 {
		detail += fmt.Sprintf("%s refers to itself here.", to.key())
	} else {
		detail += fmt.Sprintf("The cycle closes here, at the reference back to %s; the other end is the reference to %s at %s.",
			to.key(), first.key(), rangeText(first.Range))
	}
	for _, n := range cyc {
		n.broken = true
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle", Detail: detail, Subject: last.Range.Ptr()}
}

func rangeText(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

// namesOf lists the declared names of one kind, sorted, for suggestions.
func (g *graph) namesOf(k Kind) []string {
	var names []string
	for _, n := range g.order {
		if n.kind == k {
			names = append(names, n.name)
		}
	}
	sort.Strings(names)
	return names
}
