// Package shapers owns the shaper chain: the Instruction a phase sends to
// the generators, the Snapshot a shaper decides from, the Decision it
// records, the built-in strategies (implementations registered under the
// names and parameters stdlib declares) and the Starlark-backed shaper.
//
// Shapers are pure functions of a snapshot: they never touch the network or
// a clock, which is what lets `loadshaper plan` run the real chain against a
// simulated target. It may import predictors and stdlib only.
package shapers
