package forecast

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/loadshaper/loadshaper/predictors"
)

// EvalModels are the models `forecast eval` compares by default: auto,
// every single model, and the two baselines.
var EvalModels = []string{"auto", "naive", "seasonal_naive", "median", "ewma", "holt", "holt_damped", "holt_winters"}

// EvalSeries is one file's evaluation, in the JSON shape of
// `loadshaper forecast eval --format json`.
type EvalSeries struct {
	File    string                           `json:"file"`
	Points  int                              `json:"points"`
	Season  int                              `json:"season"`
	Results map[string]predictors.EvalResult `json:"results"`
}

// EvalReport is the whole evaluation.
type EvalReport struct {
	Horizon    int          `json:"horizon"`
	MaxOrigins int          `json:"max_origins"`
	Series     []EvalSeries `json:"series"`
}

// ModelNames lists the models --model accepts.
func ModelNames() []string { return append([]string(nil), predictors.ModelNames...) }

// Eval reads each file and evaluates models on it (all of EvalModels when
// models is empty) at the given horizon, with at most maxOrigins refits per
// series and model (< 0: every point of the holdout is an origin).
func Eval(files []string, models []string, horizon, maxOrigins int) (*EvalReport, error) {
	opt := predictors.EvalOptions{Horizon: horizon, MaxOrigins: maxOrigins}
	if len(models) == 0 {
		models = EvalModels
	}
	specs := make([]predictors.Spec, len(models))
	for i, m := range models {
		specs[i] = predictors.Spec{Model: m}
		if _, err := predictors.NewModel(specs[i]); err != nil {
			return nil, err
		}
	}
	if opt.Horizon <= 0 {
		opt.Horizon = 12
	}
	if opt.MaxOrigins == 0 {
		opt.MaxOrigins = 100
	}
	rep := &EvalReport{Horizon: opt.Horizon, MaxOrigins: opt.MaxOrigins}
	for _, f := range files {
		s, err := ReadCSV(f)
		if err != nil {
			return nil, err
		}
		y, err := predictors.Clean(s.Values)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		res, err := predictors.Evaluate(y, specs, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		train := y[:len(y)-int(math.Round(0.2*float64(len(y))))]
		es := EvalSeries{File: filepath.Base(f), Points: len(y), Season: predictors.DetectPeriod(train, 2, len(train)/3), Results: map[string]predictors.EvalResult{}}
		for _, r := range res {
			es.Results[r.Model] = r
		}
		rep.Series = append(rep.Series, es)
	}
	return rep, nil
}

// WriteJSON writes the report as indented JSON.
func (r *EvalReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Summary is the headline of an evaluation: the geometric mean over series
// of MASE(auto)/MASE(naive) and the worst single ratio.
type Summary struct {
	GeoMeanRatio float64
	WorstRatio   float64
	WorstFile    string
	N            int
}

// Summarize computes the auto-vs-naive summary (series where either is
// missing or zero are skipped).
func (r *EvalReport) Summarize() Summary {
	var s Summary
	logSum := 0.0
	for _, es := range r.Series {
		a, okA := es.Results["auto"]
		n, okN := es.Results["naive"]
		if !okA || !okN || a.Err != "" || n.Err != "" || n.MASE <= 0 || a.MASE <= 0 {
			continue
		}
		ratio := a.MASE / n.MASE
		logSum += math.Log(ratio)
		s.N++
		if ratio > s.WorstRatio {
			s.WorstRatio, s.WorstFile = ratio, es.File
		}
	}
	if s.N > 0 {
		s.GeoMeanRatio = math.Exp(logSum / float64(s.N))
	}
	return s
}

// WriteTable prints the MASE table: one row per series, one column per
// model, then the summary.
func (r *EvalReport) WriteTable(w io.Writer, models []string) {
	if len(models) == 0 {
		models = EvalModels
	}
	width := 8
	for _, es := range r.Series {
		width = max(width, len(strings.TrimSuffix(es.File, ".csv")))
	}
	fmt.Fprintf(w, "MASE at horizon %d (rolling origin over the last 20%%, up to %d origins per series; lower is better)\n", r.Horizon, r.MaxOrigins)
	fmt.Fprintf(w, "%-*s %6s %6s", width, "series", "points", "season")
	for _, m := range models {
		fmt.Fprintf(w, " %*s", colWidth(m), m)
	}
	fmt.Fprintf(w, " %*s\n", 10, "auto/naive")
	for _, es := range r.Series {
		fmt.Fprintf(w, "%-*s %6d %6d", width, strings.TrimSuffix(es.File, ".csv"), es.Points, es.Season)
		for _, m := range models {
			res, ok := es.Results[m]
			switch {
			case !ok:
				fmt.Fprintf(w, " %*s", colWidth(m), "-")
			case res.Err != "":
				fmt.Fprintf(w, " %*s", colWidth(m), "err")
			default:
				fmt.Fprintf(w, " %*.3f", colWidth(m), res.MASE)
			}
		}
		a, n := es.Results["auto"], es.Results["naive"]
		if n.MASE > 0 && a.Err == "" {
			fmt.Fprintf(w, " %10.3f", a.MASE/n.MASE)
		}
		fmt.Fprintln(w)
	}
	s := r.Summarize()
	fmt.Fprintf(w, "geometric mean of MASE(auto)/MASE(naive) over %d series: %.3f (target <= 0.70)\n", s.N, s.GeoMeanRatio)
	fmt.Fprintf(w, "worst series: %s at %.3f x naive (target <= 1.05)\n", s.WorstFile, s.WorstRatio)
}

func colWidth(m string) int { return max(7, len(m)) }
