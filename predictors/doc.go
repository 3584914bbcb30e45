// Package predictors owns loadshaper's prediction math: EWMA, Holt and
// Holt-Winters forecasting, regression and recursive-least-squares
// load-response models, the Universal Scalability Law, queueing curves,
// anomaly detection and the envelope inversion that yields a safe rate.
//
// It is pure and deterministic: series in, numbers out. It imports nothing
// of loadshaper, does no I/O and never reads a clock; time is a parameter.
package predictors
