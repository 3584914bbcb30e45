package main

// Exit codes, documented in spec/exit-codes.md. Scripts and CI rely on them:
// never renumber.
const (
	ExitOK          = 0   // success; every threshold held
	ExitError       = 1   // the plan is invalid (lint errors) or the command failed
	ExitUsage       = 2   // bad flags or arguments
	ExitThresholds  = 3   // the run finished but a threshold failed
	ExitAborted     = 4   // a threshold with abort = true stopped the run
	ExitPredicted   = 5   // `plan` predicts an envelope breach or a failing threshold
	ExitShaper      = 6   // a shaper failed the run: on_error = "fail", or it failed on every tick
	ExitInterrupted = 130 // the user interrupted the run (SIGINT/SIGTERM)
)
