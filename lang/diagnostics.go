package lang

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/go-wordwrap"
)

// didYouMean returns ` Did you mean "x"?` for the candidate closest to
// given, or "" when none is close enough to be a plausible typo.
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// suggest picks the closest candidate within a typo's distance.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 1<<30
	limit := 2
	if len(given) > 8 {
		limit = 3
	}
	for _, c := range candidates {
		if c == given {
			continue
		}
		d := levenshtein.Distance(strings.ToLower(given), strings.ToLower(c), nil)
		if d == 2 && isTransposition(strings.ToLower(given), strings.ToLower(c)) {
			d = 1 // "rmap" is one slip away from "ramp", not two
		}
		if d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// isTransposition reports whether a and b differ by swapping two adjacent
// characters.
func isTransposition(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// quotedList renders names as `"a", "b" or "c"` for error details.
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 0:
		return "(none)"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Diagnostics renders the diagnostics of a plan: text the way Terraform
// prints them (file, line, a snippet with the span marked) or JSON in the
// shape of `terraform validate -json`. Its Files hold every file the plan
// read, HCL and Starlark alike, so one renderer serves both.
type Diagnostics struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

// sorted orders diagnostics by file, position, then severity, so output is
// stable however the checks ran.
func sortDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	out := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil && b == nil:
			return false
		case a == nil:
			return true
		case b == nil:
			return false
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Byte != b.Start.Byte:
			return a.Start.Byte < b.Start.Byte
		}
		return out[i].Severity < out[j].Severity
	})
	return out
}

// WriteText prints the diagnostics like Terraform: severity and summary,
// the file:line and enclosing block, the source line with the span marked
// by carets (or underlined when color is on), then the detail wrapped to
// width.
func (d Diagnostics) WriteText(w io.Writer, width uint, color bool) error {
	if width == 0 {
		width = 100
	}
	var b strings.Builder
	for _, diag := range sortDiags(d.Diags) {
		d.writeOne(&b, diag, width, color)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (d Diagnostics) writeOne(b *strings.Builder, diag *hcl.Diagnostic, width uint, color bool) {
	sev, on, off := "Error", "", ""
	if diag.Severity == hcl.DiagWarning {
		sev = "Warning"
	}
	if color {
		on, off = "\x1b[1;31m", "\x1b[0m"
		if diag.Severity == hcl.DiagWarning {
			on = "\x1b[1;33m"
		}
	}
	fmt.Fprintf(b, "%s%s:%s %s\n\n", on, sev, off, diag.Summary)
	if s := diag.Subject; s != nil && s.Start.Byte == 0 && s.End.Byte == 0 {
		// The whole file: no line to show.
		fmt.Fprintf(b, "  in %s\n\n", s.Filename)
	} else if s != nil {
		f := d.Files[s.Filename]
		ctx := ""
		if f != nil {
			if cs, ok := f.Nav.(interface{ ContextString(int) string }); ok {
				if c := cs.ContextString(s.Start.Byte); c != "" {
					ctx = ", in " + c
				}
			}
		}
		fmt.Fprintf(b, "  on %s line %d%s:\n", s.Filename, s.Start.Line, ctx)
		if sn := d.snippet(*s); sn != nil {
			code := strings.ReplaceAll(sn.Code, "\t", " ")
			prefix := fmt.Sprintf("%4d: ", sn.StartLine)
			hs, he := sn.HighlightStartOffset, sn.HighlightEndOffset
			if he <= hs {
				he = hs + 1
			}
			if color && hs < len(code) {
				he2 := min(he, len(code))
				fmt.Fprintf(b, "%s%s\x1b[4m%s\x1b[0m%s\n", prefix, code[:hs], code[hs:he2], code[he2:])
			} else {
				fmt.Fprintf(b, "%s%s\n", prefix, code)
				// Carets under the span; columns count characters, not bytes.
				pad := utf8.RuneCountInString(code[:min(hs, len(code))])
				n := max(1, utf8.RuneCountInString(code[min(hs, len(code)):min(he, len(code))]))
				fmt.Fprintf(b, "%s%s%s\n", strings.Repeat(" ", len(prefix)+pad), strings.Repeat("^", n), "")
			}
		}
		b.WriteString("\n")
	}
	if diag.Detail != "" {
		for _, para := range strings.Split(diag.Detail, "\n") {
			b.WriteString(wordwrap.WrapString(para, width))
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
}

// JSONPos and friends follow `terraform validate -json`.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONRange is a span of a file.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONSnippet is the source line of a diagnostic, as Terraform gives it.
type JSONSnippet struct {
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
}

// JSONDiagnostic is one diagnostic.
type JSONDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONReport is the whole `lint --format json` document.
type JSONReport struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []JSONDiagnostic `json:"diagnostics"`
}

// Report builds the JSON form.
func (d Diagnostics) Report() JSONReport {
	r := JSONReport{FormatVersion: "1.0", Diagnostics: []JSONDiagnostic{}}
	for _, diag := range sortDiags(d.Diags) {
		jd := JSONDiagnostic{Summary: diag.Summary, Detail: diag.Detail, Severity: "error"}
		if diag.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			r.WarningCount++
		} else {
			r.ErrorCount++
		}
		if s := diag.Subject; s != nil {
			jd.Range = &JSONRange{
				Filename: s.Filename,
				Start:    JSONPos{s.Start.Line, s.Start.Column, s.Start.Byte},
				End:      JSONPos{s.End.Line, s.End.Column, s.End.Byte},
			}
			jd.Snippet = d.snippet(*s)
		}
		r.Diagnostics = append(r.Diagnostics, jd)
	}
	r.Valid = r.ErrorCount == 0
	return r
}

func (d Diagnostics) snippet(s hcl.Range) *JSONSnippet {
	f := d.Files[s.Filename]
	if f == nil || s.Start.Byte > len(f.Bytes) {
		return nil
	}
	src := f.Bytes
	lineStart := strings.LastIndexByte(string(src[:s.Start.Byte]), '\n') + 1
	lineEnd := strings.IndexByte(string(src[s.Start.Byte:]), '\n')
	if lineEnd < 0 {
		lineEnd = len(src)
	} else {
		lineEnd += s.Start.Byte
	}
	end := min(max(s.End.Byte, s.Start.Byte), lineEnd)
	return &JSONSnippet{
		Code:                 string(src[lineStart:lineEnd]),
		StartLine:            s.Start.Line,
		HighlightStartOffset: s.Start.Byte - lineStart,
		HighlightEndOffset:   end - lineStart,
	}
}

// WriteJSON prints the JSON report, indented.
func (d Diagnostics) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d.Report())
}
