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
			"ewma": starlark.NewBuiltin("forecast.ewma", forecastEWMA),
			"holt": starlark.NewBuiltin("forecast.holt", forecastHolt),
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
