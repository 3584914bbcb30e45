package lang

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The typed getters below evaluate one attribute, check it and report a
// diagnostic at the expression when it is wrong. A nil attribute (not set)
// returns ok=false without a diagnostic, so callers keep their default.

func exprRange(a *hcl.Attribute) *hcl.Range { return a.Expr.Range().Ptr() }

func (l *loader) typed(a *hcl.Attribute, ty cty.Type, what string) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	v, ok := l.eval(a.Expr)
	if !ok {
		return cty.NilVal, false
	}
	if v.IsNull() {
		l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s must not be null.", a.Name)
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s must be %s; got %s.", a.Name, what, friendlyType(v.Type()))
		return cty.NilVal, false
	}
	return cv, true
}

func friendlyType(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t.Equals(stdlib.RateShapeType):
		return "a rate shape"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "an object"
	}
	return t.FriendlyName()
}

func (l *loader) str(a *hcl.Attribute) (string, bool) {
	v, ok := l.typed(a, cty.String, "a string")
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (l *loader) boolean(a *hcl.Attribute) (bool, bool) {
	v, ok := l.typed(a, cty.Bool, "true or false")
	if !ok {
		return false, false
	}
	return v.True(), true
}

func (l *loader) number(a *hcl.Attribute) (float64, bool) {
	v, ok := l.typed(a, cty.Number, "a number")
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if math.IsInf(f, 0) {
		l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s must be a finite number.", a.Name)
		return 0, false
	}
	return f, true
}

// nonNegative is a number >= 0 (rates, counts, capacities).
func (l *loader) nonNegative(a *hcl.Attribute) (float64, bool) {
	f, ok := l.number(a)
	if ok && f < 0 {
		l.errorf(exprRange(a), "Negative "+a.Name, "%s must be zero or more; got %s.", a.Name, fmtNum(f))
		return 0, false
	}
	return f, ok
}

// positive is a number > 0 (weights, factors).
func (l *loader) positive(a *hcl.Attribute) (float64, bool) {
	f, ok := l.number(a)
	if ok && !(f > 0) {
		l.errorf(exprRange(a), "Invalid "+a.Name, "%s must be greater than zero; got %s.", a.Name, fmtNum(f))
		return 0, false
	}
	return f, ok
}

// fraction is a number in [0, 1].
func (l *loader) fraction(a *hcl.Attribute) (float64, bool) {
	f, ok := l.number(a)
	if ok && (f < 0 || f > 1) {
		l.errorf(exprRange(a), "Fraction out of range", "%s is a fraction between 0 and 1 (0.8 means 80%%); got %s.", a.Name, fmtNum(f))
		return 0, false
	}
	return f, ok
}

// integer is a whole number within [lo, hi].
func (l *loader) integer(a *hcl.Attribute, lo, hi int64) (int64, bool) {
	f, ok := l.number(a)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		l.errorf(exprRange(a), "Invalid "+a.Name, "%s must be a whole number between %d and %d; got %s.", a.Name, lo, hi, fmtNum(f))
		return 0, false
	}
	return int64(f), true
}

// duration is a string such as "250ms" or "5m".
func (l *loader) duration(a *hcl.Attribute) (time.Duration, bool) {
	if a == nil {
		return 0, false
	}
	v, ok := l.eval(a.Expr)
	if !ok {
		return 0, false
	}
	if v.Type() == cty.Number && !v.IsNull() {
		l.errorf(exprRange(a), "Invalid duration", "%s is a duration written as a string with a unit, like %q; a bare number is ambiguous.", a.Name, fmtNum(mustFloat(v))+"s")
		return 0, false
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() {
		l.errorf(exprRange(a), "Invalid duration", "%s must be a duration string like \"30s\"; got %s.", a.Name, friendlyType(v.Type()))
		return 0, false
	}
	d, perr := stdlib.ParseDuration(s.AsString())
	if perr != nil {
		l.errorf(exprRange(a), "Invalid duration", "%s", capitalize(perr.Error())+".")
		return 0, false
	}
	return d, true
}

// size is a number of bytes or a string such as "1.5GiB".
func (l *loader) size(a *hcl.Attribute) (float64, bool) {
	if a == nil {
		return 0, false
	}
	v, ok := l.eval(a.Expr)
	if !ok {
		return 0, false
	}
	if v.Type() == cty.Number && !v.IsNull() {
		f := mustFloat(v)
		if f < 0 {
			l.errorf(exprRange(a), "Invalid size", "%s must be zero or more bytes; got %s.", a.Name, fmtNum(f))
			return 0, false
		}
		return f, true
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() {
		l.errorf(exprRange(a), "Invalid size", "%s must be a size like \"512MiB\" or a number of bytes; got %s.", a.Name, friendlyType(v.Type()))
		return 0, false
	}
	b, perr := stdlib.ParseSize(s.AsString())
	if perr != nil {
		l.errorf(exprRange(a), "Invalid size", "%s", capitalize(perr.Error())+".")
		return 0, false
	}
	return b, true
}

// oneOf is a string from a fixed set, with a suggestion for typos.
func (l *loader) oneOf(a *hcl.Attribute, options []string, what string) (string, bool) {
	s, ok := l.str(a)
	if !ok {
		return "", false
	}
	for _, o := range options {
		if s == o {
			return s, true
		}
	}
	l.errorf(exprRange(a), "Unknown "+what, "%q is not a %s; use one of %s.%s", s, what, quotedList(options), didYouMean(s, options))
	return "", false
}

// stringMap is an object or map of strings (headers, query parameters).
func (l *loader) stringMap(a *hcl.Attribute) (map[string]string, bool) {
	v, ok := l.typed(a, cty.Map(cty.String), "an object of strings, like { \"X-Team\" = \"perf\" }")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			l.errorf(exprRange(a), "Invalid value for "+a.Name, "The value of %q must not be null.", k)
			return nil, false
		}
		out[k] = e.AsString()
	}
	return out, true
}

// httpURL is an absolute http(s) URL.
func (l *loader) httpURL(a *hcl.Attribute) (string, bool) {
	s, ok := l.str(a)
	if !ok {
		return "", false
	}
	if err := checkURL(s); err != nil {
		l.errorf(exprRange(a), "Invalid URL", "%s: %s.", a.Name, err)
		return "", false
	}
	return s, true
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q does not parse as a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must be an absolute http:// or https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

func mustFloat(v cty.Value) float64 {
	f, _ := v.AsBigFloat().Float64()
	return f
}

func fmtNum(f float64) string { return fmt.Sprint(f) }

// attrExprs lists the expressions of a set of attributes, for reference
// collection.
func attrExprs(attrs hcl.Attributes) []hcl.Expression {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]hcl.Expression, 0, len(attrs))
	for _, n := range names {
		out = append(out, attrs[n].Expr)
	}
	return out
}

// objectVal builds the value a reference to a block evaluates to, skipping
// fields that did not evaluate.
func objectVal(fields map[string]cty.Value) cty.Value {
	m := map[string]cty.Value{}
	for k, v := range fields {
		if v != cty.NilVal {
			m[k] = v
		}
	}
	return cty.ObjectVal(m)
}

func durVal(d time.Duration) cty.Value { return cty.NumberFloatVal(d.Seconds()) }

// refAttr reads an attribute that must be a reference to a block of kind
// want (like `envelope = envelope.safe`). A local holding such a reference
// is followed. Undeclared names were reported when references were
// resolved; here the kind is checked.
func (l *loader) refAttr(a *hcl.Attribute, want Kind, field string) (string, bool) {
	if a == nil {
		return "", false
	}
	return l.refExpr(a.Expr, want, field, 0)
}

func (l *loader) refExpr(expr hcl.Expression, want Kind, field string, depth int) (string, bool) {
	t, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() {
		hint := ""
		if v, d := expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && !v.IsNull() {
			hint = fmt.Sprintf(" Did you mean %s.%s (without quotes)?", want, v.AsString())
		}
		l.errorf(expr.Range().Ptr(), "Expected a reference to "+want.noun()[strings.Index(want.noun(), " ")+1:],
			"%s takes a reference like %s.<name>.%s", field, want, hint)
		return "", false
	}
	r, rdiags := parseRef(t)
	if rdiags.HasErrors() {
		return "", false // reported when references were resolved
	}
	n := l.graph.nodes[r.key()]
	if n == nil {
		return "", false
	}
	if r.Kind == KindLocal && want != KindLocal && n.local != nil && depth < 8 {
		return l.refExpr(n.local, want, field, depth+1)
	}
	if r.Kind != want {
		l.errorf(r.Range.Ptr(), "Wrong kind of reference",
			"%s takes %s, like %s.<name>, but %s is %s.", field, want.noun(), want, r, r.Kind.noun())
		return "", false
	}
	return r.Name, true
}

// refListAttr reads a list of references of kind want, like
// `shapers = [shaper.guard, shaper.custom]`.
func (l *loader) refListAttr(a *hcl.Attribute, want Kind, field string) ([]string, bool) {
	if a == nil {
		return nil, false
	}
	return l.refListExpr(a.Expr, want, field, 0)
}

func (l *loader) refListExpr(expr hcl.Expression, want Kind, field string, depth int) ([]string, bool) {
	if t, d := hcl.AbsTraversalForExpr(expr); !d.HasErrors() && depth < 8 {
		if r, rd := parseRef(t); !rd.HasErrors() && r.Kind == KindLocal {
			if n := l.graph.nodes[r.key()]; n != nil && n.local != nil {
				return l.refListExpr(n.local, want, field, depth+1)
			}
			return nil, false
		}
	}
	elems, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		l.errorf(expr.Range().Ptr(), "Expected a list of references", "%s takes a list like [%s.a, %s.b].", field, want, want)
		return nil, false
	}
	out := []string{}
	ok := true
	seen := map[string]bool{}
	for _, e := range elems {
		name, eok := l.refExpr(e, want, field, depth)
		if !eok {
			ok = false
			continue
		}
		if seen[name] {
			l.errorf(e.Range().Ptr(), "Duplicate reference", "%s.%s is listed more than once in %s.", want, name, field)
			ok = false
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out, ok
}
