package lang

import (
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var outputBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "format"},
		{Name: "path", Required: true},
	},
}

// OutputFormats are the summary formats; a path's extension picks one when
// format is not set.
var OutputFormats = []string{"json", "html", "text"}

// OutputFormatOf is the summary format a file's extension names: .json;
// .html or .htm; .txt, .text or .log. ok is false for any other extension,
// so a summary is never written in a format its name does not say.
func OutputFormatOf(path string) (format string, ok bool) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "json", true
	case ".html", ".htm":
		return "html", true
	case ".txt", ".text", ".log":
		return "text", true
	}
	return "", false
}

func (l *loader) decodeOutputBlock(b *hcl.Block) {
	content, diags := b.Body.Content(outputBlockSchema)
	l.diags = append(l.diags, diags...)
	o := &Output{Name: b.Labels[0], DeclRange: b.DefRange}
	n := &node{kind: KindOutput, name: o.Name, declRange: b.DefRange, nameRange: b.LabelRanges[0], exprs: attrExprs(content.Attributes)}
	at := content.Attributes
	n.build = func() {
		if p, ok := l.str(at["path"]); ok {
			if p == "" {
				l.errorf(exprRange(at["path"]), "Empty path", "path names the file the summary is written to.")
			}
			o.Path = p
		}
		if f, ok := l.oneOf(at["format"], OutputFormats, "output format"); ok {
			o.Format = f
		} else if at["format"] == nil && o.Path != "" {
			if o.Format, ok = OutputFormatOf(o.Path); !ok {
				l.errorf(exprRange(at["path"]), "Cannot tell the output format", "%q does not end in .json, .html or .txt; set format = %s.", o.Path, quotedList(OutputFormats))
			}
		}
		n.value = objectVal(map[string]cty.Value{"name": cty.StringVal(o.Name), "path": cty.StringVal(o.Path), "format": cty.StringVal(o.Format)})
	}
	l.addNode(n)
	l.plan.Outputs = append(l.plan.Outputs, o)
}
