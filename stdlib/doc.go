// Package stdlib owns the functions loadshaper offers to plans (cty
// functions such as ramp, steps, env, file, duration and size parsing) and
// to Starlark rules (the forecast, stats and envelope modules), and the
// vocabulary plans share with the packages that carry them out: priority
// classes, and the one declaration of each built-in strategy's, script
// shaper's and predictor model's parameters and of each kind of metrics
// source. lang checks plans against these tables; shapers, runtime/metrics
// and runtime/prediction build from them, so a plan that lints clean is a
// plan they take.
//
// It may import predictors and nothing else of loadshaper: plans and rules
// see the prediction math only through this package.
package stdlib
