// Package runtime owns executing a plan: the scheduler and generators, the
// metrics sources, the history store, the control loop that runs the shaper
// chain every tick, thresholds, summaries and outputs, and the bundled
// testbed target.
//
// It may import lang, stdlib, predictors and shapers. The CLI in
// cmd/loadshaper imports it; it never imports the CLI.
package runtime
