package lang

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const varsPlan = `
variable "rate" {
  type    = number
  default = 1
}
target "api" { url = "http://127.0.0.1:8080" }
request "r" {}
phase "p" {
  duration = "1m"
  rate     = var.rate
}
`

// Precedence, lowest first: default, environment, var-file, --var.
func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "p.lshcl")
	_ = os.WriteFile(plan, []byte(varsPlan), 0o644)
	vf := filepath.Join(dir, "a.vars")
	_ = os.WriteFile(vf, []byte("rate = 3\n"), 0o644)
	env := []string{"LOADSHAPER_VAR_rate=2"}
	for _, c := range []struct {
		opts LoadOptions
		want float64
	}{
		{LoadOptions{}, 1},
		{LoadOptions{Environ: env}, 2},
		{LoadOptions{Environ: env, VarFiles: []string{vf}}, 3},
		{LoadOptions{Environ: env, VarFiles: []string{vf}, Vars: map[string]string{"rate": "4"}}, 4},
	} {
		p, d := Load([]string{plan}, c.opts)
		if d.HasErrors() {
			t.Fatal(d.Error())
		}
		if got := p.Phases[0].Rate.Peak(time.Minute); got != c.want {
			t.Errorf("%+v: rate = %v, want %v", c.opts, got, c.want)
		}
	}
}

func TestDirectoryIsOnePlan(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "a.lshcl"), []byte("target \"api\" { url = \"http://127.0.0.1:1\" }\nrequest \"r\" {}\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "b.lshcl"), []byte("phase \"p\" {\n  duration = \"1m\"\n  rate = 5\n}\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a plan"), 0o644)
	p, d := Load([]string{dir}, LoadOptions{})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if p.Name != "a" || len(p.Files) != 2 || p.Dir != dir || len(p.Phases) != 1 || p.Requests[0].Target != "api" {
		t.Errorf("plan = %+v", p)
	}
	_, d = Load([]string{t.TempDir()}, LoadOptions{})
	if !d.HasErrors() || !strings.Contains(d[0].Summary, "No plan files") {
		t.Errorf("empty dir: %v", d)
	}
}

func TestFormatIsCanonicalAndIdempotent(t *testing.T) {
	src := []byte("phase \"p\" {\nduration=\"1m\"\n    rate = ramp( 1,  2 )\n}\n")
	out, d := Format("p.lshcl", src)
	if d.Diags.HasErrors() {
		t.Fatal(d.Diags.Error())
	}
	want := "phase \"p\" {\n  duration = \"1m\"\n  rate     = ramp(1, 2)\n}\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	again, _ := Format("p.lshcl", out)
	if !bytes.Equal(again, out) {
		t.Error("formatting is not idempotent")
	}
	if out, d := Format("bad.lshcl", []byte("phase {{")); out != nil || !d.Diags.HasErrors() {
		t.Error("syntax error not refused")
	}
}

func TestJSONReportShape(t *testing.T) {
	_, d := LoadSource("p.lshcl", []byte("envelope \"e\" { cpu = 0.5 }\nphase \"p\" {\n  duration = \"1m\"\n  rate = -1\n}\n"), LoadOptions{})
	var buf bytes.Buffer
	if err := d.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Valid        bool `json:"valid"`
		ErrorCount   int  `json:"error_count"`
		WarningCount int  `json:"warning_count"`
		Diagnostics  []struct {
			Severity string `json:"severity"`
			Summary  string `json:"summary"`
			Range    struct {
				Filename string `json:"filename"`
				Start    struct{ Line, Column int }
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Valid || r.ErrorCount == 0 || r.WarningCount != 1 || len(r.Diagnostics) != r.ErrorCount+r.WarningCount {
		t.Errorf("report = %+v", r)
	}
	for _, d := range r.Diagnostics {
		if d.Range.Filename != "p.lshcl" || d.Range.Start.Line == 0 {
			t.Errorf("diagnostic without range: %+v", d)
		}
	}
}
