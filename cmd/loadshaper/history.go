package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loadshaper/loadshaper/runtime/history"
)

func init() {
	register(&command{
		Name:    "history",
		Summary: "list, show, compare, export, import and prune recorded runs",
		Usage: `Usage:
  loadshaper history list [--plan NAME] [--limit N] [--format text|json]
  loadshaper history show RUN
  loadshaper history diff RUN1 [RUN2]
  loadshaper history export RUN [--format csv|json] [--output FILE]
  loadshaper history import FILE.csv --target T --metric M
  loadshaper history prune --keep 90d

Every run is recorded in the history file: plan name, plan hash, git commit,
variables, outcome, and per tick every metric, the instruction sent and the
shapers' decisions (see spec/history.md).

  list    runs, oldest first (with --plan: that plan's latest runs, newest first)
  show    one run: its record, and per series count/min/mean/p95/max/last
  diff    two runs: what changed in the plan (hash, commits, git diff --stat
          when both commits are in the same repository) and how results moved;
          with one RUN, compares it with the previous run of the same plan
  export  a run's ticks as CSV (time,tick,rate,<target/metric>...) or JSON
  import  a timestamp,value CSV as a run of kind import (series T/M), values
          exactly as given, so predictions can start from production data
  prune   delete runs that ended longer ago than --keep, then compact the file

Flags:
  --history PATH   history file (default $XDG_DATA_HOME/loadshaper/history.db,
                   or ~/.local/share/loadshaper/history.db)

Examples:
  loadshaper history list
  loadshaper history diff 12 14
  loadshaper history export 14 --format csv --output run14.csv
  loadshaper history import nyc_taxi.csv --target taxi --metric rides
  loadshaper history prune --keep 90d
`,
		Run: runHistory,
	})
}

func runHistory(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "loadshaper history: want a subcommand: list, show, diff, export, import or prune (see --help)")
		return ExitUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("history "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("history", "", "history file")
	format := fs.String("format", "", "output format")
	output := fs.String("output", "", "write to this file instead of stdout")
	plan := fs.String("plan", "", "only this plan's runs")
	limit := fs.Int("limit", 0, "at most this many runs")
	target := fs.String("target", "", "import: target name")
	metric := fs.String("metric", "", "import: metric name")
	keep := fs.String("keep", "", "prune: retention, e.g. 90d")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ExitUsage
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "loadshaper history %s: %s\n", sub, msg)
		return ExitUsage
	}
	wantArgs := map[string][2]int{"list": {0, 0}, "show": {1, 1}, "diff": {1, 2}, "export": {1, 1}, "import": {1, 1}, "prune": {0, 0}}
	n, ok := wantArgs[sub]
	if !ok {
		return usage("unknown subcommand (want list, show, diff, export, import or prune)")
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		return usage(fmt.Sprintf("wrong number of arguments %q (see --help)", pos))
	}
	var ids []int
	if sub != "import" {
		for _, a := range pos {
			id, err := history.ParseRunID(a)
			if err != nil {
				return usage(err.Error())
			}
			ids = append(ids, id)
		}
	}
	switch sub {
	case "export":
		if *format == "" {
			*format = "csv"
		}
		if *format != "csv" && *format != "json" {
			return usage(fmt.Sprintf("--format %q: want csv or json", *format))
		}
	case "list":
		if *format == "" {
			*format = "text"
		}
		if *format != "text" && *format != "json" {
			return usage(fmt.Sprintf("--format %q: want text or json", *format))
		}
	case "import":
		if *target == "" || *metric == "" {
			return usage("--target and --metric are required")
		}
	case "prune":
		if *keep == "" {
			return usage("--keep is required, e.g. --keep 90d")
		}
	}
	var keepD time.Duration
	if sub == "prune" {
		if keepD, err = history.ParseKeep(*keep); err != nil {
			return usage(err.Error())
		}
	}

	file, err := history.ResolvePath(*path, "")
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper history: %v\n", err)
		return ExitError
	}
	store, err := history.Open(file)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper history: %v\n", err)
		return ExitError
	}
	defer store.Close()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "loadshaper history %s: %v\n", sub, err)
		return ExitError
	}

	switch sub {
	case "list":
		var runs []history.Run
		if *plan != "" {
			runs, err = store.LatestRuns(*plan, *limit)
		} else {
			runs, err = store.Runs()
			if err == nil && *limit > 0 && len(runs) > *limit {
				runs = runs[len(runs)-*limit:]
			}
		}
		if err != nil {
			return fail(err)
		}
		if *format == "json" {
			if runs == nil {
				runs = []history.Run{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(runs); err != nil {
				return fail(err)
			}
			return ExitOK
		}
		if err := history.WriteList(stdout, runs); err != nil {
			return fail(err)
		}
	case "show":
		if err := store.WriteShow(stdout, ids[0]); err != nil {
			return fail(err)
		}
	case "diff":
		if len(ids) == 1 {
			prev, err := previousRun(store, ids[0])
			if err != nil {
				return fail(err)
			}
			ids = []int{prev, ids[0]}
		}
		if err := store.WriteDiff(stdout, ids[0], ids[1]); err != nil {
			return fail(err)
		}
	case "export":
		w := stdout
		var f *os.File
		if *output != "" {
			if f, err = os.Create(*output); err != nil {
				return fail(err)
			}
			w = f
		}
		if *format == "json" {
			err = store.ExportJSON(ids[0], w)
		} else {
			err = store.ExportCSV(ids[0], w)
		}
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(*output)
			}
		}
		if err != nil {
			return fail(err)
		}
	case "import":
		f, err := os.Open(pos[0])
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		run, err := store.ImportCSV(f, pos[0], *target, *metric, time.Now())
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "imported %d values of %s/%s from %s as run %d\n", run.Ticks, *target, *metric, pos[0], run.ID)
		if run.Shifted > 0 {
			fmt.Fprintf(stderr, "warning: %d row(s) repeat an earlier timestamp; all are kept, in file order, each 1ns after the one before\n", run.Shifted)
		}
		if run.Rounded > 0 {
			fmt.Fprintf(stderr, "warning: %d value(s) have more significant digits than a 64-bit float holds and were rounded to the nearest one\n", run.Rounded)
		}
	case "prune":
		gone, err := store.Prune(keepD, time.Now())
		if err != nil {
			return fail(err)
		}
		if len(gone) == 0 {
			fmt.Fprintf(stdout, "no run older than %s\n", *keep)
		} else {
			fmt.Fprintf(stdout, "pruned %d run(s) older than %s: %v\n", len(gone), *keep, gone)
		}
	}
	return ExitOK
}

// previousRun is the run of the same plan just before id.
func previousRun(s *history.Store, id int) (int, error) {
	r, err := s.Run(id)
	if err != nil {
		return 0, err
	}
	runs, err := s.LatestRuns(r.Plan, 0)
	if err != nil {
		return 0, err
	}
	for _, o := range runs { // newest first
		if o.ID < id {
			return o.ID, nil
		}
	}
	return 0, errors.New("run " + fmt.Sprint(id) + " is the first run of plan " + r.Plan + ": name two runs to compare")
}
