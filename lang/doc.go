// Package lang owns the loadshaper plan language: the HCL schema of .lshcl
// files, decoding and evaluating them into a validated Plan, diagnostics,
// canonical formatting, and loading (compiling, checking, sandboxing) the
// Starlark scripts a plan names. The parameters of built-in strategies,
// script shapers and models and the kinds of metrics source are checked
// against their one declaration in stdlib.
//
// It may import stdlib only; it never touches the network.
package lang
