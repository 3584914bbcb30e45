package lang

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/zclconf/go-cty/cty"
)

var requestBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "target"},
		{Name: "method"},
		{Name: "path"},
		{Name: "query"},
		{Name: "headers"},
		{Name: "body"},
		{Name: "weight"},
		{Name: "priority"},
		{Name: "data_file"},
		{Name: "on_fail"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "check", LabelNames: []string{"name"}},
		{Type: "extract", LabelNames: []string{"var"}},
	},
}

// HTTPMethods are the methods a request may use.
var HTTPMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// requestDecl is a request block decoded but not yet evaluated: a request
// of the mix, or a step of a flow.
type requestDecl struct {
	r     *Request
	block *hcl.Block
	at    hcl.Attributes
	resp  *responseDecl
	exprs []hcl.Expression
}

func (l *loader) decodeRequest(b *hcl.Block) *requestDecl {
	content, diags := b.Body.Content(requestBlockSchema)
	l.diags = append(l.diags, diags...)
	r := &Request{Name: b.Labels[0], Method: "GET", Path: "/", Weight: 1, Priority: "normal", DeclRange: b.DefRange,
		Query: map[string]string{}, Headers: map[string]string{}}
	d := &requestDecl{r: r, block: b, at: content.Attributes, exprs: attrExprs(content.Attributes)}
	var exprs []hcl.Expression
	d.resp, exprs = l.decodeResponseBlocks(content.Blocks)
	d.exprs = append(d.exprs, exprs...)
	return d
}

func (l *loader) decodeRequestBlock(b *hcl.Block) {
	d := l.decodeRequest(b)
	r := d.r
	n := &node{kind: KindRequest, name: r.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: d.exprs}
	n.build = func() {
		l.buildRequest(d, nil)
		n.value = objectVal(map[string]cty.Value{
			"name": cty.StringVal(r.Name), "method": cty.StringVal(r.Method), "path": cty.StringVal(r.Path),
			"weight": cty.NumberFloatVal(r.Weight), "priority": cty.StringVal(r.Priority),
		})
	}
	l.addNode(n)
	l.plan.Requests = append(l.plan.Requests, r)
	l.requestTargets = append(l.requestTargets, d.at["target"])
}

// buildRequest evaluates a request. fl is the flow it is a step of (nil
// for a request of the mix): its data file and the variables extracted
// by earlier steps are what the templates may use.
func (l *loader) buildRequest(d *requestDecl, fl *flowScope) {
	r, at := d.r, d.at
	if fl != nil {
		r.Flow = fl.flow.Name
		for _, name := range []string{"target", "weight", "priority", "data_file"} {
			if a := at[name]; a != nil {
				l.errorf(a.NameRange.Ptr(), "Unsupported argument", "A request of a flow takes its %s from the flow: set %s on flow %q.", name, name, fl.flow.Name)
			}
		}
	} else {
		if a := at["on_fail"]; a != nil {
			l.errorf(a.NameRange.Ptr(), "on_fail outside a flow", "on_fail says whether a flow instance goes on after this request fails; a request of the mix has no flow. Put the request in a flow block, or drop on_fail.")
		}
		for _, b := range d.resp.extracts {
			l.errorf(b.DefRange.Ptr(), "extract outside a flow", "An extract saves a value for later requests of the same flow instance; request %q is not in a flow, so nothing could use it. Put it in a flow block.", r.Name)
		}
	}
	{
		if name, ok := l.refAttr(at["target"], KindTarget, "target"); ok {
			r.Target = name
		}
		if m, ok := l.str(at["method"]); ok {
			up := strings.ToUpper(m)
			if !contains(HTTPMethods, up) {
				l.errorf(exprRange(at["method"]), "Unknown HTTP method", "%q is not an HTTP method; use one of %s.%s", m, quotedList(HTTPMethods), didYouMean(up, HTTPMethods))
			}
			r.Method = up
		}
		if p, ok := l.str(at["path"]); ok {
			if !strings.HasPrefix(p, "/") {
				l.errorf(exprRange(at["path"]), "Invalid path", "path is the part of the URL after the host and must start with \"/\"; got %q. The host comes from the target.", p)
			}
			r.Path = p
		}
		if v, ok := l.stringMap(at["query"]); ok {
			r.Query = v
		}
		if v, ok := l.stringMap(at["headers"]); ok {
			r.Headers = v
		}
		if v, ok := l.str(at["body"]); ok {
			r.Body = v
		}
		if v, ok := l.positive(at["weight"]); ok {
			r.Weight = v
		}
		if v, ok := l.oneOf(at["priority"], stdlib.PriorityClasses, "priority class"); ok {
			r.Priority = v
		}
		if v, ok := l.str(at["data_file"]); ok {
			r.DataFile = l.abs(v)
			if !l.opts.NoFiles {
				if err := fileExists(r.DataFile); err != nil {
					l.errorf(exprRange(at["data_file"]), "Cannot read data file", "%s: %s.", l.display(v), err)
				}
			}
		}
		if fl != nil {
			r.DataFile = fl.flow.DataFile
			r.Priority, r.Target = fl.flow.Priority, fl.flow.Target
			if v, ok := l.oneOf(at["on_fail"], OnFailActions, "on_fail action"); ok {
				r.OnFail = v
			} else {
				r.OnFail = fl.flow.OnFail
			}
		}
		var columns []string
		if r.DataFile != "" && !l.opts.NoFiles {
			columns = csvColumns(r.DataFile)
		}
		hasData := r.DataFile != "" || at["data_file"] != nil || (fl != nil && fl.hasData)
		l.checkTemplates(at["path"], r.Path, columns, hasData, fl)
		l.checkTemplates(at["body"], r.Body, columns, hasData, fl)
		for _, k := range sortedKeys(r.Query) {
			l.checkTemplates(at["query"], r.Query[k], columns, hasData, fl)
		}
		for _, k := range sortedKeys(r.Headers) {
			l.checkTemplates(at["headers"], r.Headers[k], columns, hasData, fl)
		}
		l.buildChecks(r, d.resp)
		if fl != nil {
			l.buildExtracts(r, d.resp)
		}
		if n := len(r.Checks) + len(r.Extracts); n > MaxChecks {
			l.errorf(r.DeclRange.Ptr(), "Too many checks", "Request %q has %d checks and extracts; at most %d are allowed.", r.Name, n, MaxChecks)
		}
	}
}
