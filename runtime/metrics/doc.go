// Package metrics reads what the system under test is going through, every
// control tick: Prometheus queries, /metrics scrapes, local process and
// host statistics, and the generators' own client-side figures. A Collector
// reads all sources of a plan concurrently with a timeout per source,
// marks the metrics of a failing source stale, retries it with exponential
// backoff, and reports each source's health; SafeMode says what a run must
// do when its envelope depends on a stale metric.
//
// Sources are built from a target's `metrics "<kind>"` blocks through a
// registry of kinds (Register, New); the kinds and their settings are
// declared in stdlib, and Register takes only a declared kind. The package
// may import lang and stdlib; it never imports the CLI. Behaviour is specified in spec/metrics.md.
package metrics
