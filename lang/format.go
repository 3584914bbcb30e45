package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns the canonical formatting of a plan file's source. It
// refuses (returns diagnostics and no output) source with syntax errors,
// because rewriting a file the parser does not understand could lose
// what the user meant. files holds the source for rendering them.
func Format(filename string, src []byte) ([]byte, Diagnostics) {
	p := newParser()
	if diags := checkText(filename, src, "file"); diags.HasErrors() {
		p.files[filename] = &hcl.File{Bytes: src}
		return nil, Diagnostics{Diags: diags, Files: p.files}
	}
	if diags := checkNesting(filename, src); diags.HasErrors() {
		p.files[filename] = &hcl.File{Bytes: src}
		return nil, Diagnostics{Diags: diags, Files: p.files}
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if f != nil {
		p.files[filename] = f
	} else {
		p.files[filename] = &hcl.File{Bytes: src}
	}
	if diags.HasErrors() {
		return nil, Diagnostics{Diags: diags, Files: p.files}
	}
	return hclwrite.Format(src), Diagnostics{Files: p.files}
}
