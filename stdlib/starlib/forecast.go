package starlib

import (
	"fmt"
	"math"

	"github.com/loadshaper/loadshaper/predictors"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The forecast module: point forecasts for rule scripts. Every function
// takes a series (a list or tuple of numbers, e.g. ctx.series("cpu", "5m"))
// and a horizon in steps, fits the model on the series and returns a list of
// `horizon` floats: the forecast 1..horizon steps past the last value.
// Missing samples (None, NaN) are carried forward; a series with nothing
// usable is an error, never a NaN.
func init() {
	registerModule(&starlarkstruct.Module{
		Name: "forecast",
		Members: starlark.StringDict{
			"ewma":           starlark.NewBuiltin("forecast.ewma", forecastEWMA),
			"holt":           starlark.NewBuiltin("forecast.holt", forecastHolt),
			"holt_winters":   starlark.NewBuiltin("forecast.holt_winters", forecastHoltWinters),
			"auto":           starlark.NewBuiltin("forecast.auto", forecastNamed("auto")),
			"naive":          starlark.NewBuiltin("forecast.naive", forecastNamed("naive")),
			"seasonal_naive": starlark.NewBuiltin("forecast.seasonal_naive", forecastNamed("seasonal_naive")),
			"median":         starlark.NewBuiltin("forecast.median", forecastNamed("median")),
			"interval":       starlark.NewBuiltin("forecast.interval", forecastInterval),
			"period":         starlark.NewBuiltin("forecast.period", forecastPeriod),
			"anomalies":      starlark.NewBuiltin("forecast.anomalies", forecastAnomalies),
		},
	})
}

// seriesArg unpacks a Starlark sequence of numbers. None becomes NaN (a gap).
type seriesArg []float64

func (s *seriesArg) Unpack(v starlark.Value) error {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return fmt.Errorf("want a list of numbers, got %s", v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []float64
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		if x == starlark.None {
			out = append(out, nan)
			continue
		}
		f, ok := starlark.AsFloat(x)
		if !ok {
			return fmt.Errorf("element %d is %s, want a number", i, x.Type())
		}
		out = append(out, f)
	}
	*s = out
	return nil
}

var nan = math.NaN()

const maxHorizon = 100000

func checkHorizon(name string, h int) error {
	if h < 1 || h > maxHorizon {
		return fmt.Errorf("%s: horizon must be between 1 and %d, got %d", name, maxHorizon, h)
	}
	return nil
}

func floatList(v []float64) *starlark.List {
	out := make([]starlark.Value, len(v))
	for i, f := range v {
		out[i] = starlark.Float(f)
	}
	return starlark.NewList(out)
}

func fitAndForecast(name string, m predictors.Model, y []float64, h int) (starlark.Value, error) {
	if err := checkHorizon(name, h); err != nil {
		return nil, err
	}
	if err := m.Fit(y); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	dst := make([]float64, h)
	m.Point(dst)
	return floatList(dst), nil
}

// forecast.ewma(series, horizon = 1, alpha = 0): α = 0 fits α.
func forecastEWMA(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y     seriesArg
		h     = 1
		alpha floatArg
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "horizon?", &h, "alpha?", &alpha); err != nil {
		return nil, err
	}
	return fitAndForecast(b.Name(), &predictors.EWMA{Alpha: float64(alpha)}, y, h)
}

// forecast.holt(series, horizon = 1, alpha = 0, beta = 0, damped = False):
// α, β = 0 fit them.
func forecastHolt(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y           seriesArg
		h           = 1
		alpha, beta floatArg
		damped      bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "horizon?", &h, "alpha?", &alpha, "beta?", &beta, "damped?", &damped); err != nil {
		return nil, err
	}
	return fitAndForecast(b.Name(), &predictors.Holt{Alpha: float64(alpha), Beta: float64(beta), Damped: damped}, y, h)
}

// floatArg accepts an int or a float (UnpackArgs' float64 refuses ints,
// and `percentile(s, 90)` must work).
type floatArg float64

func (f *floatArg) Unpack(v starlark.Value) error {
	x, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("want a number, got %s", v.Type())
	}
	*f = floatArg(x)
	return nil
}

// forecast.holt_winters(series, horizon = 1, period = 0, alpha = 0, beta = 0,
// gamma = 0, multiplicative = False): period 0 detects it; a series without
// a detectable season is an error (use forecast.auto).
func forecastHoltWinters(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y                  seriesArg
		h                  = 1
		period             int
		alpha, beta, gamma floatArg
		mul                bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "horizon?", &h, "period?", &period,
		"alpha?", &alpha, "beta?", &beta, "gamma?", &gamma, "multiplicative?", &mul); err != nil {
		return nil, err
	}
	if period == 0 {
		c, err := predictors.Clean(y)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		if period = predictors.DetectPeriod(c, 2, len(c)/3); period == 0 {
			return nil, fmt.Errorf("%s: no seasonal period found in %d values; pass period = N or use forecast.auto", b.Name(), len(c))
		}
	}
	m := &predictors.HoltWinters{Period: period, Alpha: float64(alpha), Beta: float64(beta), Gamma: float64(gamma), Multiplicative: mul}
	return fitAndForecast(b.Name(), m, y, h)
}

// forecastNamed: forecast.<model>(series, horizon = 1, period = 0, window = 0).
func forecastNamed(model string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var (
			y              seriesArg
			h              = 1
			period, window int
		)
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "horizon?", &h, "period?", &period, "window?", &window); err != nil {
			return nil, err
		}
		if period < 0 || window < 0 {
			return nil, fmt.Errorf("%s: period and window must not be negative", b.Name())
		}
		m, err := predictors.NewModel(predictors.Spec{Model: model, Period: period, Window: window})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		if a, ok := m.(*predictors.Auto); ok {
			a.Horizon = h
		}
		return fitAndForecast(b.Name(), m, y, h)
	}
}

// forecast.interval(series, model = "auto", horizon = 1, level = 0.95,
// period = 0) → struct(mean, lower, upper, model): the forecast with its
// prediction interval; model is what ran (auto's choice).
func forecastInterval(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y      seriesArg
		model  = "auto"
		h      = 1
		level  = floatArg(0.95)
		period int
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "model?", &model, "horizon?", &h, "level?", &level, "period?", &period); err != nil {
		return nil, err
	}
	if err := checkHorizon(b.Name(), h); err != nil {
		return nil, err
	}
	if !(level > 0 && level < 1) {
		return nil, fmt.Errorf("%s: level must be between 0 and 1, got %v", b.Name(), float64(level))
	}
	m, err := predictors.NewModel(predictors.Spec{Model: model, Period: period})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	if a, ok := m.(*predictors.Auto); ok {
		a.Horizon = h
	}
	if err := m.Fit(y); err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	f := m.Forecast(h, float64(level))
	return starlarkstruct.FromStringDict(starlark.String("forecast"), starlark.StringDict{
		"mean":  floatList(f.Mean),
		"lower": floatList(f.Lower),
		"upper": floatList(f.Upper),
		"model": starlark.String(m.Name()),
	}), nil
}

// forecast.period(series) → int: the seasonal period found by
// autocorrelation, 0 if none.
func forecastPeriod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var y seriesArg
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y); err != nil {
		return nil, err
	}
	c, err := predictors.Clean(y)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return starlark.MakeInt(predictors.DetectPeriod(c, 2, len(c)/3)), nil
}

// forecast.anomalies(series, threshold = 5, window = 0, warmup = 0) →
// list of struct(index, kind, value, expected, score). window is the
// detector's memory (default 8064 values); warmup defaults to a third of
// the series, at most 600 values: a rule passes the series it has (the
// last minutes of a run), and the detector must see normal before it can
// tell the unusual.
func forecastAnomalies(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y         seriesArg
		threshold floatArg
		window    int
		warmup    int
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "threshold?", &threshold, "window?", &window, "warmup?", &warmup); err != nil {
		return nil, err
	}
	if threshold < 0 || window < 0 || warmup < 0 {
		return nil, fmt.Errorf("%s: threshold, window and warmup must not be negative", b.Name())
	}
	if warmup == 0 {
		warmup = min(600, max(30, len(y)/3))
	}
	evs := predictors.DetectAnomalies(y, predictors.AnomalyConfig{Threshold: float64(threshold), Memory: window, Warmup: warmup})
	out := make([]starlark.Value, len(evs))
	for i, e := range evs {
		out[i] = starlarkstruct.FromStringDict(starlark.String("anomaly"), starlark.StringDict{
			"index":    starlark.MakeInt(e.Index),
			"kind":     starlark.String(e.Kind),
			"value":    starlark.Float(e.Value),
			"expected": starlark.Float(e.Expected),
			"score":    starlark.Float(e.Score),
		})
	}
	return starlark.NewList(out), nil
}
