package shapers

import (
	"os"
	"strings"
	"testing"
	"time"
)

func script(t testing.TB, src string, reqs ...RequestClass) *Script {
	t.Helper()
	sc, err := NewScript(Config{Name: "rule", Script: "rules/t.star", Source: []byte(src), Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func snap() *Snapshot {
	return &Snapshot{
		Tick: 3, Now: 10 * time.Second,
		Phase:       PhaseInfo{Name: "ramp", Elapsed: 4 * time.Second, Duration: time.Minute, PlannedRate: 100},
		Metrics:     map[string]Metric{"cpu": {Value: 0.85, Age: 2 * time.Second}, "memory": {Value: 1e9, Stale: true}},
		Predictions: map[string]Prediction{"cpu": {Metric: "cpu", Value: 0.9, Lower: 0.8, Upper: 1.0, Horizon: 30 * time.Second}},
		Envelope:    Limits{"cpu": 0.8},
	}
}

func TestScriptShapeSeesCtx(t *testing.T) {
	sc := script(t, `
def shape(ctx):
    if ctx.metrics.cpu > ctx.envelope.cpu and ctx.metrics.memory == None:
        return decision(rate = ctx.rate * 0.5, reason = "cpu %.2f over %.2f in %s" % (ctx.metrics.cpu, ctx.envelope.cpu, ctx.phase.name),
                        prediction = "upper %.1f" % ctx.predictions.cpu.upper, shed = {"low": 0.25})
    return decision(rate = ctx.rate)
`)
	out, d, err := sc.Shape(snap(), Instruction{Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rate != 50 || out.Shed["low"] != 0.25 {
		t.Errorf("out = %+v", out)
	}
	if d.Reason != "cpu 0.85 over 0.80 in ramp" || d.Prediction != "upper 1.0" {
		t.Errorf("decision = %+v", d)
	}
}

func TestScriptSeries(t *testing.T) {
	sc := script(t, `
def shape(ctx):
    s = ctx.series("cpu", "3s")
    return decision(rate = len(s) * 10 + s[-1])
`)
	c := NewChain([]Link{{Name: "rule", Strategy: "script", Shaper: sc}}, ChainOptions{})
	var out Instruction
	for i := 1; i <= 6; i++ {
		out, _ = c.Run(&Snapshot{Now: time.Duration(i) * time.Second, Metrics: map[string]Metric{"cpu": {Value: float64(i)}}}, Instruction{Rate: 1})
	}
	if out.Rate != 36 {
		t.Errorf("rate = %v, want 3 points (36)", out.Rate)
	}
}

func TestScriptPrioritizeTable(t *testing.T) {
	sc := script(t, `
def prioritize(req, ctx):
    if req.priority == "low" and ctx.metrics.cpu > ctx.envelope.cpu:
        return 0.5
    return None
`, RequestClass{Name: "browse", Priority: "low", Weight: 8}, RequestClass{Name: "buy", Priority: "critical", Weight: 2})
	out, d, err := sc.Shape(snap(), Instruction{Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	// Half of browse (80 rps) goes: 60 rps left, buy keeps its 20.
	if out.Rate != 60 || out.Mix["browse"] != 4 || out.Mix["buy"] != 2 || d.ShedRate["low"] != 40 {
		t.Errorf("out = %+v, decision %+v", out, d)
	}
}

func TestScriptLoadErrors(t *testing.T) {
	for src, want := range map[string]string{
		"def shape(ctx)\n  return 1":           "rules/t.star:2",
		"x = 1":                                "neither shape",
		"def shape(a, b):\n    return None":    "wrong signature",
		"shape = 3":                            "wrong signature",
		"fail('at load')":                      "rules/t.star:1",
		"load('x.star', 'y')\ndef shape(c): 1": "load",
		"def shape(ctx):\n    return nosuch()": "undefined: nosuch",
	} {
		_, err := NewScript(Config{Name: "rule", Script: "rules/t.star", Source: []byte(src)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
	}
}

// A broken rule must never crash the run: the chain reports it with the
// backtrace and uses the safe built-in for that tick.
func TestBrokenScriptsFallBack(t *testing.T) {
	cases := map[string]string{
		"runtime error": "def shape(ctx):\n    return decision(rate = ctx.rate / 0)",
		"missing attr":  "def shape(ctx):\n    return decision(rate = ctx.envelope.memory)",
		"wrong type":    "def shape(ctx):\n    return 42",
		"negative rate": "def shape(ctx):\n    return decision(rate = -ctx.rate)",
		"bad shed":      "def shape(ctx):\n    return decision(shed = {'vip': 1})",
		"step budget":   "def shape(ctx):\n    n = 0\n    for i in range(100000000):\n        n += i\n    return decision(rate = n)",
		"fail":          "def helper(x):\n    fail('nope %d' % x)\ndef shape(ctx):\n    return helper(1)",
		"mutate ctx":    "def shape(ctx):\n    ctx.mix['x'] = 1\n    return None",
		"bad prio":      "def prioritize(req, ctx):\n    return 'yes'",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			sc := script(t, src, RequestClass{Name: "a", Priority: "low", Weight: 1})
			c := NewChain([]Link{{Name: "rule", Strategy: "script", Shaper: sc}}, ChainOptions{})
			c.Run(&Snapshot{}, Instruction{Rate: 100})
			s := snap()
			out, ds := c.Run(s, Instruction{Rate: 150})
			if !ds[0].Fallback {
				t.Fatalf("no fallback: %+v", ds[0])
			}
			if out.Rate > 100 {
				t.Errorf("rate %v rose past the previous tick's 100 under fallback", out.Rate)
			}
			if !strings.Contains(ds[0].Error, "t.star") && name != "wrong type" && name != "negative rate" && name != "bad shed" {
				t.Errorf("error lacks file:line: %s", ds[0].Error)
			}
		})
	}
}

func TestScriptBacktraceHasLines(t *testing.T) {
	sc := script(t, "def helper(x):\n    fail('nope %d' % x)\ndef shape(ctx):\n    return helper(1)")
	_, _, err := sc.Shape(snap(), Instruction{Rate: 1})
	if err == nil || !strings.Contains(err.Error(), "rules/t.star:2") || !strings.Contains(err.Error(), "rules/t.star:4") {
		t.Errorf("backtrace = %v", err)
	}
}

func TestScriptDeadline(t *testing.T) {
	sc, err := NewScript(Config{Name: "slow", Script: "s.star", Params: map[string]any{"deadline": "5ms", "max_steps": 1e9},
		Source: []byte("def shape(ctx):\n    n = 0\n    for i in range(1000000000):\n        n += i\n    return None")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = sc.Shape(snap(), Instruction{Rate: 1})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("err = %v", err)
	}
}

func TestPythonPercentFormat(t *testing.T) {
	sc := script(t, `
def shape(ctx):
    a = "%.2f|%5.1f|%-4d|%03d|%s|%r|%.3s|%x|%e" % (0.8567, 2.25, 7, 5, "s", "r", "abcdef", 255, 1234.5)
    b = "%(n)s=%.1f" % {"n": "cpu", "x": 1} if False else "%(n)s=%(v).1f" % {"n": "cpu", "v": 0.25}
    c = "%d%%" % 50
    return decision(reason = a + ";" + b + ";" + c)
`)
	_, d, err := sc.Shape(snap(), Instruction{Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `0.86|  2.2|7   |005|s|"r"|abc|ff|1.234500e+03;cpu=0.2;50%`
	if d.Reason != want {
		t.Errorf("got  %s\nwant %s", d.Reason, want)
	}
}

func TestScriptParams(t *testing.T) {
	sc, err := NewScript(Config{Name: "p", Script: "p.star", Params: map[string]any{"factor": 0.5, "label": "x", "deadline": "50ms"},
		Source: []byte("def shape(ctx):\n    return decision(rate = ctx.rate * ctx.params.factor, reason = ctx.params.label)")})
	if err != nil {
		t.Fatal(err)
	}
	out, d, err := sc.Shape(snap(), Instruction{Rate: 100})
	if err != nil || out.Rate != 50 || d.Reason != "x" {
		t.Errorf("out %+v, d %+v, err %v", out, d, err)
	}
	if _, err := NewScript(Config{Name: "p", Script: "p.star", Params: map[string]any{"deadline": "soon"}, Source: []byte("def shape(ctx): return None")}); err == nil {
		t.Error("bad deadline accepted")
	}
}

// ctx.intents: the plan's intents in time order, with run-time offsets,
// the time to go, the metric (None for every metric or growth) and the
// factor; frozen, so a rule cannot change them.
func TestScriptSeesIntents(t *testing.T) {
	sc := script(t, `
def shape(ctx):
    ahead = [i for i in ctx.intents if i.kind == "deployment" and i.in_seconds > 0 and i.in_seconds <= 30]
    f = 1.0
    for i in ahead:
        f = f * i.factor
    names = ",".join(["%s:%s:%s:%s:%s:%s" % (i.name, i.kind, i.at, i.in_seconds, i.metric, i.factor) for i in ctx.intents])
    return decision(rate = ctx.rate / f, reason = names)
`)
	s := snap()
	s.Intents = []Intent{
		{Name: "sale", Kind: "growth", At: 5 * time.Second, Factor: 2},
		{Name: "v2", Kind: "deployment", At: 30 * time.Second, Metric: "cpu", Factor: 1.25},
		{Name: "v1", Kind: "deployment", At: 2 * time.Second, Factor: 4},
	}
	out, d, err := sc.Shape(s, Instruction{Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	// Only v2 (20 s ahead) is a deployment to come; v1 is 8 s past.
	if out.Rate != 80 {
		t.Errorf("rate %v, want 100 / 1.25", out.Rate)
	}
	if want := "v1:deployment:2.0:-8.0:None:4.0,sale:growth:5.0:-5.0:None:2.0,v2:deployment:30.0:20.0:cpu:1.25"; d.Reason != want {
		t.Errorf("intents seen as %q, want %q", d.Reason, want)
	}
	mut := script(t, `
def shape(ctx):
    ctx.intents.append(1)
    return decision(rate = ctx.rate)
`)
	if _, _, err := mut.Shape(s, Instruction{Rate: 100}); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("appending to ctx.intents: %v, want a frozen-list error", err)
	}
}

// The ctx.intents example of spec/starlark-api.md runs as written.
func TestScriptIntentsSpecExample(t *testing.T) {
	spec, err := os.ReadFile("../spec/starlark-api.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "for i in ctx.intents:"
	at := strings.Index(string(spec), marker)
	if at < 0 {
		t.Fatal("no ctx.intents example in spec/starlark-api.md")
	}
	start := strings.LastIndex(string(spec[:at]), "```python\n") + len("```python\n")
	end := at + strings.Index(string(spec[at:]), "```")
	sc := script(t, string(spec[start:end]))
	s := snap()
	s.Intents = []Intent{{Name: "v2", Kind: "deployment", At: 50 * time.Second, Metric: "cpu", Factor: 1.25}}
	if out, d, err := sc.Shape(s, Instruction{Rate: 100}); err != nil || out.Rate != 80 || !strings.Contains(d.Reason, "×1.25") {
		t.Errorf("40 s before: rate %v, reason %q, err %v", out.Rate, d.Reason, err)
	}
	s.Now = 51 * time.Second
	if out, _, err := sc.Shape(s, Instruction{Rate: 100}); err != nil || out.Rate != 100 {
		t.Errorf("after the deployment: rate %v, err %v", out.Rate, err)
	}
}

// ctx.metrics.<name> is None for a metric with no reading this tick, as
// spec/starlark-api.md says (a source not read yet, a dry-run's first
// tick), and so are ctx.staleness.<name> and ctx.predictions.<name>; a
// rule that checks for None runs without falling back.
func TestScriptMissingReadingsAreNone(t *testing.T) {
	sc := script(t, `
def shape(ctx):
    if ctx.metrics.cpu == None and ctx.staleness.cpu == None and ctx.predictions.cpu == None:
        return decision(rate = ctx.rate / 2, reason = "no cpu yet")
    return decision(rate = ctx.rate)
`)
	for _, s := range []*Snapshot{{}, {Metrics: map[string]Metric{"throughput": {Value: 10}}}} {
		out, d, err := sc.Shape(s, Instruction{Rate: 100})
		if err != nil {
			t.Fatalf("a missing metric raised: %v", err)
		}
		if out.Rate != 50 || d.Reason != "no cpu yet" {
			t.Errorf("out %+v, decision %+v", out, d)
		}
	}
}

// A misspelt attribute of ctx fails with where (file:line:col and the
// function) and what on the first line, the closest name suggested, then
// the backtrace.
func TestScriptAttributeErrorSaysWhereAndSuggests(t *testing.T) {
	sc := script(t, "def shape(ctx):\n    if ctx.metrics.cpu > ctx.envelop.cpu:\n        return None\n    return None")
	_, _, err := sc.Shape(snap(), Instruction{Rate: 1})
	if err == nil {
		t.Fatal("no error")
	}
	first, rest, _ := strings.Cut(err.Error(), "\n")
	if !strings.HasPrefix(first, `rules/t.star:2:29: in shape: ctx has no "envelop"; did you mean "envelope"? (has: `) {
		t.Errorf("first line %q", first)
	}
	if !strings.Contains(rest, "Traceback (most recent call last):") {
		t.Errorf("no backtrace after the first line:\n%s", rest)
	}
}
