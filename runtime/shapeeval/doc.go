// Package shapeeval holds `make eval`: the proof that predicting beats
// reacting. It runs the same plans against the bundled testbed (in its own
// process, with a known capacity) with no shaper, aimd, gradient and
// predictive_rate_limit, the testbed's utilisation read through a real
// Prometheus, and prints seconds above the envelope, the worst overshoot,
// requests served and p99 per strategy and plan. See eval_test.go; it is
// skipped unless LOADSHAPER_EVAL is set.
package shapeeval
