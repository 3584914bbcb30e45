package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix prefixes environment variables that set plan variables:
// LOADSHAPER_VAR_base_url sets var.base_url.
const EnvVarPrefix = "LOADSHAPER_VAR_"

var variableBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var variableValidationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

// varValue is a value given to a variable from outside its block.
type varValue struct {
	raw   string         // --var or environment: parsed per the type
	expr  hcl.Expression // var-file attribute
	from  string         // where it came from, for messages
	rng   *hcl.Range
	isRaw bool
}

type variableDecl struct {
	node        *node
	typ         cty.Type
	def         *hcl.Attribute
	validations []*hcl.BodyContent
	value       *varValue
}

func (l *loader) decodeVariableBlock(b *hcl.Block) {
	content, diags := b.Body.Content(variableBlockSchema)
	l.diags = append(l.diags, diags...)
	name := b.Labels[0]
	d := &variableDecl{typ: cty.DynamicPseudoType, def: content.Attributes["default"]}
	n := &node{kind: KindVar, name: name, declRange: b.DefRange, nameRange: b.LabelRanges[0]}
	d.node = n
	if a := content.Attributes["type"]; a != nil {
		ty, tdiags := typeexpr.TypeConstraint(a.Expr)
		l.diags = append(l.diags, tdiags...)
		if !tdiags.HasErrors() {
			d.typ = ty
		}
	}
	if a := content.Attributes["description"]; a != nil {
		l.staticString(a)
	}
	if a := content.Attributes["sensitive"]; a != nil {
		v, vdiags := a.Expr.Value(nil)
		if vdiags.HasErrors() || v.Type() != cty.Bool || v.IsNull() {
			l.errorf(exprRange(a), "Invalid value for sensitive", "sensitive must be true or false.")
		} else if v.True() {
			if l.plan.Sensitive == nil {
				l.plan.Sensitive = map[string]bool{}
			}
			l.plan.Sensitive[name] = true
		}
	}
	for _, vb := range content.Blocks {
		vc, vdiags := vb.Body.Content(variableValidationSchema)
		l.diags = append(l.diags, vdiags...)
		if vdiags.HasErrors() {
			continue
		}
		d.validations = append(d.validations, vc)
		// The condition may refer to this variable only: check it here so
		// the graph never sees the reference.
		for _, t := range vc.Attributes["condition"].Expr.Variables() {
			r, rd := parseRef(t)
			if rd.HasErrors() || r.Kind != KindVar || r.Name != name {
				rr := t.SourceRange()
				l.errorf(&rr, "Invalid validation condition", "The condition of variable %q may refer only to var.%s, not to %s.", name, name, t.RootName())
				d.validations = d.validations[:len(d.validations)-1]
				break
			}
		}
	}
	n.build = func() { l.buildVariable(d) }
	if l.addNode(n) {
		if l.varDecls == nil {
			l.varDecls = map[string]*variableDecl{}
		}
		l.varDecls[name] = d
	}
}

// staticString checks an attribute that must be a literal-ish string.
func (l *loader) staticString(a *hcl.Attribute) {
	v, diags := a.Expr.Value(&hcl.EvalContext{Functions: l.funcs})
	l.diags = append(l.diags, diags...)
	if !diags.HasErrors() {
		if _, err := convert.Convert(v, cty.String); err != nil {
			l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s must be a string.", a.Name)
		}
	}
}

func (l *loader) buildVariable(d *variableDecl) {
	n := d.node
	var val cty.Value
	var rng *hcl.Range
	switch {
	case d.value != nil && d.value.isRaw:
		v, ok := l.parseRawVar(n.name, d.typ, d.value)
		if !ok {
			return
		}
		val = v
	case d.value != nil:
		v, diags := d.value.expr.Value(&hcl.EvalContext{Functions: l.funcs})
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			return
		}
		val, rng = v, d.value.rng
	case d.def != nil:
		v, diags := d.def.Expr.Value(&hcl.EvalContext{Functions: l.funcs})
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			return
		}
		val, rng = v, exprRange(d.def)
	default:
		l.errorf(n.nameRange.Ptr(), "No value for required variable",
			"Variable %q has no default. Set it with --var %s=VALUE, the environment variable %s%s, or a --var-file.", n.name, n.name, EnvVarPrefix, n.name)
		return
	}
	cv, err := convert.Convert(val, d.typ)
	if err != nil {
		subj := rng
		if subj == nil {
			subj = n.nameRange.Ptr()
		}
		from := ""
		if d.value != nil {
			from = " (from " + d.value.from + ")"
		}
		l.errorf(subj, "Invalid value for variable", "The value of variable %q%s is not %s: %s.", n.name, from, typeexpr.TypeString(d.typ), err)
		return
	}
	for _, vc := range d.validations {
		cond := vc.Attributes["condition"]
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{n.name: cv})},
			Functions: l.funcs,
		}
		ok, diags := cond.Expr.Value(ctx)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			return
		}
		ok, err := convert.Convert(ok, cty.Bool)
		if err != nil || ok.IsNull() {
			l.errorf(exprRange(cond), "Invalid validation condition", "The condition must be true or false.")
			return
		}
		if ok.False() {
			msg, mdiags := vc.Attributes["error_message"].Expr.Value(ctx)
			text := "The value does not satisfy the validation rule."
			if !mdiags.HasErrors() && msg.Type() == cty.String && !msg.IsNull() {
				text = msg.AsString()
			}
			subj := rng
			if subj == nil {
				subj = exprRange(cond)
			}
			from := ""
			if d.value != nil {
				from = " (from " + d.value.from + ")"
			}
			l.errorf(subj, "Invalid value for variable", "%s\n\nThis was checked by the validation rule of variable %q at %s%s.", text, n.name, rangeText(cond.Expr.Range()), from)
			return
		}
	}
	n.value = cv
	l.plan.Variables[n.name] = cv
}

// parseRawVar turns a command-line or environment string into a value: a
// string variable takes it as is, other types parse it as an HCL
// expression (so --var rate=100 or --var 'tags=["a"]' work).
func (l *loader) parseRawVar(name string, ty cty.Type, v *varValue) (cty.Value, bool) {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(v.raw), true
	}
	expr, diags := hclsyntax.ParseExpression([]byte(v.raw), v.from, hcl.InitialPos)
	if diags.HasErrors() {
		l.errorf(l.graph.nodes["var."+name].nameRange.Ptr(), "Invalid value for variable",
			"The value of variable %q from %s does not parse as %s: %q.", name, v.from, typeexpr.TypeString(ty), v.raw)
		return cty.NilVal, false
	}
	val, diags := expr.Value(&hcl.EvalContext{Functions: l.funcs})
	if diags.HasErrors() {
		l.errorf(l.graph.nodes["var."+name].nameRange.Ptr(), "Invalid value for variable",
			"The value of variable %q from %s is not a constant: %q.", name, v.from, v.raw)
		return cty.NilVal, false
	}
	return val, true
}

// applyVarSources gathers values from var-files, the environment and
// --var, in increasing precedence, as Terraform does.
func (l *loader) applyVarSources() {
	set := func(name string, v *varValue, rng *hcl.Range, strict bool) {
		d := l.varDecls[name]
		if d == nil {
			if !strict {
				return
			}
			names := make([]string, 0, len(l.varDecls))
			for k := range l.varDecls {
				names = append(names, k)
			}
			sort.Strings(names)
			l.errorf(rng, "Value for undeclared variable", "The plan declares no variable %q (set by %s).%s", name, v.from, didYouMean(name, names))
			return
		}
		d.value = v
	}
	var envNames []string
	envVals := map[string]string{}
	for _, kv := range l.opts.Environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvVarPrefix) {
			n := strings.TrimPrefix(k, EnvVarPrefix)
			if _, seen := envVals[n]; !seen {
				envNames = append(envNames, n)
			}
			envVals[n] = v
		}
	}
	for _, n := range envNames {
		set(n, &varValue{raw: envVals[n], isRaw: true, from: "environment variable " + EnvVarPrefix + n}, nil, false)
	}
	for _, path := range l.opts.VarFiles {
		src, diags := l.parser.readFile(path, "var-file", nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		f, diags := l.parser.parseHCL(path, src, "var-file")
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() || f == nil || f.Body == nil {
			continue
		}
		attrs, diags := f.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		names := make([]string, 0, len(attrs))
		for n := range attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a := attrs[n]
			set(n, &varValue{expr: a.Expr, from: path, rng: exprRange(a)}, a.NameRange.Ptr(), true)
		}
	}
	names := make([]string, 0, len(l.opts.Vars))
	for n := range l.opts.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		set(n, &varValue{raw: l.opts.Vars[n], isRaw: true, from: fmt.Sprintf("--var %s=...", n)}, nil, true)
	}
}

func (l *loader) decodeLocalsBlock(b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return attrs[names[i]].Range.Start.Byte < attrs[names[j]].Range.Start.Byte })
	for _, name := range names {
		a := attrs[name]
		n := &node{kind: KindLocal, name: name, declRange: a.Range, nameRange: a.NameRange, exprs: []hcl.Expression{a.Expr}, local: a.Expr}
		n.build = func() {
			if v, ok := l.eval(a.Expr); ok {
				n.value = v
			}
		}
		l.addNode(n)
	}
}
