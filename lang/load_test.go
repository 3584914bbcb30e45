package lang

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func mustLoad(t *testing.T, paths ...string) *Plan {
	t.Helper()
	p, d := LoadWithFiles(paths, LoadOptions{})
	if d.Diags.HasErrors() || p == nil {
		var b strings.Builder
		_ = d.WriteText(&b, 0, false)
		t.Fatalf("load failed:\n%s", b.String())
	}
	return p
}

func TestLoadAtAGlanceShape(t *testing.T) {
	p := mustLoad(t, "testdata/plans/glance/plan.lshcl")
	if len(p.Phases) != 3 || p.TotalDuration() != 8*time.Minute {
		t.Fatalf("phases = %d, total = %s", len(p.Phases), p.TotalDuration())
	}
	ramp := p.Phases[1]
	if ramp.Start != time.Minute || ramp.Rate.String() != "ramp(100, 5000)" {
		t.Errorf("ramp phase: start %s rate %s", ramp.Start, ramp.Rate)
	}
	if got := ramp.Rate.At(150*time.Second, ramp.Duration); got != 2550 {
		t.Errorf("ramp midpoint = %v, want 2550", got)
	}
	if strings.Join(ramp.Shapers, ",") != "guard,custom" {
		t.Errorf("shapers = %v", ramp.Shapers)
	}
	if p.Requests[1].Priority != "critical" || p.Requests[1].Target != "api" || p.Requests[1].Method != "POST" {
		t.Errorf("checkout request = %+v", p.Requests[1])
	}
	if p.Shapers[0].Envelope != "safe" || !strings.HasSuffix(p.Shapers[1].Script, "rules/checkout.star") {
		t.Errorf("shapers = %+v %+v", p.Shapers[0], p.Shapers[1])
	}
	var mem float64
	for _, l := range p.Envelopes[0].Limits {
		if l.Metric == "memory" {
			mem = l.Max
		}
	}
	if mem != 1.5*(1<<30) {
		t.Errorf("memory limit = %v", mem)
	}
	if c := p.Phases[2].Chaos[0]; c.Kind != "spike" || c.At != 30*time.Second || c.Factor != 3 {
		t.Errorf("chaos = %+v", c)
	}
	if th := p.Thresholds[0]; th.Metric != "latency_p99" || th.Max == nil || *th.Max != 0.3 || !th.Abort {
		t.Errorf("threshold = %+v", th)
	}
}

func TestLoadReportsUndeclaredWithSuggestion(t *testing.T) {
	src := `
target "api" { url = "http://127.0.0.1:8080" }
request "r" { target = target.apii }
phase "p" {
  duration = "1m"
  rate = 10
}
`
	_, d := LoadSource("p.lshcl", []byte(src), LoadOptions{})
	if !d.Diags.HasErrors() {
		t.Fatal("no error")
	}
	got := d.Diags[0]
	if got.Subject == nil || got.Subject.Start.Line != 3 || !strings.Contains(got.Detail, `Did you mean target.api?`) {
		t.Errorf("diag = %s: %s (%v)", got.Summary, got.Detail, got.Subject)
	}
}

func TestEveryDiagnosticHasSubject(t *testing.T) {
	src := `
locals {
  a = local.b
  b = local.a
}
target "api" { url = "ftp://x" }
envelope "e" { cpu = 2 }
shaper "s" { strategy = "aimdd" }
phase "p" {
  duration = "1 minute"
  rate = ramp(10, -1)
  shapers = [envelope.e]
}
`
	_, d := LoadSource("p.lshcl", []byte(src), LoadOptions{})
	if len(d.Diags) < 5 {
		t.Errorf("only %d diagnostics", len(d.Diags))
	}
	for _, diag := range d.Diags {
		if diag.Subject == nil {
			t.Errorf("no subject: %s: %s", diag.Summary, diag.Detail)
		}
		if diag.Severity != hcl.DiagError && diag.Severity != hcl.DiagWarning {
			t.Errorf("bad severity %v", diag.Severity)
		}
	}
}
