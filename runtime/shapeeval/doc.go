// Package shapeeval holds `make eval` and `make eval-targets`: the proof
// that predicting beats reacting. It runs the same plans with no shaper,
// aimd, gradient and predictive_rate_limit against a target — the bundled
// testbed (its own process, a known capacity, its utilisation read
// through a real Prometheus), a cpu-bound Go server (one core, its CPU
// through Prometheus) and nginx with limit_req (an envelope on the
// generator's error rate and p99) — scores each run against a truth read
// from the target itself each tick, and prints seconds above the envelope,
// the worst reading, requests served and p99 per strategy and plan. See
// spec/eval.md; the tests are skipped unless LOADSHAPER_EVAL is set.
package shapeeval
