package spec

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/stdlib"
)

// The parameter tables of language.md and shapers.md are generated from
// stdlib's declarations (the ones lang checks plans against and shapers
// builds from) between markers:
//
//	<!-- params: strategy NAME -->            the strategy's parameters
//	<!-- params: strategy NAME, summary -->   its summary, then its parameters
//	<!-- params: model NAME -->               a predictor model's parameters
//	<!-- params: script -->                   a script shaper's parameters
//	<!-- params: metrics sources -->          the kinds of metrics source
//	…
//	<!-- end params -->
//
// TestParameterTables fails when a table differs from its declaration or a
// declaration has no table; `go test ./spec -run ParameterTables -update`
// rewrites them.
var paramsBlock = regexp.MustCompile(`(?s)<!-- params: ([^>]*?) -->\n(.*?)<!-- end params -->`)

func TestParameterTables(t *testing.T) {
	want := map[string][]string{"language.md": {"script", "metrics sources"}, "shapers.md": nil}
	for _, st := range stdlib.Strategies() {
		want["language.md"] = append(want["language.md"], "strategy "+st.Name)
		want["shapers.md"] = append(want["shapers.md"], "strategy "+st.Name+", summary")
	}
	for _, m := range stdlib.Models() {
		want["language.md"] = append(want["language.md"], "model "+m.Name)
	}
	for _, file := range []string{"language.md", "shapers.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		found := map[string]bool{}
		var bad []string
		out := paramsBlock.ReplaceAllStringFunc(doc, func(block string) string {
			m := paramsBlock.FindStringSubmatch(block)
			gen, err := paramsMarkdown(m[1])
			if err != nil {
				t.Errorf("%s: %v", file, err)
				return block
			}
			found[m[1]] = true
			if m[2] != gen {
				bad = append(bad, m[1])
			}
			return "<!-- params: " + m[1] + " -->\n" + gen + "<!-- end params -->"
		})
		for _, w := range want[file] {
			if !found[w] {
				t.Errorf("%s has no generated table <!-- params: %s -->", file, w)
			}
		}
		if len(bad) == 0 {
			continue
		}
		if *update {
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: the tables of %s differ from their declaration in stdlib; run go test ./spec -run ParameterTables -update and review the diff", file, strings.Join(bad, ", "))
	}
}

// paramsMarkdown renders what a marker names.
func paramsMarkdown(what string) (string, error) {
	kind, name, _ := strings.Cut(what, " ")
	name, summary := strings.CutSuffix(name, ", summary")
	switch {
	case kind == "strategy":
		st, ok := stdlib.LookupStrategy(name)
		if !ok {
			return "", fmt.Errorf("no strategy %q", name)
		}
		if summary {
			return st.Summary + "\n\n" + paramTable(st.Params), nil
		}
		return paramTable(st.Params), nil
	case kind == "model":
		m, ok := stdlib.LookupModel(name)
		if !ok {
			return "", fmt.Errorf("no model %q", name)
		}
		return paramTable(m.Params), nil
	case what == "script":
		return paramTable(stdlib.ScriptParams), nil
	case what == "metrics sources":
		var b strings.Builder
		b.WriteString("| kind | reads | settings | queries |\n|---|---|---|---|\n")
		for _, s := range stdlib.MetricsSources() {
			q := "none: it measures cpu and memory itself"
			if s.Queries {
				q = "at least one"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Kind, s.Doc, "`"+strings.Join(s.Settings, "`, `")+"`", q)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unknown table %q", what)
}

func paramTable(params []stdlib.Param) string {
	if len(params) == 0 {
		return "No parameters.\n"
	}
	var b strings.Builder
	b.WriteString("| parameter | kind | default | range | meaning |\n|---|---|---|---|---|\n")
	for _, p := range params {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", p.Name, p.Kind, paramDefault(p), paramRange(p), p.Doc)
	}
	return b.String()
}

func paramDefault(p stdlib.Param) string {
	switch d := p.Default.(type) {
	case nil:
		if p.Required {
			return "required"
		}
		return "—"
	case time.Duration:
		return "`\"" + stdlib.FormatDuration(d) + "\"`"
	case string:
		return "`\"" + d + "\"`"
	}
	return fmt.Sprintf("`%v`", p.Default)
}

func paramRange(p stdlib.Param) string {
	switch {
	case len(p.Options) > 0:
		return "`" + strings.Join(p.Options, "`, `") + "`"
	case p.Min == 0 && p.Max == 0:
		return ""
	case p.Kind == stdlib.ParamDuration:
		// In seconds, as lint's "out of range" diagnostic says it.
		return fmt.Sprint(p.Min) + "s – " + fmt.Sprint(p.Max) + "s"
	}
	return fmt.Sprint(p.Min) + " – " + fmt.Sprint(p.Max)
}
