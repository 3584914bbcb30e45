package dryrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	"github.com/loadshaper/loadshaper/runtime/engine"
	"github.com/loadshaper/loadshaper/runtime/history"
	"github.com/loadshaper/loadshaper/runtime/testbed"
	"github.com/loadshaper/loadshaper/shapers"
)

// The evaluation of the dry-run: how well does `loadshaper plan`, fitted to
// a plan's previous run, predict the plan's next real run?
//
// It starts the bundled testbed on 127.0.0.1, runs EvalPlan for real
// (engine + the real shaper chain, recorded into a history store), dry-runs
// the plan from that history, runs the plan for real again, and compares
// the prediction with what happened. The testbed's "cpu" is the
// utilisation of its worker pool (requests served per second over its
// capacity, from its /metrics), the resource that saturates.

// EvalPlan is the plan evaluated: a warm-up, an unguarded ramp past the
// testbed's capacity (where the first limit is reached), a cool-down, a
// phase held above capacity under the predictive guard (where the
// shaped rate is decided), and an unguarded burst at twice the capacity
// (where the engine's connections run out and it drops arrivals). %s is
// the testbed's URL. The envelope is on cpu
// only: with a latency_p99 limit the guard's latency model can collapse
// the rate to 0 on noisy p99 readings, which then ends the engine's phase
// (reported to their owners); the evaluation measures the dry-run.
const EvalPlan = `target "tb" {
  url = "%s"
}

envelope "safe" {
  cpu = 0.8
}

request "work" {
  target = target.tb
  path   = "/work"
}

shaper "guard" {
  strategy = "predictive_rate_limit"
  envelope = envelope.safe
}

simulate {
  capacity = %g
  cores    = %d
}

phase "warm" {
  duration = "3s"
  rate     = 30
}

phase "ramp" {
  duration = "12s"
  rate     = ramp(30, %g)
}

phase "cool" {
  duration = "4s"
  rate     = 30
}

phase "guarded" {
  duration = "12s"
  rate     = %g
  shapers  = [shaper.guard]
}

phase "burst" {
  duration = "4s"
  rate     = %g
}

threshold "latency_p99" {
  max = "250ms"
}
`

// EvalOptions tune the evaluation.
type EvalOptions struct {
	Capacity    float64 // testbed requests per second (default 300)
	Workers     int     // testbed workers (default 8)
	HistoryPath string  // the store the runs are recorded into (required)
	Seed        int64
	Log         io.Writer // progress lines; nil = none
}

// EvalRow compares one predicted figure with the real run.
type EvalRow struct {
	Name      string  `json:"name"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
	Error     float64 `json:"error"` // in Unit: relative (fraction), absolute or seconds
	Bound     float64 `json:"bound"`
	Unit      string  `json:"unit"` // "relative" | "absolute" | "seconds" | "log2"
	OK        bool    `json:"ok"`
}

// EvalResult is the evaluation's outcome.
type EvalResult struct {
	Rows   []EvalRow
	Source Source // the simulated target the dry-run fitted from run 1
	Report *Report
}

// evalTick is what a real run showed in one tick.
type evalTick struct {
	at      float64 // seconds from the start of the run, end of the tick
	phase   string
	rate    float64 // instruction rate
	cpu     float64
	p99     float64
	served  float64
	dropped float64 // arrivals dropped (the phase's closing tick's are added to its last tick)
}

// Evaluate runs the evaluation. It takes about a minute (two real runs of
// 35 s each).
func Evaluate(ctx context.Context, o EvalOptions) (*EvalResult, error) {
	if o.HistoryPath == "" {
		return nil, fmt.Errorf("eval: a history path is required")
	}
	if o.Capacity <= 0 {
		o.Capacity = 300
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	tb, err := testbed.Start(testbed.Config{Workers: o.Workers, Capacity: o.Capacity, Cost: 100 * time.Microsecond})
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	peak := 1.5 * o.Capacity
	src := fmt.Sprintf(EvalPlan, tb.URL, o.Capacity, o.Workers, peak, peak, 2*o.Capacity)
	plan, diags := lang.LoadSource("eval-plan.lshcl", []byte(src), lang.LoadOptions{})
	if diags.Diags.HasErrors() || plan == nil {
		return nil, fmt.Errorf("eval plan: %s", diags.Diags.Error())
	}

	store, err := history.Open(o.HistoryPath)
	if err != nil {
		return nil, err
	}
	logf("run 1 (history): %s against the testbed at %s (capacity %g req/s)", plan.TotalDuration(), tb.URL, o.Capacity)
	if _, err := realRun(ctx, plan, tb, store); err != nil {
		store.Close()
		return nil, err
	}
	if err := store.Close(); err != nil {
		return nil, err
	}
	rep, err := Predict(plan, o.Seed, SourceOptions{HistoryPath: o.HistoryPath})
	if err != nil {
		return nil, err
	}
	logf("dry-run from history: %s", rep.Source.Detail)
	logf("run 2 (actual)")
	actual, err := realRun(ctx, plan, tb, nil)
	if err != nil {
		return nil, err
	}
	return &EvalResult{Rows: compareRuns(plan, rep, actual), Source: rep.Source, Report: rep}, nil
}

// dropBound is the bound on the relative error of the predicted drops. The
// burst's drops are its arrivals less what the target serves in the
// phase and the 1 s grace and what the pool holds (2400 − 5·300 − ~90 ≈ 800
// at the defaults): an error e in the fitted capacity moves them by about
// e·1500, so the 25% bound of the shaped rate would allow ~50%; the bound
// is set tighter at 35%.
const dropBound = 0.35

// compareRuns puts the prediction beside the real run.
func compareRuns(plan *lang.Plan, rep *Report, actual []evalTick) []EvalRow {
	lim := 0.0
	for _, l := range rep.Limits {
		if l.Metric == "cpu" {
			lim = l.Max
		}
	}
	// Predicted: each tick's figures describe [T, T+tick); actual ticks are
	// stamped at their end.
	var pRate, pCPU []float64
	var pTicks []Tick
	pFirst := math.NaN()
	for _, tk := range rep.Ticks {
		if tk.Phase == "guarded" {
			pRate = append(pRate, tk.Shaped)
			pCPU = append(pCPU, tk.CPU)
			pTicks = append(pTicks, tk)
		}
		if math.IsNaN(pFirst) && tk.CPU > lim {
			pFirst = tk.T + rep.TickSeconds
		}
	}
	var pDrop, aDrop float64
	for _, tk := range rep.Ticks {
		if tk.Phase == "burst" {
			pDrop += tk.Dropped
		}
	}
	var aRate, aCPU []float64
	var aTicks []Tick
	aFirst := math.NaN()
	for _, tk := range actual {
		if tk.phase == "burst" {
			aDrop += tk.dropped
		}
		if tk.phase == "guarded" {
			aRate = append(aRate, tk.rate)
			aCPU = append(aCPU, tk.cpu)
			t := Tick{Shaped: tk.served}
			t.LatencyP99 = tk.p99
			aTicks = append(aTicks, t)
		}
		if math.IsNaN(aFirst) && tk.cpu > lim {
			aFirst = tk.at
		}
	}
	mean := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s / math.Max(1, float64(len(x)))
	}
	peak := func(x []float64) float64 {
		p := 0.0
		for _, v := range x {
			p = math.Max(p, v)
		}
		return p
	}
	rel := func(p, a float64) float64 { return math.Abs(p-a) / math.Max(math.Abs(a), 1e-9) }
	rows := []EvalRow{
		{Name: "mean shaped rate, guarded phase (req/s)", Predicted: mean(pRate), Actual: mean(aRate), Bound: 0.25, Unit: "relative"},
		{Name: "peak cpu, guarded phase", Predicted: peak(pCPU), Actual: peak(aCPU), Bound: 0.15, Unit: "absolute"},
		{Name: "p99, guarded phase (s)", Predicted: aggregate("latency_p99", pTicks), Actual: aggregate("latency_p99", aTicks), Bound: 1, Unit: "log2"},
		{Name: fmt.Sprintf("first time cpu > %g (s)", lim), Predicted: pFirst, Actual: aFirst, Bound: 3, Unit: "seconds"},
		{Name: "dropped, burst phase (requests)", Predicted: pDrop, Actual: aDrop, Bound: dropBound, Unit: "relative"},
	}
	for i := range rows {
		r := &rows[i]
		switch r.Unit {
		case "relative":
			r.Error = rel(r.Predicted, r.Actual)
		case "absolute", "seconds":
			r.Error = math.Abs(r.Predicted - r.Actual)
		case "log2":
			r.Error = math.Abs(math.Log2(math.Max(r.Predicted, 1e-6) / math.Max(r.Actual, 1e-6)))
		}
		r.OK = !math.IsNaN(r.Error) && r.Error <= r.Bound
	}
	return rows
}

// WriteEvalTable prints the evaluation as a table.
func WriteEvalTable(w io.Writer, res *EvalResult) error {
	fmt.Fprintf(w, "Dry-run evaluation: prediction fitted to run 1 vs. run 2 of the same plan on the testbed\n")
	fmt.Fprintf(w, "simulated target: %s (%d run(s), %d ticks)\n", res.Source.Kind, res.Source.Runs, res.Source.Ticks)
	fmt.Fprintf(w, "  %s\n", res.Source.Detail)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  figure\tpredicted\tactual\terror\tbound\t")
	for _, r := range res.Rows {
		var e, b string
		switch r.Unit {
		case "relative":
			e, b = fmt.Sprintf("%.0f%%", 100*r.Error), fmt.Sprintf("%.0f%%", 100*r.Bound)
		case "log2":
			e, b = fmt.Sprintf("×%.2f", math.Exp2(r.Error)), fmt.Sprintf("×%.0f", math.Exp2(r.Bound))
		case "seconds":
			e, b = fmt.Sprintf("%.1fs", r.Error), fmt.Sprintf("%.0fs", r.Bound)
		default:
			e, b = fmt.Sprintf("%.3f", r.Error), fmt.Sprintf("%.2f", r.Bound)
		}
		status := "ok"
		if !r.OK {
			status = "OVER BOUND"
		}
		fmt.Fprintf(tw, "  %s\t%.3g\t%.3g\t%s\t%s\t%s\n", r.Name, r.Predicted, r.Actual, e, b, status)
	}
	return tw.Flush()
}

// realRun runs plan against the testbed with the real shaper chain in the
// engine's control loop, reading the testbed's utilisation each tick, and
// records the run into store when it is not nil.
func realRun(ctx context.Context, plan *lang.Plan, tb *testbed.Server, store *history.Store) ([]evalTick, error) {
	links, err := PhaseLinks(plan, nil)
	if err != nil {
		return nil, err
	}
	classes := requestClasses(plan)
	env := firstEnvelope(plan)
	intents := Intents(plan)
	tick := plan.Settings.Tick
	if tick <= 0 {
		tick = time.Second
	}
	var (
		mu       sync.Mutex
		readings map[string]shapers.Metric
		chain    *shapers.Chain
		chainIx  = -1
		ticks    []evalTick
		rec      *history.Recorder
		scr      = &scraper{url: tb.URL + "/metrics"}
	)
	if store != nil {
		var err error
		rec, err = store.Begin(history.Run{Plan: plan.Name, Start: time.Now()})
		if err != nil {
			return nil, err
		}
	}
	scr.read() // the counter's starting point
	ctrl := engine.ControllerFunc(func(ti engine.TickInfo, in shapers.Instruction) shapers.Instruction {
		mu.Lock()
		defer mu.Unlock()
		if ti.PhaseIndex != chainIx {
			if chain == nil {
				chain = shapers.NewChain(links[ti.PhaseIndex], shapers.ChainOptions{Requests: classes})
			} else {
				chain = chain.WithLinks(links[ti.PhaseIndex])
			}
			chainIx = ti.PhaseIndex
		}
		ph := ti.Phase
		snap := &shapers.Snapshot{Tick: ti.Tick, Now: ti.Elapsed, Interval: tick, MaxRate: plan.Settings.MaxRate, Envelope: env, Metrics: readings,
			Phase: shapers.PhaseInfo{Name: ph.Name, Elapsed: ti.PhaseElapsed, Duration: ph.Duration, PlannedRate: ti.PlannedRate, MaxRate: ph.MaxRate,
				Warmup: ph.Warmup, Planned: lookahead(plan, ph, ti.Elapsed)}, Intents: intents}
		out, _ := chain.Run(snap, in)
		return out
	})
	observe := func(ts *engine.TickStats) {
		cpu := scr.read()
		if ts.Span < tick/2 {
			// The short closing tick of a phase: too little to read a rate
			// from, but the engine counts the phase's drops in it.
			mu.Lock()
			if n := len(ticks); n > 0 && ticks[n-1].phase == ts.Phase {
				ticks[n-1].dropped += float64(ts.Dropped)
			}
			mu.Unlock()
			return
		}
		p99, p50 := ts.Latency.P99/1000, ts.Latency.P50/1000
		// The utilisation is a delta over the last tick: a one-tick window.
		m := map[string]shapers.Metric{
			"cpu": {Value: cpu, Window: tick}, "latency_p99": {Value: p99}, "latency_p50": {Value: p50},
			"error_rate": {Value: ts.ErrorRate}, "throughput": {Value: ts.Throughput},
		}
		mu.Lock()
		readings = m
		ticks = append(ticks, evalTick{at: ts.Elapsed.Seconds(), phase: ts.Phase, rate: shapers.EffectiveRate(ts.Instruction, classes), cpu: cpu, p99: p99, served: ts.Throughput, dropped: float64(ts.Dropped)})
		mu.Unlock()
		if rec != nil {
			metrics := map[string]float64{}
			for k, v := range m {
				metrics[history.SeriesKey("tb", k)] = v.Value
			}
			_ = rec.Record(history.Tick{N: ts.Tick, At: ts.At, Phase: ts.Phase, Metrics: metrics, Instruction: history.FromInstruction(ts.Instruction)})
		}
	}
	sum, err := engine.Run(ctx, plan, engine.Options{Controller: ctrl, OnTick: []func(*engine.TickStats){observe}, Seed: 1})
	if err != nil {
		return nil, err
	}
	if rec != nil {
		if err := rec.Finish(sum.Outcome, time.Now()); err != nil {
			return nil, err
		}
	}
	if sum.Outcome != engine.OutcomeCompleted {
		return nil, fmt.Errorf("eval run %s: %s", sum.Outcome, sum.Reason)
	}
	return ticks, nil
}

// scraper reads the testbed's utilisation from its /metrics: requests
// served per second since the last read, over its capacity.
type scraper struct {
	url    string
	last   float64
	lastAt time.Time
}

func (s *scraper) read() float64 {
	resp, err := http.Get(s.url)
	if err != nil {
		return math.NaN()
	}
	defer resp.Body.Close()
	var served, capacity float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case `testbed_requests_total{code="200"}`:
			served = v
		case "testbed_capacity_rps":
			capacity = v
		}
	}
	now := time.Now()
	util := math.NaN()
	if !s.lastAt.IsZero() && capacity > 0 {
		util = math.Min((served-s.last)/now.Sub(s.lastAt).Seconds()/capacity, 1)
	}
	s.last, s.lastAt = served, now
	return util
}
