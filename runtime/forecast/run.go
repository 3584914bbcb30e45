package forecast

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/predictors"
	"github.com/loadshaper/loadshaper/runtime/history"
)

// Options are the flags of `loadshaper forecast`.
type Options struct {
	Model   string  // a predictors.ModelNames entry; default auto
	Horizon int     // steps ahead; default 12
	Level   float64 // interval level; default 0.95
	Period  int     // season length for seasonal models; 0 = detect
	Format  string  // "text" (chart + table) or "json"
	Width   int     // chart width in columns; default 80
}

// Result is the JSON output of `loadshaper forecast --format json`.
type Result struct {
	Source  string      `json:"source"`
	Model   string      `json:"model"`  // as asked
	Chosen  string      `json:"chosen"` // what ran (auto's pick, or a fallback)
	Points  int         `json:"points"`
	Season  int         `json:"season"`
	Step    float64     `json:"step_seconds,omitempty"`
	Last    float64     `json:"last"`
	Horizon int         `json:"horizon"`
	Level   float64     `json:"level"`
	Steps   []StepPoint `json:"forecast"`
	history []float64
}

// StepPoint is one forecast step.
type StepPoint struct {
	Step  int     `json:"step"`
	Time  string  `json:"time,omitempty"`
	Mean  float64 `json:"mean"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// FromCSV forecasts the series in a CSV file.
func FromCSV(path string, o Options) (*Result, error) {
	s, err := ReadCSV(path)
	if err != nil {
		return nil, err
	}
	return Run(s, o)
}

// ParseHistoryRef splits RUN/METRIC (METRIC may itself be target/metric).
func ParseHistoryRef(ref string) (run int, target, metric string, err error) {
	i := strings.IndexByte(ref, '/')
	if i < 0 || i == len(ref)-1 {
		return 0, "", "", fmt.Errorf("--history %q: want RUN/METRIC, e.g. 3/api/cpu", ref)
	}
	run, err = strconv.Atoi(ref[:i])
	if err != nil || run < 1 {
		return 0, "", "", fmt.Errorf("--history %q: run %q is not a run id", ref, ref[:i])
	}
	target, metric = history.SplitSeriesKey(ref[i+1:])
	return run, target, metric, nil
}

// FromHistory forecasts one metric of a run recorded in the history store
// at storePath ("" = the default location).
func FromHistory(storePath, ref string, o Options) (*Result, error) {
	run, target, metric, err := ParseHistoryRef(ref)
	if err != nil {
		return nil, err
	}
	if storePath == "" {
		if storePath, err = history.DefaultPath(); err != nil {
			return nil, err
		}
	}
	st, err := history.Open(storePath)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.Run(run); err != nil {
		return nil, err
	}
	pts, err := st.Series(run, target, metric, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	if len(pts) == 0 {
		names, _ := st.SeriesNames(run)
		return nil, fmt.Errorf("run %d has no series %q (it has: %s)", run, history.SeriesKey(target, metric), strings.Join(names, ", "))
	}
	s := &Series{Name: ref}
	for _, p := range pts {
		s.Times = append(s.Times, p.At)
		s.Values = append(s.Values, p.Value)
	}
	if len(s.Times) >= 2 {
		s.Step = medianStep(s.Times)
	}
	return Run(s, o)
}

// Run fits the model on the whole series and forecasts.
func Run(s *Series, o Options) (*Result, error) {
	if o.Model == "" {
		o.Model = "auto"
	}
	if o.Horizon == 0 {
		o.Horizon = 12
	}
	if o.Horizon < 1 || o.Horizon > 100000 {
		return nil, fmt.Errorf("--horizon %d: want 1..100000", o.Horizon)
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if !(o.Level > 0 && o.Level < 1) {
		return nil, fmt.Errorf("--level %v: want a fraction between 0 and 1", o.Level)
	}
	m, err := predictors.NewModel(predictors.Spec{Model: o.Model, Period: o.Period})
	if err != nil {
		return nil, err
	}
	y, err := predictors.Clean(s.Values)
	if err != nil {
		if errors.Is(err, predictors.ErrEmpty) {
			return nil, fmt.Errorf("%s: no numeric values to forecast from", s.Name)
		}
		return nil, err
	}
	if a, ok := m.(*predictors.Auto); ok {
		a.Horizon = o.Horizon
	}
	if err := m.Fit(y); err != nil {
		return nil, fmt.Errorf("%s: model %s: %w", s.Name, o.Model, err)
	}
	f := m.Forecast(o.Horizon, o.Level)
	r := &Result{
		Source: s.Name, Model: o.Model, Chosen: m.Name(), Points: len(y),
		Last: y[len(y)-1], Horizon: o.Horizon, Level: o.Level, history: y,
		Season: predictors.DetectPeriod(y, 2, len(y)/3),
	}
	if a, ok := m.(*predictors.Auto); ok {
		r.Season = a.DetectedPeriod()
	}
	if o.Period > 0 {
		r.Season = o.Period
	}
	var last time.Time
	if len(s.Times) == len(s.Values) && len(s.Times) > 0 && s.Step > 0 {
		last = s.Times[len(s.Times)-1]
		r.Step = s.Step.Seconds()
	}
	for i := range f.Mean {
		sp := StepPoint{Step: i + 1, Mean: f.Mean[i], Lower: f.Lower[i], Upper: f.Upper[i]}
		if !last.IsZero() {
			sp.Time = last.Add(time.Duration(i+1) * s.Step).UTC().Format(time.RFC3339)
		}
		r.Steps = append(r.Steps, sp)
	}
	return r, nil
}

// Write prints the result as text (a chart and a table) or JSON.
func (r *Result) Write(w io.Writer, o Options) error {
	if o.Format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "%s: %d points, model %s", r.Source, r.Points, r.Chosen)
	if r.Season > 0 {
		fmt.Fprintf(w, ", season %d", r.Season)
	}
	fmt.Fprintf(w, "; forecast %d steps with a %.0f%% interval\n\n", r.Horizon, 100*r.Level)
	width := o.Width
	if width == 0 {
		width = 80
	}
	Chart(w, r.history, r.Steps, max(width, 40), 14)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%5s  %-20s %12s %12s %12s\n", "step", "time", "lower", "mean", "upper")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%5d  %-20s %12.4g %12.4g %12.4g\n", s.Step, s.Time, s.Lower, s.Mean, s.Upper)
	}
	return nil
}

// Chart draws the tail of the history ('*') and the forecast ('o') with its
// interval (':') as text, height rows tall and width columns wide.
func Chart(w io.Writer, hist []float64, steps []StepPoint, width, height int) {
	const axis = 11
	cols := width - axis
	fc := min(len(steps), cols/2) // long horizons show every k-th step
	hc := min(len(hist), cols-fc)
	h := hist[len(hist)-hc:]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range h {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	pick := func(i int) StepPoint { return steps[min(len(steps)-1, (i+1)*len(steps)/max(fc, 1)-1)] }
	for i := 0; i < fc; i++ {
		s := pick(i)
		lo, hi = math.Min(lo, s.Lower), math.Max(hi, s.Upper)
	}
	if !(hi > lo) {
		hi, lo = lo+1, lo-1
	}
	row := func(v float64) int {
		r := int(math.Round((hi - v) / (hi - lo) * float64(height-1)))
		return max(0, min(height-1, r))
	}
	grid := make([][]byte, height)
	for i := range grid {
		grid[i] = []byte(strings.Repeat(" ", hc+1+fc))
	}
	for i, v := range h {
		grid[row(v)][i] = '*'
	}
	for i := 0; i < height; i++ {
		grid[i][hc] = '|'
	}
	for i := 0; i < fc; i++ {
		s := pick(i)
		c := hc + 1 + i
		for r := row(s.Upper); r <= row(s.Lower); r++ {
			grid[r][c] = ':'
		}
		grid[row(s.Mean)][c] = 'o'
	}
	for i, line := range grid {
		label := ""
		switch i {
		case 0:
			label = fmt.Sprintf("%.4g", hi)
		case height - 1:
			label = fmt.Sprintf("%.4g", lo)
		case (height - 1) / 2:
			label = fmt.Sprintf("%.4g", (hi+lo)/2)
		}
		fmt.Fprintf(w, "%*s |%s\n", axis-2, label, strings.TrimRight(string(line), " "))
	}
	fmt.Fprintf(w, "%*s  %s%s\n", axis-2, "", strings.Repeat(" ", max(0, hc-7)), "history | forecast")
}
