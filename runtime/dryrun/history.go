package dryrun

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/simtarget"
	"github.com/loadshaper/loadshaper/runtime/tick"
	"github.com/loadshaper/loadshaper/shapers"
)

// SourceOptions say where to look for a simulated target.
type SourceOptions struct {
	// HistoryPath is the history store to fit from; "" = the plan's
	// settings, else the default store. A store that does not exist is
	// not created: the dry-run falls back to the simulate block.
	HistoryPath string
	// MaxRuns is how many of the plan's latest runs to fit; default 5.
	MaxRuns int
}

// ChooseTarget picks the plan's simulated target, in order of preference:
// (a) a model fitted to this plan's earlier runs in history; (b) an
// imported history of one of its targets (the series' forecast as
// background load on the simulate block's target); (c) the simulate block;
// (d) the documented defaults. The Source says which, how much data stood
// behind it, and why a preferred source was passed over.
func ChooseTarget(plan *lang.Plan, o SourceOptions) (simtarget.Model, Source, error) {
	base, baseSrc, err := FromSimulate(plan)
	if err != nil {
		return base, baseSrc, err
	}
	path, err := history.ResolvePath(o.HistoryPath, plan.Settings.HistoryPath)
	if err != nil {
		baseSrc.Detail += "; no history store: " + err.Error()
		return base, baseSrc, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		baseSrc.Detail += fmt.Sprintf("; no history at %s", path)
		return base, baseSrc, nil
	} else if err != nil {
		return base, baseSrc, fmt.Errorf("history %s: %w", path, err)
	}
	store, err := history.Open(path)
	if err != nil {
		return base, baseSrc, err
	}
	defer store.Close()

	m, src, why, err := fromRuns(store, plan, base, o)
	if err != nil {
		return base, baseSrc, err
	}
	if why == "" {
		return m, src, nil
	}
	m, src, why2, err := fromImports(store, plan, base, baseSrc)
	if err != nil {
		return base, baseSrc, err
	}
	if why2 == "" {
		src.Detail += "; " + why
		return m, src, nil
	}
	baseSrc.Detail = fmt.Sprintf("%s; history %s: %s; %s", baseSrc.Detail, path, why, why2)
	return base, baseSrc, nil
}

// fromRuns fits a model to the plan's latest runs. why says why it could
// not (then the other results are unset).
func fromRuns(store *history.Store, plan *lang.Plan, base simtarget.Model, o SourceOptions) (simtarget.Model, Source, string, error) {
	n := o.MaxRuns
	if n <= 0 {
		n = 5
	}
	runs, err := store.LatestRuns(plan.Name, 0)
	if err != nil {
		return base, Source{}, "", err
	}
	target := ""
	if len(plan.Targets) > 0 {
		target = plan.Targets[0].Name
	}
	classes := tick.RequestClasses(plan)
	var obs [][]simtarget.Obs
	var used []int
	for _, r := range runs {
		if len(obs) >= n {
			break
		}
		if r.Kind != history.KindRun || r.Status() == "unfinished" {
			continue
		}
		var ticks []simtarget.Obs
		err := store.Ticks(r.ID, time.Time{}, time.Time{}, func(t history.Tick) bool {
			ticks = append(ticks, obsOf(t, target, classes))
			return true
		})
		if err != nil {
			return base, Source{}, "", err
		}
		if len(ticks) > 0 {
			obs = append(obs, ticks)
			used = append(used, r.ID)
		}
	}
	if len(obs) == 0 {
		return base, Source{}, fmt.Sprintf("no finished run of plan %q", plan.Name), nil
	}
	tick := plan.Settings.Tick
	m, info, err := simtarget.Fit(obs, tick, base)
	if err != nil {
		return base, Source{}, fmt.Sprintf("%d run(s) of plan %q did not fit: %v", len(obs), plan.Name, err), nil
	}
	adapt(plan, &m)
	if tick <= 0 {
		tick = time.Second
	}
	m.CPUWindow = time.Duration(info.Lag) * tick // the fitted window wins over the query's
	src := Source{Kind: "history", Runs: info.Runs, Ticks: info.Ticks,
		Detail: fmt.Sprintf("runs %v of plan %q, target %q: %s", used, plan.Name, target, info.Detail)}
	return m, src, "", nil
}

// obsOf reads one recorded tick: the rate sent (the instruction less what
// it shed) and the target's metrics, preferring the plan's first target.
func obsOf(t history.Tick, target string, classes []shapers.RequestClass) simtarget.Obs {
	get := func(metric string) float64 {
		if v, ok := t.Metrics[history.SeriesKey(target, metric)]; ok {
			return v
		}
		for k, v := range t.Metrics {
			if _, m := history.SplitSeriesKey(k); m == metric {
				return v
			}
		}
		return math.NaN()
	}
	rate := math.NaN()
	if in := t.Instruction; in != nil {
		rate = shapers.EffectiveRate(shapers.Instruction{Rate: in.Rate, Mix: in.Mix, Shed: in.Shed}, classes)
	} else if v := get("throughput"); !math.IsNaN(v) {
		rate = v
	}
	return simtarget.Obs{Rate: rate, CPU: get("cpu"), Memory: get("memory"), P50: get("latency_p50"), P99: get("latency_p99"), Served: get("throughput")}
}

// fromImports puts an imported series of one of the plan's targets (kind
// import, recorded by `history import`) under the base model as background
// load: its damped-Holt forecast over the plan's duration.
func fromImports(store *history.Store, plan *lang.Plan, base simtarget.Model, baseSrc Source) (simtarget.Model, Source, string, error) {
	names := map[string]bool{}
	for _, t := range plan.Targets {
		names[t.Name] = true
	}
	runs, err := store.Runs()
	if err != nil {
		return base, Source{}, "", err
	}
	tick := plan.Settings.Tick
	if tick <= 0 {
		tick = time.Second
	}
	n := int(math.Ceil(plan.TotalDuration().Seconds()/tick.Seconds())) + 1
	m := base
	src := Source{Kind: "import"}
	var parts []string
	for i := len(runs) - 1; i >= 0; i-- { // newest first
		r := runs[i]
		if r.Kind != history.KindImport || !names[r.Plan] {
			continue
		}
		metrics, err := store.SeriesNames(r.ID)
		if err != nil {
			return base, Source{}, "", err
		}
		for _, key := range metrics {
			_, metric := history.SplitSeriesKey(key)
			if metric != "cpu" && metric != "memory" {
				continue
			}
			if (metric == "cpu" && m.BackgroundCPU != nil) || (metric == "memory" && m.BackgroundMemory != nil) {
				continue // a newer import of the metric is in use
			}
			pts, err := store.Series(r.ID, r.Plan, metric, time.Time{}, time.Time{})
			if err != nil {
				return base, Source{}, "", err
			}
			if len(pts) < 3 {
				continue
			}
			vals := make([]float64, len(pts))
			peak := 0.0
			for j, p := range pts {
				vals[j] = p.Value
				peak = math.Max(peak, p.Value)
			}
			note := ""
			if metric == "cpu" && peak > 1.5 {
				for j := range vals {
					vals[j] /= 100
				}
				note = " (percent, read as a fraction)"
			}
			step := pts[len(pts)-1].At.Sub(pts[0].At) / time.Duration(len(pts)-1)
			bg, err := simtarget.Background(vals, step, tick, n)
			if err != nil {
				continue
			}
			if metric == "cpu" {
				m.BackgroundCPU, m.BaseCPU = bg, 0
			} else {
				m.BackgroundMemory = bg
			}
			src.Runs++
			src.Ticks += len(pts)
			parts = append(parts, fmt.Sprintf("import %d (%s, %s/%s, %d points every %s)%s: background %s forecast %s → %s",
				r.ID, r.Source, r.Plan, metric, len(pts), step, note, metric, formatterFor(metric)(bg[0]), formatterFor(metric)(bg[len(bg)-1])))
		}
	}
	if src.Runs == 0 {
		return base, Source{}, "no imported cpu or memory series of the plan's targets", nil
	}
	src.Detail = fmt.Sprintf("%s, on %s's target", joinSemi(parts), baseSrc.Kind)
	return m, src, "", nil
}

func joinSemi(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}
