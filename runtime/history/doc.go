// Package history is loadshaper's run history: an embedded buntdb file that
// keeps every run (plan name, plan hash, git commit, variables, outcome)
// and, per control tick, every metric, the instruction sent and the
// shapers' decisions. Predictors and dry-runs read it back as series
// (Store.Series), and the `loadshaper history` command lists, shows,
// compares, exports, imports and prunes runs.
//
// The key layout, indexes, durability and retention are specified in
// spec/history.md. The package may import lang and shapers (for the
// conversion helpers); it never imports the CLI.
package history
