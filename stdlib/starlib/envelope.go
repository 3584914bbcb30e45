package starlib

import (
	"fmt"
	"math"

	"github.com/loadshaper/loadshaper/predictors"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The envelope module: load-response and capacity questions for rule
// scripts. Series of rates and metric values are paired element by
// element (pass lag = d to pair each value with the rate d samples
// earlier).
func init() {
	registerModule(&starlarkstruct.Module{
		Name: "envelope",
		Members: starlark.StringDict{
			"safe_rate": starlark.NewBuiltin("envelope.safe_rate", envelopeSafeRate),
			"predict":   starlark.NewBuiltin("envelope.predict", envelopePredict),
			"usl":       starlark.NewBuiltin("envelope.usl", envelopeUSL),
			"mmc":       starlark.NewBuiltin("envelope.mmc", envelopeMMc),
		},
	})
}

// loadResponseArgs are the arguments shared by safe_rate and predict.
type loadResponseArgs struct {
	rates, values seriesArg
	lag           int
	quadratic     bool
	forget        floatArg
}

func (a *loadResponseArgs) model(name string) (*predictors.LoadResponse, error) {
	if len(a.rates) != len(a.values) {
		return nil, fmt.Errorf("%s: rates has %d values, values has %d", name, len(a.rates), len(a.values))
	}
	if a.lag < 0 || a.lag >= max(len(a.rates), 1) {
		return nil, fmt.Errorf("%s: lag %d outside [0, %d)", name, a.lag, len(a.rates))
	}
	m, err := predictors.NewLoadResponse(predictors.LoadResponseConfig{Quadratic: a.quadratic, Forget: float64(a.forget)})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	for i := a.lag; i < len(a.values); i++ {
		m.Update(a.rates[i-a.lag], a.values[i])
	}
	return m, nil
}

// envelope.safe_rate(rates, values, limit, max_rate, horizon = 30,
// level = 0.95, margin = 0, planned = 0, lag = 0, quadratic = False,
// forget = 0.99) → struct(safe_rate, confident, expected, upper, breaches,
// breach_in): the largest rate whose upper prediction bound stays under
// limit (see spec/predictors.md).
func envelopeSafeRate(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		a               loadResponseArgs
		limit, maxRate  floatArg
		horizon         = floatArg(30)
		level           = floatArg(0.95)
		margin, planned floatArg
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "rates", &a.rates, "values", &a.values, "limit", &limit, "max_rate", &maxRate,
		"horizon?", &horizon, "level?", &level, "margin?", &margin, "planned?", &planned, "lag?", &a.lag, "quadratic?", &a.quadratic, "forget?", &a.forget); err != nil {
		return nil, err
	}
	m, err := a.model(b.Name())
	if err != nil {
		return nil, err
	}
	req := predictors.EnvelopeRequest{
		Horizon: float64(horizon), Level: float64(level), Margin: float64(margin), PlannedRate: float64(planned), MaxRate: float64(maxRate),
		Metrics: []predictors.MetricLimit{{Name: "metric", Limit: float64(limit), Model: m}},
	}
	var env predictors.Envelope
	if err := predictors.ComputeEnvelope(&req, &env); err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	me := env.Metrics[0]
	return starlarkstruct.FromStringDict(starlark.String("envelope"), starlark.StringDict{
		"safe_rate": starlark.Float(env.SafeRate),
		"confident": starlark.Bool(env.Confident),
		"expected":  starlark.Float(me.Expected),
		"upper":     starlark.Float(me.Upper),
		"breaches":  starlark.Bool(me.Breaches),
		"breach_in": starlark.Float(me.BreachIn),
	}), nil
}

// envelope.predict(rates, values, rate, level = 0.95, lag = 0,
// quadratic = False, forget = 0.99) → struct(mean, lower, upper, a, b, c):
// "what will the metric be at this rate?" with a prediction interval.
// Before the model has enough spread in the rates, lower/upper are None.
func envelopePredict(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		a     loadResponseArgs
		rate  floatArg
		level = floatArg(0.95)
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "rates", &a.rates, "values", &a.values, "rate", &rate,
		"level?", &level, "lag?", &a.lag, "quadratic?", &a.quadratic, "forget?", &a.forget); err != nil {
		return nil, err
	}
	if !(level > 0 && level < 1) {
		return nil, fmt.Errorf("%s: level must be between 0 and 1", b.Name())
	}
	m, err := a.model(b.Name())
	if err != nil {
		return nil, err
	}
	mean, se := m.Predict(float64(rate))
	if math.IsNaN(mean) {
		return nil, fmt.Errorf("%s: no usable (rate, value) pairs", b.Name())
	}
	ca, cb, cc := m.Coef()
	d := starlark.StringDict{
		"mean": starlark.Float(mean), "lower": starlark.None, "upper": starlark.None,
		"a": starlark.Float(ca), "b": starlark.Float(cb), "c": starlark.Float(cc),
	}
	if !math.IsInf(se, 0) {
		z := predictors.Z(float64(level))
		d["lower"], d["upper"] = starlark.Float(mean-z*se), starlark.Float(mean+z*se)
	}
	return starlarkstruct.FromStringDict(starlark.String("prediction"), d), nil
}

// envelope.usl(concurrency, throughput) → struct(lambda, sigma, kappa,
// peak_concurrency, max_throughput); peak_concurrency is None when the fit
// finds no coherency penalty (κ = 0: throughput never peaks).
func envelopeUSL(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n, x seriesArg
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "concurrency", &n, "throughput", &x); err != nil {
		return nil, err
	}
	u, err := predictors.FitUSL(n, x)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	d := starlark.StringDict{
		"lambda": starlark.Float(u.Lambda), "sigma": starlark.Float(u.Sigma), "kappa": starlark.Float(u.Kappa),
		"peak_concurrency": starlark.None, "max_throughput": starlark.None,
	}
	if pn, px, ok := u.Peak(); ok {
		d["peak_concurrency"], d["max_throughput"] = starlark.Float(pn), starlark.Float(px)
	} else if !math.IsInf(px, 0) {
		d["max_throughput"] = starlark.Float(px)
	}
	return starlarkstruct.FromStringDict(starlark.String("usl"), d), nil
}

// envelope.mmc(servers, service_time, rate, quantile = 0.99) →
// struct(utilization, wait_probability, mean_response, response_quantile):
// times in seconds; at or past saturation the times are None.
func envelopeMMc(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		c             int
		service, rate floatArg
		q             = floatArg(0.99)
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "servers", &c, "service_time", &service, "rate", &rate, "quantile?", &q); err != nil {
		return nil, err
	}
	if c < 1 || !(service > 0) || rate < 0 || !(q > 0 && q < 1) {
		return nil, fmt.Errorf("%s: want servers ≥ 1, service_time > 0, rate ≥ 0 and 0 < quantile < 1", b.Name())
	}
	m := predictors.MMc{C: c, Mu: 1 / float64(service)}
	opt := func(v float64) starlark.Value {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return starlark.None
		}
		return starlark.Float(v)
	}
	return starlarkstruct.FromStringDict(starlark.String("mmc"), starlark.StringDict{
		"utilization":       starlark.Float(m.Utilization(float64(rate))),
		"wait_probability":  starlark.Float(m.WaitProbability(float64(rate))),
		"mean_response":     opt(m.MeanResponse(float64(rate))),
		"response_quantile": opt(m.ResponseQuantile(float64(rate), float64(q))),
	}), nil
}
