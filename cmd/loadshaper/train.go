package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/loadshaper/loadshaper/runtime/dryrun"
	"github.com/loadshaper/loadshaper/runtime/train"
)

func init() {
	register(&command{
		Name:    "train",
		Summary: "learn the policy of a plan's `learned` shaper against simulated targets",
		Usage: `Usage: loadshaper train [flags] PLAN.lshcl...

Trains the policy of the plan's shaper with strategy = "learned" against
simulated targets: the plan's own (fitted from its history as 'loadshaper
plan' fits it, else its simulate block), varied at random — capacity, the
cpu reading's lag, noise, a capacity that halves — over short episodes of
ramps and holds. Nothing is sent to the plan's targets. It prints the
reward curve, the policy's weights, and the policy against
predictive_rate_limit on held-out scenarios (spec/train.md). Deterministic
for a seed.

The plan uses the policy when its shaper names the file: policy = "FILE".

Flags:
  --episodes N    training episodes (default 3000; about half a minute on 2 cores)
  --seed N        seed of the scenarios and the search (default 1)
  --shaper NAME   the learned shaper block to train (default: the first)
  --out FILE      write the policy as JSON (default: print it only)
  --html FILE     also write the training curve and the held-out comparison as a page
  --format text|json   report on stdout
  --history PATH  history store to fit the simulated target from (default: the plan's)
  --var NAME=VALUE, --var-file FILE   input variables

Example:
  loadshaper train examples/learned.lshcl --out examples/learned-policy.json
`,
		Run: runTrain,
	})
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("train", stderr)
	var pf planFlags
	pf.register(fs)
	episodes := fs.Int("episodes", 3000, "")
	seedFlag := fs.String("seed", "1", "")
	shaper := fs.String("shaper", "", "")
	out := fs.String("out", "", "")
	htmlPath := fs.String("html", "", "")
	format := fs.String("format", "text", "")
	historyPath := fs.String("history", "", "")
	if err := parseAll(fs, args); err != nil {
		return ExitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "loadshaper train: name a plan file (see loadshaper train --help)")
		return ExitUsage
	}
	seed, err := strconv.ParseUint(*seedFlag, 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper train: --seed wants a whole number, got %q\n", *seedFlag)
		return ExitUsage
	}
	if *episodes < 1 || *episodes > 1_000_000 {
		fmt.Fprintf(stderr, "loadshaper train: --episodes must be between 1 and 1000000, not %d\n", *episodes)
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "loadshaper train: --format must be text or json, not %q\n", *format)
		return ExitUsage
	}
	plan, code := loadPlan(fs.Args(), pf.options(), stderr)
	if plan == nil {
		return code
	}
	model, src, err := dryrun.ChooseTarget(plan, dryrun.SourceOptions{HistoryPath: *historyPath})
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper train: %v\n", err)
		return ExitError
	}
	rep, err := train.Train(plan, train.Options{Episodes: *episodes, Seed: seed, Model: model, Source: src, Shaper: *shaper})
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper train: %v\n", err)
		return ExitError
	}
	if *format == "json" {
		err = train.WriteJSON(stdout, rep)
	} else {
		err = train.WriteText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper train: %v\n", err)
		return ExitError
	}
	if *out != "" {
		b, _ := json.MarshalIndent(rep.Policy, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "loadshaper train: %v\n", err)
			return ExitError
		}
		if *format == "text" {
			fmt.Fprintf(stdout, "policy written to %s: name it in the shaper block as policy = %q\n", *out, *out)
		}
	}
	if *htmlPath != "" {
		f, err := os.Create(*htmlPath)
		if err == nil {
			err = train.WriteHTML(f, rep)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "loadshaper train: %v\n", err)
			return ExitError
		}
	}
	return ExitOK
}
