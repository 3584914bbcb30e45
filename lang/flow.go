package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

// A flow is a user journey: its body is an ordered list of steps, so they
// are blocks (HCL keeps blocks in order, attributes not).
var flowBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "target"},
		{Name: "weight"},
		{Name: "priority"},
		{Name: "data_file"},
		{Name: "data"},
		{Name: "on_fail"},
	},
	Blocks: stepBlocks,
}

var stepBlocks = []hcl.BlockHeaderSchema{
	{Type: "request", LabelNames: []string{"name"}},
	{Type: "think"},
	{Type: "loop"},
}

var thinkBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "duration"}, {Name: "min"}, {Name: "max"}},
}

var loopBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "while"}, {Name: "max"}},
	Blocks:     stepBlocks,
}

// DataOrders are how a flow hands the rows of its data_file to instances.
var DataOrders = []string{"sequential", "random", "unique"}

// DefaultLoopMax bounds a while loop that sets no max.
const DefaultLoopMax = 100

// stepDecl is a step decoded but not yet evaluated.
type stepDecl struct {
	step  *Step
	req   *requestDecl   // request
	at    hcl.Attributes // think, loop
	body  []*stepDecl    // loop
	block *hcl.Block
}

// flowScope is what a flow's templates may use while its steps are built
// in order: the variables extracted so far.
type flowScope struct {
	flow    *Flow
	hasData bool
	known   map[string]bool // extracted by an earlier step
	later   map[string]bool // extracted anywhere in the flow
}

func (l *loader) decodeFlowBlock(b *hcl.Block) {
	content, diags := b.Body.Content(flowBlockSchema)
	l.diags = append(l.diags, diags...)
	f := &Flow{Name: b.Labels[0], Weight: 1, Priority: "normal", DataOrder: "sequential", OnFail: "continue", DeclRange: b.DefRange}
	n := &node{kind: KindFlow, name: f.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	later := map[string]bool{}
	steps := l.decodeSteps(content.Blocks, &n.exprs, later)
	if len(steps) == 0 && !diags.HasErrors() {
		l.errorf(b.DefRange.Ptr(), "Empty flow", "Flow %q has no step: add request \"<name>\" { path = \"/\" } blocks, in the order a user makes them.", f.Name)
	}
	at := content.Attributes
	n.build = func() {
		if name, ok := l.refAttr(at["target"], KindTarget, "target"); ok {
			f.Target = name
		}
		if v, ok := l.positive(at["weight"]); ok {
			f.Weight = v
		}
		if v, ok := l.oneOf(at["priority"], stdlib.PriorityClasses, "priority class"); ok {
			f.Priority = v
		}
		if v, ok := l.oneOf(at["on_fail"], OnFailActions, "on_fail action"); ok {
			f.OnFail = v
		}
		if v, ok := l.str(at["data_file"]); ok {
			f.DataFile = l.abs(v)
			if !l.opts.NoFiles {
				if err := fileExists(f.DataFile); err != nil {
					l.errorf(exprRange(at["data_file"]), "Cannot read data file", "%s: %s.", l.display(v), err)
				}
			}
		}
		if v, ok := l.oneOf(at["data"], DataOrders, "data order"); ok {
			f.DataOrder = v
			if at["data_file"] == nil {
				l.errorf(at["data"].NameRange.Ptr(), "data without data_file", "data says how the rows of the flow's data_file are handed to instances; set data_file too.")
			}
		}
		sc := &flowScope{flow: f, hasData: at["data_file"] != nil, known: map[string]bool{}, later: later}
		names := map[string]hcl.Range{}
		f.Steps = l.buildSteps(steps, sc, names)
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(f.Name), "weight": cty.NumberFloatVal(f.Weight), "priority": cty.StringVal(f.Priority)})
	}
	l.addNode(n)
	l.plan.Flows = append(l.plan.Flows, f)
	l.flowTargets = append(l.flowTargets, at["target"])
}

// decodeSteps reads step blocks in order; their expressions join exprs
// (the flow node's references) and the variables they extract join later.
func (l *loader) decodeSteps(blocks hcl.Blocks, exprs *[]hcl.Expression, later map[string]bool) []*stepDecl {
	var out []*stepDecl
	for _, b := range blocks {
		sd := &stepDecl{block: b, step: &Step{Kind: b.Type, DeclRange: b.DefRange}}
		switch b.Type {
		case "request":
			if !validName(b.Labels[0]) {
				l.errorf(b.LabelRanges[0].Ptr(), "Invalid request name", "%q cannot be used as a name: names start with a letter and hold only letters, digits, underscores and dashes.", b.Labels[0])
				continue
			}
			sd.req = l.decodeRequest(b)
			sd.step.Request = sd.req.r
			*exprs = append(*exprs, sd.req.exprs...)
			for _, e := range sd.req.resp.extracts {
				later[e.Labels[0]] = true
			}
		case "think":
			c, diags := b.Body.Content(thinkBlockSchema)
			l.diags = append(l.diags, diags...)
			sd.at = c.Attributes
			*exprs = append(*exprs, attrExprs(c.Attributes)...)
		case "loop":
			c, diags := b.Body.Content(loopBlockSchema)
			l.diags = append(l.diags, diags...)
			sd.at = c.Attributes
			*exprs = append(*exprs, attrExprs(c.Attributes)...)
			sd.body = l.decodeSteps(c.Blocks, exprs, later)
			if len(sd.body) == 0 && !diags.HasErrors() {
				l.errorf(b.DefRange.Ptr(), "Empty loop", "A loop repeats the steps inside it; this one has none.")
			}
		}
		out = append(out, sd)
	}
	return out
}

// buildSteps evaluates steps in order, so a template can only name a
// variable an earlier step extracts. names holds the flow's request names
// (they name the steps in the summary).
func (l *loader) buildSteps(decls []*stepDecl, sc *flowScope, names map[string]hcl.Range) []*Step {
	var out []*Step
	for _, sd := range decls {
		st := sd.step
		switch st.Kind {
		case "request":
			r := st.Request
			if old, dup := names[r.Name]; dup {
				l.errorf(sd.block.LabelRanges[0].Ptr(), "Duplicate request name", "Flow %q already has a request %q at %s; a flow's requests name its steps in the summary, so they must differ.", sc.flow.Name, r.Name, rangeText(old))
			}
			names[r.Name] = sd.block.LabelRanges[0]
			l.buildRequest(sd.req, sc)
			for _, e := range r.Extracts {
				if !contains(sc.flow.Vars, e.Name) {
					sc.flow.Vars = append(sc.flow.Vars, e.Name)
				}
				sc.known[e.Name] = true
			}
		case "think":
			l.buildThink(st, sd.at, sd.block)
		case "loop":
			l.buildLoop(st, sd, sc, names)
		}
		out = append(out, st)
	}
	return out
}

func (l *loader) buildThink(st *Step, at hcl.Attributes, b *hcl.Block) {
	switch {
	case at["duration"] != nil && (at["min"] != nil || at["max"] != nil):
		l.errorf(at["duration"].NameRange.Ptr(), "Conflicting arguments", "A think step pauses for duration, or for a random time between min and max; not both.")
		return
	case at["duration"] != nil:
		if v, ok := l.duration(at["duration"]); ok {
			st.Think = v
		}
	case at["min"] != nil && at["max"] != nil:
		lo, ok1 := l.duration(at["min"])
		hi, ok2 := l.duration(at["max"])
		if ok1 && ok2 && hi < lo {
			l.errorf(exprRange(at["max"]), "Empty think range", "max (%s) is below min (%s).", stdlibDur(hi), stdlibDur(lo))
		}
		st.Think, st.ThinkMax = lo, hi
	default:
		l.errorf(b.DefRange.Ptr(), "Missing duration", "A think step pauses the flow instance: set duration = \"1s\", or min and max for a random pause.")
	}
	if st.Think < 0 {
		l.errorf(b.DefRange.Ptr(), "Negative think time", "A pause cannot be negative.")
	}
}

func (l *loader) buildLoop(st *Step, sd *stepDecl, sc *flowScope, names map[string]hcl.Range) {
	at := sd.at
	switch {
	case at["count"] != nil && at["while"] != nil:
		l.errorf(at["while"].NameRange.Ptr(), "Conflicting arguments", "A loop repeats count times, or while a variable holds; not both.")
	case at["count"] != nil:
		if v, ok := l.integer(at["count"], 1, 1_000_000); ok {
			st.Count = int(v)
		}
		if a := at["max"]; a != nil {
			l.errorf(a.NameRange.Ptr(), "max with count", "max bounds a while loop; a count loop runs count times.")
		}
	case at["while"] != nil:
		st.Max = DefaultLoopMax
		if v, ok := l.integer(at["max"], 1, 1_000_000); ok {
			st.Max = int(v)
		}
		if v, ok := l.str(at["while"]); ok {
			name := v
			if len(v) > 5 && v[:5] == "vars." {
				name = v[5:]
			}
			st.While = name
			if !sc.known[name] {
				l.errorf(exprRange(at["while"]), "Variable not extracted yet", "The loop goes on while variable %q is set, but no step before the loop extracts it, so the loop would never run. Extract it before the loop (and again inside, to move on).%s", name, didYouMean(name, sortedSet(sc.known)))
			}
		}
	default:
		l.errorf(sd.block.DefRange.Ptr(), "Missing count", "A loop needs count = <times>, or while = \"vars.NAME\" to repeat while a variable is set.")
	}
	st.Steps = l.buildSteps(sd.body, sc, names)
}

// AllRequests lists the requests of a list of steps, loops included, in order.
func AllRequests(steps []*Step) []*Request {
	var out []*Request
	for _, s := range steps {
		switch s.Kind {
		case "request":
			out = append(out, s.Request)
		case "loop":
			out = append(out, AllRequests(s.Steps)...)
		}
	}
	return out
}

// MixEntry is one entry of the plan's mix as the shapers see it: a request
// of the mix or a flow (whose starts the open model's rate counts).
type MixEntry struct {
	Name     string
	Priority string
	Weight   float64
	Flow     bool
}

// Mix lists the plan's requests and flows.
func (p *Plan) Mix() []MixEntry {
	out := make([]MixEntry, 0, len(p.Requests)+len(p.Flows))
	for _, r := range p.Requests {
		out = append(out, MixEntry{Name: r.Name, Priority: r.Priority, Weight: r.Weight})
	}
	for _, f := range p.Flows {
		out = append(out, MixEntry{Name: f.Name, Priority: f.Priority, Weight: f.Weight, Flow: true})
	}
	return out
}

// RequestsPerStart is how many requests one instance of the flow sends: a
// request step counts one, a loop of count iterations its body that many
// times, a while loop its body once (how long a variable stays set is the
// target's to say; the shortest journey through it sends its body once).
func (f *Flow) RequestsPerStart() float64 { return requestsIn(f.Steps) }

func requestsIn(steps []*Step) float64 {
	n := 0.0
	for _, s := range steps {
		switch s.Kind {
		case "request":
			n++
		case "loop":
			times := float64(s.Count)
			if s.While != "" {
				times = 1
			}
			n += times * requestsIn(s.Steps)
		}
	}
	return n
}

// RequestsPerArrival is how many requests one arrival of the phase sends
// on average, over its mix by weight: 1 for plain requests, a flow's
// RequestsPerStart for a flow start.
func (p *Plan) RequestsPerArrival(ph *Phase) float64 {
	flows := map[string]*Flow{}
	for _, f := range p.Flows {
		flows[f.Name] = f
	}
	var sum, weights float64
	for _, e := range p.Mix() {
		if !ph.Uses(e.Name, e.Flow) {
			continue
		}
		w := e.Weight
		if w <= 0 {
			w = 1
		}
		n := 1.0
		if e.Flow && flows[e.Name] != nil {
			n = flows[e.Name].RequestsPerStart()
		}
		sum += w * n
		weights += w
	}
	if weights == 0 {
		return 1
	}
	return sum / weights
}

// Uses reports whether the phase sends the request or flow named name: a
// phase that lists requests or flows sends only those, else it sends all.
func (ph *Phase) Uses(name string, flow bool) bool {
	if len(ph.Requests) == 0 && len(ph.Flows) == 0 {
		return true
	}
	list := ph.Requests
	if flow {
		list = ph.Flows
	}
	return contains(list, name)
}
