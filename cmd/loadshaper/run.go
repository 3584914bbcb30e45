package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime"
	"github.com/loadshaper/loadshaper/runtime/engine"
)

func init() {
	register(&command{
		Name:    "run",
		Summary: "run a plan's phases against its targets, check thresholds, print and write the summary",
		Usage: `Usage: loadshaper run [flags] PLAN...

Loads the plan (one or more .lshcl files, or a directory), then runs its
phases in order against its targets. Latency is measured from each request's
intended start (coordinated omission corrected). Thresholds are checked as
the run goes (abort = true stops it) and at the end. Ctrl-C stops the run
gracefully: in-flight requests finish or time out and the summary is still
printed and written.

Flags:
  --var NAME=VALUE     set an input variable (repeatable)
  --var-file FILE      read variables from a file (repeatable)
  --out FILE           write the summary; the extension says how: .json (the
                       summary, spec/summary-schema.md), .html (the report),
                       .txt (the table); any other is refused before the run
  --quiet              no live progress (the summary is still printed)
  --progress MODE      auto, bars or lines (default auto: bars on a terminal)
  --seed N             seed for arrivals and templates (default: the plan's, else random)
  --history PATH       record the run in this history file (default: the plan's
                       settings.history, else $XDG_DATA_HOME/loadshaper/history.db)

Exit codes (spec/exit-codes.md): 0 all thresholds held, 1 the plan is
invalid or the run could not start, 2 bad flags, 3 a threshold failed,
4 a threshold aborted the run, 6 a shaper failed the run (on_error = "fail",
or it failed on every tick), 130 interrupted.

Example:
  loadshaper run examples/demo.lshcl --var base_url=http://127.0.0.1:8080 --out out/demo.json
`,
		Run: runRun,
	})
}

type runFlags struct {
	vars, varFiles multiFlag
	out            string
	quiet          bool
	progress       string
	seed           uint64
	history        string
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.vars, "var", "")
	fs.Var(&f.varFiles, "var-file", "")
	fs.StringVar(&f.out, "out", "", "")
	fs.BoolVar(&f.quiet, "quiet", false, "")
	fs.StringVar(&f.progress, "progress", "auto", "")
	fs.Uint64Var(&f.seed, "seed", 0, "")
	fs.StringVar(&f.history, "history", "", "")
}

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	f.register(fs)
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "loadshaper run: want a plan file or directory (see --help)")
		return ExitUsage
	}
	return executePlan(paths, f, nil, stdout, stderr)
}

// executePlan loads and runs a plan; extraVars are set before --var ones.
func executePlan(paths []string, f runFlags, extraVars map[string]string, stdout, stderr io.Writer) int {
	if f.progress != "auto" && f.progress != "bars" && f.progress != "lines" {
		fmt.Fprintf(stderr, "loadshaper run: --progress must be auto, bars or lines, not %q\n", f.progress)
		return ExitUsage
	}
	outFmt, ok := outFormat("run", f.out, stderr)
	if !ok {
		return ExitUsage
	}
	opts := lang.LoadOptions{Vars: map[string]string{}, VarFiles: f.varFiles, Environ: os.Environ()}
	for k, v := range extraVars {
		opts.Vars[k] = v
	}
	for _, kv := range f.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "loadshaper run: --var %q: want NAME=VALUE\n", kv)
			return ExitUsage
		}
		opts.Vars[k] = v
	}
	plan, diags := lang.Load(paths, opts)
	for _, d := range diags {
		fmt.Fprintln(stderr, d.Error())
	}
	if diags.HasErrors() || plan == nil {
		return ExitError
	}
	var progress engine.Progress
	if !f.quiet {
		bars := f.progress == "bars"
		if f.progress == "auto" {
			if st, err := os.Stdout.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 && stdout == io.Writer(os.Stdout) {
				bars = true
			}
		}
		if bars {
			progress = engine.NewBarProgress(stdout)
		} else {
			progress = engine.LineProgress{W: stdout}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// runtime.Start wires the run: the engine, the control tick with the
	// plan's metrics and shaper chains, and the history file (the flag's,
	// else the plan's, else the default) when it can be opened.
	running, err := runtime.Start(ctx, plan, runtime.Options{History: f.history, Progress: progress, Seed: f.seed})
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper run: %v\n", err)
		return ExitError
	}
	if herr := running.HistoryErr(); herr != nil {
		fmt.Fprintf(stderr, "loadshaper run: %v (running without history)\n", herr)
	}
	res, err := running.Wait()
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper run: %v\n", err)
		return ExitError
	}
	sum := res.Summary
	res.WriteText(stdout)
	switch {
	case res.RunID > 0:
		fmt.Fprintf(stdout, "run %d recorded in %s\n", res.RunID, res.HistoryPath)
	case res.HistoryErr != nil && running.HistoryErr() == nil:
		fmt.Fprintf(stderr, "loadshaper run: %v\n", res.HistoryErr)
	}
	code := ExitOK
	writeOut := func(path, format string) {
		if err := sum.WriteFile(path, format); err != nil {
			fmt.Fprintf(stderr, "loadshaper run: output %s: %v\n", path, err)
			code = ExitError
		} else if !f.quiet {
			fmt.Fprintf(stdout, "summary written to %s\n", path)
		}
	}
	if f.out != "" {
		writeOut(f.out, outFmt)
	}
	for _, o := range plan.Outputs {
		writeOut(o.Path, o.Format)
	}
	switch {
	case sum.Outcome == engine.OutcomeInterrupted:
		return ExitInterrupted
	case res.Shaping.ShaperFailure() != "":
		return ExitShaper
	case sum.Outcome == engine.OutcomeAborted:
		return ExitAborted
	case !sum.Passed():
		return ExitThresholds
	}
	return code
}
