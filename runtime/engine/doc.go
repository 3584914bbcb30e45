// Package engine executes a plan's load: the arrival scheduler, the HTTP
// generators (one per target, on fasthttp), the measurement (HDR histograms
// of latency from the intended start time, service time, send lag, status
// codes and error classes), the phase timeline with its control tick,
// thresholds, live progress and the end-of-run summary.
//
// The control tick is the seam the shaper chain plugs into: every tick the
// phase builds a shapers.Instruction, Options.Controller may transform it,
// the engine clamps it to the plan's hard limits and hands it to the
// generators; Options.OnTick observers receive the tick's client-side
// figures (TickStats).
//
// It imports lang, stdlib and shapers, never the CLI. The hot path (one
// request) takes no global lock and does not allocate: recording goes to
// striped shards, admission by priority class reads atomics.
package engine
