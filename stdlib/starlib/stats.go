package starlib

import (
	"fmt"

	"github.com/loadshaper/loadshaper/predictors"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The stats module: descriptive statistics over a series (a list or tuple
// of numbers). None/NaN values are skipped; an empty series is an error.
func init() {
	one := func(name string, f func([]float64) (float64, error)) *starlark.Builtin {
		return starlark.NewBuiltin("stats."+name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var y seriesArg
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y); err != nil {
				return nil, err
			}
			v, err := f(y)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
			return starlark.Float(v), nil
		})
	}
	registerModule(&starlarkstruct.Module{
		Name: "stats",
		Members: starlark.StringDict{
			"mean":       one("mean", predictors.Mean),
			"median":     one("median", predictors.Median),
			"stddev":     one("stddev", predictors.Stddev),
			"min":        one("min", predictors.Min),
			"max":        one("max", predictors.Max),
			"mad":        one("mad", predictors.MAD),
			"percentile": starlark.NewBuiltin("stats.percentile", statsPercentile),
		},
	})
}

// stats.percentile(series, p): p in [0, 100], linear interpolation.
func statsPercentile(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y seriesArg
		p floatArg
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "series", &y, "p", &p); err != nil {
		return nil, err
	}
	v, err := predictors.Percentile(y, float64(p))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return starlark.Float(v), nil
}
