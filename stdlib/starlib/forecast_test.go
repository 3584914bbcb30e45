package starlib

import (
	"math"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func run(t *testing.T, src string) starlark.StringDict {
	t.Helper()
	g, err := exec(t, src, Limits{})
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return g
}

func num(t *testing.T, v starlark.Value) float64 {
	t.Helper()
	f, ok := starlark.AsFloat(v)
	if !ok {
		t.Fatalf("%v is %s, not a number", v, v.Type())
	}
	return f
}

// The at-a-glance rule: max(forecast.holt(series, horizon = 30)).
func TestForecastHoltOnRisingSeries(t *testing.T) {
	g := run(t, `
series = [0.30 + 0.01 * i for i in range(60)]
cpu = forecast.holt(series, horizon = 30)
peak = max(cpu)
n = len(cpu)
flat = forecast.ewma([0.5] * 10, horizon = 3)
`)
	if n := num(t, g["n"]); n != 30 {
		t.Errorf("len = %v, want 30", n)
	}
	// Last value 0.89, +0.01 per step: 30 steps later ≈ 1.19.
	if p := num(t, g["peak"]); math.Abs(p-1.19) > 0.02 {
		t.Errorf("peak = %v, want ≈ 1.19", p)
	}
	flat := g["flat"].(*starlark.List)
	for i := 0; i < flat.Len(); i++ {
		if v := num(t, flat.Index(i)); math.Abs(v-0.5) > 1e-9 {
			t.Errorf("ewma of constant 0.5 = %v", v)
		}
	}
}

func TestForecastErrors(t *testing.T) {
	for src, want := range map[string]string{
		`forecast.holt([], horizon = 3)`:           "no finite values",
		`forecast.holt([None, None], horizon = 3)`: "no finite values",
		`forecast.holt([1, 2, 3], horizon = 0)`:    "horizon",
		`forecast.holt(["a"], horizon = 3)`:        "want a number",
		`forecast.ewma([1, 2], alpha = 3)`:         "alpha",
		`forecast.holt(5)`:                         "list of numbers",
		`stats.percentile([1, 2], 120)`:            "percentile",
		`stats.mean([])`:                           "no finite values",
	} {
		_, err := exec(t, src, Limits{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", src, err, want)
		}
	}
}

func TestStatsModule(t *testing.T) {
	g := run(t, `
s = [4, None, 1, 3, 2, 5]
r = [stats.mean(s), stats.median(s), stats.percentile(s, 90), stats.stddev(s), stats.min(s), stats.max(s)]
`)
	want := []float64{3, 3, 4.6, math.Sqrt(2.5), 1, 5}
	l := g["r"].(*starlark.List)
	for i, w := range want {
		if v := num(t, l.Index(i)); math.Abs(v-w) > 1e-9 {
			t.Errorf("stats[%d] = %v, want %v", i, v, w)
		}
	}
}
