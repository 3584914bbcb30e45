package lang

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/loadshaper/loadshaper/stdlib/starlib"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// ScriptLoadLimits bound the top level of a rule script when lint runs it:
// a script whose top level loops forever hits the step budget.
var ScriptLoadLimits = starlib.Limits{MaxSteps: 2_000_000, Deadline: time.Second}

// EntryPoints are the functions a rule script may define, with the number
// of positional arguments the runtime calls them with.
var EntryPoints = []struct {
	Name   string
	Params []string
}{
	{"shape", []string{"ctx"}},
	{"prioritize", []string{"req", "ctx"}},
}

type scriptResult struct {
	globals starlark.StringDict
	file    *syntax.File // resolved, for the attribute checks
	ok      bool
}

// loadScript reads, compiles and runs the top level of a rule script, then
// checks its entry points. Errors inside the script are reported at the
// script's file:line:col; missing or wrong entry points at the plan's
// `script` attribute (attr).
func (l *loader) loadScript(path string, attr *hcl.Attribute) bool {
	abs := l.abs(path)
	display := l.display(path)
	res, done := l.scriptCache[abs]
	if !done {
		res = l.compileScript(abs, display, exprRange(attr))
		if l.scriptCache == nil {
			l.scriptCache = map[string]scriptResult{}
		}
		l.scriptCache[abs] = res
		if res.ok || res.globals != nil {
			l.plan.Files = append(l.plan.Files, display)
		}
	}
	if !res.ok {
		return false
	}
	found := 0
	ok := true
	for _, ep := range EntryPoints {
		v, has := res.globals[ep.Name]
		if !has {
			continue
		}
		found++
		fn, isFn := v.(*starlark.Function)
		if !isFn {
			l.errorf(exprRange(attr), "Invalid entry point", "In %s, %s is %s, not a function; define it as def %s(%s):.", display, ep.Name, v.Type(), ep.Name, strings.Join(ep.Params, ", "))
			ok = false
			continue
		}
		if !callableWith(fn, len(ep.Params)) {
			l.errorf(exprRange(attr), "Wrong arguments for entry point",
				"In %s (line %d), %s takes %s; the runtime calls it with %d (%s). Define it as def %s(%s):.",
				display, fn.Position().Line, ep.Name, describeParams(fn), len(ep.Params), strings.Join(ep.Params, ", "), ep.Name, strings.Join(ep.Params, ", "))
			ok = false
		}
	}
	if found == 0 {
		l.errorf(exprRange(attr), "Script has no entry point", "%s defines neither shape(ctx) nor prioritize(req, ctx); a shaper script needs at least one of them.", display)
		ok = false
	}
	return ok
}

// callableWith reports whether fn accepts exactly n positional arguments.
func callableWith(fn *starlark.Function, n int) bool {
	positional := fn.NumParams() - fn.NumKwonlyParams()
	if fn.HasVarargs() {
		positional--
	}
	if fn.HasKwargs() {
		positional--
	}
	required := 0
	for i := 0; i < positional; i++ {
		if fn.ParamDefault(i) == nil {
			required++
		}
	}
	for i := positional; i < positional+fn.NumKwonlyParams(); i++ {
		if fn.ParamDefault(i+boolInt(fn.HasVarargs())) == nil {
			return false
		}
	}
	return required <= n && (n <= positional || fn.HasVarargs())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func describeParams(fn *starlark.Function) string {
	n := fn.NumParams()
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		name, _ := fn.Param(i)
		names = append(names, name)
	}
	if len(names) == 0 {
		return "no parameters"
	}
	if len(names) == 1 {
		return "1 parameter (" + names[0] + ")"
	}
	return fmt.Sprintf("%d parameters (%s)", len(names), strings.Join(names, ", "))
}

func (l *loader) compileScript(abs, display string, planRange *hcl.Range) scriptResult {
	if l.opts.NoFiles {
		l.errorf(planRange, "Scripts are not available", "This plan is checked without access to files, so %s cannot be compiled.", display)
		return scriptResult{}
	}
	src, diags := l.parser.readFile(abs, "script", planRange)
	if diags.HasErrors() {
		// Name the file the way the plan does.
		for _, d := range diags {
			d.Detail = strings.Replace(d.Detail, abs, display, 1)
		}
		l.diags = append(l.diags, diags...)
		return scriptResult{}
	}
	l.parser.addSource(display, src)
	if d := checkText(display, src, "script"); d.HasErrors() {
		l.diags = append(l.diags, d...)
		return scriptResult{}
	}
	universe := starlib.Universe()
	file, prog, err := starlark.SourceProgramOptions(starlib.FileOptions, display, src, universe.Has)
	if err != nil {
		l.diags = append(l.diags, starlarkDiags(display, src, err, universe)...)
		return scriptResult{globals: starlark.StringDict{}}
	}
	th := starlib.NewThread(display, ScriptLoadLimits, nil)
	stop := starlib.Guard(th, ScriptLoadLimits)
	type initResult struct {
		globals starlark.StringDict
		err     error
	}
	// Builtins such as list(range(1 << 30)) run without counting steps or
	// noticing cancellation; wait for the top level only a little past its
	// deadline, then report it and leave the goroutine to be cancelled at
	// its next step.
	ch := make(chan initResult, 1)
	go func() {
		g, err := prog.Init(th, universe)
		ch <- initResult{g, err}
	}()
	var globals starlark.StringDict
	select {
	case r := <-ch:
		globals, err = r.globals, r.err
	case <-time.After(ScriptLoadLimits.Deadline + 500*time.Millisecond):
		th.Cancel("deadline exceeded")
		stop()
		l.errorf(&hcl.Range{Filename: display, Start: hcl.InitialPos, End: hcl.InitialPos}, "Script runs too long while loading",
			"The top level of the script did not finish within %s; a builtin call is probably building something huge (like list(range(1 << 30))). Move work into shape() or prioritize().", ScriptLoadLimits.Deadline)
		return scriptResult{globals: starlark.StringDict{}}
	}
	stop()
	if err != nil {
		l.diags = append(l.diags, starlarkDiags(display, src, err, universe)...)
		return scriptResult{globals: starlark.StringDict{}}
	}
	globals.Freeze()
	return scriptResult{globals: globals, file: file, ok: true}
}

// starlarkDiags converts Starlark's errors (syntax, resolve, evaluation)
// into diagnostics at the script's file:line:col, so they render like the
// plan's own.
func starlarkDiags(file string, src []byte, err error, universe starlark.StringDict) hcl.Diagnostics {
	var out hcl.Diagnostics
	var se syntax.Error
	var rl resolve.ErrorList
	var ee *starlark.EvalError
	switch {
	case errors.As(err, &se):
		out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Syntax error in script", Detail: capitalize(se.Msg) + ".", Subject: starRange(file, src, se.Pos, 1)})
	case errors.As(err, &rl):
		for _, e := range rl {
			detail := capitalize(e.Msg) + "."
			width := 1
			if name, ok := strings.CutPrefix(e.Msg, "undefined: "); ok {
				width = len(name)
				cands := append(universe.Keys(), starlark.Universe.Keys()...)
				detail = fmt.Sprintf("%q is not defined. Rule scripts see the builtins and %s.%s", name, quotedList(starlib.UniverseNames()), didYouMean(name, cands))
			}
			out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undefined name in script", Detail: detail, Subject: starRange(file, src, e.Pos, width)})
			if len(out) >= 20 {
				break
			}
		}
	case errors.As(err, &ee):
		pos := syntax.Position{}
		for i := 0; i < len(ee.CallStack); i++ {
			if p := ee.CallStack.At(i).Pos; p.IsValid() && p.Filename() == file {
				pos = p
				break
			}
		}
		summary := "Script failed while loading"
		detail := capitalize(ee.Msg) + "."
		if strings.Contains(ee.Msg, "too many steps") || strings.Contains(ee.Msg, "deadline") {
			summary = "Script runs too long while loading"
			detail = fmt.Sprintf("The top level of the script did not finish within its budget (%d steps, %s): %s. Move work into shape() or prioritize().", ScriptLoadLimits.MaxSteps, ScriptLoadLimits.Deadline, ee.Msg)
		}
		var subj *hcl.Range
		if pos.IsValid() {
			subj = starRange(file, src, pos, 1)
		} else {
			subj = &hcl.Range{Filename: file, Start: hcl.InitialPos, End: hcl.InitialPos}
		}
		out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subj})
	default:
		out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot load script", Detail: err.Error(), Subject: &hcl.Range{Filename: file, Start: hcl.InitialPos, End: hcl.InitialPos}})
	}
	return out
}

// starRange turns a Starlark position into an HCL range of width bytes.
func starRange(file string, src []byte, p syntax.Position, width int) *hcl.Range {
	line, col := int(p.Line), int(p.Col)
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	off := 0
	for l := 1; l < line && off < len(src); l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			off = len(src)
			break
		}
		off += i + 1
	}
	off = min(off+col-1, len(src))
	start := hcl.Pos{Line: line, Column: col, Byte: off}
	end := hcl.Pos{Line: line, Column: col + width, Byte: min(off+width, len(src))}
	return &hcl.Range{Filename: file, Start: start, End: end}
}
