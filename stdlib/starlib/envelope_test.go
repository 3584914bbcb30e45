package starlib

import (
	"math"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

func attr(t *testing.T, v starlark.Value, name string) starlark.Value {
	t.Helper()
	s, ok := v.(*starlarkstruct.Struct)
	if !ok {
		t.Fatalf("%v is %T, not a struct", v, v)
	}
	a, err := s.Attr(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEnvelopeModule(t *testing.T) {
	g := run(t, `
rates = [200 + 20 * (i % 50) for i in range(300)]
noise = [0.004, -0.003, 0.001, -0.002, 0.0, 0.003, -0.004, 0.002, -0.001, 0.0]
cpu = [0.1 + 0.0002 * r + noise[i % 10] for i, r in enumerate(rates)]
e = envelope.safe_rate(rates, cpu, limit = 0.8, max_rate = 10000, planned = 1000)
p = envelope.predict(rates, cpu, 3000)
u = envelope.usl([1, 2, 4, 8, 16, 32], [100, 190, 340, 520, 600, 480])
q = envelope.mmc(servers = 1, service_time = 0.01, rate = 80)
sat = envelope.mmc(servers = 1, service_time = 0.01, rate = 100)
`)
	safe := num(t, attr(t, g["e"], "safe_rate"))
	if !(safe > 3300 && safe < 3500) {
		t.Errorf("safe_rate %v, want a little under 3500", safe)
	}
	if attr(t, g["e"], "confident") != starlark.True || attr(t, g["e"], "breaches") != starlark.False {
		t.Errorf("envelope %v", g["e"])
	}
	if m := num(t, attr(t, g["p"], "mean")); math.Abs(m-0.7) > 0.01 {
		t.Errorf("predict(3000) = %v, want 0.7", m)
	}
	if lo, hi := num(t, attr(t, g["p"], "lower")), num(t, attr(t, g["p"], "upper")); !(lo < 0.7 && hi > 0.7) {
		t.Errorf("interval [%v, %v]", lo, hi)
	}
	if pk := num(t, attr(t, g["u"], "peak_concurrency")); pk < 10 || pk > 30 {
		t.Errorf("usl peak %v", pk)
	}
	if r := num(t, attr(t, g["q"], "mean_response")); math.Abs(r-0.05) > 1e-9 {
		t.Errorf("M/M/1 at 0.8: %v, want 0.05", r)
	}
	if attr(t, g["sat"], "mean_response") != starlark.None {
		t.Error("saturated queue has a finite response time")
	}
	for src, want := range map[string]string{
		`envelope.safe_rate([1, 2], [1], limit = 1, max_rate = 10)`:   "rates has 2 values",
		`envelope.safe_rate([1, 2], [1, 2], limit = 1, max_rate = 0)`: "MaxRate",
		`envelope.usl([1, 2], [1, 2])`:                                "at least 4",
		`envelope.mmc(servers = 0, service_time = 1, rate = 1)`:       "servers",
		`envelope.predict([1, 2], [1, 2], 5, lag = 5)`:                "lag",
		`envelope.predict([None], [None], 5)`:                         "no usable",
	} {
		if _, err := exec(t, src, Limits{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", src, err, want)
		}
	}
}

func TestForecastModuleModels(t *testing.T) {
	g := run(t, `
season = [10 + (5 if i % 12 < 6 else -5) + (i % 3) * 0.1 for i in range(240)]
hw = forecast.holt_winters(season, horizon = 12)
a = forecast.auto(season, horizon = 12)
p = forecast.period(season)
iv = forecast.interval(season, model = "seasonal_naive", horizon = 3, level = 0.9)
m = forecast.median([1, 100, 2, 3, 2], horizon = 2, window = 5)
spiky = [50.0 + (i % 7) * 0.1 for i in range(400)]
spiky[300] = 90.0
spiky[301] = 90.0
spiky[302] = 90.0
an = forecast.anomalies(spiky)
`)
	if p := num(t, g["p"]); p != 12 {
		t.Errorf("period %v", p)
	}
	for _, name := range []string{"hw", "a"} {
		l := g[name].(*starlark.List)
		// step 1 continues the season: index 240 is in the high half.
		if v := num(t, l.Index(0)); math.Abs(v-15) > 0.5 {
			t.Errorf("%s[0] = %v, want ≈ 15", name, v)
		}
		if v := num(t, l.Index(6)); math.Abs(v-5) > 0.5 {
			t.Errorf("%s[6] = %v, want ≈ 5", name, v)
		}
	}
	iv := g["iv"]
	if attr(t, iv, "model").(starlark.String) != "seasonal_naive" || attr(t, iv, "upper").(*starlark.List).Len() != 3 {
		t.Errorf("interval %v", iv)
	}
	if v := num(t, g["m"].(*starlark.List).Index(0)); v != 2 {
		t.Errorf("median = %v", v)
	}
	an := g["an"].(*starlark.List)
	// The series repeats every 7 values (28 is the season found, at least
	// 24): the burst is a spike against the season.
	if an.Len() != 1 || attr(t, an.Index(0), "kind").(starlark.String) != "seasonal_spike" || num(t, attr(t, an.Index(0), "index")) != 300 {
		t.Errorf("anomalies %v", an)
	}
	if _, err := exec(t, `forecast.holt_winters([1.0] * 50, horizon = 3)`, Limits{}); err == nil || !strings.Contains(err.Error(), "no seasonal period") {
		t.Errorf("no season: %v", err)
	}
}
