package lang

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// check and extract blocks are nested in a request: they read its response.

var checkBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "status"},
		{Name: "header"},
		{Name: "json"},
		{Name: "body_contains"},
		{Name: "body_matches"},
		{Name: "response_time"},
		{Name: "equals"},
		{Name: "contains"},
		{Name: "matches"},
		{Name: "min"},
		{Name: "max"},
	},
}

var extractBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "json"},
		{Name: "header"},
		{Name: "cookie"},
		{Name: "regexp"},
	},
}

// CheckSubjects are what a check can look at; ExtractSources where an
// extract can take its value from.
var (
	CheckSubjects  = []string{"status", "header", "json", "body_contains", "body_matches", "response_time"}
	ExtractSources = []string{"json", "header", "cookie", "regexp"}
	// OnFailActions are what a flow does when a step's request fails or
	// one of its checks does.
	OnFailActions = []string{"continue", "abort_flow"}
)

// MaxChecks bounds the checks and extracts of one request: the engine
// keeps their outcome of one response in a 64-bit mask.
const MaxChecks = 64

// responseDecl is the check and extract blocks of a request, decoded
// before evaluation.
type responseDecl struct {
	checks   []*hcl.Block
	checkC   []*hcl.BodyContent
	extracts []*hcl.Block
	extractC []*hcl.BodyContent
}

// decodeResponseBlocks reads a request's nested blocks; it returns their
// attribute expressions for the dependency graph.
func (l *loader) decodeResponseBlocks(blocks hcl.Blocks) (*responseDecl, []hcl.Expression) {
	d := &responseDecl{}
	var exprs []hcl.Expression
	for _, b := range blocks {
		switch b.Type {
		case "check":
			c, diags := b.Body.Content(checkBlockSchema)
			l.diags = append(l.diags, diags...)
			d.checks, d.checkC = append(d.checks, b), append(d.checkC, c)
			exprs = append(exprs, attrExprs(c.Attributes)...)
		case "extract":
			c, diags := b.Body.Content(extractBlockSchema)
			l.diags = append(l.diags, diags...)
			d.extracts, d.extractC = append(d.extracts, b), append(d.extractC, c)
			exprs = append(exprs, attrExprs(c.Attributes)...)
		}
	}
	return d, exprs
}

// buildChecks evaluates a request's check blocks into r.Checks.
func (l *loader) buildChecks(r *Request, d *responseDecl) {
	seen := map[string]hcl.Range{}
	for i, b := range d.checks {
		c := &Check{Name: b.Labels[0], DeclRange: b.DefRange}
		if c.Name == "" {
			l.errorf(b.LabelRanges[0].Ptr(), "Empty check name", "A check's name is what the summary shows (`✓ status is 200`): give it one, like check \"status is 200\".")
		}
		if old, dup := seen[c.Name]; dup {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate check name", "Request %q already has a check %q at %s; the summary counts checks by name.", r.Name, c.Name, rangeText(old))
		}
		seen[c.Name] = b.LabelRanges[0]
		at := d.checkC[i].Attributes
		var subjects []string
		for _, s := range CheckSubjects {
			if at[s] != nil {
				subjects = append(subjects, s)
			}
		}
		switch len(subjects) {
		case 0:
			l.errorf(b.DefRange.Ptr(), "Check has no subject", "Check %q must say what it looks at: one of %s.", c.Name, quotedList(CheckSubjects))
			continue
		case 1:
		default:
			l.errorf(at[subjects[1]].NameRange.Ptr(), "Check has several subjects", "Check %q looks at %s and %s; write one check block for each.", c.Name, subjects[0], subjects[1])
			continue
		}
		c.Subject = subjects[0]
		l.buildCheck(c, at)
		r.Checks = append(r.Checks, c)
	}
}

func (l *loader) buildCheck(c *Check, at hcl.Attributes) {
	switch c.Subject {
	case "status":
		c.Status = l.statusSet(at["status"])
	case "header":
		if v, ok := l.str(at["header"]); ok {
			if v == "" {
				l.errorf(exprRange(at["header"]), "Empty header name", "header names the response header the check looks at.")
			}
			c.Header = v
		}
	case "json":
		if v, ok := l.str(at["json"]); ok {
			if _, err := JSONPath(v); err != nil {
				l.errorf(exprRange(at["json"]), "Invalid JSON path", "%s.", capitalize(err.Error()))
			}
			c.JSON = v
		}
	case "body_contains":
		c.Subject = "body"
		if v, ok := l.str(at["body_contains"]); ok {
			c.Contains = v
		}
	case "body_matches":
		c.Subject = "body"
		if v, ok := l.str(at["body_matches"]); ok {
			l.regexp(at["body_matches"], v, 0)
			c.Matches = v
		}
	case "response_time":
		if v, ok := l.duration(at["response_time"]); ok {
			if v <= 0 {
				l.errorf(exprRange(at["response_time"]), "Invalid response_time", "response_time is the longest a response may take; it must be longer than zero.")
			}
			c.ResponseTime = v
		}
	}
	// The comparisons apply to some subjects only.
	only := func(name string, subjects ...string) bool {
		a := at[name]
		if a == nil {
			return false
		}
		if !contains(subjects, c.Subject) {
			l.errorf(a.NameRange.Ptr(), "Unsupported argument", "%s compares the value of a %s check, not of a %s check.", name, strings.Join(subjects, " or "), checkSubjectName(c, at))
			return false
		}
		return true
	}
	if only("equals", "header", "json") {
		if v, ok := l.scalarString(at["equals"]); ok {
			c.Equals = &v
		}
	}
	if only("contains", "header", "json") {
		if v, ok := l.str(at["contains"]); ok {
			c.Contains = v
		}
	}
	if only("matches", "header", "json") {
		if v, ok := l.str(at["matches"]); ok {
			l.regexp(at["matches"], v, 0)
			c.Matches = v
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"min", &c.Min}, {"max", &c.Max}} {
		if only(f.name, "json") {
			if v, ok := l.number(at[f.name]); ok {
				*f.dst = &v
			}
		}
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		l.errorf(exprRange(at["min"]), "Empty check range", "min (%v) is above max (%v): no value can pass.", *c.Min, *c.Max)
	}
}

func checkSubjectName(c *Check, at hcl.Attributes) string {
	for _, s := range CheckSubjects {
		if at[s] != nil {
			return s
		}
	}
	return c.Subject
}

// statusSet is a status code or a list of them.
func (l *loader) statusSet(a *hcl.Attribute) []int {
	v, ok := l.eval(a.Expr)
	if !ok {
		return nil
	}
	var vals []cty.Value
	switch {
	case v.Type() == cty.Number:
		vals = []cty.Value{v}
	case (v.Type().IsTupleType() || v.Type().IsListType()) && !v.IsNull():
		vals = v.AsValueSlice()
	}
	if len(vals) == 0 {
		l.errorf(exprRange(a), "Invalid status", "status is a status code or a list of them, like 200 or [200, 201].")
		return nil
	}
	var out []int
	for _, e := range vals {
		if e.IsNull() || e.Type() != cty.Number {
			l.errorf(exprRange(a), "Invalid status", "status is a status code or a list of them, like 200 or [200, 201]; got %s.", friendlyType(e.Type()))
			return nil
		}
		f := mustFloat(e)
		if f != float64(int(f)) || f < 100 || f > 599 {
			l.errorf(exprRange(a), "Invalid status", "%s is not an HTTP status code (100 to 599).", fmtNum(f))
			return nil
		}
		out = append(out, int(f))
	}
	return out
}

// scalarString is a string, number or bool written as the string a JSON
// value or header is compared with.
func (l *loader) scalarString(a *hcl.Attribute) (string, bool) {
	v, ok := l.eval(a.Expr)
	if !ok {
		return "", false
	}
	switch {
	case v.IsNull():
	case v.Type() == cty.String:
		return v.AsString(), true
	case v.Type() == cty.Number:
		return strconv.FormatFloat(mustFloat(v), 'f', -1, 64), true
	case v.Type() == cty.Bool:
		return strconv.FormatBool(v.True()), true
	}
	l.errorf(exprRange(a), "Invalid value for "+a.Name, "%s is compared with the value as text: a string, number or bool; got %s.", a.Name, friendlyType(v.Type()))
	return "", false
}

// regexp checks that s compiles and has at least groups capture groups.
func (l *loader) regexp(a *hcl.Attribute, s string, groups int) {
	re, err := regexp.Compile(s)
	if err != nil {
		l.errorf(exprRange(a), "Invalid regular expression", "%s: %s.", a.Name, err)
		return
	}
	if re.NumSubexp() > 1 && groups > 0 {
		l.errorf(exprRange(a), "Too many capture groups", "%s saves one value: the first capture group, or the whole match without one; %q has %d groups. Use (?:...) for the others.", a.Name, s, re.NumSubexp())
	}
}

// buildExtracts evaluates a flow request's extract blocks.
func (l *loader) buildExtracts(r *Request, d *responseDecl) {
	for i, b := range d.extracts {
		e := &Extract{Name: b.Labels[0], DeclRange: b.DefRange}
		if !validName(e.Name) || strings.Contains(e.Name, "-") {
			l.errorf(b.LabelRanges[0].Ptr(), "Invalid variable name", "%q cannot name a variable: {{vars.NAME}} takes letters, digits and underscores, starting with a letter.", e.Name)
			continue
		}
		at := d.extractC[i].Attributes
		var from []string
		for _, s := range ExtractSources {
			if at[s] != nil {
				from = append(from, s)
			}
		}
		if len(from) != 1 {
			if len(from) == 0 {
				l.errorf(b.DefRange.Ptr(), "Extract has no source", "Extract %q must say where its value comes from: one of %s.", e.Name, quotedList(ExtractSources))
			} else {
				l.errorf(at[from[1]].NameRange.Ptr(), "Extract has several sources", "Extract %q takes its value from %s or %s, not both.", e.Name, from[0], from[1])
			}
			continue
		}
		e.From = from[0]
		a := at[e.From]
		v, ok := l.str(a)
		if !ok {
			continue
		}
		switch e.From {
		case "json":
			if _, err := JSONPath(v); err != nil {
				l.errorf(exprRange(a), "Invalid JSON path", "%s.", capitalize(err.Error()))
			}
		case "regexp":
			l.regexp(a, v, 1)
		default:
			if v == "" {
				l.errorf(exprRange(a), "Empty "+e.From+" name", "%s names the response %s to save.", e.From, e.From)
			}
		}
		e.Expr = v
		for _, o := range r.Extracts {
			if o.Name == e.Name {
				l.errorf(b.LabelRanges[0].Ptr(), "Duplicate extract", "Request %q already saves %q at %s.", r.Name, e.Name, rangeText(o.DeclRange))
			}
		}
		r.Extracts = append(r.Extracts, e)
	}
}

// JSONPath turns a path as a plan writes it into the engine's form
// (gjson's: "items.0.id"). It takes a JSONPath-like "$.items[0].id" (also
// `$["a b"]`) or gjson's own dotted
// form, which it returns unchanged. `.length()` counts an array.
func JSONPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("the JSON path is empty")
	}
	if !strings.HasPrefix(p, "$") {
		return p, nil
	}
	rest := p[1:]
	var parts []string
	for len(rest) > 0 {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			if n == 0 {
				return "", fmt.Errorf("%q has an empty name after a dot", p)
			}
			if rest[:n] == "length()" {
				parts = append(parts, "#") // gjson's count of an array
			} else {
				parts = append(parts, escapeGJSON(rest[:n]))
			}
			rest = rest[n:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return "", fmt.Errorf("%q opens a [ that is never closed", p)
			}
			in := rest[1:end]
			rest = rest[end+1:]
			if n, err := strconv.Atoi(in); err == nil && n >= 0 {
				parts = append(parts, in)
			} else if len(in) >= 2 && (in[0] == '"' || in[0] == '\'') && in[len(in)-1] == in[0] {
				parts = append(parts, escapeGJSON(in[1:len(in)-1]))
			} else {
				return "", fmt.Errorf("%q: [%s] is neither an index (a whole number) nor a quoted name", p, in)
			}
		default:
			return "", fmt.Errorf("%q: a path goes on with .name or [index] after $", p)
		}
	}
	if len(parts) == 0 {
		return "@this", nil
	}
	return strings.Join(parts, "."), nil
}

// escapeGJSON escapes the characters that have a meaning in a gjson path.
func escapeGJSON(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// checkCheckMetrics warns when a threshold or an envelope bounds the
// checks but no request has one: the figure would never be measured.
func (l *loader) checkCheckMetrics() {
	has := false
	for _, r := range l.plan.Requests {
		has = has || len(r.Checks) > 0
	}
	for _, f := range l.plan.Flows {
		for _, r := range AllRequests(f.Steps) {
			has = has || len(r.Checks) > 0
		}
	}
	if has {
		return
	}
	for _, t := range l.plan.Thresholds {
		if t.Metric == "checks" || t.Metric == "check_failure_rate" {
			l.warnf(t.DeclRange.Ptr(), "No check to measure", "Threshold %q bounds %s, but no request has a check block, so it has no data and passes.", t.Name, t.Metric)
		}
	}
	for _, e := range l.plan.Envelopes {
		for _, lim := range e.Limits {
			if lim.Metric == "check_failure_rate" {
				l.warnf(e.DeclRange.Ptr(), "No check to measure", "Envelope %q bounds check_failure_rate, but no request has a check block.", e.Name)
			}
		}
	}
}
