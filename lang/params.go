package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// paramSpec is the hcldec spec of a parameter set; its implied schema
// checks names (with suggestions) and required parameters.
func paramSpec(params []stdlib.Param) hcldec.ObjectSpec {
	spec := hcldec.ObjectSpec{}
	for _, p := range params {
		spec[p.Name] = &hcldec.AttrSpec{Name: p.Name, Type: cty.DynamicPseudoType, Required: p.Required}
	}
	return spec
}

// paramContent checks a body against a parameter table and returns its
// attributes.
func (l *loader) paramContent(body hcl.Body, params []stdlib.Param) hcl.Attributes {
	content, diags := body.Content(hcldec.ImpliedSchema(paramSpec(params)))
	l.diags = append(l.diags, diags...)
	return content.Attributes
}

// decodeParams evaluates and checks the parameters a block sets against
// their declaration in stdlib. Defaults are not filled in: the strategy (or
// model) applies the table's, so the decoded plan (and inspect) holds
// exactly what the user wrote.
func (l *loader) decodeParams(attrs hcl.Attributes, params []stdlib.Param) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, p := range params {
		a := attrs[p.Name]
		if a == nil {
			continue
		}
		v, ok := l.decodeParam(p, a)
		if ok && (p.Min != 0 || p.Max != 0) && v.Type() == cty.Number {
			if f := mustFloat(v); f < p.Min || f > p.Max {
				unit := ""
				if p.Kind == stdlib.ParamDuration {
					unit = " seconds"
				}
				l.errorf(exprRange(a), "Parameter out of range", "%s must be between %s and %s%s; got %s%s.", p.Name, fmtNum(p.Min), fmtNum(p.Max), unit, fmtNum(f), unit)
				ok = false
			}
		}
		if ok {
			out[p.Name] = v
		}
	}
	return out
}

// numberKinds read a parameter of a kind of number with the getter that
// checks what the kind implies (and says so at the value).
var numberKinds = map[stdlib.ParamKind]func(*loader, *hcl.Attribute) (float64, bool){
	stdlib.ParamNumber:   (*loader).number,
	stdlib.ParamRate:     (*loader).nonNegative,
	stdlib.ParamFraction: (*loader).fraction,
	stdlib.ParamPositive: (*loader).positive,
	stdlib.ParamSize:     (*loader).size,
}

// decodeParam evaluates one parameter and checks it against its kind.
func (l *loader) decodeParam(p stdlib.Param, a *hcl.Attribute) (cty.Value, bool) {
	if get, ok := numberKinds[p.Kind]; ok {
		f, ok := get(l, a)
		return cty.NumberFloatVal(f), ok
	}
	switch p.Kind {
	case stdlib.ParamInt:
		i, ok := l.integer(a, 0, 1<<31-1)
		return cty.NumberIntVal(i), ok
	case stdlib.ParamDuration:
		d, ok := l.duration(a)
		return durVal(d), ok
	case stdlib.ParamString, stdlib.ParamPriority:
		options, what := p.Options, p.Name
		if p.Kind == stdlib.ParamPriority {
			options, what = stdlib.PriorityClasses, "priority class"
		}
		if len(options) == 0 {
			s, ok := l.str(a)
			return cty.StringVal(s), ok
		}
		s, ok := l.oneOf(a, options, what)
		return cty.StringVal(s), ok
	case stdlib.ParamStrings:
		return l.strings(a)
	case stdlib.ParamBool:
		b, ok := l.boolean(a)
		return cty.BoolVal(b), ok
	case stdlib.ParamMetric:
		s, ok := l.str(a)
		if ok {
			l.checkMetricLater(s, exprRange(a))
		}
		return cty.StringVal(s), ok
	}
	panic(fmt.Sprintf("lang: unhandled parameter kind %d", p.Kind))
}

// staticName reads an attribute that selects a schema (strategy, model):
// it must be a literal string, because what else the block may hold
// depends on it.
func (l *loader) staticName(a *hcl.Attribute, options []string, what string) (string, bool) {
	if a == nil {
		return "", false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
		l.errorf(exprRange(a), "Invalid "+a.Name, "%s must be a literal string (one of %s): it decides which other arguments the block takes.", a.Name, quotedList(options))
		return "", false
	}
	s := v.AsString()
	if !contains(options, s) {
		l.errorf(exprRange(a), "Unknown "+what, "%q is not a %s; use one of %s.%s", s, what, quotedList(options), didYouMean(s, options))
		return "", false
	}
	return s, true
}

// strings reads a list of strings, or one string (kept as written: the
// strategy splits it at commas).
func (l *loader) strings(a *hcl.Attribute) (cty.Value, bool) {
	v, ok := l.eval(a.Expr)
	if !ok {
		return cty.NilVal, false
	}
	if v.Type() == cty.String && !v.IsNull() {
		return v, true
	}
	list, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || v.IsNull() {
		l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s must be a list of names or one string of comma-separated names; got %s.", a.Name, friendlyType(v.Type()))
		return cty.NilVal, false
	}
	if list.IsWhollyKnown() {
		for it := list.ElementIterator(); it.Next(); {
			if _, e := it.Element(); e.IsNull() || strings.TrimSpace(e.AsString()) == "" {
				l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s must not hold an empty name.", a.Name)
				return cty.NilVal, false
			}
		}
	}
	return list, true
}
