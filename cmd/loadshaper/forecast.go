package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/loadshaper/loadshaper/runtime/forecast"
)

func init() {
	register(&command{
		Name:    "forecast",
		Summary: "forecast a metric series (CSV or history) and evaluate the models",
		Usage: `Usage:
  loadshaper forecast FILE.csv [flags]
  loadshaper forecast --history RUN/METRIC [--history-file PATH] [flags]
  loadshaper forecast eval FILE.csv... [--horizon H] [--models a,b] [--format json]
  loadshaper forecast anomalies FILE.csv... [--windows windows.json [--sensitivity]] [--format json]

The first form fits a model on the whole series and prints the forecast with
its prediction interval and a terminal chart (history '*', forecast 'o',
interval ':'). The CSV has a value column (header "value", or the last
column) and optionally a timestamp column first; empty or NaN cells are gaps.
--history reads one series of a recorded run instead (METRIC is target/metric
as recorded, e.g. 3/api/cpu).

"eval" runs a rolling-origin evaluation over the last 20% of each series:
at each origin every model is refitted on the data before it only and
forecasts H steps; origins are evenly spaced, at most --origins of them
(each is a full refit). It reports MASE (scaled by the in-sample mean
absolute one-step naive error) and sMAPE per series and model, and the
geometric mean over series of MASE(auto)/MASE(naive).

"anomalies" runs the anomaly detector over each series and lists the events:
after a warm-up of 600 values, an event is an excursion of a robust statistic
(spike, level shift, and their seasonal forms when the series has a season)
larger than anything it did over the last 8064 values, and at least 5 robust
sigma out (spec/predictors.md). With --windows (NAB-style labelled windows,
{"file.csv": [["start","end"], ...]}) it counts the windows caught and the
false alarms outside them, and scores the detector with NAB's standard
profile beside baselines it runs itself (the previous robust z detector,
NAB's windowed Gaussian, no detector). --sensitivity rescores it with each
setting moved from its default, one at a time.

Flags:
  --model M          ` + strings.Join(forecast.ModelNames(), ", ") + ` (default auto)
  --horizon H        steps ahead (default 12)
  --level L          interval level, 0..1 (default 0.95)
  --period P         season length in steps for seasonal models (default: detect)
  --format F         text or json (default text)
  --history RUN/METRIC, --history-file PATH   read from the history store
  eval only:  --models a,b,c (default: auto and every model), --origins N (default 100; 0 = all)
  anomalies only: --windows FILE, --threshold Z (robust sigma, default 5), --sensitivity

Examples:
  loadshaper forecast cpu.csv --model holt_winters --horizon 48
  loadshaper forecast eval data/*.csv --horizon 12 --format json
`,
		Run: runForecast,
	})
}

// parseInterleaved parses flags that may come before or after positional
// arguments (loadshaper forecast FILE --horizon 12).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runForecast(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && (args[0] == "eval" || args[0] == "anomalies") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		o           forecast.Options
		hist, hfile string
		models      string
		origins     int
		windows     string
		threshold   float64
		sensitivity bool
	)
	fs.StringVar(&o.Model, "model", "auto", "")
	fs.IntVar(&o.Horizon, "horizon", 12, "")
	fs.Float64Var(&o.Level, "level", 0.95, "")
	fs.IntVar(&o.Period, "period", 0, "")
	fs.StringVar(&o.Format, "format", "text", "")
	fs.StringVar(&hist, "history", "", "")
	fs.StringVar(&hfile, "history-file", "", "")
	fs.StringVar(&models, "models", "", "")
	fs.IntVar(&origins, "origins", 100, "")
	fs.StringVar(&windows, "windows", "", "")
	fs.Float64Var(&threshold, "threshold", 0, "")
	fs.BoolVar(&sensitivity, "sensitivity", false, "")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast: %v (see loadshaper forecast --help)\n", err)
		return ExitUsage
	}
	if o.Format != "text" && o.Format != "json" {
		fmt.Fprintf(stderr, "loadshaper forecast: --format %q: want text or json\n", o.Format)
		return ExitUsage
	}
	if o.Horizon < 1 {
		fmt.Fprintf(stderr, "loadshaper forecast: --horizon %d: want at least 1\n", o.Horizon)
		return ExitUsage
	}
	switch sub {
	case "eval":
		return runForecastEval(files, o, models, origins, stdout, stderr)
	case "anomalies":
		if sensitivity {
			return runAnomalySensitivity(files, o.Format, windows, stdout, stderr)
		}
		return runForecastAnomalies(files, o.Format, windows, threshold, stdout, stderr)
	}
	var res *forecast.Result
	switch {
	case hist != "" && len(files) > 0:
		fmt.Fprintln(stderr, "loadshaper forecast: give a CSV file or --history, not both")
		return ExitUsage
	case hist != "":
		res, err = forecast.FromHistory(hfile, hist, o)
	case len(files) == 1:
		res, err = forecast.FromCSV(files[0], o)
	default:
		fmt.Fprintln(stderr, "loadshaper forecast: want one CSV file or --history RUN/METRIC (see loadshaper forecast --help)")
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast: %v\n", err)
		return ExitError
	}
	if err := res.Write(stdout, o); err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast: %v\n", err)
		return ExitError
	}
	return ExitOK
}

func runForecastEval(files []string, o forecast.Options, models string, origins int, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "loadshaper forecast eval: want at least one CSV file")
		return ExitUsage
	}
	expanded := expandGlobs(files)
	var ms []string
	if models != "" {
		ms = strings.Split(models, ",")
	}
	if origins == 0 {
		origins = -1
	}
	rep, err := forecast.Eval(expanded, ms, o.Horizon, origins)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast eval: %v\n", err)
		return ExitError
	}
	if o.Format == "json" {
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "loadshaper forecast eval: %v\n", err)
			return ExitError
		}
		return ExitOK
	}
	rep.WriteTable(stdout, ms)
	return ExitOK
}

// expandGlobs expands patterns a shell passed through unexpanded (quoted,
// or from make on a system without the files).
func expandGlobs(files []string) []string {
	var out []string
	for _, f := range files {
		if m, err := filepath.Glob(f); err == nil && len(m) > 0 {
			out = append(out, m...)
		} else {
			out = append(out, f)
		}
	}
	return out
}

func runForecastAnomalies(files []string, format, windows string, threshold float64, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "loadshaper forecast anomalies: want at least one CSV file")
		return ExitUsage
	}
	if threshold < 0 {
		fmt.Fprintf(stderr, "loadshaper forecast anomalies: --threshold %v: want a positive z-score\n", threshold)
		return ExitUsage
	}
	rep, err := forecast.RunAnomalies(expandGlobs(files), windows, threshold)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast anomalies: %v\n", err)
		return ExitError
	}
	if format == "json" {
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "loadshaper forecast anomalies: %v\n", err)
			return ExitError
		}
		return ExitOK
	}
	rep.WriteTable(stdout)
	return ExitOK
}

func runAnomalySensitivity(files []string, format, windows string, stdout, stderr io.Writer) int {
	if len(files) == 0 || windows == "" {
		fmt.Fprintln(stderr, "loadshaper forecast anomalies --sensitivity: want CSV files and --windows")
		return ExitUsage
	}
	ws, err := forecast.ReadWindows(windows)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast anomalies: %v\n", err)
		return ExitError
	}
	rows, err := forecast.Sensitivity(expandGlobs(files), ws)
	if err != nil {
		fmt.Fprintf(stderr, "loadshaper forecast anomalies: %v\n", err)
		return ExitError
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "loadshaper forecast anomalies: %v\n", err)
			return ExitError
		}
		return ExitOK
	}
	forecast.WriteSensitivity(stdout, rows)
	return ExitOK
}
