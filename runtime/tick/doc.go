// Package tick is the one home of loadshaper's control tick, shared by
// real runs (runtime.Run) and dry-runs (runtime/dryrun): what the plan asks
// for at a moment of the timeline (the planned instruction: the rate shape
// or the users, growth intents, chaos, the phase's request mix), the shaper
// chains built from the plan's shaper blocks, and one step — readings and
// the planned instruction in, the shaped instruction and its decisions
// out: the shapers' Snapshot, the predictor blocks' forecasts and anomaly
// detectors, the chain, safe mode (the plan's on_stale policy) and the one
// clamp to the hard limits.
//
// Readings come through the Readings interface: live (the metrics
// collector plus the generators' own figures, wired by runtime.Run) or
// simulated (runtime/simtarget, wired by the dry-run). Because both go
// through the same Step, a dry-run predicts what a run does.
//
// It may import lang, shapers, predictors, stdlib and runtime/metrics. It
// reads no clock: times are run-time offsets given by the caller. It must
// not import the engine, the dry-run or history: they import it.
package tick
