package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/dryrun"
)

func init() {
	register(&command{
		Name:    "plan",
		Summary: "dry-run: predict what a plan will do to its target, without sending a request",
		Usage: `Usage: loadshaper plan [flags] PLAN.lshcl...

Walks the plan's timeline tick by tick, runs its real shaper chain against a
simulated target and prints, per phase, the planned and shaped rate, the
predicted metrics against the envelope, the first limit reached, which
shaper acts and why, the thresholds at risk, the duration and request count.
No request is sent.

The simulated target is, in order of preference: models fitted to this
plan's earlier runs in history, an imported history, the plan's simulate
block, or illustrative defaults. The report says which and how much data
stood behind it.

Flags:
  --seed N             seed of the simulated target's noise (default: the plan's, else 1)
  --format text|json   report format on stdout (json: the full tick series)
  --html FILE          also write a self-contained HTML report with the charts
  --no-charts          leave the terminal charts out
  --width N            terminal chart width in columns (default 72)
  --fail-on WHAT       breach (default): exit 5 on a predicted envelope breach or failing threshold;
                       threshold: exit 5 only on a failing threshold; never: exit 0
  --compare OTHER      compare with another plan file, or with this plan at a git revision (HEAD~1)
  --history PATH       history store to fit the simulated target from (default: the plan's)
  --var NAME=VALUE     set an input variable (repeatable)
  --var-file FILE      read input variables from a file (repeatable)

Exit codes: 0 ok, 1 invalid plan or failure, 2 bad flags, 5 predicted breach.

Example:
  loadshaper plan --html plan.html examples/at-a-glance.lshcl
  loadshaper plan --compare HEAD~1 examples/at-a-glance.lshcl
`,
		Run: runPlan,
	})
}

func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("plan", stderr)
	var pf planFlags
	pf.register(fs)
	seedFlag := fs.String("seed", "", "")
	format := fs.String("format", "text", "")
	htmlPath := fs.String("html", "", "")
	noCharts := fs.Bool("no-charts", false, "")
	width := fs.Int("width", 72, "")
	failOn := fs.String("fail-on", "breach", "")
	compare := fs.String("compare", "", "")
	historyPath := fs.String("history", "", "")
	if err := parseAll(fs, args); err != nil {
		return ExitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "loadshaper plan: name a plan file (see loadshaper plan --help)")
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "loadshaper plan: --format must be text or json, not %q\n", *format)
		return ExitUsage
	}
	if *failOn != "breach" && *failOn != "threshold" && *failOn != "never" {
		fmt.Fprintf(stderr, "loadshaper plan: --fail-on must be breach, threshold or never, not %q\n", *failOn)
		return ExitUsage
	}
	if *width < 20 || *width > 400 {
		fmt.Fprintf(stderr, "loadshaper plan: --width must be between 20 and 400, not %d\n", *width)
		return ExitUsage
	}
	opts := pf.options()

	plan, code := loadPlan(fs.Args(), opts, stderr)
	if plan == nil {
		return code
	}
	seed := plan.Settings.Seed
	if seed == 0 {
		seed = 1
	}
	if *seedFlag != "" {
		s, err := strconv.ParseInt(*seedFlag, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper plan: --seed wants an integer, got %q\n", *seedFlag)
			return ExitUsage
		}
		seed = s
	}
	src := dryrun.SourceOptions{HistoryPath: *historyPath}
	rep, err := dryrun.Predict(plan, seed, src)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper plan: %v\n", err)
		return ExitError
	}

	if *compare != "" {
		other, cleanup, code := loadCompare(*compare, plan, opts, stderr)
		if other == nil {
			return code
		}
		defer cleanup()
		base, err := dryrun.Predict(other, seed, src)
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper plan: --compare %s: %v\n", *compare, err)
			return ExitError
		}
		if *format == "json" {
			err = dryrun.WriteJSON(stdout, map[string]any{"base": base, "head": rep})
		} else {
			err = dryrun.WriteCompare(stdout, *compare, strings.Join(fs.Args(), " "), base, rep)
		}
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper plan: %v\n", err)
			return ExitError
		}
	} else {
		if *format == "json" {
			err = dryrun.WriteJSON(stdout, rep)
		} else {
			err = dryrun.WriteText(stdout, rep, dryrun.TextOptions{Width: *width, Charts: !*noCharts})
		}
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper plan: %v\n", err)
			return ExitError
		}
	}
	if *htmlPath != "" {
		f, err := os.Create(*htmlPath)
		if err == nil {
			err = dryrun.WriteHTML(f, rep)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper plan: --html: %v\n", err)
			return ExitError
		}
		fmt.Fprintf(stderr, "wrote %s\n", *htmlPath)
	}
	switch {
	case *failOn == "breach" && (rep.Verdict.Breach || rep.Verdict.ThresholdFail || rep.Verdict.ShaperFailure != ""):
		return ExitPredicted
	case *failOn == "threshold" && rep.Verdict.ThresholdFail:
		return ExitPredicted
	}
	return ExitOK
}

// loadPlan loads and validates a plan, printing its diagnostics.
func loadPlan(paths []string, opts lang.LoadOptions, stderr io.Writer) (*lang.Plan, int) {
	plan, diags := lang.LoadWithFiles(paths, opts)
	if diags.Diags.HasErrors() || plan == nil {
		_ = diags.WriteText(stderr, 0, false)
		fmt.Fprintln(stderr, "loadshaper plan: the plan is invalid (see loadshaper lint)")
		return nil, ExitError
	}
	return plan, ExitOK
}

// loadCompare loads the plan to compare with: a file or directory when one
// exists at that path, else this plan's files at that git revision.
func loadCompare(arg string, plan *lang.Plan, opts lang.LoadOptions, stderr io.Writer) (*lang.Plan, func(), int) {
	if _, err := os.Stat(arg); err == nil {
		other, code := loadPlan([]string{arg}, opts, stderr)
		return other, func() {}, code
	}
	dir := plan.Dir
	if dir == "" && len(plan.Files) > 0 {
		dir = filepath.Dir(plan.Files[0])
	}
	paths, cleanup, err := dryrun.CheckoutRevision(arg, plan.Files, dir)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper plan: %v\n", err)
		return nil, nil, ExitError
	}
	other, code := loadPlan(paths, opts, stderr)
	if other == nil {
		cleanup()
		return nil, nil, code
	}
	return other, cleanup, ExitOK
}

// multiFlag is a repeatable string flag (run.go's --var and --var-file use it).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
