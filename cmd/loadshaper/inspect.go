package main

import (
	"fmt"
	"io"

	"github.com/loadshaper/loadshaper/lang"
)

func init() {
	register(&command{
		Name:    "inspect",
		Summary: "print a plan as evaluated: phases, timings, request mix, shaper chains",
		Usage: `Usage: loadshaper inspect [flags] PLAN

Loads PLAN (a .lshcl file, or a directory of them) and prints it as JSON the
way loadshaper will run it: variables resolved, phases with their start,
end, duration, rate and expected request count, the total duration,
requests with their weights, shares and priority classes, and each phase's
shaper chain. Diagnostics go to stderr; exits 1 when the plan is invalid.

Flags:
  --var NAME=VALUE     set a variable (repeatable)
  --var-file FILE      read variables from an HCL file (repeatable)

Example:
  loadshaper inspect examples/at-a-glance.lshcl
`,
		Run: runInspect,
	})
}

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("inspect", stderr)
	var pf planFlags
	pf.register(fs)
	if err := parseAll(fs, args); err != nil {
		return ExitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "loadshaper inspect: name exactly one plan (a .lshcl file or a directory)")
		return ExitUsage
	}
	plan, d := lang.LoadWithFiles(fs.Args(), pf.options())
	if len(d.Diags) > 0 {
		_ = d.WriteText(stderr, 0, false)
	}
	if plan == nil {
		return ExitError
	}
	if err := lang.WriteInspection(stdout, plan); err != nil {
		fmt.Fprintf(stderr, "loadshaper inspect: %v\n", err)
		return ExitError
	}
	return ExitOK
}
