// Package spec holds loadshaper's language reference (language.md) and its
// conformance suite: every cases/*.txtar file is a plan (and any scripts,
// var-files and environment it needs) with the diagnostics or the inspect
// JSON it must produce. Run `go test ./spec -update` to rewrite the
// expected output after an intended change, then review the diff.
package spec

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/stdlib"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output of the cases")

// Sections of a case with a special meaning; every other section is a
// file written into the plan's directory.
const (
	secDiags   = "diagnostics" // expected: one "file:line: severity: summary" per line
	secInspect = "inspect.json"
	secVars    = "vars" // --var name=value, one per line
	secEnv     = "env"  // environment, one NAME=value per line
)

func TestCases(t *testing.T) {
	cases, err := filepath.Glob("cases/*.txtar")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) { runCase(t, path) })
	}
}

func runCase(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := lang.LoadOptions{Vars: map[string]string{}, Environ: []string{}}
	var plans []string
	var wantDiags, wantInspect *txtar.File
	for i := range ar.Files {
		f := &ar.Files[i]
		switch f.Name {
		case secDiags:
			wantDiags = f
			continue
		case secInspect:
			wantInspect = f
			continue
		case secVars:
			for _, line := range lines(f.Data) {
				k, v, _ := strings.Cut(line, "=")
				opts.Vars[k] = v
			}
			continue
		case secEnv:
			opts.Environ = append(opts.Environ, lines(f.Data)...)
			continue
		}
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(f.Name, ".lshcl") && !strings.Contains(f.Name, "/"):
			plans = append(plans, p)
		case strings.HasSuffix(f.Name, ".vars"):
			opts.VarFiles = append(opts.VarFiles, p)
		}
	}
	if wantDiags == nil && wantInspect == nil {
		t.Fatalf("%s has neither a %q nor an %q section", path, secDiags, secInspect)
	}
	sort.Strings(plans)
	plan, d := lang.LoadWithFiles(plans, opts)
	var got bytes.Buffer
	for _, diag := range d.Report().Diagnostics {
		loc := "-"
		if diag.Range != nil {
			loc = fmt.Sprintf("%s:%d", rel(dir, diag.Range.Filename), diag.Range.Start.Line)
		}
		fmt.Fprintf(&got, "%s: %s: %s\n", loc, diag.Severity, diag.Summary)
	}
	changed := false
	if wantDiags != nil || got.Len() > 0 {
		if wantDiags == nil {
			ar.Files = append(ar.Files, txtar.File{Name: secDiags})
			wantDiags = &ar.Files[len(ar.Files)-1]
		}
		if !bytes.Equal(got.Bytes(), wantDiags.Data) {
			if *update {
				wantDiags.Data, changed = got.Bytes(), true
			} else {
				var full strings.Builder
				_ = d.WriteText(&full, 0, false)
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s--- full text\n%s", got.String(), wantDiags.Data, full.String())
			}
		}
	}
	if wantInspect != nil {
		if plan == nil {
			t.Fatalf("plan has errors; cannot inspect")
		}
		var js bytes.Buffer
		if err := lang.WriteInspection(&js, plan); err != nil {
			t.Fatal(err)
		}
		out := bytes.ReplaceAll(js.Bytes(), []byte(dir+string(filepath.Separator)), nil)
		if !bytes.Equal(out, wantInspect.Data) {
			if *update {
				wantInspect.Data, changed = out, true
			} else {
				t.Errorf("inspect differs\n--- got\n%s--- want\n%s", out, wantInspect.Data)
			}
		}
	}
	if changed {
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestReferenceIsComplete keeps language.md in step with the code: every
// function, strategy, model, block kind and enumerated value is documented.
func TestReferenceIsComplete(t *testing.T) {
	b, err := os.ReadFile("language.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var names []string
	names = append(names, stdlib.FunctionNames()...)
	for _, s := range stdlib.Strategies() {
		names = append(names, s.Name)
		for _, p := range s.Params {
			names = append(names, p.Name)
		}
	}
	for _, m := range stdlib.Models() {
		names = append(names, m.Name)
		for _, p := range m.Params {
			names = append(names, p.Name)
		}
	}
	for _, p := range stdlib.ScriptParams {
		names = append(names, p.Name)
	}
	for m := range lang.BuiltinMetrics {
		names = append(names, m)
	}
	names = append(names, stdlib.PriorityClasses...)
	names = append(names, stdlib.MetricsKinds()...)
	names = append(names, stdlib.MetricsSettings()...)
	names = append(names, lang.ChaosKinds...)
	names = append(names, lang.OutputFormats...)
	names = append(names, lang.IntentKinds...)
	names = append(names, lang.Arrivals...)
	names = append(names, lang.OnStaleActions...)
	names = append(names, lang.CheckSubjects...)
	names = append(names, lang.ExtractSources...)
	names = append(names, lang.OnFailActions...)
	names = append(names, lang.DataOrders...)
	for _, ep := range lang.EntryPoints {
		names = append(names, ep.Name)
	}
	for _, blk := range []string{"variable", "locals", "target", "envelope", "request", "flow", "predictor", "shaper", "phase", "threshold", "output", "intent", "settings", "simulate"} {
		if !strings.Contains(doc, "### `"+blk) {
			t.Errorf("language.md has no section for the %s block", blk)
		}
	}
	for _, n := range names {
		if !strings.Contains(doc, "`"+n) && !strings.Contains(doc, "`\""+n+"\"") {
			t.Errorf("language.md does not mention %q", n)
		}
	}
}
