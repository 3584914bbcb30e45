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
	},
}

// HTTPMethods are the methods a request may use.
var HTTPMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (l *loader) decodeRequestBlock(b *hcl.Block) {
	content, diags := b.Body.Content(requestBlockSchema)
	l.diags = append(l.diags, diags...)
	r := &Request{Name: b.Labels[0], Method: "GET", Path: "/", Weight: 1, Priority: "normal", DeclRange: b.DefRange,
		Query: map[string]string{}, Headers: map[string]string{}}
	n := &node{kind: KindRequest, name: r.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	n.build = func() {
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
		var columns []string
		if r.DataFile != "" && !l.opts.NoFiles {
			columns = csvColumns(r.DataFile)
		}
		hasData := at["data_file"] != nil
		l.checkTemplates(at["path"], r.Path, columns, hasData)
		l.checkTemplates(at["body"], r.Body, columns, hasData)
		for _, k := range sortedKeys(r.Query) {
			l.checkTemplates(at["query"], r.Query[k], columns, hasData)
		}
		for _, k := range sortedKeys(r.Headers) {
			l.checkTemplates(at["headers"], r.Headers[k], columns, hasData)
		}
		n.value = objectVal(map[string]cty.Value{
			"name": cty.StringVal(r.Name), "method": cty.StringVal(r.Method), "path": cty.StringVal(r.Path),
			"weight": cty.NumberFloatVal(r.Weight), "priority": cty.StringVal(r.Priority),
		})
	}
	l.addNode(n)
	l.plan.Requests = append(l.plan.Requests, r)
	l.requestTargets = append(l.requestTargets, at["target"])
}
