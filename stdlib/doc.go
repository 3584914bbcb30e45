// Package stdlib owns the functions loadshaper offers to plans (cty
// functions such as ramp, steps, env, file, duration and size parsing) and
// to Starlark rules (the forecast, stats and envelope modules).
//
// It may import predictors and nothing else of loadshaper: plans and rules
// see the prediction math only through this package.
package stdlib
