package shapers

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/stdlib"
)

func setRate(r float64, why string) Shaper {
	return ShaperFunc(func(s *Snapshot, in Instruction) (Instruction, Decision, error) {
		in.Rate = r
		return in, Decision{Reason: why}, nil
	})
}

func TestChainRunsInOrderAndRecordsDecisions(t *testing.T) {
	c := NewChain([]Link{
		{Name: "a", Strategy: "x", Shaper: setRate(50, "first")},
		{Name: "b", Strategy: "x", Shaper: setRate(40, "second")},
	}, ChainOptions{})
	s := &Snapshot{Tick: 7}
	out, ds := c.Run(s, Instruction{Rate: 100})
	if out.Rate != 40 {
		t.Fatalf("rate = %v, want 40 (the last shaper's)", out.Rate)
	}
	if len(ds) != 2 || ds[0].Shaper != "a" || ds[1].Shaper != "b" {
		t.Fatalf("decisions = %+v", ds)
	}
	if ds[0].RateBefore != 100 || ds[0].RateAfter != 50 || ds[1].RateBefore != 50 || ds[1].Tick != 7 {
		t.Errorf("before/after not recorded: %+v", ds)
	}
	if ds[0].Changed != "rate 100 -> 50" {
		t.Errorf("changed = %q", ds[0].Changed)
	}
	// The next tick sees what was sent and decided.
	s2 := &Snapshot{Tick: 8}
	c.Run(s2, Instruction{Rate: 100})
	if len(s2.Sent) != 1 || s2.Sent[0] != 40 || len(s2.Previous) != 2 {
		t.Errorf("next snapshot: sent %v previous %d", s2.Sent, len(s2.Previous))
	}
}

func TestChainFallsBackOnErrorPanicAndBadRate(t *testing.T) {
	broken := map[string]Shaper{
		"error": ShaperFunc(func(*Snapshot, Instruction) (Instruction, Decision, error) {
			return Instruction{}, Decision{}, errors.New("boom")
		}),
		"panic": ShaperFunc(func(*Snapshot, Instruction) (Instruction, Decision, error) { panic("bad") }),
		"nan": ShaperFunc(func(_ *Snapshot, in Instruction) (Instruction, Decision, error) {
			in.Rate = math.NaN()
			return in, Decision{}, nil
		}),
		"shed": ShaperFunc(func(_ *Snapshot, in Instruction) (Instruction, Decision, error) {
			in.Shed = map[string]float64{"vip": 0.5}
			return in, Decision{}, nil
		}),
	}
	for name, sh := range broken {
		t.Run(name, func(t *testing.T) {
			c := NewChain([]Link{{Name: "ok", Shaper: setRate(80, "")}, {Name: "bad", Shaper: sh}},
				ChainOptions{})
			env := Limits{"cpu": 0.8}
			c.Run(&Snapshot{Envelope: env}, Instruction{Rate: 80})
			// The planned rate rises, but the fallback holds the previous rate;
			// with cpu over the envelope it cuts 10%.
			out, ds := c.Run(&Snapshot{Envelope: env, Metrics: map[string]Metric{"cpu": {Value: 0.9}}}, Instruction{Rate: 200})
			if out.Rate != 72 {
				t.Errorf("rate = %v, want 72 (hold at 80 less 10%%)", out.Rate)
			}
			d := ds[1]
			if !d.Fallback || d.Error == "" || !strings.Contains(d.Reason, `shaper "bad" failed`) {
				t.Errorf("decision does not say it fell back: %+v", d)
			}
		})
	}
}

func TestClampHardLimits(t *testing.T) {
	c := NewChain([]Link{{Name: "up", Shaper: setRate(900, "")}}, ChainOptions{})
	out, ds := c.Run(&Snapshot{MaxRate: 500, Phase: PhaseInfo{Name: "ramp", MaxRate: 600}}, Instruction{Rate: 100})
	if out.Rate != 500 {
		t.Fatalf("rate = %v, want the plan's max_rate 500", out.Rate)
	}
	last := ds[len(ds)-1]
	if last.Shaper != "limits" || !strings.Contains(last.Reason, "plan max_rate") {
		t.Errorf("clamp decision = %+v", last)
	}
	out, _ = c.Run(&Snapshot{MaxRate: 700, Phase: PhaseInfo{Name: "ramp", MaxRate: 600}}, Instruction{Rate: 100})
	if out.Rate != 600 {
		t.Errorf("rate = %v, want the phase's max_rate 600", out.Rate)
	}
	out, ds = c.Run(&Snapshot{}, Instruction{Rate: 100, Distribution: map[string]float64{"a": 3, "b": 1}})
	if out.Rate != 900 || len(ds) != 1 || out.Distribution["a"] != 0.75 {
		t.Errorf("no limits: rate %v, %d decisions, distribution %v", out.Rate, len(ds), out.Distribution)
	}
}

func TestEffectiveRateSubtractsShed(t *testing.T) {
	reqs := []RequestClass{{Name: "browse", Priority: "low", Weight: 8}, {Name: "buy", Priority: "critical", Weight: 2}}
	got := EffectiveRate(Instruction{Rate: 100, Shed: map[string]float64{"low": 0.5}}, reqs)
	if got != 60 {
		t.Errorf("effective = %v, want 60", got)
	}
}

func TestSeriesFromChainMemory(t *testing.T) {
	c := NewChain(nil, ChainOptions{Memory: 5})
	var last *Snapshot
	for i := 0; i < 10; i++ {
		last = &Snapshot{Tick: i, Now: time.Duration(i) * time.Second, Metrics: map[string]Metric{"cpu": {Value: float64(i)}}}
		c.Run(last, Instruction{Rate: float64(i)})
	}
	pts := last.Series("cpu", 3*time.Second)
	if len(pts) != 3 || pts[0].Value != 7 || pts[2].Value != 9 {
		t.Errorf("series = %v, want 7,8,9", pts)
	}
	if n := len(last.Series("cpu", time.Hour)); n != 5 {
		t.Errorf("memory kept %d points, want 5", n)
	}
}

func TestParamsValidation(t *testing.T) {
	st := Strategy{Strategy: stdlib.Strategy{Name: "t", Params: []stdlib.Param{
		{Name: "backoff", Kind: stdlib.ParamNumber, Default: 0.9, Min: 0.1, Max: 1},
		{Name: "window", Kind: stdlib.ParamDuration, Default: 30 * time.Second},
		{Name: "mode", Kind: stdlib.ParamString, Default: "a", Options: []string{"a", "b"}},
		{Name: "share", Kind: stdlib.ParamFraction},
		{Name: "class", Kind: stdlib.ParamPriority},
		{Name: "must", Kind: stdlib.ParamNumber, Required: true},
	}}}
	p, err := ValidateParams(st, map[string]any{"window": "1m", "must": 1.0})
	if err != nil || p.Float("backoff") != 0.9 || p.Duration("window") != time.Minute || p.String("mode") != "a" {
		t.Fatalf("defaults: %v %v", p, err)
	}
	_, err = ValidateParams(st, map[string]any{"backof": 0.5, "window": "soon", "mode": "c"})
	if err == nil {
		t.Fatal("bad params accepted")
	}
	for _, want := range []string{`did you mean "backoff"`, `"window"`, `not one of a, b`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := ValidateParams(st, map[string]any{"backoff": 2.0, "must": 1.0}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("range not checked: %v", err)
	}
	// What a kind implies is checked as lang checks it, and a required
	// parameter must be given.
	for _, c := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"must": 1.0, "share": 1.5}, "fraction"},
		{map[string]any{"must": 1.0, "class": "urgent"}, `"urgent" is not one of background`},
		{map[string]any{}, `"must" is required`},
	} {
		if _, err := ValidateParams(st, c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.raw, err, c.want)
		}
	}
}

// Every strategy stdlib declares (the table lang checks plans against) has
// an implementation, and Register refuses one that is not declared, so a
// plan that lints clean builds its chain.
func TestEveryDeclaredStrategyIsRegistered(t *testing.T) {
	var got []string
	for _, st := range Strategies() {
		got = append(got, st.Name)
	}
	if want := stdlib.StrategyNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("registered %v, declared %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Register accepted a strategy stdlib does not declare")
		}
	}()
	Register("no_such_strategy", nil)
}

func TestNewUnknownStrategySuggests(t *testing.T) {
	_, err := New(Config{Name: "g", Strategy: "saef"})
	if err == nil || !strings.Contains(err.Error(), `did you mean "safe"`) {
		t.Errorf("err = %v", err)
	}
}
