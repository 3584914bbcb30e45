// Package eval holds loadshaper's evaluations, each a test skipped unless
// LOADSHAPER_EVAL is set. `make eval` and `make eval-targets` are the proof
// that predicting beats reacting. It runs the same plans with no shaper,
// aimd, gradient and predictive_rate_limit against a target — the bundled
// testbed (its own process, a known capacity, its utilisation read
// through a real Prometheus), a cpu-bound Go server (one core, its CPU
// through Prometheus) and nginx with limit_req (an envelope on the
// generator's error rate and p99) — scores each run against a truth read
// from the target itself each tick, and prints seconds above the envelope,
// the worst reading, requests served and p99 per strategy and plan. See
// spec/eval.md. `make eval-plan` checks the dry-run: it runs a plan for
// real, dry-runs it from that run's history, runs it again and compares
// (spec/dry-run.md, "Evaluation"). Every run goes through runtime.Run.
package eval
