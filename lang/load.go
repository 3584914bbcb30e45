package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// LoadOptions are the inputs of a plan that do not live in its files.
type LoadOptions struct {
	Vars     map[string]string // --var name=value, raw strings parsed per the variable's type
	VarFiles []string          // --var-file paths (.lshcl.vars / .tfvars-style HCL attribute files)
	Environ  []string          // the environment as os.Environ() gives it: LOADSHAPER_VAR_name and env(); nil = os.Environ(), []string{} = none

	// NoFiles disables file() and the existence checks of data files and
	// scripts; fuzzing and untrusted input use it.
	NoFiles bool
}

// Load parses, decodes, evaluates and validates a plan: one or more .lshcl
// files of the same plan, or a directory holding them. The Starlark scripts
// the plan names are compiled and checked too. The returned diagnostics hold
// every error and warning; the plan is nil when there are errors.
func Load(paths []string, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	plan, d := LoadWithFiles(paths, opts)
	return plan, d.Diags
}

// LoadWithFiles is Load that also returns the files the plan read, so the
// caller can render diagnostics with snippets (see Diagnostics.WriteText).
func LoadWithFiles(paths []string, opts LoadOptions) (*Plan, Diagnostics) {
	l := newLoader(opts)
	files, diags := planFiles(paths)
	l.diags = append(l.diags, diags...)
	var srcs []source
	for _, f := range files {
		src, d := l.parser.readFile(f, "plan file", nil)
		l.diags = append(l.diags, d...)
		if d.HasErrors() {
			continue
		}
		srcs = append(srcs, source{name: f, src: src})
	}
	plan := l.load(srcs)
	return plan, Diagnostics{Diags: l.diags, Files: l.parser.files}
}

// LoadSource loads a plan held in memory, as if it were the file filename.
// file(), env(), data files and scripts are not available: it is what
// fuzzing and benchmarks use, and what untrusted input should get.
func LoadSource(filename string, src []byte, opts LoadOptions) (*Plan, Diagnostics) {
	opts.NoFiles = true
	l := newLoader(opts)
	plan := l.load([]source{{name: filename, src: src}})
	return plan, Diagnostics{Diags: l.diags, Files: l.parser.files}
}

type source struct {
	name string
	src  []byte
}

// loader holds the state of one Load: the file cache, the graph of named
// things, the function table and the diagnostics collected so far.
type loader struct {
	opts   LoadOptions
	parser *parser
	graph  *graph
	funcs  map[string]function.Function
	diags  hcl.Diagnostics
	plan   *Plan
	dir    string // the plan's directory as given (for display paths)
	absDir string

	scriptCache      map[string]scriptResult
	scriptDiagSeen   map[string]bool // script diagnostics already reported (a script shared by shapers)
	varDecls         map[string]*variableDecl
	envelopeAttrs    []hcl.Attributes
	requestTargets   []*hcl.Attribute
	flowTargets      []*hcl.Attribute
	predictorTargets []*hcl.Attribute
	later            []func() // checks that need every block built
	phaseDecls       []*phaseDecl
	maxRateRange     *hcl.Range
}

func newLoader(opts LoadOptions) *loader {
	if opts.Environ == nil && !opts.NoFiles {
		opts.Environ = os.Environ()
	}
	l := &loader{
		opts:   opts,
		parser: newParser(),
		graph:  &graph{nodes: map[string]*node{}},
		plan:   &Plan{Variables: map[string]cty.Value{}, Settings: Settings{Tick: defaultTick}},
	}
	return l
}

// node is one named thing of the plan (a variable, a local, a block): the
// expressions it holds, the references they make, and how to evaluate it
// once everything it refers to has been evaluated.
type node struct {
	kind      Kind
	name      string
	declRange hcl.Range // the block header (or the local's attribute)
	nameRange hcl.Range // the label or name, for "duplicate" and "unused" diagnostics
	exprs     []hcl.Expression
	extra     []hcl.Traversal // references found by other means (hcldec.Variables)
	deps      []Ref
	build     func()
	value     cty.Value // what references to this node evaluate to
	broken    bool      // in a cycle, or refers to something undeclared
	used      bool      // something refers to it
	local     hcl.Expression
}

func (n *node) key() string { return string(n.kind) + "." + n.name }

func (l *loader) addNode(n *node) bool {
	if n.value == cty.NilVal {
		n.value = cty.DynamicVal
	}
	if old, dup := l.graph.nodes[n.key()]; dup {
		what := string(n.kind) + " " + fmt.Sprintf("%q", n.name)
		switch n.kind {
		case KindLocal:
			what = "local value " + fmt.Sprintf("%q", n.name)
		case KindVar:
			what = "variable " + fmt.Sprintf("%q", n.name)
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate " + strings.SplitN(what, " ", 2)[0] + " name",
			Detail:   fmt.Sprintf("A %s was already declared at %s. Names must be unique within a plan.", what, rangeText(old.nameRange)),
			Subject:  n.nameRange.Ptr(),
		})
		return false
	}
	l.graph.nodes[n.key()] = n
	l.graph.order = append(l.graph.order, n)
	return true
}

// load runs the whole pipeline over parsed sources.
func (l *loader) load(srcs []source) *Plan {
	if len(srcs) > 0 {
		first := srcs[0].name
		l.plan.Name = strings.TrimSuffix(filepath.Base(first), filepath.Ext(first))
		l.dir = filepath.Dir(first)
		if abs, err := filepath.Abs(l.dir); err == nil {
			l.absDir = abs
		} else {
			l.absDir = l.dir
		}
		l.plan.Dir = l.absDir
	}
	caps := stdlib.Capabilities{}
	if !l.opts.NoFiles {
		caps.BaseDir = l.absDir
		caps.Environ = l.opts.Environ
	}
	l.funcs = stdlib.Functions(caps)

	var bodies []*hcl.File
	for _, s := range srcs {
		l.plan.Files = append(l.plan.Files, s.name)
		f, diags := l.parser.parseHCL(s.name, s.src, "plan file")
		l.diags = append(l.diags, diags...)
		if f != nil && f.Body != nil && !diags.HasErrors() {
			bodies = append(bodies, f)
		}
	}
	if l.diags.HasErrors() {
		// A syntax error cascades into nonsense further down.
		return nil
	}
	for _, f := range bodies {
		l.decodeFile(f)
	}
	l.applyVarSources()
	l.resolveRefs()
	order, diags := l.graph.sort()
	l.diags = append(l.diags, diags...)
	for _, n := range order {
		// A block with a broken reference (undeclared, or in a cycle) is
		// still decoded, so the errors of its other attributes are
		// reported in the same pass; references to it stay unknown, so
		// they add nothing of their own.
		if n.build != nil {
			n.build()
		}
		if n.broken {
			n.value = cty.DynamicVal
		}
	}
	l.finish(bodies)
	if l.diags.HasErrors() {
		return nil
	}
	return l.plan
}

// planSchema is the top level of a plan file.
var planSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "target", LabelNames: []string{"name"}},
		{Type: "envelope", LabelNames: []string{"name"}},
		{Type: "request", LabelNames: []string{"name"}},
		{Type: "flow", LabelNames: []string{"name"}},
		{Type: "predictor", LabelNames: []string{"name"}},
		{Type: "shaper", LabelNames: []string{"name"}},
		{Type: "phase", LabelNames: []string{"name"}},
		{Type: "threshold", LabelNames: []string{"name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "intent", LabelNames: []string{"name"}},
		{Type: "settings"},
		{Type: "simulate"},
	},
}

func (l *loader) decodeFile(f *hcl.File) {
	content, diags := f.Body.Content(planSchema)
	l.diags = append(l.diags, diags...)
	for _, b := range content.Blocks {
		if len(b.Labels) == 1 && !validName(b.Labels[0]) {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid " + b.Type + " name",
				Detail:   fmt.Sprintf("%q cannot be used as a name: names start with a letter and hold only letters, digits, underscores and dashes, so that %s.<name> can refer to them.", b.Labels[0], b.Type),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		switch b.Type {
		case "variable":
			l.decodeVariableBlock(b)
		case "locals":
			l.decodeLocalsBlock(b)
		case "target":
			l.decodeTargetBlock(b)
		case "envelope":
			l.decodeEnvelopeBlock(b)
		case "request":
			l.decodeRequestBlock(b)
		case "flow":
			l.decodeFlowBlock(b)
		case "predictor":
			l.decodePredictorBlock(b)
		case "shaper":
			l.decodeShaperBlock(b)
		case "phase":
			l.decodePhaseBlock(b)
		case "threshold":
			l.decodeThresholdBlock(b)
		case "output":
			l.decodeOutputBlock(b)
		case "intent":
			l.decodeIntentBlock(b)
		case "settings":
			l.decodeSettingsBlock(b)
		case "simulate":
			l.decodeSimulateBlock(b)
		}
	}
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '-' {
			return false
		}
	}
	return true
}

// resolveRefs parses every reference each node makes, reports the ones to
// undeclared things, and records the rest as graph edges.
func (l *loader) resolveRefs() {
	for _, n := range l.graph.order {
		var travs []hcl.Traversal
		for _, e := range n.exprs {
			if e != nil {
				travs = append(travs, e.Variables()...)
			}
		}
		travs = append(travs, n.extra...)
		seen := map[string]bool{}
		for _, t := range travs {
			r, diags := parseRef(t)
			l.diags = append(l.diags, diags...)
			if diags.HasErrors() {
				n.broken = true
				continue
			}
			target := l.graph.nodes[r.key()]
			if target == nil {
				l.diags = append(l.diags, l.undeclaredDiag(r))
				n.broken = true
				continue
			}
			if target != n {
				target.used = true
			}
			if !seen[r.key()] {
				seen[r.key()] = true
				n.deps = append(n.deps, r)
			}
		}
	}
}

func (l *loader) undeclaredDiag(r Ref) *hcl.Diagnostic {
	what := string(r.Kind)
	switch r.Kind {
	case KindVar:
		what = "variable"
	case KindLocal:
		what = "local value"
	}
	detail := fmt.Sprintf("No %s named %q is declared in this plan.", what, r.Name)
	if s := suggest(r.Name, l.graph.namesOf(r.Kind)); s != "" {
		detail += fmt.Sprintf(" Did you mean %s.%s?", r.Kind, s)
	} else if other := l.otherKindNamed(r); other != "" {
		detail += fmt.Sprintf(" There is %s named %q: %s.%s.", Kind(other).noun(), r.Name, other, r.Name)
	} else if r.Kind == KindVar {
		detail += fmt.Sprintf(" Declare it with a variable %q block.", r.Name)
	} else if r.Kind == KindLocal {
		detail += " Declare it in a locals block."
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared " + what,
		Detail:   detail,
		Subject:  r.Range.Ptr(),
	}
}

func (l *loader) errorf(rng *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng})
}

func (l *loader) warnf(rng *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng})
}

// ctxFor builds an EvalContext holding only what the traversals refer to.
// ok is false when one of them is broken (already reported).
func (l *loader) ctxFor(travs []hcl.Traversal) (*hcl.EvalContext, bool) {
	vars := map[string]map[string]cty.Value{}
	for _, t := range travs {
		r, diags := parseRef(t)
		if diags.HasErrors() {
			return nil, false
		}
		n := l.graph.nodes[r.key()]
		if n == nil {
			return nil, false
		}
		m := vars[string(r.Kind)]
		if m == nil {
			m = map[string]cty.Value{}
			vars[string(r.Kind)] = m
		}
		m[r.Name] = n.value
	}
	ctx := &hcl.EvalContext{Variables: make(map[string]cty.Value, len(vars)), Functions: l.funcs}
	for k, m := range vars {
		ctx.Variables[k] = cty.ObjectVal(m)
	}
	return ctx, true
}

// eval evaluates expr in a context holding what it refers to. ok is false
// when the value could not be computed; the reason has been reported
// (here or, for broken references, where they were found).
func (l *loader) eval(expr hcl.Expression) (cty.Value, bool) {
	ctx, ok := l.ctxFor(expr.Variables())
	if !ok {
		return cty.DynamicVal, false
	}
	v, diags := expr.Value(ctx)
	for _, d := range diags {
		if d.Summary == "Call to unknown function" {
			l.betterFunctionSuggestion(d)
		}
	}
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.DynamicVal, false
	}
	return v, true
}

// finish runs the checks that need the whole plan.
func (l *loader) finish(files []*hcl.File) {
	l.checkPlan(files)
	for _, n := range l.graph.order {
		if n.kind == KindVar {
			if v, ok := l.plan.Variables[n.name]; ok && v == cty.NilVal {
				delete(l.plan.Variables, n.name)
			}
		}
	}
}

// abs resolves a path written in the plan against the plan's directory.
func (l *loader) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.absDir, p)
}

// display is how diagnostics name a file the plan refers to: relative to
// where the user ran the command, like the plan files themselves.
func (l *loader) display(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

func fileExists(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s", osErrText(err))
	}
	if st.IsDir() {
		return fmt.Errorf("it is a directory")
	}
	return nil
}

// betterFunctionSuggestion replaces HCL's first-match suggestion for an
// unknown function with the closest name (counting a swap of two letters
// as one slip), and lists the rate shapes when nothing is close.
func (l *loader) betterFunctionSuggestion(d *hcl.Diagnostic) {
	var name string
	if _, err := fmt.Sscanf(d.Detail, "There is no function named %q.", &name); err != nil || name == "" {
		return
	}
	names := make([]string, 0, len(l.funcs))
	for n := range l.funcs {
		names = append(names, n)
	}
	d.Detail = fmt.Sprintf("There is no function named %q.", name)
	if s := suggest(name, names); s != "" {
		d.Detail += fmt.Sprintf(" Did you mean %q?", s)
	} else {
		d.Detail += " Rate shapes are ramp, steps, stairs, exponential and sine; spec/language.md lists every function."
	}
}

// otherKindNamed finds a block of another kind with the name a reference
// used, for "shaper.safe" when safe is an envelope.
func (l *loader) otherKindNamed(r Ref) string {
	for _, k := range refKinds {
		if k != r.Kind && l.graph.nodes[string(k)+"."+r.Name] != nil {
			return string(k)
		}
	}
	return ""
}
