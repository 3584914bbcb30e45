// Package runtime owns executing a plan. Its root package wires one run
// (Run, Start): the load engine (runtime/engine) paced by the control tick
// (runtime/tick) reading live metrics (runtime/metrics plus the generators'
// own figures), recorded in history (runtime/history), with the hooks an
// operator steers it by (a tick stream, an operator's rate bound, pause,
// resume, stop). The CLI, the evaluations and the end-to-end tests all run
// plans through it, so a run is wired in one place.
//
// Its other packages: the dry-run (dryrun) and its simulated target
// (simtarget), the forecast command's series and scores (forecast), the
// bundled testbed target (testbed) and the evaluations (eval).
//
// It may import lang, stdlib, predictors and shapers. The CLI in
// cmd/loadshaper imports it; it never imports the CLI.
package runtime
