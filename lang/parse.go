package lang

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on what the parser accepts. Real plans are a few hundred lines;
// these bounds make garbage fail fast with a clear message instead of
// costing seconds or a deep recursion in the parser.
const (
	MaxPlanFileSize = 4 << 20 // bytes per .lshcl file
	MaxNestingDepth = 64      // brackets, parentheses, braces and interpolations
)

// PlanExt is the extension of plan files.
const PlanExt = ".lshcl"

// parser owns the file cache: every file a plan reads (plans, var-files,
// Starlark scripts) is kept here so one renderer can print a snippet for
// any diagnostic.
type parser struct {
	files map[string]*hcl.File
}

func newParser() *parser { return &parser{files: map[string]*hcl.File{}} }

// readFile reads a file for the plan, refusing what is not a text file of
// reasonable size. rng is where the file was named (nil for command-line
// paths).
func (p *parser) readFile(path string, what string, rng *hcl.Range) ([]byte, hcl.Diagnostics) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Cannot read %s", what),
			Detail:   fmt.Sprintf("%s: %s.", path, osErrText(err)),
			Subject:  rng,
		}}
	}
	if st.IsDir() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Cannot read %s", what),
			Detail:   fmt.Sprintf("%s is a directory.", path),
			Subject:  rng,
		}}
	}
	if st.Size() > MaxPlanFileSize {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("%s is too large", capitalize(what)),
			Detail:   fmt.Sprintf("%s is %.1f MiB; loadshaper reads files of at most %d MiB. Split the plan or move data into a data_file.", path, float64(st.Size())/(1<<20), MaxPlanFileSize>>20),
			Subject:  rng,
		}}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Cannot read %s", what),
			Detail:   fmt.Sprintf("%s: %s.", path, osErrText(err)),
			Subject:  rng,
		}}
	}
	return src, nil
}

// checkText refuses binary content before the HCL or Starlark parser sees it.
func checkText(filename string, src []byte, what string) hcl.Diagnostics {
	bad := bytes.IndexByte(src, 0)
	if bad < 0 && !utf8.Valid(src) {
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				bad = i
				break
			}
			i += n
		}
	}
	if bad < 0 {
		return nil
	}
	pos := posAt(src, bad)
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("%s is not a text file", capitalize(what)),
		Detail:   fmt.Sprintf("%s holds binary data (byte %d is not valid UTF-8 text). Plans and scripts must be UTF-8 text.", filename, bad),
		Subject:  &hcl.Range{Filename: filename, Start: pos, End: pos},
	}}
}

// posAt computes the line and column of byte offset off.
func posAt(src []byte, off int) hcl.Pos {
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return hcl.Pos{Line: line, Column: col, Byte: off}
}

// checkNesting refuses expressions nested deeper than MaxNestingDepth
// before the (recursive) parser sees them. It is a byte scan, not a lexer:
// brackets inside string literals and comments are skipped, template
// interpolations inside strings count.
func checkNesting(filename string, src []byte) hcl.Diagnostics {
	depth := 0
	var stack []byte // what closes each open level: ')', ']', '}', or '"' for an interpolation's string
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case c == '\\':
				i++
			case c == '"':
				inString = false
			case c == '$' && i+1 < len(src) && src[i+1] == '{':
				i++
				depth++
				stack = append(stack, '"')
				inString = false
				if depth > MaxNestingDepth {
					return nestingDiag(filename, src, i)
				}
			case c == '\n':
				inString = false // unterminated; let the parser say so
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else if i+1 < len(src) && src[i+1] == '*' {
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return nil
				}
				i += end + 3
			}
		case '(', '[', '{':
			depth++
			stack = append(stack, c)
			if depth > MaxNestingDepth {
				return nestingDiag(filename, src, i)
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
				open := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if open == '"' {
					inString = true // back inside the string the interpolation was in
				}
			}
		}
	}
	return nil
}

func nestingDiag(filename string, src []byte, off int) hcl.Diagnostics {
	p := posAt(src, off)
	r := hcl.Range{Filename: filename, Start: p, End: hcl.Pos{Line: p.Line, Column: p.Column + 1, Byte: p.Byte + 1}}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Expression nested too deeply",
		Detail:   fmt.Sprintf("Brackets, braces and interpolations are nested more than %d levels deep here. Flatten the expression or move parts of it into locals.", MaxNestingDepth),
		Subject:  &r,
	}}
}

// parseHCL parses HCL source under filename and caches the file.
func (p *parser) parseHCL(filename string, src []byte, what string) (*hcl.File, hcl.Diagnostics) {
	if len(src) > MaxPlanFileSize {
		p.files[filename] = &hcl.File{Bytes: src[:0]}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("%s is too large", capitalize(what)),
			Detail:   fmt.Sprintf("%s is %.1f MiB; loadshaper reads files of at most %d MiB. Split the plan or move data into a data_file.", filename, float64(len(src))/(1<<20), MaxPlanFileSize>>20),
			Subject:  &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	if diags := checkText(filename, src, what); diags.HasErrors() {
		p.files[filename] = &hcl.File{Bytes: src}
		return nil, diags
	}
	if diags := checkNesting(filename, src); diags.HasErrors() {
		p.files[filename] = &hcl.File{Bytes: src}
		return nil, diags
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if f == nil {
		f = &hcl.File{Bytes: src}
	}
	p.files[filename] = f
	return f, diags
}

// addSource caches a non-HCL file (a Starlark script) for snippets.
func (p *parser) addSource(filename string, src []byte) {
	p.files[filename] = &hcl.File{Bytes: src}
}

// planFiles expands the command-line paths of a plan: a file stands for
// itself, a directory for the .lshcl files in it, sorted.
func planFiles(paths []string) ([]string, hcl.Diagnostics) {
	var out []string
	var diags hcl.Diagnostics
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read plan", Detail: fmt.Sprintf("%s: %s.", p, osErrText(err))})
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read plan directory", Detail: fmt.Sprintf("%s: %s.", p, osErrText(err))})
			continue
		}
		var found []string
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), PlanExt) {
				found = append(found, filepath.Join(p, e.Name()))
			}
		}
		if len(found) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No plan files", Detail: fmt.Sprintf("The directory %s holds no %s files.", p, PlanExt)})
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	if len(paths) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No plan given", Detail: "Name one or more " + PlanExt + " files or a directory holding them."})
	}
	return out, diags
}

func osErrText(err error) string {
	if os.IsNotExist(err) {
		return "no such file or directory"
	}
	if os.IsPermission(err) {
		return "permission denied"
	}
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
