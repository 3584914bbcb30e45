package dryrun

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadshaper/loadshaper/lang"
)

// A rule that reads ctx.predictions sees the predictor blocks' forecasts in
// a dry-run, as it does in a run: without them it would never act here.
func TestDryRunRulesSeePredictions(t *testing.T) {
	plan := `
target "api" { url = "http://127.0.0.1:8080" }
envelope "safe" { cpu = 0.8 }
request "r" { target = target.api }
predictor "cpu" {
  metric  = "cpu"
  model   = "holt"
  horizon = "10s"
}
shaper "rule" { script = "rule.star" }
phase "ramp" {
  duration = "60s"
  rate     = ramp(50, 500)
  shapers  = [shaper.rule]
}
simulate {
  capacity         = 400
  cost_per_request = "2.5ms"
}
`
	rule := `
def shape(ctx):
    if "cpu" in dir(ctx.predictions):
        return decision(rate = ctx.rate * 0.99, reason = "forecast upper %.3f" % ctx.predictions.cpu.upper)
    return None
`
	r := predictWithRule(t, plan, rule)
	seen := 0
	for _, s := range r.Shapers {
		if strings.Contains(s.Reason+s.LastReason, "forecast upper") {
			seen++
		}
	}
	if seen == 0 {
		t.Fatalf("the rule never saw ctx.predictions.cpu in the dry-run: %+v", r.Shapers)
	}
}

// ctx.metrics.<name> is None when there is no reading (the dry-run's first
// tick, a metric the simulated target does not model), as in a run: a rule
// that checks for None never falls back.
func TestDryRunMissingMetricIsNone(t *testing.T) {
	plan := `
target "api" { url = "http://127.0.0.1:8080" }
envelope "safe" { cpu = 0.8 }
request "r" { target = target.api }
shaper "rule" { script = "rule.star" }
phase "ramp" {
  duration = "20s"
  rate     = ramp(50, 500)
  shapers  = [shaper.rule]
}
simulate {
  capacity         = 400
  cost_per_request = "2.5ms"
}
`
	rule := `
def shape(ctx):
    cpu = ctx.metrics.cpu
    if cpu == None:
        return decision(rate = ctx.rate, reason = "no cpu reading")
    if ctx.metrics.queue_depth != None:
        return decision(rate = 0, reason = "the simulated target has no queue_depth")
    if cpu > ctx.envelope.cpu:
        return decision(rate = ctx.rate * 0.8, reason = "cpu %.2f" % cpu)
    return decision(rate = ctx.rate)
`
	r := predictWithRule(t, plan, rule)
	for _, ph := range r.Phases {
		for _, s := range ph.Shapers {
			if s.Fallbacks > 0 {
				t.Errorf("phase %s: %s fell back %d times: %s", ph.Name, s.Shaper, s.Fallbacks, s.LastError)
			}
		}
	}
	if len(r.Shapers) == 0 {
		t.Fatal("no shaper in the report")
	}
}

// predictWithRule dry-runs plan (p.lshcl) with its rule (rule.star) from a
// directory of their own.
func predictWithRule(t *testing.T, plan, rule string) *Report {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{"p.lshcl": plan, "rule.star": rule} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, diags := lang.Load([]string{filepath.Join(dir, "p.lshcl")}, lang.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	r, err := Predict(p, 1, SourceOptions{HistoryPath: filepath.Join(dir, "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A rule that fails on every tick of the dry-run is as loud as in the run
// it predicts: the verdict says so, and the shapers section prints the
// error's first line (the rule's file:line:col) with its backtrace under it.
func TestDryRunSaysAFailingRuleFails(t *testing.T) {
	r := predictWithRule(t, `
target "api" { url = "http://127.0.0.1:8080" }
envelope "safe" { cpu = 0.8 }
request "r" { target = target.api }
shaper "rule" { script = "rule.star" }
phase "ramp" {
  duration = "10s"
  rate     = ramp(50, 500)
  shapers  = [shaper.rule]
}
`, "def shape(ctx):\n    return decision(rate = ctx.mix[\"checkout\"])\n")
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`shaper "rule" FAILS on every tick of phase ramp (the run would exit 6)`,
		`/rule.star:2:35: in shape: key "checkout" not in dict` + "\n        Traceback (most recent call last):",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry-run report lacks %q:\n%s", want, out)
		}
	}
	if r.Verdict.ShaperFailure != `shaper "rule" fails on every tick of phase ramp` {
		t.Errorf("verdict %+v: the plan command would not exit 5 for it", r.Verdict)
	}
}
